package promote_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// v3BinaryEnv names the distribution 3 registry executable that the record
// tests also run against, when set.
const v3BinaryEnv = "PROMOTE_REGISTRY_V3_BIN"

// recordBackends are the registries records are tested on: distribution
// 2.8, without the referrers API (records go to the fallback tag index);
// go-containerregistry's in-process registry with the referrers API; and
// distribution 3 when v3BinaryEnv names it.
var recordBackends = []backend{
	backends[1],
	{"in-process-referrers-api", func(t *testing.T) *registrytest.Server { return registrytest.InProcessWithReferrers(t) }},
	{"distribution-3", func(t *testing.T) *registrytest.Server {
		bin := os.Getenv(v3BinaryEnv)
		if bin == "" {
			t.Skipf("distribution 3 not tested: set %s to its registry executable", v3BinaryEnv)
		}
		s, err := registrytest.StartDistribution(t.Context(), registrytest.DistributionConfig{Binary: bin})
		if err != nil {
			t.Fatalf("start distribution 3: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
}

// Runs of the record scenario.
const (
	runA        = "https://github.com/org/repo/actions/runs/1/attempts/1"
	runB        = "https://github.com/org/repo/actions/runs/2/attempts/1"
	runRollback = "https://github.com/org/repo/actions/runs/3/attempts/2"
)

// TestRecordsScenario: promote A, promote B, roll back; history reads back
// rollback, promote, promote with actor and run; promoting B again is
// refused, naming who rolled it back, when and from which run, until it is
// allowed, and its record says so; a newer commit promotes; status says who
// put each digest there; go-containerregistry's referrers reading, as oras
// discover and regctl artifact list read, sees the records.
func TestRecordsScenario(t *testing.T) {
	for _, b := range recordBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b, false)
			a := f.pushStaging(oldSHA)
			bd := f.pushStaging(newSHA)
			c := f.pushStaging(thirdSHA)
			p := f.promoter(promote.Config{})
			ctx := context.Background()
			mustWrite := func(what string, rep *promote.Report, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				for _, img := range rep.Images {
					if img.Outcome == promote.OutcomeChanged && !img.Recorded {
						t.Errorf("%s: %s changed but not recorded: %s", what, img.Target, img.RecordError)
					}
				}
			}
			rep, err := p.Promote(ctx, sha(oldSHA), promote.WriteOptions{Actor: "alice", Run: runA})
			mustWrite("promote A", rep, err)
			rep, err = p.Promote(ctx, sha(newSHA), promote.WriteOptions{Actor: "bob", Run: runB})
			mustWrite("promote B", rep, err)
			rep, err = p.Rollback(ctx, promote.SHA{}, promote.WriteOptions{Actor: "carol", Run: runRollback})
			mustWrite("rollback", rep, err)

			h, err := p.History(ctx, 0)
			if err != nil {
				t.Fatalf("History: %v\n%s", err, h.Text())
			}
			if len(h.Tags) != len(f.repos) {
				t.Fatalf("history of %d tags, want %d", len(h.Tags), len(f.repos))
			}
			for i, th := range h.Tags {
				want := []promote.HistoryEntry{
					{Kind: promote.HistoryMove, Action: "rollback", SHA: oldSHA, Digest: a[i], PreviousDigest: bd[i], Actor: "carol", Run: runRollback},
					{Kind: promote.HistoryMove, Action: "promote", SHA: newSHA, Digest: bd[i], PreviousDigest: a[i], Actor: "bob", Run: runB},
					{Kind: promote.HistoryMove, Action: "promote", SHA: oldSHA, Digest: a[i], Actor: "alice", Run: runA},
				}
				if len(th.Entries) != len(want) {
					t.Fatalf("history of %s = %+v, want %d entries\n%s", th.Target, th.Entries, len(want), h.Text())
				}
				for k, w := range want {
					g := th.Entries[k]
					if g.Kind != w.Kind || g.Action != w.Action || g.Digest != w.Digest || g.PreviousDigest != w.PreviousDigest || g.Actor != w.Actor || g.Run != w.Run || g.Time == "" {
						t.Errorf("history of %s, entry %d = %+v, want %+v", th.Target, k, g, w)
					}
					if w.SHA != "" && g.SHA != w.SHA {
						t.Errorf("history of %s, entry %d: sha %q, want %q", th.Target, k, g.SHA, w.SHA)
					}
				}
			}

			before := f.state("latest", "latest-previous")
			rep, err = p.Promote(ctx, sha(newSHA), promote.WriteOptions{Actor: "dave", Run: runB})
			if !errors.Is(err, promote.ErrVerification) {
				t.Fatalf("promoting the rolled-back B: err = %v, want a verification failure", err)
			}
			for _, part := range []string{"rolled back", `"carol"`, runRollback, "--allow-rolled-back"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("the refusal does not say %q:\n%v", part, err)
				}
			}
			f.assertState(before)

			rep, err = p.Promote(ctx, sha(thirdSHA), promote.WriteOptions{Actor: "erin"})
			mustWrite("promote a newer commit C", rep, err)
			rep, err = p.Promote(ctx, sha(newSHA), promote.WriteOptions{Actor: "dave", Run: runB, AllowRolledBack: true})
			mustWrite("promote B, allowed", rep, err)

			st, err := p.Status(ctx)
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			for _, img := range st.Images {
				if m := img.LastMove; m == nil || m.Actor != "dave" || !m.AllowRolledBack || m.Run != runB {
					t.Errorf("status of %s: last move %+v, want dave's, allowed", img.Target, m)
				}
			}
			h, err = p.History(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			for i, th := range h.Tags {
				if len(th.Entries) != 2 || !th.Truncated || th.Entries[0].Digest != bd[i] || !th.Entries[0].AllowRolledBack || th.Entries[1].Digest != c[i] {
					t.Errorf("history of %s with limit 2 = %+v, truncated %v", th.Target, th.Entries, th.Truncated)
				}
			}

			// go-containerregistry's referrers reading, with the fallback
			// tag where the registry lacks the API, as oras and regctl do.
			for i, repo := range f.repos {
				ref, err := name.ParseReference(repo + "@" + a[i])
				if err != nil {
					t.Fatal(err)
				}
				idx, err := remote.Referrers(ref.(name.Digest))
				if err != nil {
					t.Fatalf("referrers of %s: %v", ref, err)
				}
				im, err := idx.IndexManifest()
				if err != nil {
					t.Fatal(err)
				}
				records := 0
				for _, d := range im.Manifests {
					if d.ArtifactType == promote.RecordArtifactType || d.Annotations["io.github.molecule-ai.promote.action"] != "" {
						records++
					}
				}
				// A's: promote by alice, rollback by carol.
				if records != 2 {
					t.Errorf("referrers of %s list %d promotion records, want 2: %+v", ref, records, im.Manifests)
				}
			}
		})
	}
}

// TestRecordInputsValidatedFirst: an actor or run that a record cannot
// carry is refused before any request, and a run URL that could carry a
// token is never echoed.
func TestRecordInputsValidatedFirst(t *testing.T) {
	f := newFixture(t, backends[0], true)
	p := f.promoter(promote.Config{})
	for _, opts := range []promote.WriteOptions{
		{Actor: "bad\nactor"},
		{Run: "https://user:s3cret@github.com/org/repo/actions/runs/1"},
		{Run: "https://github.com/org/repo/actions/runs/1?token=s3cret"},
		{Run: "not a url"},
	} {
		_, err := p.Promote(context.Background(), sha(newSHA), opts)
		if !errors.Is(err, promote.ErrInvalidInput) {
			t.Errorf("%+v: err = %v, want invalid input", opts, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error echoes the run URL: %v", err)
		}
		_, err = p.Rollback(context.Background(), promote.SHA{}, opts)
		if !errors.Is(err, promote.ErrInvalidInput) {
			t.Errorf("rollback %+v: err = %v, want invalid input", opts, err)
		}
	}
	if n := f.proxy.Total(); n != 0 {
		t.Errorf("%d requests reached the registry", n)
	}
	if _, err := p.History(context.Background(), -1); !errors.Is(err, promote.ErrInvalidInput) {
		t.Errorf("History(-1): err = %v, want invalid input", err)
	}
}

// TestRacingRunsKeepEachOthersRecords races two runs that record moves on
// the same digest, on a registry without the referrers API: both read the
// digest's fallback index before either writes it back, and neither reads
// it back before both wrote it (see indexWrites), so the later write drops
// the earlier run's entry. That run finds the loss when it reads the index
// back, and writes its entry again, keeping the other's: both runs exit 0
// and both records are listed.
func TestRacingRunsKeepEachOthersRecords(t *testing.T) {
	f := newFixture(t, distribution, true)
	f.repos = f.repos[:1]
	f.pushStaging(newSHA)
	barrier := registrytest.NewBarrier(2, registrytest.Match(http.MethodPut, "/manifests/sha256-"))
	writes := newIndexWrites(barrier.Transport(nil))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	actors := []string{"latest-bot", "stable-bot"}
	reps := make([]*promote.Report, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for k, tag := range []string{"latest", "stable"} {
		p := f.promoter(promote.Config{TargetTags: []string{tag}}, promote.WithTransport(writes))
		wg.Go(func() {
			reps[k], errs[k] = p.Promote(ctx, sha(newSHA), promote.WriteOptions{Actor: actors[k], NoBackup: true})
		})
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			t.Fatalf("run of %s: %v", actors[k], err)
		}
		for _, img := range reps[k].Images {
			if !img.Recorded {
				t.Errorf("run of %s: %s not recorded: %s", actors[k], img.Target, img.RecordError)
			}
		}
	}
	if n := barrier.Arrived(); n < 2 {
		t.Fatalf("%d index writes met at the barrier, want 2", n)
	}
	if n := f.proxy.Count(http.MethodPut, "/manifests/sha256-"); n < 3 {
		t.Errorf("%d index writes, want a third: the rewrite of the entry the other run dropped", n)
	}
	for k, tag := range []string{"latest", "stable"} {
		h, err := f.promoter(promote.Config{TargetTags: []string{tag}}).History(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if e := h.Tags[0].Entries; len(e) != 1 || e[0].Kind != promote.HistoryMove || e[0].Actor != actors[k] {
			t.Errorf("history of %s = %+v, want one move by %s", tag, e, actors[k])
		}
	}
}

// indexWrites is a transport that holds every read of a fallback index
// made after one index PUT was answered until a second one is, so that no
// run reads its index back between the two writes. That is the order whose
// loss a run can find; a write that lands after the other run's read-back
// is the loss the records document as one no run can find.
type indexWrites struct {
	inner    http.RoundTripper
	answered atomic.Int64
	both     chan struct{} // closed once two index PUTs are answered
}

func newIndexWrites(inner http.RoundTripper) *indexWrites {
	return &indexWrites{inner: inner, both: make(chan struct{})}
}

// RoundTrip implements http.RoundTripper.
func (w *indexWrites) RoundTrip(req *http.Request) (*http.Response, error) {
	index := strings.Contains(req.URL.Path, "/manifests/sha256-")
	if index && req.Method == http.MethodGet && w.answered.Load() > 0 {
		select {
		case <-w.both:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	resp, err := w.inner.RoundTrip(req)
	if index && req.Method == http.MethodPut && err == nil && w.answered.Add(1) == 2 {
		close(w.both)
	}
	return resp, err
}
