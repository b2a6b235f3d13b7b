package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

const (
	sha      = "89abcdef0123456789abcdef0123456789abcdef"
	password = "tok-3Xv!never-print-me"
)

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command in-process with args, stdin and environment env.
func runCLI(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return result{code, out.String(), errOut.String()}
}

// registry starts a distribution registry behind a counting proxy and pushes
// the staging images of sha to two repositories.
func registry(t *testing.T, opts ...registrytest.Option) (*registrytest.Server, *registrytest.Proxy, []string) {
	t.Helper()
	srv := registrytest.Distribution(t, opts...)
	proxy := registrytest.NewProxy(t, srv.Addr)
	var images []string
	for _, name := range []string{"molecule-ai/platform", "molecule-ai/platform-tenant"} {
		spec := registrytest.ImageSpec{Labels: map[string]string{"org.opencontainers.image.revision": sha}}
		if _, err := registrytest.PushImage(context.Background(), srv.Repo(name)+":staging-"+sha[:7], spec, srv.Auth()); err != nil {
			t.Fatal(err)
		}
		images = append(images, proxy.Repo(name))
	}
	proxy.Reset()
	return srv, proxy, images
}

func imageFlags(images []string) []string {
	var args []string
	for _, img := range images {
		args = append(args, "--image", img)
	}
	return args
}

func TestBadInputMakesNoRequest(t *testing.T) {
	_, proxy, images := registry(t)
	good := imageFlags(images)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "Usage"},
		{"unknown command", []string{"ship"}, `unknown command "ship"`},
		{"missing sha", append([]string{"promote"}, good...), "--sha is required"},
		{"empty sha", append([]string{"promote", "--sha", ""}, good...), "--sha is required"},
		{"shell in sha", append([]string{"promote", "--sha", "abcdef0;rm -rf /"}, good...), `invalid sha "abcdef0;rm -rf /"`},
		{"command substitution", append([]string{"verify", "--sha", "$(curl evil)"}, good...), "invalid sha"},
		{"6 hex characters", append([]string{"verify", "--sha", "abcdef"}, good...), "7 to 40 hexadecimal"},
		{"41 hex characters", append([]string{"verify", "--sha", strings.Repeat("a", 41)}, good...), "7 to 40 hexadecimal"},
		{"non-hex sha", append([]string{"verify", "--sha", "abcdefg"}, good...), "invalid sha"},
		{"upper-case repository", []string{"verify", "--sha", sha[:7], "--image", strings.ToUpper(images[0])}, "invalid repository"},
		{"repository without registry", []string{"verify", "--sha", sha[:7], "--image", "molecule-ai/platform"}, "registry host"},
		{"repository with tag", []string{"verify", "--sha", sha[:7], "--image", images[0] + ":latest"}, "invalid repository"},
		{"duplicate repository", []string{"verify", "--sha", sha[:7], "--image", images[0], "--image", images[0]}, "more than once"},
		{"bad target tag", append([]string{"promote", "--sha", sha[:7], "--target-tag", "latest;reboot"}, good...), `invalid target tag "latest;reboot"`},
		{"bad source template", append([]string{"verify", "--sha", sha[:7], "--source-tag", "staging-{branch}"}, good...), "unknown placeholder {branch}"},
		{"bad platform", append([]string{"verify", "--sha", sha[:7], "--platform", "linux"}, good...), `invalid platform "linux"`},
		{"stray argument", append([]string{"verify", "--sha", sha[:7], "extra"}, good...), `unexpected argument "extra"`},
		{"unknown flag", append([]string{"verify", "--sha", sha[:7], "--force"}, good...), "flag provided but not defined: -force"},
		{"username without password", append([]string{"verify", "--sha", sha[:7], "--username", "bot"}, good...), "--username needs --password-stdin"},
		{"empty password", append([]string{"verify", "--sha", sha[:7], "--username", "bot", "--password-stdin"}, good...), "stdin was empty"},
		{"zero timeout", append([]string{"verify", "--sha", sha[:7], "--timeout", "0s"}, good...), "--timeout must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", nil, tc.args...)
			if r.code != exitUsage {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", r.code, exitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not contain %q:\n%s", tc.want, r.stderr)
			}
			if n := proxy.Total(); n != 0 {
				t.Errorf("%d requests reached the registry", n)
			}
		})
	}
}

func TestPromoteEndToEnd(t *testing.T) {
	_, proxy, images := registry(t)
	summary := filepath.Join(t.TempDir(), "summary.md")
	stepSummary := filepath.Join(t.TempDir(), "step-summary.md")
	env := map[string]string{"GITHUB_STEP_SUMMARY": stepSummary}
	flags := imageFlags(images)

	if r := runCLI(t, "", env, append([]string{"verify", "--sha", sha}, flags...)...); r.code != exitOK || !strings.Contains(r.stdout, "verified") {
		t.Fatalf("verify: %+v", r)
	}
	r := runCLI(t, "", env, append([]string{"promote", "--sha", sha, "--json", "--summary", summary}, flags...)...)
	if r.code != exitOK {
		t.Fatalf("promote: %+v", r)
	}
	var rep promote.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json output is not a report: %v\n%s", err, r.stdout)
	}
	if rep.Action != "promote" || rep.Result != promote.ResultOK || len(rep.Images) != 2 || rep.Images[0].Outcome != promote.OutcomeChanged {
		t.Fatalf("report = %+v", rep)
	}
	md, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(md), "| Image | Outcome |") {
		t.Fatalf("--summary file: %v\n%s", err, md)
	}
	step, err := os.ReadFile(stepSummary)
	if err != nil || strings.Count(string(step), "### promote") != 2 {
		t.Fatalf("$GITHUB_STEP_SUMMARY should hold both reports: %v\n%s", err, step)
	}
	if n := proxy.Count(http.MethodPut, "/manifests/latest"); n != 2 {
		t.Errorf("%d PUTs of latest, want 2", n)
	}

	if r := runCLI(t, "", nil, append([]string{"status"}, flags...)...); r.code != exitOK || strings.Count(r.stdout, "current") != 2 {
		t.Fatalf("status: %+v", r)
	}
	if r := runCLI(t, "", nil, append([]string{"verify", "--sha", "0000000"}, flags...)...); r.code != exitFailed ||
		!strings.Contains(r.stderr, images[0]+":staging-0000000: not found") || !strings.Contains(r.stderr, images[1]+":staging-0000000: not found") {
		t.Fatalf("verify of a missing commit: %+v", r)
	}
}

func TestExitCodeThreeWhenRegistryIsLeftMixed(t *testing.T) {
	_, proxy, images := registry(t)
	var platformPuts atomic.Int32
	proxy.SetFault(func(r *http.Request, _ int) registrytest.Fault {
		switch {
		case r.Method != http.MethodPut:
		case strings.HasSuffix(r.URL.Path, "/platform-tenant/manifests/latest"):
			return registrytest.Reply(403)
		case strings.HasSuffix(r.URL.Path, "/platform/manifests/latest") && platformPuts.Add(1) > 1:
			return registrytest.Reply(403)
		}
		return registrytest.Pass()
	})
	r := runCLI(t, "", nil, append([]string{"promote", "--sha", sha}, imageFlags(images)...)...)
	if r.code != exitMixed {
		t.Fatalf("exit code = %d, want %d\n%s", r.code, exitMixed, r.stderr)
	}
	if !strings.Contains(r.stderr, images[0]+":latest is at sha256:") || !strings.Contains(r.stdout, "mixed") {
		t.Errorf("the state is not printed:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

func TestPasswordFromStdinIsNeverPrinted(t *testing.T) {
	_, _, images := registry(t, registrytest.WithBasicAuth("ci-bot", password))
	flags := append(imageFlags(images), "--username", "ci-bot", "--password-stdin")
	var outputs []string
	for _, args := range [][]string{
		append([]string{"verify", "--sha", sha}, flags...),
		append([]string{"promote", "--sha", sha, "--json"}, flags...),
		append([]string{"verify", "--sha", "0000000"}, flags...),
		append([]string{"status", "--json"}, flags...),
	} {
		r := runCLI(t, password+"\n", nil, args...)
		if r.code != exitOK && r.code != exitFailed {
			t.Fatalf("%v: %+v", args, r)
		}
		outputs = append(outputs, r.stdout, r.stderr)
	}
	r := runCLI(t, password+"-wrong\n", nil, append([]string{"verify", "--sha", sha}, flags...)...)
	if r.code != exitFailed {
		t.Fatalf("wrong password: %+v", r)
	}
	outputs = append(outputs, r.stdout, r.stderr)
	for _, out := range outputs {
		if strings.Contains(out, password) {
			t.Fatalf("the password was printed:\n%s", out)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, v := range verbs {
		r := runCLI(t, "", nil, v.name, "--help")
		if r.code != exitOK || !strings.Contains(r.stderr, "Usage:\n  promote "+v.name) || !strings.Contains(r.stderr, "Exit codes:") {
			t.Errorf("%s --help: %+v", v.name, r)
		}
	}
	if r := runCLI(t, "", nil, "--help"); r.code != exitOK || !strings.Contains(r.stderr, "rollback") {
		t.Errorf("--help: %+v", r)
	}
}

func TestDemo(t *testing.T) {
	r := runCLI(t, "", nil, "demo")
	if r.code != exitOK {
		t.Fatalf("demo: %+v", r)
	}
	for _, want := range []string{"verify", "changed", "unchanged", "latest-previous", "not found"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}
