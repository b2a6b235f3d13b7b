package record

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Bounds on a referrers listing, which the registry decides.
const (
	// MaxReferrers bounds the entries of one referrers listing, records or
	// not. go-containerregistry has already bounded its bytes (100 MiB).
	MaxReferrers = 4096
	// MaxRecords bounds the promotion records of one digest: a digest
	// gains one for each move of a tag onto it or away from it by rollback.
	MaxRecords = 1024
)

// Listing is what a digest's referrers say of its promotion records.
type Listing struct {
	// Records are the valid records, newest first.
	Records []Record
	// Rejected are the entries that claim to be records but fail
	// validation; none of them is in Records.
	Rejected []Rejected
	// API says that the registry served the referrers API; without it,
	// records are listed in the fallback tag index "sha256-<hex>" (see
	// [Batch.Add]).
	API bool
}

// Rejected is a listing entry that claims to be a record, and why it was
// not read as one.
type Rejected struct {
	// ID is the digest of the entry's manifest.
	ID v1.Hash
	// Err says what is wrong with it. Values from the registry in it are
	// quoted, but still need escaping for Markdown.
	Err error
}

// List reads the promotion records attached to subject from its referrers
// listing: the referrers API and the fallback tag "sha256-<hex>" are read
// at the same time, with go-containerregistry, so that a listing costs one
// dependent round trip on any registry. No record manifest is fetched: the
// listing's annotations hold the records.
//
// A listing of more than [MaxReferrers] entries or [MaxRecords] records is
// an error. Records of other repositories' tags, or whose data does not
// match the digest they are attached to, are rejected.
func (r *Repository) List(ctx context.Context, subject v1.Hash) (Listing, error) {
	if err := validateDigest("subject", subject); err != nil {
		return Listing{}, fmt.Errorf("cannot list promotion records in %s: %w", r.repo, err)
	}
	im, api, err := r.referrersAPI(ctx, subject)
	if err != nil {
		return Listing{}, fmt.Errorf("listing promotion records of %s@%s: %w", r.repo, subject, err)
	}
	l, err := readListing(im, subject, r.repo.RepositoryStr())
	if err != nil {
		return Listing{}, fmt.Errorf("listing promotion records of %s@%s: %w", r.repo, subject, err)
	}
	l.API = api
	return l, nil
}

// referrers returns the referrers of subject: through the referrers API
// and the fallback tag "sha256-<hex>", read at the same time, so that a
// listing costs one dependent round trip whether or not the registry serves
// the API. Where both answer, as on a registry that gained the API after
// records were written to the fallback tag, their entries are merged. Each
// is bounded in entries.
func (r *Repository) referrers(ctx context.Context, subject v1.Hash) (*v1.IndexManifest, error) {
	im, _, err := r.referrersAPI(ctx, subject)
	return im, err
}

// referrersAPI is referrers, and says whether the registry served the
// referrers API.
func (r *Repository) referrersAPI(ctx context.Context, subject v1.Hash) (*v1.IndexManifest, bool, error) {
	var (
		api, tagged       *v1.IndexManifest
		apiErr, taggedErr error
		wg                sync.WaitGroup
	)
	wg.Go(func() { api, apiErr = r.fromAPI(ctx, subject) })
	wg.Go(func() { tagged, taggedErr = r.fromFallbackTag(ctx, subject) })
	wg.Wait()
	served := apiErr == nil
	if errors.Is(apiErr, errNoReferrersAPI) {
		api, apiErr = &v1.IndexManifest{}, nil
	}
	if err := errors.Join(apiErr, taggedErr); err != nil {
		return nil, false, err
	}
	merged := &v1.IndexManifest{Manifests: slices.Concat(api.Manifests, tagged.Manifests)}
	return merged, served, nil
}

// errNoReferrersAPI says that the registry does not serve the referrers
// API.
var errNoReferrersAPI = errors.New("the registry does not serve the referrers API")

// fromAPI lists the referrers of subject through the referrers API, or
// returns errNoReferrersAPI.
func (r *Repository) fromAPI(ctx context.Context, subject v1.Hash) (*v1.IndexManifest, error) {
	idx, err := remote.Referrers(r.repo.Digest(subject.String()), r.readOptions(ctx)...)
	if err != nil {
		if noReferrersAPI(err) {
			return nil, errNoReferrersAPI
		}
		return nil, fmt.Errorf("the referrers API: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("the referrers API's listing cannot be read: %w", err)
	}
	if n := len(im.Manifests); n > MaxReferrers {
		return nil, fmt.Errorf("the referrers API lists %d entries, more than the %d read", n, MaxReferrers)
	}
	return im, nil
}

// noReferrersAPI reports whether err is go-containerregistry's answer to a
// registry without the referrers API when the tag fallback is off. Only
// that error, recognised by its text, counts: anything else, such as a
// failed request, stays an error, so that a change in the library fails a
// listing rather than emptying it.
func noReferrersAPI(err error) bool {
	var terr *transport.Error
	var uerr *url.Error
	if errors.As(err, &terr) || errors.As(err, &uerr) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return strings.Contains(err.Error(), "does not support the Referrers API")
}

// fromFallbackTag reads the referrers tag index of subject, "sha256-<hex>";
// a tag that does not exist lists nothing.
func (r *Repository) fromFallbackTag(ctx context.Context, subject v1.Hash) (*v1.IndexManifest, error) {
	tag := r.repo.Tag(subject.Algorithm + "-" + subject.Hex)
	desc, err := remote.Get(tag, r.readOptions(ctx)...)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return &v1.IndexManifest{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the referrers tag %s: %w", tag.TagStr(), err)
	}
	if desc.MediaType != types.OCIImageIndex {
		return nil, fmt.Errorf("the referrers tag %s is a %q, not an OCI image index", tag.TagStr(), desc.MediaType)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("the referrers tag %s cannot be read: %w", tag.TagStr(), err)
	}
	if n := len(im.Manifests); n > MaxReferrers {
		return nil, fmt.Errorf("the referrers tag %s lists %d entries, more than the %d read", tag.TagStr(), n, MaxReferrers)
	}
	return im, nil
}

// readListing picks the records of repository path repo out of the
// referrers listing im of subject.
func readListing(im *v1.IndexManifest, subject v1.Hash, repo string) (Listing, error) {
	var l Listing
	seen := make(map[v1.Hash]bool)
	claims := 0
	for _, desc := range im.Manifests {
		if !isRecord(desc) || seen[desc.Digest] {
			continue
		}
		seen[desc.Digest] = true
		claims++
		if claims > MaxRecords {
			return Listing{}, fmt.Errorf("the referrers listing has more than %d promotion records", MaxRecords)
		}
		rec, err := parse(desc, subject, repo)
		if err != nil {
			l.Rejected = append(l.Rejected, Rejected{ID: desc.Digest, Err: err})
			continue
		}
		l.Records = append(l.Records, rec)
	}
	sortNewestFirst(l.Records)
	return l, nil
}

// sortNewestFirst orders records by time, newest first; records of the
// same time by ID, so that the order never depends on the listing's.
func sortNewestFirst(recs []Record) {
	slices.SortFunc(recs, func(a, b Record) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(b.ID.String(), a.ID.String())
	})
}

// Err joins the reasons of every rejected entry, or returns nil when none
// was rejected.
func (l Listing) Err() error {
	errs := make([]error, 0, len(l.Rejected))
	for _, r := range l.Rejected {
		errs = append(errs, fmt.Errorf("entry %s: %w", r.ID, r.Err))
	}
	return errors.Join(errs...)
}
