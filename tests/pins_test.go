package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplePins checks that the commit each example pins the action to
// is in this repository's history and declares every input the example
// passes, so that no input is silently dropped. It needs the full history:
// CI checks out with fetch-depth: 0.
func TestExamplePins(t *testing.T) {
	g := gitRepo{repoRoot}
	checkout, err := g.isCheckout()
	if err != nil {
		t.Fatalf("git is needed to check the examples' pins: %v", err)
	}
	if !checkout {
		// A copy without .git, such as a module download, has no history
		// to check against; every CI run is a checkout.
		t.Skip("not a git checkout: the examples' pins are checked against the history of one")
	}
	pins := 0
	for _, wf := range loadWorkflows(t, "examples") {
		for _, pin := range actionPins(wf) {
			pins++
			if err := checkPin(g, pin); err != nil {
				t.Errorf("%s: %v", pin.where, err)
			}
		}
	}
	if pins == 0 {
		t.Errorf("no example uses %s@<commit sha>", selfAction)
	}
}

// TestCheckPinCatches proves that the pin check fails on a commit missing
// from the history, on a shallow history, on a commit whose action lacks
// an input, and on one whose action gives an input another default, in a
// repository of four commits: the action with the input command, then
// with sha, then with a default for sha, and a commit on a branch of its
// own.
func TestCheckPinCatches(t *testing.T) {
	dir := t.TempDir()
	g := gitRepo{dir}
	git := func(args ...string) string {
		t.Helper()
		out, err := g.git(args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	commit := func(inputs string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "action.yml"), []byte("name: t\ninputs:\n"+inputs), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "action.yml")
		git("-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "action")
		return git("rev-parse", "HEAD")
	}
	git("init", "-q", "-b", "main")
	old := commit("  command:\n    description: c\n")
	current := commit("  command:\n    description: c\n  sha:\n    description: s\n")
	git("checkout", "-q", "-b", "elsewhere")
	elsewhere := commit("  command:\n    description: c\n  sha:\n    description: s\n  extra:\n    description: e\n")
	git("checkout", "-q", "main")
	// HEAD: the sha input's default becomes the word for "left out".
	commit("  command:\n    description: c\n  sha:\n    description: s\n    default: (none)\n")

	shallowDir := filepath.Join(t.TempDir(), "shallow")
	git("clone", "-q", "--depth=1", "file://"+dir, shallowDir)

	tests := []struct {
		name string
		repo string
		pin  actionPin
		want string // in the error; empty for none
	}{
		{"every input declared", dir, actionPin{sha: current, with: []string{"command"}}, ""},
		{"an input whose default changed", dir, actionPin{sha: current, with: []string{"command", "sha"}}, `another default for sha ("" there, "(none)" now)`},
		{"an input added later", dir, actionPin{sha: old, with: []string{"command", "sha"}}, "does not declare sha"},
		{"a commit off the history of HEAD", dir, actionPin{sha: elsewhere, with: []string{"command"}}, "no such commit in the history"},
		{"an unknown commit", dir, actionPin{sha: strings.Repeat("0", 40), with: []string{"command"}}, "scripts/pin-examples.sh"},
		{"a branch", dir, actionPin{sha: "main", with: []string{"command"}}, "not pinned to a full commit sha"},
		{"a shallow history", shallowDir, actionPin{sha: old, with: []string{"command"}}, "fetch-depth: 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPin(gitRepo{tt.repo}, tt.pin)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// TestCIChecksOutTheHistory checks that the CI job that runs the tests
// checks out the full history, which TestExamplePins reads.
func TestCIChecksOutTheHistory(t *testing.T) {
	runs := 0
	for _, wf := range loadWorkflows(t, filepath.Join(".github", "workflows")) {
		for _, id := range wf.jobIDs() {
			full, tests := false, false
			for _, step := range wf.Jobs[id].Steps {
				if strings.HasPrefix(step.Uses.Value, "actions/checkout@") {
					full = step.With["fetch-depth"].Value == "0"
				}
				tests = tests || strings.Contains(step.Run.Value, "scripts/test.sh")
			}
			if !tests {
				continue
			}
			runs++
			if !full {
				t.Errorf("%s job %s runs scripts/test.sh without the full history: check out with fetch-depth: 0", filepath.Base(wf.path), id)
			}
		}
	}
	if runs == 0 {
		t.Error("no CI job runs scripts/test.sh")
	}
}
