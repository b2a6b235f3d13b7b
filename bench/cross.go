package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/internal/sigstoretest"
	"github.com/molecule-ai/promote/promote"
)

// Targets of the cross-registry case.
const (
	// crossSpeedupAt and crossSpeedup: promote's median wall at N images
	// is this many times lower than the fastest other tool's.
	crossSpeedupAt = 10
	crossSpeedup   = 4.0
	// crossRSSSlack is how much more memory the cli may use for images
	// crossLargeFactor times larger: streaming keeps it flat.
	crossRSSSlack    = 16 << 20
	crossLargeFactor = 4
)

// crossConfig is the cross-registry case's part of the command line.
type crossConfig struct {
	sizes    []int
	layerMiB int
}

// crossWorld is two registries, each behind a delaying proxy, and N signed
// images at the source. Every run copies into a new destination registry:
// one that never held the blobs cannot mount them from elsewhere, and
// every tool uploads every blob.
type crossWorld struct {
	src, dst           *registrytest.Server
	srcProxy, dstProxy *registrytest.Proxy
	sha                string
	// staging are the digests of the seeded images, by repository index.
	staging []v1.Hash
	// files holds the work directory and the tools' home.
	files *world
}

// crossRepo is the i-th source repository, without a registry.
func crossRepo(i int) string { return fmt.Sprintf("staging/service-%03d", i) }

// startCrossWorld starts both registries and proxies and seeds n images
// whose layers are layerBytes each.
func startCrossWorld(ctx context.Context, n int, layerBytes int64) (_ *crossWorld, err error) {
	w := &crossWorld{files: &world{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, w.Close())
		}
	}()
	if w.files.dir, err = os.MkdirTemp("", "promote-bench-cross-"); err != nil {
		return nil, fmt.Errorf("making a work directory: %w", err)
	}
	w.files.home = filepath.Join(w.files.dir, "home")
	if err := os.Mkdir(w.files.home, 0o700); err != nil {
		return nil, fmt.Errorf("making a home directory: %w", err)
	}
	if w.src, w.srcProxy, err = startBehindProxy(ctx); err != nil {
		return nil, err
	}
	if w.sha, err = newSHA(); err != nil {
		return nil, err
	}
	w.staging = make([]v1.Hash, n)
	var g errgroup.Group
	g.SetLimit(seedConcurrency)
	for i := range n {
		g.Go(func() error {
			w.staging[i], err = seedSigned(ctx, w.src.Repo(crossRepo(i))+":"+w.sourceTag(), w.sha, layerBytes)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("seeding: %w", err)
	}
	return w, nil
}

// startBehindProxy starts a distribution registry and a proxy in front of
// it.
func startBehindProxy(ctx context.Context) (*registrytest.Server, *registrytest.Proxy, error) {
	srv, err := registrytest.StartDistribution(ctx, registrytest.DistributionConfig{})
	if err != nil {
		return nil, nil, fmt.Errorf("starting a registry: %w", err)
	}
	proxy, err := registrytest.StartProxy(srv.Addr)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("starting a proxy: %w", err), srv.Close())
	}
	return srv, proxy, nil
}

// closeBehindProxy stops a proxy and its registry, either of which may be nil.
func closeBehindProxy(srv *registrytest.Server, proxy *registrytest.Proxy) error {
	var errs []error
	if proxy != nil {
		errs = append(errs, proxy.Close())
	}
	if srv != nil {
		errs = append(errs, srv.Close())
	}
	return errors.Join(errs...)
}

// Close stops the proxies and registries and removes every file.
func (w *crossWorld) Close() error {
	errs := []error{closeBehindProxy(w.src, w.srcProxy), closeBehindProxy(w.dst, w.dstProxy)}
	if w.files.dir != "" {
		errs = append(errs, os.RemoveAll(w.files.dir))
	}
	return errors.Join(errs...)
}

func (w *crossWorld) sourceTag() string {
	return strings.Replace(promote.DefaultSourceTag, "{sha}", w.sha[:7], 1)
}

// seedSigned pushes to ref a linux/amd64 and linux/arm64 index, each image
// with two random layers of layerBytes, plus a Sigstore bundle as an OCI
// referrer and a classic .sig tag, and returns the index digest.
func seedSigned(ctx context.Context, ref, sha string, layerBytes int64) (v1.Hash, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return v1.Hash{}, err
	}
	// The index is written by hand: go-containerregistry's mutate adds an
	// artifactType to each child, which skopeo refuses to copy unchanged.
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	repo := r.Context()
	for _, arch := range []string{"amd64", "arm64"} {
		base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		img, err := mutate.ConfigFile(base, &v1.ConfigFile{
			OS: "linux", Architecture: arch, RootFS: v1.RootFS{Type: "layers"},
			Config: v1.Config{Labels: map[string]string{revisionLabel: sha}},
		})
		if err != nil {
			return v1.Hash{}, err
		}
		for range 2 {
			b := make([]byte, layerBytes)
			if _, err := rand.Read(b); err != nil {
				return v1.Hash{}, err
			}
			if img, err = mutate.AppendLayers(img, static.NewLayer(b, types.OCILayer)); err != nil {
				return v1.Hash{}, err
			}
		}
		d, err := img.Digest()
		if err != nil {
			return v1.Hash{}, err
		}
		size, err := img.Size()
		if err != nil {
			return v1.Hash{}, err
		}
		if err := remote.Write(repo.Digest(d.String()), img, remote.WithContext(ctx)); err != nil {
			return v1.Hash{}, fmt.Errorf("pushing to %s: %w", repo, err)
		}
		index.Manifests = append(index.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: size, Digest: d,
			Platform: &v1.Platform{OS: "linux", Architecture: arch}})
	}
	raw, err := json.Marshal(index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Put(r, rawManifest{raw, types.OCIImageIndex}, remote.WithContext(ctx)); err != nil {
		return v1.Hash{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Hash{}, err
	}
	subject := repo.Digest(d.String()).String()
	payload := make([]byte, 1024)
	if _, err := rand.Read(payload); err != nil {
		return v1.Hash{}, err
	}
	if err := sigstoretest.AttachBundle(ctx, subject, payload, ""); err != nil {
		return v1.Hash{}, fmt.Errorf("signing %s: %w", subject, err)
	}
	sig := sigstoretest.Layer{MediaType: "application/vnd.dev.cosign.simplesigning.v1+json", Content: payload}
	if err := sigstoretest.AttachClassic(ctx, subject, ".sig", []sigstoretest.Layer{sig}); err != nil {
		return v1.Hash{}, fmt.Errorf("signing %s: %w", subject, err)
	}
	return d, nil
}

// rawManifest is a manifest to PUT as it is.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// crossRun names the repositories of one run: the sources through their
// proxy, and destinations in a namespace no run used before.
type crossRun struct {
	sources, dests []string
	srcPrefix      string
	dstPrefix      string
}

// nextRun starts a new, empty destination registry and returns the
// repositories of a run over the first n images.
func (w *crossWorld) nextRun(ctx context.Context, n int) (crossRun, error) {
	err := closeBehindProxy(w.dst, w.dstProxy)
	w.dst, w.dstProxy = nil, nil
	if err != nil {
		return crossRun{}, err
	}
	if w.dst, w.dstProxy, err = startBehindProxy(ctx); err != nil {
		return crossRun{}, err
	}
	r := crossRun{srcPrefix: w.srcProxy.Addr + "/staging", dstPrefix: w.dstProxy.Addr + "/prod"}
	for i := range n {
		r.sources = append(r.sources, w.srcProxy.Repo(crossRepo(i)))
		r.dests = append(r.dests, r.dstPrefix+strings.TrimPrefix(crossRepo(i), "staging"))
	}
	return r, nil
}

// checkCopied confirms that latest of every destination of r is at its
// staging image, reading the registry itself.
func (w *crossWorld) checkCopied(ctx context.Context, r crossRun) error {
	var errs []error
	for i, dst := range r.dests {
		ref := strings.Replace(dst, w.dstProxy.Addr, w.dst.Addr, 1) + ":" + latestTag
		d, found, err := registrytest.Digest(ctx, ref, nil)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !found:
			errs = append(errs, fmt.Errorf("%s does not exist", ref))
		case d != w.staging[i].String():
			errs = append(errs, fmt.Errorf("%s is at %s, not at the staging image %s", ref, d, w.staging[i]))
		}
	}
	return errors.Join(errs...)
}

// crossTools lists the tools of the cross-registry case.
func crossTools() []string {
	return []string{toolCore, toolCLI, toolCrane, toolRegctl, toolSkopeo}
}

// crossRunner copies the images of one run.
func (ts *toolSet) crossRunner(tool string, w *crossWorld, r crossRun) func(ctx context.Context) (sample, error) {
	src := func(i int) string { return r.sources[i] + ":" + w.sourceTag() }
	dst := func(i int) string { return r.dests[i] + ":" + latestTag }
	perImage := func(args func(i int) []string, bin string) func(ctx context.Context) (sample, error) {
		return func(ctx context.Context) (sample, error) {
			acc := sample{maxRSS: -1}
			for i := range r.sources {
				if _, err := ts.exec(ctx, &acc, bin, args(i)...); err != nil {
					return sample{}, err
				}
			}
			return acc, nil
		}
	}
	switch tool {
	case toolCore:
		return func(ctx context.Context) (sample, error) {
			start := time.Now()
			p, err := promote.New(promote.Config{Repositories: r.sources, DestinationPrefixes: []promote.Mapping{{Source: r.srcPrefix, Destination: r.dstPrefix}}}, ts.coreOpts...)
			if err != nil {
				return sample{}, err
			}
			rep, err := p.Promote(ctx, promote.MustParseSHA(w.sha), promote.WriteOptions{})
			wall := time.Since(start)
			if err != nil {
				return sample{}, fmt.Errorf("promote: %w", err)
			}
			return sample{wall: wall, maxRSS: -1}, checkReport(rep, len(r.sources))
		}
	case toolCLI:
		return func(ctx context.Context) (sample, error) {
			args := []string{"promote", "--sha", w.sha, "--json", "--destination-prefix", r.srcPrefix + "=" + r.dstPrefix}
			for _, s := range r.sources {
				args = append(args, "--image", s)
			}
			return ts.execCLI(ctx, len(r.sources), args)
		}
	case toolCrane:
		return perImage(func(i int) []string { return []string{"copy", "--insecure", src(i), dst(i)} }, ts.bins[toolCrane])
	case toolRegctl:
		return perImage(func(i int) []string {
			return []string{"image", "copy", "--referrers", "--digest-tags", src(i), dst(i)}
		}, ts.bins[toolRegctl])
	case toolSkopeo:
		return perImage(func(i int) []string {
			return []string{"--policy", ts.policy, "copy", "--quiet", "--all", "--preserve-digests",
				"--src-tls-verify=false", "--dest-tls-verify=false", "docker://" + src(i), "docker://" + dst(i)}
		}, ts.bins[toolSkopeo])
	}
	return func(context.Context) (sample, error) { return sample{}, fmt.Errorf("unknown tool %q", tool) }
}

// crossBenchmark runs the cross-registry case: every tool copies the
// images of every N from one registry to the other, cfg.reps times, through
// the delaying proxies. The cli also runs once on larger images, to show
// whether its memory grows with image size.
func crossBenchmark(ctx context.Context, cfg config, cc crossConfig, progress io.Writer) (_ *crossResults, err error) {
	began := time.Now()
	layer := int64(cc.layerMiB) << 20
	maxN := cc.sizes[len(cc.sizes)-1]
	fmt.Fprintf(progress, "bench: cross-registry: starting two registries and seeding %d images of %d MiB\n", maxN, 4*cc.layerMiB)
	w, err := startCrossWorld(ctx, maxN, layer)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, w.Close()) }()
	ts, tools, skipped, err := setupCrossTools(ctx, cfg, w)
	if err != nil {
		return nil, err
	}
	res := &crossResults{delay: cfg.delay, reps: cfg.reps, smoke: cfg.smoke, sizes: cc.sizes, layerBytes: layer,
		tools: tools, skipped: skipped, versions: map[string]string{}, cells: map[crossKey]*crossCell{}}
	for tool, e := range skipped {
		fmt.Fprintf(progress, "bench: skipping %s: %v\n", tool, e)
	}
	for _, tool := range tools {
		if bin, ok := ts.bins[tool]; ok {
			res.versions[tool] = toolVersion(ctx, ts.env, tool, bin)
		}
	}
	measure := func(k crossKey, world *crossWorld, rep int) error {
		r, err := world.nextRun(ctx, k.n)
		if err != nil {
			return err
		}
		if err := ts.configureRegctl(ctx, world.srcProxy, world.dstProxy); err != nil {
			return err
		}
		for _, p := range []*registrytest.Proxy{world.srcProxy, world.dstProxy} {
			p.SetDelay(cfg.delay)
			p.Reset()
		}
		runCtx, cancel := context.WithTimeout(ctx, cfg.runTimeout)
		s, err := ts.crossRunner(k.tool, world, r)(runCtx)
		cancel()
		reqs := append(world.srcProxy.Requests(), world.dstProxy.Requests()...)
		var up int64
		for _, rq := range world.dstProxy.Requests() {
			up += rq.Received
		}
		for _, p := range []*registrytest.Proxy{world.srcProxy, world.dstProxy} {
			p.SetDelay(0)
		}
		if err != nil {
			return fmt.Errorf("%s, N=%d: %w", k.tool, k.n, err)
		}
		if err := world.checkCopied(ctx, r); err != nil {
			return fmt.Errorf("%s, N=%d: %w", k.tool, k.n, err)
		}
		c, ok := res.cells[k]
		if !ok {
			c = &crossCell{maxRSS: -1}
			res.cells[k] = c
		}
		c.walls, c.requests, c.uploaded = append(c.walls, s.wall), append(c.requests, len(reqs)), append(c.uploaded, up)
		c.maxRSS = max(c.maxRSS, s.maxRSS)
		fmt.Fprintf(progress, "bench: cross N=%-3d rep %d %-6s %8.3fs %5d requests %7.1f MiB uploaded\n",
			k.n, rep+1, k.tool, s.wall.Seconds(), len(reqs), float64(up)/(1<<20))
		return nil
	}
	for ni, n := range cc.sizes {
		for rep := range cfg.reps {
			for _, tool := range rotate(tools, rep+ni) {
				if err := measure(crossKey{tool: tool, n: n}, w, rep); err != nil {
					return nil, err
				}
			}
		}
	}
	if slices.Contains(tools, toolCLI) && !cfg.smoke {
		fmt.Fprintf(progress, "bench: cross-registry: seeding %d images of %d MiB\n", cc.sizes[0], 4*crossLargeFactor*cc.layerMiB)
		large, err := startCrossWorld(ctx, cc.sizes[0], crossLargeFactor*layer)
		if err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, large.Close()) }()
		for rep := range cfg.reps {
			if err := measure(crossKey{tool: toolCLI, n: cc.sizes[0], large: true}, large, rep); err != nil {
				return nil, err
			}
		}
	}
	res.elapsed = time.Since(began)
	return res, nil
}

// setupCrossTools finds the tools, builds the cli, and configures regctl
// and skopeo for both registries.
func setupCrossTools(ctx context.Context, cfg config, w *crossWorld) (*toolSet, []string, map[string]error, error) {
	var tools []string
	for _, t := range cfg.tools {
		if slices.Contains(crossTools(), t) {
			tools = append(tools, t)
		}
	}
	ts := &toolSet{w: w.files, env: w.files.childEnv(), bins: map[string]string{}, coreOpts: []promote.Option{promote.WithAnonymous()}}
	run, skipped, err := ts.install(ctx, cfg, tools)
	if err != nil {
		return nil, nil, nil, err
	}
	return ts, run, skipped, nil
}
