package promote_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
	"github.com/molecule-ai/promote/promote/internal/record"
)

// roundTripDelay holds every request at the proxy far longer than the core
// needs to send a burst, so that the count of dependent round trips is
// exact rather than timed (see registrytest.DependentRoundTrips).
const roundTripDelay = 150 * time.Millisecond

// thirdSHA is a commit after newSHA.
const thirdSHA = "3333333333333333333333333333333333333333"

// TestHappyPathRoundTrips checks the design's cost: a promotion, a
// verification and a status take a fixed number of dependent round trips,
// whatever the number of images. It counts the requests' dependencies at the
// proxy, not the time they took.
//
// A promotion costs 5 without its records: ping; manifests of sources,
// targets and backups (and the empty blob of records); configs (and the
// records of each source, for the rolled-back check); one PUT per tag; the
// read-back. Its records add 2: without the referrers API, the fallback
// indexes are read and the record manifests PUT by digest alongside the
// read-back, then the indexes are PUT, then read back; with the API, the
// record manifests are PUT, then listed back. The first record of a
// repository without the API adds one more: the empty blob's upload ends
// alongside the read-back, before the record manifests.
func TestHappyPathRoundTrips(t *testing.T) {
	type op struct {
		name string
		max  int
		run  func(context.Context, *promote.Promoter) (*promote.Report, error)
	}
	promoteOp := func(name, commit string, max int) op {
		return op{name, max, func(ctx context.Context, p *promote.Promoter) (*promote.Report, error) {
			return p.Promote(ctx, sha(commit), promote.WriteOptions{Actor: "ci-bot", Run: "https://github.com/org/repo/actions/runs/1/attempts/1"})
		}}
	}
	ops := func(n, firstRecord int) []op {
		first := promoteOp("promote, the first record of each repository", newSHA, firstRecord)
		if n > 2 {
			// The first records' blob uploads are measured with two
			// images: with twenty, the one local registry answers the
			// forty tag writes over more than the proxy's hold, and a
			// request sent on a late answer counts one round trip more.
			first.max = firstRecord + 1
		}
		return []op{
			first,
			// Ping; manifests; configs.
			{"verify", 3, func(ctx context.Context, p *promote.Promoter) (*promote.Report, error) {
				return p.Verify(ctx, sha(newSHA))
			}},
			// Ping; every target and backup tag; their configs and records.
			{"status", 3, func(ctx context.Context, p *promote.Promoter) (*promote.Report, error) {
				return p.Status(ctx)
			}},
			promoteOp("promote", thirdSHA, 7),
		}
	}
	for _, reg := range []struct {
		name        string
		server      *registrytest.Server
		firstRecord int
	}{
		{"distribution", registrytest.Distribution(t), 8},
		{"in-process-referrers-api", registrytest.InProcessWithReferrers(t), 7},
	} {
		for _, n := range []int{2, 20} {
			t.Run(fmt.Sprintf("%s/N=%d", reg.name, n), func(t *testing.T) {
				f := &fixture{t: t, server: reg.server, proxy: registrytest.NewProxy(t, reg.server.Addr)}
				f.addr = f.proxy.Addr
				for i := range n {
					f.repos = append(f.repos, fmt.Sprintf("%s/rt%d/image-%02d", f.addr, n, i))
				}
				f.seedProduction()
				f.pushStaging(thirdSHA)
				for _, op := range ops(n, reg.firstRecord) {
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
}

// describeRequests lists requests one a line, for a failure message.
func describeRequests(reqs []registrytest.Request) string {
	var out string
	for _, r := range reqs {
		out += fmt.Sprintf("  %s %s -> %d\n", r.Method, r.Path, r.Status)
	}
	return out
}

// TestHistoryRoundTrips: a history of 20 moves costs the connection, the
// read of the tag and one listing per move: 22 dependent round trips, on a
// registry without the referrers API and on one with it.
func TestHistoryRoundTrips(t *testing.T) {
	for _, srv := range []*registrytest.Server{registrytest.Distribution(t), registrytest.InProcessWithReferrers(t)} {
		proxy := registrytest.NewProxy(t, srv.Addr)
		f := &fixture{t: t, server: srv, proxy: proxy, addr: proxy.Addr, repos: []string{proxy.Addr + "/history/app"}}
		a, b := f.pushStaging(oldSHA)[0], f.pushStaging(newSHA)[0]
		ctx := context.Background()
		repo, err := name.NewRepository(f.direct(f.repos[0]))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := transport.NewWithContext(ctx, repo.Registry, authn.Anonymous, http.DefaultTransport, []string{repo.Scope(transport.PushScope)})
		if err != nil {
			t.Fatal(err)
		}
		records, err := record.Connect(repo, tr)
		if err != nil {
			t.Fatal(err)
		}
		// Twenty moves, A and B in turn, recorded as promote records them.
		digests := []string{a, b}
		start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		var batch record.Batch
		for k := range 20 {
			to, from := digests[k%2], digests[(k+1)%2]
			rec := record.Record{Action: record.ActionPromote, Tag: record.TargetTag(repo.Tag("latest")), Digest: v1.Hash{}, Time: start.Add(time.Duration(k) * time.Minute), Actor: "ci", Version: "test"}
			rec.Digest, _ = v1.NewHash(to)
			if k > 0 {
				rec.PreviousDigest, _ = v1.NewHash(from)
			}
			desc, err := remote.Head(repo.Digest(to))
			if err != nil {
				t.Fatal(err)
			}
			l, err := records.List(ctx, desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := batch.Add(records, rec, *desc, l.API); err != nil {
				t.Fatal(err)
			}
		}
		batch.Prepare(ctx)
		batch.Stage(ctx)
		if err := errors.Join(batch.Commit(ctx)...); err != nil {
			t.Fatal(err)
		}
		batch.Wait()
		f.retag(f.repos[0]+":latest", digests[19%2])
		proxy.Reset()
		proxy.SetDelay(roundTripDelay)
		h, err := f.promoter(promote.Config{}).History(ctx, 20)
		proxy.SetDelay(0)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(h.Tags[0].Entries); n != 20 {
			t.Fatalf("history of %d entries, want 20:\n%s", n, h.Text())
		}
		reqs := proxy.Requests()
		got := registrytest.DependentRoundTrips(reqs)
		t.Logf("history of 20 moves: %d requests, %d dependent round trips", len(reqs), got)
		if got > 22 {
			t.Errorf("history of 20 moves: %d dependent round trips, want at most 22:\n%s", got, describeRequests(reqs))
		}
	}
}
