package safetext

import "testing"

// TestMarkdownCell checks that registry text in a Markdown table cell has its
// markup escaped once: no HTML, no pipe that ends the cell, no newline that
// ends the row, and no backslash or entity escaped a second time.
func TestMarkdownCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ci-bot", "ci-bot"},
		{"a|b", `a\|b`},
		{"<script>x</script>", "&lt;script&gt;x&lt;/script&gt;"},
		{"R&D", "R&amp;D"},
		{"*bold* [link](x)", `\*bold\* \[link\]\(x\)`},
		{"one\ntwo", "one<br>two"},
		{`back\slash`, `back\\slash`},
	}
	for _, tt := range tests {
		if got := MarkdownCell(tt.in); got != tt.want {
			t.Errorf("MarkdownCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
