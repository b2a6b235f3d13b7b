package registrytest

import (
	"net/http"
	"strings"
	"time"
)

// Request is the proxy's record of one request.
type Request struct {
	// Method and Path are the request's HTTP method and URL path.
	Method string
	Path   string
	// Time is when the request arrived.
	Time time.Time
	// Held is how long the proxy held the request before handling it: the
	// delay set with [Proxy.SetDelay], plus however late the proxy got to
	// run again after it; 0 without a delay.
	Held time.Duration
	// Fault is what the proxy did with the request.
	Fault Fault
	// Upstream is the status code the registry answered, or 0 when the
	// request was not forwarded or the registry has not answered.
	Upstream int
	// Status is the status code the client received, or 0 when the proxy
	// closed the connection instead, when the client gave up first, or
	// while the request is still in flight.
	Status int
	// Received is how many bytes of the request's body the proxy read from
	// the client.
	Received int64
	// Answered is when the proxy began its answer to the client: when it
	// wrote the status line, or, for a request it answered by closing the
	// connection, when it finished with it. It is zero while the request is
	// still held. A request that arrived after Answered may depend on this
	// answer; one that arrived before cannot.
	Answered time.Time
	// Done reports whether the proxy has finished with the request. Upstream
	// and Status are set before the client can see the outcome; Done may
	// follow a moment later.
	Done bool
}

// admit records the arrival of r and returns its record, the delay to apply
// and the fault chosen for it. It reports false once the proxy is closed.
func (p *Proxy) admit(r *http.Request) (*Request, time.Duration, Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, 0, Fault{}, false
	}
	p.inflight.Add(1)
	p.seen++
	fault := Pass()
	if p.fault != nil {
		fault = p.fault(r, p.seen)
	}
	rec := &Request{Method: r.Method, Path: r.URL.Path, Time: time.Now(), Fault: fault}
	p.requests = append(p.requests, rec)
	return rec, p.delay, fault, true
}

// setHeld records how long the proxy held a request.
func (p *Proxy) setHeld(rec *Request, held time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec.Held = held
}

// setUpstream records the registry's status code for a request.
func (p *Proxy) setUpstream(rec *Request, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec.Upstream = status
}

// setStatus records the status code that the client is about to receive.
func (p *Proxy) setStatus(rec *Request, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec.Status = status
	if rec.Answered.IsZero() {
		rec.Answered = time.Now()
	}
}

// setReceived records how many body bytes a request carried.
func (p *Proxy) setReceived(rec *Request, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec.Received = n
}

// finish marks a request's record complete.
func (p *Proxy) finish(rec *Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec.Done = true
	if rec.Answered.IsZero() {
		rec.Answered = time.Now()
	}
	p.inflight.Done()
}

// Count returns how many recorded requests had the given method, or any
// method when method is "", and a URL path containing pathSubstring.
func (p *Proxy) Count(method, pathSubstring string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, rec := range p.requests {
		if (method == "" || rec.Method == method) && strings.Contains(rec.Path, pathSubstring) {
			n++
		}
	}
	return n
}

// Total returns how many requests have been recorded.
func (p *Proxy) Total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.requests)
}

// Requests returns a copy of the recorded requests in arrival order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Request, len(p.requests))
	for i, rec := range p.requests {
		out[i] = *rec
	}
	return out
}

// Reset forgets the recorded requests. It changes neither the delay nor the
// fault rule, nor the n that the rule is given.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = nil
}
