package tests

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"gopkg.in/yaml.v3"
)

// pinExamplesScript moves the examples' pins; the errors of checkPin name it.
const pinExamplesScript = "scripts/pin-examples.sh"

// actionPin is a step of a workflow that uses this repository's action at
// a commit, and the with: keys it passes.
type actionPin struct {
	where string
	sha   string
	with  []string
}

// actionPins returns the steps of wf that use this repository's action by
// name, at a commit or not.
func actionPins(wf *workflowFile) []actionPin {
	var pins []actionPin
	for _, id := range wf.jobIDs() {
		for _, step := range wf.Jobs[id].Steps {
			ref, ok := strings.CutPrefix(step.Uses.Value, selfAction+"@")
			if !ok {
				continue
			}
			pins = append(pins, actionPin{where: wf.at(step.Uses.Line), sha: ref, with: sortedKeys(step.With)})
		}
	}
	return pins
}

// gitRepo runs git in a checkout.
type gitRepo struct{ dir string }

// git runs git with args and returns its output, trimmed; an error holds
// what git printed on stderr.
func (g gitRepo) git(args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", g.dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// isCheckout reports whether the folder is inside a git work tree. An
// error means git itself could not run.
func (g gitRepo) isCheckout() (bool, error) {
	out, err := g.git("rev-parse", "--is-inside-work-tree")
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return false, nil
	}
	return out == "true", err
}

// checkPin returns why the commit a step pins cannot serve it: the commit
// is not in the history of the checkout's HEAD, or its action.yml does
// not declare every with: key the step passes, or gives one of them
// another default than HEAD's action.yml does. The runner would only warn
// about an undeclared key, and drop it: a signature policy would silently
// be off.
func checkPin(g gitRepo, pin actionPin) error {
	if !pinnedAction.MatchString(selfAction + "@" + pin.sha) {
		return fmt.Errorf("%s@%s is not pinned to a full commit sha; pin it with %s", selfAction, pin.sha, pinExamplesScript)
	}
	_, missing := g.git("cat-file", "-e", pin.sha+"^{commit}")
	inHistory := missing == nil
	if inHistory {
		_, err := g.git("merge-base", "--is-ancestor", pin.sha, "HEAD")
		inHistory = err == nil
	}
	if !inHistory {
		msg := fmt.Sprintf("%s@%s: no such commit in the history of this checkout's HEAD", selfAction, pin.sha)
		if shallow, _ := g.git("rev-parse", "--is-shallow-repository"); shallow == "true" {
			return fmt.Errorf("%s, whose history is shallow: fetch all of it (git fetch --unshallow; in GitHub Actions, actions/checkout with fetch-depth: 0), or move the pins with %s", msg, pinExamplesScript)
		}
		return fmt.Errorf("%s: pin a commit of main, with %s", msg, pinExamplesScript)
	}
	data, err := g.git("show", pin.sha+":action.yml")
	if err != nil {
		return fmt.Errorf("%s@%s has no action.yml: pin a later commit, with %s", selfAction, pin.sha, pinExamplesScript)
	}
	pinned, err := actionInputs(data)
	if err != nil {
		return fmt.Errorf("reading action.yml at %s: %w", pin.sha, err)
	}
	data, err = g.git("show", "HEAD:action.yml")
	if err != nil {
		return fmt.Errorf("reading the action.yml of HEAD: %w", err)
	}
	current, err := actionInputs(data)
	if err != nil {
		return fmt.Errorf("reading the action.yml of HEAD: %w", err)
	}
	var undeclared, redefined []string
	for _, key := range pin.with {
		in, ok := pinned[key]
		switch {
		case !ok:
			undeclared = append(undeclared, key)
		case in.Default != current[key].Default:
			redefined = append(redefined, fmt.Sprintf("%s (%q there, %q now)", key, in.Default, current[key].Default))
		}
	}
	if len(undeclared) > 0 {
		return fmt.Errorf("action.yml at %s does not declare %s, which the step passes: the runner would only warn and drop it; pin a commit whose action has every input, with %s",
			pin.sha[:12], strings.Join(undeclared, ", "), pinExamplesScript)
	}
	if len(redefined) > 0 {
		// A default can be the word for "left out", as "(none)" is for the
		// signature inputs: a value the example passes means something
		// else to an action with another default.
		return fmt.Errorf("action.yml at %s has another default for %s, which the step passes: the value may mean something else there; pin a later commit, with %s",
			pin.sha[:12], strings.Join(redefined, ", "), pinExamplesScript)
	}
	return nil
}

// actionInputs reads the inputs an action.yml declares.
func actionInputs(data string) (map[string]actionInput, error) {
	var action actionFile
	if err := yaml.Unmarshal([]byte(data), &action); err != nil {
		return nil, err
	}
	return action.Inputs, nil
}
