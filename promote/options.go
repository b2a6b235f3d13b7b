package promote

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/promote/internal/fanout"
	"github.com/molecule-ai/promote/promote/internal/sigcheck"
)

// Option configures a [Promoter]. An option given an unusable value makes
// [New] fail with an error wrapping [ErrInvalidInput].
type Option func(*options) error

type options struct {
	keychain        authn.Keychain
	credentials     map[string]Credential
	transport       http.RoundTripper
	endpoints       map[string]string
	concurrency     int
	backoff         remote.Backoff
	restoreTimeout  time.Duration
	timeout         time.Duration
	responseTimeout time.Duration
	userAgent       string
	// insecure reaches every registry over plain HTTP, or TLS without
	// verifying its certificate.
	insecure bool
	// dial replaces the default transport's dialer; tests use it to give
	// a loopback registry a name of its own.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// signatures is the signature policy; nil checks no signatures.
	signatures *sigcheck.Policy
	// copyProgress and copyConcurrency shape the copy to destinations.
	copyProgress    func(CopyProgress)
	copyConcurrency int
	// afterVerify runs between verification and the first write; tests use
	// it to re-push a source tag at the worst moment.
	afterVerify func(context.Context)
	// beforeRestore runs after the read-back found a failure and before any
	// tag is put back; tests use it to let another writer in.
	beforeRestore func(context.Context)
}

func defaultOptions() options {
	return options{
		keychain:    authn.DefaultKeychain,
		credentials: map[string]Credential{},
		endpoints:   map[string]string{},
		concurrency: fanout.DefaultConcurrency,
		backoff: remote.Backoff{
			Duration: 250 * time.Millisecond,
			Factor:   2,
			Jitter:   0.1,
			Steps:    4,
		},
		restoreTimeout:  time.Minute,
		responseTimeout: 30 * time.Second,
		userAgent:       "promote/" + Version(),
		copyConcurrency: fanout.DefaultCopyConcurrency,
	}
}

// WithKeychain resolves credentials through k. The default is
// [authn.DefaultKeychain], which reads the docker config file.
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error {
		if k == nil {
			return invalid("keychain", "nil", "a keychain is required")
		}
		o.keychain = k
		return nil
	}
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
	return func(o *options) error {
		var errs []error
		if !validHost(registry) {
			errs = append(errs, invalid("registry", registry, "expected a registry host such as ghcr.io or localhost:5000"))
		}
		if username == "" {
			errs = append(errs, invalid("username", username, "must not be empty"))
		}
		if password == "" {
			errs = append(errs, invalid("password", "", "must not be empty"))
		}
		registry = canonicalRegistry(registry)
		if _, dup := o.credentials[registry]; dup {
			errs = append(errs, invalid("registry", registry, "credentials given more than once"))
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		o.credentials[registry] = Credential{Username: username, Password: password}
		return nil
	}
}

// WithTransport sets the HTTP transport that requests go through, beneath
// authentication and retries. The default is a private copy of
// [remote.DefaultTransport].
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) error {
		if t == nil {
			return invalid("transport", "nil", "a transport is required")
		}
		o.transport = t
		return nil
	}
}

// WithEndpoint sends every request for registry (as it appears in the image
// names, e.g. "localhost:5000") to hostport instead, over plain HTTP. Image
// names, the Host header and error messages keep the registry as given.
func WithEndpoint(registry, hostport string) Option {
	return func(o *options) error {
		if !validHost(registry) || hostport == "" {
			return invalid("endpoint", registry+"="+hostport, "expected a registry host and a host:port")
		}
		o.endpoints[canonicalRegistry(registry)] = hostport
		return nil
	}
}

// WithInsecure reaches every registry of the run, sources and
// destinations, as crane's --insecure does: over plain HTTP where the
// registry speaks no TLS, and over TLS without verifying its certificate.
// The report says so (see [Report.Insecure]). It applies to the default
// transport, not to one given with [WithTransport], whose TLS settings
// are its own.
func WithInsecure() Option {
	return func(o *options) error {
		o.insecure = true
		return nil
	}
}

// WithConcurrency bounds how many repositories are worked on at once; each
// has at most one request per target tag and backup tag in flight. The
// default, 64, lets a release of up to 64 images move in one round trip.
func WithConcurrency(n int) Option {
	return atLeastOne("concurrency", n, func(o *options) { o.concurrency = n })
}

// WithRetryBackoff sets how requests that failed transiently (429, 5xx,
// connection reset) are retried. The default tries 4 times, waiting 250 ms,
// then 500 ms, then 1 s.
func WithRetryBackoff(b remote.Backoff) Option {
	return func(o *options) error {
		if b.Steps < 1 {
			return invalid("retry backoff", itoa(b.Steps)+" steps", "must try at least once")
		}
		o.backoff = b
		return nil
	}
}

// WithTimeout bounds every operation, from the first request to the last
// read-back, as the CLI's --timeout does; errors then say "timed out after
// d". Putting tags back after a failure has its own deadline (see
// [WithRestoreTimeout]). The default is no bound beyond the context's.
func WithTimeout(d time.Duration) Option {
	return positive("timeout", d, func(o *options) { o.timeout = d })
}

// WithResponseTimeout bounds the wait for each response's headers, so that
// no single request to a registry that stopped answering hangs, even
// without a deadline. It applies to the default transport, not to one given
// with [WithTransport]. The default is 30 seconds; TLS handshakes are
// bounded at 10 seconds.
func WithResponseTimeout(d time.Duration) Option {
	return positive("response timeout", d, func(o *options) { o.responseTimeout = d })
}

// WithRestoreTimeout bounds the time spent putting tags back after a failed
// promotion. Restoring runs on its own deadline, so that a promotion that
// failed because its context expired can still be undone. The default is one
// minute.
func WithRestoreTimeout(d time.Duration) Option {
	return positive("restore timeout", d, func(o *options) { o.restoreTimeout = d })
}

// positive is an option that applies set when d is positive and is
// rejected otherwise.
func positive(field string, d time.Duration, set func(*options)) Option {
	return func(o *options) error {
		if d <= 0 {
			return invalid(field, d.String(), "must be positive")
		}
		set(o)
		return nil
	}
}

// canonicalRegistry spells a registry host as go-containerregistry does in
// requests, so that "docker.io" finds "index.docker.io".
func canonicalRegistry(host string) string {
	reg, err := name.NewRegistry(host)
	if err != nil {
		return host
	}
	return reg.RegistryStr()
}

// atLeastOne is an option that applies set when n is at least 1 and is
// rejected otherwise.
func atLeastOne(field string, n int, set func(*options)) Option {
	return func(o *options) error {
		if n < 1 {
			return invalid(field, itoa(n), "must be at least 1")
		}
		set(o)
		return nil
	}
}
