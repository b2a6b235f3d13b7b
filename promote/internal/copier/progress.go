package copier

import "sync/atomic"

// State is how far the copies have come: the images whose destination
// lacks something, how many of them are finished and failed, and the bytes
// of the blobs they lack and have copied. Done is set on the last report.
type State struct {
	Images, ImagesDone, ImagesFailed int
	Bytes, BytesDone                 int64
	Done                             bool
}

// Reporter tells a function how copies advance. The copying goroutines
// only change counters and nudge the reporter, which never blocks them: one
// goroutine reads the latest state and calls the function, holding no
// lock. When the function is slower than the copies, the states in between
// are skipped; the last state, with Done set, is always reported. A nil
// *Reporter reports nothing.
type Reporter struct {
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

// NewReporter sums what copies lack and, when there is something and a
// function to tell, starts the goroutine that calls fn. It returns nil,
// which reports nothing, otherwise.
func NewReporter(fn func(State), copies []*Copy) *Reporter {
	if fn == nil {
		return nil
	}
	p := &Reporter{changed: make(chan struct{}, 1), ended: make(chan struct{})}
	for _, c := range copies {
		if c.lacks() {
			p.images++
			for _, b := range c.blobs {
				p.bytes += b.desc.Size
			}
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
func (p *Reporter) report(fn func(State)) {
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
func (p *Reporter) state(done bool) State {
	return State{
		Images: p.images, ImagesDone: int(p.imagesDone.Load()), ImagesFailed: int(p.failed.Load()),
		Bytes: p.bytes, BytesDone: p.bytesDone.Load(),
		Done: done,
	}
}

// nudge tells the reporter that the state changed, unless it knows.
func (p *Reporter) nudge() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// Add counts n more bytes copied; n is negative when an attempt is undone.
// It implements [Progress], and never blocks.
func (p *Reporter) Add(n int64) {
	if p != nil && n != 0 {
		p.bytesDone.Add(n)
		p.nudge()
	}
}

// ImageDone counts one more image finished; err is why it failed.
func (p *Reporter) ImageDone(c *Copy, err error) {
	if p != nil && c.lacks() {
		if err != nil {
			p.failed.Add(1)
		}
		p.imagesDone.Add(1)
		p.nudge()
	}
}

// Finish ends the reports; the last one is made without the caller
// waiting for it.
func (p *Reporter) Finish() {
	if p != nil {
		close(p.ended)
	}
}
