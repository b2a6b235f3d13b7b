package promote

import (
	"context"
	"net"

	"github.com/molecule-ai/promote/promote/internal/fanout"
)

// WithAfterVerify runs hook between verification and the first write.
func WithAfterVerify(hook func(context.Context)) Option {
	return func(o *options) error { o.afterVerify = hook; return nil }
}

// WithBeforeRestore runs hook after a failed read-back, before any tag is
// put back.
func WithBeforeRestore(hook func(context.Context)) Option {
	return func(o *options) error { o.beforeRestore = hook; return nil }
}

// WithDial dials every connection of the default transport with dial.
func WithDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(o *options) error { o.dial = dial; return nil }
}

// The limits of a run, for the tests that check them.
const (
	MaxIndexChildren       = fanout.MaxIndexChildren
	DefaultCopyConcurrency = fanout.DefaultCopyConcurrency
)

// MaxRequestsPerImage is the most requests that one image of a run has in
// flight at once, as package fanout documents, with copyConcurrency blobs
// copied at once.
func MaxRequestsPerImage(copyConcurrency int) int {
	return fanout.IndexChildReads + 2*fanout.PlanConcurrency + 2*copyConcurrency + 16
}
