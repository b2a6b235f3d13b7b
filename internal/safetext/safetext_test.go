package safetext

import "testing"

func TestControls(t *testing.T) {
	if got, want := Controls("a\x1b[2J\tb\nc\r"), `a\x1b[2J`+"\tb\nc"+`\r`; got != want {
		t.Errorf("Controls = %q, want %q", got, want)
	}
}

func TestNoWorkflowCommands(t *testing.T) {
	tests := []struct{ in, want string }{
		{"promote verify: failed\n", "promote verify: failed\n"},
		{"a\n::error::x\n", "a\n| ::error::x\n"},
		{"a\n  \t::warning::x", "a\n|   \t::warning::x"},
		{"a :: b\n", "a :: b\n"},
	}
	for _, tt := range tests {
		if got := NoWorkflowCommands(tt.in); got != tt.want {
			t.Errorf("NoWorkflowCommands(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOutput(t *testing.T) {
	if got, want := Output("a\n::error::\x1b[2Jx\n"), "a\n| ::error::\\x1b[2Jx\n"; got != want {
		t.Errorf("Output = %q, want %q", got, want)
	}
}
