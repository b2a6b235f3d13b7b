package promote

// CopyProgress is how far the copy to the destinations has come.
type CopyProgress struct {
	// Images is how many images are copied: those whose destination lacks
	// something. ImagesDone is how many of them are finished, copied or
	// failed; ImagesFailed how many of those failed.
	Images, ImagesDone, ImagesFailed int
	// Bytes is the size of the blobs the destinations lack; BytesDone how
	// much of it is copied. A mounted blob counts whole once mounted.
	Bytes, BytesDone int64
	// Done is set on the last call.
	Done bool
}

// WithCopyProgress calls fn as the copy to the destinations advances: once
// when it starts, as bytes arrive, and once with Done set when it has
// ended.
//
// Progress is a report, never a gate: fn is called from a goroutine of its
// own, one call at a time, and the copy never waits for it. When fn is
// slower than the copy, the states in between are skipped and the next
// call gets the latest one. The last call, with Done set, is always made;
// when fn is still busy as the copy ends, it comes after Promote has
// returned, so a caller that must see it waits for it. A dry run, a run
// without destinations and a run whose destinations lack nothing never
// call fn.
func WithCopyProgress(fn func(CopyProgress)) Option {
	return func(o *options) error {
		o.copyProgress = fn
		return nil
	}
}

// WithCopyConcurrency bounds how many blobs are copied at once, across all
// images. The default is 32.
func WithCopyConcurrency(n int) Option {
	return atLeastOne("copy concurrency", n, func(o *options) { o.copyConcurrency = n })
}
