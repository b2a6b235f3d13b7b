package sigcheck

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// keylessPolicy is a policy that verifies with the public-good trusted
// root, fetched by fetch instead of from the network.
func keylessPolicy(t *testing.T, fetch func() (*root.TrustedRoot, error)) *Policy {
	t.Helper()
	pol, err := New(Config{Identity: "https://github.com/acme/app/.github/workflows/build.yml@refs/heads/main", Issuer: "https://token.actions.githubusercontent.com"})
	if err != nil {
		t.Fatal(err)
	}
	pol.publicGood.fetch = fetch
	return pol
}

// TestTrustedRootWaitYieldsToContext checks that a caller waiting for the
// trusted root's download stops when its context ends, and that no lock is
// held across the download: a second caller's deadline ends its own wait
// too, and a caller after the download gets the root it fetched once.
func TestTrustedRootWaitYieldsToContext(t *testing.T) {
	release := make(chan struct{})
	var fetches atomic.Int32
	fetched := &root.TrustedRoot{}
	pol := keylessPolicy(t, func() (*root.TrustedRoot, error) {
		fetches.Add(1)
		<-release
		return fetched, nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan error, 1)
	go func() {
		_, err := pol.material(ctx)
		returned <- err
	}()
	cancel()
	select {
	case err := <-returned:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled wait: got %v, want an error wrapping context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("a cancelled caller still waits for a trusted root that does not come")
	}

	// The download is still in flight: another caller with a deadline
	// is not held behind a lock.
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	if _, err := pol.material(dctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second caller: got %v, want an error wrapping context.DeadlineExceeded", err)
	}

	close(release)
	got, err := pol.material(context.Background())
	if err != nil {
		t.Fatalf("after the download: %v", err)
	}
	if got != fetched {
		t.Fatalf("after the download: got %v, want the fetched root", got)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("the trusted root was fetched %d times, want once", n)
	}
}

// TestTrustedRootRetriesAFailedDownload checks that a failed download is
// reported, and tried again by the next caller.
func TestTrustedRootRetriesAFailedDownload(t *testing.T) {
	var fetches atomic.Int32
	fetched := &root.TrustedRoot{}
	pol := keylessPolicy(t, func() (*root.TrustedRoot, error) {
		if fetches.Add(1) == 1 {
			return nil, errors.New("TUF repository unreachable")
		}
		return fetched, nil
	})
	if _, err := pol.material(context.Background()); err == nil {
		t.Fatal("first download failed, but no error was returned")
	}
	got, err := pol.material(context.Background())
	if err != nil || got != fetched {
		t.Fatalf("second try: got %v, %v; want the fetched root", got, err)
	}
}
