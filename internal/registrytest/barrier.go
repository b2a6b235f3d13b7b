package registrytest

import (
	"net/http"
	"sync"
)

// Barrier holds requests until a number of them have arrived, so that
// concurrent clients meet at one point of their exchange: for example, two
// writers that must both read an index before either writes it back.
//
// It sits in each client's transport (see [Barrier.Transport]), in front of
// the real registry. All methods are safe for concurrent use.
type Barrier struct {
	match Matcher
	n     int

	mu      sync.Mutex
	arrived int
	open    chan struct{} // closed once n requests have arrived
}

// NewBarrier returns a barrier for the first n requests that m matches.
// Later matching requests, and every request that m does not match, pass
// at once.
func NewBarrier(n int, m Matcher) *Barrier {
	b := &Barrier{match: m, n: n, open: make(chan struct{})}
	if n <= 0 {
		close(b.open)
	}
	return b
}

// Transport returns a RoundTripper that sends requests through inner
// (http.DefaultTransport when nil), holding each of the barrier's first n
// matching requests until all n have arrived. A held request that gives up
// (its context ends) fails with the context's error and is never sent; it
// still counts as arrived.
func (b *Barrier) Transport(inner http.RoundTripper) http.RoundTripper {
	if inner == nil {
		inner = http.DefaultTransport
	}
	return barrierTransport{b: b, inner: inner}
}

// Arrived returns how many matching requests have reached the barrier, up
// to n.
func (b *Barrier) Arrived() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.arrived
}

// arrive counts a matching request, and reports whether it must wait.
func (b *Barrier) arrive() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.arrived >= b.n {
		return false
	}
	b.arrived++
	if b.arrived == b.n {
		close(b.open)
	}
	return true
}

type barrierTransport struct {
	b     *Barrier
	inner http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t barrierTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.b.match(req) && t.b.arrive() {
		select {
		case <-t.b.open:
		case <-req.Context().Done():
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, req.Context().Err()
		}
	}
	return t.inner.RoundTrip(req)
}
