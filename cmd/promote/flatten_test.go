package main

import (
	"context"
	"errors"
	"testing"

	"github.com/molecule-ai/promote/promote"
)

// TestFlattenKeepsAnErrorThatSaysMore checks that joined errors print a
// line each, while an error with a heading over its images, whose parts
// errors.As reaches, prints whole.
func TestFlattenKeepsAnErrorThatSaysMore(t *testing.T) {
	p, err := promote.New(promote.Config{Repositories: []string{"127.0.0.1:1/team/api", "127.0.0.1:1/team/web"}}, promote.WithAnonymous())
	if err != nil {
		t.Fatal(err)
	}
	_, verr := p.Verify(context.Background(), promote.MustParseSHA("2222222"))
	if verr == nil {
		t.Fatal("verify of an unreachable registry succeeded")
	}
	a, b := errors.New("a"), errors.New("b")
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"joined", errors.Join(a, b), 2},
		{"joined, nested", errors.Join(a, errors.Join(b, a)), 3},
		{"verification", verr, 1},
		{"verification and another", errors.Join(verr, a), 2},
	} {
		if got := flatten(tc.err); len(got) != tc.want {
			t.Errorf("%s: flatten gives %d errors, want %d: %q", tc.name, len(got), tc.want, got)
		}
	}
}
