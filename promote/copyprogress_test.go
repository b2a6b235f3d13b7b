package promote_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molecule-ai/promote/promote"
)

// promoteWithin runs Promote and fails the test if it has not returned
// within limit: a copy that waits on its progress consumer would hang.
func promoteWithin(t *testing.T, limit time.Duration, ctx context.Context, p *promote.Promoter) (*promote.Report, error) {
	t.Helper()
	type result struct {
		rep *promote.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{})
		done <- result{rep, err}
	}()
	select {
	case r := <-done:
		return r.rep, r.err
	case <-time.After(limit):
		t.Fatalf("Promote had not returned after %s", limit)
		return nil, nil
	}
}

// TestCopyProgressNeverBlocks copies across two distribution registries
// while the progress consumer is slow, or never returns: the copy finishes
// all the same, and a slow consumer gets the last state.
func TestCopyProgressNeverBlocks(t *testing.T) {
	cases := []struct {
		name string
		// consume is the consumer's work for each call; it may block.
		consume func(release <-chan struct{})
	}{
		{"a consumer that blocks for good", func(release <-chan struct{}) { <-release }},
		{"a consumer slower than the copy", func(release <-chan struct{}) { time.Sleep(300 * time.Millisecond) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newCrossFixture(t, distributionRegistry, distributionRegistry)
			want := f.seed(newSHA)
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			var calls atomic.Int64
			last := make(chan promote.CopyProgress, 1)
			p := f.promoter(f.config(), promote.WithCopyProgress(func(cp promote.CopyProgress) {
				calls.Add(1)
				if cp.Done {
					last <- cp
				}
				tc.consume(release)
			}))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep, err := promoteWithin(t, time.Minute, ctx, p)
			if err != nil {
				t.Fatalf("Promote: %v", err)
			}
			for i, dst := range f.dests {
				f.assertCopied(dst, want[i])
				if got := f.dst.digest(dst + ":latest"); got != want[i].digest {
					t.Errorf("%s:latest = %q, want %s", dst, got, want[i].digest)
				}
			}
			if rep.Result != promote.ResultOK {
				t.Errorf("result = %s", rep.Result)
			}
			if calls.Load() == 0 {
				t.Fatal("the consumer was never called")
			}
			if calls.Load() > 1 {
				// A consumer that returns gets the last state.
				select {
				case cp := <-last:
					if cp.ImagesDone != 2 || cp.BytesDone != cp.Bytes {
						t.Errorf("last state = %+v", cp)
					}
				case <-time.After(10 * time.Second):
					t.Error("the last state, with Done set, never came")
				}
			}
		})
	}
}

// TestCopyCancelled cancels a copy in flight, through a slow network and
// with a consumer that never returns: Promote returns at once, and no tag
// moved.
func TestCopyCancelled(t *testing.T) {
	t.Parallel()
	f := newCrossFixture(t, distributionRegistry, distributionRegistry)
	f.seed(newSHA)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	var once atomic.Bool
	p := f.promoter(f.config(), promote.WithCopyProgress(func(cp promote.CopyProgress) {
		if once.CompareAndSwap(false, true) {
			close(started)
		}
		<-release
	}))
	f.dst.proxy.SetDelay(300 * time.Millisecond)
	errc := make(chan error, 1)
	go func() {
		_, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{})
		errc <- err
	}()
	select {
	case <-started:
	case <-time.After(time.Minute):
		t.Fatal("the copy never started")
	}
	// Let some uploads be in flight.
	for deadline := time.Now().Add(30 * time.Second); f.dst.proxy.Count(http.MethodPut, "/blobs/uploads/") == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	at := time.Now()
	select {
	case err := <-errc:
		if took := time.Since(at); took > 5*time.Second {
			t.Errorf("Promote returned %s after the cancel", took)
		}
		if !errors.Is(err, promote.ErrNotPromoted) && !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want a failed promotion", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Promote had not returned 30s after the cancel")
	}
	f.dst.proxy.SetDelay(0)
	for _, dst := range f.dests {
		if got := f.dst.digest(dst + ":latest"); got != "" {
			t.Errorf("%s:latest moved to %s although the run was cancelled", dst, got)
		}
	}
}
