package registrytest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestDistributionAnonymous(t *testing.T) {
	t.Parallel()
	srv := Distribution(t)
	if srv.Username != "" || srv.Password != "" {
		t.Errorf("anonymous registry has credentials %q/%q", srv.Username, srv.Password)
	}
	if !strings.HasPrefix(srv.Addr, "127.0.0.1:") {
		t.Errorf("Addr = %q, want 127.0.0.1:port", srv.Addr)
	}
	if got, want := srv.Repo("team/app"), srv.Addr+"/team/app"; got != want {
		t.Errorf("Repo = %q, want %q", got, want)
	}
	resp, _, err := do(t, newClient(t, testTimeout), http.MethodGet, "http://"+srv.Addr+"/v2/", nil, nil, "", "")
	if err != nil {
		t.Fatalf("GET /v2/: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/ = %d, want 200", resp.StatusCode)
	}

	ref := srv.Repo("app") + ":staging-1"
	digest, err := PushImage(testContext(t), ref, ImageSpec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustDigest(t, ref, nil); got != digest {
		t.Errorf("Digest = %s, want %s", got, digest)
	}
}

func TestDistributionBasicAuth(t *testing.T) {
	t.Parallel()
	srv := Distribution(t, WithBasicAuth("promoter", "s3cret pass"))
	if srv.Username != "promoter" || srv.Password != "s3cret pass" {
		t.Fatalf("credentials = %q/%q, want promoter/s3cret pass", srv.Username, srv.Password)
	}
	client := newClient(t, testTimeout)
	url := "http://" + srv.Addr + "/v2/"
	for _, tc := range []struct {
		user, pass string
		want       int
	}{
		{"", "", http.StatusUnauthorized},
		{"promoter", "s3cret pass", http.StatusOK},
		{"promoter", "wrong", http.StatusUnauthorized},
		{"intruder", "s3cret pass", http.StatusUnauthorized},
	} {
		resp, _, err := do(t, client, http.MethodGet, url, nil, nil, tc.user, tc.pass)
		if err != nil {
			t.Fatalf("GET /v2/ as %q: %v", tc.user, err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("GET /v2/ as %q/%q = %d, want %d", tc.user, tc.pass, resp.StatusCode, tc.want)
		}
	}

	ref := srv.Repo("app") + ":staging-1"
	digest, err := PushImage(testContext(t), ref, ImageSpec{}, srv.Auth())
	if err != nil {
		t.Fatalf("push with the right credentials: %v", err)
	}
	if got := mustDigest(t, ref, srv.Auth()); got != digest {
		t.Errorf("Digest = %s, want %s", got, digest)
	}

	wrong := &authn.Basic{Username: "promoter", Password: "wrong"}
	if _, err := PushImage(testContext(t), srv.Repo("app")+":other", ImageSpec{}, wrong); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("push with wrong credentials: err = %v, want 401", err)
	}
	if _, _, err := Digest(testContext(t), ref, nil); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("anonymous Digest: err = %v, want 401", err)
	}
}

// isStatus reports whether err carries a registry answer with the status
// code.
func isStatus(err error, code int) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == code
}

func TestDistributionCloseStopsAndCleansUp(t *testing.T) {
	t.Parallel()
	srv, err := StartDistribution(testContext(t), DistributionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PushImage(testContext(t), srv.Repo("app")+":v1", ImageSpec{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := do(t, newClient(t, testTimeout), http.MethodGet, "http://"+srv.Addr+"/v2/", nil, nil, "", ""); err == nil {
		t.Errorf("registry still answers after Close")
	}
	if logs := srv.Logs(); logs != "" {
		t.Errorf("log still readable after Close: %q", logs)
	}
}

func TestDistributionMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(BinaryEnv, "")
	_, err := StartDistribution(context.Background(), DistributionConfig{})
	want := `docker-registry not found in PATH: install it with "apt-get install docker-registry"`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestDistributionBinaryFromEnv(t *testing.T) {
	bin, err := exec.LookPath(defaultBinary)
	if err != nil {
		t.Fatalf("%s is needed for this test: %v", defaultBinary, err)
	}
	t.Setenv(BinaryEnv, bin)
	t.Setenv("PATH", t.TempDir())
	srv := Distribution(t)
	if _, err := PushImage(testContext(t), srv.Repo("app")+":v1", ImageSpec{}, nil); err != nil {
		t.Fatal(err)
	}

	t.Setenv(BinaryEnv, filepath.Join(t.TempDir(), "no-such-registry"))
	if _, err := StartDistribution(testContext(t), DistributionConfig{}); err == nil || !strings.Contains(err.Error(), BinaryEnv) {
		t.Errorf("err = %v, want one naming %s", err, BinaryEnv)
	}
}

// fakeRegistry writes an executable shell script standing in for the
// registry and returns its path.
func fakeRegistry(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-registry")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDistributionStartFailureShowsLog(t *testing.T) {
	t.Parallel()
	bin := fakeRegistry(t, "echo 'level=fatal msg=\"configuration is broken\"'\nexit 1\n")
	_, err := StartDistribution(testContext(t), DistributionConfig{Binary: bin})
	if err == nil {
		t.Fatal("StartDistribution succeeded with a registry that exits at once")
	}
	for _, want := range []string{"exited before it answered", "configuration is broken"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestDistributionRetriesPortClash(t *testing.T) {
	t.Parallel()
	attempts := filepath.Join(t.TempDir(), "attempts")
	bin := fakeRegistry(t, "echo x >> '"+attempts+"'\necho 'level=fatal msg=\"listen tcp: bind: address already in use\"'\nexit 1\n")
	_, err := StartDistribution(testContext(t), DistributionConfig{Binary: bin})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("err = %v, want a port clash", err)
	}
	data, err := os.ReadFile(attempts)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(data), "x"); got != portAttempts {
		t.Errorf("registry started %d times, want %d", got, portAttempts)
	}
}

func TestDistributionStartTimeout(t *testing.T) {
	t.Parallel()
	bin := fakeRegistry(t, "exec sleep 60\n")
	_, err := StartDistribution(testContext(t), DistributionConfig{Binary: bin, StartTimeout: 300 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline", err)
	}
}

func TestRegistryEnvDropsOverrides(t *testing.T) {
	got := registryEnv([]string{"PATH=/bin", "REGISTRY_HTTP_ADDR=:5000", "HOME=/root"})
	if want := "PATH=/bin HOME=/root"; strings.Join(got, " ") != want {
		t.Errorf("registryEnv = %q, want %q", got, want)
	}
}

func TestHtpasswdRejectsColon(t *testing.T) {
	if _, err := writeHtpasswd(t.TempDir(), "a:b", "pw"); err == nil {
		t.Error("writeHtpasswd accepted a username with a colon")
	}
}

func TestConfigYAMLQuotes(t *testing.T) {
	f := registryFiles{addr: "127.0.0.1:1", storage: `/tmp/a "b"`, logLevel: "warn", instance: "i", secret: "s"}
	got := f.configYAML()
	if !strings.Contains(got, `rootdirectory: "/tmp/a \"b\""`) {
		t.Errorf("storage path not quoted:\n%s", got)
	}
	if strings.Contains(got, "auth:") {
		t.Errorf("auth configured without htpasswd:\n%s", got)
	}
	if !strings.Contains(got, "enabled: false") {
		t.Errorf("delete not disabled:\n%s", got)
	}
}
