package copier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/molecule-ai/promote/promote/internal/fanout"
	"github.com/molecule-ai/promote/promote/internal/registry"
)

// Progress hears how many bytes a copy has moved. Add must not block: the
// copy calls it from the goroutines that stream blobs.
type Progress interface {
	// Add counts n more bytes copied; n is negative when an attempt is
	// undone.
	Add(n int64)
}

// Run copies the image: blobs, then manifests from the leaves up, then
// referrers and classic tags. A blob's goroutine starts once sem has room
// for it, so the blobs in flight, and their goroutines, are bounded across
// the copies that share sem. prog may be nil.
func (c *Copy) Run(ctx context.Context, sem chan struct{}, prog Progress) error {
	if prog == nil {
		prog = noProgress{}
	}
	errs := make([]error, len(c.blobs))
	var wg sync.WaitGroup
blobs:
	for k, b := range c.blobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[k] = ctx.Err()
			break blobs
		}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[k] = c.copyBlob(ctx, b, prog)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// The classic tags name the digest, and do not need it present; the
	// referrers follow the image they refer to, one after another: on a
	// registry without the referrers API, each one rewrites the subject's
	// referrers tag.
	tagErrs := make([]error, len(c.tags))
	for k, t := range c.tags {
		if !t.upToDate {
			wg.Go(func() { tagErrs[k] = c.writeTag(ctx, t) })
		}
	}
	err := c.writeLevels(ctx, c.root)
	for _, n := range c.referrers {
		if err != nil {
			break
		}
		if err = c.writeTree(ctx, n); err != nil {
			err = fmt.Errorf("copying referrer %s: %w", n.m.Digest, err)
		}
	}
	wg.Wait()
	return errors.Join(append(tagErrs, err)...)
}

// noProgress hears nothing.
type noProgress struct{}

func (noProgress) Add(int64) {}

// writeTag writes a classic tag and what its manifest references.
func (c *Copy) writeTag(ctx context.Context, t *classicTag) error {
	if err := c.writeChildren(ctx, t.node); err != nil {
		return fmt.Errorf("copying %s: %w", t.tag, err)
	}
	if err := c.dst.PutTag(ctx, t.tag, t.node.m); err != nil {
		return fmt.Errorf("writing %s: %w", t.tag, err)
	}
	t.node.present, t.upToDate = true, true
	c.manifestsDone.Add(1)
	return nil
}

// copyBlob uploads one blob from the source: mounted when both are on one
// registry, otherwise streamed from the source's response into the
// destination's request, never held whole in memory or on disk. The
// destination checks the digest before it commits the upload. A failed
// attempt is retried whole, reading the source again.
func (c *Copy) copyBlob(ctx context.Context, b *blob, prog Progress) error {
	retryable := func(err error) bool { return registry.Retryable(ctx, err) }
	err := registry.Retry(ctx, c.dst.Backoff(), retryable, func() error { return c.uploadBlob(ctx, b, prog) })
	if err != nil {
		// What the last attempt streamed is not copied.
		prog.Add(-b.streamed.Swap(0))
		return fmt.Errorf("copying blob %s: %w", registry.ShortDigest(b.desc.Digest.String()), err)
	}
	b.done.Store(true)
	// The blob counts whole, however many of its bytes were streamed.
	prog.Add(b.desc.Size - b.streamed.Swap(b.desc.Size))
	return nil
}

// uploadBlob makes one attempt at copying b: one request to mount it or
// start its upload, and one that streams it from the source.
func (c *Copy) uploadBlob(ctx context.Context, b *blob, prog Progress) error {
	prog.Add(-b.streamed.Swap(0))
	var from string
	var body io.ReadCloser
	var openErr error
	var wg sync.WaitGroup
	if c.src.Repo().Registry == c.dst.Repo().Registry {
		from = c.src.Repo().RepositoryStr()
	} else {
		// Across registries, the source is read while the upload starts.
		wg.Go(func() { body, openErr = c.src.OpenBlob(ctx, b.desc.Digest) })
	}
	loc, mounted, err := c.dst.StartUpload(ctx, b.desc.Digest, from)
	wg.Wait()
	if body != nil {
		defer body.Close()
	}
	switch {
	case err != nil:
		return err
	case mounted:
		b.mounted.Store(true)
		return nil
	case body == nil && openErr == nil:
		// The registry would not mount the blob: it is streamed after all.
		body, openErr = c.src.OpenBlob(ctx, b.desc.Digest)
		if body != nil {
			defer body.Close()
		}
	}
	if openErr != nil {
		return fmt.Errorf("reading it at the source: %w", openErr)
	}
	return c.dst.FinishUpload(ctx, loc, b.desc.Digest, b.desc.Size, &countingReader{r: body, n: &b.streamed, prog: prog})
}

// writeTree writes the manifests of the tree at n that the destination
// lacks, one after another, children first, and n by its digest: for the
// few manifests of a referrer or a classic tag.
func (c *Copy) writeTree(ctx context.Context, n *node) error {
	if n.present {
		return nil
	}
	if err := c.writeChildren(ctx, n); err != nil {
		return err
	}
	return c.writeManifest(ctx, n)
}

// writeChildren writes the trees of n's children, one after another.
func (c *Copy) writeChildren(ctx context.Context, n *node) error {
	for _, ch := range n.children {
		if err := c.writeTree(ctx, ch); err != nil {
			return err
		}
	}
	return nil
}

// writeLevels writes the manifests of the tree at n that the destination
// lacks, a level at a time from the leaves up, so that a manifest is
// written only after everything it references; within a level, a few
// manifests at once.
func (c *Copy) writeLevels(ctx context.Context, n *node) error {
	for _, level := range missingLevels(n) {
		errs := make([]error, len(level))
		_ = fanout.ForEach(ctx, len(level), fanout.ManifestWrites, func(ctx context.Context, k int) error {
			errs[k] = c.writeManifest(ctx, level[k])
			return nil
		})
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	return nil
}

// missingLevels groups the manifests of the tree at n that the destination
// lacks by their height: first those that reference no missing manifest,
// then those that reference only the first level, and so on up to n.
func missingLevels(n *node) [][]*node {
	var levels [][]*node
	var height func(n *node) int
	height = func(n *node) int {
		if n == nil || n.present {
			return -1
		}
		h := 0
		for _, ch := range n.children {
			h = max(h, height(ch)+1)
		}
		for len(levels) <= h {
			levels = append(levels, nil)
		}
		levels[h] = append(levels[h], n)
		return h
	}
	height(n)
	return levels
}

// writeManifest writes n's manifest by its digest.
func (c *Copy) writeManifest(ctx context.Context, n *node) error {
	if err := c.dst.PutManifest(ctx, n.m.Digest, n.m); err != nil {
		return fmt.Errorf("writing manifest %s: %w", n.m.Digest, err)
	}
	n.present = true
	c.manifestsDone.Add(1)
	return nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r    io.Reader
	n    *atomic.Int64
	prog Progress
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.n.Add(int64(n))
		r.prog.Add(int64(n))
	}
	return n, err
}
