package promote_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// TestCancelCutsRetryWaitsShort: a registry answers 503 to one kind of
// request, so the run waits before asking again, for seconds; the context
// is cancelled during that wait, and the run ends at once, not after the
// wait. Reads (retried by the transport) and tag writes (retried around
// the manifest PUT) both give way.
func TestCancelCutsRetryWaitsShort(t *testing.T) {
	const (
		step        = 3 * time.Second
		cancelAfter = 300 * time.Millisecond
		// The run ends well before one step of the wait, which is what an
		// uncancellable sleep would cost.
		limit = step / 2
	)
	cases := []struct {
		name  string
		fault registrytest.FaultFunc
		run   func(context.Context, *promote.Promoter) error
	}{
		{
			name:  "verify, reading a manifest",
			fault: registrytest.Always(registrytest.Match(http.MethodGet, "/manifests/staging-"), registrytest.Reply(http.StatusServiceUnavailable)),
			run: func(ctx context.Context, p *promote.Promoter) error {
				_, err := p.Verify(ctx, sha(newSHA))
				return err
			},
		},
		{
			name:  "promote, writing a tag",
			fault: registrytest.Always(registrytest.Match(http.MethodPut, "/manifests/latest"), registrytest.Reply(http.StatusServiceUnavailable)),
			run: func(ctx context.Context, p *promote.Promoter) error {
				_, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{})
				return err
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, backends[0], true)
			f.seedProduction()
			f.pushStaging(newSHA)
			f.proxy.SetFault(tc.fault)
			p := f.promoter(promote.Config{}, promote.WithRetryBackoff(remote.Backoff{Duration: step, Factor: 1, Steps: 3}))
			ctx, cancel := context.WithCancel(context.Background())
			timer := time.AfterFunc(cancelAfter, cancel)
			defer timer.Stop()
			start := time.Now()
			err := tc.run(ctx, p)
			took := time.Since(start)
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled while waiting") {
				t.Errorf("err = %v, want it to say, and errors.Is to find, that the run was cancelled", err)
			}
			if took > limit {
				t.Errorf("the run ended %s after it began, %s after the cancel; a retry's wait of %s did not give way", took.Round(time.Millisecond), (took - cancelAfter).Round(time.Millisecond), step)
			}
		})
	}
}
