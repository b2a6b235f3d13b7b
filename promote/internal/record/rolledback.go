package record

import v1 "github.com/google/go-containerregistry/pkg/v1"

// RolledBack reports whether digest was rolled back from tag (as records
// name it) after it last moved onto tag, and if so returns the rolled-back
// mark: who rolled it back, when, and from which run. records are the
// records of digest, as [Repository.List] returns them.
//
// A move onto tag is a promote or a rollback to digest; a promotion made
// with AllowRolledBack is one, so it clears the marks before it. A mark as
// old as the last move counts: of two records of the same moment, the
// rollback is taken to be the later. With no record of a move onto tag, any
// mark counts.
func RolledBack(records []Record, tag string, digest v1.Hash) (Record, bool) {
	var arrived, mark *Record
	for i, r := range records {
		if r.Tag != tag {
			continue
		}
		switch {
		case r.Action.moved() && r.Digest == digest:
			if arrived == nil || r.Time.After(arrived.Time) {
				arrived = &records[i]
			}
		case r.Action == ActionRolledBack && r.PreviousDigest == digest:
			if mark == nil || r.Time.After(mark.Time) {
				mark = &records[i]
			}
		}
	}
	if mark == nil || (arrived != nil && mark.Time.Before(arrived.Time)) {
		return Record{}, false
	}
	return *mark, true
}
