package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The requests that write one repository's records: the record manifest,
// the fallback tag index on a registry without the referrers API, and the
// empty blob every record manifest names as its config.

// putManifest PUTs the record manifest of e by digest, itself, so that
// go-containerregistry neither asks for the referrers API nor updates the
// fallback index. A registry that answers that the empty blob is unknown,
// after it said the blob was there, is asked again after a pause: the
// distribution registry's filesystem storage rewrites a blob's link in
// place when two clients upload the same blob at once, and for that moment
// knows the blob not.
func (r *Repository) putManifest(ctx context.Context, e *batchEntry) error {
	u := r.url("/manifests/" + e.desc.Digest.String())
	for i := 0; ; i++ {
		err := r.send(ctx, http.MethodPut, u, string(types.OCIManifestSchema1), e.m.raw, http.StatusOK, http.StatusCreated, http.StatusAccepted)
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

// putFallbackIndex PUTs the fallback tag index of subject: base with add
// appended where missing, sorted by digest as go-containerregistry sorts
// it. The index names no subject, so go-containerregistry PUTs it alone.
func (r *Repository) putFallbackIndex(ctx context.Context, subject v1.Hash, base *v1.IndexManifest, add []v1.Descriptor) error {
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: slices.Clone(base.Manifests), Annotations: base.Annotations}
	for _, d := range add {
		if !slices.ContainsFunc(im.Manifests, func(have v1.Descriptor) bool { return have.Digest == d.Digest }) {
			im.Manifests = append(im.Manifests, d)
		}
	}
	if n := len(im.Manifests); n > MaxReferrers {
		return fmt.Errorf("the referrers tag of %s would list %d entries, more than the %d read", subject, n, MaxReferrers)
	}
	slices.SortFunc(im.Manifests, func(a, b v1.Descriptor) int {
		switch {
		case a.Digest.String() < b.Digest.String():
			return -1
		case a.Digest.String() > b.Digest.String():
			return 1
		}
		return 0
	})
	tag := r.repo.Tag(subject.Algorithm + "-" + subject.Hex)
	if err := remote.Put(tag, fallbackIndex{im}, r.writeOptions(ctx)...); err != nil {
		return fmt.Errorf("writing the referrers tag %s: %w", tag.TagStr(), err)
	}
	return nil
}

// fallbackIndex is a fallback tag index, as pushed.
type fallbackIndex struct{ im v1.IndexManifest }

// RawManifest implements remote.Taggable.
func (f fallbackIndex) RawManifest() ([]byte, error) { return json.Marshal(f.im) }

// MediaType implements remote.Taggable's optional media type.
func (f fallbackIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// url is the address of path under the repository's /v2/ API.
func (r *Repository) url(path string) string {
	u := url.URL{Scheme: r.repo.Scheme(), Host: r.repo.RegistryStr(), Path: "/v2/" + r.repo.RepositoryStr() + path}
	return u.String()
}

// send sends one request with body through the repository's transport
// and checks its status.
func (r *Repository) send(ctx context.Context, method, u, contentType string, body []byte, want ...int) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	err = transport.CheckError(resp, want...)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return err
}

// HasEmptyBlob reports whether the repository holds the empty blob that
// every record names, with one HEAD and no write. A run asks it alongside
// its reads, so that [Batch.Prepare], alongside its writes, goes straight
// to the upload where the blob is missing, or does nothing.
func (r *Repository) HasEmptyBlob(ctx context.Context) (bool, error) {
	h, _, _ := v1.SHA256(bytes.NewReader(emptyJSON))
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, r.url("/blobs/"+h.String()), nil)
	if err != nil {
		return false, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("reading the empty blob in %s: %w", r.repo, err)
	}
	resp.Body.Close()
	has := resp.StatusCode == http.StatusOK
	if has {
		r.hasEmpty.Store(true)
	}
	r.emptyChecked.Store(true)
	return has, nil
}

// prepare makes sure that the repository holds the empty blob that every
// record names (see uploadEmpty). It writes no manifest and no tag.
func (r *Repository) prepare(ctx context.Context) error {
	if err := r.uploadEmpty(ctx); err != nil {
		return fmt.Errorf("uploading the empty blob of promotion records to %s: %w", r.repo, err)
	}
	return nil
}

// uploadEmpty uploads the empty blob unless the repository is known to
// have it: a HEAD unless HasEmptyBlob answered, then a POST that opens an
// upload and one PUT that sends the two bytes.
func (r *Repository) uploadEmpty(ctx context.Context) error {
	if r.hasEmpty.Load() {
		return nil
	}
	if !r.emptyChecked.Load() {
		has, err := r.HasEmptyBlob(ctx)
		if err != nil || has {
			return err
		}
	}
	h, _, _ := v1.SHA256(bytes.NewReader(emptyJSON))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url("/blobs/uploads/"), nil)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusAccepted); err != nil {
		return err
	}
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("the registry gave no upload location: %w", err)
	}
	q := loc.Query()
	q.Set("digest", h.String())
	loc.RawQuery = q.Encode()
	err = r.send(ctx, http.MethodPut, loc.String(), "application/octet-stream", emptyJSON, http.StatusCreated, http.StatusAccepted, http.StatusNoContent)
	if err == nil {
		r.hasEmpty.Store(true)
	}
	return err
}
