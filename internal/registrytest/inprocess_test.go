package registrytest

import (
	"net/http"
	"strings"
	"testing"
)

func TestInProcess(t *testing.T) {
	t.Parallel()
	srv := InProcess(t)
	if !strings.HasPrefix(srv.Addr, "127.0.0.1:") {
		t.Errorf("Addr = %q, want 127.0.0.1:port", srv.Addr)
	}
	if srv.Username != "" || srv.Logs() != "" {
		t.Errorf("in-process registry has username %q or logs %q", srv.Username, srv.Logs())
	}
	resp, _, err := do(t, newClient(t, testTimeout), http.MethodGet, "http://"+srv.Addr+"/v2/", nil, nil, "", "")
	if err != nil {
		t.Fatalf("GET /v2/: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/ = %d, want 200", resp.StatusCode)
	}

	ref := srv.Repo("app") + ":staging-1"
	digest, err := PushImage(testContext(t), ref, ImageSpec{}, srv.Auth())
	if err != nil {
		t.Fatal(err)
	}
	if got := mustDigest(t, ref, nil); got != digest {
		t.Errorf("Digest = %s, want %s", got, digest)
	}
	assertAbsent(t, srv.Repo("app")+":latest", nil)
}
