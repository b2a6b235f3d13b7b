package record

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Batch writes the records of one run: each record is an artifact whose
// subject is the digest it concerns, listed in that digest's referrers.
// The run places the phases around its own writes and read-back of the
// tags it moved, so that no record is listed before the run confirmed its
// move. The order of reads and writes, in each record's repository:
//
//  1. [Batch.Prepare], alongside the tag writes: HEAD the empty blob that
//     every record names (unless [Repository.HasEmptyBlob] answered), and
//     upload it where it is missing (one POST, one monolithic PUT).
//  2. [Batch.Stage], alongside the read-back: on registries without the
//     referrers API, GET each subject's fallback tag index "sha256-<hex>"
//     and PUT the record manifests by digest, once the empty blob is in.
//     A manifest that no index names is listed nowhere, and harmless if
//     the run then fails.
//  3. [Batch.Commit], once the read-back confirmed every move: with the
//     referrers API, PUT the record manifests, which the registry lists
//     at once; without it, PUT each subject's index as read in 2, with
//     the run's entries added: a read-modify-write with no condition.
//  4. Read every subject's listing back (with the API, the API and the
//     fallback tag side by side, see [Repository.List]; without, the
//     index). Where an entry is missing, go back to 3, now on the index
//     just read, so that the other writer's entries are kept. At most
//     [MaxRewrites] times.
//
// What a concurrent writer can make us lose: a writer of the same fallback
// index (another run's record, a signature, an attestation) that read the
// index before our index PUT and writes it after drops our entry. Step 4
// finds that loss when the other PUT lands before our read-back, and
// writes the entry again, keeping the other writer's. It cannot find a
// loss whose PUT lands after our read-back: the other writer's GET-to-PUT
// interval must then span our index PUT, its answer and our read-back. The
// record manifest itself is never lost (it is stored by digest), only its
// entry, and history then shows that step as foreign or missing, never as
// anything else. In reverse, our index PUT can drop the entry of a writer
// that PUT between our GET (step 2, or the last read-back) and our PUT: a
// promote run finds and rewrites it, a tool that does not read back
// (cosign, oras) does not, as between any two of those tools.
//
// What no writer can lose: any tag that promote moved (records write only
// manifests by digest and "sha256-<hex>" fallback tags), and, on registries
// with the referrers API, any record (the registry keeps the listing).
//
// Cost, in dependent round trips once connected, whatever the number of
// records: Prepare at most three, alongside the tag writes; Stage one,
// alongside the read-back; Commit two (the write and the read-back) on any
// registry, and two more for each rewrite.
type Batch struct {
	// preps are the uploads of the empty blob, one per repository.
	preps   map[*Repository]*prep
	entries []*batchEntry
	// groups are the entries of one subject in one repository, written
	// to that subject's fallback index at once.
	groups []*group
}

// batchEntry is one record of a batch.
type batchEntry struct {
	repo    *Repository
	rec     Record
	subject v1.Descriptor
	m       artifact
	desc    v1.Descriptor
	// api: the repository serves the referrers API.
	api bool
	// staged: the manifest was PUT; written: so was its listing entry
	// (its index, or, with the API, the manifest itself); listed: it was
	// read back.
	staged, written, listed bool
	// err is why the record is not listed yet.
	err error
}

// group is the entries of one subject in one repository.
type group struct {
	repo    *Repository
	subject v1.Hash
	api     bool
	entries []*batchEntry
	// index is the fallback tag index as last read; nil when unread.
	index    *v1.IndexManifest
	indexErr error
}

// Add validates rec and adds it to the batch, to be written in repo as an
// artifact whose subject is rec.Subject(), described by subject (its media
// type and size as the caller read them). referrersAPI says whether the
// registry serves the referrers API, as a listing of the run found (see
// [Listing.API]). It makes no request; it returns the record's descriptor.
func (b *Batch) Add(repo *Repository, rec Record, subject v1.Descriptor, referrersAPI bool) (v1.Descriptor, error) {
	if err := rec.Validate(repo.repo.RepositoryStr()); err != nil {
		return v1.Descriptor{}, fmt.Errorf("cannot write a promotion record for %s: %w", repo.repo, err)
	}
	if err := validateSubject(rec, subject); err != nil {
		return v1.Descriptor{}, fmt.Errorf("cannot write a promotion record for %s: %w", repo.repo, err)
	}
	m, err := rec.manifest(subject)
	if err != nil {
		return v1.Descriptor{}, err
	}
	e := &batchEntry{repo: repo, rec: rec, subject: subject, m: m, desc: m.descriptor(), api: referrersAPI}
	e.desc.Annotations = rec.annotations()
	b.entries = append(b.entries, e)
	if b.preps == nil {
		b.preps = map[*Repository]*prep{}
	}
	if b.preps[repo] == nil {
		b.preps[repo] = &prep{done: make(chan struct{})}
	}
	for _, g := range b.groups {
		if g.repo == repo && g.subject == subject.Digest {
			g.entries = append(g.entries, e)
			g.api = g.api && referrersAPI
			return e.desc, nil
		}
	}
	b.groups = append(b.groups, &group{repo: repo, subject: subject.Digest, api: referrersAPI, entries: []*batchEntry{e}})
	return e.desc, nil
}

// prep is the upload of the empty blob to one repository: started once,
// by Prepare or by the first write that needs it.
type prep struct {
	once    sync.Once
	started atomic.Bool
	done    chan struct{}
	err     error
}

// start starts the upload to repo, unless it has started.
func (p *prep) start(ctx context.Context, repo *Repository) {
	p.once.Do(func() {
		p.started.Store(true)
		go func() {
			defer close(p.done)
			p.err = repo.prepare(ctx)
		}()
	})
}

// wait starts the upload to repo if need be, and waits for it or for
// ctx.
func (p *prep) wait(ctx context.Context, repo *Repository) error {
	p.start(ctx, repo)
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Prepare starts uploading the empty blob to every repository of the batch
// that lacks it (step 1 of [Batch]), and returns at once; each
// record manifest waits for the upload to its repository. A run calls it
// alongside its tag writes, so that the upload costs no round trip of its
// own, and ctx must outlive the batch.
func (b *Batch) Prepare(ctx context.Context) {
	for repo, p := range b.preps {
		p.start(ctx, repo)
	}
}

// Wait waits for the uploads that Prepare started, which end with the
// context Prepare was given, so that none outlives the run.
func (b *Batch) Wait() {
	for _, p := range b.preps {
		if p.started.Load() {
			<-p.done
		}
	}
}

// Stage does what may be done before the run's moves are confirmed: on
// registries without the referrers API, it reads each subject's fallback
// index and PUTs the record manifests by digest, all at once. It writes no
// tag and lists no record. A failure here is only remembered: Commit does
// the step again.
func (b *Batch) Stage(ctx context.Context) {
	var wg sync.WaitGroup
	for _, g := range b.groups {
		if g.api {
			continue
		}
		wg.Go(func() { g.index, g.indexErr = g.repo.fromFallbackTag(ctx, g.subject) })
		for _, e := range g.entries {
			wg.Go(func() { e.staged = b.putManifest(ctx, e) == nil })
		}
	}
	wg.Wait()
}

// Commit writes and lists every record of the batch, as the documentation
// of [Batch] says, and returns one error for each record, in the order
// they were added: nil for a record read back in its subject's listing.
// A record that is not listed after [MaxRewrites] rewrites has an error
// wrapping [ErrNotListed].
func (b *Batch) Commit(ctx context.Context) []error {
	var wg sync.WaitGroup
	for attempt := 0; attempt <= MaxRewrites && ctx.Err() == nil; attempt++ {
		var todo []*group
		for _, g := range b.groups {
			if slices.ContainsFunc(g.entries, func(e *batchEntry) bool { return !e.listed }) {
				todo = append(todo, g)
			}
		}
		if len(todo) == 0 {
			break
		}
		for _, g := range todo {
			wg.Go(func() { g.write(ctx, b) })
		}
		wg.Wait()
		for _, g := range todo {
			wg.Go(func() { g.confirm(ctx) })
		}
		wg.Wait()
	}
	errs := make([]error, len(b.entries))
	for k, e := range b.entries {
		if e.listed {
			continue
		}
		err := e.err
		if err == nil {
			err = ctx.Err()
		}
		errs[k] = fmt.Errorf("writing promotion record %s (%s of %s) to %s: %w", e.desc.Digest, e.rec.Action, e.rec.Tag, e.repo.repo, err)
	}
	return errs
}

// write writes the entries of g that are not listed yet: with the
// referrers API, their manifests; without, the fallback index with them
// added, after their manifests where Stage could not PUT them.
func (g *group) write(ctx context.Context, b *Batch) {
	var todo []*batchEntry
	for _, e := range g.entries {
		if !e.listed {
			e.written = false
			todo = append(todo, e)
		}
	}
	var wg sync.WaitGroup
	for _, e := range todo {
		if g.api || !e.staged {
			wg.Go(func() {
				if e.err = b.putManifest(ctx, e); e.err == nil {
					e.staged = true
				}
			})
		}
	}
	if !g.api && g.index == nil {
		wg.Go(func() { g.index, g.indexErr = g.repo.fromFallbackTag(ctx, g.subject) })
	}
	wg.Wait()
	if g.api {
		for _, e := range todo {
			e.written = e.err == nil
		}
		return
	}
	var add []v1.Descriptor
	for _, e := range todo {
		if e.staged {
			add = append(add, e.desc)
		}
	}
	if len(add) == 0 {
		return
	}
	var err error
	if g.index == nil {
		err = g.indexErr
	} else {
		err = g.repo.putFallbackIndex(ctx, g.subject, g.index, add)
	}
	for _, e := range todo {
		if e.staged {
			e.err, e.written = err, err == nil
		}
	}
}

// confirm reads the listing of g's subject and marks the entries written
// that it holds as listed. Without the referrers API, the fallback index
// read becomes the base of the next write.
func (g *group) confirm(ctx context.Context) {
	var listed []v1.Descriptor
	var err error
	if g.api {
		var im *v1.IndexManifest
		if im, err = g.repo.referrers(ctx, g.subject); err == nil {
			listed = im.Manifests
		}
	} else {
		g.index, g.indexErr = g.repo.fromFallbackTag(ctx, g.subject)
		if err = g.indexErr; err == nil {
			listed = g.index.Manifests
		} else {
			g.index = nil
		}
	}
	for _, e := range g.entries {
		if !e.written || e.listed {
			continue
		}
		switch {
		case err != nil:
			e.err = fmt.Errorf("reading the record back: %w", err)
		case slices.ContainsFunc(listed, func(d v1.Descriptor) bool { return d.Digest == e.desc.Digest }):
			e.listed, e.err = true, nil
		default:
			e.err = fmt.Errorf("%w, after %d rewrites", ErrNotListed, MaxRewrites)
		}
	}
}

// putManifest PUTs the record manifest of e once the empty blob is in its
// repository.
func (b *Batch) putManifest(ctx context.Context, e *batchEntry) error {
	if err := b.preps[e.repo].wait(ctx, e.repo); err != nil {
		return err
	}
	return e.repo.putManifest(ctx, e)
}
