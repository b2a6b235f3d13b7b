package record

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestBatchListsNothingBeforeCommit writes a run's records as a batch:
// staged, nothing is listed; committed, every record is, on registries
// with and without the referrers API.
func TestBatchListsNothingBeforeCommit(t *testing.T) {
	for _, reg := range registries() {
		t.Run(reg.name, func(t *testing.T) {
			srv := reg.start(t)
			ctx := testContext(t)
			repo, err := name.NewRepository(srv.Repo("org/app"))
			if err != nil {
				t.Fatal(err)
			}
			A := pushSubject(t, ctx, repo, "staging-a")
			B := pushSubject(t, ctx, repo, "staging-b")
			r := connect(t, ctx, repo, nil)
			listing, err := r.List(ctx, A.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if listing.API == reg.fallback {
				t.Errorf("listing says referrers API %v on %s", listing.API, reg.name)
			}
			latest := recordOf(repo, ActionRollback, A.Digest, B.Digest, 5, "carol")
			stable := latest
			stable.Tag = TargetTag(repo.Tag("stable"))
			mark := latest
			mark.Action = ActionRolledBack
			var b Batch
			for _, w := range []struct {
				rec     Record
				subject v1.Descriptor
			}{{latest, A}, {stable, A}, {mark, B}} {
				if _, err := b.Add(r, w.rec, w.subject, listing.API); err != nil {
					t.Fatal(err)
				}
			}
			b.Prepare(ctx)
			b.Stage(ctx)
			if !listing.API {
				if l, err := r.List(ctx, A.Digest); err != nil || len(l.Records) != 0 {
					t.Errorf("staged records are listed: %+v, %v", l.Records, err)
				}
			}
			for k, err := range b.Commit(ctx) {
				if err != nil {
					t.Errorf("record %d: %v", k, err)
				}
			}
			b.Wait()
			for subject, want := range map[v1.Hash]int{A.Digest: 2, B.Digest: 1} {
				l, err := r.List(ctx, subject)
				if err != nil || len(l.Records) != want || len(l.Rejected) != 0 {
					t.Errorf("records of %s: %+v, rejected %v, err %v; want %d", subject, l.Records, l.Rejected, err, want)
				}
			}
			if _, ok := RolledBack(mustList(t, r, B.Digest), latest.Tag, B.Digest); !ok {
				t.Error("B is not rolled back from latest")
			}
		})
	}
}

// mustList lists the records of subject.
func mustList(t *testing.T, r *Repository, subject v1.Hash) []Record {
	t.Helper()
	l, err := r.List(testContext(t), subject)
	if err != nil {
		t.Fatal(err)
	}
	return l.Records
}
