package promote

import "context"

// WithAfterVerify runs hook between verification and the first write.
func WithAfterVerify(hook func(context.Context)) Option {
	return func(o *options) { o.afterVerify = hook }
}
