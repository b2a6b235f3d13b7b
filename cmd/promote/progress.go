package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/molecule-ai/promote/promote"
)

// progressEvery is how often the copy's progress is printed when standard
// error is not a terminal.
const progressEvery = 5 * time.Second

// progressDrainTimeout bounds how long the command waits, once the copy
// has returned, for the progress view to draw its last state.
const progressDrainTimeout = 5 * time.Second

// newProgressView draws the copy's progress on stderr, unless off: one
// live line on a terminal, else a line every few seconds. It returns nil
// when off. While its live line is drawn, con's notices go above it.
func newProgressView(stderr io.Writer, on bool, con *console) *progressView {
	if !on {
		return nil
	}
	return &progressView{w: stderr, terminal: isTerminal(stderr), every: progressEvery, ended: make(chan struct{}), console: con}
}

// console writes the notices that can come while the live line is drawn,
// such as a signal's: above the line, through mpb, so that the line and
// the notice do not erase each other.
type console struct {
	w    io.Writer
	bars atomic.Pointer[mpb.Progress]
}

// notice writes msg as a line of its own. It may wait for mpb's renderer;
// a caller that must not wait calls it from a goroutine of its own.
func (c *console) notice(msg string) {
	if bars := c.bars.Load(); bars != nil {
		// The carriage return starts the line afresh after the
		// terminal's echo of ^C.
		if _, err := io.WriteString(bars, "\r"+msg+"\n"); err == nil {
			return
		}
	}
	io.WriteString(c.w, msg+"\n")
}

// options are the core options that feed the view.
func (v *progressView) options() []promote.Option {
	if v == nil {
		return nil
	}
	return []promote.Option{promote.WithCopyProgress(v.update)}
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// The states of a progressView.
const (
	viewIdle    int32 = iota // nothing drawn yet
	viewDrawing              // drawing; the last state is on its way
	viewClosed               // nothing was drawn, and nothing will be
)

// progressView shows how far a copy has come. The core calls update from
// one goroutine of its own; mpb's renderer reads what it shows through
// atomics. No lock is shared between them, and none is held while calling
// into mpb.
type progressView struct {
	w        io.Writer
	terminal bool
	every    time.Duration
	console  *console // nil when there are no notices

	state atomic.Int32
	// ended is closed once the last state is drawn.
	ended chan struct{}
	// label is what the live line says before the bar, such as "copying
	// 1/3 images".
	label atomic.Pointer[string]

	// Only update touches these.
	start, last time.Time
	bars        *mpb.Progress
	bar         *mpb.Bar
}

// update is called by the core as the copy advances, one call at a time.
// A copy with no bytes to move shows nothing.
func (v *progressView) update(p promote.CopyProgress) {
	if v.state.Load() == viewIdle {
		if p.Bytes == 0 || !v.state.CompareAndSwap(viewIdle, viewDrawing) {
			v.state.CompareAndSwap(viewIdle, viewClosed)
			return
		}
		v.start = time.Now()
	}
	if v.state.Load() != viewDrawing {
		return
	}
	label := progressLabel(p)
	v.label.Store(&label)
	if v.terminal {
		v.draw(p)
	} else if now := time.Now(); p.Done || v.last.IsZero() || now.Sub(v.last) >= v.every {
		v.last = now
		fmt.Fprintf(v.w, "promote: %s, %s\n", label, byteCounts(p.BytesDone, p.Bytes, now.Sub(v.start)))
	}
	if p.Done {
		close(v.ended)
	}
}

// draw updates the live line on a terminal, and at the end leaves it at
// the copy's final state.
func (v *progressView) draw(p promote.CopyProgress) {
	if v.bars == nil {
		v.bars = mpb.New(mpb.WithOutput(v.w), mpb.WithWidth(30), mpb.WithRefreshRate(150*time.Millisecond), mpb.WithAutoRefresh())
		start := v.start
		// A bar made with no total does not complete by itself when
		// the bytes are in: it ends at the copy's end, with its label.
		v.bar = v.bars.AddBar(0,
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return *v.label.Load() }, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(decor.Any(func(s decor.Statistics) string {
				return byteCounts(s.Current, s.Total, time.Since(start))
			}, decor.WCSyncSpace)))
		v.bar.SetTotal(p.Bytes, false)
		if v.console != nil {
			v.console.bars.Store(v.bars)
		}
	}
	v.bar.SetCurrent(p.BytesDone)
	if !p.Done {
		return
	}
	if p.ImagesFailed == 0 && p.BytesDone == p.Bytes {
		v.bar.SetTotal(-1, true)
	} else {
		v.bar.Abort(false)
	}
	v.bars.Wait()
	if v.console != nil {
		v.console.bars.Store(nil)
	}
}

// wait returns once the view has drawn the copy's last state, so that
// nothing is drawn after it; at once if nothing was drawn. It waits no
// longer than progressDrainTimeout.
func (v *progressView) wait() {
	if v == nil || v.state.CompareAndSwap(viewIdle, viewClosed) || v.state.Load() == viewClosed {
		return
	}
	timer := time.NewTimer(progressDrainTimeout)
	defer timer.Stop()
	select {
	case <-v.ended:
	case <-timer.C:
	}
}

// progressLabel says how many images are copied: "copying 1/3 images",
// and at the end "copied 3/3 images", or "copied 2/3 images, 1 failed".
func progressLabel(p promote.CopyProgress) string {
	if !p.Done {
		return fmt.Sprintf("copying %d/%d images", p.ImagesDone, p.Images)
	}
	label := fmt.Sprintf("copied %d/%d images", p.ImagesDone-p.ImagesFailed, p.Images)
	if p.ImagesFailed > 0 {
		label += fmt.Sprintf(", %d failed", p.ImagesFailed)
	}
	return label
}

// byteCounts says how many bytes are copied, of how many, and how fast, in
// the report's units.
func byteCounts(done, total int64, elapsed time.Duration) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	return fmt.Sprintf("%s of %s, %s/s", promote.FormatBytes(done), promote.FormatBytes(total), promote.FormatBytes(int64(rate)))
}
