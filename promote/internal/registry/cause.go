package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// AccessError is a request that failed for a reason that concerns the whole
// registry, not one image: it cannot be reached, refuses the credentials,
// or did not answer in time. It is reported once per repository, in words
// that name the cause.
type AccessError struct {
	// Registry is the registry host as written in the image names.
	Registry string
	// Cause says what went wrong, e.g. "cannot reach ghcr.io".
	Cause string
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *AccessError) Error() string { return e.Cause }

// Unwrap returns the underlying error.
func (e *AccessError) Unwrap() error { return e.Err }

// IsAccessError reports whether err is, or wraps, an [*AccessError].
func IsAccessError(err error) bool {
	var ae *AccessError
	return errors.As(err, &ae)
}

// explain turns err, from a request to registry, into an [*AccessError]
// when its cause concerns the whole registry, and returns it unchanged
// otherwise. authenticated says whether credentials were sent; timeout is
// the operation's time budget, zero if none.
func explain(err error, registry string, authenticated bool, timeout time.Duration) error {
	if err == nil {
		return nil
	}
	var ae *AccessError
	if errors.As(err, &ae) {
		return err
	}
	cause := ""
	var terr *transport.Error
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var headerErr *headerTimeoutError
	switch {
	case errors.As(err, &headerErr):
		cause = fmt.Sprintf("timed out after %s waiting for %s to answer one request (the response timeout, which bounds each response's headers; the operation's time limit had not run out)",
			headerErr.after.Round(time.Millisecond), registry)
	case errors.Is(err, context.DeadlineExceeded):
		cause = "timed out waiting for " + registry
		if timeout > 0 {
			cause = fmt.Sprintf("timed out after %s waiting for %s (the operation's time limit)", timeout.Round(time.Millisecond), registry)
		}
	case errors.Is(err, context.Canceled):
		cause = "cancelled while waiting for " + registry
	case errors.As(err, &terr) && terr.StatusCode == http.StatusUnauthorized:
		if authenticated {
			cause = "authentication failed for " + registry + " (wrong username or token?)"
		} else {
			cause = "authentication required for " + registry + " (no credentials were given for it)"
		}
	case errors.As(err, &dnsErr):
		cause = fmt.Sprintf("cannot reach %s: no such host", registry)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		cause = fmt.Sprintf("cannot reach %s (%s)", registry, shortNetError(opErr))
	default:
		return err
	}
	return &AccessError{Registry: registry, Cause: cause, Err: err}
}

// shortNetError keeps the last, most specific part of a network error, such
// as "connection refused".
func shortNetError(err *net.OpError) string {
	msg := err.Err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}
