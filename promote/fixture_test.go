package promote_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// Commit shas used across the tests.
const (
	oldSHA = "1111111111111111111111111111111111111111"
	newSHA = "2222222222222222222222222222222222222222"
)

// imageCreated is the creation time label of every pushed image.
const imageCreated = "2026-11-26T00:00:00Z"

// testPassword is the registry password of the authenticated backend; no
// output may contain it.
const testPassword = "pw-Zq8!never-print-me"

// backend starts one kind of registry.
type backend struct {
	name  string
	start func(t *testing.T) *registrytest.Server
}

var backends = []backend{
	{"in-process", func(t *testing.T) *registrytest.Server { return registrytest.InProcess(t) }},
	{"distribution", func(t *testing.T) *registrytest.Server { return registrytest.Distribution(t) }},
	{"distribution-htpasswd", func(t *testing.T) *registrytest.Server {
		return registrytest.Distribution(t, registrytest.WithBasicAuth("ci-bot", testPassword))
	}},
}

// fixture is a registry, optionally behind a fault-injecting proxy, with
// two repositories.
type fixture struct {
	t      *testing.T
	server *registrytest.Server
	proxy  *registrytest.Proxy
	addr   string
	repos  []string
}

// newFixture starts b; with proxied set, every request of the code under
// test goes through a counting, fault-injecting proxy.
func newFixture(t *testing.T, b backend, proxied bool) *fixture {
	t.Helper()
	f := &fixture{t: t, server: b.start(t)}
	f.addr = f.server.Addr
	if proxied {
		f.proxy = registrytest.NewProxy(t, f.server.Addr)
		f.addr = f.proxy.Addr
	}
	f.repos = []string{f.addr + "/molecule-ai/platform", f.addr + "/molecule-ai/platform-tenant"}
	return f
}

// options are the promoter options reaching this fixture's registry.
func (f *fixture) options(extra ...promote.Option) []promote.Option {
	opts := []promote.Option{
		promote.WithAnonymous(),
		promote.WithRetryBackoff(remote.Backoff{Duration: 5 * time.Millisecond, Factor: 2, Steps: 3}),
		promote.WithRestoreTimeout(20 * time.Second),
	}
	if f.server.Username != "" {
		opts = append(opts, promote.WithCredentials(f.addr, f.server.Username, promote.Secret(f.server.Password)))
	}
	return append(opts, extra...)
}

// promoter returns a promoter for cfg, with the fixture's repositories when
// cfg names none.
func (f *fixture) promoter(cfg promote.Config, extra ...promote.Option) *promote.Promoter {
	f.t.Helper()
	if cfg.Repositories == nil {
		cfg.Repositories = f.repos
	}
	p, err := promote.New(cfg, f.options(extra...)...)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return p
}

// pushImage pushes a single-platform image labelled with sha and returns
// its digest. It bypasses the proxy and its faults.
func (f *fixture) pushImage(repo, tag, sha string, labels ...string) string {
	f.t.Helper()
	spec := registrytest.ImageSpec{Labels: map[string]string{
		"org.opencontainers.image.revision": sha,
		"org.opencontainers.image.created":  imageCreated,
	}}
	for i := 0; i+1 < len(labels); i += 2 {
		spec.Labels[labels[i]] = labels[i+1]
	}
	d, err := registrytest.PushImage(context.Background(), f.direct(repo)+":"+tag, spec, f.server.Auth())
	if err != nil {
		f.t.Fatalf("pushing %s:%s: %v", repo, tag, err)
	}
	return d
}

// pushStaging pushes the staging image of sha to every repository and
// returns the digests.
func (f *fixture) pushStaging(sha string) []string {
	f.t.Helper()
	var out []string
	for _, r := range f.repos {
		out = append(out, f.pushImage(r, "staging-"+sha[:7], sha))
	}
	return out
}

// direct rewrites a repository name to reach the server without the proxy.
func (f *fixture) direct(repo string) string {
	return strings.Replace(repo, f.addr, f.server.Addr, 1)
}

// digest reads ref from the registry itself; "" when absent.
func (f *fixture) digest(ref string) string {
	f.t.Helper()
	d, found, err := registrytest.Digest(context.Background(), f.direct(ref), f.server.Auth())
	if err != nil {
		f.t.Fatalf("reading back %s: %v", ref, err)
	}
	if !found {
		return ""
	}
	return d
}

// state reads the given tags of every repository.
func (f *fixture) state(tags ...string) map[string]string {
	f.t.Helper()
	s := map[string]string{}
	for _, r := range f.repos {
		for _, tag := range tags {
			s[r+":"+tag] = f.digest(r + ":" + tag)
		}
	}
	return s
}

// seedProduction makes oldSHA's images production's :latest and pushes
// newSHA's staging images. It returns the old and new digests per repository.
func (f *fixture) seedProduction() (old, updated []string) {
	f.t.Helper()
	old = f.pushStaging(oldSHA)
	for i, r := range f.repos {
		f.pushImage(r, "latest", oldSHA) // a different image than staging, as a previous release
		old[i] = f.digest(r + ":latest")
	}
	return old, f.pushStaging(newSHA)
}

// assertState fails unless every tag in want reads back as given.
func (f *fixture) assertState(want map[string]string) {
	f.t.Helper()
	for ref, d := range want {
		if got := f.digest(ref); got != d {
			f.t.Errorf("%s = %q, want %q", ref, orAbsent(got), orAbsent(d))
		}
	}
}

// indexChildren lists the child digests of the index at ref.
func (f *fixture) indexChildren(ref string) []string {
	f.t.Helper()
	r, err := name.ParseReference(f.direct(ref))
	if err != nil {
		f.t.Fatal(err)
	}
	desc, err := remote.Get(r, remote.WithAuth(f.server.Auth()))
	if err != nil {
		f.t.Fatalf("reading %s: %v", ref, err)
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		f.t.Fatalf("parsing %s: %v", ref, err)
	}
	var out []string
	for _, m := range idx.Manifests {
		out = append(out, m.Digest.String())
	}
	if len(out) == 0 {
		f.t.Fatalf("%s has no children", ref)
	}
	return out
}

func orAbsent(d string) string {
	if d == "" {
		return "(absent)"
	}
	return d
}

// assertNoSecret fails if the test password appears in any of outputs.
func assertNoSecret(t *testing.T, outputs ...string) {
	t.Helper()
	for _, out := range outputs {
		if strings.Contains(out, testPassword) {
			t.Fatalf("the registry password appears in output:\n%s", out)
		}
	}
}

// reportOutputs renders rep every way it can be rendered, and err.
func reportOutputs(t *testing.T, rep *promote.Report, err error) []string {
	t.Helper()
	var out []string
	if err != nil {
		out = append(out, err.Error())
	}
	if rep != nil {
		js, jerr := rep.JSON()
		if jerr != nil {
			t.Fatalf("JSON: %v", jerr)
		}
		out = append(out, string(js), rep.Markdown(), rep.Text())
	}
	return out
}

// sha parses one of the tests' commit shas.
func sha(s string) promote.SHA { return promote.MustParseSHA(s) }
