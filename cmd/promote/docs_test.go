package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/molecule-ai/promote/internal/shellwords"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

// docFiles returns the Markdown files whose promote command lines must run
// as written: README.md, docs/*.md and bench/README.md, those that exist.
func docFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range append([]string{filepath.Join(repoRoot, "README.md")}, append(docs, filepath.Join(repoRoot, "bench", "README.md"))...) {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	return files
}

// TestDocCommandLines checks every promote command line of the docs against
// the CLI's flag sets: the command exists and takes every flag the line
// gives it, so that a renamed flag breaks the build.
func TestDocCommandLines(t *testing.T) {
	total := 0
	for _, file := range docFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel(repoRoot, file)
		lines, err := promoteCommandLines(string(data))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for _, l := range lines {
			total++
			if err := checkPromoteArgs(l.args); err != nil {
				t.Errorf("%s:%d: `%s`: %v", name, l.line, l.text, err)
			}
		}
	}
	t.Logf("%d promote command lines checked", total)
	if total == 0 {
		t.Error("the docs show no promote command line; has the extraction broken?")
	}
}

// docCommand is a promote command found in a Markdown document.
type docCommand struct {
	line int
	// text is the command as written, continuation lines joined.
	text string
	// args are the words after promote, or after go run ./cmd/promote.
	args []string
}

// shellLanguages are the info strings of the fenced code blocks read as
// shell; a block with none is read too, as the synopses are.
var shellLanguages = []string{"", "sh", "bash", "shell", "zsh", "console", "shell-session"}

// inlinePromote matches an inline code span that starts with promote.
var inlinePromote = regexp.MustCompile("`(promote(?: [^`]*)?)`")

// promoteCommandLines returns the promote commands of a Markdown document:
// in its shell code blocks (in a console block, only the lines after a $
// prompt), and in its inline code spans that start with "promote ".
func promoteCommandLines(doc string) ([]docCommand, error) {
	var (
		out     []docCommand
		errs    []error
		fence   string
		lang    string
		pending *docCommand // a command continued on the next line
	)
	flush := func() {
		if pending == nil {
			return
		}
		cmds, err := promoteCommands(pending.text)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", pending.line, err))
		}
		for _, args := range cmds {
			out = append(out, docCommand{line: pending.line, text: pending.text, args: args})
		}
		pending = nil
	}
	sc := bufio.NewScanner(strings.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if fence == "" {
			if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
				fence = trimmed[:3]
				lang = strings.TrimSpace(strings.Trim(trimmed, "`~"))
				lang, _, _ = strings.Cut(lang, " ")
				continue
			}
			for _, m := range inlinePromote.FindAllStringSubmatch(line, -1) {
				cmds, err := promoteCommands(m[1])
				if err != nil {
					errs = append(errs, fmt.Errorf("line %d: %w", n, err))
				}
				for _, args := range cmds {
					if len(args) > 0 && strings.HasPrefix(args[0], "-") && !topLevelFlag(args[0]) {
						// In prose, "promote --flag" names a flag of the
						// promote command.
						args = append([]string{"promote"}, args...)
					}
					out = append(out, docCommand{line: n, text: m[1], args: args})
				}
			}
			continue
		}
		if pending != nil {
			pending.text += "\n" + line
			if !strings.HasSuffix(line, `\`) {
				flush()
			}
			continue
		}
		if strings.HasPrefix(trimmed, fence) {
			flush()
			fence = ""
			continue
		}
		if !slices.Contains(shellLanguages, lang) {
			continue
		}
		cmd, prompted := strings.CutPrefix(trimmed, "$ ")
		if lang == "console" || lang == "shell-session" {
			if !prompted {
				continue
			}
		}
		if lang == "" {
			cmd = withoutDescription(cmd)
		}
		pending = &docCommand{line: n, text: cmd}
		if !strings.HasSuffix(cmd, `\`) {
			flush()
		}
	}
	flush()
	return out, errors.Join(errs...)
}

// description matches the gap before the description column of a synopsis
// line, as in "promote status      show what ...".
var description = regexp.MustCompile(`\S {2,}[^\s\-\[]`)

// withoutDescription returns a line of a synopsis without its description.
func withoutDescription(line string) string {
	if loc := description.FindStringIndex(line); loc != nil {
		return line[:loc[0]+1]
	}
	return line
}

// topLevelFlag reports whether arg is a flag promote takes in place of a
// command.
func topLevelFlag(arg string) bool {
	return slices.Contains([]string{"-h", "-help", "--help", "-version", "--version"}, arg)
}

// promoteCommands returns the arguments of every promote command in a
// shell command line: the words after promote, or after go run
// ./cmd/promote, up to the end of the simple command.
func promoteCommands(line string) ([][]string, error) {
	words, _, err := shellwords.Split(line)
	if err != nil {
		return nil, err
	}
	var (
		out [][]string
		cmd []string
	)
	for i := 0; i <= len(words); i++ {
		if i < len(words) && !words[i].Op {
			cmd = append(cmd, words[i].Text)
			continue
		}
		if args, ok := promoteArgs(cmd); ok {
			out = append(out, args)
		}
		cmd = nil
	}
	return out, nil
}

// assignment matches a variable assignment before a command.
var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// promoteArgs reports whether a simple command runs promote, and returns
// its arguments. Leading variable assignments are skipped.
func promoteArgs(cmd []string) ([]string, bool) {
	for len(cmd) > 0 && assignment.MatchString(cmd[0]) {
		cmd = cmd[1:]
	}
	if len(cmd) == 0 {
		return nil, false
	}
	if path.Base(cmd[0]) == programName {
		return cmd[1:], true
	}
	if cmd[0] == "go" && len(cmd) > 1 && cmd[1] == "run" {
		for i, w := range cmd[2:] {
			if strings.HasPrefix(w, "-") {
				continue
			}
			pkg, _, _ := strings.Cut(w, "@")
			if strings.HasSuffix(pkg, "cmd/"+programName) {
				return cmd[2+i+1:], true
			}
			return nil, false
		}
	}
	return nil, false
}

// checkPromoteArgs checks the arguments of a promote command line against
// the CLI: the command exists, and every flag it is given is one of its
// flags. It reads flags as Go's flag package does, --name or -name, with
// the value after = or in the next word, up to the first argument that is
// not a flag. Brackets that mark a flag optional in a synopsis are
// dropped, and a placeholder such as <command> stands for any command.
func checkPromoteArgs(args []string) error {
	for i, a := range args {
		args[i] = strings.TrimSuffix(strings.TrimPrefix(a, "["), "]")
	}
	if len(args) == 0 {
		return nil
	}
	switch {
	case args[0] == "version" || args[0] == "-version" || args[0] == "--version":
		return nil
	case args[0] == "help" || topLevelFlag(args[0]):
		if len(args) > 1 && !isPlaceholder(args[1]) {
			if _, ok := findVerb(args[1]); !ok {
				return fmt.Errorf("promote help: unknown command %q (commands: %s)", args[1], verbNames())
			}
		}
		return nil
	}
	var sets []*flag.FlagSet
	var o options
	if isPlaceholder(args[0]) {
		for _, v := range verbs {
			sets = append(sets, newFlagSet(v, &o))
		}
	} else {
		v, ok := findVerb(args[0])
		if !ok {
			return fmt.Errorf("unknown command %q (commands: %s)", args[0], verbNames())
		}
		sets = []*flag.FlagSet{newFlagSet(v, &o)}
	}
	lookup := func(name string) *flag.Flag {
		for _, fs := range sets {
			if f := fs.Lookup(name); f != nil {
				return f
			}
		}
		return nil
	}
	for i := 1; i < len(args); i++ {
		arg := args[i]
		if arg == "--" || !strings.HasPrefix(arg, "-") || arg == "-" {
			return nil
		}
		name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
		name, _, hasValue := strings.Cut(name, "=")
		if name == "h" || name == "help" {
			continue
		}
		if name == "" || strings.HasPrefix(name, "-") {
			return fmt.Errorf("bad flag syntax %q", arg)
		}
		f := lookup(name)
		if f == nil {
			return fmt.Errorf("%s takes no flag %s (its flags: %s)", sets[0].Name(), arg, flagNames(sets))
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if !hasValue {
			if i+1 == len(args) {
				return fmt.Errorf("flag %s needs a value", arg)
			}
			i++
		}
	}
	return nil
}

// isPlaceholder reports whether a word stands for a value, as <command>.
func isPlaceholder(w string) bool {
	return strings.HasPrefix(w, "<") && strings.HasSuffix(w, ">")
}

// verbNames lists the commands for a message.
func verbNames() string {
	names := make([]string, len(verbs))
	for i, v := range verbs {
		names[i] = v.name
	}
	return strings.Join(names, ", ")
}

// flagNames lists the flags of sets for a message.
func flagNames(sets []*flag.FlagSet) string {
	var names []string
	for _, fs := range sets {
		fs.VisitAll(func(f *flag.Flag) {
			if !slices.Contains(names, "--"+f.Name) {
				names = append(names, "--"+f.Name)
			}
		})
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func TestCheckPromoteArgs(t *testing.T) {
	tests := []struct {
		line string
		// wantErr is a part of the error, or empty when the line is right.
		wantErr string
	}{
		{line: `promote promote --sha "$SHA" --forward-only --git-dir ../core`},
		{line: `promote promote -sha=3f2c1a9 -dry-run --target-tag=stable`},
		{line: `promote promote --forward-only=false --sha 3f2c1a9`},
		{line: `promote rollback [--sha SHA]`},
		{line: `promote <command> --help`},
		{line: `promote help verify`},
		{line: `promote --version`},
		{line: `promote status --json > status.json`},
		{line: `promote history --limit 5 # the last five`},
		{line: `promote verify --sha 3f2c1a9 extra --not-read-after-an-argument`},
		{line: `promote promote --shaa 3f2c1a9`, wantErr: "takes no flag --shaa"},
		{line: `promote promote --sha 3f2c1a9 --dryrun`, wantErr: "takes no flag --dryrun"},
		{line: `promote promote -dry_run`, wantErr: "takes no flag -dry_run"},
		{line: `promote status --sha 3f2c1a9`, wantErr: "promote status takes no flag --sha"},
		{line: `promote history --certificate-identity me`, wantErr: "takes no flag --certificate-identity"},
		{line: `promote promote --limit 5`, wantErr: "takes no flag --limit"},
		{line: `promote promote ---sha 3f2c1a9`, wantErr: "bad flag syntax"},
		{line: `promote promote --sha`, wantErr: "needs a value"},
		{line: `promote move --sha 3f2c1a9`, wantErr: `unknown command "move"`},
		{line: `promote help move`, wantErr: `unknown command "move"`},
		{line: `promote <command> --no-such-flag`, wantErr: "takes no flag --no-such-flag"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cmds, err := promoteCommands(tt.line)
			if err != nil || len(cmds) != 1 {
				t.Fatalf("promoteCommands = %q, %v; want one command", cmds, err)
			}
			err = checkPromoteArgs(cmds[0])
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("checkPromoteArgs: %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("checkPromoteArgs: %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestPromoteCommandLines(t *testing.T) {
	doc := "# Use\n" +
		"Run `promote status --json`, or `promote --dry-run` in prose, not `crane ls`.\n" +
		"```sh\n" +
		"go run ./cmd/promote demo   # the demo\n" +
		"echo \"$TOKEN\" | PROMOTE_IMAGES=\"a b\" promote promote --sha \"$(git rev-parse HEAD)\" \\\n" +
		"  --password-stdin\n" +
		"dagger call \\\n" +
		"  promote --sha 3f2c1a9 \\\n" +
		"  summary\n" +
		"```\n" +
		"```console\n" +
		"$ promote history --limit 2\n" +
		"promote: output, not a command\n" +
		"```\n" +
		"```\n" +
		"promote status           show it; it's here\n" +
		"```\n" +
		"```go\n" +
		"promote(ctx)\n" +
		"```\n"
	got, err := promoteCommandLines(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []docCommand{
		{line: 2, args: []string{"status", "--json"}},
		{line: 2, args: []string{"promote", "--dry-run"}},
		{line: 4, args: []string{"demo"}},
		{line: 5, args: []string{"promote", "--sha", "$(git rev-parse HEAD)", "--password-stdin"}},
		{line: 12, args: []string{"history", "--limit", "2"}},
		{line: 16, args: []string{"status"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d commands %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i].line != want[i].line || !slices.Equal(got[i].args, want[i].args) {
			t.Errorf("command %d: line %d, args %q; want line %d, args %q", i, got[i].line, got[i].args, want[i].line, want[i].args)
		}
	}
}
