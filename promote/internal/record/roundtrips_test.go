package record

import (
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/molecule-ai/promote/internal/registrytest"
)

// roundTripDelay holds each request at the proxy far longer than a client
// needs to send a burst, so that the count of dependent round trips is
// exact, not timed (see registrytest.DependentRoundTrips).
const roundTripDelay = 100 * time.Millisecond

// TestRoundTrips counts, at a proxy, the dependent round trips of a write,
// a listing and a walk, on a registry without the referrers API and on one
// with it, once the client has connected (as a run has by then). The
// bounds are those the documentation of Write, List and Walk gives.
func TestRoundTrips(t *testing.T) {
	type bounds struct{ write, list, walk3 int }
	for _, reg := range []struct {
		registryUnderTest
		want bounds
	}{
		{registries()[0], bounds{write: 5, list: 1, walk3: 3}},
		{registries()[2], bounds{write: 3, list: 1, walk3: 3}},
	} {
		t.Run(reg.name, func(t *testing.T) {
			srv := reg.start(t)
			proxy := registrytest.NewProxy(t, srv.Addr)
			ctx := testContext(t)
			repo, err := name.NewRepository(proxy.Repo("org/app"))
			if err != nil {
				t.Fatal(err)
			}
			A := pushSubject(t, ctx, repo, "staging-a")
			B := pushSubject(t, ctx, repo, "staging-b")
			C := pushSubject(t, ctx, repo, "staging-c")
			// Earlier records, by another client.
			w := records(t, repo, clientOptions(t, nil)...)
			write(t, ctx, w, recordOf(repo, ActionPromote, A.Digest, v1.Hash{}, 1, "alice"), A)
			write(t, ctx, w, recordOf(repo, ActionPromote, B.Digest, A.Digest, 2, "bob"), B)
			// A run's client: connected, and prepared alongside the tag moves.
			r := records(t, repo, clientOptions(t, nil)...)
			if _, err := r.List(ctx, A.Digest); err != nil {
				t.Fatal(err)
			}
			if err := r.Prepare(ctx); err != nil {
				t.Fatal(err)
			}

			measure := func(what string, max int, op func() error) {
				t.Helper()
				proxy.Reset()
				proxy.SetDelay(roundTripDelay)
				err := op()
				proxy.SetDelay(0)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				reqs := proxy.Requests()
				got := registrytest.DependentRoundTrips(reqs)
				t.Logf("%s: %d requests, %d dependent round trips", what, len(reqs), got)
				if got > max {
					var list string
					for _, q := range reqs {
						list += "\n  " + q.Method + " " + q.Path
					}
					t.Errorf("%s: %d dependent round trips, want at most %d:%s", what, got, max, list)
				}
			}
			measure("write", reg.want.write, func() error {
				_, err := r.Write(ctx, recordOf(repo, ActionPromote, C.Digest, B.Digest, 3, "carol"), C)
				return err
			})
			measure("list", reg.want.list, func() error {
				_, err := r.List(ctx, C.Digest)
				return err
			})
			measure("walk of 3", reg.want.walk3, func() error {
				tr, err := Walk(ctx, r, TargetTag(repo.Tag("latest")), C.Digest, 0)
				if err == nil && len(tr.Steps) != 3 {
					t.Errorf("walk: %d steps, want 3", len(tr.Steps))
				}
				return err
			})
		})
	}
}
