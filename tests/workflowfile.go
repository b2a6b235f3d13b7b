package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// workflowFile is the part of a GitHub Actions workflow these checks read.
type workflowFile struct {
	path        string
	Name        string                  `yaml:"name"`
	On          yaml.Node               `yaml:"on"`
	Concurrency yaml.Node               `yaml:"concurrency"`
	Jobs        map[string]*workflowJob `yaml:"jobs"`
}

// workflowJob is one job of a workflow.
type workflowJob struct {
	If             string                     `yaml:"if"`
	Permissions    yaml.Node                  `yaml:"permissions"`
	TimeoutMinutes yaml.Node                  `yaml:"timeout-minutes"`
	Concurrency    yaml.Node                  `yaml:"concurrency"`
	Uses           yaml.Node                  `yaml:"uses"`
	Services       map[string]workflowService `yaml:"services"`
	Steps          []workflowStep             `yaml:"steps"`
	line           int
}

// workflowService is a service container of a job.
type workflowService struct {
	Image string   `yaml:"image"`
	Ports []string `yaml:"ports"`
}

// UnmarshalYAML reads a job and keeps the line it starts on.
func (j *workflowJob) UnmarshalYAML(n *yaml.Node) error {
	type plain workflowJob
	if err := n.Decode((*plain)(j)); err != nil {
		return err
	}
	j.line = n.Line
	return nil
}

// workflowStep is one step of a job.
type workflowStep struct {
	ID   string               `yaml:"id"`
	Name string               `yaml:"name"`
	Uses yaml.Node            `yaml:"uses"`
	Run  yaml.Node            `yaml:"run"`
	With map[string]yaml.Node `yaml:"with"`
}

// concurrency is a job's concurrency setting in its long form.
type concurrency struct {
	Group            string `yaml:"group"`
	CancelInProgress *bool  `yaml:"cancel-in-progress"`
}

// finding is one rule a file breaks, and where.
type finding struct {
	pos string
	msg string
}

func (f finding) String() string { return f.pos + ": " + f.msg }

// workflowFiles returns the paths of the workflows in dir, sorted.
func workflowFiles(dir string) ([]string, error) {
	var paths []string
	for _, pattern := range []string{"*.yml", "*.yaml"} {
		matches, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		paths = append(paths, matches...)
	}
	slices.Sort(paths)
	return paths, nil
}

// readWorkflow reads and parses the workflow at path.
func readWorkflow(path string) (*workflowFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseWorkflow(path, data)
}

// parseWorkflow parses a workflow; path names it in findings.
func parseWorkflow(path string, data []byte) (*workflowFile, error) {
	wf := &workflowFile{path: path}
	if err := yaml.Unmarshal(data, wf); err != nil {
		return nil, fmt.Errorf("parsing workflow %s: %w", path, err)
	}
	if len(wf.Jobs) == 0 {
		return nil, fmt.Errorf("workflow %s has no jobs", path)
	}
	return wf, nil
}

// at names a line of the workflow.
func (wf *workflowFile) at(line int) string {
	return fmt.Sprintf("%s:%d", wf.path, line)
}

// jobIDs returns the workflow's job ids, sorted.
func (wf *workflowFile) jobIDs() []string {
	return sortedKeys(wf.Jobs)
}

// triggers returns the events the workflow runs on, and the settings of
// each where it has some, such as the inputs of workflow_dispatch.
func (wf *workflowFile) triggers() map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	switch wf.On.Kind {
	case yaml.ScalarNode:
		out[wf.On.Value] = nil
	case yaml.SequenceNode:
		for _, n := range wf.On.Content {
			out[n.Value] = nil
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(wf.On.Content); i += 2 {
			out[wf.On.Content[i].Value] = wf.On.Content[i+1]
		}
	}
	return out
}

var (
	// pinnedAction matches an action reference pinned to a full commit sha.
	pinnedAction = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@]+)?@[0-9a-f]{40}$`)
	// versionComment matches a comment naming a release, such as "# v5.0.0".
	versionComment = regexp.MustCompile(`^#\s*v[0-9]+(\.[0-9]+)*\s*$`)
	// refComment matches a comment naming a branch or a release, such as
	// "# main": this repository's action has no releases yet.
	refComment = regexp.MustCompile(`^#\s*[A-Za-z0-9][A-Za-z0-9._/-]*\s*$`)
)

// selfAction is the name under which other repositories use this
// repository's action, action.yml.
const selfAction = "molecule-ai/promote"

// lintWorkflow checks one workflow against the rules every workflow of this
// repository follows: no expression in a run script, every action pinned
// to a commit sha with its version in a comment, every job with
// timeout-minutes and permissions, and every dagger call fitting m.
func lintWorkflow(wf *workflowFile, m *module) []finding {
	var out []finding
	for _, id := range wf.jobIDs() {
		job := wf.Jobs[id]
		if job.TimeoutMinutes.Kind == 0 {
			out = append(out, finding{wf.at(job.line), fmt.Sprintf("job %s has no timeout-minutes", id)})
		}
		if job.Permissions.Kind == 0 {
			out = append(out, finding{wf.at(job.line), fmt.Sprintf("job %s has no permissions", id)})
		}
		if job.Uses.Value != "" {
			out = append(out, checkUses(wf.at, &job.Uses)...)
		}
		for _, step := range job.Steps {
			if step.Uses.Value != "" {
				out = append(out, checkUses(wf.at, &step.Uses)...)
			}
			if step.Run.Value == "" {
				continue
			}
			if strings.Contains(step.Run.Value, "${{") {
				out = append(out, finding{wf.at(step.Run.Line), "run script has a ${{ expression; pass the value through env: instead"})
			}
			calls, err := findDaggerCalls(step.Run.Value)
			if err != nil {
				out = append(out, finding{wf.at(step.Run.Line), fmt.Sprintf("reading the run script: %v", err)})
				continue
			}
			for _, c := range calls {
				if _, err := m.checkCall(c.args); err != nil {
					out = append(out, finding{wf.at(step.Run.Line), fmt.Sprintf("%s: %v", c.text, err)})
				}
			}
		}
	}
	return out
}

// checkUses checks that an action reference is pinned to a full commit sha
// and names its version in a comment (for this repository's own action, a
// branch will do); at names a line of the file.
func checkUses(at func(line int) string, uses *yaml.Node) []finding {
	ref := uses.Value
	switch {
	case strings.HasPrefix(ref, "./"):
		return nil
	case strings.HasPrefix(ref, "docker://"):
		if !strings.Contains(ref, "@sha256:") {
			return []finding{{at(uses.Line), fmt.Sprintf("%s is not pinned to a digest", ref)}}
		}
		return nil
	case !pinnedAction.MatchString(ref):
		return []finding{{at(uses.Line), fmt.Sprintf("%s is not pinned to a full commit sha", ref)}}
	case strings.HasPrefix(ref, selfAction+"@"):
		if !refComment.MatchString(uses.LineComment) {
			return []finding{{at(uses.Line), fmt.Sprintf("%s has no comment naming the branch or release, such as # main", ref)}}
		}
	case !versionComment.MatchString(uses.LineComment):
		return []finding{{at(uses.Line), fmt.Sprintf("%s has no version comment such as # v1.2.3", ref)}}
	}
	return nil
}

// jobDaggerCalls returns the dagger calls in a job's run scripts, and the
// functions each chains.
func jobDaggerCalls(job *workflowJob, m *module) ([][]string, error) {
	var chains [][]string
	for _, step := range job.Steps {
		calls, err := findDaggerCalls(step.Run.Value)
		if err != nil {
			return nil, err
		}
		for _, c := range calls {
			chain, err := m.checkCall(c.args)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.text, err)
			}
			chains = append(chains, chain)
		}
	}
	return chains, nil
}

// permissionScopes returns a job's permissions as scope: level, or an error
// if they are not written as a mapping.
func permissionScopes(perms yaml.Node) (map[string]string, error) {
	if perms.Kind == 0 {
		return nil, fmt.Errorf("no permissions")
	}
	if perms.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("permissions %q are not a list of scopes", perms.Value)
	}
	scopes := map[string]string{}
	if err := perms.Decode(&scopes); err != nil {
		return nil, fmt.Errorf("reading permissions: %w", err)
	}
	return scopes, nil
}

// parseConcurrency reads a concurrency setting, short or long.
func parseConcurrency(n yaml.Node) (concurrency, error) {
	var c concurrency
	switch {
	case n.Kind == 0:
		return c, fmt.Errorf("no concurrency")
	case n.Kind == yaml.ScalarNode:
		c.Group = n.Value
	default:
		if err := n.Decode(&c); err != nil {
			return c, fmt.Errorf("reading concurrency: %w", err)
		}
	}
	return c, nil
}
