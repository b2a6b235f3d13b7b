// Package registry reads and writes the repositories of a run: it makes
// the transports (retries, timeouts, endpoints), authenticates once per
// registry and batch of repositories, names the cause of a failed request
// when it concerns the whole registry, and reads what a manifest says of
// its platforms, revision and creation time.
//
// Manifests are read and written through go-containerregistry's
// remote.Puller and remote.Pusher; the few requests those do not offer (a
// blob's existence and stream, the start and cancellation of an upload)
// are made over the same authenticated transport.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Config says how registries are reached.
type Config struct {
	// Transport replaces the default transport beneath authentication.
	Transport http.RoundTripper
	// Endpoints sends requests for a registry host to another host:port,
	// over plain HTTP.
	Endpoints map[string]string
	// Insecure skips TLS certificate verification on the default
	// transport.
	Insecure bool
	// Dial replaces the default transport's dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// ResponseTimeout bounds how long the headers of one response may take.
	ResponseTimeout time.Duration
	// Backoff paces retries.
	Backoff remote.Backoff
	// UserAgent is sent with every request.
	UserAgent string
	// Jobs is how many blobs one puller reads at once.
	Jobs int
	// Auth resolves the credentials for a repository.
	Auth func(ctx context.Context, res authn.Resource) (authn.Authenticator, error)
}

// Access is one repository a connection reaches, and whether it writes
// there.
type Access struct {
	Repo name.Repository
	// Push asks for push access; otherwise pull access is asked for.
	Push bool
}

// Client reads and writes one repository over its registry's authenticated
// transport.
type Client struct {
	repo name.Repository
	// authenticated and timeout explain failed requests (see Explain).
	authenticated bool
	timeout       time.Duration
	base          http.RoundTripper
	// auth is base with the registry's token.
	auth   http.RoundTripper
	cfg    *Config
	puller *remote.Puller
	pusher *remote.Pusher
}

// Connect authenticates to the registry of repos (which all share one)
// with the access each asks for: one ping and one token for all of them,
// over base (see [Config.NewTransport]). timeout is the operation's time
// budget, which errors name; zero if none.
func (cfg *Config) Connect(ctx context.Context, base http.RoundTripper, repos []Access, timeout time.Duration) ([]*Client, error) {
	reg := repos[0].Repo.Registry
	auth, err := cfg.Auth(ctx, repos[0].Repo)
	if err != nil {
		return nil, fmt.Errorf("resolving credentials for %s: %w", reg.RegistryStr(), err)
	}
	authenticated := auth != authn.Anonymous
	// Push scopes first: a few registries only look at the first scope.
	var scopes, pullScopes []string
	for _, a := range repos {
		if a.Push {
			scopes = append(scopes, a.Repo.Scope(transport.PushScope))
		} else {
			pullScopes = append(pullScopes, a.Repo.Scope(transport.PullScope))
		}
	}
	scopes = append(scopes, pullScopes...)
	tr, err := transport.NewWithContext(ctx, reg, auth, base, scopes)
	if err != nil {
		if err := explain(err, reg.RegistryStr(), authenticated, timeout); IsAccessError(err) {
			return nil, err
		}
		return nil, fmt.Errorf("connecting to %s: %w", reg.RegistryStr(), err)
	}
	// The puller limits blob reads to its jobs; image configs are read one
	// per repository, so they must all fit in one round trip.
	puller, err := remote.NewPuller(remote.WithTransport(tr), remote.WithJobs(cfg.Jobs))
	if err != nil {
		return nil, err
	}
	// The pusher makes one attempt: its retries would wait without
	// watching the context, so writes are retried here (see Retry).
	pusher, err := remote.NewPusher(remote.WithTransport(tr), remote.WithRetryBackoff(remote.Backoff{Steps: 1}))
	if err != nil {
		return nil, err
	}
	clients := make([]*Client, len(repos))
	for i, a := range repos {
		clients[i] = &Client{repo: a.Repo, authenticated: authenticated, timeout: timeout, base: base, auth: tr, cfg: cfg, puller: puller, pusher: pusher}
	}
	return clients, nil
}

// Repo is the repository the client reaches.
func (c *Client) Repo() name.Repository { return c.repo }

// Transport is the registry's authenticated transport.
func (c *Client) Transport() http.RoundTripper { return c.auth }

// Puller reads manifests and blobs of the registry.
func (c *Client) Puller() *remote.Puller { return c.puller }

// Backoff paces the retries of a whole exchange.
func (c *Client) Backoff() remote.Backoff { return c.cfg.Backoff }

// Get fetches the manifest at tag; found is false when the tag does not
// exist.
func (c *Client) Get(ctx context.Context, tag string) (desc *remote.Descriptor, found bool, err error) {
	desc, err = c.puller.Get(ctx, c.repo.Tag(tag))
	if IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, c.Explain(err)
	}
	return desc, true, nil
}

// GetDigest fetches the manifest with digest d.
func (c *Client) GetDigest(ctx context.Context, d v1.Hash) (*remote.Descriptor, error) {
	return c.puller.Get(ctx, c.repo.Digest(d.String()))
}

// Head reads the digest at tag; found is false when the tag does not
// exist. Where HEAD is refused or does not say the digest (some registries
// answer 405, or omit Docker-Content-Digest), it falls back to GET, as
// crane.Digest does.
func (c *Client) Head(ctx context.Context, tag string) (digest v1.Hash, found bool, err error) {
	d, err := c.puller.Head(ctx, c.repo.Tag(tag))
	if IsNotFound(err) {
		return v1.Hash{}, false, nil
	}
	if err == nil {
		return d.Digest, true, nil
	}
	if err := c.Explain(err); IsAccessError(err) {
		return v1.Hash{}, false, err
	}
	desc, found, gerr := c.Get(ctx, tag)
	if gerr != nil {
		return v1.Hash{}, false, gerr
	}
	if !found {
		return v1.Hash{}, false, nil
	}
	return desc.Digest, true, nil
}

// HasManifest reports whether the repository has the manifest with
// digest d.
func (c *Client) HasManifest(ctx context.Context, d v1.Hash) (bool, error) {
	_, err := c.puller.Head(ctx, c.repo.Digest(d.String()))
	if IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// PutTag writes m to tag: one manifest PUT, no layers. A *remote.Descriptor
// is written as the exact bytes the registry served.
func (c *Client) PutTag(ctx context.Context, tag string, m remote.Taggable) error {
	return c.Explain(c.put(ctx, c.repo.Tag(tag), m))
}

// PutManifest writes m by its digest d.
func (c *Client) PutManifest(ctx context.Context, d v1.Hash, m remote.Taggable) error {
	return c.put(ctx, c.repo.Digest(d.String()), m)
}

// put writes m to ref, and writes it again after a transient failure.
func (c *Client) put(ctx context.Context, ref name.Reference, m remote.Taggable) error {
	return Retry(ctx, c.cfg.Backoff, manifestRetryable, func() error { return c.pusher.Put(ctx, ref, m) })
}

// DeleteDigest deletes the manifest with digest d. It authenticates anew,
// since deleting needs its own scope on some registries.
func (c *Client) DeleteDigest(ctx context.Context, d v1.Hash) error {
	auth, err := c.cfg.Auth(ctx, c.repo)
	if err != nil {
		return err
	}
	return remote.Delete(c.repo.Digest(d.String()),
		remote.WithContext(ctx), remote.WithAuth(auth), remote.WithTransport(c.base))
}

// Explain names the cause of a failed request when it concerns the whole
// registry, as an [*AccessError]; other errors are returned unchanged.
func (c *Client) Explain(err error) error {
	return explain(err, c.repo.RegistryStr(), c.authenticated, c.timeout)
}

// IsNotFound reports whether err is a registry's "not found".
func IsNotFound(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	if terr.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range terr.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}
