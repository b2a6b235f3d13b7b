package promote

import (
	"context"
	"net"
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
