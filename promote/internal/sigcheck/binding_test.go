package sigcheck

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func TestSameRepository(t *testing.T) {
	repo := name.MustParseReference("ghcr.io/molecule-ai/platform:latest").Context()
	tests := []struct {
		named string
		want  bool
	}{
		{"ghcr.io/molecule-ai/platform", true},
		{"ghcr.io/molecule-ai/platform:staging-abc1234", true},
		{"ghcr.io/molecule-ai/platform@sha256:" + strings.Repeat("ab", 32), true},
		// A mirror, or the same registry under another host name.
		{"mirror.example.com:5000/molecule-ai/platform", true},
		{"localhost:5000/molecule-ai/platform", true},
		// Another repository, on the same registry or another.
		{"ghcr.io/molecule-ai/platform-tenant", false},
		{"ghcr.io/molecule-ai/api", false},
		{"ghcr.io/other/platform", false},
		{"ghcr.io/molecule-ai", false},
		{"not a reference\n::error::x", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := SameRepository(tt.named, repo); got != tt.want {
			t.Errorf("SameRepository(%q, %s) = %v, want %v", tt.named, repo, got, tt.want)
		}
	}
	// Docker Hub's short names are the same repository as the long ones.
	if !SameRepository("docker.io/library/ubuntu", name.MustParseReference("ubuntu").Context()) {
		t.Error("docker.io/library/ubuntu is not ubuntu")
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sha256:abcd", "sha256:abcd"},
		{"https://github.com/org/repo/.github/workflows/build.yml@refs/heads/main", "https://github.com/org/repo/.github/workflows/build.yml@refs/heads/main"},
		{"a b", `"a b"`},
		{"x\n::error::y", `"x\n::error::y"`},
		{"::error::y", `"::error::y"`},
		{"<h2>", `"<h2>"`},
		{"", `""`},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
