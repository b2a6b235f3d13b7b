package promote_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// manifestHead matches every HEAD of a manifest.
func manifestHead(r *http.Request) bool {
	return r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/")
}

// TestRegistriesWithoutManifestHead promotes through registries whose
// manifest HEAD is refused or does not say the digest: every tag is read
// back with GET instead, so a good promotion succeeds and a failed one is
// reported as put back, not as mixed.
func TestRegistriesWithoutManifestHead(t *testing.T) {
	heads := map[string]registrytest.Fault{
		"HEAD answers 405":                 registrytest.Reply(http.StatusMethodNotAllowed),
		"HEAD omits Docker-Content-Digest": registrytest.StripHeader("Docker-Content-Digest"),
	}
	for name, fault := range heads {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, distribution, true)
			old, updated := f.seedProduction()
			before := f.state("latest", "latest-previous")

			f.proxy.SetFault(registrytest.Rules(
				registrytest.Always(manifestHead, fault),
				registrytest.Always(tenantLatestPut, registrytest.Reply(403)),
			))
			rep, err := f.promoter(promote.Config{}).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
			if !errors.Is(err, promote.ErrNotPromoted) || rep.Result != promote.ResultFailed {
				t.Fatalf("failing promotion: err = %v, result %s; want not promoted", err, rep.Result)
			}
			f.assertState(before)
			for _, img := range rep.Images {
				for _, ts := range img.Tags {
					if ts.Unknown {
						t.Errorf("%s reported unknown: %+v", ts.Tag, ts)
					}
				}
			}

			f.proxy.SetFault(registrytest.Always(manifestHead, fault))
			if _, err := f.promoter(promote.Config{}).Promote(context.Background(), sha(newSHA), promote.WriteOptions{}); err != nil {
				t.Fatalf("promotion: %v", err)
			}
			for i, r := range f.repos {
				f.assertState(map[string]string{r + ":latest": updated[i], r + ":latest-previous": old[i]})
			}
		})
	}
}

// TestPlaceholderCountsAsAbsent leaves placeholders behind on a registry
// that refuses deletes, then checks that no later operation treats one as
// an image: it is never backed up, never rolled back to, and status shows
// it for what it is.
func TestPlaceholderCountsAsAbsent(t *testing.T) {
	b := backend{"distribution without deletes", func(t *testing.T) *registrytest.Server {
		return registrytest.Distribution(t, registrytest.WithoutDelete())
	}}
	f := newFixture(t, b, true)
	ctx := context.Background()
	updated := f.pushStaging(newSHA)
	platformLatest := f.repos[0] + ":latest"

	// A first promotion fails: platform:latest did not exist, and is left
	// at a placeholder.
	f.proxy.SetFault(registrytest.Always(tenantLatestPut, registrytest.Reply(403)))
	rep, err := f.promoter(promote.Config{}).Promote(ctx, sha(newSHA), promote.WriteOptions{})
	f.proxy.SetFault(nil)
	if !errors.Is(err, promote.ErrMixedState) || !strings.Contains(err.Error(), "placeholder") || strings.Contains(err.Error(), "put back, and the registry is as before") {
		t.Fatalf("err = %v, want mixed, naming the placeholder", err)
	}
	placeholder := f.digest(platformLatest)
	if placeholder == "" || placeholder == updated[0] {
		t.Fatalf("%s = %q, want a placeholder", platformLatest, placeholder)
	}
	if rep.Images[0].Outcome != promote.OutcomeFailed {
		t.Errorf("entry = %+v", rep.Images[0])
	}

	// Status shows it as a placeholder, not as an image, and is incomplete.
	rep, err = f.promoter(promote.Config{}).Status(ctx)
	if !errors.Is(err, promote.ErrIncomplete) || rep.Result != promote.ResultIncomplete ||
		!strings.Contains(err.Error(), platformLatest+": placeholder (left by a failed run)") {
		t.Fatalf("status err = %v, want incomplete naming the placeholder", err)
	}
	if img := rep.Images[0]; img.Outcome != promote.OutcomeMissing || !strings.Contains(img.Detail, "placeholder (left by a failed run)") || img.Digest != "" {
		t.Errorf("status entry = %+v", img)
	}

	// Rolling back finds nothing to roll back to.
	before := f.state("latest", "latest-previous")
	_, err = f.promoter(promote.Config{}).Rollback(ctx, promote.SHA{}, promote.WriteOptions{})
	if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), "nothing to roll back to") {
		t.Fatalf("rollback err = %v, want nothing to roll back to", err)
	}
	f.assertState(before)

	// The next promotion replaces the placeholder and does not back it up.
	if _, err := f.promoter(promote.Config{}).Promote(ctx, sha(newSHA), promote.WriteOptions{}); err != nil {
		t.Fatalf("promote: %v", err)
	}
	f.assertState(map[string]string{platformLatest: updated[0], platformLatest + "-previous": ""})

	// A failed promotion that leaves latest-previous at a placeholder: a
	// rollback must not move production onto it.
	third := f.pushStaging(otherSHA)
	f.proxy.SetFault(registrytest.Always(tenantLatestPut, registrytest.Reply(403)))
	_, err = f.promoter(promote.Config{}).Promote(ctx, sha(otherSHA), promote.WriteOptions{})
	f.proxy.SetFault(nil)
	if !errors.Is(err, promote.ErrMixedState) {
		t.Fatalf("err = %v, want mixed", err)
	}
	if d := f.digest(platformLatest + "-previous"); d == "" || d == updated[0] || d == third[0] {
		t.Fatalf("%s-previous = %q, want a placeholder", platformLatest, d)
	}
	before = f.state("latest", "latest-previous")
	_, err = f.promoter(promote.Config{}).Rollback(ctx, promote.SHA{}, promote.WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), "latest-previous is a placeholder left by a failed run") {
		t.Fatalf("rollback err = %v, want the placeholder named", err)
	}
	f.assertState(before)
}

// TestRevisionCheckCoversEveryChild verifies multi-platform images whose
// children disagree, and images without a revision: every child with a
// label must name the commit, a failed entry keeps what was read, and an
// image without a label says that its revision was not checked.
func TestRevisionCheckCoversEveryChild(t *testing.T) {
	f := newFixture(t, backends[0], false)
	ctx := context.Background()
	labelled := func(s string) map[string]string { return map[string]string{"org.opencontainers.image.revision": s} }
	spec := registrytest.IndexSpec{Images: []registrytest.ImageSpec{
		{OS: "linux", Architecture: "amd64", Labels: labelled(newSHA)},
		{OS: "linux", Architecture: "arm64", Labels: labelled(otherSHA)},
		{OS: "linux", Architecture: "s390x"},
	}}
	if _, err := registrytest.PushIndex(ctx, f.direct(f.repos[0])+":staging-2222222", spec, f.server.Auth()); err != nil {
		t.Fatal(err)
	}
	if _, err := registrytest.PushImage(ctx, f.direct(f.repos[1])+":staging-2222222", registrytest.ImageSpec{}, f.server.Auth()); err != nil {
		t.Fatal(err)
	}

	rep, err := f.promoter(promote.Config{}).Verify(ctx, sha(newSHA))
	if !errors.Is(err, promote.ErrVerification) {
		t.Fatalf("err = %v, want a verification failure", err)
	}
	if !strings.Contains(err.Error(), "its linux/arm64 image's revision is "+otherSHA) || strings.Contains(err.Error(), "linux/amd64 image") {
		t.Errorf("error does not name the disagreeing child alone:\n%v", err)
	}
	failed := rep.Images[0]
	if failed.Outcome != promote.OutcomeFailed || len(failed.Platforms) != 3 || failed.Digest == "" {
		t.Errorf("failed entry lost what was read: %+v", failed)
	}
	if unlabelled := rep.Images[1]; unlabelled.Outcome != promote.OutcomeVerified || unlabelled.Detail != "revision not checked (no label)" {
		t.Errorf("unlabelled entry = %+v", unlabelled)
	}
	// A short sha is checked as well, and the note says when it could not be.
	rep, _ = f.promoter(promote.Config{Repositories: f.repos[1:]}).Verify(ctx, sha(newSHA[:7]))
	if d := rep.Images[0].Detail; d != "revision not checked (no label)" {
		t.Errorf("short sha detail = %q", d)
	}
	_, err = f.promoter(promote.Config{Repositories: f.repos[:1]}).Verify(ctx, sha(newSHA[:12]))
	if err == nil || !strings.Contains(err.Error(), "its linux/arm64 image's revision is "+otherSHA+", which does not start with "+newSHA[:12]) {
		t.Errorf("short sha of a mismatching child: err = %v", err)
	}
}

// TestShortSHAMustStartTheRevision verifies with a short sha that another
// commit's label does not start: the image is refused, whatever the length.
func TestShortSHAMustStartTheRevision(t *testing.T) {
	f := newFixture(t, distribution, false)
	ctx := context.Background()
	for _, r := range f.repos {
		f.pushImage(r, "staging-e4eafd5", "ff3ca2011111111111111111111111111111111f")
	}
	p := f.promoter(promote.Config{SourceTag: "staging-e4eafd5"})
	for _, short := range []string{"e4eafd5", "e4eafd5aaaaa"} {
		rep, err := p.Verify(ctx, sha(short))
		if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), "its revision is ff3ca2011111111111111111111111111111111f, which does not start with "+short) {
			t.Errorf("verify --sha %s: err = %v, want a revision mismatch", short, err)
		}
		if rep == nil || rep.Result != promote.ResultFailed {
			t.Errorf("verify --sha %s: report = %+v", short, rep)
		}
	}
	if _, err := p.Verify(ctx, sha("ff3ca20")); err != nil {
		t.Errorf("a short sha that starts the revision: %v", err)
	}
}

// TestRevisionCheckCoversChildrenWithoutPlatform pushes indexes whose image
// children carry no platform field: their revision labels are checked, and
// an index whose only label is on such a child is not said to have none.
func TestRevisionCheckCoversChildrenWithoutPlatform(t *testing.T) {
	f := newFixture(t, backends[0], false)
	ctx := context.Background()
	push := func(repo, revision string) {
		t.Helper()
		placed, err := registrytest.NewImage(registrytest.ImageSpec{})
		if err != nil {
			t.Fatal(err)
		}
		unplaced, err := registrytest.NewImage(registrytest.ImageSpec{Labels: map[string]string{"org.opencontainers.image.revision": revision}})
		if err != nil {
			t.Fatal(err)
		}
		idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
			mutate.IndexAddendum{Add: placed, Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
			mutate.IndexAddendum{Add: unplaced, Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1}})
		ref, err := name.ParseReference(f.direct(repo) + ":staging-2222222")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx)); err != nil {
			t.Fatal(err)
		}
	}
	push(f.repos[0], oldSHA)
	push(f.repos[1], newSHA)

	for _, s := range []string{newSHA, newSHA[:7]} {
		rep, err := f.promoter(promote.Config{}).Verify(ctx, sha(s))
		if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), "image's revision is "+oldSHA) {
			t.Fatalf("sha %s: err = %v, want the platform-less child's revision named", s, err)
		}
		if strings.Contains(err.Error(), f.repos[1]+":") {
			t.Errorf("sha %s: the matching index fails too:\n%v", s, err)
		}
		if ok := rep.Images[1]; ok.Outcome != promote.OutcomeVerified || ok.Detail != "" {
			t.Errorf("sha %s: matching entry = %+v, want verified without a note", s, ok)
		}
	}
}

// TestStalledRegistryEndsInTime stalls one tag write far beyond the
// operation's bounds: the call must end within them, with the tags that
// moved put back.
func TestStalledRegistryEndsInTime(t *testing.T) {
	const stall = 30 * time.Second
	cases := map[string]promote.Option{
		"operation timeout": promote.WithTimeout(time.Second),
		// Long enough that a loaded machine answers every other request in
		// time; the stalled one is retried, and each try times out.
		"response timeout": promote.WithResponseTimeout(2 * time.Second),
	}
	for name, opt := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, distribution, true)
			f.seedProduction()
			before := f.state("latest", "latest-previous")
			f.proxy.SetFault(registrytest.Always(tenantLatestPut, registrytest.StallRequest(stall)))

			start := time.Now()
			rep, err := f.promoter(promote.Config{}, opt).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
			took := time.Since(start)
			f.proxy.SetFault(nil)
			if took > stall/2 {
				t.Fatalf("the call took %s: it waited for the stalled registry", took)
			}
			if !errors.Is(err, promote.ErrNotPromoted) || rep.Result != promote.ResultFailed {
				t.Fatalf("err = %v, want not promoted with every tag put back", err)
			}
			f.assertState(before)
		})
	}
}
