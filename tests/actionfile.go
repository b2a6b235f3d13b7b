package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// actionFile is the part of the repository's action.yml these checks read.
type actionFile struct {
	path string
	// dir is the folder action.yml is in: the action's own checkout.
	dir     string
	Name    string                 `yaml:"name"`
	Inputs  map[string]actionInput `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

// actionInput is one input of the action.
type actionInput struct {
	Description string `yaml:"description"`
	Default     string `yaml:"default"`
}

// actionStep is one step of a composite action: a workflow step with a
// shell and an environment of its own.
type actionStep struct {
	workflowStep `yaml:",inline"`
	Shell        string            `yaml:"shell"`
	Env          map[string]string `yaml:"env"`
}

var (
	// scriptRun matches the only run: an action step may have: one script
	// of the action's .github/scripts, which ShellCheck lints.
	scriptRun = regexp.MustCompile(`^"\$GITHUB_ACTION_PATH/(\.github/scripts/[A-Za-z0-9_.-]+\.sh)"$`)
	// inputExpression matches an expression that reads an input.
	inputExpression = regexp.MustCompile(`\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}`)
)

// readAction reads and parses the action metadata at path.
func readAction(path string) (*actionFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a := &actionFile{path: path, dir: filepath.Dir(path)}
	if err := yaml.Unmarshal(data, a); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return a, nil
}

// at names a line of action.yml.
func (a *actionFile) at(line int) string {
	return fmt.Sprintf("%s:%d", a.path, line)
}

// scripts returns the scripts the action's run steps call, as paths
// relative to its folder.
func (a *actionFile) scripts() []string {
	var out []string
	for _, step := range a.Runs.Steps {
		if m := scriptRun.FindStringSubmatch(strings.TrimSpace(step.Run.Value)); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// lintAction checks the action against the rules of a composite action of
// this repository: every action it uses pinned; every run step a call of
// one of its scripts in bash, so that ShellCheck lints all of its shell;
// every input passed to the steps through env: only, and each one read by
// a script; every dagger call in its scripts fitting m.
func lintAction(a *actionFile, m *module) []finding {
	var out []finding
	add := func(line int, format string, args ...any) {
		out = append(out, finding{a.at(line), fmt.Sprintf(format, args...)})
	}
	if a.Runs.Using != "composite" {
		add(0, "runs.using is %q, want composite", a.Runs.Using)
	}
	var scriptText strings.Builder
	for _, rel := range a.scripts() {
		data, err := os.ReadFile(filepath.Join(a.dir, rel))
		if err != nil {
			add(0, "reading the script it runs: %v", err)
			continue
		}
		scriptText.Write(data)
		calls, err := findDaggerCalls(string(data))
		if err != nil {
			add(0, "reading %s: %v", rel, err)
			continue
		}
		for _, c := range calls {
			if _, err := m.checkCall(c.args); err != nil {
				add(0, "%s: %s: %v", rel, c.text, err)
			}
		}
	}
	// The scripts it runs read what the others in .github/scripts read too.
	helpers, _ := filepath.Glob(filepath.Join(a.dir, ".github", "scripts", "*.sh"))
	for _, h := range helpers {
		if data, err := os.ReadFile(h); err == nil {
			scriptText.Write(data)
		}
	}

	used := map[string]bool{}
	for _, step := range a.Runs.Steps {
		if step.Uses.Value != "" {
			out = append(out, checkUses(a.at, &step.Uses)...)
		}
		for key, node := range step.With {
			for _, match := range inputExpression.FindAllStringSubmatch(node.Value, -1) {
				add(node.Line, "with: %s passes inputs.%s on; inputs reach the steps through env: only", key, match[1])
			}
		}
		if step.Run.Value == "" {
			continue
		}
		if !scriptRun.MatchString(strings.TrimSpace(step.Run.Value)) {
			add(step.Run.Line, "run: %q does not call one script of .github/scripts as \"$GITHUB_ACTION_PATH/.github/scripts/NAME.sh\"", step.Run.Value)
		}
		if step.Shell != "bash" {
			add(step.Run.Line, "shell is %q, want bash", step.Shell)
		}
		for _, name := range sortedKeys(step.Env) {
			for _, match := range inputExpression.FindAllStringSubmatch(step.Env[name], -1) {
				if _, ok := a.Inputs[match[1]]; !ok {
					add(step.Run.Line, "env %s reads inputs.%s, which the action does not declare", name, match[1])
				}
				used[match[1]] = true
			}
			if !strings.Contains(scriptText.String(), name) {
				add(step.Run.Line, "env %s is read by none of the action's scripts", name)
			}
		}
	}
	for _, name := range sortedKeys(a.Inputs) {
		if !used[name] {
			add(0, "input %s reaches no step's env:", name)
		}
		if a.Inputs[name].Description == "" {
			add(0, "input %s has no description", name)
		}
	}
	return out
}

// lintActionUses checks the steps of wf that use the action, by ./ or by
// name, against a: every with: key is an input, and command names a
// function the action runs.
func lintActionUses(wf *workflowFile, a *actionFile) []finding {
	var out []finding
	for _, id := range wf.jobIDs() {
		for _, step := range wf.Jobs[id].Steps {
			if !usesAction(step) {
				continue
			}
			for _, key := range sortedKeys(step.With) {
				if _, ok := a.Inputs[key]; !ok {
					out = append(out, finding{wf.at(step.With[key].Line), fmt.Sprintf("with: %s is not an input of action.yml (its inputs: %s)", key, strings.Join(sortedKeys(a.Inputs), ", "))})
				}
			}
			if cmd := actionCommand(step, a); !strings.Contains(" verify promote rollback status ", " "+cmd+" ") {
				out = append(out, finding{wf.at(step.Uses.Line), fmt.Sprintf("command %q is not verify, promote, rollback or status", cmd)})
			}
		}
	}
	return out
}

// usesAction reports whether step runs this repository's action.
func usesAction(step workflowStep) bool {
	ref := step.Uses.Value
	return ref == "./" || ref == "." || strings.HasPrefix(ref, selfAction+"@")
}

// actionCommand is the command a step that uses the action runs: its
// command input, or the input's default.
func actionCommand(step workflowStep, a *actionFile) string {
	if c, ok := step.With["command"]; ok {
		return c.Value
	}
	return a.Inputs["command"].Default
}
