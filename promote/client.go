package promote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/molecule-ai/promote/promote/internal/attach"
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

// baseTransport returns the transport beneath authentication: endpoint
// redirection, then go-containerregistry's retrying transport.
func (o *options) baseTransport() http.RoundTripper {
	t := o.transport
	if t == nil {
		def := remote.DefaultTransport.(*http.Transport).Clone()
		def.ResponseHeaderTimeout = o.responseTimeout
		def.TLSHandshakeTimeout = 10 * time.Second
		if o.insecure {
			if def.TLSClientConfig == nil {
				def.TLSClientConfig = &tls.Config{}
			}
			def.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // asked for with WithInsecure, and reported
		}
		if o.dial != nil {
			def.DialContext = o.dial
		}
		t = headerTimeoutTransport{inner: def, after: o.responseTimeout}
	}
	if len(o.endpoints) > 0 {
		t = &endpointTransport{inner: t, endpoints: o.endpoints}
	}
	retrying := transport.NewRetry(t,
		transport.WithRetryBackoff(o.backoff),
		transport.WithRetryStatusCodes(retryStatusCodes...))
	return transport.NewUserAgent(bodilessRetry{retrying: retrying, once: t}, o.userAgent)
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

// repoClient reads and writes one repository over its registry's
// authenticated transport.
type repoClient struct {
	repo name.Repository
	// authenticated and timeout explain failed requests (see explain).
	authenticated bool
	timeout       time.Duration
	base          http.RoundTripper
	// auth is base with the registry's token.
	auth   http.RoundTripper
	opts   *options
	puller *remote.Puller
	pusher *remote.Pusher
}

// connect authenticates to the registry of repos (which all share one) with
// pull access to each, and push access to repos[i] where push[i] is set: one
// ping and one token for all of them.
func (o *options) connect(ctx context.Context, base http.RoundTripper, repos []name.Repository, push []bool, timeout time.Duration) ([]*repoClient, error) {
	reg := repos[0].Registry
	auth, err := o.authenticator(ctx, repos[0])
	if err != nil {
		return nil, fmt.Errorf("resolving credentials for %s: %w", reg.RegistryStr(), err)
	}
	authenticated := auth != authn.Anonymous
	// Push scopes first: a few registries only look at the first scope.
	var scopes, pullScopes []string
	for i, repo := range repos {
		if push[i] {
			scopes = append(scopes, repo.Scope(transport.PushScope))
		} else {
			pullScopes = append(pullScopes, repo.Scope(transport.PullScope))
		}
	}
	scopes = append(scopes, pullScopes...)
	tr, err := transport.NewWithContext(ctx, reg, auth, base, scopes)
	if err != nil {
		if err := explain(err, reg.RegistryStr(), authenticated, timeout); isAccessError(err) {
			return nil, err
		}
		return nil, fmt.Errorf("connecting to %s: %w", reg.RegistryStr(), err)
	}
	// The puller limits blob reads to its jobs; image configs are read one
	// per repository, so they must all fit in one round trip.
	puller, err := remote.NewPuller(remote.WithTransport(tr), remote.WithJobs(o.concurrency))
	if err != nil {
		return nil, err
	}
	pusher, err := remote.NewPusher(remote.WithTransport(tr),
		remote.WithRetryBackoff(o.backoff), remote.WithRetryStatusCodes(retryStatusCodes...))
	if err != nil {
		return nil, err
	}
	clients := make([]*repoClient, len(repos))
	for i, repo := range repos {
		clients[i] = &repoClient{repo: repo, authenticated: authenticated, timeout: timeout, base: base, auth: tr, opts: o, puller: puller, pusher: pusher}
	}
	return clients, nil
}

// get fetches the manifest at tag; found is false when the tag does not exist.
func (c *repoClient) get(ctx context.Context, tag string) (desc *remote.Descriptor, found bool, err error) {
	desc, err = c.puller.Get(ctx, c.repo.Tag(tag))
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, c.explain(err)
	}
	return desc, true, nil
}

// head reads the digest at tag; found is false when the tag does not exist.
// Where HEAD is refused or does not say the digest (some registries answer
// 405, or omit Docker-Content-Digest), it falls back to GET, as
// crane.Digest does.
func (c *repoClient) head(ctx context.Context, tag string) (digest v1.Hash, found bool, err error) {
	d, err := c.puller.Head(ctx, c.repo.Tag(tag))
	if isNotFound(err) {
		return v1.Hash{}, false, nil
	}
	if err == nil {
		return d.Digest, true, nil
	}
	if err := c.explain(err); isAccessError(err) {
		return v1.Hash{}, false, err
	}
	desc, found, gerr := c.get(ctx, tag)
	if gerr != nil {
		return v1.Hash{}, false, gerr
	}
	if !found {
		return v1.Hash{}, false, nil
	}
	return desc.Digest, true, nil
}

// readState reads where tag points now.
func (c *repoClient) readState(ctx context.Context, tag string) readState {
	var s readState
	s.digest, s.found, s.err = c.head(ctx, tag)
	return s
}

// revisionOf returns the revision that the image at digest d names, or ""
// when it names none or cannot be read: it only helps to tell whose image
// another run wrote.
func (c *repoClient) revisionOf(ctx context.Context, d v1.Hash) string {
	desc, err := c.puller.Get(ctx, c.repo.Digest(d.String()))
	if err != nil {
		return ""
	}
	info, err := c.inspect(ctx, desc, inspectOptions{})
	if err != nil {
		return ""
	}
	return info.revision
}

// put writes m to tag: one manifest PUT, no layers.
func (c *repoClient) put(ctx context.Context, tag string, m manifest) error {
	return c.explain(c.pusher.Put(ctx, c.repo.Tag(tag), m))
}

// explain names the cause of a failed request when it concerns the whole
// registry.
func (c *repoClient) explain(err error) error {
	return explain(err, c.repo.RegistryStr(), c.authenticated, c.timeout)
}

// deleteDigest deletes the manifest with digest d. It authenticates anew,
// since deleting needs its own scope on some registries.
func (c *repoClient) deleteDigest(ctx context.Context, d v1.Hash) error {
	auth, err := c.opts.authenticator(ctx, c.repo)
	if err != nil {
		return err
	}
	return remote.Delete(c.repo.Digest(d.String()),
		remote.WithContext(ctx), remote.WithAuth(auth), remote.WithTransport(c.base))
}

// isNotFound reports whether err is a registry's "not found", as attachment
// discovery judges it too.
func isNotFound(err error) bool { return attach.IsNotFound(err) }
