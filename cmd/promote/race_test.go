package main

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/molecule-ai/promote/internal/registrytest"
)

// TestAnotherWriterExitsMixed lets another writer move one image's :latest
// between the CLI's writes and its read-back: the CLI must leave that tag
// alone, exit 3, and say that another run was at work.
func TestAnotherWriterExitsMixed(t *testing.T) {
	srv, proxy, images := registry(t)
	ctx := context.Background()
	foreign, err := registrytest.PushImage(ctx, srv.Repo("molecule-ai/platform")+":staging-other", registrytest.ImageSpec{}, srv.Auth())
	if err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	proxy.SetFault(func(r *http.Request, _ int) registrytest.Fault {
		if r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, "/platform/manifests/latest") && done.CompareAndSwap(false, true) {
			if err := registrytest.Tag(ctx, srv.Repo("molecule-ai/platform")+":latest", foreign, srv.Auth()); err != nil {
				t.Errorf("the other writer failed: %v", err)
			}
		}
		return registrytest.Pass()
	})

	res := runCLI(t, "", nil, append([]string{"promote", "--sha", sha}, imageFlags(images)...)...)
	if res.code != exitMixed {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", res.code, exitMixed, res.stdout, res.stderr)
	}
	for _, want := range []string{"conflict", foreign, "another promotion or rollback ran at the same time"} {
		if !strings.Contains(res.stdout+res.stderr, want) {
			t.Errorf("output does not say %q:\nstdout: %s\nstderr: %s", want, res.stdout, res.stderr)
		}
	}
	if got, _, _ := registrytest.Digest(ctx, srv.Repo("molecule-ai/platform")+":latest", srv.Auth()); got != foreign {
		t.Errorf("platform:latest = %s, want the other writer's %s", got, foreign)
	}
}
