package tests

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// linkedDocs returns the Markdown files whose links must resolve, those
// that exist: README.md, docs/*.md, bench/README.md and the READMEs of
// examples/.
func linkedDocs(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(repoRoot, "README.md")}
	for _, pattern := range []string{"docs/*.md", "bench/README.md", "examples/README.md", "examples/*/README.md"} {
		matches, err := filepath.Glob(filepath.Join(repoRoot, filepath.FromSlash(pattern)))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matches...)
	}
	return slices.DeleteFunc(files, func(f string) bool {
		_, err := os.Stat(f)
		return err != nil
	})
}

// TestMarkdownLinks checks that every relative link of the docs names a
// file that exists and, with #anchor, a heading of it as GitHub renders
// it.
func TestMarkdownLinks(t *testing.T) {
	for _, file := range linkedDocs(t) {
		broken, err := brokenLinks(file)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel(repoRoot, file)
		for _, b := range broken {
			t.Errorf("%s: %s", name, b)
		}
	}
}

func TestHeadingAnchor(t *testing.T) {
	tests := map[string]string{
		"Quick start": "quick-start",
		"Promotion records: who moved production, and rollbacks that stick": "promotion-records-who-moved-production-and-rollbacks-that-stick",
		"Across registries (staging to production)":                         "across-registries-staging-to-production",
		"The `--json` report":                  "the---json-report",
		"**Bold** and [a link](https://x.y/z)": "bold-and-a-link",
		"snake_case and 3.0 — em dash":         "snake_case-and-30--em-dash",
		"Ünïcode Überschrift":                  "ünïcode-überschrift",
	}
	for heading, want := range tests {
		if got := headingAnchor(heading); got != want {
			t.Errorf("headingAnchor(%q) = %q, want %q", heading, got, want)
		}
	}
}

func TestBrokenLinksCatches(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/cli.md", "# The CLI\n\n## Flags\n\n## Flags\n\n<a id=\"exit-codes\"></a>\nExit codes.\n")
	write("LICENSE", "license\n")
	tests := []struct {
		name, link string
		// wantErr is a part of the finding, or empty when the link resolves.
		wantErr string
	}{
		{name: "file", link: "[cli](docs/cli.md)"},
		{name: "anchor in a file", link: "[flags](docs/cli.md#flags)"},
		{name: "repeated heading", link: "[flags](docs/cli.md#flags-1)"},
		{name: "explicit anchor", link: "[codes](docs/cli.md#exit-codes)"},
		{name: "anchor in the page", link: "[start](#quick-start)"},
		{name: "not Markdown", link: "[license](LICENSE)"},
		{name: "folder", link: "[docs](docs/)"},
		{name: "web", link: "[crane](https://github.com/google/go-containerregistry#nothing-checked)"},
		{name: "mail", link: "[us](mailto:team@example.com)"},
		{name: "reference", link: "[cli][1]\n\n[1]: docs/cli.md#flags"},
		{name: "in code", link: "`[x](missing.md)`\n\n```md\n[x](missing.md)\n```"},
		{name: "missing file", link: "[cli](docs/command-line.md)", wantErr: "no such file docs/command-line.md"},
		{name: "missing file by reference", link: "[cli][1]\n\n[1]: docs/gone.md", wantErr: "no such file docs/gone.md"},
		{name: "broken anchor in a file", link: "[flags](docs/cli.md#flag)", wantErr: `no heading or <a id> "#flag" in cli.md`},
		{name: "repeated too often", link: "[flags](docs/cli.md#flags-2)", wantErr: `"#flags-2"`},
		{name: "broken anchor in the page", link: "[start](#quickstart)", wantErr: `no heading or <a id> "#quickstart" in README.md`},
		{name: "anchor not lower-cased", link: "[start](#Quick-Start)", wantErr: `"#Quick-Start"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write("README.md", "# promote\n\n## Quick start\n\n"+tt.link+"\n")
			broken, err := brokenLinks(filepath.Join(dir, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.wantErr == "" && len(broken) > 0:
				t.Errorf("brokenLinks = %q, want none", broken)
			case tt.wantErr != "" && (len(broken) != 1 || !strings.Contains(broken[0], tt.wantErr)):
				t.Errorf("brokenLinks = %q, want one finding with %q", broken, tt.wantErr)
			}
		})
	}
}
