package promote_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// otherSHA is the commit of another run, racing the one under test.
const otherSHA = "3333333333333333333333333333333333333333"

// readBackOf matches the read-back of one repository's :latest.
func readBackOf(repoSuffix string) registrytest.Matcher {
	return func(r *http.Request) bool {
		return r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, repoSuffix+"/manifests/latest")
	}
}

// once returns a fault rule that runs act the first time m matches, before
// the request is forwarded, and passes every request.
func once(m registrytest.Matcher, act func()) registrytest.FaultFunc {
	var done atomic.Bool
	return func(r *http.Request, _ int) registrytest.Fault {
		if m(r) && done.CompareAndSwap(false, true) {
			act()
		}
		return registrytest.Pass()
	}
}

// TestForeignWriteBetweenWriteAndReadBack lets another writer move
// platform:latest after this run wrote it and before it reads it back. The
// run must not touch that tag again, must put back its own, and must end
// mixed, naming the other digest and its revision.
func TestForeignWriteBetweenWriteAndReadBack(t *testing.T) {
	f := newFixture(t, distribution, true)
	old, _ := f.seedProduction()
	foreign := f.moveOnReadBack()

	rep, err := f.promoter(promote.Config{}).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
	if !errors.Is(err, promote.ErrMixedState) {
		t.Fatalf("err = %v, want ErrMixedState", err)
	}
	f.assertState(map[string]string{
		f.repos[0] + ":latest": foreign, // the other writer's, left alone
		f.repos[1] + ":latest": old[1],  // this run's own write, put back
	})
	assertConflict(t, rep, err, f.repos[0]+":latest", foreign, otherSHA)
}

// TestForeignWriteBetweenReadBackAndRestore fails the run on purpose, then
// lets another writer move platform:latest after the read-back and before
// the restore: the restore must leave it alone.
func TestForeignWriteBetweenReadBackAndRestore(t *testing.T) {
	f := newFixture(t, distribution, true)
	old, _ := f.seedProduction()
	foreign := f.pushImage(f.repos[0], "staging-3333333", otherSHA)
	f.proxy.SetFault(registrytest.Always(tenantLatestPut, registrytest.Reply(403)))
	hook := promote.WithBeforeRestore(func(context.Context) { f.retag(f.repos[0]+":latest", foreign) })

	rep, err := f.promoter(promote.Config{}, hook).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
	if !errors.Is(err, promote.ErrMixedState) {
		t.Fatalf("err = %v, want ErrMixedState", err)
	}
	f.assertState(map[string]string{
		f.repos[0] + ":latest":          foreign,
		f.repos[0] + ":latest-previous": "", // this run's backup write, removed again
		f.repos[1] + ":latest":          old[1],
	})
	assertConflict(t, rep, err, f.repos[0]+":latest", foreign, otherSHA)
}

// TestRollbackRacingPromotion runs a whole rollback between a promotion's
// writes and its read-back. The rollback sees the promotion's tags and
// swaps them; the promotion then finds every tag moved by another run and
// ends mixed, writing nothing more.
func TestRollbackRacingPromotion(t *testing.T) {
	f := newFixture(t, distribution, true)
	old, updated := f.seedProduction()
	direct := make([]string, len(f.repos))
	for i, r := range f.repos {
		direct[i] = f.direct(r)
	}
	var rollbackErr error
	f.proxy.SetFault(once(readBackOf("/platform"), func() {
		rb, err := promote.New(promote.Config{Repositories: direct}, f.options()...)
		if err != nil {
			rollbackErr = err
			return
		}
		_, rollbackErr = rb.Rollback(context.Background(), promote.SHA{}, promote.WriteOptions{})
	}))

	rep, err := f.promoter(promote.Config{}).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
	if rollbackErr != nil {
		t.Fatalf("the racing rollback failed: %v", rollbackErr)
	}
	if !errors.Is(err, promote.ErrMixedState) {
		t.Fatalf("promote err = %v, want ErrMixedState", err)
	}
	// Every tag is where the rollback, which exited 0, put it.
	for i, r := range f.repos {
		f.assertState(map[string]string{r + ":latest": old[i], r + ":latest-previous": updated[i]})
	}
	if !strings.Contains(err.Error(), "another promotion or rollback ran at the same time") {
		t.Errorf("error does not name the cause:\n%v", err)
	}
	for _, img := range rep.Images {
		if img.Outcome != promote.OutcomeConflict {
			t.Errorf("%s outcome = %s, want conflict", img.Target, img.Outcome)
		}
	}
}

// assertConflict checks that the report and the error show tag at the
// other writer's digest, with its revision.
func assertConflict(t *testing.T, rep *promote.Report, err error, tag, digest, revision string) {
	t.Helper()
	if rep.Result != promote.ResultMixed {
		t.Errorf("result = %s, want mixed", rep.Result)
	}
	var found bool
	for _, img := range rep.Images {
		for _, ts := range img.Tags {
			if ts.Tag == tag {
				found = true
				if img.Outcome != promote.OutcomeConflict || ts.Digest != digest || ts.Revision != revision {
					t.Errorf("entry %s = %s, tag %+v; want conflict at %s, revision %s", img.Target, img.Outcome, ts, digest, revision)
				}
			}
		}
	}
	if !found {
		t.Errorf("report does not list %s: %+v", tag, rep.Images)
	}
	for _, want := range []string{"another promotion or rollback ran at the same time", tag + " is at " + digest, "re-run promote"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	for _, out := range []string{rep.Text(), rep.Markdown()} {
		if !strings.Contains(out, "conflict") || !strings.Contains(out, digest) {
			t.Errorf("rendered report does not show the conflict at %s:\n%s", digest, out)
		}
	}
}

// raceSeedVariable names the environment variable that replays a round of
// the race test: set it to the seed a failing run logged.
const raceSeedVariable = "PROMOTE_RACE_SEED"

// raceSeed returns the seed of the race test's random choices: the one in
// $PROMOTE_RACE_SEED, or a new one. It logs it either way, so that any
// failing run can be replayed.
func raceSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(raceSeedVariable); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a seed as logged by an earlier run: %v", raceSeedVariable, v, err)
		}
		seed = s
	}
	t.Logf("random seed %d; replay with %s=%d", seed, raceSeedVariable, seed)
	return seed
}

// TestConcurrentRunsNeverUndoEachOtherSilently races two runs of random
// kinds (promote, rollback to a commit, rollback by swap) on the same five
// repositories, behind a proxy that delays every request, with random
// start offsets. Every round must end in one of the states that docs/guarantees.md
// promises:
//   - every :latest at one run's digests, and that run exited 0 or 3;
//   - every tag as before both runs, and neither run exited 0;
//   - anything else, and at least one run exited 3.
func TestConcurrentRunsNeverUndoEachOtherSilently(t *testing.T) {
	if testing.Short() {
		t.Skip("races real registry clients for several seconds")
	}
	const repos, rounds = 5, 12
	server := registrytest.Distribution(t)
	proxy := registrytest.NewProxy(t, server.Addr)
	proxy.SetDelay(8 * time.Millisecond)
	f := &fixture{t: t, server: server, proxy: proxy, addr: proxy.Addr}
	for i := range repos {
		f.repos = append(f.repos, fmt.Sprintf("%s/race/app-%d", proxy.Addr, i))
	}
	shas := []string{oldSHA, newSHA, otherSHA}
	images := map[string][]string{}
	for _, s := range shas {
		images[s] = f.pushStaging(s)
	}

	kinds := []raceRun{
		{name: "promote " + newSHA[:7], sha: newSHA},
		{name: "promote " + otherSHA[:7], sha: otherSHA},
		{name: "rollback to " + oldSHA[:7], sha: oldSHA, rollback: true},
		{name: "rollback by swap", rollback: true},
	}
	rng := rand.New(rand.NewPCG(1, raceSeed(t)))
	outcomes := map[string]int{}
	for round := range rounds {
		// Production at oldSHA, with newSHA as the backup: every kind of
		// run has something to move.
		var reset sync.WaitGroup
		for i, r := range f.repos {
			reset.Go(func() { f.retag(r+":latest", images[oldSHA][i]) })
			reset.Go(func() { f.retag(r+":latest-previous", images[newSHA][i]) })
		}
		reset.Wait()
		before := f.state("latest", "latest-previous")
		runs := [2]raceRun{kinds[rng.IntN(len(kinds))], kinds[rng.IntN(len(kinds))]}
		offset := time.Duration(rng.IntN(25)) * time.Millisecond
		start := time.Now()
		var wg sync.WaitGroup
		for k := range runs {
			wg.Go(func() {
				if k == 1 {
					time.Sleep(offset)
				}
				runs[k].do(t, f)
			})
		}
		wg.Wait()
		took := time.Since(start)
		after := f.state("latest", "latest-previous")
		desc := fmt.Sprintf("round %d: %s (exit %d) and %s (exit %d), %s apart",
			round, runs[0].name, runs[0].exit, runs[1].name, runs[1].exit, offset)
		if runs[0].exit+runs[1].exit > 0 {
			t.Logf("%s, took %s:\n  %v\n  %v", desc, took, runs[0].err, runs[1].err)
		}
		outcomes[fmt.Sprintf("%d/%d", min(runs[0].exit, runs[1].exit), max(runs[0].exit, runs[1].exit))]++
		checkRaceInvariant(t, f, desc, before, after, runs)
	}
	t.Logf("exit code pairs over %d rounds: %v", rounds, outcomes)
}

// raceRun is one run of a race round and how it ended.
type raceRun struct {
	name     string
	sha      string
	rollback bool
	exit     int
	// wanted is the digest the run meant each :latest to have.
	wanted map[string]string
	err    error
}

func (r *raceRun) do(t *testing.T, f *fixture) {
	p := f.promoter(promote.Config{})
	var rep *promote.Report
	// Every run records its moves; a promotion may take back a digest
	// that an earlier round rolled back, so that every kind keeps racing.
	// A run that ends unrecorded fails the invariant: records lost to the
	// other run's index writes are found and written again.
	opts := promote.WriteOptions{Actor: strings.ReplaceAll(r.name, " ", "-")}
	switch {
	case r.rollback && r.sha == "":
		rep, r.err = p.Rollback(context.Background(), promote.SHA{}, opts)
	case r.rollback:
		rep, r.err = p.Rollback(context.Background(), sha(r.sha), opts)
	default:
		opts.AllowRolledBack = true
		rep, r.err = p.Promote(context.Background(), sha(r.sha), opts)
	}
	switch {
	case r.err == nil:
		r.exit = 0
	case errors.Is(r.err, promote.ErrMixedState):
		r.exit = 3
	default:
		r.exit = 1
	}
	r.wanted = map[string]string{}
	if rep != nil {
		for _, img := range rep.Images {
			r.wanted[img.Target] = img.Digest
		}
	}
}

// checkRaceInvariant fails unless a round's end state is one docs/guarantees.md
// promises for two overlapping runs.
func checkRaceInvariant(t *testing.T, f *fixture, desc string, before, after map[string]string, runs [2]raceRun) {
	t.Helper()
	latestAt := func(want map[string]string) bool {
		if len(want) != len(f.repos) {
			return false
		}
		for _, r := range f.repos {
			if after[r+":latest"] != want[r+":latest"] || want[r+":latest"] == "" {
				return false
			}
		}
		return true
	}
	for _, r := range runs {
		if r.exit != 3 && r.err != nil && !errors.Is(r.err, promote.ErrNotPromoted) && !errors.Is(r.err, promote.ErrVerification) {
			t.Errorf("%s: %s failed unexpectedly: %v", desc, r.name, r.err)
		}
	}
	asBefore := true
	for ref, d := range before {
		asBefore = asBefore && after[ref] == d
	}
	anyMixed := runs[0].exit == 3 || runs[1].exit == 3
	for _, r := range runs {
		if (r.exit == 0 || r.exit == 3) && latestAt(r.wanted) {
			return // every :latest at this run's digests
		}
	}
	if asBefore && runs[0].exit != 0 && runs[1].exit != 0 {
		return
	}
	if anyMixed {
		return
	}
	t.Errorf("%s: end state breaks the guarantee\nbefore: %v\nafter:  %v\nwanted: %v | %v\nerrors: %v | %v", desc, before, after, runs[0].wanted, runs[1].wanted, runs[0].err, runs[1].err)
}

// moveOnReadBack pushes otherSHA's image to platform and has another writer
// move platform:latest to it the moment the run under test first reads that
// tag back. It returns the other writer's digest.
func (f *fixture) moveOnReadBack() string {
	f.t.Helper()
	foreign := f.pushImage(f.repos[0], "staging-3333333", otherSHA)
	f.proxy.SetFault(once(readBackOf("/platform"), func() {
		f.retag(f.repos[0]+":latest", foreign)
	}))
	return foreign
}

// retag points ref (through the proxy's address) at digest, directly on
// the registry.
func (f *fixture) retag(ref, digest string) {
	f.t.Helper()
	if err := registrytest.Tag(context.Background(), f.direct(ref), digest, f.server.Auth()); err != nil {
		f.t.Fatalf("retag: %v", err)
	}
}

// TestUnchangedTargetMovedByAnotherRun promotes a set where one image is
// already in place, so the run writes nothing there; another writer moves
// that tag meanwhile. Reading back only what was written would miss it.
func TestUnchangedTargetMovedByAnotherRun(t *testing.T) {
	f := newFixture(t, distribution, true)
	_, updated := f.seedProduction()
	f.retag(f.repos[0]+":latest", updated[0]) // platform is already promoted
	foreign := f.moveOnReadBack()

	rep, err := f.promoter(promote.Config{}).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
	if !errors.Is(err, promote.ErrMixedState) {
		t.Fatalf("err = %v, want ErrMixedState", err)
	}
	f.assertState(map[string]string{f.repos[0] + ":latest": foreign})
	assertConflict(t, rep, err, f.repos[0]+":latest", foreign, otherSHA)
}
