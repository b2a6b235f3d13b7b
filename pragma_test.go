package main

import (
	"os"
	"strings"
)

// readPragmas returns the file's text with every line trimmed, so that
// pragmas can be matched regardless of indentation.
func readPragmas(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n"), nil
}
