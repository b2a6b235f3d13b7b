package promote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/molecule-ai/promote/promote/internal/attach"
	"github.com/molecule-ai/promote/promote/internal/record"
)

// imageCopy is the copy of one image, by digest, to its destination
// repository: what the destination lacks, found while reading, and then
// what was copied.
type imageCopy struct {
	src, dst *repoClient
	root     *copyNode
	// referrers are the OCI referrers of the root, in the order listed.
	referrers []*copyNode
	// tags are cosign's classic tags of the root found at the source.
	tags []*copyTag

	// plan runs the reads that plan the copy, a few at a time.
	plan *boundedTasks

	mu sync.Mutex
	// blobs are the blobs the destination lacks, each once.
	blobs []*copyBlob
	seen  map[v1.Hash]bool

	// manifests counts the manifests the destination lacked; manifestsDone
	// those written.
	manifests     int
	manifestsDone atomic.Int64
}

// copyNode is a manifest and, for an index, its children.
type copyNode struct {
	m manifest
	// present: the destination has this manifest, and so all it references.
	present  bool
	children []*copyNode
}

// copyTag is a classic signature or attestation tag found at the source.
type copyTag struct {
	tag  string
	node *copyNode
	// upToDate: the destination's tag is at the source's digest already.
	upToDate bool
}

// copyBlob is a blob the destination lacks.
type copyBlob struct {
	desc v1.Descriptor
	// streamed counts the bytes read from the source by the current
	// attempt; mounted is set when the registry mounted the blob instead.
	streamed atomic.Int64
	mounted  atomic.Bool
	done     atomic.Bool
}

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
	wg.Go(func() { pushErr = r.checkPush(ctx, i) })
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

// checkPush asks the destination of image i to start a blob upload, and
// cancels it: a registry that would refuse the copy refuses this first.
func (r *run) checkPush(ctx context.Context, i int) error {
	dst, err := r.dest(i)
	if err != nil {
		return err
	}
	loc, _, err := dst.startUpload(ctx, v1.Hash{}, "")
	var terr *transport.Error
	switch {
	case err == nil:
	case isAccessError(dst.explain(err)):
		return dst.explain(err)
	case errors.As(err, &terr) && terr.StatusCode >= http.StatusInternalServerError:
		// A server that fails says nothing about permissions.
		return fmt.Errorf("the destination %s failed to start a blob upload with a server error (HTTP %d), not a refusal; try again later: %w", dst.repo.Name(), terr.StatusCode, err)
	default:
		return fmt.Errorf("no push access to the destination %s: %w", dst.repo.Name(), err)
	}
	// The session holds no data; a registry that cannot cancel it lets it
	// expire.
	_ = dst.cancelUpload(ctx, loc)
	return nil
}

// planCopy finds, with reads only, what the destination of image i lacks of
// the pinned manifest desc, everything it references, its OCI referrers and
// its classic signature and attestation tags.
func (r *run) planCopy(ctx context.Context, i int, desc *remote.Descriptor) error {
	src, err := r.client(i)
	if err != nil {
		return err
	}
	dst, err := r.dest(i)
	if err != nil {
		return err
	}
	c := &imageCopy{src: src, dst: dst, seen: map[v1.Hash]bool{}, plan: newBoundedTasks(planConcurrency)}
	root := manifestOf(desc)
	var wg sync.WaitGroup
	var rootErr, attErr, destErr error
	wg.Go(func() {
		c.root = &copyNode{m: root}
		c.root.present, rootErr = dst.hasManifest(ctx, root.digest)
		if rootErr == nil && !c.root.present {
			c.expand(ctx, c.root)
		}
	})
	// What is attached at the source, and what of it the destination has,
	// are read at once.
	var found []attach.Attachment
	wg.Go(func() {
		// Promotion records stay where they were written: they name the
		// source's tags, and the destination gets records of its own.
		found, attErr = src.attachments().List(ctx, root.digest, attach.Filter{Referrers: func(at string) bool { return at != record.ArtifactType }, CosignSig: true, CosignAtt: true})
		found = slices.DeleteFunc(found, func(a attach.Attachment) bool {
			// Some registries list an artifact's config media type as its
			// artifactType; the manifest says what it is.
			return a.Manifest != nil && a.Manifest.ArtifactType == record.ArtifactType
		})
	})
	var atDest map[v1.Hash]bool
	wg.Go(func() { atDest, destErr = dst.referrerDigests(ctx, root.digest) })
	destTags := make([]readState, len(attach.ClassicSchemes))
	for k, sch := range attach.ClassicSchemes {
		wg.Go(func() { destTags[k] = dst.readState(ctx, attach.ClassicTag(root.digest, sch)) })
	}
	wg.Wait()
	errs := []error{rootErr, attErr, destErr}
	for k, st := range destTags {
		if st.err != nil {
			errs = append(errs, fmt.Errorf("reading %s at the destination: %w", attach.ClassicTag(root.digest, attach.ClassicSchemes[k]), st.err))
		}
	}
	if errors.Join(errs...) == nil {
		c.planAttached(ctx, found, atDest, destTags)
	}
	// No read outlives planCopy, whatever failed.
	if err := errors.Join(append(errs, c.plan.Wait())...); err != nil {
		return fmt.Errorf("planning the copy to %s: %w", dst.repo.Name(), err)
	}
	c.manifests = c.root.missing()
	for _, n := range c.referrers {
		c.manifests += n.missing()
	}
	for _, t := range c.tags {
		c.manifests += t.node.missing()
	}
	r.images[i].copy = c
	return nil
}

// planAttached plans the copy of what is attached to the root: found at the
// source, of which the destination lists the referrers atDest and has the
// classic tags destTags.
func (c *imageCopy) planAttached(ctx context.Context, found []attach.Attachment, atDest map[v1.Hash]bool, destTags []readState) {
	root := c.root.m
	for _, a := range found {
		n := &copyNode{m: manifest{raw: a.Raw, mediaType: a.MediaType, digest: a.Digest}}
		if a.Scheme == attach.Referrers {
			n.present = atDest[a.Digest]
			c.referrers = append(c.referrers, n)
		} else {
			tag := attach.ClassicTag(root.digest, a.Scheme)
			st := destTags[slices.Index(attach.ClassicSchemes, a.Scheme)]
			n.present = st.found && st.digest == a.Digest
			c.tags = append(c.tags, &copyTag{tag: tag, node: n, upToDate: n.present})
		}
		if !n.present {
			c.expand(ctx, n)
		}
	}
}

// referrerDigests lists the digests of the referrers of d in the
// repository.
func (c *repoClient) referrerDigests(ctx context.Context, d v1.Hash) (map[v1.Hash]bool, error) {
	im, err := c.attachments().ListReferrers(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s at the destination: %w", d, err)
	}
	out := map[v1.Hash]bool{}
	for _, m := range im.Manifests {
		out[m.Digest] = true
	}
	return out, nil
}

// planDescriptor reads the manifest desc names at the source and, unless
// the destination has it, plans what it references.
func (c *imageCopy) planDescriptor(ctx context.Context, desc v1.Descriptor) (*copyNode, error) {
	var wg sync.WaitGroup
	var present bool
	var headErr error
	wg.Go(func() { present, headErr = c.dst.hasManifest(ctx, desc.Digest) })
	got, err := c.src.puller.Get(ctx, c.src.repo.Digest(desc.Digest.String()))
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", desc.Digest, err)
	}
	if headErr != nil {
		return nil, fmt.Errorf("looking for manifest %s at the destination: %w", desc.Digest, headErr)
	}
	n := &copyNode{m: manifestOf(got), present: present}
	if !present {
		c.expand(ctx, n)
	}
	return n, nil
}

// expand plans, on c.plan, what the destination lacks of what n
// references: the children of an index, the config and layers of an
// image. The plan's Wait returns once all of it is planned.
func (c *imageCopy) expand(ctx context.Context, n *copyNode) {
	switch mt := n.m.mediaType; {
	case mt.IsIndex():
		idx, err := parseIndex(n.m.raw)
		if err != nil {
			c.plan.Fail(fmt.Errorf("index %s: %w", n.m.digest, err))
			return
		}
		n.children = make([]*copyNode, len(idx.Manifests))
		for k, child := range idx.Manifests {
			c.plan.Go(ctx, func() error {
				var err error
				n.children[k], err = c.planDescriptor(ctx, child)
				return err
			})
		}
	case mt.IsImage():
		m, err := v1.ParseManifest(bytes.NewReader(n.m.raw))
		if err != nil {
			c.plan.Fail(fmt.Errorf("parsing manifest %s: %w", n.m.digest, err))
			return
		}
		for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if b.MediaType.IsDistributable() && c.claim(b.Digest) {
				c.plan.Go(ctx, func() error { return c.planBlob(ctx, b) })
			}
		}
	default:
		c.plan.Fail(fmt.Errorf("manifest %s has media type %q, which cannot be copied", n.m.digest, mt))
	}
}

// claim reports whether d is seen for the first time in this copy.
func (c *imageCopy) claim(d v1.Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[d] {
		return false
	}
	c.seen[d] = true
	return true
}

// planBlob adds desc to the blobs to copy unless the destination has it.
func (c *imageCopy) planBlob(ctx context.Context, desc v1.Descriptor) error {
	present, err := c.dst.hasBlob(ctx, desc.Digest)
	if err != nil {
		return fmt.Errorf("looking for blob %s at the destination: %w", desc.Digest, err)
	}
	if !present {
		c.mu.Lock()
		c.blobs = append(c.blobs, &copyBlob{desc: desc})
		c.mu.Unlock()
	}
	return nil
}

// missing counts the manifests of the tree at n that the destination lacks.
func (n *copyNode) missing() int {
	if n == nil || n.present {
		return 0
	}
	count := 1
	for _, ch := range n.children {
		count += ch.missing()
	}
	return count
}

// copyAll copies every planned image to its destination: blobs, then
// manifests from the leaves up, then referrers and classic tags. No
// target tag is touched. Images and blobs are copied concurrently; at most
// the configured number of blobs are in flight in all. It returns an error
// wrapping [ErrNotPromoted] naming every image whose copy failed.
func (r *run) copyAll(ctx context.Context, rep *Report) error {
	var copies []*imageCopy
	for _, im := range r.images {
		if im.copy != nil {
			copies = append(copies, im.copy)
		}
	}
	if len(copies) == 0 {
		return nil
	}
	prog := newCopyProgress(r.p.opts.copyProgress, copies)
	sem := make(chan struct{}, r.p.opts.copyConcurrency)
	_ = r.each(ctx, func(ctx context.Context, i int) error {
		im := r.images[i]
		if im.copy == nil {
			return nil
		}
		im.copyErr = im.copy.run(ctx, sem, prog)
		prog.imageDone(im.copy, im.copyErr)
		return nil
	})
	prog.finish()
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
		return r.repo(i).Name() + "@" + shortDigest(c.root.m.digest.String())
	}
	return r.repo(i).Name()
}

// run copies one image. A blob's goroutine starts once sem has room for
// it, so the blobs in flight, and their goroutines, are bounded across
// images.
func (c *imageCopy) run(ctx context.Context, sem chan struct{}, prog *copyProgress) error {
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
			err = fmt.Errorf("copying referrer %s: %w", n.m.digest, err)
		}
	}
	wg.Wait()
	return errors.Join(append(tagErrs, err)...)
}

// writeTag writes a classic tag and what its manifest references.
func (c *imageCopy) writeTag(ctx context.Context, t *copyTag) error {
	if err := c.writeChildren(ctx, t.node); err != nil {
		return fmt.Errorf("copying %s: %w", t.tag, err)
	}
	if err := c.dst.put(ctx, t.tag, t.node.m); err != nil {
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
func (c *imageCopy) copyBlob(ctx context.Context, b *copyBlob, prog *copyProgress) error {
	backoff := c.dst.opts.backoff
	var err error
	for attempt := range backoff.Steps {
		if attempt > 0 {
			wait := time.Duration(float64(backoff.Duration) * math.Pow(backoff.Factor, float64(attempt-1)))
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(wait):
			}
		}
		if err = c.uploadBlob(ctx, b, prog); err == nil || !retryable(ctx, err) {
			break
		}
	}
	if err != nil {
		// What the last attempt streamed is not copied.
		prog.add(-b.streamed.Swap(0))
		return fmt.Errorf("copying blob %s: %w", shortDigest(b.desc.Digest.String()), err)
	}
	b.done.Store(true)
	prog.blobDone(b)
	return nil
}

// uploadBlob makes one attempt at copying b: one request to mount it or
// start its upload, and one that streams it from the source.
func (c *imageCopy) uploadBlob(ctx context.Context, b *copyBlob, prog *copyProgress) error {
	prog.add(-b.streamed.Swap(0))
	var from string
	var body io.ReadCloser
	var openErr error
	var wg sync.WaitGroup
	if c.src.repo.Registry == c.dst.repo.Registry {
		from = c.src.repo.RepositoryStr()
	} else {
		// Across registries, the source is read while the upload starts.
		wg.Go(func() { body, openErr = c.src.openBlob(ctx, b.desc.Digest) })
	}
	loc, mounted, err := c.dst.startUpload(ctx, b.desc.Digest, from)
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
		body, openErr = c.src.openBlob(ctx, b.desc.Digest)
		if body != nil {
			defer body.Close()
		}
	}
	if openErr != nil {
		return fmt.Errorf("reading it at the source: %w", openErr)
	}
	u, err := url.Parse(loc)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("digest", b.desc.Digest.String())
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), &countingReader{r: body, n: &b.streamed, prog: prog})
	if err != nil {
		return err
	}
	req.ContentLength = b.desc.Size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.dst.send(req, http.StatusCreated)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// retryable reports whether a failed attempt is worth making again: the
// registry answered with a transient status, or the connection broke.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return slices.Contains(retryStatusCodes, terr.StatusCode)
	}
	var nerr net.Error
	return errors.As(err, &nerr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// writeTree writes the manifests of the tree at n that the destination
// lacks, one after another, children first, and n by its digest: for the
// few manifests of a referrer or a classic tag.
func (c *imageCopy) writeTree(ctx context.Context, n *copyNode) error {
	if n.present {
		return nil
	}
	if err := c.writeChildren(ctx, n); err != nil {
		return err
	}
	return c.writeManifest(ctx, n)
}

// writeChildren writes the trees of n's children, one after another.
func (c *imageCopy) writeChildren(ctx context.Context, n *copyNode) error {
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
func (c *imageCopy) writeLevels(ctx context.Context, n *copyNode) error {
	for _, level := range missingLevels(n) {
		errs := make([]error, len(level))
		_ = forEach(ctx, len(level), manifestWrites, func(ctx context.Context, k int) error {
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
func missingLevels(n *copyNode) [][]*copyNode {
	var levels [][]*copyNode
	var height func(n *copyNode) int
	height = func(n *copyNode) int {
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
func (c *imageCopy) writeManifest(ctx context.Context, n *copyNode) error {
	if err := c.dst.pusher.Put(ctx, c.dst.repo.Digest(n.m.digest.String()), n.m); err != nil {
		return fmt.Errorf("writing manifest %s: %w", n.m.digest, err)
	}
	n.present = true
	c.manifestsDone.Add(1)
	return nil
}

// boundedTasks runs tasks on at most a fixed number of goroutines of their
// own. A task started while all of them are busy runs on the caller's
// goroutine instead, so that tasks may start tasks: a tree of any width or
// depth is walked on a bounded number of goroutines, without deadlock.
type boundedTasks struct {
	g    errgroup.Group
	mu   sync.Mutex
	errs []error
}

func newBoundedTasks(limit int) *boundedTasks {
	b := &boundedTasks{}
	b.g.SetLimit(limit)
	return b
}

// Go runs task and records its error; once ctx is done, it records ctx's
// error instead.
func (b *boundedTasks) Go(ctx context.Context, task func() error) {
	run := func() error {
		if err := ctx.Err(); err != nil {
			b.Fail(err)
			return nil
		}
		b.Fail(task())
		return nil
	}
	if !b.g.TryGo(run) {
		_ = run()
	}
}

// Fail records err, unless it is nil.
func (b *boundedTasks) Fail(err error) {
	if err == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, err)
}

// Wait waits for every task, and returns their errors, each once, in a
// stable order.
func (b *boundedTasks) Wait() error {
	_ = b.g.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	slices.SortFunc(b.errs, func(x, y error) int { return strings.Compare(x.Error(), y.Error()) })
	return joinUnique(b.errs...)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r    io.Reader
	n    *atomic.Int64
	prog *copyProgress
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.n.Add(int64(n))
		r.prog.add(int64(n))
	}
	return n, err
}

// openBlob streams blob d of the repository.
func (c *repoClient) openBlob(ctx context.Context, d v1.Hash) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodGet, c.url("/blobs/"+d.String()), http.StatusOK)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// hasBlob reports whether the repository has blob d.
func (c *repoClient) hasBlob(ctx context.Context, d v1.Hash) (bool, error) {
	resp, err := c.do(ctx, http.MethodHead, c.url("/blobs/"+d.String()), http.StatusOK, http.StatusNotFound)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// hasManifest reports whether the repository has the manifest with digest d.
func (c *repoClient) hasManifest(ctx context.Context, d v1.Hash) (bool, error) {
	_, err := c.puller.Head(ctx, c.repo.Digest(d.String()))
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// startUpload starts a blob upload and returns where it continues. With
// from, a repository of the same registry, it asks the registry to mount
// blob d from there instead, and mounted reports whether it did.
func (c *repoClient) startUpload(ctx context.Context, d v1.Hash, from string) (location string, mounted bool, err error) {
	u := c.url("/blobs/uploads/")
	if from != "" {
		u += "?" + url.Values{"mount": {d.String()}, "from": {from}}.Encode()
	}
	resp, err := c.do(ctx, http.MethodPost, u, http.StatusAccepted, http.StatusCreated)
	if err != nil {
		return "", false, err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		return "", true, nil
	}
	loc, err := uploadLocation(resp)
	return loc, false, err
}

// uploadLocation resolves where an upload continues. Like
// go-containerregistry, it refuses to follow a registry to a private or
// loopback address on another host.
func uploadLocation(resp *http.Response) (string, error) {
	h := resp.Header.Get("Location")
	if h == "" {
		return "", errors.New("the registry did not say where the upload continues (no Location header)")
	}
	u, err := resp.Request.URL.Parse(h)
	if err != nil {
		return "", fmt.Errorf("the registry's upload location %q: %w", h, err)
	}
	if u.Hostname() != resp.Request.URL.Hostname() {
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && (ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast()) {
			return "", fmt.Errorf("the registry's upload location %s is a private address on another host", u.Host)
		}
	}
	return u.String(), nil
}

// cancelUpload ends the upload at location, if there is one.
func (c *repoClient) cancelUpload(ctx context.Context, location string) error {
	if location == "" {
		return nil
	}
	resp, err := c.do(ctx, http.MethodDelete, location, http.StatusNoContent, http.StatusOK, http.StatusAccepted, http.StatusNotFound)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// url is the address of path under the repository's API.
func (c *repoClient) url(path string) string {
	return c.repo.Scheme() + "://" + c.repo.RegistryStr() + "/v2/" + c.repo.RepositoryStr() + path
}

// do sends one request without a body, with the registry's token, and
// checks its status. The caller closes the body of the response returned.
func (c *repoClient) do(ctx context.Context, method, url string, want ...int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	return c.send(req, want...)
}

// send sends req with the registry's token and checks its status.
func (c *repoClient) send(req *http.Request, want ...int) (*http.Response, error) {
	resp, err := (&http.Client{Transport: c.auth}).Do(req)
	if err != nil {
		return nil, withoutQuery(err)
	}
	if err := transport.CheckError(resp, want...); err != nil {
		resp.Body.Close()
		return nil, withoutQuery(err)
	}
	return resp, nil
}

// withoutQuery drops the query from the address that a failed request
// names: an upload's carries the registry's session state, long and of no
// use to a reader.
func withoutQuery(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		if u, perr := url.Parse(uerr.URL); perr == nil && u.RawQuery != "" {
			u.RawQuery = ""
			uerr.URL = u.String()
		}
	}
	var terr *transport.Error
	if errors.As(err, &terr) && terr.Request != nil && terr.Request.URL.RawQuery != "" {
		req := *terr.Request
		u := *req.URL
		u.RawQuery = ""
		req.URL = &u
		terr.Request = &req
	}
	return err
}
