package copier

import (
	"fmt"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// tree builds a node named by its label, with children; a label ending in
// "+" is present at the destination.
func tree(label string, children ...*node) *node {
	present := label[len(label)-1] == '+'
	d := v1.Hash{Algorithm: "sha256", Hex: label}
	return &node{m: &remote.Descriptor{Descriptor: v1.Descriptor{Digest: d}}, present: present, children: children}
}

func labels(levels [][]*node) string {
	var out []string
	for _, level := range levels {
		var names []string
		for _, n := range level {
			names = append(names, n.m.Digest.Hex)
		}
		slices.Sort(names)
		out = append(out, fmt.Sprint(names))
	}
	return fmt.Sprint(out)
}

// TestMissingLevels: every manifest the destination lacks is written after
// all it references, and one the destination has is never written.
func TestMissingLevels(t *testing.T) {
	cases := []struct {
		name string
		root *node
		want string
	}{
		{"present root", tree("idx+", tree("a")), "[]"},
		{"image", tree("img"), "[[img]]"},
		{"index of images", tree("idx", tree("a"), tree("b"), tree("c+")), "[[a b] [idx]]"},
		{"uneven depth", tree("top", tree("a"), tree("mid", tree("b"), tree("c"))), "[[a b c] [mid] [top]]"},
		{"present subtree", tree("top", tree("mid+", tree("b")), tree("a")), "[[a] [top]]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := labels(missingLevels(tc.root)); got != tc.want {
				t.Errorf("missingLevels = %s, want %s", got, tc.want)
			}
			if got, want := tc.root.missing(), countLevels(missingLevels(tc.root)); got != want {
				t.Errorf("missing() = %d, levels hold %d", got, want)
			}
		})
	}
}

func countLevels(levels [][]*node) int {
	n := 0
	for _, l := range levels {
		n += len(l)
	}
	return n
}
