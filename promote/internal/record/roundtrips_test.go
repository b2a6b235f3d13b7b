package record

import (
	"errors"
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

// TestRoundTrips counts, at a proxy, the dependent round trips of a batch
// of records (each phase), a listing and a walk, on a registry without the
// referrers API and on one with it, once the client has connected and
// listed the subject (as a run has by then). The bounds are those the
// documentation of Batch, List and Walk gives.
func TestRoundTrips(t *testing.T) {
	type bounds struct{ prepare, stage, commit, list, walk3 int }
	for _, reg := range []struct {
		registryUnderTest
		want bounds
	}{
		{registries()[0], bounds{prepare: 3, stage: 1, commit: 2, list: 1, walk3: 3}},
		{registries()[2], bounds{prepare: 3, stage: 0, commit: 2, list: 1, walk3: 3}},
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
			w := connect(t, ctx, repo, nil)
			write(t, ctx, w, recordOf(repo, ActionPromote, A.Digest, v1.Hash{}, 1, "alice"), A)
			write(t, ctx, w, recordOf(repo, ActionPromote, B.Digest, A.Digest, 2, "bob"), B)
			// A run's client, connected, with the subject listed.
			r := connect(t, ctx, repo, nil)
			l, err := r.List(ctx, C.Digest)
			if err != nil {
				t.Fatal(err)
			}
			// The records of one run that moved two tags from B to C.
			var b Batch
			for _, tag := range []string{"latest", "stable"} {
				rec := recordOf(repo, ActionPromote, C.Digest, B.Digest, 3, "carol")
				rec.Tag = TargetTag(repo.Tag(tag))
				if _, err := b.Add(r, rec, C, l.API); err != nil {
					t.Fatal(err)
				}
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
			measure("prepare", reg.want.prepare, func() error {
				b.Prepare(ctx)
				b.Wait()
				return nil
			})
			measure("stage", reg.want.stage, func() error {
				b.Stage(ctx)
				return nil
			})
			measure("commit of 2 records", reg.want.commit, func() error {
				return errors.Join(b.Commit(ctx)...)
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
