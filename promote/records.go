package promote

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/promote/internal/record"
)

// RecordArtifactType is the artifactType of a promotion record, the OCI
// artifact that every promote and rollback leaves on the digest it moved a
// target tag to (see docs/records.md). List them with, for example,
//
//	oras discover --artifact-type application/vnd.molecule-ai.promote.record.v1 REPO@DIGEST
const RecordArtifactType = record.ArtifactType

// ErrUnrecorded means that every tag moved and was read back in place, but
// a promotion record could not be written or read back. The move stands:
// a record is never a reason to undo one. The report names each record
// that is missing.
var ErrUnrecorded = errors.New("moved, but not recorded")

// Record is one promotion record: a move of a target tag, as promote
// recorded it in the registry.
type Record struct {
	// Action is "promote", "rollback", or "rolled-back" for the mark a
	// rollback leaves on the digest it moved away from.
	Action string `json:"action"`
	// SHA is the commit promoted; empty when not known.
	SHA string `json:"sha,omitempty"`
	// Digest is the digest the tag moved to.
	Digest string `json:"digest"`
	// PreviousDigest is the digest the tag moved from; empty when the move
	// created the tag.
	PreviousDigest string `json:"previousDigest,omitempty"`
	// Time is when the run moved the tag (as its writes began), RFC 3339
	// in UTC.
	Time string `json:"time"`
	// Actor is who made the move.
	Actor string `json:"actor"`
	// Run is the URL of the run that made it; empty when not known.
	Run string `json:"run,omitempty"`
	// Version is the promote version that wrote the record.
	Version string `json:"version,omitempty"`
	// AllowRolledBack is set when the move promoted a digest that had been
	// rolled back, on purpose.
	AllowRolledBack bool `json:"allowRolledBack,omitempty"`
	// ID is the digest of the record's own manifest.
	ID string `json:"id,omitempty"`
}

// recordOf turns a record read from the registry into its report form.
func recordOf(r record.Record) *Record {
	out := &Record{
		Action: string(r.Action), SHA: r.SHA, Digest: r.Digest.String(),
		Time: r.Time.UTC().Format(recordTimeFormat), Actor: r.Actor, Run: r.Run,
		Version: r.Version, AllowRolledBack: r.AllowRolledBack,
	}
	if r.PreviousDigest != (v1.Hash{}) {
		out.PreviousDigest = r.PreviousDigest.String()
	}
	if r.ID != (v1.Hash{}) {
		out.ID = r.ID.String()
	}
	return out
}

// recordTimeFormat shows a record's time as RFC 3339 in UTC, to the
// millisecond, as records hold it: moves of one minute stay apart.
const recordTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// defaultActor is recorded when a write names no actor.
const defaultActor = "unknown"

// validateWho checks the actor and run a write records, before any
// request. A run URL is never repeated: it could carry a token.
func validateWho(opts WriteOptions) error {
	var errs []error
	if err := record.ValidateActor(orDefault(opts.Actor, defaultActor)); err != nil {
		errs = append(errs, invalid("actor", opts.Actor, strings.TrimPrefix(err.Error(), "record ")))
	}
	if err := record.ValidateRun(opts.Run); err != nil {
		errs = append(errs, &InputError{Field: "run", Value: "(not shown)", Reason: strings.TrimPrefix(err.Error(), "record ")})
	}
	return errors.Join(errs...)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// recordSHA is how a record names commit text: a lower-case hex sha, or
// nothing.
var recordSHA = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// openRecords makes the promotion records of image i's destination
// reachable over its connection; nil when there is none.
func (r *run) openRecords(i int) *record.Repository {
	c, err := r.dest(i)
	if err != nil || c == nil {
		return nil
	}
	repo, err := record.Connect(c.Repo(), c.Transport())
	if err != nil {
		return nil
	}
	return repo
}

// listRecords lists the promotion records of digest d in image i's
// destination, to learn whether it was rolled back and whether the registry
// serves the referrers API.
func (r *run) listRecords(ctx context.Context, i int, d v1.Hash) (record.Listing, error) {
	im := r.images[i]
	repo := im.records
	if repo == nil {
		if repo = r.openRecords(i); repo == nil {
			return record.Listing{}, errors.New("no connection to the destination")
		}
		im.records = repo
	}
	var wg sync.WaitGroup
	if !r.write.DryRun {
		// What Prepare will need to upload, read now; an error shows then.
		wg.Go(func() { _, _ = repo.HasEmptyBlob(ctx) })
	}
	l, err := repo.List(ctx, d)
	wg.Wait()
	if err != nil {
		return l, fmt.Errorf("cannot read the promotion records: %w", err)
	}
	return l, nil
}

// rolledBackError says that digest was rolled back from the target tags of
// image i, unless the run allows it; nil otherwise.
func (r *run) rolledBackError(i int, d v1.Hash, l record.Listing, allow bool) error {
	if allow {
		return nil
	}
	var problems []string
	for _, tag := range r.p.plan.targets {
		target := record.TargetTag(r.destRepo(i).Tag(tag))
		mark, ok := record.RolledBack(l.Records, target, d)
		if !ok {
			continue
		}
		run := "no run recorded"
		if mark.Run != "" {
			run = "run " + quoteText(mark.Run)
		}
		problems = append(problems, fmt.Sprintf("%s was rolled back from %s by %q at %s (%s); to promote it anyway, allow rolled-back digests (--allow-rolled-back)",
			d, target, mark.Actor, mark.Time.UTC().Format(time.RFC3339), run))
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// recorder writes the promotion records of one run's moves.
type recorder struct {
	batch   record.Batch
	entries []int // the report entry of each record
}

// planRecords builds the records of the target moves, without any
// request: a promote or rollback record on the digest each target moved
// to, and for a rollback a rolled-back mark on the digest it left.
func (r *run) planRecords(rep *Report, moves []move, opts WriteOptions) (*recorder, error) {
	rc := &recorder{}
	now := time.Now().UTC()
	action := record.ActionPromote
	if rep.Action == "rollback" {
		action = record.ActionRollback
	}
	for _, m := range moves {
		if m.check || !m.target {
			continue
		}
		im := r.images[m.image]
		repo := im.records
		if repo == nil {
			if repo = r.openRecords(m.image); repo == nil {
				continue
			}
			im.records = repo
		}
		img := rep.Images[m.entry.index]
		sha := rep.SHA
		if sha == "" && recordSHA.MatchString(strings.ToLower(img.Revision)) {
			sha = strings.ToLower(img.Revision)
		}
		rec := record.Record{
			Action: action, Tag: record.TargetTag(m.client.Repo().Tag(m.tag)), Digest: m.after.digest,
			SHA: sha, Time: now, Actor: orDefault(opts.Actor, defaultActor), Run: opts.Run,
			Version: Version(), AllowRolledBack: opts.AllowRolledBack && action == record.ActionPromote,
		}
		var prev *manifest
		if m.before != nil && !isPlaceholder(&remote.Descriptor{Descriptor: v1.Descriptor{MediaType: m.before.mediaType}, Manifest: m.before.raw}) {
			prev = m.before
			rec.PreviousDigest = prev.digest
		}
		api := im.referrersAPI
		if _, err := rc.batch.Add(repo, rec, m.after.descriptor(), api); err != nil {
			return nil, err
		}
		rc.entries = append(rc.entries, m.entry.index)
		if action == record.ActionRollback && prev != nil {
			mark := rec
			mark.Action, mark.AllowRolledBack = record.ActionRolledBack, false
			if _, err := rc.batch.Add(repo, mark, prev.descriptor(), api); err != nil {
				return nil, err
			}
			rc.entries = append(rc.entries, m.entry.index)
		}
	}
	return rc, nil
}

// commit writes the records once every move was read back in place, and
// notes in rep each record written or missing. The error wraps
// [ErrUnrecorded] if any is missing.
func (rc *recorder) commit(ctx context.Context, rep *Report) error {
	errs := rc.batch.Commit(ctx)
	var lines []string
	for k, err := range errs {
		img := &rep.Images[rc.entries[k]]
		if err == nil {
			img.Recorded = true
			continue
		}
		img.Recorded = false
		img.RecordError = joinDetail(img.RecordError, err.Error())
		lines = append(lines, "  "+img.Target+": "+err.Error())
	}
	for k := range errs {
		img := &rep.Images[rc.entries[k]]
		if img.RecordError != "" {
			img.Recorded = false
		}
	}
	if len(lines) == 0 {
		return nil
	}
	missing := fmt.Sprintf("%d of %d promotion records are", len(lines), len(errs))
	if len(lines) == 1 {
		missing = fmt.Sprintf("1 of %d promotion records is", len(errs))
	}
	return fmt.Errorf("%w: every tag is in place, but %s missing; the moves stand, and history shows the gap:\n%s",
		ErrUnrecorded, missing, strings.Join(lines, "\n"))
}

// joinDetail appends b to a, separated by "; ".
func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// descriptor describes the manifest, as a record's subject.
func (m manifest) descriptor() v1.Descriptor {
	return v1.Descriptor{MediaType: m.mediaType, Digest: m.digest, Size: int64(len(m.raw))}
}

// checkRecords starts listing the records of source digest d of image i,
// when the run reads them, and returns a function that waits for the
// listing and says whether d may be promoted.
func (r *run) checkRecords(ctx context.Context, i int, d v1.Hash) func() error {
	if !r.readRecords {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() {
		l, err := r.listRecords(ctx, i, d)
		if err != nil {
			done <- err
			return
		}
		r.images[i].referrersAPI = l.API
		if !r.refuseRolledBack {
			done <- nil
			return
		}
		done <- r.rolledBackError(i, d, l, r.write.AllowRolledBack)
	}()
	return func() error { return <-done }
}

// lastMove reads the records of digest d and returns the newest move of
// tag onto it; nil when no record says how d came there.
func (c *repoClient) lastMove(ctx context.Context, tag string, d v1.Hash) (*Record, error) {
	repo, err := record.Connect(c.Repo(), c.Transport())
	if err != nil {
		return nil, err
	}
	l, err := repo.List(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("cannot read the promotion records: %w", err)
	}
	return lastMove(l, record.TargetTag(c.Repo().Tag(tag)), d), nil
}

// line is the human summary of the record of a tag's last move.
func (m *Record) line() string {
	s := fmt.Sprintf("%s by %s at %s", actionPast(m.Action), quoteText(m.Actor), m.Time)
	if m.Run != "" {
		s += " in run " + quoteText(m.Run)
	}
	if m.AllowRolledBack {
		s += " (rolled-back digest allowed)"
	}
	return s
}

// actionPast says what a record's action did.
func actionPast(a string) string {
	if a == "rollback" {
		return "rolled back here"
	}
	return "promoted"
}
