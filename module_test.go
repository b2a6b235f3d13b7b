package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// Commits of the registry tests: the one production runs, and a new one.
const (
	oldCommit = "1111111111111111111111111111111111111111"
	newCommit = "2222222222222222222222222222222222222222"
)

// registryFixture is a distribution registry behind a counting,
// fault-injecting proxy, with two repositories whose :latest holds
// oldCommit's image and whose :staging-<sha> tags hold both commits'.
type registryFixture struct {
	t      *testing.T
	server *registrytest.Server
	proxy  *registrytest.Proxy
	repos  []string
	// latest is the digest of each repository's :latest before the test.
	latest []string
}

func newRegistryFixture(t *testing.T) *registryFixture {
	t.Helper()
	f := &registryFixture{t: t, server: registrytest.Distribution(t)}
	f.proxy = registrytest.NewProxy(t, f.server.Addr)
	ctx := context.Background()
	push := func(ref, commit string) string {
		spec := registrytest.ImageSpec{Labels: map[string]string{"org.opencontainers.image.revision": commit}}
		d, err := registrytest.PushImage(ctx, ref, spec, nil)
		if err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
		return d
	}
	for _, name := range []string{"molecule-ai/platform", "molecule-ai/platform-tenant"} {
		f.repos = append(f.repos, f.proxy.Repo(name))
		for _, commit := range []string{oldCommit, newCommit} {
			push(f.server.Repo(name)+":staging-"+commit[:7], commit)
		}
		// A previous release: another image of the old commit.
		f.latest = append(f.latest, push(f.server.Repo(name)+":latest", oldCommit))
	}
	f.proxy.Reset()
	return f
}

// module is the module configured for the fixture's repositories.
func (f *registryFixture) module() *Promote {
	return New(f.repos, "", nil, nil)
}

// assertLatestUnchanged reads every :latest back from the registry itself.
func (f *registryFixture) assertLatestUnchanged() {
	f.t.Helper()
	for i, repo := range f.repos {
		ref := f.server.Addr + strings.TrimPrefix(repo, f.proxy.Addr) + ":latest"
		got, ok, err := registrytest.Digest(context.Background(), ref, nil)
		if err != nil || !ok || got != f.latest[i] {
			f.t.Errorf("%s = %s (exists %v, %v), want %s as before", ref, got, ok, err, f.latest[i])
		}
	}
}

// TestInputsAreCheckedBeforeAnyRequest gives every registry function an
// input it must refuse: the error wraps promote.ErrInvalidInput, and no
// request reaches the registry.
func TestInputsAreCheckedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	f := newRegistryFixture(t)
	m := f.module()
	ctx := context.Background()
	tests := []struct {
		name string
		call func() (*Report, error)
		want string
	}{
		{"verify, timeout not a duration", func() (*Report, error) { return m.Verify(ctx, newCommit, "soon", false) }, "timeout"},
		{"verify, empty timeout", func() (*Report, error) { return m.Verify(ctx, newCommit, "", false) }, "timeout"},
		{"promote, zero timeout", func() (*Report, error) {
			return m.Promote(ctx, newCommit, false, false, false, nil, "0s", false, "", "", false)
		}, "timeout"},
		{"promote, negative timeout", func() (*Report, error) {
			return m.Promote(ctx, newCommit, false, false, false, nil, "-1m", false, "", "", false)
		}, "timeout"},
		{"promote, forward-only without a source", func() (*Report, error) {
			return m.Promote(ctx, newCommit, false, false, true, nil, "5m", false, "", "", false)
		}, "--source"},
		{"promote, bad sha", func() (*Report, error) {
			return m.Promote(ctx, "xyz", false, false, false, nil, "5m", false, "", "", false)
		}, "sha"},
		{"rollback, bad timeout", func() (*Report, error) { return m.Rollback(ctx, "", false, "5 minutes", "", "") }, "timeout"},
		{"status, bad timeout", func() (*Report, error) { return m.Status(ctx, "1d") }, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := tt.call()
			if rep != nil || !errors.Is(err, promote.ErrInvalidInput) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, %v; want an invalid input error naming %s", rep, err, tt.want)
			}
			if n := f.proxy.Total(); n != 0 {
				t.Errorf("%d requests reached the registry", n)
			}
		})
	}
}

// TestTimeoutEndsAStalledCall stalls the registry far beyond the module's
// timeout: the call ends at the timeout, and a promotion puts every tag
// that moved back, on the restore's own deadline.
func TestTimeoutEndsAStalledCall(t *testing.T) {
	t.Parallel()
	const stall = 20 * time.Second
	tests := []struct {
		name  string
		fault registrytest.FaultFunc
		call  func(m *Promote) (*Report, error)
		want  error
	}{
		{
			"status", registrytest.Always(registrytest.Any(), registrytest.StallRequest(stall)),
			func(m *Promote) (*Report, error) { return m.Status(context.Background(), "500ms") }, nil,
		},
		{
			"promote", registrytest.Always(registrytest.Match(http.MethodPut, "/platform-tenant/manifests/latest"), registrytest.StallRequest(stall)),
			func(m *Promote) (*Report, error) {
				return m.Promote(context.Background(), newCommit, false, false, false, nil, "1500ms", false, "", "", false)
			},
			promote.ErrNotPromoted,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newRegistryFixture(t)
			f.proxy.SetFault(tt.fault)
			start := time.Now()
			rep, err := tt.call(f.module())
			took := time.Since(start)
			f.proxy.SetFault(nil)
			if took > stall/2 {
				t.Fatalf("the call took %s: it waited for the stalled registry", took)
			}
			if rep != nil || err == nil || !strings.Contains(err.Error(), "timed out after") || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("got %v, %v; want a time-out error wrapping %v", rep, err, tt.want)
			}
			if tt.want == promote.ErrNotPromoted && !strings.Contains(err.Error(), "result: failed") {
				t.Errorf("the error does not carry the result:\n%s", err)
			}
			f.assertLatestUnchanged()
		})
	}
}

// TestFailedVerificationCarriesTheTable checks the error of a failed call
// against a real registry: the core's message, the result, and one line
// per image.
func TestFailedVerificationCarriesTheTable(t *testing.T) {
	t.Parallel()
	f := newRegistryFixture(t)
	const unknown = "3333333333333333333333333333333333333333"
	_, err := f.module().Verify(context.Background(), unknown, "5m", false)
	if !errors.Is(err, promote.ErrVerification) {
		t.Fatalf("err = %v, want a verification failure", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"\nresult: failed\n" + failureTableHeader + "\n",
		"\n" + f.repos[0] + ":staging-3333333 | failed | - | ",
		"\n" + f.repos[1] + ":staging-3333333 | failed | - | ",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
}

// TestWithInsecureReachesTheRegistryAndWarns verifies through the module
// with WithInsecure: the core runs with it, and the report says so in
// every form.
func TestWithInsecureReachesTheRegistryAndWarns(t *testing.T) {
	t.Parallel()
	f := newRegistryFixture(t)
	rep, err := f.module().Verify(context.Background(), newCommit, "1m", false)
	if err != nil || rep.Insecure {
		t.Fatalf("without WithInsecure: %v, insecure %v", err, rep.Insecure)
	}
	rep, err = f.module().WithInsecure().Verify(context.Background(), newCommit, "1m", false)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !rep.Insecure || !strings.Contains(rep.Json(), `"insecure": true`) || !strings.Contains(rep.Summary(), "**Warning:** insecure") {
		t.Errorf("the report does not warn: %+v\n%s", rep, rep.Summary())
	}
}
