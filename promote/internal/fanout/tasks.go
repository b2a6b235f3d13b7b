package fanout

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Tasks runs tasks on at most a fixed number of goroutines of their own. A
// task started while all of them are busy runs on the caller's goroutine
// instead, so that tasks may start tasks: a tree of any width or depth is
// walked on a bounded number of goroutines, without deadlock.
type Tasks struct {
	g    errgroup.Group
	mu   sync.Mutex
	errs []error
}

// NewTasks returns Tasks that run on at most limit goroutines of their own.
func NewTasks(limit int) *Tasks {
	t := &Tasks{}
	t.g.SetLimit(limit)
	return t
}

// Go runs task and records its error; once ctx is done, it records ctx's
// error instead.
func (t *Tasks) Go(ctx context.Context, task func() error) {
	run := func() error {
		if err := ctx.Err(); err != nil {
			t.Fail(err)
			return nil
		}
		t.Fail(task())
		return nil
	}
	if !t.g.TryGo(run) {
		_ = run()
	}
}

// Fail records err, unless it is nil.
func (t *Tasks) Fail(err error) {
	if err == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errs = append(t.errs, err)
}

// Wait waits for every task, and returns their errors, each once, in a
// stable order.
func (t *Tasks) Wait() error {
	_ = t.g.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	slices.SortFunc(t.errs, func(x, y error) int { return strings.Compare(x.Error(), y.Error()) })
	return JoinUnique(t.errs...)
}

// JoinUnique joins errs, skipping nil ones and any whose message was
// already given, so that a cause that every read of a repository met is
// said once.
func JoinUnique(errs ...error) error {
	seen := map[string]bool{}
	var out []error
	for _, err := range errs {
		if err == nil || seen[err.Error()] {
			continue
		}
		seen[err.Error()] = true
		out = append(out, err)
	}
	return errors.Join(out...)
}
