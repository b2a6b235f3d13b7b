package promote

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/promote/internal/copier"
	"github.com/molecule-ai/promote/promote/internal/registry"
)

// prepare reads what image i needs before anything is written: its
// verified source and, when the image is copied, whether the run may push
// to the destination, and, with plan set, what the destination lacks. The
// reads of the destination start as soon as the source digest is known,
// alongside the rest of the verification and the check of push access.
func (r *run) prepare(ctx context.Context, i int, s SHA, plan bool) (source, error) {
	if !r.p.copied(i) {
		return r.verifySource(ctx, i, s, nil)
	}
	var wg sync.WaitGroup
	var pushErr error
	wg.Go(func() {
		dst, err := r.dest(i)
		if err == nil {
			err = copier.CheckPush(ctx, dst.Client)
		}
		pushErr = err
	})
	var alongside func(context.Context, *remote.Descriptor) error
	if plan {
		alongside = func(ctx context.Context, desc *remote.Descriptor) error { return r.planCopy(ctx, i, desc) }
	}
	src, err := r.verifySource(ctx, i, s, alongside)
	wg.Wait()
	if pushErr != nil {
		// Without push access, what the destination lacks says nothing.
		r.images[i].copy = nil
		return src, pushErr
	}
	return src, err
}

// planCopy finds, with reads only, what the destination of image i lacks of
// the pinned manifest desc (see [copier.Plan]).
func (r *run) planCopy(ctx context.Context, i int, desc *remote.Descriptor) error {
	src, err := r.client(i)
	if err != nil {
		return err
	}
	dst, err := r.dest(i)
	if err != nil {
		return err
	}
	c, err := copier.Plan(ctx, src.Client, dst.Client, desc)
	if err != nil {
		return err
	}
	r.images[i].copy = c
	return nil
}

// copyAll copies every planned image to its destination: blobs, then
// manifests from the leaves up, then referrers and classic tags. No
// target tag is touched. Images and blobs are copied concurrently; at most
// the configured number of blobs are in flight in all. It returns an error
// wrapping [ErrNotPromoted] naming every image whose copy failed.
func (r *run) copyAll(ctx context.Context, rep *Report) error {
	var copies []*copier.Copy
	for _, im := range r.images {
		if im.copy != nil {
			copies = append(copies, im.copy)
		}
	}
	if len(copies) == 0 {
		return nil
	}
	var report func(copier.State)
	if fn := r.p.opts.copyProgress; fn != nil {
		report = func(s copier.State) { fn(CopyProgress(s)) }
	}
	prog := copier.NewReporter(report, copies)
	sem := make(chan struct{}, r.p.opts.copyConcurrency)
	_ = r.each(ctx, func(ctx context.Context, i int) error {
		im := r.images[i]
		if im.copy == nil {
			return nil
		}
		im.copyErr = im.copy.Run(ctx, sem, prog)
		prog.ImageDone(im.copy, im.copyErr)
		return nil
	})
	prog.Finish()
	r.reportCopies(rep, true)
	var lines []string
	for i, im := range r.images {
		if im.copyErr != nil {
			lines = append(lines, "  "+r.sourceRefDigest(i)+" to "+r.destRepo(i).Name()+": "+strings.ReplaceAll(im.copyErr.Error(), "\n", "\n    "))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	for i, im := range r.images {
		if im.copyErr == nil {
			continue
		}
		for _, e := range im.entries {
			rep.Images[e.index].Detail = "copying to " + r.destRepo(i).Name() + " failed: " + im.copyErr.Error()
		}
	}
	r.settle(rep, stageCopyFailed)
	return fmt.Errorf("%w: copying %d of %d images to their destinations failed, so no tag moved; what was copied is content no tag points at, which a re-run reuses:\n%s",
		ErrNotPromoted, len(lines), len(r.images), strings.Join(lines, "\n"))
}

// sourceRefDigest names image i's pinned source by its digest's prefix.
func (r *run) sourceRefDigest(i int) string {
	if c := r.images[i].copy; c != nil {
		return r.repo(i).Name() + "@" + registry.ShortDigest(c.Digest().String())
	}
	return r.repo(i).Name()
}
