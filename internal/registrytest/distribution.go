package registrytest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// DistributionConfig configures a distribution registry started by
// [StartDistribution]. The zero value is an anonymous registry that allows
// deletes.
type DistributionConfig struct {
	// Binary is the registry executable. When empty, the executable named
	// by the PROMOTE_REGISTRY_BIN environment variable is used, and failing
	// that docker-registry from PATH.
	Binary string
	// Username and Password, when Username is not empty, make the registry
	// demand HTTP basic auth, checked against an htpasswd file.
	Username string
	Password string
	// DisableDelete turns storage.delete.enabled off. The registry then
	// refuses every DELETE with 405 Method Not Allowed.
	DisableDelete bool
	// ReadOnly puts the registry in read-only mode: it serves reads and
	// refuses every push, as a registry does to a client without push
	// rights.
	ReadOnly bool
	// StartTimeout bounds the wait for the registry to answer; zero means
	// 30 seconds. A deadline on the start-up context applies as well.
	StartTimeout time.Duration
}

// Option adjusts the DistributionConfig used by [Distribution].
type Option func(*DistributionConfig)

// WithBasicAuth makes the registry demand HTTP basic auth with the given
// credentials.
func WithBasicAuth(username, password string) Option {
	return func(c *DistributionConfig) {
		c.Username = username
		c.Password = password
	}
}

// WithReadOnly makes the registry refuse every push.
func WithReadOnly() Option {
	return func(c *DistributionConfig) { c.ReadOnly = true }
}

// WithoutDelete makes the registry refuse deletes with 405 Method Not
// Allowed.
func WithoutDelete() Option {
	return func(c *DistributionConfig) { c.DisableDelete = true }
}

// Distribution starts a distribution registry for the test and stops it
// when the test ends. The test fails, rather than skips, when the registry
// cannot start, including when docker-registry is not installed. When the
// test has failed, the tail of the registry's log is added to its output.
func Distribution(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var cfg DistributionConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	s, err := StartDistribution(t.Context(), cfg)
	if err != nil {
		t.Fatalf("start distribution registry: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("distribution registry %s log tail:\n%s", s.Addr, s.Logs())
		}
		if err := s.Close(); err != nil {
			t.Errorf("stop distribution registry %s: %v", s.Addr, err)
		}
	})
	return s
}

// portAttempts is how many free ports StartDistribution tries before it
// gives up, in case another process takes a port between our probe and the
// registry's bind.
const portAttempts = 5

// StartDistribution runs the CNCF distribution registry (docker-registry
// serve) on a free port of 127.0.0.1, with filesystem storage in a new
// temporary directory, and waits until GET /v2/ answers. ctx bounds only the
// start-up; the registry runs until [Server.Close], which stops it and
// removes the directory.
func StartDistribution(ctx context.Context, cfg DistributionConfig) (*Server, error) {
	bin, err := findBinary(cfg.Binary)
	if err != nil {
		return nil, err
	}
	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	dir, err := os.MkdirTemp("", "registrytest-")
	if err != nil {
		return nil, fmt.Errorf("create registry directory: %w", err)
	}
	s, err := startInDir(ctx, bin, dir, cfg)
	if err != nil {
		return nil, errors.Join(err, removeDir(dir))
	}
	return s, nil
}

// startInDir starts the registry with its files in dir, trying again on
// another port when the one picked was taken.
func startInDir(ctx context.Context, bin, dir string, cfg DistributionConfig) (*Server, error) {
	files := registryFiles{
		instance:  rand.Text(),
		secret:    rand.Text(),
		storage:   filepath.Join(dir, "storage"),
		delete:    !cfg.DisableDelete,
		readOnly:  cfg.ReadOnly,
		logLevel:  "warn",
		realmName: "registrytest",
	}
	if cfg.Username != "" {
		path, err := writeHtpasswd(dir, cfg.Username, cfg.Password)
		if err != nil {
			return nil, err
		}
		files.htpasswd = path
	}
	logPath := filepath.Join(dir, "registry.log")

	for attempt := 1; ; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		files.addr = addr
		configPath, err := files.writeConfig(dir)
		if err != nil {
			return nil, err
		}
		p, err := startProcess(bin, configPath, logPath)
		if err != nil {
			return nil, err
		}
		err = p.waitReady(ctx, addr, files.instance)
		if err == nil {
			return &Server{
				Addr:     addr,
				Username: cfg.Username,
				Password: cfg.Password,
				logs:     func() string { return logTail(logPath) },
				close:    func() error { return errors.Join(p.stop(), removeDir(dir)) },
			}, nil
		}
		stopErr := p.stop()
		tail := logTail(logPath)
		if tail == "" {
			tail = "(empty)"
		}
		if attempt < portAttempts && strings.Contains(tail, "address already in use") && ctx.Err() == nil {
			continue
		}
		return nil, errors.Join(
			fmt.Errorf("%s serve on %s: %w\nregistry log tail:\n%s", bin, addr, err, tail),
			stopErr,
		)
	}
}

// freeAddr returns a loopback host:port that nothing listened on a moment
// ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}

// removeDir deletes a registry's directory and all it holds.
func removeDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove registry directory: %w", err)
	}
	return nil
}
