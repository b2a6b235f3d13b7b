// Package safetext makes text that may hold what a registry returned safe
// to print: on a terminal, and in a GitHub Actions log, where a line that
// begins with "::" is read as a workflow command.
package safetext

import (
	"strconv"
	"strings"
	"unicode"
)

// Output applies [Controls] and then [NoWorkflowCommands] to s: what every
// line promote prints of a report or an error goes through.
func Output(s string) string {
	return NoWorkflowCommands(Controls(s))
}

// Controls shows the control characters of s, such as a terminal escape in
// an error body, as Go escapes; newlines and tabs stay.
func Controls(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool {
	return r != '\n' && r != '\t' && unicode.IsControl(r)
}

// NoWorkflowCommands keeps s from passing for a GitHub workflow command,
// which a runner reads from any output line that begins with "::" after
// spaces: such a line gets a "| " in front. promote writes no workflow
// command through it.
func NoWorkflowCommands(s string) string {
	if !strings.Contains(s, "::") {
		return s
	}
	var b strings.Builder
	for line := range strings.Lines(s) {
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), "::") {
			b.WriteString("| ")
		}
		b.WriteString(line)
	}
	return b.String()
}
