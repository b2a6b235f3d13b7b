// Package attach finds what is attached to an image manifest in a
// registry: its OCI referrers and cosign's classic .sig and .att tags.
//
// Whoever can push to a repository can attach anything, so everything read
// here is bounded by [Limits]: how many referrers are listed, how many
// layers an attached manifest has, how many bytes one layer and all the
// layers of an image may hold, and how many fetches run at once. A limit
// that is hit is a [*LimitError], never a crash, and nothing is written.
package attach

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/molecule-ai/promote/promote/internal/registry"
)

// Scheme names one way of attaching artifacts to a manifest.
type Scheme string

// The attachment schemes that are read.
const (
	// Referrers: OCI referrers, through the referrers API or, where the
	// registry has none, the referrers tag schema ("sha256-<hex>").
	Referrers Scheme = "referrers"
	// CosignSig: cosign's classic signature tag "sha256-<hex>.sig".
	CosignSig Scheme = "cosign-sig-tag"
	// CosignAtt: cosign's classic attestation tag "sha256-<hex>.att".
	CosignAtt Scheme = "cosign-att-tag"
)

// Suffix is the tag suffix of one of cosign's classic schemes: ".sig" or
// ".att"; empty for the referrers.
func (s Scheme) Suffix() string {
	switch s {
	case CosignSig:
		return ".sig"
	case CosignAtt:
		return ".att"
	}
	return ""
}

// ClassicSchemes are cosign's classic schemes, in the order they are read.
var ClassicSchemes = []Scheme{CosignSig, CosignAtt}

// ClassicTag is the tag cosign's classic scheme s uses for the manifest
// with digest d, such as "sha256-<hex>.sig".
func ClassicTag(d v1.Hash, s Scheme) string {
	return d.Algorithm + "-" + d.Hex + s.Suffix()
}

// Limits bound the work and memory that what is attached to one image can
// cost.
type Limits struct {
	// Referrers is the most referrers one image may list.
	Referrers int
	// Layers is the most layers one attached manifest may have.
	Layers int
	// LayerBytes is the most bytes one layer may hold to be read.
	LayerBytes int64
	// TotalBytes is the most bytes read of all the layers attached to one
	// image.
	TotalBytes int64
	// Concurrency is how many manifests or layers of one image are
	// fetched at once.
	Concurrency int
}

// DefaultLimits are generous for real images and small for an attacker:
//   - 1000 layers per manifest, as cosign: every `cosign sign` appends a
//     layer to the .sig manifest, so fewer would refuse what cosign reads;
//   - 256 referrers: an image collects one per signature, attestation, SBOM
//     or scan, a few dozen over a long life;
//   - 4 MiB per layer: a signature payload or bundle is a few kilobytes, a
//     provenance attestation tens of kilobytes;
//   - 16 MiB read per image, and 4 fetches at once, so that at most 16 MiB
//     of payloads are held, whatever the registry lists.
var DefaultLimits = Limits{Referrers: 256, Layers: 1000, LayerBytes: 4 << 20, TotalBytes: 16 << 20, Concurrency: 4}

// LimitError says that what is attached to an image exceeds a limit.
type LimitError struct {
	// What is counted, such as "signature layers in cosign-sig-tag …".
	What string
	// Limit is the limit exceeded.
	Limit int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("more than %d %s", e.Limit, e.What)
}

// Attachment is one manifest attached to a subject manifest.
type Attachment struct {
	// Scheme says how it was found.
	Scheme Scheme
	// Ref is where its manifest lives: a digest reference for a referrer,
	// the tag for cosign's classic scheme.
	Ref name.Reference
	// ArtifactType is the referrer's artifact type; empty for cosign tags.
	ArtifactType string
	// Manifest is the attached manifest; its layers hold the content.
	Manifest *v1.Manifest
	// Raw, MediaType and Digest are the manifest as the registry served
	// it, which a copy writes byte for byte.
	Raw       []byte
	MediaType types.MediaType
	Digest    v1.Hash
}

// Where names an attachment for a reader: its scheme and reference.
func (a Attachment) Where() string {
	return string(a.Scheme) + " " + a.Ref.String()
}

// Filter selects what to read of each scheme.
type Filter struct {
	// Referrers keeps the referrers whose artifact type it accepts; nil
	// skips the referrers scheme.
	Referrers func(artifactType string) bool
	// CosignSig and CosignAtt read cosign's classic tags.
	CosignSig, CosignAtt bool
}

// Reader reads what is attached to manifests of one repository.
type Reader struct {
	// Puller fetches; Repo is the repository read.
	Puller *remote.Puller
	Repo   name.Repository
	// Limits bound what is read; the zero value means DefaultLimits.
	Limits Limits
}

// For reads what is attached to manifests of c's repository, within
// [DefaultLimits].
func For(c *registry.Client) Reader {
	return Reader{Puller: c.Puller(), Repo: c.Repo(), Limits: DefaultLimits}
}

func (r Reader) limits() Limits {
	if r.Limits == (Limits{}) {
		return DefaultLimits
	}
	return r.Limits
}

// List lists what is attached to the manifest with digest subject, by every
// scheme that f selects. It costs one round trip for cosign's tags, two for
// the referrers (list, then each manifest, a few at a time). A scheme that
// finds nothing is not an error; what could be read is returned with the
// error of what could not. A limit exceeded is a [*LimitError], and then
// nothing is returned.
func (r Reader) List(ctx context.Context, subject v1.Hash, f Filter) ([]Attachment, error) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		out  []Attachment
		errs []error
	)
	add := func(as []Attachment, err error) {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, as...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if f.Referrers != nil {
		wg.Go(func() { add(r.referrers(ctx, subject, f.Referrers)) })
	}
	for _, s := range []struct {
		on     bool
		scheme Scheme
	}{{f.CosignSig, CosignSig}, {f.CosignAtt, CosignAtt}} {
		if s.on {
			wg.Go(func() { add(r.classic(ctx, subject, s.scheme)) })
		}
	}
	wg.Wait()
	for _, err := range errs {
		var le *LimitError
		if errors.As(err, &le) {
			return nil, err
		}
	}
	// Keep a stable order whatever finished first: referrers, then .sig, then .att.
	order := map[Scheme]int{Referrers: 0, CosignSig: 1, CosignAtt: 2}
	slices.SortStableFunc(out, func(a, b Attachment) int { return order[a.Scheme] - order[b.Scheme] })
	return out, errors.Join(errs...)
}

// referrers lists the referrers of subject that keep accepts, and reads
// their manifests, a few at a time.
func (r Reader) referrers(ctx context.Context, subject v1.Hash, keep func(string) bool) ([]Attachment, error) {
	lim := r.limits()
	im, err := r.ListReferrers(ctx, subject)
	if err != nil {
		return nil, err
	}
	var descs []v1.Descriptor
	for _, d := range im.Manifests {
		if d.MediaType.IsImage() && keep(d.ArtifactType) {
			descs = append(descs, d)
		}
	}
	out := make([]Attachment, len(descs))
	errs := make([]error, len(descs))
	var g errgroup.Group
	g.SetLimit(lim.Concurrency)
	for i, d := range descs {
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			continue
		}
		g.Go(func() error {
			ref := r.Repo.Digest(d.Digest.String())
			a, err := r.read(ctx, ref, Referrers)
			if err != nil {
				errs[i] = fmt.Errorf("reading referrer %s: %w", d.Digest, err)
				return nil
			}
			a.ArtifactType = d.ArtifactType
			out[i] = a
			return nil
		})
	}
	g.Wait()
	found := out[:0]
	for i := range out {
		if errs[i] == nil {
			found = append(found, out[i])
		}
	}
	return found, errors.Join(errs...)
}

// ListReferrers lists the referrers of subject, at most Limits.Referrers of
// them.
func (r Reader) ListReferrers(ctx context.Context, subject v1.Hash) (*v1.IndexManifest, error) {
	idx, err := remote.Referrers(r.Repo.Digest(subject.String()), remote.Reuse(r.Puller), remote.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("listing referrers: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing referrers: %w", err)
	}
	if limit := r.limits().Referrers; len(im.Manifests) > limit {
		return nil, &LimitError{What: "referrers of " + subject.String(), Limit: int64(limit)}
	}
	return im, nil
}

// classic reads cosign's classic tag of scheme s for subject.
func (r Reader) classic(ctx context.Context, subject v1.Hash, s Scheme) ([]Attachment, error) {
	tag := r.Repo.Tag(ClassicTag(subject, s))
	a, err := r.read(ctx, tag, s)
	if registry.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			return nil, err
		}
		return nil, fmt.Errorf("reading %s: %w", tag.TagStr(), err)
	}
	return []Attachment{a}, nil
}

// read fetches and parses the image manifest at ref, found by scheme s.
func (r Reader) read(ctx context.Context, ref name.Reference, s Scheme) (Attachment, error) {
	desc, err := r.Puller.Get(ctx, ref)
	if err != nil {
		return Attachment{}, err
	}
	if !desc.MediaType.IsImage() {
		return Attachment{}, fmt.Errorf("%s is a %s, not an image manifest", ref, desc.MediaType)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return Attachment{}, err
	}
	a := Attachment{Scheme: s, Ref: ref, Manifest: m, Raw: desc.Manifest, MediaType: desc.MediaType, Digest: desc.Digest}
	if limit := r.limits().Layers; len(m.Layers) > limit {
		return Attachment{}, &LimitError{What: "signature layers in " + a.Where(), Limit: int64(limit)}
	}
	return a, nil
}

// Budget counts the bytes read of one image's layers against
// Limits.TotalBytes. It is safe for concurrent use.
type Budget struct {
	mu   sync.Mutex
	left int64
}

// NewBudget returns the byte budget of one image.
func (r Reader) NewBudget() *Budget {
	return &Budget{left: r.limits().TotalBytes}
}

// take reserves n bytes, and reports whether they were left.
func (b *Budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		b.left = -1
		return false
	}
	b.left -= n
	return true
}

// ErrLayerTooLarge says that one layer is larger than Limits.LayerBytes: it
// is not read, and cannot count as a signature.
var ErrLayerTooLarge = errors.New("layer too large")

// ReadLayer reads one attached layer, checking its digest and bounding its
// size: a layer over Limits.LayerBytes is not fetched (an error wrapping
// [ErrLayerTooLarge]), and one that would take the image over
// Limits.TotalBytes is a [*LimitError].
func (r Reader) ReadLayer(ctx context.Context, budget *Budget, d v1.Descriptor) ([]byte, error) {
	lim := r.limits()
	if d.Size < 0 || d.Size > lim.LayerBytes {
		return nil, fmt.Errorf("blob %s is %d bytes, more than the %d read for one attachment: %w", d.Digest, d.Size, lim.LayerBytes, ErrLayerTooLarge)
	}
	if !budget.take(d.Size) {
		return nil, &LimitError{What: "bytes of signature payloads", Limit: lim.TotalBytes}
	}
	l, err := r.Puller.Layer(ctx, r.Repo.Digest(d.Digest.String()))
	if err != nil {
		return nil, err
	}
	// The compressed stream is the blob as stored; go-containerregistry
	// checks its digest as it is read to the end.
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", d.Digest, err)
	}
	defer rc.Close()
	// One buffer of the size the descriptor gives, then a read on to the
	// end: there go-containerregistry checks the digest, and a blob longer
	// than its descriptor shows.
	b := make([]byte, d.Size)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", d.Digest, err)
	}
	if n, err := io.Copy(io.Discard, io.LimitReader(rc, 1)); err != nil || n != 0 {
		return nil, fmt.Errorf("reading blob %s: not the %d bytes its descriptor says: %v", d.Digest, d.Size, err)
	}
	return b, nil
}

// IsSigstoreBundle reports whether a media type is a Sigstore bundle's, of
// any version.
func IsSigstoreBundle(mediaType string) bool {
	return strings.HasPrefix(mediaType, "application/vnd.dev.sigstore.bundle")
}

// MayBeSigstoreBundle reports whether a referrer of this artifact type may
// hold a Sigstore bundle. Some registries list a referrer's config media
// type, often the OCI empty descriptor's, instead of its artifact type; the
// layers of such a referrer tell.
func MayBeSigstoreBundle(artifactType string) bool {
	return IsSigstoreBundle(artifactType) || artifactType == "" || artifactType == emptyMediaType
}

// emptyMediaType is the OCI empty descriptor's media type, the config of
// artifact manifests.
const emptyMediaType = "application/vnd.oci.empty.v1+json"
