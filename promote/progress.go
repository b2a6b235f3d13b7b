package promote

import (
	"sync"
)

// CopyProgress is how far the copy to the destinations has come.
type CopyProgress struct {
	// Images is how many images are copied; ImagesDone how many of them
	// are finished, copied or failed.
	Images, ImagesDone int
	// Bytes is the size of the blobs the destinations lack; BytesDone how
	// much of it is copied. A mounted blob counts whole once mounted.
	Bytes, BytesDone int64
	// Done is set on the last call.
	Done bool
}

// WithCopyProgress calls fn as the copy to the destinations advances: once
// before anything is copied, as bytes arrive, and once with Done set when
// the copy has ended. Calls are made one at a time, from the copying
// goroutines, so fn must return quickly. A dry run and a run without
// destinations never call it.
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

// defaultCopyConcurrency is the default of [WithCopyConcurrency].
const defaultCopyConcurrency = 32

// copyProgress tells the caller's function how a copy advances.
type copyProgress struct {
	fn    func(CopyProgress)
	mu    sync.Mutex
	state CopyProgress
}

// newCopyProgress sums what copies lack and makes the first call.
func newCopyProgress(fn func(CopyProgress), copies []*imageCopy) *copyProgress {
	p := &copyProgress{fn: fn}
	for _, c := range copies {
		if c == nil {
			continue
		}
		p.state.Images++
		for _, b := range c.blobs {
			p.state.Bytes += b.desc.Size
		}
	}
	p.update(func(*CopyProgress) {})
	return p
}

// update changes the state under the lock and reports it.
func (p *copyProgress) update(change func(*CopyProgress)) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	change(&p.state)
	p.fn(p.state)
}

// add counts n more bytes copied; n is negative when an attempt is undone.
func (p *copyProgress) add(n int64) {
	if n != 0 {
		p.update(func(s *CopyProgress) { s.BytesDone += n })
	}
}

// blobDone counts b whole, however many of its bytes were streamed.
func (p *copyProgress) blobDone(b *copyBlob) {
	p.add(b.desc.Size - b.streamed.Swap(b.desc.Size))
}

// imageDone counts one more image finished.
func (p *copyProgress) imageDone() {
	p.update(func(s *CopyProgress) { s.ImagesDone++ })
}

// finish makes the last call.
func (p *copyProgress) finish() {
	p.update(func(s *CopyProgress) { s.Done = true })
}
