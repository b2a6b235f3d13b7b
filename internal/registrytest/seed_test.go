package registrytest

import (
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const revisionLabel = "org.opencontainers.image.revision"

func TestPushImage(t *testing.T) {
	t.Parallel()
	srv := Distribution(t)
	ref := srv.Repo("app") + ":staging-abc"
	spec := ImageSpec{OS: "linux", Architecture: "arm64", Variant: "v8", Labels: map[string]string{revisionLabel: "abc"}}
	digest, err := PushImage(testContext(t), ref, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustDigest(t, ref, nil); got != digest {
		t.Errorf("Digest = %s, want %s", got, digest)
	}

	img := remoteImage(t, ref)
	if mt, err := img.MediaType(); err != nil || mt != types.OCIManifestSchema1 {
		t.Errorf("media type = %s, %v; want %s", mt, err, types.OCIManifestSchema1)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "arm64" || cfg.Variant != "v8" {
		t.Errorf("platform = %s/%s/%s, want linux/arm64/v8", cfg.OS, cfg.Architecture, cfg.Variant)
	}
	if got := cfg.Config.Labels[revisionLabel]; got != "abc" {
		t.Errorf("revision label = %q, want abc", got)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v; want 1", len(layers), err)
	}

	again, err := PushImage(testContext(t), ref, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again == digest {
		t.Errorf("two pushes of the same spec gave the same digest %s", digest)
	}
}

func TestPushImageDefaultsPlatform(t *testing.T) {
	t.Parallel()
	srv := InProcess(t)
	ref := srv.Repo("app") + ":v1"
	if _, err := PushImage(testContext(t), ref, ImageSpec{}, nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := remoteImage(t, ref).ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("platform = %s/%s, want linux/amd64", cfg.OS, cfg.Architecture)
	}
}

func TestPushIndex(t *testing.T) {
	t.Parallel()
	srv := Distribution(t)
	ref := srv.Repo("app") + ":staging-abc"
	spec := IndexSpec{
		Images: []ImageSpec{
			{OS: "linux", Architecture: "amd64", Labels: map[string]string{revisionLabel: "abc"}},
			{OS: "linux", Architecture: "arm64", Variant: "v8", Labels: map[string]string{revisionLabel: "abc"}},
		},
		Annotations: map[string]string{revisionLabel: "abc"},
	}
	digest, err := PushIndex(testContext(t), ref, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustDigest(t, ref, nil); got != digest {
		t.Errorf("Digest = %s, want %s", got, digest)
	}

	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r, remote.WithContext(testContext(t)))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex {
		t.Errorf("media type = %s, want %s", im.MediaType, types.OCIImageIndex)
	}
	if got := im.Annotations[revisionLabel]; got != "abc" {
		t.Errorf("index annotation = %q, want abc", got)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("index has %d manifests, want 2", len(im.Manifests))
	}
	for i, desc := range im.Manifests {
		want := spec.Images[i].platform()
		if desc.Platform == nil || !desc.Platform.Equals(want) {
			t.Errorf("manifest %d platform = %v, want %v", i, desc.Platform, want)
		}
		child := remoteImage(t, srv.Repo("app")+"@"+desc.Digest.String())
		cfg, err := child.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Architecture != want.Architecture || cfg.Config.Labels[revisionLabel] != "abc" {
			t.Errorf("child %d: architecture %s, labels %v", i, cfg.Architecture, cfg.Config.Labels)
		}
	}
}

func TestDigestAbsent(t *testing.T) {
	t.Parallel()
	srv := Distribution(t)
	assertAbsent(t, srv.Repo("never-pushed")+":latest", nil)
	if _, err := PushImage(testContext(t), srv.Repo("app")+":v1", ImageSpec{}, nil); err != nil {
		t.Fatal(err)
	}
	assertAbsent(t, srv.Repo("app")+":v2", nil)
	if _, _, err := Digest(testContext(t), "not a reference", nil); err == nil {
		t.Error("Digest accepted a malformed reference")
	}
}

func BenchmarkPushImage(b *testing.B) {
	srv := Distribution(b)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i++
		ref := fmt.Sprintf("%s:staging-%d", srv.Repo(fmt.Sprintf("app%d", i)), i)
		if _, err := PushImage(ctx, ref, ImageSpec{Labels: map[string]string{revisionLabel: fmt.Sprint(i)}}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// remoteImage reads the image that ref names from an anonymous registry.
func remoteImage(t *testing.T, ref string) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithContext(testContext(t)))
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	return img
}
