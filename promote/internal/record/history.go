package record

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultLimit is how many steps [Walk] reads when given a limit of zero.
const DefaultLimit = 20

// MaxLimit bounds the steps of one walk.
const MaxLimit = 1000

// Lister lists the promotion records of one digest. [*Repository] is one.
type Lister interface {
	List(ctx context.Context, subject v1.Hash) (Listing, error)
}

// StepKind says what is known of one step of a tag's history.
type StepKind string

// The kinds of step. Every kind but StepMove ends the walk: what lies
// before it is not known, and never guessed.
const (
	// StepMove: a record moved the tag to the step's digest.
	StepMove StepKind = "move"
	// StepForeign: the tag held the digest, but no record moved it there:
	// another tool moved it, or its record was never written.
	StepForeign StepKind = "foreign"
	// StepMissing: records moved the tag to the digest, but none before
	// the later step: the record of this move was lost or never written,
	// or the clocks of the runs that wrote them disagree.
	StepMissing StepKind = "missing"
	// StepCycle: the record that would explain the step is one the walk
	// has already shown; Step.Record is that record.
	StepCycle StepKind = "cycle"
)

// Step is one digest that a tag held, newest first, and how it got there.
type Step struct {
	// Kind says what is known of the step.
	Kind StepKind
	// Digest is the digest the tag held.
	Digest v1.Hash
	// Record is the move that put Digest on the tag, for StepMove, or the
	// record seen again, for StepCycle; zero otherwise.
	Record Record
}

// Trail is a tag's history as a walk found it.
type Trail struct {
	// Tag is the target tag, as records name it (see [TargetTag]).
	Tag string
	// Steps are the digests the tag held, newest first. The last step says
	// why the walk stopped: a StepMove with no previous digest is the move
	// that created the tag; any other kind ends the known history.
	Steps []Step
	// Truncated says that the walk stopped at its limit, and more history
	// may be read with a larger one.
	Truncated bool
}

// Walk reads the history of tag (as records name it), which holds current
// now, back through each record's previous digest, for at most limit steps
// ([DefaultLimit] when zero, at most [MaxLimit]).
//
// At each digest it takes the newest record that moved tag to that digest
// no later than the step after it (records' times order moves of one tag),
// and that the walk has not shown yet. A digest with no record of a move of
// tag is a foreign move; a digest whose records are all later is a missing
// record; a record shown before is a cycle. Each of those ends the walk, as
// the last step.
//
// Each step costs one listing, which is one dependent round trip with
// [Repository.List] on any registry: a history of 20 steps costs 20, plus
// the caller's read of the tag. A listing that fails ends the walk with an
// error, and the steps read so far.
func Walk(ctx context.Context, l Lister, tag string, current v1.Hash, limit int) (Trail, error) {
	trail := Trail{Tag: tag}
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return trail, fmt.Errorf("history limit %d is not between 1 and %d", limit, MaxLimit)
	}
	if err := validateText("tag", tag, maxTagLen, true); err != nil {
		return trail, fmt.Errorf("cannot read the history of a tag: %w", err)
	}
	if err := validateDigest("current digest", current); err != nil {
		return trail, fmt.Errorf("cannot read the history of %s: %w", tag, err)
	}
	var (
		digest = current
		bound  time.Time // the time of the step after this one; zero at the head
		shown  = make(map[v1.Hash]bool)
	)
	for len(trail.Steps) < limit {
		listing, err := l.List(ctx, digest)
		if err != nil {
			return trail, fmt.Errorf("reading the history of %s at %s: %w", tag, digest, err)
		}
		step := next(listing.Records, tag, digest, bound, shown)
		trail.Steps = append(trail.Steps, step)
		if step.Kind != StepMove || step.Record.PreviousDigest == (v1.Hash{}) {
			return trail, nil
		}
		shown[step.Record.ID] = true
		bound = step.Record.Time
		digest = step.Record.PreviousDigest
	}
	trail.Truncated = true
	return trail, nil
}

// next chooses the step of tag at digest from the digest's records (newest
// first), given the time of the step after it (zero for none) and the
// records already shown.
func next(records []Record, tag string, digest v1.Hash, bound time.Time, shown map[v1.Hash]bool) Step {
	var (
		moves    int
		repeated *Record
	)
	for i, r := range records {
		if r.Tag != tag || !r.Action.moved() || r.Digest != digest {
			continue
		}
		moves++
		if !bound.IsZero() && r.Time.After(bound) {
			continue
		}
		if shown[r.ID] {
			if repeated == nil {
				repeated = &records[i]
			}
			continue
		}
		return Step{Kind: StepMove, Digest: digest, Record: r}
	}
	switch {
	case moves == 0:
		return Step{Kind: StepForeign, Digest: digest}
	case repeated != nil:
		return Step{Kind: StepCycle, Digest: digest, Record: *repeated}
	default:
		return Step{Kind: StepMissing, Digest: digest}
	}
}
