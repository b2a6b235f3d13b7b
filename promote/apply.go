package promote

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// move is one tag write of a plan.
type move struct {
	client *repoClient
	// entry is the report entry the move belongs to.
	entry int
	tag   string
	// before is what the tag pointed at; nil if it did not exist.
	before *manifest
	after  manifest
}

func (m move) ref() string { return m.client.repo.Tag(m.tag).Name() }

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

// apply writes every move, reads every tag back, and, if anything is not
// where it should be, puts back every tag that moved.
func (r *run) apply(ctx context.Context, rep *Report, moves []move) error {
	putErrs := make([]error, len(moves))
	_ = forEach(ctx, len(moves), r.requestLimit(), func(ctx context.Context, k int) error {
		putErrs[k] = moves[k].client.put(ctx, moves[k].tag, moves[k].after)
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
	states := r.readBack(readCtx, moves)

	var failures []string
	for k, m := range moves {
		switch {
		case putErrs[k] != nil:
			failures = append(failures, fmt.Sprintf("writing %s failed: %v", m.ref(), putErrs[k]))
		case !states[k].is(&m.after):
			failures = append(failures, fmt.Sprintf("%s reads back as %s, not %s", m.ref(), states[k], m.after.digest))
		}
	}
	if len(failures) == 0 {
		for _, m := range moves {
			img := &rep.Images[m.entry]
			img.Outcome = OutcomeChanged
			img.Tags = append(img.Tags, TagState{Tag: m.ref(), Digest: m.after.digest.String()})
		}
		return nil
	}
	return r.restore(ctx, rep, moves, states, failures)
}

// restore puts every moved tag back, reads every tag back once more, and
// records in rep exactly where each tag is.
func (r *run) restore(ctx context.Context, rep *Report, moves []move, states []readState, failures []string) error {
	rctx, cancel := r.restoreContext(ctx)
	defer cancel()

	restoreErrs := make([]error, len(moves))
	placeholders := make([]*v1.Hash, len(moves))
	_ = forEach(rctx, len(moves), r.requestLimit(), func(ctx context.Context, k int) error {
		if states[k].is(moves[k].before) {
			return nil // it never moved
		}
		placeholders[k], restoreErrs[k] = putBack(ctx, moves[k])
		return nil
	})
	final := r.readBack(rctx, moves)

	for i := range rep.Images {
		rep.Images[i].Tags = nil
	}
	var stuck []string
	for k, m := range moves {
		img := &rep.Images[m.entry]
		state := TagState{Tag: m.ref(), Digest: digestOrEmpty(final[k])}
		switch {
		case final[k].is(m.before):
		case m.before == nil && placeholders[k] != nil && final[k].found && final[k].digest == *placeholders[k]:
			state.Note = fmt.Sprintf("did not exist before; now at an empty placeholder manifest, because deleting it failed: %v", restoreErrs[k])
		default:
			state.Note = fmt.Sprintf("expected %s", describeManifest(m.before))
			if restoreErrs[k] != nil {
				state.Note += fmt.Sprintf("; putting it back failed: %v", restoreErrs[k])
			}
			if final[k].err != nil {
				state.Note += fmt.Sprintf("; reading it back failed: %v", final[k].err)
			}
			stuck = append(stuck, fmt.Sprintf("  %s is at %s (%s)", m.ref(), final[k], state.Note))
			img.Outcome = OutcomeFailed
		}
		if img.Outcome != OutcomeFailed {
			img.Outcome = OutcomeRestored
		}
		img.Tags = append(img.Tags, state)
	}
	for i := range rep.Images {
		if rep.Images[i].Outcome == OutcomeWouldChange {
			rep.Images[i].Outcome = OutcomeRestored
		}
	}

	cause := strings.Join(failures, "\n  ")
	if len(stuck) > 0 {
		return fmt.Errorf("%w: %s failed and %d of %d tags written could not be put back:\n%s\ncause:\n  %s",
			ErrMixedState, rep.Action, len(stuck), len(moves), strings.Join(stuck, "\n"), cause)
	}
	return fmt.Errorf("%w: %s failed, and all %d tags written were put back where they were; cause:\n  %s",
		ErrNotPromoted, rep.Action, len(moves), cause)
}

// putBack returns the tag of m to where it was. A tag that did not exist is
// pointed at a unique placeholder whose digest is then deleted; the promoted
// digest itself is never deleted, since that would delete the image and
// every tag on it. It returns the placeholder's digest when one was written.
func putBack(ctx context.Context, m move) (*v1.Hash, error) {
	if m.before != nil {
		return nil, m.client.put(ctx, m.tag, *m.before)
	}
	ph, err := newPlaceholder()
	if err != nil {
		return nil, err
	}
	if err := m.client.put(ctx, m.tag, ph); err != nil {
		return nil, fmt.Errorf("writing a placeholder: %w", err)
	}
	if err := m.client.deleteDigest(ctx, ph.digest); err != nil {
		return &ph.digest, err
	}
	return &ph.digest, nil
}

// readBack reads the digest of every move's tag.
func (r *run) readBack(ctx context.Context, moves []move) []readState {
	states := make([]readState, len(moves))
	_ = forEach(ctx, len(moves), r.requestLimit(), func(ctx context.Context, k int) error {
		s := &states[k]
		s.digest, s.found, s.err = moves[k].client.head(ctx, moves[k].tag)
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
