package registrytest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testTimeout bounds each network exchange a test makes, so a hung registry
// fails the test instead of stalling the run.
const testTimeout = 30 * time.Second

// testContext returns a context that ends with the test or after
// testTimeout.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newClient returns an HTTP client of its own, so that a test's connections
// are not shared with another's, and closes its connections at the end.
func newClient(t *testing.T, timeout time.Duration) *http.Client {
	t.Helper()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport, Timeout: timeout}
}

// do sends a request with an optional body and basic auth, and returns the
// response with its body read.
func do(t *testing.T, client *http.Client, method, url string, header http.Header, body []byte, user, pass string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}

// mustDigest returns the digest ref names on the registry, failing the test
// when it is absent or cannot be read.
func mustDigest(t *testing.T, ref string, auth authn.Authenticator) string {
	t.Helper()
	digest, ok, err := Digest(testContext(t), ref, auth)
	if err != nil {
		t.Fatalf("Digest(%s): %v", ref, err)
	}
	if !ok {
		t.Fatalf("Digest(%s): absent, want present", ref)
	}
	return digest
}

// assertAbsent fails the test unless ref names nothing on the registry.
func assertAbsent(t *testing.T, ref string, auth authn.Authenticator) {
	t.Helper()
	digest, ok, err := Digest(testContext(t), ref, auth)
	if err != nil {
		t.Fatalf("Digest(%s): %v", ref, err)
	}
	if ok {
		t.Fatalf("Digest(%s) = %s, want absent", ref, digest)
	}
}

// rawManifest returns the manifest that ref names and its media type.
func rawManifest(t *testing.T, ref string, auth authn.Authenticator) ([]byte, string) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatalf("parse %s: %v", ref, err)
	}
	desc, err := remote.Get(r, remote.WithContext(testContext(t)), remote.WithAuth(auth))
	if err != nil {
		t.Fatalf("get %s: %v", ref, err)
	}
	return desc.Manifest, string(desc.MediaType)
}

// putManifest uploads a manifest to addr/repo:reference with a plain HTTP
// request, without the retries that go-containerregistry would add.
func putManifest(t *testing.T, client *http.Client, addr, repo, reference, mediaType string, manifest []byte) (*http.Response, error) {
	t.Helper()
	url := "http://" + addr + "/v2/" + repo + "/manifests/" + reference
	resp, _, err := do(t, client, http.MethodPut, url, http.Header{"Content-Type": {mediaType}}, manifest, "", "")
	return resp, err
}
