package promote

import (
	"sync/atomic"

	"github.com/molecule-ai/promote/promote/internal/copier"
)

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

// copyProgress tells the caller's function how a copy advances. The
// copying goroutines only change counters and nudge the reporter, which
// never blocks them: one goroutine reads the latest state and calls fn,
// holding no lock.
type copyProgress struct {
	images     int
	bytes      int64
	imagesDone atomic.Int64
	failed     atomic.Int64
	bytesDone  atomic.Int64

	// changed holds at most one pending nudge: updates that arrive while
	// fn runs fold into it. ended is closed when the copy has ended.
	changed chan struct{}
	ended   chan struct{}
}

// newCopyProgress sums what copies lack and, when there is something and a
// function to tell, starts the goroutine that calls it. It returns nil,
// which reports nothing, otherwise.
func newCopyProgress(fn func(CopyProgress), copies []*copier.Copy) *copyProgress {
	if fn == nil {
		return nil
	}
	p := &copyProgress{changed: make(chan struct{}, 1), ended: make(chan struct{})}
	for _, c := range copies {
		if s := c.Summary(false); s.Lacks() {
			p.images++
			p.bytes += s.Bytes
		}
	}
	if p.images == 0 {
		return nil
	}
	p.nudge()
	go p.report(fn)
	return p
}

// report calls fn with the latest state each time it changes, until the
// copy ends, and then once more with Done set.
func (p *copyProgress) report(fn func(CopyProgress)) {
	for {
		select {
		case <-p.changed:
			select {
			case <-p.ended:
				// The end wins over a pending change: the last
				// state says both.
			default:
				fn(p.state(false))
				continue
			}
		case <-p.ended:
		}
		fn(p.state(true))
		return
	}
}

// state is a snapshot of the counters.
func (p *copyProgress) state(done bool) CopyProgress {
	return CopyProgress{
		Images: p.images, ImagesDone: int(p.imagesDone.Load()), ImagesFailed: int(p.failed.Load()),
		Bytes: p.bytes, BytesDone: p.bytesDone.Load(),
		Done: done,
	}
}

// nudge tells the reporter that the state changed, unless it knows.
func (p *copyProgress) nudge() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// Add counts n more bytes copied; n is negative when an attempt is undone.
// It implements copier.Progress, and never blocks.
func (p *copyProgress) Add(n int64) {
	if p != nil && n != 0 {
		p.bytesDone.Add(n)
		p.nudge()
	}
}

// imageDone counts one more image finished; err is why it failed.
func (p *copyProgress) imageDone(c *copier.Copy, err error) {
	if p != nil && c.Summary(false).Lacks() {
		if err != nil {
			p.failed.Add(1)
		}
		p.imagesDone.Add(1)
		p.nudge()
	}
}

// finish ends the reports; the last one is made without the caller
// waiting for it.
func (p *copyProgress) finish() {
	if p != nil {
		close(p.ended)
	}
}
