package registrytest

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerBytes is the size of the one random file in each seeded image's
// layer: enough to make every image unique, small enough to push fast.
const layerBytes = 64

// ImageSpec describes a tiny random OCI image: one layer holding one random
// file, and a config carrying the platform and labels.
type ImageSpec struct {
	// OS and Architecture are the image's platform; empty means
	// linux/amd64.
	OS           string
	Architecture string
	// Variant is the CPU variant, such as "v8" for arm64; usually empty.
	Variant string
	// Labels become the config's labels, such as
	// "org.opencontainers.image.revision".
	Labels map[string]string
}

// platform returns the spec's platform with the defaults filled in.
func (s ImageSpec) platform() v1.Platform {
	p := v1.Platform{OS: s.OS, Architecture: s.Architecture, Variant: s.Variant}
	if p.OS == "" {
		p.OS = "linux"
	}
	if p.Architecture == "" {
		p.Architecture = "amd64"
	}
	return p
}

// IndexSpec describes an OCI image index of tiny random images.
type IndexSpec struct {
	// Images are the index's children, one per platform. An empty list
	// makes an index with no manifests.
	Images []ImageSpec
	// Annotations become the index's annotations.
	Annotations map[string]string
}

// NewImage builds a random image as spec describes. Each call makes an
// image with a different digest.
func NewImage(spec ImageSpec) (v1.Image, error) {
	platform := spec.platform()
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.ConfigFile(base, &v1.ConfigFile{
		OS:           platform.OS,
		Architecture: platform.Architecture,
		Variant:      platform.Variant,
		RootFS:       v1.RootFS{Type: "layers"},
		Config:       v1.Config{Labels: spec.Labels},
	})
	if err != nil {
		return nil, fmt.Errorf("set image config: %w", err)
	}
	layer, err := random.Layer(layerBytes, types.OCILayer)
	if err != nil {
		return nil, fmt.Errorf("make random layer: %w", err)
	}
	img, err = mutate.AppendLayers(img, layer)
	if err != nil {
		return nil, fmt.Errorf("add layer to image: %w", err)
	}
	return img, nil
}

// NewIndex builds an OCI image index as spec describes, with a new random
// image for each child.
func NewIndex(spec IndexSpec) (v1.ImageIndex, error) {
	adds := make([]mutate.IndexAddendum, 0, len(spec.Images))
	for _, is := range spec.Images {
		img, err := NewImage(is)
		if err != nil {
			return nil, err
		}
		platform := is.platform()
		adds = append(adds, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &platform},
		})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if len(spec.Annotations) > 0 {
		withAnnotations := mutate.Annotations(idx, spec.Annotations)
		annotated, ok := withAnnotations.(v1.ImageIndex)
		if !ok {
			return nil, fmt.Errorf("annotate index: got %T, not an image index", withAnnotations)
		}
		idx = annotated
	}
	return idx, nil
}

// PushImage pushes a new random image as spec describes to ref, such as
// srv.Repo("app") + ":staging-abc123", and returns its digest. A nil auth
// means anonymous.
func PushImage(ctx context.Context, ref string, spec ImageSpec, auth authn.Authenticator) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("parse reference %q: %w", ref, err)
	}
	img, err := NewImage(spec)
	if err != nil {
		return "", fmt.Errorf("build image for %s: %w", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("digest image for %s: %w", ref, err)
	}
	if err := remote.Write(r, img, remoteOptions(ctx, auth)...); err != nil {
		return "", fmt.Errorf("push image to %s: %w", ref, err)
	}
	return digest.String(), nil
}

// PushIndex pushes a new OCI image index as spec describes, children
// first, to ref and returns its digest. A nil auth means anonymous.
func PushIndex(ctx context.Context, ref string, spec IndexSpec, auth authn.Authenticator) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("parse reference %q: %w", ref, err)
	}
	idx, err := NewIndex(spec)
	if err != nil {
		return "", fmt.Errorf("build index for %s: %w", ref, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return "", fmt.Errorf("digest index for %s: %w", ref, err)
	}
	if err := remote.WriteIndex(r, idx, remoteOptions(ctx, auth)...); err != nil {
		return "", fmt.Errorf("push index to %s: %w", ref, err)
	}
	return digest.String(), nil
}

// remoteOptions returns the go-containerregistry options for a request
// bounded by ctx and made with auth, or anonymously when auth is nil.
func remoteOptions(ctx context.Context, auth authn.Authenticator) []remote.Option {
	if auth == nil {
		auth = authn.Anonymous
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth)}
}
