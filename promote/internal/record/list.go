package record

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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
// listing: one listing, through the referrers API or, where the registry
// has none, the fallback tag "sha256-<hex>" (go-containerregistry's
// remote.Referrers decides). It costs one dependent round trip on a
// registry with the referrers API, and two without (the API's 404, then the
// fallback tag). No record manifest is fetched: the listing's annotations
// hold the records.
//
// A listing of more than [MaxReferrers] entries or [MaxRecords] records is
// an error. Records of other repositories' tags, or whose data does not
// match the digest they are attached to, are rejected.
func (r *Repository) List(ctx context.Context, subject v1.Hash) (Listing, error) {
	if err := validateDigest("subject", subject); err != nil {
		return Listing{}, fmt.Errorf("cannot list promotion records in %s: %w", r.repo, err)
	}
	im, err := r.referrers(ctx, subject)
	if err != nil {
		return Listing{}, fmt.Errorf("listing promotion records of %s@%s: %w", r.repo, subject, err)
	}
	l, err := readListing(im, subject, r.repo.RepositoryStr())
	if err != nil {
		return Listing{}, fmt.Errorf("listing promotion records of %s@%s: %w", r.repo, subject, err)
	}
	return l, nil
}

// referrers returns the referrers listing of subject, bounded in entries.
func (r *Repository) referrers(ctx context.Context, subject v1.Hash) (*v1.IndexManifest, error) {
	idx, err := remote.Referrers(r.repo.Digest(subject.String()), r.options(ctx)...)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("the referrers listing cannot be read: %w", err)
	}
	if n := len(im.Manifests); n > MaxReferrers {
		return nil, fmt.Errorf("the referrers listing has %d entries, more than the %d read", n, MaxReferrers)
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
