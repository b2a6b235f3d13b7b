package promote_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/internal/sigstoretest"
	"github.com/molecule-ai/promote/promote"
)

// maxAttackMemory is the most memory one run may take against the
// attachment bombs below: about 100 MiB, whatever the registry lists.
const maxAttackMemory = 100 << 20

// attackRegistry is go-containerregistry's in-process registry behind a
// handler that can list a flood of referrers, slows each manifest read a
// little so that concurrent reads overlap, and counts requests, writes and
// the most requests in flight at once.
type attackRegistry struct {
	inner http.Handler
	// flood, when set, is the referrers list served for any subject in
	// floodRepository, made before the test measures anything.
	flood           []byte
	floodRepository string
	// requests, writes and manifestReads count what reached the registry.
	requests, writes, manifestReads atomic.Int64
	mu                              sync.Mutex
	inFlight, maxInFlight           int
}

var referrersPath = regexp.MustCompile(`^/v2/(.+)/referrers/(sha256:[0-9a-f]{64})$`)

func (a *attackRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.requests.Add(1)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		a.writes.Add(1)
	}
	a.mu.Lock()
	a.inFlight++
	a.maxInFlight = max(a.maxInFlight, a.inFlight)
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.inFlight--
		a.mu.Unlock()
	}()
	if strings.Contains(r.URL.Path, "/manifests/sha256:") {
		a.manifestReads.Add(1)
		time.Sleep(10 * time.Millisecond)
	}
	if m := referrersPath.FindStringSubmatch(r.URL.Path); m != nil && a.flood != nil && m[1] == a.floodRepository && r.Method == http.MethodGet {
		w.Header().Set("Content-Type", string(types.OCIImageIndex))
		w.Write(a.flood)
		return
	}
	a.inner.ServeHTTP(w, r)
}

// referrersFlood lists n Sigstore bundle referrers, none of which exists.
func referrersFlood(n int) []byte {
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for i := range n {
		idx.Manifests = append(idx.Manifests, v1.Descriptor{
			MediaType:    types.OCIManifestSchema1,
			Size:         500,
			Digest:       v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", i)},
			ArtifactType: sigstoretest.BundleMediaType,
		})
	}
	return must(json.Marshal(idx))
}

// newAttackFixture starts an attack registry with two staging images,
// the second signed with the key as the policy wants.
func newAttackFixture(t *testing.T, flood int) (*fixture, *attackRegistry, *signing, []string) {
	t.Helper()
	a := &attackRegistry{inner: registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true)), floodRepository: "molecule-ai/platform"}
	if flood > 0 {
		a.flood = referrersFlood(flood)
	}
	hs := httptest.NewServer(a)
	t.Cleanup(hs.Close)
	f := &fixture{t: t, server: &registrytest.Server{Addr: hs.Listener.Addr().String()}}
	f.addr = f.server.Addr
	f.repos = []string{f.addr + "/molecule-ai/platform", f.addr + "/molecule-ai/platform-tenant"}
	sg := newSigning(t)
	digests := f.pushStaging(newSHA)
	f.attachClassic(f.repos[1], digests[1], ".sig", must(sg.sigs.Key(sg.key).ClassicSignature(f.repos[1], digests[1])))
	return f, a, sg, digests
}

// attachLayerBomb attaches to repo@digest a .sig manifest of n layers that
// all point to one blob of size bytes.
func (f *fixture) attachLayerBomb(repo, digest string, n, size int) {
	f.t.Helper()
	blob := make([]byte, size)
	rand.Read(blob)
	layer := static.NewLayer(blob, types.MediaType(sigstoretest.SimpleSigningMediaType))
	repoName := must(name.NewRepository(repo))
	if err := remote.WriteLayer(repoName, layer); err != nil {
		f.t.Fatal(err)
	}
	d := must(layer.Digest())
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: 2, Digest: must(v1.NewHash("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"))},
	}
	for range n {
		m.Layers = append(m.Layers, v1.Descriptor{
			MediaType:   types.MediaType(sigstoretest.SimpleSigningMediaType),
			Size:        int64(size),
			Digest:      d,
			Annotations: map[string]string{"dev.cosignproject.cosign/signature": "MEUCIQ=="},
		})
	}
	if err := remote.WriteLayer(repoName, static.NewLayer([]byte("{}"), types.OCIConfigJSON)); err != nil {
		f.t.Fatal(err)
	}
	raw := must(json.Marshal(m))
	tag := repoName.Tag(strings.Replace(digest, ":", "-", 1) + ".sig")
	if err := remote.Put(tag, rawTaggable{raw: raw, mediaType: types.OCIManifestSchema1}); err != nil {
		f.t.Fatal(err)
	}
}

type rawTaggable struct {
	raw       []byte
	mediaType types.MediaType
}

func (r rawTaggable) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawTaggable) MediaType() (types.MediaType, error) { return r.mediaType, nil }

// heapPeak runs fn and returns the most heap memory that objects took
// while it ran, above what they took before, sampled every millisecond,
// and what it allocated in all.
func heapPeak(fn func()) (peak, allocated uint64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	stop := make(chan struct{})
	done := make(chan uint64)
	go func() {
		var most uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			most = max(most, sample[0].Value.Uint64())
			select {
			case <-stop:
				done <- most
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	most := <-done
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if most > base {
		peak = most - base
	}
	return peak, after.TotalAlloc - before.TotalAlloc
}

func TestAttachmentBombs(t *testing.T) {
	tests := []struct {
		name string
		// flood referrers are listed; a .sig bomb of layers × size is attached.
		flood, layers, size int
		reason              string
	}{
		{name: "300 layers of one 4 MiB blob", layers: 300, size: 4 << 20, reason: "more than 16777216 bytes of signature payloads"},
		{name: "1001 layers", layers: 1001, size: 64, reason: "more than 1000 signature layers in cosign-sig-tag"},
		{name: "a layer over 4 MiB", layers: 1, size: 4<<20 + 1, reason: "more than the 4194304 read for one attachment"},
		{name: "20000 referrers", flood: 20000, reason: "more than 256 referrers of sha256:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, reg, sg, digests := newAttackFixture(t, tt.flood)
			if tt.layers > 0 {
				f.attachLayerBomb(f.repos[0], digests[0], tt.layers, tt.size)
			}
			p := f.promoter(promote.Config{}, promote.WithSignaturePolicy(sg.keyed()))
			reg.requests.Store(0)
			reg.writes.Store(0)
			reg.manifestReads.Store(0)
			var rep *promote.Report
			var err error
			peak, allocated := heapPeak(func() {
				rep, err = p.Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
			})
			t.Logf("heap peak %.1f MiB, allocated %.1f MiB, %d requests, %d manifest reads, at most %d at once",
				float64(peak)/(1<<20), float64(allocated)/(1<<20), reg.requests.Load(), reg.manifestReads.Load(), reg.maxInFlight)
			if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), f.repos[0]+":staging-2222222: ") || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Promote: err = %v, want ErrVerification naming %s and %q", err, f.repos[0], tt.reason)
			}
			if strings.Contains(err.Error(), f.repos[1]+":") {
				t.Errorf("the error names %s, which is signed:\n%v", f.repos[1], err)
			}
			if rep.Images[0].Outcome != promote.OutcomeFailed {
				t.Errorf("report entry = %+v", rep.Images[0])
			}
			if peak > maxAttackMemory {
				t.Errorf("the heap grew by %d MiB, more than %d MiB", peak>>20, maxAttackMemory>>20)
			}
			if n := reg.requests.Load(); n > 100 {
				t.Errorf("%d requests reached the registry, want a bounded few", n)
			}
			if n := reg.writes.Load(); n != 0 {
				t.Errorf("%d writes reached the registry, want none", n)
			}
			f.assertState(map[string]string{f.repos[0] + ":latest": "", f.repos[1] + ":latest": ""})

			// The same bomb under :latest fails status by name too.
			if err := registrytest.Tag(context.Background(), f.repos[0]+":latest", digests[0], f.server.Auth()); err != nil {
				t.Fatal(err)
			}
			peak, _ = heapPeak(func() { _, err = p.Status(context.Background()) })
			if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("Status: err = %v, want ErrVerification saying %q", err, tt.reason)
			}
			if peak > maxAttackMemory {
				t.Errorf("status: the heap grew by %d MiB, more than %d MiB", peak>>20, maxAttackMemory>>20)
			}
		})
	}
}

// TestAttachmentFetchesAreBounded lists 200 referrers (under the limit),
// none of which exists: they are read a few at a time, not all at once.
func TestAttachmentFetchesAreBounded(t *testing.T) {
	f, reg, sg, _ := newAttackFixture(t, 200)
	reg.mu.Lock()
	reg.maxInFlight = 0
	reg.mu.Unlock()
	p := f.promoter(promote.Config{Repositories: f.repos[:1]}, promote.WithSignaturePolicy(sg.keyed()))
	_, err := p.Verify(context.Background(), sha(newSHA))
	if !errors.Is(err, promote.ErrVerification) {
		t.Fatalf("Verify: err = %v, want ErrVerification", err)
	}
	reg.mu.Lock()
	most := reg.maxInFlight
	reg.mu.Unlock()
	// 4 referrer reads, and the image, its config and cosign's two tags.
	if most > 8 {
		t.Errorf("%d requests in flight at once, want at most 8", most)
	}
	if n := reg.manifestReads.Load(); n < 200 {
		t.Errorf("%d manifest reads, want every referrer read", n)
	}
}

// TestReportEscapesRegistryText renders a report whose details hold what a
// registry's error body might: a terminal escape, a workflow command on a
// line of its own, and HTML.
func TestReportEscapesRegistryText(t *testing.T) {
	rep := &promote.Report{Action: "verify", Result: promote.ResultFailed,
		Error: "verification failed:\n  ghcr.io/a/b: cannot read: \x1b[2J\n::error title=x::pwned\n<img src=x onerror=alert(1)>",
		Images: []promote.Image{{Source: "ghcr.io/a/b:staging-abc1234", Outcome: promote.OutcomeFailed,
			Detail: "cannot read: \x1b[2J\n  ::warning::pwned\n<script>alert(1)</script>"}},
	}
	text, md := rep.Text(), rep.Markdown()
	for line := range strings.Lines(text) {
		if strings.HasPrefix(strings.TrimSpace(line), "::") {
			t.Errorf("a line of the text report begins a workflow command: %q", line)
		}
	}
	if strings.Contains(text, "\x1b") || !strings.Contains(text, `\x1b[2J`) {
		t.Errorf("the terminal escape is not shown escaped:\n%s", text)
	}
	if strings.Contains(md, "<script>") || strings.Contains(md, "<img") || !strings.Contains(md, "&lt;script&gt;") {
		t.Errorf("the Markdown report holds raw HTML:\n%s", md)
	}
}
