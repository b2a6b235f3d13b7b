package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// TestInsecureReachesSelfSignedTLS promotes on a registry that serves TLS
// with a self-signed certificate: refused without --insecure, done with
// it, and every report warns.
func TestInsecureReachesSelfSignedTLS(t *testing.T) {
	hs := httptest.NewTLSServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(hs.Close)
	image := hs.Listener.Addr().String() + "/team/api"
	img, err := registrytest.NewImage(registrytest.ImageSpec{Labels: map[string]string{"org.opencontainers.image.revision": sha}})
	if err != nil {
		t.Fatal(err)
	}
	staging, err := name.ParseReference(image + ":staging-" + sha[:7])
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(staging, img, remote.WithContext(context.Background()), remote.WithTransport(hs.Client().Transport)); err != nil {
		t.Fatal(err)
	}

	if r := runCLI(t, "", nil, "promote", "--sha", sha, "--image", image); r.code != exitFailed || !strings.Contains(r.stderr, "certificate") {
		t.Fatalf("without --insecure: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r := runCLI(t, "", nil, "promote", "--sha", sha, "--image", image, "--insecure", "--json")
	if r.code != exitOK {
		t.Fatalf("with --insecure: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var rep promote.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !rep.Insecure || rep.Images[0].Outcome != promote.OutcomeChanged {
		t.Fatalf("report: %v\n%s", err, r.stdout)
	}
	latest, err := remote.Head(staging.Context().Tag("latest"), remote.WithTransport(hs.Client().Transport))
	if err != nil || latest.Digest.String() != rep.Images[0].Digest {
		t.Errorf("latest = %v (%v), want %s", latest, err, rep.Images[0].Digest)
	}
	if r := runCLI(t, "", nil, "status", "--image", image, "--insecure"); r.code != exitOK || !strings.Contains(r.stdout, "warning: insecure") {
		t.Errorf("status --insecure: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
