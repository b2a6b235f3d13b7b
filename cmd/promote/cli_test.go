package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/molecule-ai/promote/internal/gittest"
	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

const (
	sha      = "89abcdef0123456789abcdef0123456789abcdef"
	password = "tok-3Xv!never-print-me"
)

// repoNames are the repositories every test registry holds.
var repoNames = []string{"molecule-ai/platform", "molecule-ai/platform-tenant"}

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
	pushStaging(t, srv, sha)
	var images []string
	for _, name := range repoNames {
		images = append(images, proxy.Repo(name))
	}
	proxy.Reset()
	return srv, proxy, images
}

// pushStaging pushes the staging image of commit to every repository of
// srv, labelled with the commit.
func pushStaging(t *testing.T, srv *registrytest.Server, commit string) {
	t.Helper()
	for _, name := range repoNames {
		spec := registrytest.ImageSpec{Labels: map[string]string{"org.opencontainers.image.revision": commit}}
		if _, err := registrytest.PushImage(context.Background(), srv.Repo(name)+":staging-"+commit[:7], spec, srv.Auth()); err != nil {
			t.Fatal(err)
		}
	}
}

// tags reads tag of every repository of srv from the registry itself.
func tags(t *testing.T, srv *registrytest.Server, tag string) []string {
	t.Helper()
	var out []string
	for _, name := range repoNames {
		d, _, err := registrytest.Digest(context.Background(), srv.Repo(name)+":"+tag, srv.Auth())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func imageFlags(images []string) []string {
	var args []string
	for _, img := range images {
		args = append(args, "--image", img)
	}
	return args
}

func TestBadInputMakesNoRequest(t *testing.T) {
	srv, proxy, images := registry(t)
	other := registrytest.NewProxy(t, srv.Addr) // a second registry host
	good := imageFlags(images)
	notARepository := t.TempDir()
	cases := []struct {
		name  string
		args  []string
		env   map[string]string
		stdin string
		want  string
		// lines is how many lines stderr must have; 0 leaves it unchecked.
		lines int
	}{
		{name: "unknown command", args: []string{"ship"}, want: `unknown command "ship"; run 'promote --help'`, lines: 1},
		{name: "missing sha", args: append([]string{"promote"}, good...), want: "--sha is required"},
		{name: "empty sha", args: append([]string{"promote", "--sha", ""}, good...), want: "--sha is required"},
		{name: "shell in sha", args: append([]string{"promote", "--sha", "abcdef0;rm -rf /"}, good...), want: `invalid sha "abcdef0;rm -rf /"`},
		{name: "command substitution", args: append([]string{"verify", "--sha", "$(curl evil)"}, good...), want: "invalid sha"},
		{name: "6 hex characters", args: append([]string{"verify", "--sha", "abcdef"}, good...), want: "7 to 40 hexadecimal"},
		{name: "41 hex characters", args: append([]string{"verify", "--sha", strings.Repeat("a", 41)}, good...), want: "7 to 40 hexadecimal"},
		{name: "non-hex sha", args: append([]string{"verify", "--sha", "abcdefg"}, good...), want: "invalid sha"},
		{name: "upper-case repository", args: []string{"verify", "--sha", sha[:7], "--image", strings.ToUpper(images[0])}, want: "invalid repository"},
		{name: "repository without registry", args: []string{"verify", "--sha", sha[:7], "--image", "molecule-ai/platform"}, want: "registry host"},
		{name: "repository with tag", args: []string{"verify", "--sha", sha[:7], "--image", images[0] + ":latest"}, want: "invalid repository"},
		{name: "duplicate repository", args: []string{"verify", "--sha", sha[:7], "--image", images[0], "--image", images[0]}, want: "more than once"},
		{name: "bad target tag", args: append([]string{"promote", "--sha", sha[:7], "--target-tag", "latest;reboot"}, good...), want: `invalid target tag "latest;reboot"`},
		{name: "bad source template", args: append([]string{"verify", "--sha", sha[:7], "--source-tag", "staging-{branch}"}, good...), want: "unknown placeholder {branch}"},
		{name: "bad platform", args: append([]string{"verify", "--sha", sha[:7], "--platform", "linux"}, good...), want: `invalid platform "linux"`},
		{name: "two problems, one line each", args: []string{"verify", "--sha", "xyz", "--image", strings.ToUpper(images[0])}, want: "promote verify: invalid repository", lines: 2},
		{name: "stray argument", args: append([]string{"verify", "--sha", sha[:7], "extra"}, good...), want: `unexpected argument "extra"`},

		{name: "unknown flag", args: append([]string{"verify", "--sha", sha[:7], "--force"}, good...), want: "promote verify: unknown flag --force; run 'promote verify --help'", lines: 1},
		{name: "one-dash unknown flag", args: append([]string{"verify", "--sha", sha[:7], "-v"}, good...), want: "promote verify: unknown flag -v (promote has no one-letter flags: every flag is a word, such as --sha or --help); run 'promote verify --help'", lines: 1},
		{name: "repeated sha", args: append([]string{"verify", "--sha", sha[:7], "--sha", sha}, good...), want: `promote verify: --sha is given more than once ("` + sha[:7] + `", then "` + sha + `"): it takes one value; run 'promote verify --help'`, lines: 1},
		{name: "repeated sha, one dash", args: append([]string{"verify", "-sha", sha[:7], "-sha=" + sha}, good...), want: "--sha is given more than once", lines: 1},
		{name: "repeated boolean", args: append([]string{"promote", "--sha", sha[:7], "--dry-run", "--dry-run=false"}, good...), want: "--dry-run is given more than once", lines: 1},
		{name: "repeated timeout", args: append([]string{"verify", "--sha", sha[:7], "--timeout", "1m", "--timeout", "2m"}, good...), want: "--timeout is given more than once", lines: 1},
		{name: "port out of range", args: []string{"verify", "--sha", sha[:7], "--image", "127.0.0.1:99999/x"}, want: "has a port outside 1 to 65535", lines: 1},
		{name: "port zero in a destination", args: []string{"promote", "--sha", sha[:7], "--image", images[0] + "=127.0.0.1:0/x"}, want: "has a port outside 1 to 65535", lines: 1},
		{name: "flag without its value", args: []string{"verify", "--sha"}, want: "flag needs an argument: --sha; run 'promote verify --help'", lines: 1},
		{name: "unreadable duration", args: append([]string{"verify", "--sha", sha[:7], "--timeout", "soon"}, good...), want: `invalid value "soon" for flag --timeout`, lines: 1},
		{name: "platform on status", args: append([]string{"status", "--platform", "linux/amd64"}, good...), want: "status takes no --platform; run 'promote status --help'", lines: 1},
		{name: "source tag on status", args: append([]string{"status", "--source-tag", "rc-{sha}"}, good...), want: "status takes no --source-tag", lines: 1},
		{name: "sha on status", args: append([]string{"status", "--sha", sha}, good...), want: "status takes no --sha", lines: 1},
		{name: "forward-only on rollback", args: append([]string{"rollback", "--sha", sha, "--forward-only"}, good...), want: "rollback takes no --forward-only", lines: 1},
		{name: "no-backup on a rollback to the backups", args: append([]string{"rollback", "--no-backup"}, good...), want: "--no-backup needs --sha"},
		{name: "platform on a rollback to the backups", args: append([]string{"rollback", "--platform", "linux/amd64"}, good...), want: "--platform needs --sha"},
		{name: "source tag on a rollback to the backups", args: append([]string{"rollback", "--source-tag", "rc-{sha}"}, good...), want: "--source-tag needs --sha"},

		{name: "comma in --image", args: []string{"verify", "--sha", sha[:7], "--image", images[0] + "," + images[1]}, want: "holds a comma: repeat the flag for each value, as in --image a --image b"},
		{name: "comma in --target-tag", args: append([]string{"promote", "--sha", sha[:7], "--target-tag", "latest,stable"}, good...), want: `--target-tag "latest,stable" holds a comma: repeat the flag`},
		{name: "comma in --platform", args: append([]string{"verify", "--sha", sha[:7], "--platform", "linux/amd64,linux/arm64"}, good...), want: `--platform "linux/amd64,linux/arm64" holds a comma: repeat the flag`},
		{name: "comma in $PROMOTE_IMAGES", args: []string{"verify", "--sha", sha[:7]}, env: map[string]string{imagesEnv: images[0] + "," + images[1]}, want: "$PROMOTE_IMAGES holds a comma: separate the images with spaces or newlines"},
		{name: "bad name in $PROMOTE_IMAGES", args: []string{"verify", "--sha", sha[:7]}, env: map[string]string{imagesEnv: images[0] + " team/api"}, want: `invalid repository "team/api"`},

		{name: "username without password", args: append([]string{"verify", "--sha", sha[:7], "--username", "bot"}, good...), want: "--username needs --password-stdin"},
		{name: "password without username", args: append([]string{"verify", "--sha", sha[:7], "--password-stdin"}, good...), stdin: password, want: "--password-stdin needs --username"},
		{name: "empty password", args: append([]string{"verify", "--sha", sha[:7], "--username", "bot", "--password-stdin"}, good...), want: "stdin was empty"},
		{name: "registry without username", args: append([]string{"verify", "--sha", sha[:7], "--registry", proxy.Addr}, good...), want: "--registry names the registry that --username logs in to"},
		{name: "username for images on two registries", args: []string{"verify", "--sha", sha[:7], "--username", "bot", "--password-stdin", "--image", images[0], "--image", other.Repo(repoNames[1])},
			stdin: password, want: "--username applies to one registry, and the images are on 2 (" + proxy.Addr + ", " + other.Addr + "): name it with --registry"},
		{name: "registry that holds none of the images", args: append([]string{"verify", "--sha", sha[:7], "--username", "bot", "--password-stdin", "--registry", "ghcr.io"}, good...),
			stdin: password, want: "--registry ghcr.io holds none of the images, which are on " + proxy.Addr},
		{name: "registry that is no host", args: append([]string{"verify", "--sha", sha[:7], "--username", "bot", "--password-stdin", "--registry", "https://ghcr.io"}, good...),
			stdin: password, want: `--registry "https://ghcr.io" is not a registry host`},

		{name: "git dir without forward-only", args: append([]string{"promote", "--sha", sha, "--git-dir", "."}, good...), want: "--git-dir is read only with --forward-only"},
		{name: "forward-only outside a git repository", args: append([]string{"promote", "--sha", sha, "--forward-only", "--git-dir", notARepository}, good...), want: "invalid git directory"},

		{name: "unwritable --summary", args: append([]string{"promote", "--sha", sha, "--summary", filepath.Join(notARepository, "missing", "summary.md")}, good...), want: "--summary: cannot write the summary file"},
		{name: "unwritable $GITHUB_STEP_SUMMARY", args: append([]string{"promote", "--sha", sha}, good...), env: map[string]string{"GITHUB_STEP_SUMMARY": notARepository},
			want: "$GITHUB_STEP_SUMMARY: cannot write the step summary"},
		{name: "zero timeout", args: append([]string{"verify", "--sha", sha[:7], "--timeout", "0s"}, good...), want: "--timeout must be positive"},
		{name: "negative response timeout", args: append([]string{"verify", "--sha", sha[:7], "--response-timeout", "-1s"}, good...), want: "--response-timeout must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.stdin, tc.env, tc.args...)
			if r.code != exitUsage {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", r.code, exitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not contain %q:\n%s", tc.want, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if tc.lines > 0 && len(lines) != tc.lines {
				t.Errorf("stderr has %d lines, want %d:\n%s", len(lines), tc.lines, r.stderr)
			}
			for _, line := range lines {
				if !strings.HasPrefix(line, "promote") {
					t.Errorf("stderr line %q does not say which command it is about", line)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout is not empty:\n%s", r.stdout)
			}
			if n := proxy.Total() + other.Total(); n != 0 {
				t.Errorf("%d requests reached the registry", n)
			}
		})
	}
}

// TestJSONReportForEveryOutcome: with --json, stdout holds exactly one
// report, whatever happened.
func TestJSONReportForEveryOutcome(t *testing.T) {
	_, _, images := registry(t)
	good := imageFlags(images)
	cases := []struct {
		name   string
		args   []string
		code   int
		result promote.Result
	}{
		{"unknown command", []string{"ship", "--json"}, exitUsage, promote.ResultInvalid},
		{"unknown flag", append([]string{"verify", "--json", "--force"}, good...), exitUsage, promote.ResultInvalid},
		{"unknown flag before --json", append([]string{"verify", "--force", "--json"}, good...), exitUsage, promote.ResultInvalid},
		{"invalid sha", append([]string{"verify", "--json", "--sha", "xyz"}, good...), exitUsage, promote.ResultInvalid},
		{"flag this command cannot honour", append([]string{"rollback", "--json", "--no-backup"}, good...), exitUsage, promote.ResultInvalid},
		{"verification failed", append([]string{"verify", "--json", "--sha", "0000000"}, good...), exitFailed, promote.ResultFailed},
		{"verified", append([]string{"verify", "--json=true", "--sha", sha}, good...), exitOK, promote.ResultOK},
		{"dry run", append([]string{"promote", "--json", "--dry-run", "--sha", sha}, good...), exitOK, promote.ResultOK},
		{"status of tags never promoted", append([]string{"status", "--json"}, good...), exitFailed, promote.ResultIncomplete},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", nil, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit code = %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			dec := json.NewDecoder(strings.NewReader(r.stdout))
			var rep promote.Report
			if err := dec.Decode(&rep); err != nil {
				t.Fatalf("stdout is not a JSON report: %v\n%s", err, r.stdout)
			}
			if err := dec.Decode(&json.RawMessage{}); !errors.Is(err, io.EOF) {
				t.Errorf("stdout holds more than one JSON value:\n%s", r.stdout)
			}
			if rep.Result != tc.result || (rep.Error == "") != (tc.code == exitOK) || rep.Images == nil {
				t.Errorf("report = %+v", rep)
			}
			if rep.Error != "" && !strings.Contains(r.stderr, strings.Split(rep.Error, "\n")[0]) {
				t.Errorf("stderr does not carry the report's error %q:\n%s", rep.Error, r.stderr)
			}
		})
	}
	if r := runCLI(t, "", nil, append([]string{"verify", "--json=false", "--sha", sha}, good...)...); r.code != exitOK || !strings.HasPrefix(r.stdout, "verify "+sha+": ok") {
		t.Errorf("--json=false: %+v", r)
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

// TestSummaryWriteFailureKeepsExitCode: a summary that passes the check
// before the first request but then cannot be written is a warning, and the
// promotion that moved the tags still exits 0.
func TestSummaryWriteFailureKeepsExitCode(t *testing.T) {
	const full = "/dev/full" // opens for writing, and every write fails
	if _, err := os.Stat(full); err != nil {
		t.Skipf("%s: %v", full, err)
	}
	cases := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"--summary", []string{"--summary", full}, nil},
		{"$GITHUB_STEP_SUMMARY", nil, map[string]string{"GITHUB_STEP_SUMMARY": full}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _, images := registry(t)
			r := runCLI(t, "", tc.env, append(append([]string{"promote", "--sha", sha}, tc.args...), imageFlags(images)...)...)
			if r.code != exitOK {
				t.Fatalf("exit code = %d, want %d; stderr:\n%s", r.code, exitOK, r.stderr)
			}
			if !strings.Contains(r.stderr, "warning: the Markdown summary could not be written") || strings.Contains(r.stderr, "as before") {
				t.Errorf("stderr:\n%s", r.stderr)
			}
			if !strings.Contains(r.stdout, "promote "+sha+": ok") {
				t.Errorf("stdout:\n%s", r.stdout)
			}
			if got, want := tags(t, srv, "latest"), tags(t, srv, "staging-"+sha[:7]); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("latest = %v, want the staging images %v", got, want)
			}
		})
	}
}

// TestForwardOnly promotes a newer commit, refuses an older one with a
// registry that reads back unchanged, and lets an explicit
// --forward-only=false and a rollback through.
func TestForwardOnly(t *testing.T) {
	srv, proxy, images := registry(t)
	g := gittest.New(t)
	older := g.Commit()
	newer := g.Commit(older)
	pushStaging(t, srv, older)
	pushStaging(t, srv, newer)
	flags := append(imageFlags(images), "--git-dir", g.Dir)

	if r := runCLI(t, "", nil, append([]string{"promote", "--sha", newer[:7], "--forward-only"}, flags...)...); r.code != exitOK {
		t.Fatalf("forward: %+v", r)
	}
	atNewer := tags(t, srv, "latest")
	proxy.Reset()
	r := runCLI(t, "", nil, append([]string{"promote", "--sha", older, "--forward-only"}, flags...)...)
	if r.code != exitFailed {
		t.Fatalf("backwards: exit code = %d, want %d; stderr:\n%s", r.code, exitFailed, r.stderr)
	}
	for _, want := range []string{"latest carries commit " + newer, "and " + older + " does not descend from it", "use rollback to go back on purpose"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if n := proxy.Count(http.MethodPut, ""); n != 0 {
		t.Errorf("a refused promotion made %d writes", n)
	}
	if got := tags(t, srv, "latest"); strings.Join(got, " ") != strings.Join(atNewer, " ") {
		t.Errorf("latest = %v after a refused promotion, want %v", got, atNewer)
	}

	if r := runCLI(t, "", nil, append([]string{"promote", "--sha", older, "--forward-only=false"}, imageFlags(images)...)...); r.code != exitOK {
		t.Fatalf("--forward-only=false: %+v", r)
	}
	if r := runCLI(t, "", nil, append([]string{"rollback", "--sha", newer}, imageFlags(images)...)...); r.code != exitOK {
		t.Fatalf("rollback: %+v", r)
	}
	if got := tags(t, srv, "latest"); strings.Join(got, " ") != strings.Join(atNewer, " ") {
		t.Errorf("latest = %v after the rollback, want %v", got, atNewer)
	}
}

// TestRegistryFlagNamesWhereToLogIn: with images on two registries,
// --username applies to the one --registry names.
func TestRegistryFlagNamesWhereToLogIn(t *testing.T) {
	locked := registrytest.Distribution(t, registrytest.WithBasicAuth("ci-bot", password))
	open := registrytest.InProcess(t)
	pushStaging(t, locked, sha)
	pushStaging(t, open, sha)
	images := imageFlags([]string{locked.Repo(repoNames[0]), open.Repo(repoNames[1])})
	cases := []struct {
		name     string
		registry []string
		code     int
	}{
		{"no --registry", nil, exitUsage},
		{"the registry that wants the login", []string{"--registry", locked.Addr}, exitOK},
		{"the other registry", []string{"--registry", open.Addr}, exitFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"verify", "--sha", sha, "--username", "ci-bot", "--password-stdin"}, tc.registry...), images...)
			r := runCLI(t, password+"\n", nil, args...)
			if r.code != tc.code {
				t.Fatalf("exit code = %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, password) {
				t.Fatalf("the password was printed")
			}
		})
	}
}

func TestImagesFromEnvironment(t *testing.T) {
	_, proxy, images := registry(t)
	env := map[string]string{imagesEnv: "\n  " + images[0] + "\n\t" + images[1] + "\n"}
	r := runCLI(t, "", env, "verify", "--sha", sha)
	if r.code != exitOK || !strings.Contains(r.stdout, images[0]+":staging-") || !strings.Contains(r.stdout, images[1]+":staging-") {
		t.Fatalf("images from $%s: %+v", imagesEnv, r)
	}
	// The flag wins: the variable is not read at all.
	env = map[string]string{imagesEnv: "not-an-image"}
	r = runCLI(t, "", env, "verify", "--sha", sha, "--image", images[0])
	if r.code != exitOK || strings.Contains(r.stdout, images[1]) {
		t.Fatalf("--image with $%s set: %+v", imagesEnv, r)
	}
	if proxy.Total() == 0 {
		t.Fatal("no request reached the registry")
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
	srv, _, images := registry(t, registrytest.WithBasicAuth("ci-bot", password))
	flags := append(imageFlags(images), "--username", "ci-bot", "--password-stdin")
	var outputs []string
	for _, args := range [][]string{
		append([]string{"verify", "--sha", sha}, flags...),
		append([]string{"promote", "--sha", sha, "--json"}, flags...),
		append([]string{"verify", "--sha", "0000000"}, flags...),
		append([]string{"status", "--json"}, flags...),
		append([]string{"verify", "--sha", "xyz", "--json"}, flags...),
		append([]string{"verify", "--sha", sha, "--json", "--registry", srv.Addr}, flags...),
	} {
		r := runCLI(t, password+"\n", nil, args...)
		if r.code == exitMixed {
			t.Fatalf("%v: %+v", args, r)
		}
		outputs = append(outputs, r.stdout, r.stderr)
	}
	r := runCLI(t, password+"-wrong\n", nil, append([]string{"verify", "--sha", sha, "--json"}, flags...)...)
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

func TestHelpAndVersion(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"--help", []string{"--help"}, exitOK, "Commands:\n  verify", ""},
		{"-h", []string{"-h"}, exitOK, "Commands:", ""},
		{"help", []string{"help"}, exitOK, "Commands:", ""},
		{"help with a command", []string{"help", "rollback"}, exitOK, "Usage:\n  promote rollback [--sha SHA] [flags]", ""},
		{"no command", nil, exitUsage, "", "Commands:"},
		{"--version", []string{"--version"}, exitOK, "promote " + promote.Version() + "\ngo-containerregistry " + promote.RegistryLibraryVersion() + "\n", ""},
	}
	for _, v := range verbs {
		cases = append(cases, struct {
			name   string
			args   []string
			code   int
			stdout string
			stderr string
		}{v.name + " --help", []string{v.name, "--help"}, exitOK, "Usage:\n  promote " + v.name, ""})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", nil, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("got %+v", r)
			}
			if (tc.stdout == "") != (r.stdout == "") || (tc.stderr == "") != (r.stderr == "") {
				t.Errorf("output on the wrong stream: %+v", r)
			}
			if tc.code == exitOK && tc.name != "--version" && !strings.Contains(r.stdout, "Exit codes:") {
				t.Errorf("help without the exit codes:\n%s", r.stdout)
			}
		})
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

// TestExitCodePrecedence checks that an error carrying several outcomes
// exits with the worst state it leaves behind.
func TestExitCodePrecedence(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"none", nil, exitOK},
		{"invalid", promote.ErrInvalidInput, exitUsage},
		{"failed", promote.ErrVerification, exitFailed},
		{"not promoted", promote.ErrNotPromoted, exitFailed},
		{"mixed", promote.ErrMixedState, exitMixed},
		{"unrecorded", promote.ErrUnrecorded, exitUnrecorded},
		{"unknown", errors.New("boom"), exitFailed},
		{"mixed over invalid", errors.Join(promote.ErrInvalidInput, promote.ErrMixedState), exitMixed},
		{"mixed over failed", errors.Join(promote.ErrVerification, promote.ErrMixedState), exitMixed},
		{"failed over invalid", errors.Join(promote.ErrInvalidInput, promote.ErrVerification), exitFailed},
		{"not promoted over invalid", fmt.Errorf("%w: %w", promote.ErrInvalidInput, promote.ErrNotPromoted), exitFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitCode(tc.err); got != tc.want {
				t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}
