package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cliReference is the CLI reference, from this package's directory.
var cliReference = filepath.Join("..", "..", "docs", "cli.md")

// TestReferenceMatchesHelp checks that the CLI reference shows the commands
// as --help lists them, in the same words, and documents every flag of
// every command.
func TestReferenceMatchesHelp(t *testing.T) {
	data, err := os.ReadFile(cliReference)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)

	var help bytes.Buffer
	usage(&help)
	start := strings.Index(help.String(), "Usage:")
	end := strings.Index(help.String(), "\nRun ")
	if start < 0 || end < start {
		t.Fatalf("--help has no Usage: section followed by Run:\n%s", help.String())
	}
	if commands := strings.TrimSpace(help.String()[start:end]); !strings.Contains(doc, commands) {
		t.Errorf("%s does not show the commands as --help lists them:\n%s", cliReference, commands)
	}

	for _, v := range verbs {
		var o options
		newFlagSet(v, &o).VisitAll(func(f *flag.Flag) {
			if !strings.Contains(doc, "`--"+f.Name+"`") && !strings.Contains(doc, "`--"+f.Name+" ") {
				t.Errorf("%s does not document --%s of %s", cliReference, f.Name, v.name)
			}
		})
	}
}
