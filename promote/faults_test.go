package promote_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

var (
	distribution         = backends[1]
	anyManifestPut       = registrytest.Match(http.MethodPut, "/manifests/")
	tenantLatestPut      = manifestPut("/platform-tenant/manifests/latest")
	platformLatestPut    = manifestPut("/platform/manifests/latest")
	errorKindsByExpected = map[bool]error{true: nil, false: promote.ErrNotPromoted}
)

// TestFaultsLeaveRegistryAllOrNothing injects faults in front of a real
// registry and reads every tag back: the registry must be entirely promoted
// or entirely as before, and the staging tags untouched.
func TestFaultsLeaveRegistryAllOrNothing(t *testing.T) {
	cases := []struct {
		name     string
		fault    registrytest.FaultFunc
		timeout  time.Duration
		promoted bool
	}{
		{"a target PUT answers 500 every time", registrytest.Always(tenantLatestPut, registrytest.Reply(500)), 0, false},
		{"the second manifest PUT is refused", registrytest.Nth(anyManifestPut, 2, registrytest.Reply(403)), 0, false},
		{"429 twice, then success", registrytest.FirstN(anyManifestPut, 2, registrytest.Reply(429)), 0, true},
		{"connection dropped before a PUT reaches the registry, once", registrytest.Nth(anyManifestPut, 1, registrytest.DropRequest()), 0, true},
		// The write landed although its answer never came: every tag reads
		// back in place, so the promotion succeeded.
		{"write applied but its response lost, every time", registrytest.Always(tenantLatestPut, registrytest.DropResponse()), 0, true},
		{"response slower than the timeout", registrytest.Always(tenantLatestPut, registrytest.DelayResponse(3*time.Second)), 1500 * time.Millisecond, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, distribution, true)
			old, updated := f.seedProduction()
			before := f.state("latest", "latest-previous", "staging-1111111", "staging-2222222")
			f.proxy.SetFault(tc.fault)

			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			rep, err := f.promoter(promote.Config{}).Promote(ctx, sha(newSHA), promote.WriteOptions{})
			f.proxy.SetFault(nil)

			want := errorKindsByExpected[tc.promoted]
			if tc.promoted && tc.timeout > 0 {
				// The deadline that fired during the writes leaves no time
				// for the records: the moves stand, unrecorded.
				want = promote.ErrUnrecorded
			}
			if !errors.Is(err, want) || (want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, want)
			}
			if tc.promoted {
				for i, r := range f.repos {
					f.assertState(map[string]string{r + ":latest": updated[i], r + ":latest-previous": old[i]})
				}
			} else {
				f.assertState(before)
				if rep.Result != promote.ResultFailed {
					t.Errorf("result = %s", rep.Result)
				}
				for _, img := range rep.Images {
					if img.Outcome != promote.OutcomeRestored {
						t.Errorf("%s outcome = %s, want restored", img.Target, img.Outcome)
					}
				}
				if !strings.Contains(err.Error(), "put back") {
					t.Errorf("error does not say what was restored: %v", err)
				}
			}
			assertStagingIntact(t, f, before)
		})
	}
}

// TestRestoreRemovesTagsThatDidNotExist covers a first promotion that fails:
// the target tags that did not exist must be removed again, without
// deleting the promoted image.
func TestRestoreRemovesTagsThatDidNotExist(t *testing.T) {
	for _, deletes := range []bool{true, false} {
		name := "registry deletes"
		opts := []registrytest.Option{}
		if !deletes {
			name = "registry refuses deletes"
			opts = append(opts, registrytest.WithoutDelete())
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := backend{name, func(t *testing.T) *registrytest.Server { return registrytest.Distribution(t, opts...) }}
			f := newFixture(t, b, true)
			f.pushStaging(newSHA)
			before := f.state("latest", "staging-2222222")
			f.proxy.SetFault(registrytest.Always(tenantLatestPut, registrytest.Reply(403)))

			rep, err := f.promoter(promote.Config{}).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
			// A placeholder left behind is a tag that did not exist before:
			// the registry is not as before.
			want := map[bool]error{true: promote.ErrNotPromoted, false: promote.ErrMixedState}[deletes]
			if !errors.Is(err, want) {
				t.Fatalf("err = %v, want %v", err, want)
			}
			assertStagingIntact(t, f, before)
			for _, req := range f.proxy.Requests() {
				if req.Method == http.MethodDelete && strings.Contains(req.Path, before[f.repos[0]+":staging-2222222"]) {
					t.Fatalf("the promoted digest was deleted: %s", req.Path)
				}
			}
			platformLatest := f.digest(f.repos[0] + ":latest")
			if deletes {
				f.assertState(map[string]string{f.repos[0] + ":latest": "", f.repos[1] + ":latest": ""})
				return
			}
			// The registry refused: the tag is left at the empty placeholder,
			// never at the promoted image, and the report says so.
			if platformLatest == "" || platformLatest == before[f.repos[0]+":staging-2222222"] {
				t.Fatalf("latest = %q, want the placeholder", platformLatest)
			}
			if note := rep.Images[0].Tags[0].Note; !strings.Contains(note, "placeholder") {
				t.Errorf("report does not say the placeholder was left: %+v", rep.Images[0].Tags)
			}
		})
	}
}

// TestMixedStateIsReported makes restoring fail too: the error and the
// report must say exactly which tag is at which digest.
func TestMixedStateIsReported(t *testing.T) {
	f := newFixture(t, distribution, true)
	_, updated := f.seedProduction()
	var platformPuts atomic.Int32
	f.proxy.SetFault(registrytest.Rules(
		registrytest.Always(tenantLatestPut, registrytest.Reply(403)),
		func(r *http.Request, _ int) registrytest.Fault {
			// The first write of platform:latest lands; putting it back fails.
			if platformLatestPut(r) && platformPuts.Add(1) > 1 {
				return registrytest.Reply(403)
			}
			return registrytest.Pass()
		},
	))
	rep, err := f.promoter(promote.Config{}).Promote(context.Background(), sha(newSHA), promote.WriteOptions{})
	if !errors.Is(err, promote.ErrMixedState) {
		t.Fatalf("err = %v, want ErrMixedState", err)
	}
	stuck := f.repos[0] + ":latest"
	if got := f.digest(stuck); got != updated[0] {
		t.Fatalf("%s = %s, want it stuck at %s", stuck, got, updated[0])
	}
	if !strings.Contains(err.Error(), stuck+" is at "+updated[0]) {
		t.Errorf("error does not say where %s is:\n%v", stuck, err)
	}
	if rep.Result != promote.ResultMixed || rep.Images[0].Outcome != promote.OutcomeFailed {
		t.Errorf("report = %s, entry = %+v", rep.Result, rep.Images[0])
	}
	var found bool
	for _, ts := range rep.Images[0].Tags {
		found = found || (ts.Tag == stuck && ts.Digest == updated[0] && ts.Note != "")
	}
	if !found {
		t.Errorf("report tags do not show %s at %s: %+v", stuck, updated[0], rep.Images[0].Tags)
	}
}

// TestNoSecretInAnyOutput runs successful and failing operations against an
// authenticated registry and looks for the password everywhere.
func TestNoSecretInAnyOutput(t *testing.T) {
	f := newFixture(t, backends[2], true)
	f.seedProduction()
	ctx := context.Background()
	p := f.promoter(promote.Config{})
	var outputs []string
	collect := func(rep *promote.Report, err error) {
		outputs = append(outputs, reportOutputs(t, rep, err)...)
	}
	collect(p.Verify(ctx, sha(newSHA)))
	collect(p.Verify(ctx, sha("abcdef0")))
	collect(p.Promote(ctx, sha(newSHA), promote.WriteOptions{DryRun: true}))
	f.proxy.SetFault(registrytest.Always(tenantLatestPut, registrytest.Reply(500)))
	collect(p.Promote(ctx, sha(newSHA), promote.WriteOptions{}))
	f.proxy.SetFault(nil)
	collect(p.Promote(ctx, sha(newSHA), promote.WriteOptions{}))
	collect(p.Status(ctx))

	wrong, err := promote.New(promote.Config{Repositories: f.repos},
		promote.WithAnonymous(), promote.WithCredentials(f.addr, "ci-bot", promote.Secret(testPassword+"-wrong")))
	if err != nil {
		t.Fatal(err)
	}
	collect(wrong.Verify(ctx, sha(newSHA)))
	outputs = append(outputs, promote.Secret(testPassword).String())
	assertNoSecret(t, outputs...)
	if len(outputs) < 10 {
		t.Fatalf("only %d outputs collected", len(outputs))
	}
}

// manifestPut matches the manifest PUTs whose path ends with suffix, so that
// ".../latest" does not match ".../latest-previous".
func manifestPut(suffix string) registrytest.Matcher {
	return func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, suffix)
	}
}

// assertStagingIntact fails unless every staging tag in before still
// resolves to the same digest.
func assertStagingIntact(t *testing.T, f *fixture, before map[string]string) {
	t.Helper()
	for ref, d := range before {
		if strings.Contains(ref, ":staging-") {
			if got := f.digest(ref); got != d || d == "" {
				t.Errorf("%s = %q after the run, want %q", ref, got, d)
			}
		}
	}
}
