package registrytest

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

// maxIdleUpstream bounds the idle connections the proxy keeps to the
// registry: more than any test or benchmark has requests in flight.
const maxIdleUpstream = 1024

// Proxy is a reverse proxy on the loopback interface in front of a
// registry. It records every request, can delay each one, and can inject
// faults. It forwards the incoming Host header unchanged, so the upload
// locations that the registry hands out point back through the proxy.
//
// All methods are safe for concurrent use.
type Proxy struct {
	// Addr is the proxy's host:port, for example "127.0.0.1:40124".
	Addr string

	srv       *http.Server
	forward   *httputil.ReverseProxy
	transport *http.Transport
	done      chan struct{} // closed by Close
	inflight  sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	delay    time.Duration
	fault    FaultFunc
	seen     int // requests since the last SetFault
	requests []*Request
}

// NewProxy starts a proxy in front of target (host:port) for the test and
// closes it when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := StartProxy(target)
	if err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close proxy %s: %v", p.Addr, err)
		}
	})
	return p
}

// StartProxy starts a proxy on a free port of 127.0.0.1 that forwards to
// the registry at target (host:port) over plain HTTP. Close stops it.
func StartProxy(target string) (*Proxy, error) {
	if _, _, err := net.SplitHostPort(target); err != nil {
		return nil, fmt.Errorf("proxy target %q is not host:port: %w", target, err)
	}
	upstream := &url.URL{Scheme: "http", Host: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for proxy: %w", err)
	}

	quiet := log.New(io.Discard, "", 0)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	// Keep every connection to the registry for the next request, as a
	// client that reached the registry directly would keep its own: with
	// the default of two, each burst of concurrent requests would make the
	// registry accept new connections, work that no real network adds.
	transport.MaxIdleConns = 0
	transport.MaxIdleConnsPerHost = maxIdleUpstream
	p := &Proxy{
		Addr:      ln.Addr().String(),
		transport: transport,
		done:      make(chan struct{}),
	}
	p.forward = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.Host = pr.In.Host
		},
		Transport:      transport,
		FlushInterval:  -1,
		ErrorLog:       quiet,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.forwardError,
	}
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(p.serve),
		ErrorLog:          quiet,
		ReadHeaderTimeout: 30 * time.Second,
	}
	// Serve returns ErrServerClosed once Close is called; nothing to report.
	go p.srv.Serve(ln)
	return p, nil
}

// Repo returns the reference of the repository name behind the proxy,
// Addr + "/" + name.
func (p *Proxy) Repo(name string) string {
	return p.Addr + "/" + name
}

// SetDelay makes the proxy wait d before it handles each later request,
// emulating a network round trip. Zero turns the delay off.
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// SetFault makes f choose the fault for each later request; nil passes every
// request through.
//
// The proxy calls f once per request, when the request arrives and before
// any delay, with n the number of that request (counting from 1) among all
// requests the proxy has received since this call to SetFault. Calls are
// made one at a time, in arrival order. f must not call the Proxy's methods.
// [Always], [Nth], [FirstN] and [Rules] build the common rules.
func (p *Proxy) SetFault(f FaultFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
	p.seen = 0
}

// Close stops the proxy, cuts its open connections and waits for the
// requests in flight to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()

	err := p.srv.Close()
	p.inflight.Wait()
	p.transport.CloseIdleConnections()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("close proxy %s: %w", p.Addr, err)
	}
	return nil
}
