package tests

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = ".."

// tagMovingFunctions are the module functions that move tags in a registry.
var tagMovingFunctions = []string{"promote", "rollback"}

// wantWorkflows are the workflows this repository must have.
var wantWorkflows = []string{"auto-promote-on-e2e.yml", "ci.yml", "promote-latest.yml", "rollback-latest.yml"}

func loadTestModule(t *testing.T) *module {
	t.Helper()
	m, err := loadModule(repoRoot)
	if err != nil {
		t.Fatalf("reading the module: %v", err)
	}
	return m
}

func loadWorkflows(t *testing.T) []*workflowFile {
	t.Helper()
	paths, err := workflowFiles(filepath.Join(repoRoot, ".github", "workflows"))
	if err != nil {
		t.Fatal(err)
	}
	var wfs []*workflowFile
	for _, p := range paths {
		wf, err := readWorkflow(p)
		if err != nil {
			t.Fatal(err)
		}
		wfs = append(wfs, wf)
	}
	return wfs
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
	wfs := loadWorkflows(t)
	var names []string
	for _, wf := range wfs {
		names = append(names, filepath.Base(wf.path))
		t.Run(filepath.Base(wf.path), func(t *testing.T) {
			for _, f := range lintWorkflow(wf, m) {
				t.Error(f)
			}
		})
	}
	for _, want := range wantWorkflows {
		if !slices.Contains(names, want) {
			t.Errorf("no workflow .github/workflows/%s", want)
		}
	}
}

// TestTagMovingJobs checks that only jobs that move tags may write
// packages, and that every such job waits for the others: one shared
// concurrency group, never cancelled half-way.
func TestTagMovingJobs(t *testing.T) {
	m := loadTestModule(t)
	for _, fn := range tagMovingFunctions {
		if _, ok := m.objects[m.main].functions[fn]; !ok {
			t.Fatalf("the module has no function %q", fn)
		}
	}
	groups := map[string][]string{}
	for _, wf := range loadWorkflows(t) {
		for _, id := range wf.jobIDs() {
			job := wf.Jobs[id]
			where := filepath.Base(wf.path) + " job " + id
			chains, err := jobDaggerCalls(job, m)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			moves := slices.ContainsFunc(chains, func(chain []string) bool {
				return slices.ContainsFunc(chain, func(fn string) bool { return slices.Contains(tagMovingFunctions, fn) })
			})

			scopes, err := permissionScopes(job.Permissions)
			if err != nil {
				t.Errorf("%s: %v", where, err)
			}
			for scope, level := range scopes {
				switch {
				case scope == "packages" && level == "write":
					if !moves {
						t.Errorf("%s: packages: write, but it moves no tag", where)
					}
				case level != "read" && level != "none":
					t.Errorf("%s: %s: %s, want read or none", where, scope, level)
				}
			}
			if !moves {
				continue
			}
			if scopes["packages"] != "write" {
				t.Errorf("%s moves tags without packages: write", where)
			}
			c, err := jobConcurrency(job)
			if err != nil {
				t.Errorf("%s moves tags: %v", where, err)
				continue
			}
			if c.CancelInProgress == nil || *c.CancelInProgress {
				t.Errorf("%s moves tags: concurrency needs cancel-in-progress: false", where)
			}
			groups[c.Group] = append(groups[c.Group], where)
		}
	}
	if len(groups) != 1 {
		t.Errorf("jobs that move tags use %d concurrency groups, want one: %v", len(groups), groups)
	}
	for _, jobs := range groups {
		if len(jobs) < 3 {
			t.Errorf("%d jobs move tags (%v), want auto-promote, promote-latest and rollback-latest", len(jobs), jobs)
		}
	}
}

// TestDaggerVersion checks that every workflow installs the engine version
// dagger.json asks for.
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
	for _, wf := range loadWorkflows(t) {
		for _, id := range wf.jobIDs() {
			for _, step := range wf.Jobs[id].Steps {
				if !strings.HasPrefix(step.Uses.Value, "dagger/dagger-for-github@") {
					continue
				}
				if got := strings.TrimPrefix(step.With["version"].Value, "v"); got != want {
					t.Errorf("%s: dagger-for-github installs version %q, want %q as in dagger.json", wf.at(step.Uses.Line), got, want)
				}
			}
		}
	}
}

// TestReadmeDaggerCalls checks the dagger call lines of the README's code
// blocks as the workflows' are checked.
func TestReadmeDaggerCalls(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no README.md")
	}
	if err != nil {
		t.Fatal(err)
	}
	m := loadTestModule(t)
	for _, l := range markdownCommands(string(data)) {
		calls, err := findDaggerCalls(l.text)
		if err != nil {
			t.Errorf("README.md:%d: %v", l.line, err)
			continue
		}
		for _, c := range calls {
			if _, err := m.checkCall(c.args); err != nil {
				t.Errorf("README.md:%d: %s: %v", l.line, c.text, err)
			}
		}
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
		{"job without timeout", header + "    permissions: {}\n    steps:\n      - run: true\n", "job a has no timeout-minutes"},
		{"job without permissions", header + "    timeout-minutes: 5\n    steps:\n      - run: true\n", "job a has no permissions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wf, err := parseWorkflow("test.yml", []byte(tt.workflow))
			if err != nil {
				t.Fatal(err)
			}
			findings := lintWorkflow(wf, m)
			if tt.want == "" {
				for _, f := range findings {
					t.Errorf("unexpected finding: %s", f)
				}
				return
			}
			for _, f := range findings {
				if strings.Contains(f.msg, tt.want) {
					return
				}
			}
			t.Errorf("no finding contains %q; got %v", tt.want, findings)
		})
	}
}
