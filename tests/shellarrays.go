package tests

import (
	"regexp"
	"slices"
	"strings"

	"github.com/molecule-ai/promote/internal/shellwords"
)

var (
	// arrayAssignment matches the word before "(" in a bash array
	// assignment, name=( or name+=(, and captures the name and the +.
	arrayAssignment = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)(\+?)=$`)
	// arrayExpansion matches a word that is all of a bash array, "${name[@]}"
	// after quote removal, and captures the name.
	arrayExpansion = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\[@\]\}$`)
)

// shellArrays reads the bash array assignments of a script, as split by
// splitShell, and returns for each array the word lists that an expansion
// "${name[@]}" may stand for. Each plain assignment name=(...) starts one
// alternative, and the name+=(...) appends after it extend it, usually
// under a condition; so each alternative is given as written and with all
// of its appends. Checking a command with every one of them checks each
// word the script may pass, next to the words it may follow.
func shellArrays(words []shellwords.Word) map[string][][]string {
	type alternative struct{ base, all []string }
	alts := map[string][]*alternative{}
	for i := 0; i+1 < len(words); i++ {
		m := arrayAssignment.FindStringSubmatch(words[i].Text)
		if words[i].Op || m == nil || !words[i+1].Op || words[i+1].Text != "(" {
			continue
		}
		var values []string
		j := i + 2
		for ; j < len(words) && !(words[j].Op && words[j].Text == ")"); j++ {
			if !words[j].Op {
				values = append(values, words[j].Text)
			}
		}
		name, appends := m[1], m[2] == "+"
		if list := alts[name]; appends && len(list) > 0 {
			last := list[len(list)-1]
			last.all = append(last.all, values...)
		} else {
			alts[name] = append(list, &alternative{base: values, all: slices.Clone(values)})
		}
		i = j
	}
	out := map[string][][]string{}
	for name, list := range alts {
		for _, a := range list {
			out[name] = append(out[name], a.base)
			if len(a.all) > len(a.base) {
				out[name] = append(out[name], a.all)
			}
		}
	}
	return out
}

// expandArrays returns every word list that args stand for when each word
// "${name[@]}" is replaced by one of the lists arrays gives for name. A
// word naming an array the script does not assign is kept as written.
func expandArrays(args []string, arrays map[string][][]string) [][]string {
	variants := [][]string{nil}
	for _, arg := range args {
		m := arrayExpansion.FindStringSubmatch(arg)
		if m == nil || len(arrays[m[1]]) == 0 {
			for i := range variants {
				variants[i] = append(variants[i], arg)
			}
			continue
		}
		var next [][]string
		for _, v := range variants {
			for _, values := range arrays[m[1]] {
				next = append(next, append(slices.Clone(v), values...))
			}
		}
		variants = next
	}
	return variants
}

// withArraysExpanded returns call once for each word list its array
// expansions may stand for.
func withArraysExpanded(call daggerCall, arrays map[string][][]string) []daggerCall {
	if !slices.ContainsFunc(call.args, arrayExpansion.MatchString) {
		return []daggerCall{call}
	}
	var out []daggerCall
	for _, args := range expandArrays(call.args, arrays) {
		out = append(out, daggerCall{text: "dagger call " + strings.Join(args, " "), args: args})
	}
	return out
}
