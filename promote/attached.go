package promote

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
)

// scheme names one way of attaching artifacts to a manifest.
type scheme string

// The attachment schemes that are read.
const (
	// schemeReferrers: OCI referrers, through the referrers API or, where
	// the registry has none, the referrers tag schema ("sha256-<hex>").
	schemeReferrers scheme = "referrers"
	// schemeCosignSig: cosign's classic signature tag "sha256-<hex>.sig".
	schemeCosignSig scheme = "cosign-sig-tag"
	// schemeCosignAtt: cosign's classic attestation tag "sha256-<hex>.att".
	schemeCosignAtt scheme = "cosign-att-tag"
)

// maxAttachmentBlob bounds the size of one attached blob that is read into
// memory: bundles and signature payloads are a few kilobytes.
const maxAttachmentBlob = 4 << 20

// attachment is one manifest attached to a subject manifest.
type attachment struct {
	// scheme says how it was found.
	scheme scheme
	// ref is where its manifest lives: a digest reference for a referrer,
	// the tag for cosign's classic scheme.
	ref name.Reference
	// artifactType is the referrer's artifact type; empty for cosign tags.
	artifactType string
	// manifest is the attached manifest; its layers hold the content.
	manifest *v1.Manifest
	// raw is the manifest as the registry served it, which a copy writes
	// byte for byte.
	raw manifest
}

// attachmentFilter selects what to read of each scheme.
type attachmentFilter struct {
	// referrers keeps the referrers whose artifact type it accepts; nil
	// skips the referrers scheme.
	referrers func(artifactType string) bool
	// cosignSig and cosignAtt read cosign's classic tags.
	cosignSig, cosignAtt bool
}

// attached lists what is attached to the manifest with digest subject in
// c's repository, by every scheme that filter selects, concurrently. It
// costs one round trip for cosign's tags, two for the referrers (list, then
// each manifest), and one more to list referrers on a registry without the
// referrers API. A scheme that finds nothing is not an error.
func (c *repoClient) attached(ctx context.Context, subject v1.Hash, filter attachmentFilter) ([]attachment, error) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		out  []attachment
		errs []error
	)
	add := func(as []attachment, err error) {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, as...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if filter.referrers != nil {
		wg.Go(func() { add(c.referrers(ctx, subject, filter.referrers)) })
	}
	for _, tag := range []struct {
		on     bool
		scheme scheme
		suffix string
	}{{filter.cosignSig, schemeCosignSig, ".sig"}, {filter.cosignAtt, schemeCosignAtt, ".att"}} {
		if tag.on {
			wg.Go(func() { add(c.cosignTag(ctx, subject, tag.scheme, tag.suffix)) })
		}
	}
	wg.Wait()
	// Keep a stable order whatever finished first: referrers, then .sig, then .att.
	order := map[scheme]int{schemeReferrers: 0, schemeCosignSig: 1, schemeCosignAtt: 2}
	slices.SortStableFunc(out, func(a, b attachment) int { return order[a.scheme] - order[b.scheme] })
	return out, errors.Join(errs...)
}

// referrers lists the referrers of subject that keep accepts, and reads
// their manifests concurrently.
func (c *repoClient) referrers(ctx context.Context, subject v1.Hash, keep func(string) bool) ([]attachment, error) {
	idx, err := remote.Referrers(c.repo.Digest(subject.String()), remote.Reuse(c.puller), remote.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("listing referrers: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing referrers: %w", err)
	}
	var descs []v1.Descriptor
	for _, d := range im.Manifests {
		if d.MediaType.IsImage() && keep(d.ArtifactType) {
			descs = append(descs, d)
		}
	}
	out := make([]attachment, len(descs))
	errs := make([]error, len(descs))
	var wg sync.WaitGroup
	for i, d := range descs {
		wg.Go(func() {
			ref := c.repo.Digest(d.Digest.String())
			m, raw, err := c.readManifest(ctx, ref)
			if err != nil {
				errs[i] = fmt.Errorf("reading referrer %s: %w", d.Digest, err)
				return
			}
			out[i] = attachment{scheme: schemeReferrers, ref: ref, artifactType: d.ArtifactType, manifest: m, raw: raw}
		})
	}
	wg.Wait()
	found := out[:0]
	for i := range out {
		if errs[i] == nil {
			found = append(found, out[i])
		}
	}
	return found, errors.Join(errs...)
}

// cosignTag reads cosign's classic tag for subject: "sha256-<hex>" and suffix.
func (c *repoClient) cosignTag(ctx context.Context, subject v1.Hash, sch scheme, suffix string) ([]attachment, error) {
	tag := c.repo.Tag(subject.Algorithm + "-" + subject.Hex + suffix)
	m, raw, err := c.readManifest(ctx, tag)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", tag.TagStr(), err)
	}
	return []attachment{{scheme: sch, ref: tag, manifest: m, raw: raw}}, nil
}

// readManifest fetches and parses the image manifest at ref, and returns
// it as served too.
func (c *repoClient) readManifest(ctx context.Context, ref name.Reference) (*v1.Manifest, manifest, error) {
	desc, err := c.puller.Get(ctx, ref)
	if err != nil {
		return nil, manifest{}, err
	}
	if !desc.MediaType.IsImage() {
		return nil, manifest{}, fmt.Errorf("%s is a %s, not an image manifest", ref, desc.MediaType)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	return m, manifestOf(desc), err
}

// readBlob reads one attached blob, checking its digest and bounding its size.
func (c *repoClient) readBlob(ctx context.Context, d v1.Descriptor) ([]byte, error) {
	if d.Size > maxAttachmentBlob {
		return nil, fmt.Errorf("blob %s is %d bytes, more than the %d read for an attachment", d.Digest, d.Size, maxAttachmentBlob)
	}
	l, err := c.puller.Layer(ctx, c.repo.Digest(d.Digest.String()))
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
	b, err := io.ReadAll(io.LimitReader(rc, maxAttachmentBlob+1))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", d.Digest, err)
	}
	if len(b) > maxAttachmentBlob {
		return nil, fmt.Errorf("blob %s is larger than the %d bytes read for an attachment", d.Digest, maxAttachmentBlob)
	}
	return b, nil
}

// where names an attachment for a reader: its scheme and reference.
func (a attachment) where() string {
	return string(a.scheme) + " " + a.ref.String()
}

// isSigstoreBundle reports whether a media type is a Sigstore bundle's, of
// any version.
func isSigstoreBundle(mediaType string) bool {
	return strings.HasPrefix(mediaType, "application/vnd.dev.sigstore.bundle")
}

// mayBeSigstoreBundle reports whether a referrer of this artifact type may
// hold a Sigstore bundle. Some registries list a referrer's config media
// type, often the OCI empty descriptor's, instead of its artifact type; the
// layers of such a referrer tell.
func mayBeSigstoreBundle(artifactType string) bool {
	return isSigstoreBundle(artifactType) || artifactType == "" || artifactType == emptyMediaType
}

// emptyMediaType is the OCI empty descriptor's media type, the config of
// artifact manifests.
const emptyMediaType = "application/vnd.oci.empty.v1+json"
