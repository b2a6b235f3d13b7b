package promote

import (
	"context"
	"fmt"
	"sync"

	"github.com/molecule-ai/promote/promote/internal/fanout"
	"github.com/molecule-ai/promote/promote/internal/registry"
)

// targetCommit is the commit a target tag carries before a promotion.
type targetCommit struct {
	// exists is unset when the tag does not exist yet, or holds only a
	// placeholder left by a failed run.
	exists bool
	// revision is the tag's org.opencontainers.image.revision; empty when
	// the image has none.
	revision string
}

// targetCommits reads the revision of every existing target tag of
// repository i, as cur found them. It runs right after the targets are
// read, beside the source's own inspection, so it adds no round trip.
func (r *run) targetCommits(ctx context.Context, i int, cur current) ([]targetCommit, error) {
	c, err := r.dest(i)
	if err != nil {
		return nil, err
	}
	commits := make([]targetCommit, len(cur.targets))
	errs := make([]error, len(cur.targets))
	var wg sync.WaitGroup
	for t, desc := range cur.targets {
		if live(desc) == nil {
			continue // absent, or a placeholder left by a failed run
		}
		wg.Go(func() {
			info, err := c.Inspect(ctx, desc, registry.InspectOptions{})
			if err != nil && !isAccessError(err) {
				err = fmt.Errorf("cannot read the revision of %s: %w", r.p.plan.targets[t], err)
			}
			commits[t] = targetCommit{exists: err == nil, revision: info.Revision}
			errs[t] = err
		})
	}
	wg.Wait()
	return commits, fanout.JoinUnique(errs...)
}

// checkForward adds to each image's error every target tag that holds a
// commit s does not descend from, or whose commit cannot be compared. It
// asks h once per distinct commit, and reads no registry.
func (r *run) checkForward(ctx context.Context, h History, s SHA) {
	type answer struct {
		descends bool
		err      error
	}
	asked := map[SHA]answer{}
	for _, im := range r.images {
		var problems []error
		for t, tc := range im.commits {
			if !tc.exists {
				continue // a new tag moves nothing backwards
			}
			tag := r.p.plan.targets[t]
			if tc.revision == "" {
				problems = append(problems, fmt.Errorf("%s carries no commit (no %s label or annotation), so it cannot be told whether %s is newer; promote without the forward-only check to move it anyway",
					tag, registry.RevisionKey, s))
				continue
			}
			current, err := ParseSHA(tc.revision)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s carries revision %q, which is not a commit sha, so it cannot be told whether %s is newer; promote without the forward-only check to move it anyway",
					tag, tc.revision, s))
				continue
			}
			a, ok := asked[current]
			if !ok {
				a.descends, a.err = h.IsAncestor(ctx, current, s)
				asked[current] = a
			}
			switch {
			case a.err != nil:
				problems = append(problems, fmt.Errorf("cannot tell whether %s descends from %s, the commit %s carries: %w", s, current, tag, a.err))
			case !a.descends:
				problems = append(problems, fmt.Errorf("%s carries commit %s, and %s does not descend from it: promoting would move %s backwards; use rollback to go back on purpose",
					tag, current, s, tag))
			}
		}
		im.err = fanout.JoinUnique(append([]error{im.err}, problems...)...)
	}
}
