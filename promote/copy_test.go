package promote_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/internal/sigstoretest"
	"github.com/molecule-ai/promote/promote"
)

// TestCopyAcrossRegistries promotes a signed set of multi-platform images
// from one registry to another and reads the destination back: the same
// digests, every blob, the referrers with their subject, the classic tags,
// and the target tags. A second run finds everything there and uploads no
// blob.
func TestCopyAcrossRegistries(t *testing.T) {
	cases := []struct {
		name     string
		src, dst func(*testing.T) *registrytest.Server
	}{
		{"distribution to distribution", distributionRegistry, distributionRegistry},
		{"referrers API to referrers API", referrersRegistry, referrersRegistry},
		{"referrers API to distribution", referrersRegistry, distributionRegistry},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newCrossFixture(t, tc.src, tc.dst)
			want := f.seed(newSHA)

			var mu sync.Mutex
			var progress []promote.CopyProgress
			ended := make(chan struct{})
			p := f.promoter(f.config(), promote.WithCopyProgress(func(cp promote.CopyProgress) {
				mu.Lock()
				progress = append(progress, cp)
				mu.Unlock()
				if cp.Done {
					close(ended)
				}
			}))

			dry, err := p.Promote(context.Background(), sha(newSHA), promote.WriteOptions{DryRun: true})
			if err != nil {
				t.Fatalf("dry run: %v", err)
			}
			if uploads(f.dst.proxy) != 0 || f.dst.proxy.Count(http.MethodPut, "/manifests/") != 0 {
				t.Fatal("the dry run wrote to the destination")
			}
			for i, cp := range dry.Copies {
				// Per image: index + 2 children + referrer + 2 classic tags;
				// 2 configs + 4 layers, and a config and a layer for each of
				// the 3 artifacts.
				if cp.Outcome != promote.CopyWouldCopy || cp.Manifests != 6 || cp.Blobs != 12 || cp.Bytes < 4*layerSize {
					t.Errorf("dry run copy %d = %+v", i, cp)
				}
			}

			rep, err := p.Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
			if err != nil {
				t.Fatalf("Promote: %v", err)
			}
			for i, dst := range f.dests {
				if got := f.dst.digest(dst + ":latest"); got != want[i].digest {
					t.Errorf("%s:latest = %q, want %s", dst, got, want[i].digest)
				}
				f.assertCopied(dst, want[i])
				if got := f.src.digest(f.sources[i] + ":latest"); got != "" {
					t.Errorf("the source %s:latest was written: %s", f.sources[i], got)
				}
			}
			if len(rep.Copies) != 2 {
				t.Fatalf("report copies = %+v", rep.Copies)
			}
			for _, cp := range rep.Copies {
				if cp.Outcome != promote.CopyCopied || cp.BlobsCopied != cp.Blobs || cp.ManifestsCopied != cp.Manifests || len(cp.Referrers) != 1 || len(cp.SignatureTags) != 2 {
					t.Errorf("copy = %+v", cp)
				}
			}
			select {
			case <-ended:
			case <-time.After(10 * time.Second):
				t.Fatal("the last progress call, with Done set, never came")
			}
			mu.Lock()
			last := progress[len(progress)-1]
			mu.Unlock()
			if !last.Done || last.ImagesDone != 2 || last.BytesDone != last.Bytes || last.Bytes < 8*layerSize {
				t.Errorf("last progress = %+v", last)
			}

			f.dst.proxy.Reset()
			calls := len(progress)
			again, err := p.Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
			if err != nil {
				t.Fatalf("second Promote: %v", err)
			}
			mu.Lock()
			if n := len(progress) - calls; n != 0 {
				t.Errorf("the second run, with nothing to copy, reported progress %d times", n)
			}
			mu.Unlock()
			if n := uploads(f.dst.proxy); n != 0 {
				t.Errorf("the second run uploaded %d blobs", n)
			}
			if n := f.dst.proxy.Count(http.MethodPut, "/manifests/"); n != 0 {
				t.Errorf("the second run wrote %d manifests", n)
			}
			for _, cp := range again.Copies {
				if cp.Outcome != promote.CopyPresent {
					t.Errorf("second run copy = %+v", cp)
				}
			}
			for _, img := range again.Images {
				if img.Outcome != promote.OutcomeUnchanged {
					t.Errorf("second run %s = %s", img.Target, img.Outcome)
				}
			}
		})
	}
}

// TestCopyWithinRegistryMounts promotes to other repositories of the same
// registry: every blob is mounted, none is streamed.
func TestCopyWithinRegistryMounts(t *testing.T) {
	t.Parallel()
	f := newCrossFixture(t, distributionRegistry, nil)
	want := f.seed(newSHA)
	rep, err := f.promoter(f.config()).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
	if err != nil {
		t.Fatalf("Promote: %v", err)
	}
	for i, dst := range f.dests {
		f.assertCopied(dst, want[i])
	}
	if n := uploads(f.src.proxy); n != 0 {
		t.Errorf("%d blobs were streamed instead of mounted", n)
	}
	for _, cp := range rep.Copies {
		if cp.Mounted != cp.Blobs || cp.Blobs == 0 {
			t.Errorf("copy = %+v, want every blob mounted", cp)
		}
	}
}

// TestCopyFaults injects faults in front of the destination while images
// are copied: a transient failure is retried; a lasting one moves no tag,
// and the report says what was copied.
func TestCopyFaults(t *testing.T) {
	blobUpload := registrytest.Match(http.MethodPut, "/blobs/uploads/")
	manifestByDigest := registrytest.Match(http.MethodPut, "/manifests/sha256:")
	cases := []struct {
		name     string
		fault    registrytest.FaultFunc
		promoted bool
	}{
		{"a blob upload fails once", registrytest.Nth(blobUpload, 1, registrytest.Reply(500)), true},
		{"a blob upload's connection drops once", registrytest.Nth(blobUpload, 2, registrytest.DropRequest()), true},
		{"a blob upload fails for good", registrytest.Always(registrytest.Match(http.MethodPut, "/worker/blobs/uploads/"), registrytest.Reply(500)), false},
		{"a manifest PUT is refused", registrytest.Always(manifestByDigest, registrytest.Reply(403)), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newCrossFixture(t, distributionRegistry, distributionRegistry)
			want := f.seed(newSHA)
			f.dst.proxy.SetFault(tc.fault)
			rep, err := f.promoter(f.config()).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
			f.dst.proxy.SetFault(nil)
			if !slices.ContainsFunc(f.dst.proxy.Requests(), func(r registrytest.Request) bool { return r.Fault.Kind != registrytest.FaultPass }) {
				t.Fatal("the fault was never injected")
			}
			if tc.promoted {
				if err != nil {
					t.Fatalf("Promote: %v", err)
				}
				for i, dst := range f.dests {
					f.assertCopied(dst, want[i])
				}
				return
			}
			if !errors.Is(err, promote.ErrNotPromoted) {
				t.Fatalf("err = %v, want ErrNotPromoted", err)
			}
			for _, dst := range f.dests {
				for _, tag := range []string{"latest", "latest-previous"} {
					if got := f.dst.digest(dst + ":" + tag); got != "" {
						t.Errorf("%s:%s moved to %s although the copy failed", dst, tag, got)
					}
				}
			}
			if f.dst.proxy.Count(http.MethodPut, "/manifests/latest") != 0 {
				t.Error("a target tag was written although the copy failed")
			}
			if !strings.Contains(err.Error(), "no tag moved") {
				t.Errorf("error does not say that no tag moved: %v", err)
			}
			failed := slices.IndexFunc(rep.Copies, func(cp promote.Copy) bool { return cp.Outcome == promote.CopyFailed })
			if failed < 0 {
				t.Fatalf("no failed copy in the report: %+v", rep.Copies)
			}
			if cp := rep.Copies[failed]; cp.Detail == "" || !strings.Contains(rep.Text(), "copied") {
				t.Errorf("failed copy = %+v\n%s", cp, rep.Text())
			}
			// No tag moved: nothing is said to be restored, an image whose
			// copy failed failed, and only what the destination holds is
			// listed as carried.
			for k, cp := range rep.Copies {
				wantOutcome := promote.OutcomeVerified
				if cp.Outcome == promote.CopyFailed {
					wantOutcome = promote.OutcomeFailed
				}
				if img := rep.Images[k]; img.Outcome != wantOutcome {
					t.Errorf("%s outcome = %s, want %s", img.Target, img.Outcome, wantOutcome)
				}
				repo, err := name.NewRepository(f.dst.direct(f.dests[k]))
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range cp.Referrers {
					if _, err := remote.Head(repo.Digest(d)); err != nil {
						t.Errorf("copies[%d].referrers lists %s, which the destination does not hold: %v", k, d, err)
					}
				}
			}
			if strings.Contains(rep.Text(), "restored") || strings.Contains(rep.Markdown(), "restored") {
				t.Errorf("the report speaks of a restore although no tag moved:\n%s", rep.Text())
			}
		})
	}
}

// TestUploadServerErrorIsNoRefusal answers 500 to every blob-upload POST
// of the destination: the error says the server failed, not that push
// access is missing.
func TestUploadServerErrorIsNoRefusal(t *testing.T) {
	t.Parallel()
	f := newCrossFixture(t, distributionRegistry, distributionRegistry)
	f.seed(newSHA)
	f.dst.proxy.SetFault(registrytest.Always(registrytest.Match(http.MethodPost, "/blobs/uploads/"), registrytest.Reply(http.StatusInternalServerError)))
	_, err := f.promoter(f.config()).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
	f.dst.proxy.SetFault(nil)
	if f.dst.proxy.Count(http.MethodPost, "/blobs/uploads/") == 0 {
		t.Fatal("the fault was never injected")
	}
	if !errors.Is(err, promote.ErrVerification) || strings.Contains(err.Error(), "no push access") ||
		!strings.Contains(err.Error(), "failed to start a blob upload with a server error (HTTP 500)") {
		t.Fatalf("err = %v, want a server error, not a refusal", err)
	}
	for _, dst := range f.dests {
		if got := f.dst.digest(dst + ":latest"); got != "" {
			t.Errorf("%s:latest = %s, want absent", dst, got)
		}
	}
}

// TestCopyThenTagFaults injects the tag-moving faults of a same-repository
// promotion on the destination repositories: the tags there are put back,
// and another writer's move is left alone.
func TestCopyThenTagFaults(t *testing.T) {
	t.Run("a destination target PUT fails", func(t *testing.T) {
		t.Parallel()
		f := newCrossFixture(t, distributionRegistry, distributionRegistry)
		old := f.seed(oldSHA)
		if _, err := f.promoter(f.config()).Promote(context.Background(), sha(oldSHA), promote.WriteOptions{}); err != nil {
			t.Fatalf("first Promote: %v", err)
		}
		f.seed(newSHA)
		f.dst.proxy.SetFault(registrytest.Always(registrytest.Match(http.MethodPut, "/prod/worker/manifests/latest"), registrytest.Reply(500)))
		_, err := f.promoter(f.config()).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
		f.dst.proxy.SetFault(nil)
		if !errors.Is(err, promote.ErrNotPromoted) {
			t.Fatalf("err = %v, want ErrNotPromoted", err)
		}
		for i, dst := range f.dests {
			if got := f.dst.digest(dst + ":latest"); got != old[i].digest {
				t.Errorf("%s:latest = %s, want it put back at %s", dst, got, old[i].digest)
			}
		}
	})
	t.Run("another run moves a destination tag before the restore", func(t *testing.T) {
		t.Parallel()
		f := newCrossFixture(t, distributionRegistry, distributionRegistry)
		f.seed(newSHA)
		other := f.seedOne(f.dst.direct(f.dests[0]), oldSHA)
		hook := promote.WithBeforeRestore(func(ctx context.Context) {
			if err := registrytest.Tag(ctx, f.dst.direct(f.dests[0])+":latest", other.digest, nil); err != nil {
				t.Errorf("moving the tag as another run: %v", err)
			}
		})
		f.dst.proxy.SetFault(registrytest.Always(registrytest.Match(http.MethodPut, "/prod/worker/manifests/latest"), registrytest.Reply(500)))
		rep, err := f.promoter(f.config(), hook).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
		f.dst.proxy.SetFault(nil)
		if !errors.Is(err, promote.ErrMixedState) {
			t.Fatalf("err = %v, want ErrMixedState", err)
		}
		if got := f.dst.digest(f.dests[0] + ":latest"); got != other.digest {
			t.Errorf("the other run's tag was undone: %s:latest = %s", f.dests[0], got)
		}
		if rep.Images[0].Outcome != promote.OutcomeConflict {
			t.Errorf("outcome = %s, want conflict", rep.Images[0].Outcome)
		}
	})
}

// TestCopyRefusedDestination promotes to a registry that refuses pushes:
// the image is named, and nothing is written anywhere.
func TestCopyRefusedDestination(t *testing.T) {
	t.Parallel()
	f := newCrossFixture(t, distributionRegistry, func(t *testing.T) *registrytest.Server {
		return registrytest.Distribution(t, registrytest.WithReadOnly())
	})
	f.seed(newSHA)
	for _, op := range []string{"verify", "promote"} {
		p := f.promoter(f.config())
		var err error
		if op == "verify" {
			_, err = p.Verify(context.Background(), sha(newSHA))
		} else {
			_, err = p.Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
		}
		if !errors.Is(err, promote.ErrVerification) {
			t.Fatalf("%s err = %v, want ErrVerification", op, err)
		}
		for _, s := range f.sources {
			if !strings.Contains(err.Error(), s) || !strings.Contains(err.Error(), "no push access") {
				t.Errorf("%s error does not name %s and the refusal: %v", op, s, err)
			}
		}
	}
	for _, p := range []*registrytest.Proxy{f.src.proxy, f.dst.proxy} {
		for _, req := range p.Requests() {
			if req.Method == http.MethodPut || req.Method == http.MethodPatch {
				t.Errorf("%s %s was sent", req.Method, req.Path)
			}
		}
	}
}

// TestCopiedSignaturesVerifyAtTheDestination promotes CI-signed images
// across registries under a signature policy: the signatures are checked at
// the source before the copy, and status finds them verifying at the
// destination, in either scheme.
func TestCopiedSignaturesVerifyAtTheDestination(t *testing.T) {
	cases := []struct {
		name     string
		src, dst func(*testing.T) *registrytest.Server
		classic  bool
		foundIn  string
	}{
		{"bundles as referrers, to a registry without the referrers API", referrersRegistry, distributionRegistry, false, "referrers "},
		{"cosign's classic tags", distributionRegistry, distributionRegistry, true, "cosign-sig-tag "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newCrossFixture(t, tc.src, tc.dst)
			sg := newSigning(t)
			ci := sg.sigs.Keyless(sg.ci)
			digests := make([]string, len(f.sources))
			for i, repo := range f.sources {
				direct := f.src.direct(repo)
				spec := registrytest.ImageSpec{Labels: map[string]string{"org.opencontainers.image.revision": newSHA}}
				digests[i] = must(registrytest.PushImage(ctx, direct+":staging-"+newSHA[:7], spec, nil))
				statement := sg.provenance(repo, digests[i], newSHA)
				var err error
				if tc.classic {
					err = errors.Join(
						sigstoretest.AttachClassic(ctx, direct+"@"+digests[i], ".sig", []sigstoretest.Layer{must(ci.ClassicSignature(repo, digests[i]))}),
						sigstoretest.AttachClassic(ctx, direct+"@"+digests[i], ".att", []sigstoretest.Layer{must(ci.ClassicAttestation(statement))}))
				} else {
					err = sigstoretest.AttachBundle(ctx, direct+"@"+digests[i], must(ci.AttestationBundle(statement)), sigstoretest.SLSAProvenanceV1)
				}
				if err != nil {
					t.Fatalf("signing %s: %v", repo, err)
				}
			}
			p := f.promoter(f.config(), promote.WithSignaturePolicy(sg.keyless(true)))
			if _, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{}); err != nil {
				t.Fatalf("Promote: %v", err)
			}
			rep, err := p.Status(ctx)
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			for i, img := range rep.Images {
				s := img.Signature
				if img.Digest != digests[i] || s == nil || s.Identity != ciIdentity || s.Provenance == nil || s.Provenance.Commit != newSHA ||
					!strings.HasPrefix(s.FoundIn, tc.foundIn+f.dests[i]) {
					t.Errorf("status of %s = %+v, signature %+v", f.dests[i], img, s)
				}
			}
		})
	}
}

// TestMissingSourceOnTheSourcesLine promotes to destinations a commit
// whose source tag is missing: every report names the source as what
// failed, not the destination's target tag.
func TestMissingSourceOnTheSourcesLine(t *testing.T) {
	t.Parallel()
	f := newCrossFixture(t, referrersRegistry, referrersRegistry)
	f.seedOne(f.src.direct(f.sources[0]), newSHA)
	rep, err := f.promoter(f.config()).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
	if !errors.Is(err, promote.ErrVerification) {
		t.Fatalf("err = %v, want a verification failure", err)
	}
	missing := f.sources[1] + ":staging-2222222"
	text, md := rep.Text(), rep.Markdown()
	if !strings.Contains(text, "failed       "+missing+" - not found") || !strings.Contains(md, "| `"+missing+"` | failed |") {
		t.Errorf("the missing source is not on its own line:\n%s\n%s", text, md)
	}
	if strings.Contains(text, f.dests[1]+":latest - not found") || strings.Contains(md, "`"+f.dests[1]+":latest`") {
		t.Errorf("the missing source is reported on the destination's line:\n%s\n%s", text, md)
	}
	if img := rep.Images[1]; img.Reference() != missing || img.Target != f.dests[1]+":latest" {
		t.Errorf("entry = %+v", img)
	}
}
