package promote

import (
	"context"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Option configures a [Promoter].
type Option func(*options)

type options struct {
	keychain       authn.Keychain
	credentials    map[string]Credential
	transport      http.RoundTripper
	endpoints      map[string]string
	concurrency    int
	backoff        remote.Backoff
	restoreTimeout time.Duration
	// afterVerify runs between verification and the first write; tests use
	// it to re-push a source tag at the worst moment.
	afterVerify func(context.Context)
}

func defaultOptions() options {
	return options{
		keychain:    authn.DefaultKeychain,
		credentials: map[string]Credential{},
		endpoints:   map[string]string{},
		concurrency: 64,
		backoff: remote.Backoff{
			Duration: 250 * time.Millisecond,
			Factor:   2,
			Jitter:   0.1,
			Steps:    4,
		},
		restoreTimeout: time.Minute,
	}
}

// WithKeychain resolves credentials through k. The default is
// [authn.DefaultKeychain], which reads the docker config file.
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) { o.keychain = k }
}

// WithAnonymous sends no credentials, except those given with
// [WithCredentials].
func WithAnonymous() Option {
	return WithKeychain(anonymousKeychain{})
}

// WithCredentials logs in to registry (a host such as "ghcr.io" or
// "localhost:5000") with username and password. It takes precedence over the
// keychain for that registry and may be given once per registry.
func WithCredentials(registry, username string, password Secret) Option {
	return func(o *options) {
		o.credentials[registry] = Credential{Username: username, Password: password}
	}
}

// WithTransport sets the HTTP transport that requests go through, beneath
// authentication and retries. The default is a private copy of
// [remote.DefaultTransport].
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) { o.transport = t }
}

// WithEndpoint sends every request for registry (as it appears in the image
// names, e.g. "localhost:5000") to hostport instead, over plain HTTP. Image
// names, and the Host header, keep the registry as given.
func WithEndpoint(registry, hostport string) Option {
	return func(o *options) { o.endpoints[registry] = hostport }
}

// WithConcurrency bounds how many repositories are worked on at once; each
// has at most one request per target tag and backup tag in flight. The
// default, 64, lets a release of up to 64 images move in one round trip.
func WithConcurrency(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.concurrency = n
		}
	}
}

// WithRetryBackoff sets how requests that failed transiently (429, 5xx,
// connection reset) are retried. The default tries 4 times, waiting 250 ms,
// then 500 ms, then 1 s.
func WithRetryBackoff(b remote.Backoff) Option {
	return func(o *options) { o.backoff = b }
}

// WithRestoreTimeout bounds the time spent putting tags back after a failed
// promotion. Restoring runs on its own deadline, so that a promotion that
// failed because its context expired can still be undone. The default is one
// minute.
func WithRestoreTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.restoreTimeout = d
		}
	}
}
