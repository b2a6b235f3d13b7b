package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/molecule-ai/promote/promote"
)

// progressEvery is how often the copy's progress is printed when standard
// error is not a terminal.
const progressEvery = 5 * time.Second

// copyProgressOption draws the copy's progress on stderr, unless off: one
// live line on a terminal, else a line every few seconds.
func copyProgressOption(stderr io.Writer, on bool) []promote.Option {
	if !on {
		return nil
	}
	v := &progressView{w: stderr, terminal: isTerminal(stderr), every: progressEvery}
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

// progressView shows how far a copy has come.
type progressView struct {
	w        io.Writer
	terminal bool
	every    time.Duration

	mu     sync.Mutex
	start  time.Time
	last   time.Time
	images string
	bars   *mpb.Progress
	bar    *mpb.Bar
}

// update is called by the core as the copy advances, one call at a time.
func (v *progressView) update(p promote.CopyProgress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now()
	if v.start.IsZero() {
		v.start = now
	}
	v.images = fmt.Sprintf("%d/%d images", p.ImagesDone, p.Images)
	if v.terminal {
		v.draw(p)
		return
	}
	if p.Done || now.Sub(v.last) >= v.every {
		v.last = now
		fmt.Fprintf(v.w, "promote: copying %s, %s\n", v.images, byteCounts(p, now.Sub(v.start)))
	}
}

// draw updates the live line on a terminal.
func (v *progressView) draw(p promote.CopyProgress) {
	if v.bars == nil {
		v.bars = mpb.New(mpb.WithOutput(v.w), mpb.WithWidth(30), mpb.WithRefreshRate(150*time.Millisecond), mpb.WithAutoRefresh())
		v.bar = v.bars.AddBar(p.Bytes,
			mpb.PrependDecorators(decor.Name("copying "), decor.Any(func(decor.Statistics) string {
				v.mu.Lock()
				defer v.mu.Unlock()
				return v.images
			}, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(
				decor.Counters(decor.SizeB1024(0), "% .1f / % .1f", decor.WCSyncSpace),
				decor.AverageSpeed(decor.SizeB1024(0), "% .1f", decor.WCSyncSpace)))
	}
	v.bar.SetCurrent(p.BytesDone)
	if p.Done {
		v.bar.SetTotal(-1, true)
		// Wait renders the last state; it needs the lock that the
		// decorator takes.
		v.mu.Unlock()
		v.bars.Wait()
		v.mu.Lock()
	}
}

// byteCounts says how many bytes are copied, of how many, and how fast.
func byteCounts(p promote.CopyProgress, elapsed time.Duration) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(p.BytesDone) / s
	}
	return fmt.Sprintf("% .1f of % .1f, % .1f/s", decor.SizeB1024(p.BytesDone), decor.SizeB1024(p.Bytes), decor.SizeB1024(int64(rate)))
}
