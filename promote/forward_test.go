package promote_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/molecule-ai/promote/internal/gittest"
	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// TestForwardOnlyFollowsTheHistory promotes commits of a git history with a
// side branch and a merge, in order: each step either moves every :latest
// to the commit's images, or is refused and leaves the registry as it was.
func TestForwardOnlyFollowsTheHistory(t *testing.T) {
	forEachBackend(t, false, func(t *testing.T, f *fixture) {
		// root - a - b ------ merge
		//         \          /
		//          c --------
		g := gittest.New(t)
		root := g.Commit()
		a := g.Commit(root)
		b := g.Commit(a)
		c := g.Commit(a)
		merge := g.Commit(b, c)
		for _, s := range []string{a, b, c, merge} {
			f.pushStaging(s)
		}
		p := f.promoter(promote.Config{})
		opts := promote.WriteOptions{ForwardOnly: history(t, g)}

		steps := []struct {
			name    string
			sha     string
			refused string // the commit :latest carries when refused
		}{
			{"first promotion, no :latest yet", a, ""},
			{"forward along a line", b[:7], ""},
			{"backwards along a line", a, b},
			{"to a side branch", c, b},
			{"to a merge of both", merge, ""},
			{"the same commit again", merge[:10], ""},
			{"back to the side branch", c[:7], merge},
		}
		for _, step := range steps {
			before := f.state("latest", "latest-previous")
			rep, err := p.Promote(context.Background(), sha(step.sha), opts)
			if step.refused == "" {
				if err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				for _, r := range f.repos {
					f.assertState(map[string]string{r + ":latest": f.digest(r + ":staging-" + step.sha[:7])})
				}
				continue
			}
			if !errors.Is(err, promote.ErrVerification) || rep.Result != promote.ResultFailed {
				t.Fatalf("%s: err = %v, result %s; want a verification failure", step.name, err, rep.Result)
			}
			for _, want := range []string{
				f.repos[0] + ":staging-" + step.sha[:7] + ": latest carries commit " + step.refused,
				f.repos[1] + ":staging-" + step.sha[:7] + ": latest carries commit " + step.refused,
				"and " + step.sha + " does not descend from it: promoting would move latest backwards",
				"use rollback to go back on purpose",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error lacks %q:\n%v", step.name, want, err)
				}
			}
			f.assertState(before)
		}

		// A rollback goes back on purpose: it never asks the history.
		if _, err := p.Rollback(context.Background(), sha(b), opts); err != nil {
			t.Fatalf("rollback to an older commit: %v", err)
		}
		for _, r := range f.repos {
			f.assertState(map[string]string{r + ":latest": f.digest(r + ":staging-" + b[:7])})
		}
	})
}

// TestForwardOnlyRefusesWhatItCannotCompare: a :latest whose commit cannot
// be placed in the history fails the promotion, and nothing moves.
func TestForwardOnlyRefusesWhatItCannotCompare(t *testing.T) {
	g := gittest.New(t)
	old := g.Commit()
	next := g.Commit(old)
	cases := []struct {
		name     string
		revision string // the label of :latest; "" pushes none
		want     string
	}{
		{"no revision label", "", ": latest carries no commit (no org.opencontainers.image.revision label or annotation)"},
		{"a revision that is no sha", "v1.4.2", `: latest carries revision "v1.4.2", which is not a commit sha`},
		{"a commit the history lacks", strings.Repeat("3", 40), "commit " + strings.Repeat("3", 40) + " is not in the git history at " + g.Dir},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backends[0], false)
			f.pushStaging(next)
			spec := registrytest.ImageSpec{Labels: map[string]string{}}
			if tc.revision != "" {
				spec.Labels["org.opencontainers.image.revision"] = tc.revision
			}
			for _, r := range f.repos {
				if _, err := registrytest.PushImage(context.Background(), f.direct(r)+":latest", spec, f.server.Auth()); err != nil {
					t.Fatal(err)
				}
			}
			before := f.state("latest", "latest-previous")
			p := f.promoter(promote.Config{})
			for _, dryRun := range []bool{true, false} {
				rep, err := p.Promote(context.Background(), sha(next), promote.WriteOptions{DryRun: dryRun, ForwardOnly: history(t, g)})
				if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), tc.want) || rep.Result != promote.ResultFailed {
					t.Fatalf("dry run %v: err = %v, want a verification failure containing %q", dryRun, err, tc.want)
				}
			}
			f.assertState(before)

			// Without the check, the same promotion goes through.
			if _, err := p.Promote(context.Background(), sha(next), promote.WriteOptions{}); err != nil {
				t.Fatalf("without forward-only: %v", err)
			}
		})
	}
}

// TestForwardOnlyReadsOnlyWhenAsked: the check reads each current target's
// config, and nothing when it is off.
func TestForwardOnlyReadsOnlyWhenAsked(t *testing.T) {
	g := gittest.New(t)
	old := g.Commit()
	next := g.Commit(old)
	f := newFixture(t, backends[0], true)
	f.pushStaging(next)
	for _, r := range f.repos {
		f.pushImage(r, "latest", old)
	}
	p := f.promoter(promote.Config{})
	for _, tc := range []struct {
		history    promote.History
		configGets int
	}{
		{nil, len(f.repos)},
		{history(t, g), 2 * len(f.repos)},
	} {
		f.proxy.Reset()
		if _, err := p.Promote(context.Background(), sha(next), promote.WriteOptions{DryRun: true, ForwardOnly: tc.history}); err != nil {
			t.Fatalf("Promote: %v", err)
		}
		if n := f.proxy.Count("GET", "/blobs/"); n != tc.configGets {
			t.Errorf("forward-only %v: %d blob reads, want %d", tc.history != nil, n, tc.configGets)
		}
	}
}

// TestForwardOnlyPassesOverAPlaceholder: a target left at a placeholder by
// a failed run counts as absent, so it carries no commit to compare with.
func TestForwardOnlyPassesOverAPlaceholder(t *testing.T) {
	b := backend{"distribution without deletes", func(t *testing.T) *registrytest.Server {
		return registrytest.Distribution(t, registrytest.WithoutDelete())
	}}
	f := newFixture(t, b, true)
	g := gittest.New(t)
	commit := g.Commit()
	updated := f.pushStaging(commit)
	f.proxy.SetFault(registrytest.Always(tenantLatestPut, registrytest.Reply(403)))
	if _, err := f.promoter(promote.Config{}).Promote(context.Background(), sha(commit), promote.WriteOptions{}); !errors.Is(err, promote.ErrMixedState) {
		t.Fatalf("the failing promotion: err = %v, want a placeholder left behind", err)
	}
	f.proxy.SetFault(nil)

	if _, err := f.promoter(promote.Config{}).Promote(context.Background(), sha(commit), promote.WriteOptions{ForwardOnly: history(t, g)}); err != nil {
		t.Fatalf("forward-only over a placeholder: %v", err)
	}
	for i, r := range f.repos {
		f.assertState(map[string]string{r + ":latest": updated[i]})
	}
}
