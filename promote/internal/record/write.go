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
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyMediaType and emptyJSON are the OCI empty descriptor's media type and
// content.
const emptyMediaType types.MediaType = "application/vnd.oci.empty.v1+json"

var emptyJSON = []byte("{}")

// MaxRewrites bounds how many times [Repository.Write] writes a record
// again after reading back a referrers listing that lacks it.
const MaxRewrites = 3

// ErrNotListed is returned, wrapped, by [Repository.Write] when the record
// was written but its subject's referrers listing still lacked it after
// [MaxRewrites] rewrites: other writers kept replacing the listing.
var ErrNotListed = errors.New("record written but not listed among its subject's referrers")

// Repository reads and writes the promotion records of one repository.
type Repository struct {
	repo name.Repository
	// read and write are the remote options of reads and writes: the
	// caller's, with one Puller or one Pusher that every call shares.
	read, write []remote.Option
	// client sends the requests a Batch makes itself; nil unless the
	// Repository was made with Connect.
	client *http.Client
	// emptyChecked and hasEmpty say what is known of the empty blob.
	emptyChecked, hasEmpty atomic.Bool
}

// NewRepository returns the records of repo, reached with opts:
// go-containerregistry's remote options, such as remote.WithAuth and
// remote.WithTransport. Every call then shares one Puller and one Pusher.
//
// To share the caller's connections and token, pass its authenticated
// transport (a *transport.Wrapper, which is used as is, with no ping) or
// remote.Reuse of its Pusher. A Puller passed with remote.Reuse is used as
// is too, but it lists referrers in one round trip on a registry without
// the referrers API only if it was made with
// remote.WithReferrersTagFallback(false).
func NewRepository(repo name.Repository, opts ...remote.Option) (*Repository, error) {
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
		repo:  repo,
		read:  append(slices.Clone(opts), remote.Reuse(puller)),
		write: append(slices.Clone(opts), remote.Reuse(pusher)),
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

// Prepare makes sure that the repository holds the empty blob that every
// record names: one HEAD, and an upload where it is missing. Write does it
// too, but only once per Repository; a run that calls Prepare alongside its
// tag moves saves that round trip when the records are written. It writes
// no manifest and no tag.
//
// On a Repository made with [Connect], the upload is one POST and one
// monolithic PUT, so Prepare costs at most three dependent round trips.
func (r *Repository) Prepare(ctx context.Context) error {
	if r.client != nil {
		if err := r.uploadEmpty(ctx); err != nil {
			return fmt.Errorf("uploading the empty blob of promotion records to %s: %w", r.repo, err)
		}
		return nil
	}
	empty := static.NewLayer(emptyJSON, emptyMediaType)
	if err := remote.WriteLayer(r.repo, empty, r.writeOptions(ctx)...); err != nil {
		return fmt.Errorf("uploading the empty blob of promotion records to %s: %w", r.repo, err)
	}
	return nil
}

// Write validates rec and pushes it to the repository as an artifact whose
// subject is rec.Subject(), described by subject (its media type and size
// as the caller read them), then reads it back in its subject's referrers
// listing. It returns the record's descriptor.
//
// The order of reads and writes, all in the record's repository:
//
//  1. HEAD the empty blob, and upload it if the repository lacks it.
//  2. PUT the record manifest by digest (go-containerregistry's remote.Put).
//     On a registry with the referrers API, the registry lists it from now
//     on; go-containerregistry asks (GET .../referrers/<subject>) and stops.
//     Without the API, go-containerregistry GETs the fallback tag index
//     "sha256-<hex>" of the subject, adds the record, and PUTs the index
//     back: a read-modify-write with no condition.
//  3. List the subject's referrers, through the API and the fallback tag
//     side by side (see [Repository.List]). If the record is missing, go
//     back to 2: PUT the same manifest again, which is harmless, so that the
//     fallback index is read and written afresh, now with the other
//     writer's entries. At most [MaxRewrites] times.
//
// What a concurrent writer can make us lose: a writer of the same fallback
// index (another run's record, a signature, an attestation) that read the
// index before our index PUT and writes it after drops our entry. Step 3
// finds that loss when the other PUT lands before our listing, and writes
// the entry again, keeping the other writer's. It cannot find a loss whose
// PUT lands after our listing: the other writer's GET-to-PUT round trip
// must then span our index PUT, its answer and our listing. The record
// manifest itself is never lost (it is stored by digest), only its entry,
// and history then shows that step as foreign or missing, never as
// anything else. In reverse, our index PUT can drop the entry of a writer
// that PUT between our GET and PUT of the index (one round trip): a promote
// run finds and rewrites it, a tool that does not read back (cosign, oras)
// does not, as between any two of those tools.
//
// What no writer can lose: any tag that promote moved (records write only
// manifests by digest and "sha256-<hex>" fallback tags), and, on registries
// with the referrers API, any record (the registry keeps the listing).
//
// Cost, in dependent round trips once connected: on a registry with the
// referrers API, 3 (PUT; go-containerregistry's GET of the API; the
// listing); without it, 5 (PUT; GET of the API; GET and PUT of the index;
// the listing), and 4 more for each rewrite. The first write of a
// Repository adds one, the HEAD of the empty blob, unless [Repository.Prepare]
// has run.
func (r *Repository) Write(ctx context.Context, rec Record, subject v1.Descriptor) (v1.Descriptor, error) {
	if err := rec.Validate(r.repo.RepositoryStr()); err != nil {
		return v1.Descriptor{}, fmt.Errorf("cannot write a promotion record for %s: %w", r.repo, err)
	}
	if err := validateSubject(rec, subject); err != nil {
		return v1.Descriptor{}, fmt.Errorf("cannot write a promotion record for %s: %w", r.repo, err)
	}
	m, err := rec.manifest(subject)
	if err != nil {
		return v1.Descriptor{}, err
	}
	desc := m.descriptor()
	where := fmt.Sprintf("promotion record %s (%s of %s) to %s", desc.Digest, rec.Action, rec.Tag, r.repo)

	if err := r.Prepare(ctx); err != nil {
		return desc, fmt.Errorf("writing %s: %w", where, err)
	}
	ref := r.repo.Digest(desc.Digest.String())
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return desc, fmt.Errorf("writing %s: %w", where, err)
		}
		if err := r.put(ctx, ref, m); err != nil {
			return desc, fmt.Errorf("writing %s: %w", where, err)
		}
		listed, err := r.listed(ctx, subject.Digest, desc.Digest)
		if err != nil {
			return desc, fmt.Errorf("reading back %s: %w", where, err)
		}
		if listed {
			return desc, nil
		}
		if attempt == MaxRewrites {
			return desc, fmt.Errorf("%w: %s, after %d rewrites", ErrNotListed, where, MaxRewrites)
		}
	}
}

// blobUnknownPauses are the pauses before each new PUT of a record that the
// registry refused for an unknown blob.
var blobUnknownPauses = []time.Duration{100 * time.Millisecond, 400 * time.Millisecond}

// put PUTs a record's manifest. A registry that answers that the empty blob
// is unknown, after it said the blob was there, is asked again after a
// pause: the distribution registry's filesystem storage rewrites a blob's
// link in place when two clients upload the same blob at once, and for that
// moment knows the blob not.
func (r *Repository) put(ctx context.Context, ref name.Reference, m artifact) error {
	for i := 0; ; i++ {
		err := remote.Put(ref, m, r.writeOptions(ctx)...)
		if !blobUnknown(err) || i == len(blobUnknownPauses) {
			return err
		}
		timer := time.NewTimer(blobUnknownPauses[i])
		select {
		case <-ctx.Done():
			timer.Stop()
			return errors.Join(err, ctx.Err())
		case <-timer.C:
		}
	}
}

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

// listed reports whether the referrers listing of subject holds a manifest
// with digest id.
func (r *Repository) listed(ctx context.Context, subject, id v1.Hash) (bool, error) {
	im, err := r.referrers(ctx, subject)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(im.Manifests, func(d v1.Descriptor) bool { return d.Digest == id }), nil
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
