package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyMediaType and emptyJSON are the OCI empty descriptor's media type and
// content.
const emptyMediaType types.MediaType = "application/vnd.oci.empty.v1+json"

var emptyJSON = []byte("{}")

// MaxRewrites bounds how many times a [Batch] writes a record's listing
// entry again after reading back a listing that lacks it.
const MaxRewrites = 3

// ErrNotListed is returned, wrapped, by [Batch.Commit] for a record that
// was written but that its subject's referrers listing still lacked after
// [MaxRewrites] rewrites: other writers kept replacing the listing.
var ErrNotListed = errors.New("record written but not listed among its subject's referrers")

// Repository reads and writes the promotion records of one repository.
type Repository struct {
	repo name.Repository
	// read and write are the remote options of reads and writes, with one
	// Puller or one Pusher that every call shares.
	read, write []remote.Option
	// client sends the requests a Batch makes itself.
	client *http.Client
	// emptyChecked and hasEmpty say what is known of the empty blob.
	emptyChecked, hasEmpty atomic.Bool
}

// Connect returns the records of repo reached through tr, an authenticated
// transport such as go-containerregistry's transport.NewWithContext gives
// (a *transport.Wrapper, used as is, with no ping), and opts, further
// go-containerregistry remote options. Every call shares tr, one Puller
// and one Pusher. A [Batch] sends some requests itself, through tr, so
// that go-containerregistry does not read the referrers API again before
// each record.
func Connect(repo name.Repository, tr http.RoundTripper, opts ...remote.Option) (*Repository, error) {
	if tr == nil {
		return nil, fmt.Errorf("reading promotion records in %s: a transport is required", repo)
	}
	opts = append(slices.Clone(opts), remote.WithTransport(tr))
	// The referrers API and the fallback tag are read side by side (see
	// List), so the API's reader must not fall back by itself.
	puller, err := remote.NewPuller(append(slices.Clone(opts), remote.WithReferrersTagFallback(false))...)
	if err != nil {
		return nil, fmt.Errorf("reading promotion records in %s: %w", repo, err)
	}
	pusher, err := remote.NewPusher(opts...)
	if err != nil {
		return nil, fmt.Errorf("writing promotion records in %s: %w", repo, err)
	}
	return &Repository{
		repo:   repo,
		read:   append(slices.Clone(opts), remote.Reuse(puller)),
		write:  append(slices.Clone(opts), remote.Reuse(pusher)),
		client: &http.Client{Transport: tr},
	}, nil
}

// readOptions returns the remote options of one read bounded by ctx.
func (r *Repository) readOptions(ctx context.Context) []remote.Option {
	return append(slices.Clone(r.read), remote.WithContext(ctx))
}

// writeOptions returns the remote options of one write bounded by ctx.
func (r *Repository) writeOptions(ctx context.Context) []remote.Option {
	return append(slices.Clone(r.write), remote.WithContext(ctx))
}

// blobUnknownPauses are the pauses before each new PUT of a record that the
// registry refused for an unknown blob.
var blobUnknownPauses = []time.Duration{100 * time.Millisecond, 400 * time.Millisecond}

// blobUnknown reports whether err is a registry's refusal of a manifest
// for a blob it does not know.
func blobUnknown(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	for _, d := range terr.Errors {
		if d.Code == transport.ManifestBlobUnknownErrorCode || d.Code == transport.BlobUnknownErrorCode {
			return true
		}
	}
	return false
}

// artifact is a record's manifest, as pushed.
type artifact struct {
	raw []byte
}

// RawManifest implements remote.Taggable.
func (a artifact) RawManifest() ([]byte, error) { return a.raw, nil }

// MediaType implements remote.Taggable's optional media type.
func (a artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// descriptor returns the manifest's descriptor.
func (a artifact) descriptor() v1.Descriptor {
	// Hashing bytes in memory cannot fail.
	h, n, _ := v1.SHA256(bytes.NewReader(a.raw))
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: n, ArtifactType: ArtifactType}
}

// manifest builds the record's manifest. The same record always gives the
// same bytes, so writing it again is harmless.
func (r Record) manifest(subject v1.Descriptor) (artifact, error) {
	h, n, _ := v1.SHA256(bytes.NewReader(emptyJSON))
	empty := v1.Descriptor{MediaType: emptyMediaType, Size: n, Digest: h}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  ArtifactType,
		Config:        empty,
		Layers:        []v1.Descriptor{empty},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations:   r.annotations(),
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return artifact{}, fmt.Errorf("encoding a promotion record: %w", err)
	}
	return artifact{raw: raw}, nil
}

// maxSubjectSize bounds the size a subject descriptor may claim, as
// go-containerregistry bounds a manifest it reads.
const maxSubjectSize = 100 << 20

// validateSubject checks that subject describes the manifest that rec
// concerns.
func validateSubject(rec Record, subject v1.Descriptor) error {
	if subject.Digest != rec.Subject() {
		return fmt.Errorf("record subject %s is not %s, the digest a %s record concerns", subject.Digest, rec.Subject(), rec.Action)
	}
	if !subject.MediaType.IsImage() && !subject.MediaType.IsIndex() {
		return fmt.Errorf("record subject %s is a %q, not an image manifest or index", subject.Digest, subject.MediaType)
	}
	if subject.Size <= 0 || subject.Size > maxSubjectSize {
		return fmt.Errorf("record subject %s has size %d, not between 1 and %d bytes", subject.Digest, subject.Size, maxSubjectSize)
	}
	return nil
}
