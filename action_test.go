package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/molecule-ai/promote/promote"
)

// fakeDagger stands in for the dagger CLI in the action's tests: it
// records its arguments and the secret's variable, prints what it is told
// to, and exits with the status it is told to.
const fakeDagger = `#!/usr/bin/env bash
printf '%s\n' "$@" >"$FAKE_DIR/args"
printf '%s' "${PROMOTE_TOKEN:-}" >"$FAKE_DIR/token"
cat "$FAKE_DIR/stdout"
echo "12:00:00 INF connected to engine" >&2
cat "$FAKE_DIR/stderr" >&2
exit "$(cat "$FAKE_DIR/status")"
`

// traceparent is a mark that dagger appends to an error.
const traceparent = " [traceparent:0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331]"

// actionRun is one run of the action's script with a fake dagger.
type actionRun struct {
	exit        int
	stdout      string
	summary     string
	outputs     string
	args        []string
	token       string
	annotations []string
}

// runAction runs .github/scripts/promote-action.sh as action.yml does,
// with env as the step's environment on top of the runner's, and a fake
// dagger that prints stdout and, on stderr, stderr, then exits with
// status. actionPath is where the action is checked out; empty for this
// checkout, as uses: ./ gives it.
func runAction(t *testing.T, env map[string]string, actionPath, stdout, stderr string, status int) actionRun {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	for path, content := range map[string]string{
		filepath.Join(bin, "dagger"): fakeDagger,
		filepath.Join(dir, "stdout"): stdout,
		filepath.Join(dir, "stderr"): stderr,
		filepath.Join(dir, "status"): fmt.Sprint(status),
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	if actionPath == "" {
		actionPath = root
	}
	summary, outputs := filepath.Join(dir, "summary.md"), filepath.Join(dir, "outputs")
	cmd := exec.Command(filepath.Join(root, ".github", "scripts", "promote-action.sh"))
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"FAKE_DIR=" + dir,
		"RUNNER_TEMP=" + dir,
		"GITHUB_STEP_SUMMARY=" + summary,
		"GITHUB_OUTPUT=" + outputs,
		"GITHUB_ACTION_PATH=" + actionPath,
		"GITHUB_EVENT_NAME=workflow_run",
		"GITHUB_ACTOR=release-bot",
		"RUNNER_OS=Linux",
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	var run actionRun
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		run.exit = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	run.stdout = string(out)
	run.summary = readIfExists(t, summary)
	run.outputs = readIfExists(t, outputs)
	if args := readIfExists(t, filepath.Join(dir, "args")); args != "" {
		run.args = strings.Split(strings.TrimSuffix(args, "\n"), "\n")
	}
	run.token = readIfExists(t, filepath.Join(dir, "token"))
	// Workflow commands count only outside the stop-commands block.
	stopped := ""
	for _, line := range strings.Split(run.stdout, "\n") {
		switch {
		case stopped == "" && strings.HasPrefix(line, "::stop-commands::"):
			stopped = strings.TrimPrefix(line, "::stop-commands::")
		case stopped != "" && line == "::"+stopped+"::":
			stopped = ""
		case stopped == "" && strings.HasPrefix(line, "::error "):
			run.annotations = append(run.annotations, line)
		}
	}
	return run
}

func readIfExists(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// daggerError is how dagger prints a function's error, mark included.
func daggerError(err error) string {
	return "Error: " + err.Error() + traceparent + "\n"
}

// failedImages makes a failed report of n images, each failing with
// detail.
func failedImages(n int, detail string) *promote.Report {
	rep := &promote.Report{Action: "promote", SHA: "abcdef0", Result: promote.ResultFailed}
	for i := range n {
		rep.Images = append(rep.Images, promote.Image{
			Target: fmt.Sprintf("ghcr.io/acme/app-%02d:latest", i), Outcome: promote.OutcomeFailed, Detail: detail,
		})
	}
	return rep
}

var promoteInputs = map[string]string{
	"PROMOTE_COMMAND": "promote", "PROMOTE_SHA": "abcdef0", "PROMOTE_DRY_RUN": "false",
	"PROMOTE_FORWARD_ONLY": "true", "PROMOTE_SOURCE": ".", "PROMOTE_TIMEOUT": "5m",
	"PROMOTE_REGISTRY": "ghcr.io", "PROMOTE_USERNAME": "release-bot", "PROMOTE_TOKEN": "tok-never-print-me",
	"UPSTREAM_RUN_NAME": "E2E Staging", "UPSTREAM_RUN_NUMBER": "42",
	"UPSTREAM_RUN_URL": "https://github.com/acme/app/actions/runs/42", "UPSTREAM_RUN_EVENT": "schedule", "UPSTREAM_RUN_BRANCH": "main",
}

// promoteInputsWith returns promoteInputs with the values of changes.
func promoteInputsWith(changes map[string]string) map[string]string {
	env := maps.Clone(promoteInputs)
	maps.Copy(env, changes)
	return env
}

func TestActionSuccess(t *testing.T) {
	t.Parallel()
	run := runAction(t, promoteInputs, "", "### promote promote: ok\n\n| Image | Outcome |\n", "", 0)
	if run.exit != 0 || run.outputs != "result=ok\n" || len(run.annotations) != 0 {
		t.Fatalf("exit %d, outputs %q, annotations %q", run.exit, run.outputs, run.annotations)
	}
	for _, want := range []string{
		"Triggered by workflow\\_run: [E2E Staging #42](https://github.com/acme/app/actions/runs/42) (schedule on main), by release-bot\n",
		"### promote promote: ok\n",
	} {
		if !strings.Contains(run.summary, want) {
			t.Errorf("the summary lacks %q:\n%s", want, run.summary)
		}
	}
	root, _ := filepath.Abs(".")
	want := []string{"-m", root, "call", "with-registry-auth", "--address", "ghcr.io", "--username", "release-bot", "--secret", "env://PROMOTE_TOKEN",
		"promote", "--sha", "abcdef0", "--dry-run=false", "--timeout", "5m", "--forward-only", "--source", ".", "summary"}
	if !slices.Equal(run.args, want) {
		t.Errorf("dagger ran with\n%q, want\n%q", run.args, want)
	}
	if run.token != promoteInputs["PROMOTE_TOKEN"] {
		t.Errorf("dagger's environment has the token %q", run.token)
	}
	if strings.Contains(run.stdout+run.summary+strings.Join(run.args, " "), promoteInputs["PROMOTE_TOKEN"]) {
		t.Error("the token was printed or passed on the command line")
	}
}

// TestActionRunsTheModuleAtItsOwnRef checks that the module is loaded from
// the action's own folder: the commit the runner downloaded, or this
// checkout for uses: ./, and never cloned again.
func TestActionRunsTheModuleAtItsOwnRef(t *testing.T) {
	t.Parallel()
	const sha = "0123456789abcdef0123456789abcdef01234567"
	downloaded := filepath.Join(t.TempDir(), "_actions", "molecule-ai", "promote", sha)
	if err := os.MkdirAll(downloaded, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(downloaded, "dagger.json"), []byte(`{"name": "promote"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs(".")
	for name, path := range map[string]string{"downloaded by the runner": downloaded, "used as ./": root} {
		t.Run(name, func(t *testing.T) {
			run := runAction(t, map[string]string{"PROMOTE_COMMAND": "status"}, path, "ok\n", "", 0)
			if run.exit != 0 || len(run.args) < 2 || run.args[0] != "-m" || run.args[1] != path {
				t.Errorf("exit %d, dagger ran with %q; want -m %s", run.exit, run.args, path)
			}
		})
	}
	t.Run("a folder without the module", func(t *testing.T) {
		run := runAction(t, map[string]string{"PROMOTE_COMMAND": "status"}, t.TempDir(), "ok\n", "", 0)
		if run.exit != 2 || run.args != nil || run.outputs != "result=error\n" {
			t.Errorf("exit %d, outputs %q, dagger ran with %q; want exit 2, result=error and no dagger", run.exit, run.outputs, run.args)
		}
		if len(run.annotations) != 1 || !strings.Contains(run.annotations[0], "no dagger.json") {
			t.Errorf("annotations %q, want one saying the folder holds no dagger.json", run.annotations)
		}
	})
}

// TestActionRefusesRunnersOtherThanLinux checks that the action's script
// stops on a runner that is not Linux, before dagger runs, with exit 2, a
// message naming Linux, and result=error.
func TestActionRefusesRunnersOtherThanLinux(t *testing.T) {
	t.Parallel()
	for _, runnerOS := range []string{"macOS", "Windows", "a\nb"} {
		t.Run(runnerOS, func(t *testing.T) {
			t.Parallel()
			run := runAction(t, promoteInputsWith(map[string]string{"RUNNER_OS": runnerOS}), "", "", "", 0)
			if run.exit != 2 || run.args != nil || run.outputs != "result=error\n" {
				t.Errorf("exit %d, outputs %q, dagger ran with %q; want exit 2, result=error and no dagger", run.exit, run.outputs, run.args)
			}
			if len(run.annotations) != 1 || !strings.Contains(run.annotations[0], "Linux runners only") {
				t.Errorf("annotations %q, want one saying the action runs on Linux runners only", run.annotations)
			}
			if strings.Contains(run.stdout, "\nb") {
				t.Errorf("the runner's odd name was printed:\n%s", run.stdout)
			}
		})
	}
}

// TestActionNeedsJq runs the action's script where every program but jq
// is found: it stops before dagger, since it could not read the outcome.
func TestActionNeedsJq(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			link := filepath.Join(bin, e.Name())
			if e.Name() == "jq" || e.IsDir() {
				continue
			}
			if _, err := os.Lstat(link); err == nil {
				continue // an earlier directory of PATH wins
			}
			if err := os.Symlink(filepath.Join(dir, e.Name()), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := runAction(t, promoteInputsWith(map[string]string{"PATH": bin}), "", "", "", 0)
	if run.exit != 2 || run.args != nil || run.outputs != "result=error\n" {
		t.Errorf("exit %d, outputs %q, dagger ran with %q; want exit 2, result=error and no dagger", run.exit, run.outputs, run.args)
	}
	if len(run.annotations) != 1 || !strings.Contains(run.annotations[0], "jq") {
		t.Errorf("annotations %q, want one saying jq is needed", run.annotations)
	}
}

// TestActionResultOnEveryEarlyExit checks that the script sets result=error
// however it stops before dagger runs, not only on an input it refuses.
func TestActionResultOnEveryEarlyExit(t *testing.T) {
	t.Parallel()
	run := runAction(t, map[string]string{"PROMOTE_COMMAND": "status"}, filepath.Join(t.TempDir(), "missing"), "", "", 0)
	if run.exit == 0 || run.args != nil || run.outputs != "result=error\n" {
		t.Errorf("exit %d, outputs %q, dagger ran with %q; want a failure, result=error and no dagger", run.exit, run.outputs, run.args)
	}
}

func TestActionFailures(t *testing.T) {
	t.Parallel()
	cause := errors.New("verification failed for 2 of 2 images:\n  ghcr.io/acme/app-00:staging-abcdef0: not found")
	mixed := failedImages(2, "PUT refused")
	mixed.Result = promote.ResultMixed
	mixed.Images[1].Outcome = promote.OutcomeConflict
	mixed.Images[1].Detail = "moved by another run"
	mixed.Images = append(mixed.Images, promote.Image{Target: "ghcr.io/acme/app-02:latest", Outcome: promote.OutcomeRestored, Detail: "put back"})
	tests := []struct {
		name        string
		stderr      string
		exit        int
		result      string
		annotations []string // prefixes, in order
	}{
		{
			name:   "failed",
			stderr: daggerError(failure("promote", failedImages(2, "not found\nsecond line"), cause)),
			exit:   1, result: "failed",
			annotations: []string{
				"::error title=Promotion failed%3A ghcr.io/acme/app-00%3Alatest::failed: not found; second line",
				"::error title=Promotion failed%3A ghcr.io/acme/app-01%3Alatest::failed: not found; second line",
			},
		},
		{
			name:   "mixed",
			stderr: daggerError(failure("promote", mixed, fmt.Errorf("%w: one tag could not be put back", promote.ErrMixedState))),
			exit:   3, result: "mixed",
			annotations: []string{
				"::error title=Promotion failed%3A ghcr.io/acme/app-00%3Alatest::failed: PUT refused",
				"::error title=Promotion failed%3A ghcr.io/acme/app-01%3Alatest::conflict: moved by another run",
			},
		},
		{
			name: "incomplete status",
			stderr: daggerError(failure("status", &promote.Report{Action: "status", Result: promote.ResultIncomplete, Images: []promote.Image{
				{Target: "ghcr.io/acme/app-00:latest", Outcome: promote.OutcomeCurrent, Digest: "sha256:" + strings.Repeat("1", 64)},
				{Target: "ghcr.io/acme/app-01:latest", Outcome: promote.OutcomeMissing, Detail: "the tag does not exist"},
			}}, fmt.Errorf("%w: 1 of 2 target tags are not in place", promote.ErrIncomplete))),
			exit: 1, result: "incomplete",
			annotations: []string{"::error title=Promotion failed%3A ghcr.io/acme/app-01%3Alatest::missing: the tag does not exist"},
		},
		{
			name:   "more failing images than GitHub shows",
			stderr: daggerError(failure("promote", failedImages(12, "not found"), cause)),
			exit:   1, result: "failed",
			annotations: append(slices.Repeat([]string{"::error title=Promotion failed%3A ghcr.io/acme/app-"}, 9),
				"::error title=Promotion failed::12 tags failed; the job summary lists every one"),
		},
		{
			name: "unrecorded",
			stderr: daggerError(failure("promote", &promote.Report{Action: "promote", Result: promote.ResultUnrecorded, Images: []promote.Image{
				{Target: "ghcr.io/acme/app-00:latest", Outcome: promote.OutcomeChanged, Digest: "sha256:" + strings.Repeat("1", 64)},
			}}, fmt.Errorf("%w: every tag is in place, but 1 of 1 promotion records is missing", promote.ErrUnrecorded))),
			exit: 4, result: "unrecorded",
			annotations: []string{"::error title=Promotion failed::moved, but not recorded: every tag is in place"},
		},
		{
			name:   "no table",
			stderr: "Error: failed to load module: connection refused" + traceparent + "\n",
			exit:   7, result: "error",
			annotations: []string{"::error title=Promotion failed::failed to load module: connection refused"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status := 1
			if tt.result == "error" {
				status = 7
			}
			run := runAction(t, promoteInputs, "", "", tt.stderr, status)
			if run.exit != tt.exit || run.outputs != "result="+tt.result+"\n" {
				t.Errorf("exit %d, outputs %q; want %d, result=%s", run.exit, run.outputs, tt.exit, tt.result)
			}
			if len(run.annotations) != len(tt.annotations) {
				t.Fatalf("annotations:\n%s\nwant %d", strings.Join(run.annotations, "\n"), len(tt.annotations))
			}
			for i, want := range tt.annotations {
				if !strings.HasPrefix(run.annotations[i], want) {
					t.Errorf("annotation %d = %q, want it to start with %q", i, run.annotations[i], want)
				}
			}
			if strings.Contains(run.summary+strings.Join(run.annotations, "\n"), "traceparent") {
				t.Errorf("a traceparent mark was kept:\n%s", run.summary)
			}
			if !strings.Contains(run.summary, "Triggered by workflow\\_run: [E2E Staging #42]") {
				t.Errorf("the summary does not name the trigger:\n%s", run.summary)
			}
		})
	}
}

func TestActionSummaryFenceHoldsAnyText(t *testing.T) {
	t.Parallel()
	text := "a line\n```\n# not a heading\n`````text\nlast"
	run := runAction(t, promoteInputs, "", "", daggerError(failure("promote", failedImages(1, "odd"), errors.New(text))), 1)
	fence := "``````"
	if !strings.Contains(run.summary, "\n"+fence+"text\n"+text+"\n") || !strings.HasSuffix(run.summary, "\n"+fence+"\n") {
		t.Errorf("the summary does not fence the error in %s:\n%s", fence, run.summary)
	}
}

// TestActionRefusesBadInputBeforeDagger gives the action's script inputs
// that only it can check: which function the command names, the booleans
// it branches on, inputs the command takes no argument for, inputs given
// empty, and values that would pass for a flag.
func TestActionRefusesBadInputBeforeDagger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown command", map[string]string{"PROMOTE_COMMAND": "deploy"}, "command must be"},
		{"no sha", map[string]string{"PROMOTE_SHA": ""}, "sha is required"},
		{"status with a sha", map[string]string{"PROMOTE_COMMAND": "status"}, "status takes no sha"},
		{"dry-run not a boolean", map[string]string{"PROMOTE_DRY_RUN": "yes"}, "dry-run must be"},
		{"forward-only on rollback", map[string]string{"PROMOTE_COMMAND": "rollback"}, "forward-only applies to promote only"},
		{"image as a flag", map[string]string{"PROMOTE_IMAGES": "ghcr.io/a/b,--dry-run"}, "starts with a dash"},
		{"sha as a flag", map[string]string{"PROMOTE_SHA": "--help"}, "sha must not start with a dash"},
		{"timeout as a flag", map[string]string{"PROMOTE_TIMEOUT": "-1m"}, "timeout must not start with a dash"},
		{"username as a flag", map[string]string{"PROMOTE_USERNAME": "--help"}, "username must not start with a dash"},
		{"source tag as a flag", map[string]string{"PROMOTE_SOURCE_TAG": "-v"}, "source-tag must not start with a dash"},
		{"registry service not an address", map[string]string{"PROMOTE_REGISTRY_SERVICE": "localhost:5000"}, "registry-service must be"},
		{"identity as a flag", map[string]string{"PROMOTE_CERTIFICATE_IDENTITY": "--help"}, "certificate-identity must not start with a dash"},
		{"regexp as a flag", map[string]string{"PROMOTE_CERTIFICATE_IDENTITY_REGEXP": "-x"}, "certificate-identity-regexp must not start with a dash"},
		{"require-provenance not a boolean", map[string]string{"PROMOTE_REQUIRE_PROVENANCE": "yes"}, "require-provenance must be"},
		{"allow-rolled-back not a boolean", map[string]string{"PROMOTE_ALLOW_ROLLED_BACK": "yes"}, "allow-rolled-back must be"},
		{"allow-rolled-back on rollback", map[string]string{"PROMOTE_COMMAND": "rollback", "PROMOTE_FORWARD_ONLY": "false", "PROMOTE_ALLOW_ROLLED_BACK": "true"}, "allow-rolled-back applies to promote only"},
		{"actor as a flag", map[string]string{"PROMOTE_ACTOR": "--dry-run"}, "actor must not start with a dash"},
		{"run as a flag", map[string]string{"PROMOTE_RUN": "--sha=0000000"}, "run must not start with a dash"},
		{"provenance on rollback", map[string]string{"PROMOTE_COMMAND": "rollback", "PROMOTE_FORWARD_ONLY": "false", "PROMOTE_REQUIRE_PROVENANCE": "true", "PROMOTE_CERTIFICATE_IDENTITY": signer, "PROMOTE_SHA": fullSHA}, "verify and promote only"},
		{"identity given empty", map[string]string{"PROMOTE_CERTIFICATE_IDENTITY": ""}, "certificate-identity is given but empty"},
		{"regexp given empty", map[string]string{"PROMOTE_CERTIFICATE_IDENTITY_REGEXP": ""}, "certificate-identity-regexp is given but empty"},
		{"issuer given empty", map[string]string{"PROMOTE_SHA": fullSHA, "PROMOTE_CERTIFICATE_IDENTITY": signer, "PROMOTE_CERTIFICATE_OIDC_ISSUER": ""}, "certificate-oidc-issuer is given but empty"},
		{"GitHub claim given empty", map[string]string{"PROMOTE_SHA": fullSHA, "PROMOTE_CERTIFICATE_IDENTITY": signer, "PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_REPOSITORY": ""}, "certificate-github-workflow-repository is given but empty"},
		{"GitHub claim as a flag", map[string]string{"PROMOTE_SHA": fullSHA, "PROMOTE_CERTIFICATE_IDENTITY": signer, "PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_REF": "--help"}, "certificate-github-workflow-ref must not start with a dash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := runAction(t, promoteInputsWith(tt.env), "", "", "", 0)
			if run.exit != 2 || run.args != nil || run.outputs != "result=error\n" {
				t.Errorf("exit %d, outputs %q, dagger ran with %q; want exit 2, result=error and no dagger", run.exit, run.outputs, run.args)
			}
			if len(run.annotations) != 1 || !strings.Contains(run.annotations[0], tt.want) {
				t.Errorf("annotations %q, want one saying %q", run.annotations, tt.want)
			}
		})
	}
}

// TestActionBadInputRefusedByTheModule passes inputs that the module
// checks, as the CLI does, to dagger as they are; the fake dagger fails
// with the module's own error for that input, and the action exits 2 with
// result=error, learning so from the report that the error carries.
func TestActionBadInputRefusedByTheModule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const github = "https://token.actions.githubusercontent.com"
	module := func() *Promote { return New(nil, "", nil, nil) }
	tests := []struct {
		name string
		env  map[string]string
		// refusal is the module's error for the input.
		refusal func() error
		// passed are words dagger must be given, one after another.
		passed []string
		want   string
	}{
		{
			name: "sha with a command in it",
			env:  map[string]string{"PROMOTE_SHA": "abc1234; rm -rf /"},
			refusal: func() error {
				_, err := module().Promote(ctx, "abc1234; rm -rf /", false, false, true, nil, "5m", false, "", "", false)
				return err
			},
			passed: []string{"--sha", "abc1234; rm -rf /"}, want: "expected a git commit sha",
		},
		{
			name: "timeout not a duration",
			env:  map[string]string{"PROMOTE_TIMEOUT": "5 minutes", "PROMOTE_FORWARD_ONLY": "false"},
			refusal: func() error {
				_, err := module().Promote(ctx, "abcdef0", false, false, false, nil, "5 minutes", false, "", "", false)
				return err
			},
			passed: []string{"--timeout", "5 minutes"}, want: "positive duration",
		},
		{
			name: "token without a username",
			env:  map[string]string{"PROMOTE_USERNAME": ""},
			refusal: func() error {
				// What the module's promoter meets once it has read the secret.
				_, err := promote.New(module().config(), promote.WithCredentials("ghcr.io", "", "tok-never-print-me"))
				return failure("promote", nil, err)
			},
			passed: []string{"--username", ""}, want: "username",
		},
		{
			name: "both identities",
			env:  map[string]string{"PROMOTE_SHA": fullSHA, "PROMOTE_CERTIFICATE_IDENTITY": signer, "PROMOTE_CERTIFICATE_IDENTITY_REGEXP": "^https://github.com/acme/"},
			refusal: func() error {
				m, err := module().WithSignaturePolicy(signer, "^https://github.com/acme/", github, "", "", "", "", "")
				if err != nil {
					return err
				}
				_, err = m.Promote(ctx, fullSHA, false, false, false, nil, "5m", false, "", "", false)
				return err
			},
			passed: []string{"with-signature-policy", "--identity", signer, "--identity-regexp", "^https://github.com/acme/", "--issuer", github},
			want:   "not both",
		},
		{
			name: "issuer without an identity",
			env:  map[string]string{"PROMOTE_CERTIFICATE_OIDC_ISSUER": github},
			refusal: func() error {
				_, err := module().WithSignaturePolicy("", "", github, "", "", "", "", "")
				return err
			},
			passed: []string{"with-signature-policy", "--issuer", github}, want: "identity and identityRegexp are both empty",
		},
		{
			name: "GitHub claim without an identity",
			env:  map[string]string{"PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_TRIGGER": "push"},
			refusal: func() error {
				_, err := module().WithSignaturePolicy("", "", "", "", "", "", "push", "")
				return err
			},
			passed: []string{"with-signature-policy", "--issuer", "", "--github-workflow-trigger", "push"}, want: "identity and identityRegexp are both empty",
		},
		{
			name: "provenance without an identity",
			env:  map[string]string{"PROMOTE_REQUIRE_PROVENANCE": "true", "PROMOTE_SHA": fullSHA},
			refusal: func() error {
				_, err := module().Promote(ctx, fullSHA, false, false, false, nil, "5m", true, "", "", false)
				return err
			},
			passed: []string{"--require-provenance"}, want: "certificate identity",
		},
		{
			name: "a policy with a short sha",
			env:  map[string]string{"PROMOTE_CERTIFICATE_IDENTITY": signer},
			refusal: func() error {
				m, err := module().WithSignaturePolicy(signer, "", github, "", "", "", "", "")
				if err != nil {
					return err
				}
				_, err = m.Promote(ctx, "abcdef0", false, false, false, nil, "5m", false, "", "", false)
				return err
			},
			passed: []string{"with-signature-policy", "--identity", signer, "--issuer", github}, want: "full 40-character",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.refusal()
			if !errors.Is(err, promote.ErrInvalidInput) {
				t.Fatalf("the module's error %v is not an invalid input", err)
			}
			run := runAction(t, promoteInputsWith(tt.env), "", "", daggerError(err), 1)
			if run.exit != 2 || run.outputs != "result=error\n" {
				t.Errorf("exit %d, outputs %q; want exit 2, result=error", run.exit, run.outputs)
			}
			if !containsRun(run.args, tt.passed) {
				t.Errorf("dagger ran with %q, want %q in it", run.args, tt.passed)
			}
			if len(run.annotations) != 1 || !strings.Contains(run.annotations[0], tt.want) {
				t.Errorf("annotations %q, want one saying %q", run.annotations, tt.want)
			}
			if !strings.Contains(run.summary, "an input was refused before any request") || strings.Contains(run.summary, "report: {") {
				t.Errorf("the summary does not explain the refusal, or shows the report line:\n%s", run.summary)
			}
		})
	}
}

// containsRun reports whether words holds run, one after another.
func containsRun(words, run []string) bool {
	for i := 0; i+len(run) <= len(words); i++ {
		if slices.Equal(words[i:i+len(run)], run) {
			return true
		}
	}
	return false
}

// TestActionReadsTheReportNotTheTable fails a call whose error text holds
// a table and a result line that the report line contradicts: the action
// takes the outcome, and its annotations, from the report alone.
func TestActionReadsTheReportNotTheTable(t *testing.T) {
	t.Parallel()
	mixed := &promote.Report{Action: "promote", SHA: "abcdef0", Result: promote.ResultMixed, Error: "promote: one tag could not be put back", Images: []promote.Image{
		{Target: "ghcr.io/acme/app-00:latest", Outcome: promote.OutcomeRestored, Detail: "put back"},
		{Source: "ghcr.io/acme/app-01:staging-abcdef0", Target: "ghcr.io/acme/app-01:latest", Digest: "sha256:" + strings.Repeat("1", 64), Outcome: promote.OutcomeConflict, Detail: "moved by another run\n  to sha256:2"},
	}}
	js, err := json.Marshal(mixed)
	if err != nil {
		t.Fatal(err)
	}
	stderr := "Error: promote: one tag could not be put back\n\nresult: failed\n" + failureTableHeader +
		"\nghcr.io/acme/app-00:latest | failed | - | from the table\n\nreport: " + string(js) + traceparent + "\n"
	run := runAction(t, promoteInputs, "", "", stderr, 1)
	if run.exit != 3 || run.outputs != "result=mixed\n" {
		t.Errorf("exit %d, outputs %q; want 3, result=mixed, as the report says", run.exit, run.outputs)
	}
	want := []string{"::error title=Promotion failed%3A ghcr.io/acme/app-01%3Alatest::conflict: moved by another run; to sha256:2"}
	if !slices.Equal(run.annotations, want) {
		t.Errorf("annotations\n%q, want\n%q", run.annotations, want)
	}
	if strings.Contains(run.summary, "report: {") || !strings.Contains(run.summary, "Result **mixed**") {
		t.Errorf("the summary:\n%s", run.summary)
	}
	// A report line that is not JSON is no report.
	bad := runAction(t, promoteInputs, "", "", "Error: boom\n\nresult: mixed\nreport: {not json"+traceparent+"\n", 1)
	if bad.exit != 1 || bad.outputs != "result=error\n" || len(bad.annotations) != 1 {
		t.Errorf("unreadable report: exit %d, outputs %q, annotations %q; want dagger's status, result=error, one annotation", bad.exit, bad.outputs, bad.annotations)
	}
}

func TestActionThroughARegistryService(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"PROMOTE_COMMAND": "rollback", "PROMOTE_IMAGES": "localhost:5000/platform\nlocalhost:5000/platform-tenant\n",
		"PROMOTE_TARGET_TAGS": "latest, stable", "PROMOTE_REGISTRY": "localhost:5000", "PROMOTE_REGISTRY_SERVICE": "tcp://localhost:5000",
	}
	run := runAction(t, env, "", "### promote rollback: ok\n", "", 0)
	root, _ := filepath.Abs(".")
	want := []string{"-m", root, "call", "--images", "localhost:5000/platform,localhost:5000/platform-tenant", "--target-tags", "latest,stable",
		"with-registry-service", "--address", "localhost:5000", "--service", "tcp://localhost:5000",
		"rollback", "--dry-run=false", "--timeout", "5m", "summary"}
	if run.exit != 0 || !slices.Equal(run.args, want) {
		t.Errorf("exit %d, dagger ran with\n%q, want\n%q", run.exit, run.args, want)
	}
}

func TestActionInsecure(t *testing.T) {
	t.Parallel()
	env := map[string]string{"PROMOTE_COMMAND": "status", "PROMOTE_IMAGES": "myreg.test:5000/platform", "PROMOTE_INSECURE": "true"}
	run := runAction(t, env, "", "### promote status: ok\n", "", 0)
	root, _ := filepath.Abs(".")
	want := []string{"-m", root, "call", "--images", "myreg.test:5000/platform", "with-insecure", "status", "--timeout", "5m", "summary"}
	if run.exit != 0 || !slices.Equal(run.args, want) {
		t.Errorf("exit %d, dagger ran with\n%q, want\n%q", run.exit, run.args, want)
	}
	bad := runAction(t, map[string]string{"PROMOTE_COMMAND": "status", "PROMOTE_INSECURE": "yes"}, "", "", "", 0)
	if bad.exit != 2 || len(bad.annotations) != 1 || !strings.Contains(bad.annotations[0], "insecure must be true or false") {
		t.Errorf("insecure=yes: exit %d, annotations %q", bad.exit, bad.annotations)
	}
}

// signer is a build workflow's certificate identity, and fullSHA a
// 40-character commit sha, as a signature policy takes them.
const (
	signer  = "https://github.com/acme/app/.github/workflows/build.yml@refs/heads/main"
	fullSHA = "0123456789abcdef0123456789abcdef01234567"
)

func TestActionSignaturePolicy(t *testing.T) {
	t.Parallel()
	auth := []string{"with-registry-auth", "--address", "ghcr.io", "--username", "release-bot", "--secret", "env://PROMOTE_TOKEN"}
	tests := []struct {
		name string
		env  map[string]string
		want []string // after -m <module> call
	}{
		{
			name: "off when every signature input is left out, as action.yml's defaults",
			env: map[string]string{"PROMOTE_CERTIFICATE_IDENTITY": "(none)", "PROMOTE_CERTIFICATE_IDENTITY_REGEXP": "(none)",
				"PROMOTE_CERTIFICATE_OIDC_ISSUER": "(none)", "PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_REPOSITORY": "(none)", "PROMOTE_REQUIRE_PROVENANCE": "false"},
			want: slices.Concat(auth, []string{"promote", "--sha", "abcdef0", "--dry-run=false", "--timeout", "5m", "--forward-only", "--source", ".", "summary"}),
		},
		{
			name: "identity, GitHub's issuer and provenance",
			env:  map[string]string{"PROMOTE_SHA": fullSHA, "PROMOTE_CERTIFICATE_IDENTITY": signer, "PROMOTE_REQUIRE_PROVENANCE": "true"},
			want: slices.Concat(auth,
				[]string{"with-signature-policy", "--identity", signer, "--issuer", "https://token.actions.githubusercontent.com"},
				[]string{"promote", "--sha", fullSHA, "--dry-run=false", "--timeout", "5m", "--forward-only", "--source", ".", "--require-provenance", "summary"}),
		},
		{
			name: "identity with GitHub workflow claims",
			env: map[string]string{"PROMOTE_SHA": fullSHA, "PROMOTE_CERTIFICATE_IDENTITY": signer, "PROMOTE_CERTIFICATE_OIDC_ISSUER": "(none)",
				"PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_REPOSITORY": "acme/app", "PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_REF": "(none)",
				"PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_TRIGGER": "push"},
			want: slices.Concat(auth,
				[]string{"with-signature-policy", "--identity", signer, "--issuer", "https://token.actions.githubusercontent.com",
					"--github-workflow-repository", "acme/app", "--github-workflow-trigger", "push"},
				[]string{"promote", "--sha", fullSHA, "--dry-run=false", "--timeout", "5m", "--forward-only", "--source", ".", "summary"}),
		},
		{
			name: "regexp and another issuer on verify",
			env: map[string]string{"PROMOTE_COMMAND": "verify", "PROMOTE_FORWARD_ONLY": "false", "PROMOTE_SHA": fullSHA,
				"PROMOTE_CERTIFICATE_IDENTITY_REGEXP": "^https://github.com/acme/", "PROMOTE_CERTIFICATE_OIDC_ISSUER": "https://issuer.example.com",
				"PROMOTE_REQUIRE_PROVENANCE": "true"},
			want: slices.Concat(auth,
				[]string{"with-signature-policy", "--identity-regexp", "^https://github.com/acme/", "--issuer", "https://issuer.example.com"},
				[]string{"verify", "--sha", fullSHA, "--timeout", "5m", "--require-provenance", "summary"}),
		},
		{
			name: "identity without provenance on a rollback to the backups",
			env:  map[string]string{"PROMOTE_COMMAND": "rollback", "PROMOTE_FORWARD_ONLY": "false", "PROMOTE_SHA": "", "PROMOTE_CERTIFICATE_IDENTITY": signer},
			want: slices.Concat(auth,
				[]string{"with-signature-policy", "--identity", signer, "--issuer", "https://token.actions.githubusercontent.com"},
				[]string{"rollback", "--dry-run=false", "--timeout", "5m", "summary"}),
		},
	}
	root, _ := filepath.Abs(".")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := runAction(t, promoteInputsWith(tt.env), "", "ok\n", "", 0)
			want := slices.Concat([]string{"-m", root, "call"}, tt.want)
			if run.exit != 0 || !slices.Equal(run.args, want) {
				t.Errorf("exit %d, dagger ran with\n%q, want\n%q", run.exit, run.args, want)
			}
		})
	}
}

// TestActionPassesTheRecordsInputs: the actor and run reach promote and
// rollback, and allow-rolled-back reaches promote only when asked for.
func TestActionPassesTheRecordsInputs(t *testing.T) {
	t.Parallel()
	const runURL = "https://github.com/acme/app/actions/runs/42/attempts/2"
	records := map[string]string{"PROMOTE_ACTOR": "octocat", "PROMOTE_RUN": runURL}
	for _, tt := range []struct {
		name    string
		env     map[string]string
		want    []string
		without []string
	}{
		{"promote", records, []string{"--actor", "octocat", "--run", runURL}, []string{"--allow-rolled-back"}},
		{"promote, allowing a rolled-back commit", map[string]string{"PROMOTE_ALLOW_ROLLED_BACK": "true"}, []string{"--allow-rolled-back"}, nil},
		{"rollback", map[string]string{"PROMOTE_COMMAND": "rollback", "PROMOTE_FORWARD_ONLY": "false"}, []string{"--actor", "octocat", "--run", runURL}, []string{"--allow-rolled-back"}},
		{"status", map[string]string{"PROMOTE_COMMAND": "status", "PROMOTE_SHA": "", "PROMOTE_FORWARD_ONLY": "false"}, nil, []string{"--actor", "--run"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := promoteInputsWith(records)
			maps.Copy(env, tt.env)
			run := runAction(t, env, "", "ok\n", "", 0)
			if run.exit != 0 {
				t.Fatalf("exit %d: %q", run.exit, run.annotations)
			}
			args := strings.Join(run.args, " ")
			if !strings.Contains(args, strings.Join(tt.want, " ")) {
				t.Errorf("dagger ran with %q, want %q", run.args, tt.want)
			}
			for _, flag := range tt.without {
				if slices.Contains(run.args, flag) {
					t.Errorf("dagger ran with %s: %q", flag, run.args)
				}
			}
		})
	}
}
