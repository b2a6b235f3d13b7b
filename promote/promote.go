package promote

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/promote/internal/fanout"
	"github.com/molecule-ai/promote/promote/internal/registry"
)

// WriteOptions adjust one Promote or Rollback call.
type WriteOptions struct {
	// DryRun makes every read and no write, and reports what would change.
	DryRun bool
	// NoBackup skips writing "<target>-previous" at the target's old digest.
	NoBackup bool
	// ForwardOnly, when set, refuses a promotion whose commit does not
	// descend from (or equal) the commit every existing target tag carries
	// in its revision label, as this history tells. A target without a
	// revision, or a commit the history lacks, fails too; a target tag that
	// does not exist yet passes. Nil checks nothing. [Promoter.Rollback]
	// never applies it: going back is what a rollback is for.
	ForwardOnly History
	// Actor is who the promotion records name as having made the moves: a
	// CI login or a user name; "unknown" when empty. Records are public to
	// anyone who can pull, so it must never be a secret.
	Actor string
	// Run is the URL of the run, such as a GitHub Actions run with its
	// attempt; empty when not known. A URL with user information, a query
	// or a fragment is refused.
	Run string
	// AllowRolledBack promotes digests that a rollback moved away from a
	// target tag since they were last moved there; without it such a
	// promotion is refused before any write, naming who rolled back, when
	// and from which run. The records say it was used. A rollback never
	// needs it.
	AllowRolledBack bool
}

// current is what a repository's target tags and their backups point at
// before anything is written. A nil descriptor means the tag does not exist.
type current struct {
	targets []*remote.Descriptor
	backups []*remote.Descriptor
}

// Promote verifies the images of sha, pins their digests, and moves every
// target tag of every repository to its pinned digest, all or nothing.
//
// Target tags already at the pinned digest are left alone. Unless
// opts.NoBackup is set, each target that moves gets a backup tag
// "<target>-previous" at its old digest. Every written tag is read back; if
// any write or read-back fails, every tag that moved is put back and the
// error wraps [ErrNotPromoted], or [ErrMixedState] if some could not be.
func (p *Promoter) Promote(ctx context.Context, sha SHA, opts WriteOptions) (*Report, error) {
	if sha.IsZero() {
		return nil, invalid("sha", "", "a commit sha is required")
	}
	return p.promote(ctx, "promote", sha, opts)
}

// Rollback moves the target tags back. With a sha (not the zero SHA) it promotes that sha's
// images, exactly as [Promoter.Promote] does. Without one it swaps every
// target tag with its "<target>-previous" backup, so a second rollback
// undoes the first; every repository must have the backup tag, and
// opts.NoBackup cannot be honoured. The same all-or-nothing rules apply.
// opts.ForwardOnly is ignored.
func (p *Promoter) Rollback(ctx context.Context, sha SHA, opts WriteOptions) (*Report, error) {
	opts.ForwardOnly = nil
	opts.AllowRolledBack = false
	if err := validateWho(opts); err != nil {
		return nil, err
	}
	if !sha.IsZero() {
		return p.promote(ctx, "rollback", sha, opts)
	}
	if opts.NoBackup {
		return nil, invalid("no-backup", "true", "a rollback to the backup tags swaps each target with its backup, so it always writes the backup; give a sha to skip it")
	}
	return p.swap(ctx, opts)
}

func (p *Promoter) promote(ctx context.Context, action string, s SHA, opts WriteOptions) (*Report, error) {
	if err := checkSHA(p.opts.signatures, s); err != nil {
		return nil, err
	}
	if err := validateWho(opts); err != nil {
		return nil, err
	}
	ctx, cancel := p.bound(ctx)
	defer cancel()
	rep := &Report{Action: action, SHA: s.String(), DryRun: opts.DryRun}
	p.describe(rep)
	r := p.connect(ctx, access{sources: true, write: !opts.DryRun})
	r.write = opts
	// The records of each source digest are read alongside its
	// verification: a promotion refuses a digest that was rolled back.
	r.readRecords, r.refuseRolledBack = true, action == "promote"
	_ = r.each(ctx, func(ctx context.Context, i int) error {
		im := r.images[i]
		var wg sync.WaitGroup
		var srcErr, curErr error
		wg.Go(func() { im.source, srcErr = r.prepare(ctx, i, s, true) })
		wg.Go(func() {
			im.current, curErr = r.readCurrent(ctx, i, !opts.NoBackup)
			if curErr == nil && opts.ForwardOnly != nil {
				im.commits, curErr = r.targetCommits(ctx, i, im.current)
			}
		})
		wg.Wait()
		im.err = fanout.JoinUnique(srcErr, curErr)
		return nil
	})
	if opts.ForwardOnly != nil {
		r.checkForward(ctx, opts.ForwardOnly, s)
	}

	pl := planner{rep: rep}
	for i, im := range r.images {
		for t, tag := range p.plan.targets {
			img := Image{Repository: r.repo(i).Name(), Source: r.sourceRef(i, s), Target: r.destRepo(i).Tag(tag).Name()}
			img.describe(im.source, s)
			if im.err != nil {
				pl.fail(im, img)
				continue
			}
			pl.add(i, im, img, tagMove{tag: tag, old: im.current.targets[t], next: im.source.desc, backup: im.current.backups[t], writeBackup: !opts.NoBackup})
		}
	}
	return rep, r.finishPlan(ctx, rep, "verification failed", sourceRefs(r, s), pl.moves)
}

// swap plans moving every target tag to its backup and the backup to the
// target's old digest.
func (p *Promoter) swap(ctx context.Context, opts WriteOptions) (*Report, error) {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	rep := &Report{Action: "rollback", DryRun: opts.DryRun}
	p.describe(rep)
	r := p.connect(ctx, access{write: !opts.DryRun})
	r.write = opts
	_ = r.each(ctx, func(ctx context.Context, i int) error {
		im := r.images[i]
		im.current, im.err = r.readCurrent(ctx, i, true)
		if im.err != nil {
			return nil
		}
		var missing []error
		for t, tag := range p.plan.targets {
			switch bk := im.current.backups[t]; {
			case bk == nil:
				missing = append(missing, fmt.Errorf("nothing to roll back to: %s does not exist", tag+BackupSuffix))
			case isPlaceholder(bk):
				missing = append(missing, fmt.Errorf("nothing to roll back to: %s is a placeholder left by a failed run", tag+BackupSuffix))
			}
		}
		im.err = fanout.JoinUnique(missing...)
		if im.err == nil {
			var wg sync.WaitGroup
			wg.Go(func() {
				// Only to learn whether the registry serves the referrers
				// API, for the records this rollback writes.
				if l, err := r.listRecords(ctx, i, im.current.backups[0].Digest); err == nil {
					im.referrersAPI = l.API
				}
			})
			// The commit each backup holds, for the report and the
			// records; a backup that names none is rolled back to all the
			// same.
			im.revisions = make([]string, len(p.plan.targets))
			for t, bk := range im.current.backups {
				wg.Go(func() {
					if info, err := im.dst.Inspect(ctx, bk, registry.InspectOptions{}); err == nil {
						im.revisions[t] = info.Revision
					}
				})
			}
			im.signatures, im.err = im.dst.backupSignatures(ctx, im.current.backups, r.repo(i))
			wg.Wait()
		}
		return nil
	})

	pl := planner{rep: rep}
	for i, im := range r.images {
		for t, tag := range p.plan.targets {
			img := Image{Repository: r.repo(i).Name(), Source: r.destRepo(i).Tag(tag + BackupSuffix).Name(), Target: r.destRepo(i).Tag(tag).Name()}
			if im.err != nil {
				pl.fail(im, img)
				continue
			}
			bk := im.current.backups[t]
			img.Digest, img.MediaType = bk.Digest.String(), string(bk.MediaType)
			if im.revisions != nil {
				img.Revision = im.revisions[t]
			}
			if im.signatures != nil {
				img.Signature = im.signatures[t]
			}
			// The backup moves to where the target was.
			pl.add(i, im, img, tagMove{tag: tag, old: im.current.targets[t], next: bk, backup: bk, writeBackup: true})
		}
	}
	return rep, r.finishPlan(ctx, rep, "rollback not possible", repoNames(r), pl.moves)
}

// planner collects report entries and the tag moves that carry them out.
type planner struct {
	rep   *Report
	moves []move
}

// fail records img, an entry of im, as failed with im's error.
func (pl *planner) fail(im *imageRun, img Image) {
	img.Detail = im.err.Error()
	pl.entry(im, img, false)
}

// entry adds img to the report as an entry of im, and decides its outcome.
func (pl *planner) entry(im *imageRun, img Image, inPlace bool) *entry {
	e := &entry{index: len(pl.rep.Images), inPlace: inPlace}
	im.entries = append(im.entries, e)
	img.Outcome = im.outcome(stagePlanned, e)
	pl.rep.Images = append(pl.rep.Images, img)
	return e
}

// tagMove is what is planned for one target tag.
type tagMove struct {
	// tag points at old (nil: absent), and is to point at next.
	tag       string
	old, next *remote.Descriptor
	// backup is where the tag's backup tag points now (nil: absent);
	// writeBackup moves it to old.
	backup      *remote.Descriptor
	writeBackup bool
}

// add records img, an entry of image i's run im, for m's target tag. If the tag is already at m.next,
// nothing moves, but the tag is read back with the others to check that no
// other run moved it meanwhile. Otherwise the target moves to m.next and,
// with m.writeBackup set and a target that existed, its backup tag moves to
// m.old. A placeholder left by a failed run counts as absent: it is
// replaced, but never backed up.
func (pl *planner) add(i int, im *imageRun, img Image, m tagMove) {
	c, tag, old, next, bk := im.dst, m.tag, m.old, m.next, m.backup
	prev := live(old)
	if prev != nil {
		img.PreviousDigest = prev.Digest.String()
	}
	if prev != nil && prev.Digest == next.Digest {
		e := pl.entry(im, img, true)
		pl.moves = append(pl.moves, move{client: c, entry: e, image: i, target: true, tag: tag, before: manifestPtr(old), after: manifestOf(next), check: true})
		return
	}
	e := pl.entry(im, img, false)
	pl.moves = append(pl.moves, move{client: c, entry: e, image: i, target: true, tag: tag, before: manifestPtr(old), after: manifestOf(next)})
	if m.writeBackup && prev != nil && (bk == nil || bk.Digest != prev.Digest) {
		pl.moves = append(pl.moves, move{client: c, entry: e, image: i, tag: tag + BackupSuffix, before: manifestPtr(bk), after: manifestOf(prev)})
	}
}

// repoNames lists every repository's name.
func repoNames(r *run) []string {
	names := make([]string, len(r.images))
	for i := range names {
		names[i] = r.repo(i).Name()
	}
	return names
}

// finishPlan fails on any read error (headed what), stops at a dry run, or
// applies moves.
func (r *run) finishPlan(ctx context.Context, rep *Report, what string, refs []string, moves []move) error {
	if err := verificationError(what, refs, r.errs()); err != nil {
		r.settle(rep, stageRefused)
		return rep.finish(err)
	}
	if rep.DryRun {
		r.reportCopies(rep, false)
		return rep.finish(nil)
	}
	if hook := r.p.opts.afterVerify; hook != nil {
		hook(ctx)
	}
	if err := r.copyAll(ctx, rep); err != nil {
		return rep.finish(err)
	}
	return rep.finish(r.apply(ctx, rep, moves))
}

// readCurrent reads every target tag of repository i, and their backup tags
// when withBackups is set, all at once.
func (r *run) readCurrent(ctx context.Context, i int, withBackups bool) (current, error) {
	c, err := r.dest(i)
	if err != nil {
		return current{}, err
	}
	targets := r.p.plan.targets
	cur := current{targets: make([]*remote.Descriptor, len(targets)), backups: make([]*remote.Descriptor, len(targets))}
	errs := make([]error, 2*len(targets))
	var wg sync.WaitGroup
	read := func(slot **remote.Descriptor, errp *error, tag string) {
		wg.Go(func() {
			d, _, err := c.Get(ctx, tag)
			if err != nil && !isAccessError(err) {
				err = fmt.Errorf("cannot read current %s: %w", c.Repo().Tag(tag).Name(), err)
			}
			*slot, *errp = d, err
		})
	}
	for t, tag := range targets {
		read(&cur.targets[t], &errs[2*t], tag)
		if withBackups {
			read(&cur.backups[t], &errs[2*t+1], tag+BackupSuffix)
		}
	}
	wg.Wait()
	return cur, fanout.JoinUnique(errs...)
}

func manifestPtr(d *remote.Descriptor) *manifest {
	if d == nil {
		return nil
	}
	m := manifestOf(d)
	return &m
}
