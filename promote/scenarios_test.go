package promote_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// forEachBackend runs test against every kind of registry.
func forEachBackend(t *testing.T, proxied bool, test func(t *testing.T, f *fixture)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, newFixture(t, b, proxied))
		})
	}
}

func TestVerifyReportsEveryFailingImage(t *testing.T) {
	forEachBackend(t, false, func(t *testing.T, f *fixture) {
		p := f.promoter(promote.Config{})
		rep, err := p.Verify(context.Background(), sha(newSHA))
		if !errors.Is(err, promote.ErrVerification) {
			t.Fatalf("Verify of a commit never pushed: err = %v, want ErrVerification", err)
		}
		for _, r := range f.repos {
			if !strings.Contains(err.Error(), r+":staging-2222222: not found") {
				t.Errorf("error does not name %s:\n%v", r, err)
			}
		}
		if rep.Result != promote.ResultFailed || len(rep.Images) != 2 {
			t.Fatalf("report = %+v", rep)
		}

		f.pushStaging(newSHA)
		rep, err = p.Verify(context.Background(), sha(strings.ToUpper(newSHA)))
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		for i, img := range rep.Images {
			if img.Outcome != promote.OutcomeVerified || img.Revision != newSHA || img.Digest != f.digest(f.repos[i]+":staging-2222222") {
				t.Errorf("image %d = %+v", i, img)
			}
		}
	})
}

func TestVerifyChecksRevisionAndPlatforms(t *testing.T) {
	forEachBackend(t, false, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.pushImage(f.repos[0], "staging-2222222", newSHA)
		// The second repository's tag points at another commit's image.
		f.pushImage(f.repos[1], "staging-2222222", oldSHA)

		_, err := f.promoter(promote.Config{}).Verify(ctx, sha(newSHA))
		if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), "another commit") ||
			strings.Contains(err.Error(), f.repos[0]+":") {
			t.Fatalf("revision mismatch: err = %v", err)
		}
		// A short sha must start the revision.
		_, err = f.promoter(promote.Config{}).Verify(ctx, sha(newSHA[:7]))
		if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), "which does not start with 2222222") ||
			strings.Contains(err.Error(), f.repos[0]+":") {
			t.Fatalf("short sha of a mismatching revision: err = %v", err)
		}
		if _, err := f.promoter(promote.Config{Repositories: f.repos[:1]}).Verify(ctx, sha(newSHA[:7])); err != nil {
			t.Fatalf("short sha: %v", err)
		}

		_, err = f.promoter(promote.Config{Repositories: f.repos[:1], Platforms: []string{"linux/arm64"}}).Verify(ctx, sha(newSHA))
		if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), "platform linux/arm64 missing (has linux/amd64)") {
			t.Fatalf("missing platform: err = %v", err)
		}
		if _, err := f.promoter(promote.Config{Repositories: f.repos[:1], Platforms: []string{"linux/amd64"}}).Verify(ctx, sha(newSHA)); err != nil {
			t.Fatalf("present platform: %v", err)
		}
	})
}

func TestPromoteMovesEveryTagAndKeepsBackups(t *testing.T) {
	forEachBackend(t, true, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		old, updated := f.seedProduction()
		p := f.promoter(promote.Config{})

		f.proxy.Reset()
		rep, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{DryRun: true})
		if err != nil {
			t.Fatalf("dry run: %v", err)
		}
		if n := f.proxy.Count("PUT", "") + f.proxy.Count("DELETE", ""); n != 0 {
			t.Errorf("dry run made %d writes", n)
		}
		for _, img := range rep.Images {
			if img.Outcome != promote.OutcomeWouldChange {
				t.Errorf("dry run outcome = %s", img.Outcome)
			}
		}

		rep, err = p.Promote(ctx, sha(newSHA), promote.WriteOptions{})
		if err != nil {
			t.Fatalf("Promote: %v", err)
		}
		for i, r := range f.repos {
			f.assertState(map[string]string{
				r + ":latest":          updated[i],
				r + ":latest-previous": old[i],
				r + ":staging-2222222": updated[i],
			})
			img := rep.Images[i]
			if img.Outcome != promote.OutcomeChanged || img.Digest != updated[i] || img.PreviousDigest != old[i] {
				t.Errorf("entry %d = %+v", i, img)
			}
		}

		// A second run changes nothing and writes nothing.
		f.proxy.Reset()
		rep, err = p.Promote(ctx, sha(newSHA), promote.WriteOptions{})
		if err != nil {
			t.Fatalf("second Promote: %v", err)
		}
		if n := f.proxy.Count("PUT", ""); n != 0 {
			t.Errorf("second run made %d PUTs", n)
		}
		for _, img := range rep.Images {
			if img.Outcome != promote.OutcomeUnchanged {
				t.Errorf("second run outcome = %s", img.Outcome)
			}
		}
	})
}

func TestPromoteWithoutBackupAndToNewTags(t *testing.T) {
	forEachBackend(t, false, func(t *testing.T, f *fixture) {
		updated := f.pushStaging(newSHA)
		p := f.promoter(promote.Config{TargetTags: []string{"latest", "stable"}})
		if _, err := p.Promote(context.Background(), sha(newSHA), promote.WriteOptions{NoBackup: true}); err != nil {
			t.Fatalf("Promote: %v", err)
		}
		for i, r := range f.repos {
			f.assertState(map[string]string{
				r + ":latest": updated[i], r + ":stable": updated[i],
				r + ":latest-previous": "", r + ":stable-previous": "",
			})
		}
	})
}

func TestRollback(t *testing.T) {
	forEachBackend(t, false, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		old, updated := f.seedProduction()
		p := f.promoter(promote.Config{})

		if _, err := p.Rollback(ctx, promote.SHA{}, promote.WriteOptions{}); !errors.Is(err, promote.ErrVerification) ||
			!strings.Contains(err.Error(), "nothing to roll back to") {
			t.Fatalf("rollback without backups: err = %v", err)
		}
		if _, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{}); err != nil {
			t.Fatalf("Promote: %v", err)
		}
		if _, err := p.Rollback(ctx, promote.SHA{}, promote.WriteOptions{}); err != nil {
			t.Fatalf("Rollback: %v", err)
		}
		for i, r := range f.repos {
			f.assertState(map[string]string{r + ":latest": old[i], r + ":latest-previous": updated[i]})
		}
		// A second rollback undoes the first.
		if _, err := p.Rollback(ctx, promote.SHA{}, promote.WriteOptions{}); err != nil {
			t.Fatalf("second Rollback: %v", err)
		}
		for i, r := range f.repos {
			f.assertState(map[string]string{r + ":latest": updated[i], r + ":latest-previous": old[i]})
		}
		// Rolling back to a sha promotes its staging images.
		staged := f.state("staging-1111111")
		rep, err := p.Rollback(ctx, sha(oldSHA), promote.WriteOptions{})
		if err != nil {
			t.Fatalf("Rollback to %s: %v", oldSHA, err)
		}
		if rep.Action != "rollback" {
			t.Errorf("action = %q", rep.Action)
		}
		for _, r := range f.repos {
			f.assertState(map[string]string{r + ":latest": staged[r+":staging-1111111"]})
		}
	})
}

func TestStatus(t *testing.T) {
	forEachBackend(t, false, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p := f.promoter(promote.Config{})
		rep, err := p.Status(ctx)
		if !errors.Is(err, promote.ErrIncomplete) || rep.Result != promote.ResultIncomplete {
			t.Fatalf("Status of an empty registry: err = %v, result %s; want incomplete", err, rep.Result)
		}
		for _, img := range rep.Images {
			if img.Outcome != promote.OutcomeMissing || img.Detail != "the tag does not exist" {
				t.Errorf("empty registry: %+v", img)
			}
			if !strings.Contains(err.Error(), img.Target+": the tag does not exist") {
				t.Errorf("error does not name %s:\n%v", img.Target, err)
			}
		}
		old, updated := f.seedProduction()
		if _, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{}); err != nil {
			t.Fatalf("Promote: %v", err)
		}
		rep, err = p.Status(ctx)
		if err != nil || rep.Result != promote.ResultOK {
			t.Fatalf("Status: %v", err)
		}
		for i, img := range rep.Images {
			if img.Outcome != promote.OutcomeCurrent || img.Digest != updated[i] || img.PreviousDigest != old[i] ||
				img.Revision != newSHA || img.Created != imageCreated {
				t.Errorf("entry %d = %+v", i, img)
			}
		}
	})
}

// TestStatusIncomplete reads target tags that are in place, missing and
// unreadable: status fails with every tag that is not in place named, and
// why.
func TestStatusIncomplete(t *testing.T) {
	f := newFixture(t, distribution, true)
	ctx := context.Background()
	f.seedProduction()
	f.proxy.SetFault(registrytest.Always(registrytest.Match(http.MethodGet, "/platform-tenant/manifests/latest"), registrytest.Reply(http.StatusInternalServerError)))
	rep, err := f.promoter(promote.Config{TargetTags: []string{"latest", "stable"}}).Status(ctx)
	f.proxy.SetFault(nil)
	if !errors.Is(err, promote.ErrIncomplete) || rep.Result != promote.ResultIncomplete {
		t.Fatalf("err = %v, result %s; want incomplete", err, rep.Result)
	}
	want := map[string]promote.Outcome{
		f.repos[0] + ":latest": promote.OutcomeCurrent,
		f.repos[0] + ":stable": promote.OutcomeMissing,
		f.repos[1] + ":latest": promote.OutcomeFailed,
		f.repos[1] + ":stable": promote.OutcomeMissing,
	}
	for _, img := range rep.Images {
		if img.Outcome != want[img.Target] {
			t.Errorf("%s outcome = %s, want %s", img.Target, img.Outcome, want[img.Target])
		}
		named := strings.Contains(err.Error(), img.Target+": ")
		if named != (img.Outcome != promote.OutcomeCurrent) {
			t.Errorf("%s (%s) named in the error: %v\n%v", img.Target, img.Outcome, named, err)
		}
	}
	if !strings.Contains(err.Error(), "3 of 4 target tags are not in place") || !strings.Contains(err.Error(), "cannot read latest") {
		t.Errorf("error does not say what is not in place:\n%v", err)
	}
	if !strings.Contains(rep.Text(), "status: incomplete") || !strings.Contains(rep.Markdown(), "### promote status: incomplete") {
		t.Errorf("the rendered reports do not say incomplete:\n%s\n%s", rep.Text(), rep.Markdown())
	}
}

func TestPromoteMultiPlatformIndexIntact(t *testing.T) {
	forEachBackend(t, false, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		repo := f.repos[0]
		spec := registrytest.IndexSpec{Images: []registrytest.ImageSpec{
			{OS: "linux", Architecture: "amd64", Labels: map[string]string{"org.opencontainers.image.revision": newSHA}},
			{OS: "linux", Architecture: "arm64", Variant: "v8", Labels: map[string]string{"org.opencontainers.image.revision": newSHA}},
		}}
		d, err := registrytest.PushIndex(ctx, f.direct(repo)+":staging-2222222", spec, f.server.Auth())
		if err != nil {
			t.Fatal(err)
		}
		p := f.promoter(promote.Config{Repositories: []string{repo}, Platforms: []string{"linux/amd64", "linux/arm64"}})
		rep, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{})
		if err != nil {
			t.Fatalf("Promote: %v", err)
		}
		if got := f.digest(repo + ":latest"); got != d {
			t.Fatalf("latest = %s, want the index %s", got, d)
		}
		if got := strings.Join(rep.Images[0].Platforms, ","); got != "linux/amd64,linux/arm64/v8" {
			t.Errorf("platforms = %s", got)
		}
		for _, c := range f.indexChildren(repo + ":latest") {
			if f.digest(repo+"@"+c) != c {
				t.Errorf("child %s of the promoted index is not reachable", c)
			}
		}
	})
}

func TestPinnedDigestShipsWhenSourceIsRepushed(t *testing.T) {
	forEachBackend(t, false, func(t *testing.T, f *fixture) {
		verified := f.pushStaging(newSHA)
		var repushed []string
		hook := promote.WithAfterVerify(func(context.Context) {
			for _, r := range f.repos {
				repushed = append(repushed, f.pushImage(r, "staging-2222222", newSHA))
			}
		})
		if _, err := f.promoter(promote.Config{}, hook).Promote(context.Background(), sha(newSHA), promote.WriteOptions{}); err != nil {
			t.Fatalf("Promote: %v", err)
		}
		for i, r := range f.repos {
			if repushed[i] == verified[i] {
				t.Fatal("the re-push did not change the source tag")
			}
			f.assertState(map[string]string{r + ":latest": verified[i], r + ":staging-2222222": repushed[i]})
		}
	})
}
