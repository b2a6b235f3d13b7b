package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/molecule-ai/promote/internal/shellwords"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = ".."

// tagMovingFunctions are the module functions that move tags in a registry.
var tagMovingFunctions = []string{"promote", "rollback"}

// wantWorkflows are the workflows this repository must have, and
// wantExamples those it gives the repositories that build images.
var (
	wantWorkflows = []string{"ci.yml"}
	wantExamples  = []string{"auto-promote-on-e2e.yml", "promote-latest.yml", "rollback-latest.yml"}
)

// workflowDirs are the folders of workflows: this repository's own, and
// the examples for the repositories that build images.
var workflowDirs = []string{filepath.Join(".github", "workflows"), "examples"}

func loadTestModule(t *testing.T) *module {
	t.Helper()
	m, err := loadModule(repoRoot)
	if err != nil {
		t.Fatalf("reading the module: %v", err)
	}
	return m
}

// loadWorkflows reads the workflows of the given folders, by default all
// of workflowDirs.
func loadWorkflows(t *testing.T, dirs ...string) []*workflowFile {
	t.Helper()
	if len(dirs) == 0 {
		dirs = workflowDirs
	}
	var wfs []*workflowFile
	for _, dir := range dirs {
		paths, err := workflowFiles(filepath.Join(repoRoot, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			wf, err := readWorkflow(p)
			if err != nil {
				t.Fatal(err)
			}
			wfs = append(wfs, wf)
		}
	}
	return wfs
}

func loadTestAction(t *testing.T) *actionFile {
	t.Helper()
	a, err := readAction(filepath.Join(repoRoot, "action.yml"))
	if err != nil {
		t.Fatalf("reading the action: %v", err)
	}
	return a
}

func TestModuleSurface(t *testing.T) {
	m := loadTestModule(t)
	if m.main != "Promote" {
		t.Errorf("New returns %s, want Promote", m.main)
	}
	tests := []struct {
		call  string
		chain []string
	}{
		{"--images a,b --source-tag staging-{sha} --target-tags latest --platforms linux/amd64 status summary", []string{"status", "summary"}},
		{"with-registry-auth --address ghcr.io --username u --secret env:T verify --sha abc1234 json", []string{"with-registry-auth", "verify", "json"}},
		{"with-registry-service --address localhost:5000 --service tcp://localhost:5000 promote --sha abc1234 --dry-run --no-backup result", []string{"with-registry-service", "promote", "result"}},
		{"rollback --dry-run=false images repository", []string{"rollback", "images", "repository"}},
		{"rollback --sha abc1234 images previous-digest", []string{"rollback", "images", "previous-digest"}},
		{"status dry-run", []string{"status", "dry-run"}},
		{"status --timeout 90s summary", []string{"status", "summary"}},
		{"verify --sha abc1234 --timeout 1m result", []string{"verify", "result"}},
		{"promote --sha abc1234 --forward-only --source . --timeout 5m summary", []string{"promote", "summary"}},
		{"rollback --timeout 5m summary", []string{"rollback", "summary"}},
		{"with-signature-policy --identity i --issuer https://token.actions.githubusercontent.com promote --sha abc1234 --require-provenance summary", []string{"with-signature-policy", "promote", "summary"}},
		{"with-signature-policy --identity-regexp ^i$ --issuer https://issuer.example verify --sha abc1234 --require-provenance json", []string{"with-signature-policy", "verify", "json"}},
		{"with-public-key --key ./cosign.pub --insecure-ignore-tlog with-trusted-root --root ./trusted_root.json status summary", []string{"with-public-key", "with-trusted-root", "status", "summary"}},
		{"source-tag", []string{"source-tag"}},
		{"demo", []string{"demo"}},
	}
	for _, tt := range tests {
		chain, err := m.checkCall(strings.Fields(tt.call))
		if err != nil {
			t.Errorf("dagger call %s: %v", tt.call, err)
			continue
		}
		if !slices.Equal(chain, tt.chain) {
			t.Errorf("dagger call %s chains %q, want %q", tt.call, chain, tt.chain)
		}
	}
}

func TestCLIName(t *testing.T) {
	tests := []struct{ goName, want string }{
		{"WithRegistryAuth", "with-registry-auth"},
		{"dryRun", "dry-run"},
		{"noBackup", "no-backup"},
		{"Json", "json"},
		{"JSON", "j-son"},
		{"PreviousDigest", "previous-digest"},
		{"SHA", "sha"},
		{"HTTPServer", "httpserver"},
		{"Sha256Sum", "sha-256-sum"},
		{"V2", "v-2"},
	}
	for _, tt := range tests {
		if got := cliName(tt.goName); got != tt.want {
			t.Errorf("cliName(%q) = %q, want %q", tt.goName, got, tt.want)
		}
	}
}

func TestFindDaggerCalls(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   [][]string
	}{
		{
			name:   "continuation lines",
			script: "dagger call \\\n  promote --sha \"$SHA\" \\\n  summary >>\"$GITHUB_STEP_SUMMARY\"\n",
			want:   [][]string{{"promote", "--sha", "$SHA", "summary"}},
		},
		{
			name:   "global flags before call",
			script: "dagger -m github.com/molecule-ai/promote@main --progress plain call status json | jq .",
			want:   [][]string{{"status", "json"}},
		},
		{
			name:   "redirection of a descriptor",
			script: "run dagger call verify --sha 'abc1234' summary 2>&1 >out.md | tee log",
			want:   [][]string{{"verify", "--sha", "abc1234", "summary"}},
		},
		{
			name:   "command substitution",
			script: "report=\"$(dagger call status summary)\"\necho \"$report\"",
			want:   [][]string{{"status", "summary"}},
		},
		{
			name:   "commands that are not calls",
			script: "dagger version\ndagger develop\necho dagger\n# dagger call nothing\n",
			want:   nil,
		},
		{
			name:   "placeholder",
			script: "dagger call promote --sha <sha> summary",
			want:   [][]string{{"promote", "--sha", "<sha>", "summary"}},
		},
		{
			name: "bash arrays",
			script: "chain=()\nif [[ -n \"$T\" ]]; then chain+=(with-registry-auth --address \"$R\"); fi\n" +
				"case \"$C\" in\nstatus) call=(status) ;;\npromote)\n  call=(promote --sha \"$S\")\n  call+=(--dry-run) ;;\nesac\n" +
				"run dagger -m \"$mod\" call \"${chain[@]}\" \"${call[@]}\" summary",
			want: [][]string{
				{"status", "summary"},
				{"promote", "--sha", "$S", "summary"},
				{"promote", "--sha", "$S", "--dry-run", "summary"},
				{"with-registry-auth", "--address", "$R", "status", "summary"},
				{"with-registry-auth", "--address", "$R", "promote", "--sha", "$S", "summary"},
				{"with-registry-auth", "--address", "$R", "promote", "--sha", "$S", "--dry-run", "summary"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, err := findDaggerCalls(tt.script)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, c := range calls {
				got = append(got, c.args)
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWorkflows(t *testing.T) {
	m := loadTestModule(t)
	a := loadTestAction(t)
	found := map[string][]string{}
	for _, wf := range loadWorkflows(t) {
		dir, name := filepath.Split(wf.path)
		found[filepath.Base(dir)] = append(found[filepath.Base(dir)], name)
		t.Run(name, func(t *testing.T) {
			for _, f := range lintWorkflow(wf, m) {
				t.Error(f)
			}
			for _, f := range lintActionUses(wf, a) {
				t.Error(f)
			}
		})
	}
	for dir, want := range map[string][]string{"workflows": wantWorkflows, "examples": wantExamples} {
		for _, name := range want {
			if !slices.Contains(found[dir], name) {
				t.Errorf("no workflow %s/%s", dir, name)
			}
		}
	}
}

// TestAction checks action.yml: pinned actions, run steps that only call
// its scripts, inputs through env: only, and its scripts' dagger calls
// against the module.
func TestAction(t *testing.T) {
	a := loadTestAction(t)
	for _, f := range lintAction(a, loadTestModule(t)) {
		t.Error(f)
	}
	if len(a.scripts()) == 0 {
		t.Fatal("action.yml runs no script")
	}
	if out, ok := a.Outputs["result"]; !ok {
		t.Error("action.yml has no output result")
	} else if !strings.HasSuffix(out.Value, "|| 'error' }}") {
		t.Errorf("output result is %q: a step that stops before the script writes it would leave it empty, want it to fall back to 'error'", out.Value)
	}
	// Before anything is installed, the action refuses a runner that is
	// not Linux.
	const linuxCheck = `"$GITHUB_ACTION_PATH/.github/scripts/require-linux.sh"`
	if first := a.Runs.Steps[0]; strings.TrimSpace(first.Run.Value) != linuxCheck {
		t.Errorf("the action's first step is %q %s, want run: %s", first.Name, first.Uses.Value, linuxCheck)
	}
	for name, want := range map[string]string{
		"command": "promote", "dry-run": "false", "forward-only": "false", "timeout": "5m", "source": ".",
		// A signature input left out is "(none)", so that one given empty
		// (an unset variable) is told apart, and refused.
		"certificate-identity": "(none)", "certificate-identity-regexp": "(none)", "certificate-oidc-issuer": "(none)", "require-provenance": "false",
		"certificate-github-workflow-repository": "(none)", "certificate-github-workflow-ref": "(none)", "certificate-github-workflow-sha": "(none)",
		"certificate-github-workflow-trigger": "(none)", "certificate-github-workflow-name": "(none)",
	} {
		if got, ok := a.Inputs[name]; !ok || got.Default != want {
			t.Errorf("input %s defaults to %q, want %q", name, got.Default, want)
		}
	}
	// The calls checked above include those that carry the signature
	// policy, so that every flag the policy adds is checked too.
	m := loadTestModule(t)
	passed := map[string]bool{}
	for _, rel := range a.scripts() {
		data, err := os.ReadFile(filepath.Join(a.dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		calls, err := findDaggerCalls(string(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range calls {
			chain, err := m.parseCall(c.args)
			if err != nil {
				continue // lintAction reports it
			}
			for _, fn := range chain {
				for _, fl := range fn.flags {
					passed[fn.name+" --"+fl] = true
				}
			}
		}
	}
	for _, want := range []string{
		"with-signature-policy --identity", "with-signature-policy --identity-regexp", "with-signature-policy --issuer",
		"with-signature-policy --github-workflow-repository", "with-signature-policy --github-workflow-ref", "with-signature-policy --github-workflow-sha",
		"with-signature-policy --github-workflow-trigger", "with-signature-policy --github-workflow-name",
		"verify --require-provenance", "promote --require-provenance",
	} {
		if !passed[want] {
			t.Errorf("no dagger call of the action's scripts passes %s", want)
		}
	}
}

// tagMoves is how a job moves tags: in a registry the world pulls from
// (published), or in a throwaway one that the job starts itself and
// reaches through a Dagger service; and which functions move the
// published ones.
type tagMoves struct {
	published, throwaway bool
	functions            []string
}

// add records a move by the function fn.
func (t *tagMoves) add(fn string, throwaway bool) {
	if throwaway {
		t.throwaway = true
		return
	}
	t.published = true
	if !slices.Contains(t.functions, fn) {
		t.functions = append(t.functions, fn)
	}
}

// jobTagMoves tells how job moves tags, through dagger calls or through
// this repository's action.
func jobTagMoves(job *workflowJob, m *module, a *actionFile) (tagMoves, error) {
	var moves tagMoves
	chains, err := jobDaggerCalls(job, m)
	if err != nil {
		return moves, err
	}
	for _, chain := range chains {
		for _, fn := range chain {
			if slices.Contains(tagMovingFunctions, fn) {
				moves.add(fn, slices.Contains(chain, "with-registry-service"))
			}
		}
	}
	for _, step := range job.Steps {
		if fn := actionCommand(step, a); usesAction(step) && slices.Contains(tagMovingFunctions, fn) {
			moves.add(fn, step.With["registry-service"].Value != "")
		}
	}
	return moves, nil
}

// queuedJob is a job that moves published tags, and the concurrency
// groups it waits in.
type queuedJob struct {
	where     string
	functions []string
	// automatic: the workflow starts on an event, not only by hand.
	automatic bool
	// groups are the job's and the workflow's concurrency groups, lower
	// case, as GitHub compares them.
	groups []string
}

// queueFindings checks the queues of the jobs that move published tags:
// every one waits in a concurrency group and is never cancelled once
// started, so that its restore on failure runs; all promotions share one
// group, so that they run one at a time; and no rollback shares a group
// with a job that starts on its own. GitHub keeps one waiting run per
// group, and a newer one cancels it: an automatic promotion would
// otherwise drop a rollback waiting behind a running promotion.
func queueFindings(wfs []*workflowFile, m *module, a *actionFile) []finding {
	var out []finding
	var jobs []queuedJob
	for _, wf := range wfs {
		automatic := slices.ContainsFunc(sortedKeys(wf.triggers()), func(event string) bool { return event != "workflow_dispatch" })
		for _, id := range wf.jobIDs() {
			job := wf.Jobs[id]
			where := wf.at(job.line) + ": job " + id
			moves, err := jobTagMoves(job, m, a)
			if err != nil {
				out = append(out, finding{where, err.Error()})
				continue
			}
			if !moves.published {
				continue
			}
			q := queuedJob{where: where, functions: moves.functions, automatic: automatic}
			for _, level := range []struct {
				what string
				node yaml.Node
			}{{"workflow", wf.Concurrency}, {"job", job.Concurrency}} {
				if level.node.Kind == 0 {
					continue
				}
				c, err := parseConcurrency(level.node)
				if err != nil {
					out = append(out, finding{where, fmt.Sprintf("%s concurrency: %v", level.what, err)})
					continue
				}
				if c.CancelInProgress == nil || *c.CancelInProgress {
					out = append(out, finding{where, fmt.Sprintf("moves tags: %s concurrency needs cancel-in-progress: false", level.what)})
				}
				if strings.Contains(c.Group, "${{") {
					out = append(out, finding{where, fmt.Sprintf("%s concurrency group %q is an expression: the queues of tag moves must be plain names, to be told apart", level.what, c.Group)})
				}
				q.groups = append(q.groups, strings.ToLower(c.Group))
			}
			if len(q.groups) == 0 {
				out = append(out, finding{where, "moves tags without a concurrency group"})
			}
			jobs = append(jobs, q)
		}
	}
	promotionGroups := map[string][]string{}
	for _, j := range jobs {
		if slices.Contains(j.functions, "promote") && len(j.groups) > 0 {
			promotionGroups[j.groups[len(j.groups)-1]] = append(promotionGroups[j.groups[len(j.groups)-1]], j.where)
		}
	}
	if len(promotionGroups) > 1 {
		out = append(out, finding{"examples", fmt.Sprintf("promotions wait in %d concurrency groups, want one, so that they run one at a time: %v", len(promotionGroups), promotionGroups)})
	}
	for _, r := range jobs {
		if !slices.Contains(r.functions, "rollback") {
			continue
		}
		for _, other := range jobs {
			if other.where == r.where || !other.automatic {
				continue
			}
			for _, g := range r.groups {
				if slices.Contains(other.groups, g) {
					out = append(out, finding{r.where, fmt.Sprintf("rolls back in concurrency group %q, which %s shares and starts on its own: GitHub cancels a waiting run when a newer one queues, so it could drop this rollback", g, other.where)})
				}
			}
		}
	}
	return out
}

// TestTagMovingJobs checks that only jobs that move published tags may
// write packages, that one started by hand runs only on main, and their
// queues (see queueFindings): promotions one at a time, never cancelled
// half-way, and no rollback that an automatic run could cancel.
func TestTagMovingJobs(t *testing.T) {
	m := loadTestModule(t)
	a := loadTestAction(t)
	for _, fn := range tagMovingFunctions {
		if _, ok := m.objects[m.main].functions[fn]; !ok {
			t.Fatalf("the module has no function %q", fn)
		}
	}
	wfs := loadWorkflows(t)
	functions := map[string]int{}
	for _, wf := range wfs {
		_, manual := wf.triggers()["workflow_dispatch"]
		for _, id := range wf.jobIDs() {
			job := wf.Jobs[id]
			where := filepath.Base(wf.path) + " job " + id
			moves, err := jobTagMoves(job, m, a)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}

			scopes, err := permissionScopes(job.Permissions)
			if err != nil {
				t.Errorf("%s: %v", where, err)
			}
			for scope, level := range scopes {
				switch {
				case scope == "packages" && level == "write":
					if !moves.published {
						t.Errorf("%s: packages: write, but it moves no published tag", where)
					}
				case level != "read" && level != "none":
					t.Errorf("%s: %s: %s, want read or none", where, scope, level)
				}
			}
			if !moves.published {
				continue
			}
			for _, fn := range moves.functions {
				functions[fn]++
			}
			if scopes["packages"] != "write" {
				t.Errorf("%s moves tags without packages: write", where)
			}
			if manual && !strings.Contains(job.If, "github.ref == 'refs/heads/main'") {
				t.Errorf("%s moves tags and can be started by hand, but its if: does not hold it to github.ref == 'refs/heads/main'", where)
			}
		}
	}
	if functions["promote"] < 2 || functions["rollback"] < 1 {
		t.Errorf("jobs that move tags run %v, want promote twice (auto-promote, promote-latest) and rollback once (rollback-latest)", functions)
	}
	for _, f := range queueFindings(wfs, m, a) {
		t.Error(f)
	}
}

// TestQueueFindingsCatches proves that the queue check fails on the
// arrangements it is there for.
func TestQueueFindingsCatches(t *testing.T) {
	m := loadTestModule(t)
	a := loadTestAction(t)
	const job = "jobs:\n  a:\n    runs-on: ubuntu-24.04\n    timeout-minutes: 5\n    permissions:\n      packages: write\n%s    steps:\n" +
		"      - uses: molecule-ai/promote@44694675825211faa026b3c33043df3e48a5fa00 # main\n        with:\n          command: %s\n"
	queue := func(group string, cancel bool) string {
		return fmt.Sprintf("    concurrency:\n      group: %s\n      cancel-in-progress: %t\n", group, cancel)
	}
	auto := func(group string) string {
		return "on:\n  workflow_run:\n    workflows: [E2E]\n    types: [completed]\n" + fmt.Sprintf(job, queue(group, false), "promote")
	}
	manual := func(command, concurrency string) string {
		return "on: workflow_dispatch\n" + fmt.Sprintf(job, concurrency, command)
	}
	tests := []struct {
		name      string
		workflows []string
		want      string // in a finding; empty for none
	}{
		{"rollback apart", []string{auto("promote-images"), manual("promote", queue("promote-images", false)), manual("rollback", queue("promote-images-rollback", false))}, ""},
		{"rollback behind automatic promotions", []string{auto("promote-images"), manual("rollback", queue("promote-images", false))}, "could drop this rollback"},
		{"the same group in other letters", []string{auto("Promote-Images"), manual("rollback", queue("promote-images", false))}, "could drop this rollback"},
		{"a group made by an expression", []string{auto("promote-images"), manual("rollback", queue("${{ github.workflow }}", false))}, "is an expression"},
		{"promotions apart", []string{auto("promote-images"), manual("promote", queue("promote-by-hand", false))}, "want one"},
		{"cancelled half-way", []string{manual("rollback", queue("promote-images-rollback", true))}, "cancel-in-progress: false"},
		{"no queue", []string{manual("rollback", "")}, "without a concurrency group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var wfs []*workflowFile
			for i, w := range tt.workflows {
				wf, err := parseWorkflow(fmt.Sprintf("w%d.yml", i), []byte(w))
				if err != nil {
					t.Fatal(err)
				}
				wfs = append(wfs, wf)
			}
			assertFinding(t, queueFindings(wfs, m, a), tt.want)
		})
	}
}

// TestExamples checks what the example workflows promise an image
// repository: the action pinned to one commit of this repository in all of
// them, and promotions that never move :latest backwards unless asked to,
// with every commit checked out for that check, and no tree (a treeless
// clone: forward-only reads commits only).
func TestExamples(t *testing.T) {
	a := loadTestAction(t)
	pins := map[string][]string{}
	for _, wf := range loadWorkflows(t, "examples") {
		dispatchInputs := map[string]struct {
			Default string `yaml:"default"`
		}{}
		if on := wf.triggers()["workflow_dispatch"]; on != nil {
			var d struct {
				Inputs map[string]struct {
					Default string `yaml:"default"`
				} `yaml:"inputs"`
			}
			if err := on.Decode(&d); err != nil {
				t.Fatalf("%s: reading workflow_dispatch: %v", wf.path, err)
			}
			for k, v := range d.Inputs {
				dispatchInputs[k] = v
			}
		}
		for _, id := range wf.jobIDs() {
			fullHistory := false
			for _, step := range wf.Jobs[id].Steps {
				if strings.HasPrefix(step.Uses.Value, "actions/checkout@") && step.With["fetch-depth"].Value == "0" {
					fullHistory = true
					if step.With["filter"].Value != "tree:0" {
						t.Errorf("%s: checks out the full history with its trees: add filter: tree:0, since forward-only reads commits only", wf.at(step.Uses.Line))
					}
				}
				if !usesAction(step) {
					continue
				}
				if !strings.HasPrefix(step.Uses.Value, selfAction+"@") {
					t.Errorf("%s: uses %s, want %s@<commit sha>", wf.at(step.Uses.Line), step.Uses.Value, selfAction)
				}
				pins[step.Uses.Value] = append(pins[step.Uses.Value], wf.at(step.Uses.Line))
				if actionCommand(step, a) != "promote" {
					if _, ok := step.With["forward-only"]; ok {
						t.Errorf("%s: forward-only on %s", wf.at(step.Uses.Line), actionCommand(step, a))
					}
					continue
				}
				switch fo := step.With["forward-only"].Value; {
				case fo == "true":
				case inputExpression.MatchString(fo) || strings.Contains(fo, "inputs.forward-only"):
					if dispatchInputs["forward-only"].Default != "true" {
						t.Errorf("%s: forward-only comes from an input that does not default to true", wf.at(step.Uses.Line))
					}
				default:
					t.Errorf("%s: promotes without forward-only: true", wf.at(step.Uses.Line))
				}
				if !fullHistory {
					t.Errorf("%s: promotes forward-only without checking out the full history first (actions/checkout with fetch-depth: 0)", wf.at(step.Uses.Line))
				}
			}
		}
	}
	if len(pins) != 1 {
		t.Errorf("the examples pin the action %d ways, want one commit for all: %v", len(pins), pins)
	}
}

// TestEndToEndJob checks that CI runs the module against a real registry:
// a registry:2 service pinned by digest, crane at a pinned version, the
// README's with-registry-service line as written, and the action by ./.
func TestEndToEndJob(t *testing.T) {
	m := loadTestModule(t)
	readmeLine := readmeServiceCall(t, m)
	var ci *workflowFile
	for _, wf := range loadWorkflows(t, filepath.Join(".github", "workflows")) {
		if filepath.Base(wf.path) == "ci.yml" {
			ci = wf
		}
	}
	if ci == nil {
		t.Fatal("no ci.yml")
	}
	for _, id := range ci.jobIDs() {
		job := ci.Jobs[id]
		registry := false
		for _, svc := range job.Services {
			if strings.HasPrefix(svc.Image, "registry:2@sha256:") && len(svc.Image) == len("registry:2@sha256:")+64 && slices.Contains(svc.Ports, "5000:5000") {
				registry = true
			}
		}
		if !registry {
			continue
		}
		var scripts strings.Builder
		action := false
		for _, step := range job.Steps {
			scripts.WriteString(step.Run.Value + "\n")
			action = action || step.Uses.Value == "./"
		}
		calls, err := findDaggerCalls(scripts.String())
		if err != nil {
			t.Fatal(err)
		}
		readme := 0
		for _, c := range calls {
			if slices.Equal(withoutSHA(c.args), readmeLine) {
				readme++
			}
		}
		if readme < 2 {
			t.Errorf("job %s runs the README's line `dagger call %s` %d times, want twice (a second promote after moving a tag back)", id, strings.Join(readmeLine, " "), readme)
		}
		if !action {
			t.Errorf("job %s does not run the action as uses: ./", id)
		}
		for _, want := range []string{"go install github.com/google/go-containerregistry/cmd/crane@v0.22.1", "crane copy "} {
			if !strings.Contains(scripts.String(), want) {
				t.Errorf("job %s does not run %q", id, want)
			}
		}
		return
	}
	t.Error("ci.yml has no job with a registry:2 service pinned by digest on port 5000")
}

// readmeServiceCall returns the words of the README's dagger call that
// promotes through with-registry-service, with its sha left out.
func readmeServiceCall(t *testing.T, m *module) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range markdownCommands(string(data)) {
		calls, err := findDaggerCalls(l.text)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range calls {
			chain, err := m.checkCall(c.args)
			if err == nil && slices.Contains(chain, "with-registry-service") && slices.Contains(chain, "promote") {
				return withoutSHA(c.args)
			}
		}
	}
	t.Fatal("the README has no dagger call that promotes through with-registry-service")
	return nil
}

// markdownDocs returns the paths, from the repository root, of the README
// and of every page of docs/.
func markdownDocs(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{"README.md"}
	for _, p := range pages {
		rel, err := filepath.Rel(repoRoot, p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, filepath.ToSlash(rel))
	}
	return docs
}

// withoutSHA returns args with the value of --sha replaced by SHA.
func withoutSHA(args []string) []string {
	out := slices.Clone(args)
	for i := range out {
		if out[i] == "--sha" && i+1 < len(out) {
			out[i+1] = "SHA"
		}
	}
	return out
}

// TestDaggerInstalledOnlyWhereUsed checks that a job installs the Dagger
// CLI only if it runs dagger.
func TestDaggerInstalledOnlyWhereUsed(t *testing.T) {
	for _, wf := range loadWorkflows(t) {
		for _, id := range wf.jobIDs() {
			installs, runs := false, false
			for _, step := range wf.Jobs[id].Steps {
				installs = installs || strings.HasPrefix(step.Uses.Value, "dagger/dagger-for-github@")
				words, _, err := shellwords.Split(step.Run.Value)
				if err != nil {
					t.Fatalf("%s: %v", wf.path, err)
				}
				runs = runs || slices.ContainsFunc(words, func(w shellwords.Word) bool { return !w.Op && w.Text == "dagger" })
			}
			if installs && !runs {
				t.Errorf("%s job %s installs the Dagger CLI but runs no dagger command", filepath.Base(wf.path), id)
			}
		}
	}
}

// TestDaggerVersion checks that every workflow, and the action, installs
// the engine version dagger.json asks for.
func TestDaggerVersion(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "dagger.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		EngineVersion string `json:"engineVersion"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("parsing dagger.json: %v", err)
	}
	want := strings.TrimPrefix(cfg.EngineVersion, "v")
	check := func(where string, uses yaml.Node, with map[string]yaml.Node) {
		if !strings.HasPrefix(uses.Value, "dagger/dagger-for-github@") {
			return
		}
		if got := strings.TrimPrefix(with["version"].Value, "v"); got != want {
			t.Errorf("%s: dagger-for-github installs version %q, want %q as in dagger.json", where, got, want)
		}
	}
	installs := 0
	for _, wf := range loadWorkflows(t) {
		for _, id := range wf.jobIDs() {
			for _, step := range wf.Jobs[id].Steps {
				check(wf.at(step.Uses.Line), step.Uses, step.With)
			}
		}
	}
	a := loadTestAction(t)
	for _, step := range a.Runs.Steps {
		if strings.HasPrefix(step.Uses.Value, "dagger/dagger-for-github@") {
			installs++
		}
		check(a.at(step.Uses.Line), step.Uses, step.With)
	}
	if installs != 1 {
		t.Errorf("action.yml installs the Dagger CLI %d times, want once", installs)
	}
}

// TestReadmeDaggerCalls checks the dagger call lines of the code blocks of
// the README and of docs/ as the workflows' are checked.
func TestReadmeDaggerCalls(t *testing.T) {
	m := loadTestModule(t)
	checked := 0
	for _, doc := range markdownDocs(t) {
		data, err := os.ReadFile(filepath.Join(repoRoot, doc))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range markdownCommands(string(data)) {
			calls, err := findDaggerCalls(l.text)
			if err != nil {
				t.Errorf("%s:%d: %v", doc, l.line, err)
				continue
			}
			for _, c := range calls {
				checked++
				if _, err := m.checkCall(c.args); err != nil {
					t.Errorf("%s:%d: %s: %v", doc, l.line, c.text, err)
				}
			}
		}
	}
	if checked == 0 {
		t.Skip("no dagger call in the README or docs/")
	}
}

func TestMarkdownCommands(t *testing.T) {
	doc := "Run:\n\n```sh\n$ dagger call status summary\ndagger -m . call \\\n  verify --sha abc1234 \\\n  json\ngo test ./...\n```\n\ndagger call outside a block\n"
	got := markdownCommands(doc)
	want := []numberedLine{
		{4, "dagger call status summary"},
		{5, "dagger -m . call \\\n  verify --sha abc1234 \\\n  json"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestCheckerCatches proves that the checks fail on the mistakes they are
// there for.
func TestCheckerCatches(t *testing.T) {
	m := loadTestModule(t)
	const header = "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n"
	const fine = "    timeout-minutes: 5\n    permissions:\n      contents: read\n    steps:\n" +
		"      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0\n"
	run := func(script string) string {
		return header + fine + "      - run: |\n          " + strings.ReplaceAll(script, "\n", "\n          ") + "\n"
	}
	tests := []struct {
		name     string
		workflow string
		want     string // in a finding; empty for none
	}{
		{"correct", run("dagger call \\\n  promote --sha \"$SHA\" --dry-run \\\n  summary"), ""},
		{"misspelled flag", run("dagger call promote --sha \"$SHA\" --dryrun summary"), `unknown flag --dryrun for function "promote"`},
		{"flag in camel case", run("dagger call promote --sha \"$SHA\" --noBackup summary"), "unknown flag --noBackup"},
		{"flag of another function", run("dagger call status --sha \"$SHA\" summary"), `unknown flag --sha for function "status"`},
		{"misspelled function", run("dagger call promot --sha \"$SHA\" summary"), `unknown function "promot" on Promote`},
		{"misspelled chained name", run("dagger call \\\n  status \\\n  sumary"), `unknown function "sumary" on Report`},
		{"misspelled constructor flag", run("dagger call --image a,b status summary"), "unknown flag --image for the constructor"},
		{"constructor flag after a function", run("dagger call status --images a summary"), `unknown flag --images for function "status"`},
		{"provenance on rollback", run("dagger call with-signature-policy --identity i --issuer u rollback --require-provenance summary"), `unknown flag --require-provenance for function "rollback"`},
		{"policy without an issuer", run("dagger call with-signature-policy --identity i verify --sha \"$SHA\" summary"), `function "with-signature-policy" needs --issuer`},
		{"flag without value", run("dagger call promote --sha"), `flag --sha of function "promote" needs a value`},
		{"required flag missing", run("dagger call verify summary"), `function "verify" needs --sha`},
		{"chain after a scalar", run("dagger call status summary json"), `cannot call "json" after function "summary"`},
		{"chain ends on an object", run("dagger call promote --sha \"$SHA\""), "prints only its ID"},
		{"private field", run("dagger call auth-addresses"), `unknown function "auth-addresses" on Promote`},
		{"private field of the report", run("dagger call status markdown-text"), `unknown function "markdown-text" on Report`},
		{"call in a command substitution", run("out=\"$(dagger call statuss summary)\""), `unknown function "statuss"`},
		{"expression in run", run("echo \"${{ github.sha }}\""), "${{ expression"},
		{"action on a tag", header + fine + "      - uses: actions/setup-go@v6\n", "not pinned to a full commit sha"},
		{"action on a short sha", header + fine + "      - uses: actions/setup-go@4469467 # v6.0.0\n", "not pinned to a full commit sha"},
		{"pinned action without version", header + fine + "      - uses: actions/setup-go@44694675825211faa026b3c33043df3e48a5fa00\n", "no version comment"},
		{"own action without a comment", header + fine + "      - uses: molecule-ai/promote@44694675825211faa026b3c33043df3e48a5fa00\n", "no comment naming the branch"},
		{"own action on a branch", header + fine + "      - uses: molecule-ai/promote@main # main\n", "not pinned to a full commit sha"},
		{"job without timeout", header + "    permissions: {}\n    steps:\n      - run: true\n", "job a has no timeout-minutes"},
		{"job without permissions", header + "    timeout-minutes: 5\n    steps:\n      - run: true\n", "job a has no permissions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wf, err := parseWorkflow("test.yml", []byte(tt.workflow))
			if err != nil {
				t.Fatal(err)
			}
			assertFinding(t, lintWorkflow(wf, m), tt.want)
		})
	}
}

// TestActionCheckerCatches proves that the action's checks fail on the
// mistakes they are there for.
func TestActionCheckerCatches(t *testing.T) {
	m := loadTestModule(t)
	const script = "#!/bin/bash\nchain=()\nif [[ -n \"$PROMOTE_TOKEN\" ]]; then chain+=(with-registry-auth --address ghcr.io --username u --secret env://PROMOTE_TOKEN); fi\n" +
		"dagger -m \"$mod\" call \"${chain[@]}\" %s summary\n"
	const action = "name: t\ndescription: d\ninputs:\n  token:\n    description: a token\n%sruns:\n  using: composite\n  steps:\n" +
		"    - uses: dagger/dagger-for-github@27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77 # v8.4.1\n      with:\n        version: \"0.21.8\"\n" +
		"    - shell: bash\n      env:\n        PROMOTE_TOKEN: ${{ inputs.token }}\n%s      run: %s\n"
	const goodRun = `'"$GITHUB_ACTION_PATH/.github/scripts/run.sh"'`
	tests := []struct {
		name, inputs, env, run, call string
		want                         string // in a finding; empty for none
	}{
		{"correct", "", "", goodRun, "status --timeout 5m", ""},
		{"inline script", "", "", `echo "${{ inputs.token }}"`, "status", "does not call one script"},
		{"input never passed", "  sha:\n    description: a sha\n", "", goodRun, "status", "input sha reaches no step's env:"},
		{"env read by no script", "", "        PROMOTE_UNUSED: x\n", goodRun, "status", "env PROMOTE_UNUSED is read by none"},
		{"undeclared input", "", "        PROMOTE_SHA: ${{ inputs.sha }}\n", goodRun, "status", "inputs.sha, which the action does not declare"},
		{"bad call in an array branch", "", "", goodRun, "promote --sha \"$S\" --forwardonly", "unknown flag --forwardonly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, ".github", "scripts"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, ".github", "scripts", "run.sh"), []byte(fmt.Sprintf(script, tt.call)), 0o644); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "action.yml")
			if err := os.WriteFile(path, []byte(fmt.Sprintf(action, tt.inputs, tt.env, tt.run)), 0o644); err != nil {
				t.Fatal(err)
			}
			a, err := readAction(path)
			if err != nil {
				t.Fatal(err)
			}
			assertFinding(t, lintAction(a, m), tt.want)
		})
	}
}

func TestActionUsesCatches(t *testing.T) {
	a := loadTestAction(t)
	const wf = "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: ./\n        with:\n%s"
	tests := []struct{ with, want string }{
		{"          command: status\n", ""},
		{"          comand: status\n", "with: comand is not an input"},
		{"          command: deploy\n", `command "deploy" is not`},
	}
	for _, tt := range tests {
		t.Run(tt.with, func(t *testing.T) {
			w, err := parseWorkflow("test.yml", []byte(fmt.Sprintf(wf, tt.with)))
			if err != nil {
				t.Fatal(err)
			}
			assertFinding(t, lintActionUses(w, a), tt.want)
		})
	}
}

// assertFinding fails unless one of findings contains want, or, with want
// empty, unless there are none.
func assertFinding(t *testing.T, findings []finding, want string) {
	t.Helper()
	if want == "" {
		for _, f := range findings {
			t.Errorf("unexpected finding: %s", f)
		}
		return
	}
	if !slices.ContainsFunc(findings, func(f finding) bool { return strings.Contains(f.msg, want) }) {
		t.Errorf("no finding contains %q; got %v", want, findings)
	}
}

// signatureInputs are the action's inputs for the signature policy, and
// signerVariable the repository variable that turns it on in the examples.
var signatureInputs = []string{"certificate-identity", "certificate-identity-regexp", "certificate-oidc-issuer", "require-provenance"}

const signerVariable = "vars.PROMOTE_SIGNER_IDENTITY"

// TestExamplesSignaturePolicy checks that the examples require signatures
// only when the repository variable names a signer, so that they run
// unsigned by default; that promotions then require provenance too, and a
// rollback to the backups nothing; and that the section on it in docs/ci.md
// shows the same with: lines as the examples, no more and no fewer.
func TestExamplesSignaturePolicy(t *testing.T) {
	a := loadTestAction(t)
	inExamples := map[string]bool{}
	for _, wf := range loadWorkflows(t, "examples") {
		for _, id := range wf.jobIDs() {
			for _, step := range wf.Jobs[id].Steps {
				if !usesAction(step) {
					continue
				}
				where := wf.at(step.Uses.Line)
				for _, key := range signatureInputs {
					if v, ok := step.With[key]; ok {
						inExamples[key+": "+v.Value] = true
					}
				}
				identity := step.With["certificate-identity"].Value
				if !strings.Contains(identity, signerVariable) {
					t.Errorf("%s: certificate-identity is %q, want it from %s", where, identity, signerVariable)
				}
				provenance, hasProvenance := step.With["require-provenance"]
				switch actionCommand(step, a) {
				case "promote", "verify":
					if want := "${{ " + signerVariable + " != '' }}"; provenance.Value != want {
						t.Errorf("%s: require-provenance is %q, want %q", where, provenance.Value, want)
					}
				case "rollback":
					if hasProvenance {
						t.Errorf("%s: require-provenance on a rollback", where)
					}
					if !strings.Contains(identity, "inputs.sha") {
						t.Errorf("%s: certificate-identity does not depend on inputs.sha: a rollback to the backups would check them", where)
					}
				}
			}
		}
	}
	inReadme := readmeSignatureInputs(t)
	for _, line := range sortedKeys(inExamples) {
		if !inReadme[line] {
			t.Errorf("the examples pass %q, which the section %q of %s does not show", line, readmeSignatureSection, readmeSignaturePage)
		}
	}
	for _, line := range sortedKeys(inReadme) {
		if !inExamples[line] {
			t.Errorf("the section %q of %s shows %q, which no example passes", readmeSignatureSection, readmeSignaturePage, line)
		}
	}
}

// readmeSignatureSection is the section of readmeSignaturePage on turning
// signatures on in the examples.
const readmeSignatureSection = "Requiring signatures in the promotion workflows"

// readmeSignaturePage is the page of docs/ that holds readmeSignatureSection.
const readmeSignaturePage = "docs/ci.md"

// nextHeading matches the heading of the section that follows.
var nextHeading = regexp.MustCompile(`\n#{1,3} `)

// readmeSignatureInputs returns the "key: value" lines of the YAML blocks
// of the docs' readmeSignatureSection whose key is a signature input.
func readmeSignatureInputs(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(readmeSignaturePage)))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## "+readmeSignatureSection+"\n")
	if !ok {
		t.Fatalf("%s has no section %q", readmeSignaturePage, readmeSignatureSection)
	}
	if end := nextHeading.FindStringIndex(section); end != nil {
		section = section[:end[0]]
	}
	out := map[string]bool{}
	for i, block := range strings.Split(section, "```yaml\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		var values map[string]yaml.Node
		if err := yaml.Unmarshal([]byte(dedent(block)), &values); err != nil {
			t.Fatalf("%s, section %q, YAML block %d: %v", readmeSignaturePage, readmeSignatureSection, i+1, err)
		}
		for _, key := range signatureInputs {
			if v, ok := values[key]; ok {
				out[key+": "+v.Value] = true
			}
		}
	}
	if len(out) == 0 {
		t.Errorf("%s, section %q, shows none of the inputs %v", readmeSignaturePage, readmeSignatureSection, signatureInputs)
	}
	return out
}

// dedent removes from every line of text the indentation of its first.
func dedent(text string) string {
	indent := text[:len(text)-len(strings.TrimLeft(text, " "))]
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, indent)
	}
	return strings.Join(lines, "\n")
}
