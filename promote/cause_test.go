package promote_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// TestErrorsNameTheCause checks that a registry that cannot be used is
// reported by what went wrong, once per repository, and never as a failed
// verification.
func TestErrorsNameTheCause(t *testing.T) {
	authed := registrytest.Distribution(t, registrytest.WithBasicAuth("ci-bot", testPassword))
	// Every request through slow waits far longer than the timeout case
	// allows, so that its deadline fires however fast the machine is.
	slow := registrytest.NewProxy(t, authed.Addr)
	slow.SetDelay(5 * time.Second)
	repos := func(addr string) []string { return []string{addr + "/team/api", addr + "/team/web"} }
	cases := []struct {
		name    string
		repos   []string
		opts    []promote.Option
		timeout time.Duration
		want    string
	}{
		{"unreachable", repos("127.0.0.1:1"), nil, 0, "cannot reach 127.0.0.1:1 (connection refused)"},
		{"wrong password", repos(authed.Addr), []promote.Option{promote.WithCredentials(authed.Addr, "ci-bot", "wrong")}, 0,
			"authentication failed for " + authed.Addr + " (wrong username or token?)"},
		{"no credentials", repos(authed.Addr), nil, 0, "authentication required for " + authed.Addr},
		{"timeout", repos(slow.Addr), nil, 50 * time.Millisecond, "timed out after 50ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]promote.Option{promote.WithAnonymous(), promote.WithEndpoint("127.0.0.1:1", "127.0.0.1:1")}, tc.opts...)
			ctx := context.Background()
			if tc.timeout > 0 {
				opts = append(opts, promote.WithTimeout(tc.timeout))
			}
			p, err := promote.New(promote.Config{Repositories: tc.repos}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range []struct {
				name    string
				run     func() (*promote.Report, error)
				kind    error
				heading string
			}{
				{"verify", func() (*promote.Report, error) { return p.Verify(ctx, sha(newSHA)) }, promote.ErrVerification, "cannot read the registry for 2 of 2 images"},
				{"promote", func() (*promote.Report, error) { return p.Promote(ctx, sha(newSHA), promote.WriteOptions{}) }, promote.ErrVerification, "cannot read the registry for 2 of 2 images"},
				{"status", func() (*promote.Report, error) { return p.Status(ctx) }, promote.ErrIncomplete, "incomplete: 2 of 2 target tags are not in place"},
			} {
				rep, err := op.run()
				if !errors.Is(err, op.kind) {
					t.Fatalf("%s: err = %v, want %v", op.name, err, op.kind)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, op.heading) {
					t.Errorf("%s: heading of %q", op.name, msg)
				}
				for _, r := range tc.repos {
					if n := strings.Count(msg, r); n == 0 {
						t.Errorf("%s: %s not named in %q", op.name, r, msg)
					}
				}
				if n := strings.Count(msg, tc.want); n != len(tc.repos) {
					t.Errorf("%s: %q said %d times, want once per repository:\n%s", op.name, tc.want, n, msg)
				}
				assertNoSecret(t, reportOutputs(t, rep, err)...)
			}
		})
	}
}

// TestTimeoutErrorsNameWhichTimeout delays every response of a real
// registry: the error names the timeout that fired, and its value.
func TestTimeoutErrorsNameWhichTimeout(t *testing.T) {
	cases := []struct {
		name      string
		opts      []promote.Option
		want, not string
	}{
		{"one response's header wait", []promote.Option{promote.WithTimeout(10 * time.Minute), promote.WithResponseTimeout(time.Second)},
			"timed out after 1s waiting for %s to answer one request (the response timeout", "10m0s"},
		{"the operation's time limit", []promote.Option{promote.WithTimeout(time.Second)},
			"timed out after 1s waiting for %s (the operation's time limit)", "response timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backends[0], true)
			f.pushStaging(newSHA)
			f.proxy.SetFault(registrytest.Always(registrytest.Any(), registrytest.DelayResponse(3*time.Second)))
			opts := append([]promote.Option{promote.WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Steps: 1})}, tc.opts...)
			_, err := f.promoter(promote.Config{}, opts...).Verify(context.Background(), sha(newSHA))
			f.proxy.SetFault(nil)
			want := fmt.Sprintf(tc.want, f.addr)
			if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), tc.not) {
				t.Fatalf("err = %v\nwant it to say %q, and not %q", err, want, tc.not)
			}
		})
	}
}

// TestCausesReachableWithErrorsAs checks that a caller reaches the cause of
// a failure with errors.As, from every operation, while the error still
// matches its sentinel and says what it said.
func TestCausesReachableWithErrorsAs(t *testing.T) {
	repos := []string{"127.0.0.1:1/team/api", "127.0.0.1:1/team/web"}
	p, err := promote.New(promote.Config{Repositories: repos}, promote.WithAnonymous())
	if err != nil {
		t.Fatal(err)
	}
	sg := newSigning(t)
	signed, err := promote.New(promote.Config{Repositories: repos}, promote.WithAnonymous(), promote.WithSignaturePolicy(sg.keyed()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, op := range []struct {
		name string
		run  func() (*promote.Report, error)
		kind error
	}{
		{"verify", func() (*promote.Report, error) { return p.Verify(ctx, sha(newSHA)) }, promote.ErrVerification},
		{"promote", func() (*promote.Report, error) { return p.Promote(ctx, sha(newSHA), promote.WriteOptions{}) }, promote.ErrVerification},
		{"rollback to a sha", func() (*promote.Report, error) { return p.Rollback(ctx, sha(newSHA), promote.WriteOptions{}) }, promote.ErrVerification},
		{"rollback to the backups", func() (*promote.Report, error) { return p.Rollback(ctx, promote.SHA{}, promote.WriteOptions{}) }, promote.ErrVerification},
		{"status", func() (*promote.Report, error) { return p.Status(ctx) }, promote.ErrIncomplete},
		// A registry that cannot be read fails no signature check.
		{"status with a signature policy", func() (*promote.Report, error) { return signed.Status(ctx) }, promote.ErrIncomplete},
	} {
		t.Run(op.name, func(t *testing.T) {
			_, err := op.run()
			if !errors.Is(err, op.kind) {
				t.Fatalf("err = %v, want %v", err, op.kind)
			}
			var access *promote.AccessError
			if !errors.As(err, &access) {
				t.Fatalf("errors.As finds no *AccessError in %v", err)
			}
			if access.Registry != "127.0.0.1:1" || access.Cause != "cannot reach 127.0.0.1:1 (connection refused)" {
				t.Errorf("AccessError = %+v", access)
			}
			var verr *promote.VerificationError
			if op.kind == promote.ErrVerification {
				if !errors.As(err, &verr) || len(verr.Images) != len(repos) {
					t.Fatalf("errors.As finds no *VerificationError naming both images in %v", err)
				}
				if verr.Error() != err.Error() || !strings.HasPrefix(verr.Images[0].Image, repos[0]) {
					t.Errorf("VerificationError = %+v", verr)
				}
			}
		})
	}
}

// TestWriteFailureCausesReachable: when a tag write fails, the run's error
// says why in its text, and a caller reaches the same cause with
// errors.As, while the error still matches its sentinel.
func TestWriteFailureCausesReachable(t *testing.T) {
	f := newFixture(t, backends[0], true)
	f.seedProduction()
	f.pushStaging(newSHA)
	f.proxy.SetFault(registrytest.Always(registrytest.Match(http.MethodPut, "/manifests/latest"), registrytest.Reply(http.StatusUnauthorized)))
	_, err := f.promoter(promote.Config{}).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
	if !errors.Is(err, promote.ErrNotPromoted) || errors.Is(err, promote.ErrMixedState) {
		t.Fatalf("err = %v, want ErrNotPromoted alone", err)
	}
	var access *promote.AccessError
	if !errors.As(err, &access) || !strings.HasPrefix(access.Cause, "authentication required for ") {
		t.Fatalf("errors.As finds no *AccessError naming the refusal in %v", err)
	}
	if !strings.Contains(err.Error(), "failed: "+access.Cause) {
		t.Errorf("the error's text does not say the cause %q:\n%v", access.Cause, err)
	}
}
