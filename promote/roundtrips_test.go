package promote_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// roundTripDelay holds every request at the proxy far longer than the core
// needs to send a burst, so that the count of dependent round trips is
// exact rather than timed (see registrytest.DependentRoundTrips).
const roundTripDelay = 150 * time.Millisecond

// TestHappyPathRoundTrips checks the design's cost: a promotion, a
// verification and a status take a fixed number of dependent round trips,
// whatever the number of images. It counts the requests' dependencies at the
// proxy, not the time they took.
func TestHappyPathRoundTrips(t *testing.T) {
	ops := []struct {
		name string
		max  int
		run  func(context.Context, *promote.Promoter) (*promote.Report, error)
	}{
		// Ping; manifests of sources, targets and backups; configs; one
		// PUT per tag; the read-back.
		{"promote", 5, func(ctx context.Context, p *promote.Promoter) (*promote.Report, error) {
			return p.Promote(ctx, sha(newSHA), promote.WriteOptions{})
		}},
		// Ping; manifests; configs.
		{"verify", 3, func(ctx context.Context, p *promote.Promoter) (*promote.Report, error) {
			return p.Verify(ctx, sha(newSHA))
		}},
		// Ping; every target and backup tag; their configs.
		{"status", 3, func(ctx context.Context, p *promote.Promoter) (*promote.Report, error) {
			return p.Status(ctx)
		}},
	}
	server := registrytest.Distribution(t)
	for _, n := range []int{2, 20} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			f := &fixture{t: t, server: server, proxy: registrytest.NewProxy(t, server.Addr)}
			f.addr = f.proxy.Addr
			for i := range n {
				f.repos = append(f.repos, fmt.Sprintf("%s/rt%d/image-%02d", f.addr, n, i))
			}
			f.seedProduction()
			for _, op := range ops {
				f.proxy.Reset()
				f.proxy.SetDelay(roundTripDelay)
				rep, err := op.run(context.Background(), f.promoter(promote.Config{}))
				f.proxy.SetDelay(0)
				if err != nil {
					t.Fatalf("%s: %v\n%s", op.name, err, rep.Text())
				}
				reqs := f.proxy.Requests()
				got := registrytest.DependentRoundTrips(reqs)
				t.Logf("%s of %d images: %d requests, %d dependent round trips", op.name, n, len(reqs), got)
				if got > op.max {
					t.Errorf("%s of %d images: %d dependent round trips, want at most %d; requests in arrival order:\n%s",
						op.name, n, got, op.max, describeRequests(reqs))
				}
			}
		})
	}
}

// describeRequests lists requests one a line, for a failure message.
func describeRequests(reqs []registrytest.Request) string {
	var out string
	for _, r := range reqs {
		out += fmt.Sprintf("  %s %s -> %d\n", r.Method, r.Path, r.Status)
	}
	return out
}
