package fanout

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestTasksStayBounded walks trees of every shape, where each task starts
// its children as tasks: no more than the limit of goroutines run them,
// whatever the width or depth, and Wait returns every error once.
func TestTasksStayBounded(t *testing.T) {
	cases := []struct {
		name          string
		width, depth  int
		limit         int
		failAtLeaf    bool
		wantErrorText string
	}{
		{name: "wide", width: 2000, depth: 1, limit: 4},
		{name: "deep", width: 1, depth: 200, limit: 4},
		{name: "bushy", width: 6, depth: 4, limit: 8},
		{name: "one goroutine", width: 5, depth: 3, limit: 1},
		{name: "failing leaves", width: 50, depth: 2, limit: 4, failAtLeaf: true, wantErrorText: "leaf failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tasks := NewTasks(tc.limit)
			var leaves atomic.Int64
			var on busyGoroutines
			ctx := context.Background()
			var walk func(depth int) error
			walk = func(depth int) error {
				defer on.enter()()
				runtime.Gosched()
				if depth == tc.depth {
					leaves.Add(1)
					if tc.failAtLeaf {
						return errors.New("leaf failed")
					}
					return nil
				}
				for range tc.width {
					tasks.Go(ctx, func() error { return walk(depth + 1) })
				}
				return nil
			}
			tasks.Go(ctx, func() error { return walk(0) })
			err := tasks.Wait()
			if got := on.peakCount(); got > tc.limit {
				t.Errorf("tasks ran on %d goroutines at once, want at most the limit %d", got, tc.limit)
			}
			want := int64(1)
			for range tc.depth {
				want *= int64(tc.width)
			}
			if got := leaves.Load(); got != want {
				t.Errorf("walked %d leaves, want %d", got, want)
			}
			if tc.wantErrorText == "" && err != nil {
				t.Errorf("Wait = %v, want nil", err)
			}
			if tc.wantErrorText != "" && (err == nil || err.Error() != tc.wantErrorText) {
				t.Errorf("Wait = %v, want the error said once: %q", err, tc.wantErrorText)
			}
		})
	}
}

// TestTasksGiveWayToTheContext: once the context is done, tasks not yet
// started record its error instead of running.
func TestTasksGiveWayToTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tasks := NewTasks(2)
	var ran atomic.Int64
	for range 10 {
		tasks.Go(ctx, func() error { ran.Add(1); return nil })
	}
	if err := tasks.Wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("%d tasks ran after the context was done", n)
	}
}

func TestForEachBounded(t *testing.T) {
	for _, limit := range []int{1, 3, 16} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var running, peak, calls atomic.Int64
			_ = ForEach(context.Background(), 500, limit, func(ctx context.Context, i int) error {
				calls.Add(1)
				n := running.Add(1)
				defer running.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				runtime.Gosched()
				return nil
			})
			if calls.Load() != 500 || peak.Load() > int64(limit) {
				t.Errorf("%d calls, peak %d at once; want 500 calls, at most %d at once", calls.Load(), peak.Load(), limit)
			}
		})
	}
}

func TestJoinUnique(t *testing.T) {
	a, b := errors.New("a"), errors.New("b")
	cases := []struct {
		errs []error
		want string
	}{
		{nil, ""},
		{[]error{nil, nil}, ""},
		{[]error{a, errors.New("a"), b, nil, a}, "a\nb"},
	}
	for _, tc := range cases {
		got := JoinUnique(tc.errs...)
		if (got == nil && tc.want != "") || (got != nil && got.Error() != tc.want) {
			t.Errorf("JoinUnique(%v) = %v, want %q", tc.errs, got, tc.want)
		}
	}
}

// busyGoroutines counts the distinct goroutines that are running a task:
// a task that runs on its caller's goroutine adds none.
type busyGoroutines struct {
	mu     sync.Mutex
	active map[string]int
	peak   int
}

// enter marks the calling goroutine busy until the function returned is
// called.
func (b *busyGoroutines) enter() (leave func()) {
	id := goroutineID()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active == nil {
		b.active = map[string]int{}
	}
	b.active[id]++
	b.peak = max(b.peak, len(b.active))
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.active[id]--; b.active[id] == 0 {
			delete(b.active, id)
		}
	}
}

func (b *busyGoroutines) peakCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}

// goroutineID is the calling goroutine's number, as its stack trace says.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	return id
}
