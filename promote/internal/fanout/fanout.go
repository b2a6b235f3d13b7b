// Package fanout bounds the fan-out of a run: how many goroutines,
// requests and bytes it may use, whatever a registry lists.
//
// A registry decides how many children an index lists, how many blobs an
// image has and how many referrers it collects; none of these may decide
// how much work a run does. Every fan-out runs on a bounded number of
// goroutines (as go-containerregistry's errgroup.SetLimit), every wait for
// a free slot gives way to the context, and what a registry lists beyond a
// limit is a verification failure, not more work.
//
// What is attached to an image (referrers, cosign's .sig and .att tags,
// their layers and bytes) is bounded by package attach's DefaultLimits:
// 256 referrers, 1000 layers a manifest, 4 MiB a layer, 16 MiB an image,
// 4 fetches at once.
//
// For one image, a run therefore has fewer than
// IndexChildReads + 2*PlanConcurrency + 2*copyConcurrency + 16 requests in
// flight, whatever the registry lists (the 16: checking push access,
// reading the target and backup tags, and what is attached at the source
// and the destination). Across images, at most the run's concurrency of
// images are read at once, and copyConcurrency blobs are copied at once in
// all.
package fanout

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// The limits of one run.
const (
	// DefaultConcurrency is how many images are read at once unless the
	// caller says otherwise: a release of up to 64 images moves in one
	// round trip.
	DefaultConcurrency = 64

	// DefaultCopyConcurrency is how many blobs are copied at once, across
	// all images, unless the caller says otherwise.
	DefaultCopyConcurrency = 32

	// MaxIndexChildren is the most manifests one index may list. A
	// multi-platform image lists one per platform, and as many
	// attestations: a few dozen at most. An index that lists more fails
	// verification before any of its children is read.
	MaxIndexChildren = 1024

	// IndexChildReads is how many children of one index are read at once
	// to check their revisions: every platform of a usual image in one
	// round trip.
	IndexChildReads = 8

	// PlanConcurrency is how many manifests or blobs of one image are
	// looked for at the destination at once while a copy is planned, at
	// any depth of the image's tree; each look is at most two requests.
	PlanConcurrency = 8

	// ManifestWrites is how many manifests of one image are written to its
	// destination at once.
	ManifestWrites = 8
)

// ForEach runs fn(i) for i in [0, n) with at most limit running at once. It
// waits for all of them, so no call outlives it, and returns the first
// error.
func ForEach(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	var g errgroup.Group
	g.SetLimit(limit)
	for i := range n {
		g.Go(func() error { return fn(ctx, i) })
	}
	return g.Wait()
}
