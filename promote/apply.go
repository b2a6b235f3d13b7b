package promote

import (
	"context"
	"fmt"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/molecule-ai/promote/promote/internal/fanout"
)

// move is one tag write of a plan.
type move struct {
	client *repoClient
	// entry is the report entry the move belongs to.
	entry *entry
	// image is the index of the image whose tag moves; target marks the
	// move of a target tag, which is recorded, as opposed to its backup.
	image  int
	target bool
	tag    string
	// before is what the tag pointed at; nil if it did not exist.
	before *manifest
	after  manifest
	// check marks a target that was already where the run wants it: it is
	// not written, only read back with the others, because a run that
	// decided from a read torn by another run's writes must notice them.
	check bool
}

func (m move) ref() string { return m.client.Repo().Tag(m.tag).Name() }

// readState is a tag as read back from the registry.
type readState struct {
	digest v1.Hash
	found  bool
	err    error
}

// is reports whether the tag was read and points at want (nil: absent).
func (s readState) is(want *manifest) bool {
	if s.err != nil {
		return false
	}
	if want == nil {
		return !s.found
	}
	return s.found && s.digest == want.digest
}

func (s readState) String() string {
	switch {
	case s.err != nil:
		return "unknown (" + s.err.Error() + ")"
	case !s.found:
		return "absent"
	default:
		return s.digest.String()
	}
}

// holding is whose content a tag holds, as far as one run can tell.
type holding int

const (
	// heldByUs: the tag is at what this run wrote.
	heldByUs holding = iota
	// heldAsBefore: the tag is at what this run read before writing.
	heldAsBefore
	// heldByOther: the tag is at anything else, so another writer moved it.
	heldByOther
	// heldUnknown: the tag could not be read.
	heldUnknown
)

// holder tells whose content s is for move m.
func (m move) holder(s readState) holding {
	switch {
	case s.err != nil:
		return heldUnknown
	case s.is(&m.after):
		return heldByUs
	case s.is(m.before):
		return heldAsBefore
	default:
		return heldByOther
	}
}

// apply writes every move, reads every tag back, and, if any tag is not
// where this run put it, puts back the tags that still hold what this run
// wrote.
//
// The order is load-bearing: every write of this run completes before any
// of its read-backs starts, every target tag is read back (also those that
// were already in place), and nothing is restored before every tag was read
// back. Of two overlapping runs, the later read-back wave therefore starts
// after all writes of both, so it reads the end state: it either finds
// every tag where its run wants it, or sees the other run's digests and
// reports a conflict instead of taking them for its own failure. Reading a
// tag back as each write returns, or skipping the tags already in place,
// would let both runs miss each other.
func (r *run) apply(ctx context.Context, rep *Report, moves []move) error {
	writes := 0
	for _, m := range moves {
		if !m.check {
			writes++
		}
	}
	if writes == 0 {
		return nil // nothing to write, and nothing of this run to be undone
	}
	records, err := r.planRecords(rep, moves, r.write)
	if err != nil {
		return fmt.Errorf("%w: %s failed before any tag moved; the registry is as before. cause: %w", ErrNotPromoted, rep.Action, err)
	}
	// The empty blob that records name is uploaded alongside the writes.
	records.batch.Prepare(ctx)
	defer records.batch.Wait()
	putErrs := make([]error, len(moves))
	_ = fanout.ForEach(ctx, len(moves), r.requestLimit(), func(ctx context.Context, k int) error {
		if !moves[k].check {
			putErrs[k] = moves[k].client.PutTag(ctx, moves[k].tag, moves[k].after)
		}
		return nil
	})

	// A promotion that failed because its context expired must still be
	// checked and undone, so reading back may need a context of its own.
	readCtx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		readCtx, cancel = r.restoreContext(ctx)
		defer cancel()
	}
	// Records are staged alongside the read-back: on registries without
	// the referrers API, nothing staged is listed until Commit.
	var staged sync.WaitGroup
	staged.Go(func() {
		if ctx.Err() == nil {
			records.batch.Stage(ctx)
		}
	})
	states := r.readBack(readCtx, moves)
	staged.Wait()

	outcomes := make([]moveOutcome, len(moves))
	failed := false
	for k, m := range moves {
		o := &outcomes[k]
		o.putErr, o.first = putErrs[k], states[k]
		switch h := m.holder(states[k]); {
		case m.check && h == heldByUs:
			continue
		case m.check:
			o.other = h != heldUnknown
			o.cause = fmt.Sprintf("%s was already at %s, and reads back as %s: another run moved it", m.ref(), m.after.digest, states[k])
		case h == heldByUs:
			o.moved = true
			continue
		case h == heldAsBefore:
			if putErrs[k] == nil {
				// The registry took the write, yet the tag is back where
				// it was: another run put it there.
				o.other = true
				o.cause = fmt.Sprintf("%s was written, then found back at %s: another run moved it", m.ref(), describeManifest(m.before))
			} else {
				o.cause = fmt.Sprintf("writing %s failed: %v", m.ref(), putErrs[k])
				o.causeErr = putErrs[k]
			}
		case h == heldByOther:
			o.other = true
			o.cause = fmt.Sprintf("%s reads back as %s, written by another run", m.ref(), states[k])
		case h == heldUnknown:
			o.moved = true // it may have moved: treat it as ours until read again
			o.cause = fmt.Sprintf("cannot read back %s: %v", m.ref(), states[k].err)
			o.causeErr = states[k].err
		}
		failed = true
	}
	if !failed {
		for _, m := range moves {
			if m.check {
				continue
			}
			img := &rep.Images[m.entry.index]
			img.Tags = append(img.Tags, TagState{Tag: m.ref(), Digest: m.after.digest.String()})
		}
		r.settle(rep, stageWritten)
		// Every move is confirmed: now, and only now, the records.
		return records.commit(ctx, rep)
	}
	if hook := r.p.opts.beforeRestore; hook != nil {
		hook(ctx)
	}
	return r.restore(ctx, rep, moves, outcomes)
}

// moveOutcome is what became of one move after the read-back.
type moveOutcome struct {
	putErr error
	// first is the tag as read back after all writes.
	first readState
	// moved: the tag held, or may have held, what this run wrote.
	moved bool
	// other: another writer moved the tag; this run never writes it again.
	other bool
	// cause says why the run failed at this tag, if it did; causeErr is
	// the error behind it, if any.
	cause    string
	causeErr error
	// putBack records the attempt to put the tag back.
	putBack       bool
	putBackErr    error
	placeholder   *v1.Hash
	otherRevision string
	final         readState
}

// restore puts back every tag that still holds what this run wrote, reads
// every tag once more, and records in rep exactly where each tag is.
//
// Each tag is read again just before it is put back, and left alone unless
// it still holds this run's digest: a tag that another writer moved since
// the read-back is theirs. The registry offers no compare-and-swap, so a
// write landing between that read and the put-back can still be undone;
// the window is one round trip, and the final read-back reports it.
func (r *run) restore(ctx context.Context, rep *Report, moves []move, outcomes []moveOutcome) error {
	rctx, cancel := r.restoreContext(ctx)
	defer cancel()

	_ = fanout.ForEach(rctx, len(moves), r.requestLimit(), func(ctx context.Context, k int) error {
		m, o := moves[k], &outcomes[k]
		if !o.moved || o.other {
			return nil
		}
		now := m.client.readState(ctx, m.tag)
		switch m.holder(now) {
		case heldByUs:
			o.putBack = true
			o.placeholder, o.putBackErr = putBack(ctx, m)
		case heldByOther:
			o.other = true
			o.cause = fmt.Sprintf("%s was moved to %s by another run before it could be put back", m.ref(), now)
		case heldUnknown:
			o.putBackErr = fmt.Errorf("reading it before putting it back: %w", now.err)
		}
		return nil
	})
	final := r.readBack(rctx, moves)

	// Each call touches only its own outcome.
	_ = fanout.ForEach(rctx, len(moves), r.requestLimit(), func(ctx context.Context, k int) error {
		o := &outcomes[k]
		o.final = final[k]
		if moves[k].holder(final[k]) == heldByOther && !o.isPlaceholder() {
			o.other, o.otherRevision = true, moves[k].client.revisionOf(ctx, final[k].digest)
		}
		return nil
	})
	return r.report(rep, moves, outcomes)
}

// isPlaceholder reports whether the tag ended at the placeholder this run
// wrote to remove it.
func (o *moveOutcome) isPlaceholder() bool {
	return o.placeholder != nil && o.final.err == nil && o.final.found && o.final.digest == *o.placeholder
}

// report records where every tag of a failed run ended, and returns the
// run's error: [ErrMixedState] unless every tag is where it was before.
func (r *run) report(rep *Report, moves []move, outcomes []moveOutcome) error {
	for i := range rep.Images {
		rep.Images[i].Tags = nil
	}
	var causes, where []string
	// causeErrs are the errors behind the causes and the notes, which
	// errors.Is and errors.As reach through the run's error.
	var causeErrs []error
	var conflicts, stuck, written, putBack int
	for k, m := range moves {
		o := &outcomes[k]
		img := &rep.Images[m.entry.index]
		if o.cause != "" {
			causes = append(causes, o.cause)
		}
		causeErrs = append(causeErrs, o.causeErr, o.putBackErr, o.final.err)
		if o.moved && o.first.err == nil {
			written++
		}
		state := TagState{Tag: m.ref(), Digest: digestOrEmpty(o.final), Unknown: o.final.err != nil}
		h := m.holder(o.final)
		switch {
		case m.check && h == heldByUs:
			state.Note = "unchanged"
			if o.other {
				state.Note += "; another run had moved it meanwhile"
				conflicts++
				m.entry.fates = append(m.entry.fates, tagConflict)
			}
		case o.isPlaceholder():
			state.Note = "placeholder (left by this failed run): the tag did not exist before, and deleting the placeholder failed"
			if o.putBackErr != nil {
				state.Note += fmt.Sprintf(": %v", o.putBackErr)
			}
			stuck++
			m.entry.fates = append(m.entry.fates, tagFailed)
		case h == heldAsBefore:
			state.Note = "as before"
			if o.putBack {
				state.Note = "put back"
				putBack++
			}
			fate := tagRestored
			if o.other {
				state.Note += "; another run had moved it meanwhile"
				conflicts++
				fate = tagConflict
			}
			m.entry.fates = append(m.entry.fates, fate)
		case h == heldByOther:
			state.Revision = o.otherRevision
			state.Note = "moved by another run"
			if o.otherRevision != "" {
				state.Note += " (revision " + o.otherRevision + ")"
			}
			conflicts++
			m.entry.fates = append(m.entry.fates, tagConflict)
		case h == heldByUs:
			state.Note = "still at this run's digest: putting it back failed"
			if o.putBackErr != nil {
				state.Note += fmt.Sprintf(": %v", o.putBackErr)
			}
			stuck++
			m.entry.fates = append(m.entry.fates, tagFailed)
		default:
			state.Note = fmt.Sprintf("unknown: reading it back failed: %v", o.final.err)
			stuck++
			m.entry.fates = append(m.entry.fates, tagFailed)
		}
		img.Tags = append(img.Tags, state)
		where = append(where, fmt.Sprintf("  %s is at %s (%s)", state.Tag, state.where(), state.Note))
	}
	r.settle(rep, stageRestored)

	cause := "cause:\n  " + strings.Join(causes, "\n  ")
	var err error
	switch {
	case conflicts > 0:
		err = fmt.Errorf("%w: another promotion or rollback ran at the same time; %d of %d tags are now where another run put them, and this run left them alone. Tags now:\n%s\n%s\nTo finish, re-run promote for the commit that should be in production, or run rollback.",
			ErrMixedState, conflicts, len(moves), strings.Join(where, "\n"), cause)
	case stuck > 0:
		err = fmt.Errorf("%w: %s failed and %d of %d tags are not where they were. Tags now:\n%s\n%s\nTo finish, re-run promote for the commit that should be in production, or run rollback.",
			ErrMixedState, rep.Action, stuck, len(moves), strings.Join(where, "\n"), cause)
	case written == 0:
		err = fmt.Errorf("%w: %s failed before any tag moved; the registry is as before. %s", ErrNotPromoted, rep.Action, cause)
	default:
		err = fmt.Errorf("%w: %s failed; the %d tags that had moved were put back, and the registry is as before. %s",
			ErrNotPromoted, rep.Action, putBack, cause)
	}
	return withCauses(err, causeErrs)
}

// putBack returns the tag of m to where it was. A tag that did not exist is
// pointed at a unique placeholder whose digest is then deleted; the promoted
// digest itself is never deleted, since that would delete the image and
// every tag on it. It returns the placeholder's digest when one was written.
func putBack(ctx context.Context, m move) (*v1.Hash, error) {
	if m.before != nil {
		return nil, m.client.PutTag(ctx, m.tag, *m.before)
	}
	ph, err := newPlaceholder()
	if err != nil {
		return nil, err
	}
	if err := m.client.PutTag(ctx, m.tag, ph); err != nil {
		return nil, fmt.Errorf("writing a placeholder: %w", err)
	}
	if err := m.client.DeleteDigest(ctx, ph.digest); err != nil {
		return &ph.digest, fmt.Errorf("deleting the placeholder %s: %w", ph.digest, err)
	}
	return &ph.digest, nil
}

// readBack reads the digest of every move's tag.
func (r *run) readBack(ctx context.Context, moves []move) []readState {
	states := make([]readState, len(moves))
	_ = fanout.ForEach(ctx, len(moves), r.requestLimit(), func(ctx context.Context, k int) error {
		states[k] = moves[k].client.readState(ctx, moves[k].tag)
		return nil
	})
	return states
}

// requestLimit bounds the writes and reads of tags in flight: the
// repository limit times the most tags one repository can have written.
func (r *run) requestLimit() int {
	return r.p.opts.concurrency * 2 * len(r.p.plan.targets)
}

// restoreContext is a context that outlives ctx's cancellation, bounded by
// the restore timeout.
func (r *run) restoreContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), r.p.opts.restoreTimeout)
}

func digestOrEmpty(s readState) string {
	if s.err != nil || !s.found {
		return ""
	}
	return s.digest.String()
}

func describeManifest(m *manifest) string {
	if m == nil {
		return "absent"
	}
	return m.digest.String()
}
