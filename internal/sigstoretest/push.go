package sigstoretest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyConfig is the OCI empty descriptor's content, the config of an
// artifact manifest.
var emptyConfig = []byte("{}")

// AttachBundle stores a Sigstore bundle as an OCI referrer of subject (a
// digest reference, repository@sha256:…), as GitHub and cosign do. On a
// registry without the referrers API, go-containerregistry also updates the
// referrers tag schema's index ("sha256-<hex>").
func AttachBundle(ctx context.Context, subject string, bundle []byte, predicateType string, opts ...remote.Option) error {
	sub, err := name.NewDigest(subject, name.Insecure)
	if err != nil {
		return err
	}
	opts = append(opts, remote.WithContext(ctx))
	head, err := remote.Head(sub, opts...)
	if err != nil {
		return fmt.Errorf("reading the subject %s: %w", subject, err)
	}
	cfg := static.NewLayer(emptyConfig, "application/vnd.oci.empty.v1+json")
	layer := static.NewLayer(bundle, BundleMediaType)
	for _, l := range []v1.Layer{cfg, layer} {
		if err := remote.WriteLayer(sub.Context(), l, opts...); err != nil {
			return err
		}
	}
	cfgDesc, err := partial(cfg)
	if err != nil {
		return err
	}
	layerDesc, err := partial(layer)
	if err != nil {
		return err
	}
	content := "message-signature"
	if predicateType != "" {
		content = "dsse-envelope"
	}
	ann := map[string]string{"dev.sigstore.bundle.content": content}
	if predicateType != "" {
		ann["dev.sigstore.bundle.predicateType"] = predicateType
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  BundleMediaType,
		Config:        cfgDesc,
		Layers:        []v1.Descriptor{layerDesc},
		Subject:       &v1.Descriptor{MediaType: head.MediaType, Digest: head.Digest, Size: head.Size},
		Annotations:   ann,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	return remote.Put(sub.Context().Digest(d.String()), rawManifest{raw: raw, mediaType: types.OCIManifestSchema1}, opts...)
}

// AttachClassic stores layers as cosign's classic .sig or .att manifest of
// subject (repository@sha256:…), with suffix ".sig" or ".att".
func AttachClassic(ctx context.Context, subject, suffix string, layers []Layer, opts ...remote.Option) error {
	sub, err := name.NewDigest(subject, name.Insecure)
	if err != nil {
		return err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, l := range layers {
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:       static.NewLayer(l.Content, types.MediaType(l.MediaType)),
			Annotations: l.Annotations,
		})
		if err != nil {
			return err
		}
	}
	tag := sub.Context().Tag(strings.Replace(sub.DigestStr(), ":", "-", 1) + suffix)
	return remote.Write(tag, img, append(opts, remote.WithContext(ctx))...)
}

func partial(l v1.Layer) (v1.Descriptor, error) {
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := l.MediaType()
	return v1.Descriptor{MediaType: mt, Digest: d, Size: size}, err
}

// rawManifest is a manifest to write as given.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }
