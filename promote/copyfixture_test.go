package promote_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/internal/sigstoretest"
	"github.com/molecule-ai/promote/promote"
)

// layerSize is the size of each layer of the copied test images: a few MB,
// so that a blob is streamed in many reads.
const layerSize = 3 << 20

var (
	distributionRegistry = func(t *testing.T) *registrytest.Server { return registrytest.Distribution(t) }
	referrersRegistry    = func(t *testing.T) *registrytest.Server { return registrytest.InProcessWithReferrers(t) }
)

// side is one registry of a cross-registry promotion, behind a counting,
// fault-injecting proxy.
type side struct {
	t      *testing.T
	server *registrytest.Server
	proxy  *registrytest.Proxy
}

func newSide(t *testing.T, start func(*testing.T) *registrytest.Server) *side {
	s := &side{t: t, server: start(t)}
	s.proxy = registrytest.NewProxy(t, s.server.Addr)
	return s
}

// repo is the repository name as the code under test reaches it.
func (s *side) repo(path string) string { return s.proxy.Addr + "/" + path }

// direct is ref as the test reaches the registry, without the proxy.
func (s *side) direct(ref string) string { return strings.Replace(ref, s.proxy.Addr, s.server.Addr, 1) }

// digest reads ref from the registry itself; "" when absent.
func (s *side) digest(ref string) string {
	s.t.Helper()
	d, found, err := registrytest.Digest(context.Background(), s.direct(ref), nil)
	if err != nil {
		s.t.Fatalf("reading %s: %v", ref, err)
	}
	if !found {
		return ""
	}
	return d
}

// crossFixture is a promotion from repositories of one registry to
// repositories of another.
type crossFixture struct {
	t        *testing.T
	src, dst *side
	sources  []string
	dests    []string
}

func newCrossFixture(t *testing.T, src, dst func(*testing.T) *registrytest.Server) *crossFixture {
	t.Helper()
	f := &crossFixture{t: t, src: newSide(t, src)}
	f.dst = f.src
	if dst != nil {
		f.dst = newSide(t, dst)
	}
	for _, name := range []string{"api", "worker"} {
		f.sources = append(f.sources, f.src.repo("acme/staging/"+name))
		f.dests = append(f.dests, f.dst.repo("acme/prod/"+name))
	}
	return f
}

// config promotes every source to its destination.
func (f *crossFixture) config() promote.Config {
	cfg := promote.Config{Repositories: f.sources}
	for i, s := range f.sources {
		cfg.Destinations = append(cfg.Destinations, promote.Mapping{Source: s, Destination: f.dests[i]})
	}
	return cfg
}

func (f *crossFixture) promoter(cfg promote.Config, extra ...promote.Option) *promote.Promoter {
	f.t.Helper()
	opts := append([]promote.Option{
		promote.WithAnonymous(),
		promote.WithRetryBackoff(remote.Backoff{Duration: 5 * time.Millisecond, Factor: 2, Steps: 3}),
		promote.WithRestoreTimeout(20 * time.Second),
	}, extra...)
	p, err := promote.New(cfg, opts...)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return p
}

// signed is what a seeded source image carries: its digest, its OCI
// referrers and its classic signature and attestation tags.
type signed struct {
	digest    string
	referrers []string
	classic   map[string]string // tag -> digest
}

// seed pushes, to every source repository, a two-platform index of
// few-MB layers as staging-<sha>, signed with one OCI referrer and with
// classic .sig and .att tags.
func (f *crossFixture) seed(sha string) []signed {
	f.t.Helper()
	var out []signed
	for _, repo := range f.sources {
		out = append(out, f.seedOne(f.src.direct(repo), sha))
	}
	return out
}

func (f *crossFixture) seedOne(repo, sha string) signed {
	f.t.Helper()
	ctx := context.Background()
	idx := newTestIndex(f.t, sha)
	ref, err := name.ParseReference(repo + ":staging-" + sha[:7])
	if err != nil {
		f.t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx)); err != nil {
		f.t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		f.t.Fatal(err)
	}
	subject := ref.Context().Digest(d.String()).String()
	if err := sigstoretest.AttachBundle(ctx, subject, randomBytes(f.t, 512), ""); err != nil {
		f.t.Fatalf("attaching a bundle to %s: %v", subject, err)
	}
	s := signed{digest: d.String(), classic: map[string]string{}}
	idxRefs, err := remote.Referrers(ref.Context().Digest(d.String()))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, m := range must(idxRefs.IndexManifest()).Manifests {
		s.referrers = append(s.referrers, m.Digest.String())
	}
	for _, suffix := range []string{".sig", ".att"} {
		layer := sigstoretest.Layer{MediaType: "application/vnd.dev.cosign.simplesigning.v1+json", Content: randomBytes(f.t, 512),
			Annotations: map[string]string{"dev.cosignproject.cosign/signature": "test"}}
		if err := sigstoretest.AttachClassic(ctx, subject, suffix, []sigstoretest.Layer{layer}); err != nil {
			f.t.Fatalf("attaching %s to %s: %v", suffix, subject, err)
		}
		tag := "sha256-" + d.Hex + suffix
		digest, _, err := registrytest.Digest(ctx, ref.Context().Tag(tag).String(), nil)
		if err != nil {
			f.t.Fatal(err)
		}
		s.classic[tag] = digest
	}
	return s
}

// newTestIndex makes a linux/amd64 and linux/arm64 index whose images have
// two layers of layerSize random bytes each, and sha as their revision.
func newTestIndex(t *testing.T, sha string) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		img, err := mutate.ConfigFile(base, &v1.ConfigFile{
			OS: "linux", Architecture: arch, RootFS: v1.RootFS{Type: "layers"},
			Config: v1.Config{Labels: map[string]string{"org.opencontainers.image.revision": sha}},
		})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if img, err = mutate.AppendLayers(img, static.NewLayer(randomBytes(t, layerSize), types.OCILayer)); err != nil {
				t.Fatal(err)
			}
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: "linux", Architecture: arch},
		}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// assertCopied fails unless the destination repository holds the manifest
// tree at digest, every blob it references, its referrers and its classic
// tags, all with the source's digests.
func (f *crossFixture) assertCopied(dstRepo string, want signed) {
	f.t.Helper()
	repo, err := name.NewRepository(f.dst.direct(dstRepo))
	if err != nil {
		f.t.Fatal(err)
	}
	f.assertTree(repo, want.digest)
	idx, err := remote.Referrers(repo.Digest(want.digest))
	if err != nil {
		f.t.Fatalf("listing referrers at %s: %v", repo, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		f.t.Fatal(err)
	}
	var got []string
	for _, m := range im.Manifests {
		if m.ArtifactType == promote.RecordArtifactType || m.Annotations["io.github.molecule-ai.promote.action"] != "" {
			continue // the destination's own promotion records
		}
		got = append(got, m.Digest.String())
		if m.ArtifactType == "" {
			f.t.Errorf("referrer %s at %s has lost its artifact type", m.Digest, repo)
		}
		f.assertTree(repo, m.Digest.String())
	}
	slices.Sort(got)
	if !slices.Equal(got, want.referrers) {
		f.t.Errorf("referrers of %s at %s = %v, want %v", want.digest, repo, got, want.referrers)
	}
	for tag, d := range want.classic {
		if got := f.dst.digest(dstRepo + ":" + tag); got != d {
			f.t.Errorf("%s:%s = %q, want %s", dstRepo, tag, got, d)
		}
		f.assertTree(repo, d)
	}
}

// assertTree fails unless repo has the manifest at digest, its children
// and every blob, as the registry itself answers.
func (f *crossFixture) assertTree(repo name.Repository, digest string) {
	f.t.Helper()
	desc, err := remote.Get(repo.Digest(digest))
	if err != nil {
		f.t.Errorf("%s@%s is missing: %v", repo, digest, err)
		return
	}
	if desc.Digest.String() != digest {
		f.t.Errorf("%s@%s reads back as %s", repo, digest, desc.Digest)
	}
	if desc.MediaType.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			f.t.Fatal(err)
		}
		for _, m := range idx.Manifests {
			f.assertTree(repo, m.Digest.String())
		}
		return
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		resp, err := http.Head("http://" + repo.RegistryStr() + "/v2/" + repo.RepositoryStr() + "/blobs/" + b.Digest.String())
		if err != nil {
			f.t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			f.t.Errorf("blob %s of %s@%s is missing at the destination: %s", b.Digest, repo, digest, resp.Status)
		}
	}
}

// uploads counts the blob uploads that sent bytes through the proxy.
func uploads(p *registrytest.Proxy) int {
	n := 0
	for _, r := range p.Requests() {
		// The two bytes of "{}", the empty blob that promotion records
		// name, are uploaded where the repository lacks them.
		records := r.Method == http.MethodPut && r.Received == int64(len("{}"))
		if (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.Path, "/blobs/uploads/") && !records {
			n++
		}
	}
	return n
}
