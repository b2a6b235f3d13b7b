package tests

import (
	"bufio"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/molecule-ai/promote/internal/shellwords"
)

// daggerCall is one `dagger call` command found in a script.
type daggerCall struct {
	// text is the command as written, continuation lines joined.
	text string
	// args are the words after `call`, up to the end of the command.
	args []string
}

// globalFlags are the dagger CLI's own flags, which a `dagger call` command
// line may carry beside the module's, and whether each takes a value.
var globalFlags = map[string]bool{
	"-m": true, "--mod": true, "-M": false, "--no-mod": false, "--allow-llm": true,
	"-o": true, "--output": true, "-j": false, "--json": false,
	"-v": false, "--verbose": false, "-q": false, "--quiet": false,
	"-s": false, "--silent": false, "-d": false, "--debug": false,
	"--progress": true, "--workdir": true, "--lock": true,
	"-i": false, "--interactive": false, "--interactive-command": true,
	"-w": false, "--web": false, "-E": false, "--no-exit": false,
	"-y": false, "--auto-apply": false, "--x-release": true,
	"--dot-output": true, "--dot-focus-field": true, "--dot-show-internal": false,
	"--cloud": false, "--scale-out": false, "-h": false, "--help": false,
}

// findDaggerCalls returns every `dagger call` command in a shell script,
// including those inside command substitutions. Other dagger commands, such
// as `dagger version`, are left out. A call that passes a bash array,
// "${name[@]}", is returned once for each word list the script may put in
// that array (see shellArrays).
func findDaggerCalls(script string) ([]daggerCall, error) {
	words, subs, err := shellwords.Split(script)
	if err != nil {
		return nil, err
	}
	arrays := shellArrays(words)
	var calls []daggerCall
	for i, w := range words {
		if w.Op || path.Base(w.Text) != "dagger" {
			continue
		}
		if c, ok := daggerCallAt(words[i:]); ok {
			calls = append(calls, withArraysExpanded(c, arrays)...)
		}
	}
	for _, sub := range subs {
		inner, err := findDaggerCalls(sub)
		if err != nil {
			return nil, err
		}
		calls = append(calls, inner...)
	}
	return calls, nil
}

// daggerCallAt reads the command that starts with the word dagger at
// words[0], and reports whether it is a `dagger call`.
func daggerCallAt(words []shellwords.Word) (daggerCall, bool) {
	end := slices.IndexFunc(words, func(w shellwords.Word) bool { return w.Op })
	if end < 0 {
		end = len(words)
	}
	cmd := make([]string, end)
	for i, w := range words[:end] {
		cmd[i] = w.Text
	}
	call := daggerCall{text: strings.Join(cmd, " ")}
	for i := 1; i < len(cmd); i++ {
		arg := cmd[i]
		if arg == "call" {
			call.args = cmd[i+1:]
			return call, true
		}
		n, ok := globalFlagWidth(cmd[i:])
		if !ok {
			return daggerCall{}, false
		}
		i += n - 1
	}
	return daggerCall{}, false
}

// globalFlagWidth reports whether args[0] is one of dagger's global flags,
// or a cluster of short ones such as -vvv, and how many words it takes with
// its value.
func globalFlagWidth(args []string) (int, bool) {
	arg := args[0]
	if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
		return 0, false
	}
	if name, _, hasValue := strings.Cut(arg, "="); hasValue {
		_, ok := globalFlags[name]
		return 1, ok
	}
	if takesValue, ok := globalFlags[arg]; ok {
		if takesValue {
			return 2, len(args) > 1
		}
		return 1, true
	}
	if strings.HasPrefix(arg, "--") {
		return 0, false
	}
	// A cluster of short flags: only the last may take a value, which is
	// then the rest of the word or the next one.
	for i, c := range arg[1:] {
		takesValue, ok := globalFlags["-"+string(c)]
		if !ok {
			return 0, false
		}
		if takesValue {
			if i+2 < len(arg) {
				return 1, true
			}
			return 2, len(args) > 1
		}
	}
	return 1, true
}

// checkCall returns the functions that args, the words after `dagger call`,
// chain, or the first way they do not fit m (see parseCall).
func (m *module) checkCall(args []string) ([]string, error) {
	calls, err := m.parseCall(args)
	if err != nil {
		return nil, err
	}
	chain := make([]string, len(calls))
	for i, c := range calls {
		chain[i] = c.name
	}
	return chain, nil
}

// calledFunction is one function of a dagger call, and the module flags
// given to it, without dashes.
type calledFunction struct {
	name  string
	flags []string
}

// parseCall returns the functions that args, the words after `dagger
// call`, chain, each with its flags, or the first way they do not fit m:
// an unknown function or flag, a flag without its value, a required flag
// left out, a function chained after a scalar, or a chain that ends on an
// object, which prints only its ID.
func (m *module) parseCall(args []string) (chain []calledFunction, err error) {
	fn, obj := m.constructor, m.objects[m.main]
	fnDesc := "the constructor"
	given := map[string]bool{}
	help := slices.Contains(args, "--help") || slices.Contains(args, "-h")

	missing := func() error {
		if help {
			return nil
		}
		for _, name := range sortedKeys(fn.flags) {
			if fn.flags[name].required && !given[name] {
				return fmt.Errorf("%s needs --%s", fnDesc, name)
			}
		}
		return nil
	}

	for i := 0; i < len(args); i++ {
		arg := args[i]
		if strings.HasPrefix(arg, "--") && len(arg) > 2 {
			name, _, hasValue := strings.Cut(arg[2:], "=")
			if fl, ok := fn.flags[name]; ok {
				given[name] = true
				if len(chain) > 0 {
					chain[len(chain)-1].flags = append(chain[len(chain)-1].flags, name)
				}
				if !fl.isBool && !hasValue {
					if i+1 == len(args) {
						return nil, fmt.Errorf("flag --%s of %s needs a value", name, fnDesc)
					}
					i++
				}
				continue
			}
		}
		if strings.HasPrefix(arg, "-") && len(arg) > 1 {
			n, ok := globalFlagWidth(args[i:])
			if !ok {
				return nil, fmt.Errorf("unknown flag %s for %s (its flags: %s)", arg, fnDesc, flagList(fn))
			}
			i += n - 1
			continue
		}

		if err := missing(); err != nil {
			return nil, err
		}
		if fn.returnsCore {
			// The rest is chained on the Dagger API, not on this module.
			return chain, nil
		}
		if obj == nil {
			return nil, fmt.Errorf("cannot call %q after %s, which returns no object", arg, fnDesc)
		}
		next, ok := obj.functions[arg]
		if !ok {
			return nil, fmt.Errorf("unknown function %q on %s (its functions: %s)", arg, obj.name, strings.Join(sortedKeys(obj.functions), ", "))
		}
		fn, obj, fnDesc = next, m.objects[next.returns], fmt.Sprintf("function %q", arg)
		given = map[string]bool{}
		chain = append(chain, calledFunction{name: arg})
	}

	if err := missing(); err != nil {
		return nil, err
	}
	switch {
	case help:
		return chain, nil
	case len(chain) == 0:
		return nil, fmt.Errorf("names no function")
	case obj != nil:
		return nil, fmt.Errorf("ends on %s, which returns a %s and prints only its ID; chain a field or function such as %s",
			fnDesc, obj.name, strings.Join(sortedKeys(obj.functions), ", "))
	}
	return chain, nil
}

// flagList lists the flags of fn for a message.
func flagList(fn *function) string {
	if len(fn.flags) == 0 {
		return "none"
	}
	names := sortedKeys(fn.flags)
	for i, n := range names {
		names[i] = "--" + n
	}
	return strings.Join(names, ", ")
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// markdownCommands returns the commands in the fenced code blocks of a
// Markdown document whose first word is dagger (after an optional "$ "
// prompt), continuation lines joined, each with its line number.
func markdownCommands(doc string) []numberedLine {
	var (
		out     []numberedLine
		fence   string
		pending *numberedLine
	)
	sc := bufio.NewScanner(strings.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if fence == "" {
			if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
				fence = trimmed[:3]
			}
			continue
		}
		if pending != nil {
			pending.text += "\n" + line
			if !strings.HasSuffix(line, `\`) {
				out, pending = append(out, *pending), nil
			}
			continue
		}
		if strings.HasPrefix(trimmed, fence) {
			fence = ""
			continue
		}
		cmd := strings.TrimPrefix(trimmed, "$ ")
		if cmd != "dagger" && !strings.HasPrefix(cmd, "dagger ") {
			continue
		}
		l := numberedLine{line: n, text: cmd}
		if strings.HasSuffix(cmd, `\`) {
			pending = &l
			continue
		}
		out = append(out, l)
	}
	if pending != nil {
		out = append(out, *pending)
	}
	return out
}

// numberedLine is a line of a file and its line number.
type numberedLine struct {
	line int
	text string
}
