package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/molecule-ai/promote/promote"
)

func TestParseMapping(t *testing.T) {
	cases := []struct {
		in, src, dst string
		ok           bool
	}{
		{"ghcr.io/a/staging/api=registry.example.com/prod/api", "ghcr.io/a/staging/api", "registry.example.com/prod/api", true},
		{"ghcr.io/a=ghcr.io/b", "ghcr.io/a", "ghcr.io/b", true},
		{"ghcr.io/a/api", "", "", false},
		{"=ghcr.io/b/api", "", "", false},
		{"ghcr.io/a/api=", "", "", false},
		{"ghcr.io/a=b=c", "", "", false},
	}
	for _, tc := range cases {
		src, dst, err := parseMapping(tc.in)
		if tc.ok != (err == nil) || src != tc.src || dst != tc.dst {
			t.Errorf("parseMapping(%q) = %q, %q, %v", tc.in, src, dst, err)
		}
		if err != nil && (!errors.Is(err, promote.ErrInvalidInput) || !strings.Contains(err.Error(), tc.in)) {
			t.Errorf("parseMapping(%q) error %v does not name the mapping", tc.in, err)
		}
	}
}
