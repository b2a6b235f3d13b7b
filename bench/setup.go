package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// Tags that every run moves. They are promote's defaults, which the cli and
// core use.
const (
	latestTag   = "latest"
	previousTag = "latest" + promote.BackupSuffix
)

// revisionLabel is the OCI label that promote compares with the sha.
const revisionLabel = "org.opencontainers.image.revision"

// seedConcurrency bounds the requests made at once while seeding and
// resetting; neither is measured.
const seedConcurrency = 8

// repoState is one seeded repository and where its tags must be put back to
// before each run.
type repoState struct {
	name     string
	staging  v1.Hash
	latest   *remote.Descriptor
	previous *remote.Descriptor
	// referrers is the staging image's referrers tag as seeded: its
	// signatures, or no referrer. Every promotion adds a promotion record
	// to it, so each run starts from it again, to measure the same work.
	referrers *remote.Descriptor
}

// world is the registry, the proxy in front of it and the seeded images.
type world struct {
	reg   *registrytest.Server
	proxy *registrytest.Proxy
	// sha is the commit being promoted; the source tag is
	// "staging-" + sha[:7], promote's default.
	sha   string
	repos []repoState
	// direct reads and writes the registry without the proxy, for seeding,
	// resetting and checking.
	puller *remote.Puller
	pusher *remote.Pusher
	// home is the HOME of every child process, holding no credentials and
	// the tools' own configuration.
	home string
	// dir holds home, the policy file of skopeo and the built cli.
	dir string
	// signing signed the staging images; nil when they are unsigned.
	signing *signing
}

// newSHA returns a random 40-character commit sha.
func newSHA() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making a sha: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// startWorld starts the registry and the proxy and seeds n repositories,
// their staging images signed when signed is true. Close stops everything
// and removes every file.
func startWorld(ctx context.Context, n int, signed bool) (_ *world, err error) {
	w := &world{}
	defer func() {
		if err != nil {
			err = errors.Join(err, w.Close())
		}
	}()
	if w.dir, err = os.MkdirTemp("", "promote-bench-"); err != nil {
		return nil, fmt.Errorf("making a work directory: %w", err)
	}
	w.home = filepath.Join(w.dir, "home")
	if err := os.Mkdir(w.home, 0o700); err != nil {
		return nil, fmt.Errorf("making a home directory: %w", err)
	}
	if w.reg, err = registrytest.StartDistribution(ctx, registrytest.DistributionConfig{}); err != nil {
		return nil, fmt.Errorf("starting the registry: %w", err)
	}
	if w.proxy, err = registrytest.StartProxy(w.reg.Addr); err != nil {
		return nil, fmt.Errorf("starting the proxy: %w", err)
	}
	if w.puller, err = remote.NewPuller(remote.WithAuth(authn.Anonymous)); err != nil {
		return nil, fmt.Errorf("making a registry client: %w", err)
	}
	if w.pusher, err = remote.NewPusher(remote.WithAuth(authn.Anonymous)); err != nil {
		return nil, fmt.Errorf("making a registry client: %w", err)
	}
	if w.sha, err = newSHA(); err != nil {
		return nil, err
	}
	if signed {
		if w.signing, err = newSigning(w.dir, w.sha); err != nil {
			return nil, err
		}
	}
	if err := w.seed(ctx, n); err != nil {
		return nil, err
	}
	return w, nil
}

// Close stops the proxy and the registry and removes the work directory.
func (w *world) Close() error {
	var errs []error
	if w.proxy != nil {
		errs = append(errs, w.proxy.Close())
	}
	if w.reg != nil {
		errs = append(errs, w.reg.Close())
	}
	if w.dir != "" {
		errs = append(errs, os.RemoveAll(w.dir))
	}
	return errors.Join(errs...)
}

// sourceTag is the tag the images of w.sha were pushed as.
func (w *world) sourceTag() string {
	return strings.Replace(promote.DefaultSourceTag, "{sha}", w.sha[:7], 1)
}

// repoName is the name of the i-th seeded repository, without a registry.
func repoName(i int) string { return fmt.Sprintf("bench/service-%03d", i) }

// proxyRepos returns the first n repositories as reached through the proxy.
func (w *world) proxyRepos(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = w.proxy.Repo(w.repos[i].name)
	}
	return out
}

// seed pushes, to each of n repositories, the staging image of w.sha and
// the two older images that latest and latest-previous point at before a
// promotion.
func (w *world) seed(ctx context.Context, n int) error {
	w.repos = make([]repoState, n)
	var g errgroup.Group
	g.SetLimit(seedConcurrency)
	for i := range n {
		g.Go(func() error { return w.seedRepo(ctx, i) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	return nil
}

func (w *world) seedRepo(ctx context.Context, i int) error {
	repo := w.reg.Repo(repoName(i))
	st := &w.repos[i]
	st.name = repoName(i)
	pushes := []struct {
		tag  string
		sha  string
		into **remote.Descriptor
	}{
		{tag: w.sourceTag(), sha: w.sha},
		{tag: latestTag, into: &st.latest},
		{tag: previousTag, into: &st.previous},
	}
	for _, p := range pushes {
		sha := p.sha
		if sha == "" {
			var err error
			if sha, err = newSHA(); err != nil {
				return err
			}
		}
		spec := registrytest.ImageSpec{Labels: map[string]string{revisionLabel: sha}}
		digest, err := registrytest.PushImage(ctx, repo+":"+p.tag, spec, nil)
		if err != nil {
			return err
		}
		ref, err := name.NewTag(repo+":"+p.tag, name.Insecure)
		if err != nil {
			return fmt.Errorf("parsing %s:%s: %w", repo, p.tag, err)
		}
		desc, err := w.puller.Get(ctx, ref)
		if err != nil {
			return fmt.Errorf("reading back %s: %w", ref, err)
		}
		if desc.Digest.String() != digest {
			return fmt.Errorf("%s reads back as %s, not the %s pushed", ref, desc.Digest, digest)
		}
		if p.into != nil {
			*p.into = desc
			continue
		}
		st.staging = desc.Digest
		if w.signing != nil {
			if err := w.signing.sign(ctx, repo, digest, w.sha); err != nil {
				return err
			}
		}
	}
	var err error
	st.referrers, err = w.seedReferrersTag(ctx, i)
	return err
}

// seedReferrersTag reads the referrers tag of the i-th staging image (the
// registry has no referrers API), and writes an empty index there when it
// has none yet.
func (w *world) seedReferrersTag(ctx context.Context, i int) (*remote.Descriptor, error) {
	st := &w.repos[i]
	ref, err := w.directTag(i, st.staging.Algorithm+"-"+st.staging.Hex)
	if err != nil {
		return nil, err
	}
	desc, err := w.puller.Get(ctx, ref)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		empty := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
		if err := w.pusher.Put(ctx, ref, rawManifest{raw: empty, mt: types.OCIImageIndex}); err != nil {
			return nil, fmt.Errorf("writing %s: %w", ref, err)
		}
		desc, err = w.puller.Get(ctx, ref)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	return desc, nil
}

// directTag names tag of the i-th repository on the registry itself.
func (w *world) directTag(i int, tag string) (name.Tag, error) {
	t, err := name.NewTag(w.reg.Repo(w.repos[i].name)+":"+tag, name.Insecure)
	if err != nil {
		return name.Tag{}, fmt.Errorf("parsing a tag: %w", err)
	}
	return t, nil
}

// reset points latest and latest-previous of the first n repositories back
// at their seeded images, and the staging image's referrers tag at its
// seeded index, directly on the registry.
func (w *world) reset(ctx context.Context, n int) error {
	var g errgroup.Group
	g.SetLimit(seedConcurrency)
	for i := range n {
		for _, tt := range []struct {
			tag  string
			desc *remote.Descriptor
		}{
			{latestTag, w.repos[i].latest},
			{previousTag, w.repos[i].previous},
			{w.repos[i].staging.Algorithm + "-" + w.repos[i].staging.Hex, w.repos[i].referrers},
		} {
			g.Go(func() error {
				ref, err := w.directTag(i, tt.tag)
				if err != nil {
					return err
				}
				if err := w.pusher.Put(ctx, ref, tt.desc); err != nil {
					return fmt.Errorf("resetting %s: %w", ref, err)
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("resetting the tags: %w", err)
	}
	return nil
}

// checkPromoted confirms that latest of each of the first n repositories
// points at its staging image.
func (w *world) checkPromoted(ctx context.Context, n int) error {
	errs := make([]error, n)
	var g errgroup.Group
	g.SetLimit(seedConcurrency)
	for i := range n {
		g.Go(func() error {
			ref, err := w.directTag(i, latestTag)
			if err != nil {
				errs[i] = err
				return nil
			}
			d, err := w.puller.Head(ctx, ref)
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("reading %s: %w", ref, err)
			case d.Digest != w.repos[i].staging:
				errs[i] = fmt.Errorf("%s is at %s, not at the staging image %s", ref, d.Digest, w.repos[i].staging)
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("not promoted: %w", err)
	}
	return nil
}

// childEnv is the environment of every tool process: this process's,
// without anything that points a tool at credentials or configuration of
// its own, and with HOME at w.home.
func (w *world) childEnv() []string {
	drop := []string{"HOME=", "DOCKER_CONFIG=", "REGISTRY_AUTH_FILE=", "REGCTL_CONFIG=",
		"XDG_CONFIG_HOME=", "XDG_RUNTIME_DIR=", "XDG_DATA_HOME=", "CONTAINERS_"}
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, p := range drop {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+w.home, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
}

// setDelay sets the proxy's delay and forgets the requests recorded so far.
func (w *world) setDelay(d time.Duration) {
	w.proxy.SetDelay(d)
	w.proxy.Reset()
}
