package promote

// entry is one report entry of an image run, for one of its target tags:
// where it is in the report, and what of its state is its own.
type entry struct {
	// index is the entry's place in the report's Images.
	index int
	// inPlace: the target tag was already where the run wants it.
	inPlace bool
	// fates are what became of the entry's tags after a failed run put
	// back what it could, one per tag written or read back.
	fates []tagFate
}

// stage is how far a run got when outcomes are decided.
type stage int

const (
	// stageRead: the images were read and checked; the run writes nothing.
	stageRead stage = iota
	// stagePlanned: every read succeeded and the moves are planned; none
	// was written (a dry run, or a run that stopped before its writes).
	stagePlanned
	// stageRefused: some image failed its reads or checks, so nothing is
	// written.
	stageRefused
	// stageCopyFailed: some image's copy to its destination failed, so no
	// tag moved.
	stageCopyFailed
	// stageWritten: every tag was written and read back in place.
	stageWritten
	// stageRestored: a write or read-back failed, and the run put back
	// what it could.
	stageRestored
)

// tagFate is what became of one tag of a failed run, in rising severity.
type tagFate int

const (
	// tagInPlace: a tag that was already in place, and still is.
	tagInPlace tagFate = iota
	// tagRestored: the tag is where it was before the run.
	tagRestored
	// tagConflict: another writer moved the tag.
	tagConflict
	// tagFailed: the tag is at neither this run's digest nor where it was,
	// or cannot be read.
	tagFailed
)

// outcomeState is what one entry's outcome is decided from.
type outcomeState struct {
	stage stage
	// failed: the image's reads or checks failed.
	failed bool
	// copyFailed: the image's copy to its destination failed.
	copyFailed bool
	// inPlace: the target tag was already where the run wants it.
	inPlace bool
	// fates are what became of the entry's tags, at stageRestored.
	fates []tagFate
}

// decideOutcome decides a report entry's outcome. A failed image fails,
// whatever the stage. After a failed write, the worst fate of the entry's
// tags decides: failed over conflict over restored.
func decideOutcome(s outcomeState) Outcome {
	if s.failed {
		return OutcomeFailed
	}
	switch s.stage {
	case stageRead:
		return OutcomeVerified
	case stageRefused:
		if s.inPlace {
			return OutcomeUnchanged
		}
		return OutcomeVerified
	case stageCopyFailed:
		// No tag moved, so nothing was restored: the image whose copy
		// failed failed, and the others stay as verified.
		if s.copyFailed {
			return OutcomeFailed
		}
		return OutcomeVerified
	case stageWritten:
		if s.inPlace {
			return OutcomeUnchanged
		}
		return OutcomeChanged
	case stageRestored:
		worst := tagInPlace
		for _, f := range s.fates {
			worst = max(worst, f)
		}
		switch {
		case worst == tagFailed:
			return OutcomeFailed
		case worst == tagConflict:
			return OutcomeConflict
		case worst == tagRestored || !s.inPlace:
			return OutcomeRestored
		}
		return OutcomeUnchanged
	}
	if s.inPlace {
		return OutcomeUnchanged
	}
	return OutcomeWouldChange
}

// outcome decides the outcome of e, an entry of im, at stage st.
func (im *imageRun) outcome(st stage, e *entry) Outcome {
	return decideOutcome(outcomeState{stage: st, failed: im.err != nil, copyFailed: im.copyErr != nil, inPlace: e.inPlace, fates: e.fates})
}

// settle decides the outcome of every report entry of the run at stage st.
func (r *run) settle(rep *Report, st stage) {
	for _, im := range r.images {
		for _, e := range im.entries {
			rep.Images[e.index].Outcome = im.outcome(st, e)
		}
	}
}

// errs lists why each image cannot be written; nil where it can.
func (r *run) errs() []error {
	errs := make([]error, len(r.images))
	for i, im := range r.images {
		errs[i] = im.err
	}
	return errs
}
