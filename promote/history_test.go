package promote_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/molecule-ai/promote/internal/gittest"
	"github.com/molecule-ai/promote/promote"
)

// history opens the git repository at g as promote reads it.
func history(t *testing.T, g *gittest.Repo) promote.History {
	t.Helper()
	h, err := promote.OpenGitHistory(g.Dir)
	if err != nil {
		t.Fatalf("OpenGitHistory: %v", err)
	}
	return h
}

func TestGitHistoryIsAncestor(t *testing.T) {
	// root - a - b ------ merge
	//         \          /
	//          c ------ d
	g := gittest.New(t)
	root := g.Commit()
	a := g.Commit(root)
	b := g.Commit(a)
	c := g.Commit(a)
	d := g.Commit(c)
	merge := g.Commit(b, d)
	grafted := g.Graft(root)
	unknown := strings.Repeat("3", 40)

	cases := []struct {
		name                 string
		ancestor, descendant string
		want                 bool
		wantErr              string
	}{
		{"parent", a, b, true, ""},
		{"child is no ancestor", b, a, false, ""},
		{"a commit descends from itself", b, b, true, ""},
		{"root of everything", root, merge, true, ""},
		{"side branch", b, d, false, ""},
		{"across a side branch", a, d, true, ""},
		{"merged main line", b, merge, true, ""},
		{"merged side branch", d, merge, true, ""},
		{"merge is no ancestor", merge, b, false, ""},
		{"short shas", a[:7], merge[:8], true, ""},
		{"short shas, not an ancestor", d[:9], b[:7], false, ""},
		{"upper case", strings.ToUpper(a), b, true, ""},
		{"unknown ancestor", unknown, b, false, "commit " + unknown + " is not in the git history at " + g.Dir},
		{"unknown descendant", a, unknown, false, "commit " + unknown + " is not in the git history"},
		{"unknown short sha", "3333333", b, false, "commit 3333333 is not in the git history"},
		{"history cut off", a, grafted, false, "is incomplete (commit abababababababababababababababababababab is missing; a shallow clone?)"},
	}
	h := history(t, g)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.IsAncestor(context.Background(), promote.MustParseSHA(tc.ancestor), promote.MustParseSHA(tc.descendant))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("IsAncestor = %v, %v; want %v", got, err, tc.want)
			}
		})
	}

	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := h.IsAncestor(ctx, promote.MustParseSHA(d), promote.MustParseSHA(b)); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestOpenGitHistory(t *testing.T) {
	g := gittest.New(t)
	a := g.Commit()
	b := g.Commit(a)
	sub := filepath.Join(g.Dir, "deploy", "images")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{g.Dir, sub, filepath.Join(g.Dir, ".git")} {
		h, err := promote.OpenGitHistory(dir)
		if err != nil {
			t.Fatalf("OpenGitHistory(%s): %v", dir, err)
		}
		if ok, err := h.IsAncestor(context.Background(), promote.MustParseSHA(a), promote.MustParseSHA(b)); !ok || err != nil {
			t.Errorf("%s: IsAncestor = %v, %v", dir, ok, err)
		}
	}
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "missing")} {
		if _, err := promote.OpenGitHistory(dir); !errors.Is(err, promote.ErrInvalidInput) || !strings.Contains(err.Error(), "cannot open a git repository") {
			t.Errorf("OpenGitHistory(%s): err = %v, want invalid input", dir, err)
		}
	}
}
