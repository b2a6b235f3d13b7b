package promote_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// clientTransport sends every request through an http.Client, so that its
// errors are *url.Error values naming the URL it was sent to, as those of a
// transport built on a client are.
type clientTransport struct{ client *http.Client }

func (c clientTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return c.client.Do(req)
}

// TestEndpointErrorsNameTheRegistry reaches a registry named
// localhost:5000 through an endpoint, as the module's with-registry-service
// does with a tunnel: every error and the report name the registry as
// written, never the endpoint.
func TestEndpointErrorsNameTheRegistry(t *testing.T) {
	const registry = "localhost:5000"
	stagingRead := registrytest.Match(http.MethodGet, "/manifests/staging-")
	cases := []struct {
		name      string
		fault     registrytest.FaultFunc
		transport http.RoundTripper
	}{
		{"the registry refuses a read", registrytest.Always(stagingRead, registrytest.Reply(http.StatusForbidden)), nil},
		{"the connection drops", registrytest.Always(stagingRead, registrytest.DropRequest()), nil},
		{"the connection drops beneath a client", registrytest.Always(stagingRead, registrytest.DropRequest()),
			clientTransport{&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, distribution, true)
			f.pushStaging(newSHA)
			f.proxy.SetFault(tc.fault)
			opts := []promote.Option{promote.WithEndpoint(registry, f.proxy.Addr)}
			if tc.transport != nil {
				opts = append(opts, promote.WithTransport(tc.transport))
			}
			var repos []string
			for _, r := range f.repos {
				repos = append(repos, strings.Replace(r, f.addr, registry, 1))
			}

			rep, err := f.promoter(promote.Config{Repositories: repos}, opts...).Verify(context.Background(), sha(newSHA))
			if !errors.Is(err, promote.ErrVerification) {
				t.Fatalf("err = %v, want %v", err, promote.ErrVerification)
			}
			for what, out := range map[string]string{"error": err.Error(), "report": rep.Text()} {
				if !strings.Contains(out, registry+"/v2/") {
					t.Errorf("the %s does not name the request to %s:\n%s", what, registry, out)
				}
				if strings.Contains(out, f.proxy.Addr) {
					t.Errorf("the %s names the endpoint %s:\n%s", what, f.proxy.Addr, out)
				}
			}
		})
	}
}
