package promote_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// namedHost is the registry name the insecure tests use: not localhost
// and no loopback address, so go-containerregistry would speak TLS to it.
const namedHost = "registry.test"

// TestInsecureReachesPlainHTTPAndUnverifiedTLS promotes through a
// registry reached by a name of its own, once over plain HTTP and once
// over TLS with a self-signed certificate: refused without WithInsecure,
// done with it, and the report warns.
func TestInsecureReachesPlainHTTPAndUnverifiedTLS(t *testing.T) {
	cases := []struct {
		name    string
		start   func(http.Handler) *httptest.Server
		refusal string
	}{
		{"plain HTTP", httptest.NewServer, "server gave HTTP response to HTTPS client"},
		{"TLS with a self-signed certificate", httptest.NewTLSServer, "certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hs := tc.start(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
			t.Cleanup(hs.Close)
			_, port, err := net.SplitHostPort(hs.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			// Seed through the server's own client, which trusts its certificate.
			seed := remote.WithTransport(hs.Client().Transport)
			repos := []string{namedHost + ":" + port + "/team/api", namedHost + ":" + port + "/team/web"}
			direct := func(ref string) string { return strings.Replace(ref, namedHost, "127.0.0.1", 1) }
			for _, repo := range repos {
				img, err := registrytest.NewImage(registrytest.ImageSpec{Labels: map[string]string{"org.opencontainers.image.revision": newSHA}})
				if err != nil {
					t.Fatal(err)
				}
				if err := remote.Write(ref(t, direct(repo)+":staging-2222222"), img, seed); err != nil {
					t.Fatalf("seeding %s: %v", repo, err)
				}
			}
			dial := promote.WithDial(func(ctx context.Context, network, addr string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, strings.Replace(addr, namedHost, "127.0.0.1", 1))
			})
			newPromoter := func(opts ...promote.Option) *promote.Promoter {
				p, err := promote.New(promote.Config{Repositories: repos}, append([]promote.Option{promote.WithAnonymous(), dial}, opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}

			rep, err := newPromoter().Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
			if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), tc.refusal) || rep.Insecure {
				t.Fatalf("without insecure: err = %v, want it refused (%q)", err, tc.refusal)
			}

			rep, err = newPromoter(promote.WithInsecure()).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
			if err != nil {
				t.Fatalf("with insecure: %v", err)
			}
			for _, repo := range repos {
				staging, err := remote.Head(ref(t, direct(repo)+":staging-2222222"), seed)
				if err != nil {
					t.Fatal(err)
				}
				latest, err := remote.Head(ref(t, direct(repo)+":latest"), seed)
				if err != nil || latest.Digest != staging.Digest {
					t.Errorf("%s:latest = %v (%v), want %s", repo, latest, err, staging.Digest)
				}
			}
			js, err := rep.JSON()
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Insecure || !strings.Contains(string(js), `"insecure": true`) ||
				!strings.Contains(rep.Text(), "warning: insecure: plain HTTP was allowed and TLS certificates were not verified") ||
				!strings.Contains(rep.Markdown(), "**Warning:** insecure") {
				t.Errorf("the report does not warn:\n%s\n%s\n%s", js, rep.Text(), rep.Markdown())
			}
		})
	}
}

// ref parses s, failing the test if it is no reference.
func ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
