package promote

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifest is the exact bytes of a manifest as the registry served them.
// Writing those bytes to a tag is what moves the tag; the digest cannot
// change on the way.
type manifest struct {
	raw       []byte
	mediaType types.MediaType
	digest    v1.Hash
}

func manifestOf(d *remote.Descriptor) manifest {
	return manifest{raw: d.Manifest, mediaType: d.MediaType, digest: d.Digest}
}

// RawManifest implements remote.Taggable.
func (m manifest) RawManifest() ([]byte, error) { return m.raw, nil }

// MediaType implements remote.Taggable.
func (m manifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// Digest lets go-containerregistry skip hashing the bytes again.
func (m manifest) Digest() (v1.Hash, error) { return m.digest, nil }

// Size lets go-containerregistry skip measuring the bytes again.
func (m manifest) Size() (int64, error) { return int64(len(m.raw)), nil }

// placeholderAnnotation marks the manifests written to remove a tag.
const placeholderAnnotation = "ai.molecule.promote.placeholder"

// newPlaceholder returns a unique, empty OCI image index. A tag that did not
// exist before a failed promotion is pointed at it, and then its digest is
// deleted: deleting the promoted digest instead would delete the image and
// every other tag on it.
func newPlaceholder() (manifest, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return manifest{}, err
	}
	idx := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests:     []v1.Descriptor{},
		Annotations:   map[string]string{placeholderAnnotation: hex.EncodeToString(nonce)},
	}
	raw, err := json.Marshal(idx)
	if err != nil {
		return manifest{}, err
	}
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return manifest{}, err
	}
	return manifest{raw: raw, mediaType: types.OCIImageIndex, digest: d}, nil
}

// isPlaceholder reports whether d is a placeholder that a failed run left on
// a tag it could not remove. Such a tag counts as absent: it is never backed
// up and never rolled back to.
func isPlaceholder(d *remote.Descriptor) bool {
	if d == nil || !d.MediaType.IsIndex() {
		return false
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(d.Manifest))
	return err == nil && len(idx.Manifests) == 0 && idx.Annotations[placeholderAnnotation] != ""
}

// live returns d, or nil when d is absent or a placeholder.
func live(d *remote.Descriptor) *remote.Descriptor {
	if isPlaceholder(d) {
		return nil
	}
	return d
}
