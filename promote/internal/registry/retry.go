package registry

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Every retry of a run waits here, and the wait gives way to the context.
// go-containerregistry's own retries (its retrying transport and the
// pusher's) sleep between attempts without watching the context, so a
// cancelled run would wait out the step; they are not used.

// Retry makes attempt up to backoff.Steps times, as long as it fails with
// an error that retryable says is worth another attempt, and waits between
// attempts as backoff says. Once ctx is done it makes no further attempt,
// and returns the last error joined with ctx's.
func Retry(ctx context.Context, backoff remote.Backoff, retryable func(error) bool, attempt func() error) error {
	var err error
	for k := range max(backoff.Steps, 1) {
		if k > 0 {
			if werr := wait(ctx, backoff, k); werr != nil {
				return errors.Join(err, werr)
			}
		}
		if err = attempt(); err == nil || ctx.Err() != nil || !retryable(err) {
			return err
		}
	}
	return err
}

// wait waits before attempt k (from 1) as backoff says, or until ctx is
// done, and then returns ctx's error.
func wait(ctx context.Context, backoff remote.Backoff, k int) error {
	d := time.Duration(float64(backoff.Duration) * pow(backoff.Factor, k-1))
	if backoff.Cap > 0 && d > backoff.Cap {
		d = backoff.Cap
	}
	if backoff.Jitter > 0 {
		d += time.Duration(rand.Float64() * backoff.Jitter * float64(d))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pow is f to the n, with a factor of zero meaning no growth.
func pow(f float64, n int) float64 {
	out := 1.0
	if f == 0 {
		return out
	}
	for range n {
		out *= f
	}
	return out
}

// Retryable reports whether a failed attempt at an exchange that sends a
// body is worth making again: the registry answered with a transient
// status, or the connection broke.
func Retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return slices.Contains(retryStatusCodes, terr.StatusCode)
	}
	var nerr net.Error
	return errors.As(err, &nerr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// temporary reports whether a request's error is worth asking again, as
// go-containerregistry judges it: the error says it is temporary, and is no
// deadline.
func temporary(err error) bool {
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// manifestRetryable reports whether a manifest write that failed is worth
// making again, as go-containerregistry's pusher judges it.
func manifestRetryable(err error) bool {
	return temporary(err) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

// retryTransport asks again, as backoff says, when a request without a
// body fails with a temporary error or is answered with a transient status.
// The last answer is returned as it came, for the caller to read.
type retryTransport struct {
	inner   http.RoundTripper
	backoff remote.Backoff
}

func (t retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var resp *http.Response
	err := Retry(req.Context(), t.backoff, func(err error) bool { return err == errTransientStatus || temporary(err) }, func() error {
		var err error
		if resp != nil {
			// The answer before is not the last one: drop it.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
			resp.Body.Close()
		}
		resp, err = t.inner.RoundTrip(req)
		if err != nil {
			resp = nil
			return err
		}
		if slices.Contains(retryStatusCodes, resp.StatusCode) {
			return errTransientStatus
		}
		return nil
	})
	switch {
	case err == nil, err == errTransientStatus:
		// The last answer, transient or not, is the caller's to read.
		return resp, nil
	case resp != nil:
		// The wait after a transient answer was cut short.
		resp.Body.Close()
		return nil, req.Context().Err()
	}
	return nil, err
}

// errTransientStatus marks an answer with a status worth asking again for.
var errTransientStatus = errors.New("transient status")
