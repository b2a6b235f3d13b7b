package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// retryStatusCodes are the answers worth asking again: timeouts, rate
// limits and server-side failures.
var retryStatusCodes = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// NewTransport returns the transport beneath authentication: endpoint
// redirection, then retries of requests without a body (see [Retry]).
func (cfg *Config) NewTransport() http.RoundTripper {
	t := cfg.Transport
	if t == nil {
		def := remote.DefaultTransport.(*http.Transport).Clone()
		def.ResponseHeaderTimeout = cfg.ResponseTimeout
		def.TLSHandshakeTimeout = 10 * time.Second
		if cfg.Insecure {
			if def.TLSClientConfig == nil {
				def.TLSClientConfig = &tls.Config{}
			}
			def.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // asked for with WithInsecure, and reported
		}
		if cfg.Dial != nil {
			def.DialContext = cfg.Dial
		}
		t = headerTimeoutTransport{inner: def, after: cfg.ResponseTimeout}
	}
	if len(cfg.Endpoints) > 0 {
		t = &endpointTransport{inner: t, endpoints: cfg.Endpoints}
	}
	retrying := retryTransport{inner: t, backoff: cfg.Backoff}
	return transport.NewUserAgent(bodilessRetry{retrying: retrying, once: t}, cfg.UserAgent)
}

// bodilessRetry retries only requests without a body. The same request
// cannot send a body twice, so whoever sends one, such as a blob upload
// streamed from another registry, retries the whole exchange itself.
type bodilessRetry struct {
	retrying, once http.RoundTripper
}

func (t bodilessRetry) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return t.retrying.RoundTrip(req)
	}
	return t.once.RoundTrip(req)
}

// headerTimeoutTransport marks a request that failed because its response
// headers did not come within the response timeout, while its own context
// still had time, so that the error names that timeout and not the
// operation's.
type headerTimeoutTransport struct {
	inner http.RoundTripper
	after time.Duration
}

func (t headerTimeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err != nil && req.Context().Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		err = &headerTimeoutError{after: t.after, err: err}
	}
	return resp, err
}

// headerTimeoutError is a response whose headers did not come within the
// response timeout.
type headerTimeoutError struct {
	after time.Duration
	err   error
}

func (e *headerTimeoutError) Error() string {
	return fmt.Sprintf("no response within the %s response timeout: %v", e.after, e.err)
}

func (e *headerTimeoutError) Unwrap() error { return e.err }

// endpointTransport sends requests for some registries to another address.
// What it hands back speaks of the registry as named: responses carry the
// original request and an *url.Error the original URL, so that error
// messages name the registry the user wrote, not the endpoint (often a
// generated tunnel host).
type endpointTransport struct {
	inner     http.RoundTripper
	endpoints map[string]string
}

func (t *endpointTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ep, ok := t.endpoints[req.URL.Host]
	if !ok {
		return t.inner.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	out.URL.Host = ep
	out.URL.Scheme = "http"
	if out.Host == "" {
		out.Host = req.URL.Host
	}
	resp, err := t.inner.RoundTrip(out)
	if resp != nil {
		resp.Request = req
	}
	if uerr, ok := err.(*url.Error); ok {
		err = &url.Error{Op: uerr.Op, URL: req.URL.Redacted(), Err: uerr.Err}
	}
	return resp, err
}
