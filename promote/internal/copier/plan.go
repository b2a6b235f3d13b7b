// Package copier copies one image, by digest, from its source repository
// to a destination repository: its manifests, blobs, OCI referrers and
// cosign's classic .sig and .att tags. It moves no tag other than those
// classic tags; the caller moves the target tags after every copy
// succeeded.
//
// A copy is planned with reads only ([Plan]), then run ([Copy.Run]):
// blobs first, then manifests from the leaves up, so that no manifest is
// written before what it references; then the referrers, one after
// another, and the classic tags.
//
// Manifests are written with go-containerregistry's remote.Pusher. Blobs
// are not: remote.Pusher.Upload checks for the blob again (the plan did),
// sends it as a PATCH then a PUT where one PUT does, and waits between its
// retries with a sleep that the context cannot cut short. Here a blob costs
// one request to mount it or start its upload and one PUT that streams it
// from the source; the destination checks the digest before it commits the
// blob, and a failed attempt is retried whole, reading the source again,
// with a wait that gives way to the context.
package copier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/molecule-ai/promote/promote/internal/attach"
	"github.com/molecule-ai/promote/promote/internal/fanout"
	"github.com/molecule-ai/promote/promote/internal/record"
	"github.com/molecule-ai/promote/promote/internal/registry"
)

// Copy is the copy of one image, by digest, to its destination
// repository: what the destination lacks, found while planning, and then
// what was copied.
type Copy struct {
	src, dst *registry.Client
	root     *node
	// referrers are the OCI referrers of the root, in the order listed.
	referrers []*node
	// tags are cosign's classic tags of the root found at the source.
	tags []*classicTag

	// plan runs the reads that plan the copy, a few at a time.
	plan *fanout.Tasks

	mu sync.Mutex
	// blobs are the blobs the destination lacks, each once.
	blobs []*blob
	seen  map[v1.Hash]bool

	// manifests counts the manifests the destination lacked; manifestsDone
	// those written.
	manifests     int
	manifestsDone atomic.Int64
}

// node is a manifest and, for an index, its children.
type node struct {
	m *remote.Descriptor
	// present: the destination has this manifest, and so all it references.
	present  bool
	children []*node
}

// classicTag is a classic signature or attestation tag found at the source.
type classicTag struct {
	tag  string
	node *node
	// upToDate: the destination's tag is at the source's digest already.
	upToDate bool
}

// blob is a blob the destination lacks.
type blob struct {
	desc v1.Descriptor
	// streamed counts the bytes read from the source by the current
	// attempt; mounted is set when the registry mounted the blob instead.
	streamed atomic.Int64
	mounted  atomic.Bool
	done     atomic.Bool
}

// CheckPush asks dst to start a blob upload, and cancels it: a registry
// that would refuse the copy refuses this first.
func CheckPush(ctx context.Context, dst *registry.Client) error {
	loc, _, err := dst.StartUpload(ctx, v1.Hash{}, "")
	var terr *transport.Error
	switch {
	case err == nil:
	case registry.IsAccessError(dst.Explain(err)):
		return dst.Explain(err)
	case errors.As(err, &terr) && terr.StatusCode >= http.StatusInternalServerError:
		// A server that fails says nothing about permissions.
		return fmt.Errorf("the destination %s failed to start a blob upload with a server error (HTTP %d), not a refusal; try again later: %w", dst.Repo().Name(), terr.StatusCode, err)
	default:
		return fmt.Errorf("no push access to the destination %s: %w", dst.Repo().Name(), err)
	}
	// The session holds no data; a registry that cannot cancel it lets it
	// expire.
	_ = dst.CancelUpload(ctx, loc)
	return nil
}

// Plan finds, with reads only, what dst lacks of the pinned manifest desc
// of src, everything it references, its OCI referrers and its classic
// signature and attestation tags. Promotion records are not copied: they
// name the source's tags, and the destination gets records of its own.
func Plan(ctx context.Context, src, dst *registry.Client, desc *remote.Descriptor) (*Copy, error) {
	c := &Copy{src: src, dst: dst, seen: map[v1.Hash]bool{}, plan: fanout.NewTasks(fanout.PlanConcurrency)}
	var wg sync.WaitGroup
	var rootErr, attErr, destErr error
	wg.Go(func() {
		c.root = &node{m: desc}
		c.root.present, rootErr = dst.HasManifest(ctx, desc.Digest)
		if rootErr == nil && !c.root.present {
			c.expand(ctx, c.root)
		}
	})
	// What is attached at the source, and what of it the destination has,
	// are read at once.
	var found []attach.Attachment
	wg.Go(func() {
		reader := attach.For(src)
		found, attErr = reader.List(ctx, desc.Digest, attach.Filter{Referrers: func(at string) bool { return at != record.ArtifactType }, CosignSig: true, CosignAtt: true})
		found = slices.DeleteFunc(found, func(a attach.Attachment) bool {
			// Some registries list an artifact's config media type as its
			// artifactType; the manifest says what it is.
			return a.Manifest != nil && a.Manifest.ArtifactType == record.ArtifactType
		})
	})
	var atDest map[v1.Hash]bool
	wg.Go(func() { atDest, destErr = referrerDigests(ctx, dst, desc.Digest) })
	destTags := make([]tagState, len(attach.ClassicSchemes))
	for k, sch := range attach.ClassicSchemes {
		wg.Go(func() {
			s := &destTags[k]
			s.digest, s.found, s.err = dst.Head(ctx, attach.ClassicTag(desc.Digest, sch))
		})
	}
	wg.Wait()
	errs := []error{rootErr, attErr, destErr}
	for k, st := range destTags {
		if st.err != nil {
			errs = append(errs, fmt.Errorf("reading %s at the destination: %w", attach.ClassicTag(desc.Digest, attach.ClassicSchemes[k]), st.err))
		}
	}
	if errors.Join(errs...) == nil {
		c.planAttached(ctx, found, atDest, destTags)
	}
	// No read outlives Plan, whatever failed.
	if err := errors.Join(append(errs, c.plan.Wait())...); err != nil {
		return nil, fmt.Errorf("planning the copy to %s: %w", dst.Repo().Name(), err)
	}
	c.manifests = c.root.missing()
	for _, n := range c.referrers {
		c.manifests += n.missing()
	}
	for _, t := range c.tags {
		c.manifests += t.node.missing()
	}
	return c, nil
}

// tagState is where a tag at the destination points.
type tagState struct {
	digest v1.Hash
	found  bool
	err    error
}

// planAttached plans the copy of what is attached to the root: found at the
// source, of which the destination lists the referrers atDest and has the
// classic tags destTags.
func (c *Copy) planAttached(ctx context.Context, found []attach.Attachment, atDest map[v1.Hash]bool, destTags []tagState) {
	root := c.root.m.Digest
	for _, a := range found {
		n := &node{m: &remote.Descriptor{Descriptor: v1.Descriptor{MediaType: a.MediaType, Digest: a.Digest, Size: int64(len(a.Raw))}, Manifest: a.Raw}}
		if a.Scheme == attach.Referrers {
			n.present = atDest[a.Digest]
			c.referrers = append(c.referrers, n)
		} else {
			tag := attach.ClassicTag(root, a.Scheme)
			st := destTags[slices.Index(attach.ClassicSchemes, a.Scheme)]
			n.present = st.found && st.digest == a.Digest
			c.tags = append(c.tags, &classicTag{tag: tag, node: n, upToDate: n.present})
		}
		if !n.present {
			c.expand(ctx, n)
		}
	}
}

// referrerDigests lists the digests of the referrers of d in c's
// repository.
func referrerDigests(ctx context.Context, c *registry.Client, d v1.Hash) (map[v1.Hash]bool, error) {
	reader := attach.For(c)
	im, err := reader.ListReferrers(ctx, d)
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
func (c *Copy) planDescriptor(ctx context.Context, desc v1.Descriptor) (*node, error) {
	var wg sync.WaitGroup
	var present bool
	var headErr error
	wg.Go(func() { present, headErr = c.dst.HasManifest(ctx, desc.Digest) })
	got, err := c.src.GetDigest(ctx, desc.Digest)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", desc.Digest, err)
	}
	if headErr != nil {
		return nil, fmt.Errorf("looking for manifest %s at the destination: %w", desc.Digest, headErr)
	}
	n := &node{m: got, present: present}
	if !present {
		c.expand(ctx, n)
	}
	return n, nil
}

// expand plans, on c.plan, what the destination lacks of what n
// references: the children of an index, the config and layers of an
// image. The plan's Wait returns once all of it is planned.
func (c *Copy) expand(ctx context.Context, n *node) {
	switch mt := n.m.MediaType; {
	case mt.IsIndex():
		idx, err := registry.ParseIndex(n.m.Manifest)
		if err != nil {
			c.plan.Fail(fmt.Errorf("index %s: %w", n.m.Digest, err))
			return
		}
		n.children = make([]*node, len(idx.Manifests))
		for k, child := range idx.Manifests {
			c.plan.Go(ctx, func() error {
				var err error
				n.children[k], err = c.planDescriptor(ctx, child)
				return err
			})
		}
	case mt.IsImage():
		m, err := v1.ParseManifest(bytes.NewReader(n.m.Manifest))
		if err != nil {
			c.plan.Fail(fmt.Errorf("parsing manifest %s: %w", n.m.Digest, err))
			return
		}
		for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if b.MediaType.IsDistributable() && c.claim(b.Digest) {
				c.plan.Go(ctx, func() error { return c.planBlob(ctx, b) })
			}
		}
	default:
		c.plan.Fail(fmt.Errorf("manifest %s has media type %q, which cannot be copied", n.m.Digest, mt))
	}
}

// claim reports whether d is seen for the first time in this copy.
func (c *Copy) claim(d v1.Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[d] {
		return false
	}
	c.seen[d] = true
	return true
}

// planBlob adds desc to the blobs to copy unless the destination has it.
func (c *Copy) planBlob(ctx context.Context, desc v1.Descriptor) error {
	present, err := c.dst.HasBlob(ctx, desc.Digest)
	if err != nil {
		return fmt.Errorf("looking for blob %s at the destination: %w", desc.Digest, err)
	}
	if !present {
		c.mu.Lock()
		c.blobs = append(c.blobs, &blob{desc: desc})
		c.mu.Unlock()
	}
	return nil
}

// missing counts the manifests of the tree at n that the destination lacks.
func (n *node) missing() int {
	if n == nil || n.present {
		return 0
	}
	count := 1
	for _, ch := range n.children {
		count += ch.missing()
	}
	return count
}
