package promote

// The limits of one run. A registry decides how many children an index
// lists, how many blobs an image has and how many referrers it collects;
// none of these may decide how many goroutines, requests or bytes a run
// uses. Each fan-out below runs on a bounded number of goroutines (as
// go-containerregistry's errgroup.SetLimit), every wait for a free slot
// gives way to the context, and what a registry lists beyond a limit is a
// verification failure, not more work.
//
// What is attached to an image (referrers, cosign's .sig and .att tags,
// their layers and bytes) is bounded by package attach's DefaultLimits:
// 256 referrers, 1000 layers a manifest, 4 MiB a layer, 16 MiB an image,
// 4 fetches at once.
//
// For one image, a run therefore has fewer than
// indexChildReads + 2*planConcurrency + 2*copyConcurrency + 16 requests in
// flight, whatever the registry lists (the 16: checking push access,
// reading the target and backup tags, and what is attached at the source
// and the destination). Across images, at most [WithConcurrency] images
// are read at once, and copyConcurrency blobs are copied at once in all.
const (
	// defaultConcurrency is the default of [WithConcurrency]: a release of
	// up to 64 images moves in one round trip.
	defaultConcurrency = 64

	// defaultCopyConcurrency is the default of [WithCopyConcurrency]: how
	// many blobs are copied at once, across all images.
	defaultCopyConcurrency = 32

	// maxIndexChildren is the most manifests one index may list. A
	// multi-platform image lists one per platform, and as many
	// attestations: a few dozen at most. An index that lists more fails
	// verification before any of its children is read.
	maxIndexChildren = 1024

	// indexChildReads is how many children of one index are read at once
	// to check their revisions: every platform of a usual image in one
	// round trip.
	indexChildReads = 8

	// planConcurrency is how many manifests or blobs of one image are
	// looked for at the destination at once while a copy is planned, at
	// any depth of the image's tree; each look is at most two requests.
	planConcurrency = 8

	// manifestWrites is how many manifests of one image are written to its
	// destination at once.
	manifestWrites = 8
)
