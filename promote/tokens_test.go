package promote_test

import (
	"context"
	"fmt"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// TestLargeSetsBatchTokenScopes promotes 300 images on a registry whose
// token server refuses URLs over 8 KiB, as real ones do: the scopes must be
// asked for in batches, each token URL short enough.
func TestLargeSetsBatchTokenScopes(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 300 repositories")
	}
	const n = 300
	srv := registrytest.StartTokenAuth(t)
	ctx := context.Background()
	repos := make([]string, n)
	var g errgroup.Group
	g.SetLimit(16)
	for i := range repos {
		repos[i] = fmt.Sprintf("%s/a-rather-long-organisation-name/service-number-%03d", srv.Addr, i)
		g.Go(func() error {
			_, err := registrytest.PushImage(ctx, repos[i]+":staging-2222222", registrytest.ImageSpec{}, nil)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	seeded := len(srv.TokenRequests())

	p, err := promote.New(promote.Config{Repositories: repos}, promote.WithAnonymous())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{})
	if err != nil {
		t.Fatalf("Promote: %v", err)
	}
	if len(rep.Images) != n {
		t.Fatalf("%d entries, want %d", len(rep.Images), n)
	}
	tokens := srv.TokenRequests()[seeded:]
	if want := (n + 49) / 50; len(tokens) != want {
		t.Errorf("%d token requests, want %d (one per 50 repositories)", len(tokens), want)
	}
	for _, tr := range tokens {
		if tr.Refused || tr.URLLength > registrytest.MaxTokenURL {
			t.Errorf("token URL of %d bytes for %d scopes", tr.URLLength, len(tr.Scopes))
		}
	}
}
