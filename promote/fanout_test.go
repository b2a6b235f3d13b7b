package promote_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/molecule-ai/promote/promote"
	"github.com/molecule-ai/promote/promote/internal/attach"
)

// countingRegistry is go-containerregistry's in-process registry behind a
// handler that counts the requests it serves at once.
type countingRegistry struct {
	addr     string
	inFlight atomic.Int64
	peak     atomic.Int64
	// slow answers each request after a millisecond, as a registry across
	// a network would: requests sent at once overlap here too.
	slow atomic.Bool
}

func newCountingRegistry(t *testing.T) *countingRegistry {
	t.Helper()
	c := &countingRegistry{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true))
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := c.inFlight.Add(1)
		defer c.inFlight.Add(-1)
		for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
		}
		if c.slow.Load() {
			time.Sleep(time.Millisecond)
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	c.addr = hs.Listener.Addr().String()
	return c
}

// goroutinePeak samples runtime.NumGoroutine until stop is called, and
// returns the highest count seen.
func goroutinePeak() (stop func() int) {
	var peak int
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for {
			peak = max(peak, runtime.NumGoroutine())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() int {
		close(done)
		wg.Wait()
		return peak
	}
}

// pushWideIndex pushes to repo, as staging-<sha>, an index of n distinct
// images, each with sha as its revision and one small layer, and attaches
// referrers OCI referrers of a few layers each to it. It returns the
// index's digest.
func pushWideIndex(t *testing.T, repo name.Repository, sha string, n, referrers int) v1.Hash {
	t.Helper()
	var adds []mutate.IndexAddendum
	for k := range n {
		base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		img := must(mutate.ConfigFile(base, &v1.ConfigFile{
			OS: "linux", Architecture: "amd64", Variant: fmt.Sprintf("v%d", k), RootFS: v1.RootFS{Type: "layers"},
			Config: v1.Config{Labels: map[string]string{"org.opencontainers.image.revision": sha}},
		}))
		img = must(mutate.AppendLayers(img, static.NewLayer([]byte(fmt.Sprintf("layer %d", k)), types.OCILayer)))
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: "linux", Architecture: "amd64", Variant: fmt.Sprintf("v%d", k)},
		}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if err := remote.WriteIndex(repo.Tag("staging-"+sha[:7]), idx); err != nil {
		t.Fatalf("pushing the index: %v", err)
	}
	subject := *must(partial.Descriptor(idx))
	for k := range referrers {
		art := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), "application/vnd.example.scan.v1+json")
		for l := range 3 {
			art = must(mutate.AppendLayers(art, static.NewLayer([]byte(fmt.Sprintf("referrer %d layer %d", k, l)), "application/vnd.example.scan.v1+json")))
		}
		art = mutate.Subject(art, subject).(v1.Image)
		if err := remote.Write(repo.Digest(must(art.Digest()).String()), art); err != nil {
			t.Fatalf("pushing referrer %d: %v", k, err)
		}
	}
	return subject.Digest
}

// rawIndex is an index manifest pushed as written, whatever it lists.
type rawIndex []byte

func (r rawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// TestFanOutIsBounded checks that what a registry lists does not decide
// how many goroutines and requests a run uses. A promotion of an index at
// the most children read, with a flood of referrers, copied to another
// repository, keeps both within the limits; an index that lists more
// children fails verification without reading them.
func TestFanOutIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes thousands of manifests")
	}
	ctx := context.Background()
	reg := newCountingRegistry(t)
	src := must(name.NewRepository(reg.addr + "/acme/staging/wide"))
	dst := must(name.NewRepository(reg.addr + "/acme/prod/wide"))
	digest := pushWideIndex(t, src, newSHA, promote.MaxIndexChildren, attach.DefaultLimits.Referrers)

	maxRequests := promote.MaxRequestsPerImage(promote.DefaultCopyConcurrency)
	// Each request in flight holds a connection: a goroutine to serve it
	// and two to read and write it at the client; the rest are workers.
	maxGoroutines := 4 * maxRequests
	run := func(t *testing.T, op func(p *promote.Promoter) (*promote.Report, error)) (*promote.Report, error) {
		t.Helper()
		p, err := promote.New(promote.Config{Repositories: []string{src.Name()}, Destinations: []promote.Mapping{{Source: src.Name(), Destination: dst.Name()}}}, promote.WithAnonymous())
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		baseline := runtime.NumGoroutine()
		reg.peak.Store(0)
		reg.slow.Store(true)
		stop := goroutinePeak()
		rep, err := op(p)
		peak := stop()
		reg.slow.Store(false)
		t.Logf("peak: %d requests in flight (limit %d), %d goroutines above the %d before the run (limit %d)",
			reg.peak.Load(), maxRequests, peak-baseline, baseline, maxGoroutines)
		if got := reg.peak.Load(); got > int64(maxRequests) {
			t.Errorf("%d requests in flight at once, want at most %d", got, maxRequests)
		}
		if peak-baseline > maxGoroutines {
			t.Errorf("%d goroutines more during the run than before it, want at most %d", peak-baseline, maxGoroutines)
		}
		return rep, err
	}

	t.Run("wide index and referrer flood", func(t *testing.T) {
		rep, err := run(t, func(p *promote.Promoter) (*promote.Report, error) {
			return p.Promote(ctx, sha(newSHA), promote.WriteOptions{})
		})
		if err != nil {
			t.Fatalf("Promote: %v\n%s", err, rep.Text())
		}
		got, err := remote.Head(dst.Tag("latest"))
		if err != nil || got.Digest != digest {
			t.Fatalf("the destination's latest is %v (%v), want the promoted index %s", got, err, digest)
		}
		refs := must(must(remote.Referrers(dst.Digest(digest.String()))).IndexManifest())
		// The destination's own promotion record of the move is not one
		// of the copied referrers.
		refs.Manifests = slices.DeleteFunc(refs.Manifests, func(d v1.Descriptor) bool {
			return d.ArtifactType == promote.RecordArtifactType || d.Annotations["io.github.molecule-ai.promote.action"] != ""
		})
		if n := len(refs.Manifests); n != attach.DefaultLimits.Referrers {
			t.Errorf("the destination lists %d referrers of the index, want %d", n, attach.DefaultLimits.Referrers)
		}
	})

	t.Run("index over the limit", func(t *testing.T) {
		// One child, listed far more times than an index may list.
		child := must(must(remote.Index(src.Tag("staging-" + newSHA[:7]))).IndexManifest()).Manifests[0]
		wide := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
		for range 4 * promote.MaxIndexChildren {
			wide.Manifests = append(wide.Manifests, child)
		}
		if err := remote.Put(src.Tag("staging-"+newSHA[:7]), rawIndex(must(json.Marshal(wide)))); err != nil {
			t.Fatal(err)
		}
		rep, err := run(t, func(p *promote.Promoter) (*promote.Report, error) {
			return p.Verify(ctx, sha(newSHA))
		})
		if !errors.Is(err, promote.ErrVerification) {
			t.Fatalf("Verify of an index of %d children: got %v, want a verification failure", len(wide.Manifests), err)
		}
		want := fmt.Sprintf("more than %d manifests", promote.MaxIndexChildren)
		if !strings.Contains(err.Error(), want) || !strings.Contains(rep.Text(), want) {
			t.Errorf("the error and the report should say the index lists %s; got:\n%v\n%s", want, err, rep.Text())
		}
	})
}
