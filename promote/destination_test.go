package promote

import (
	"errors"
	"strings"
	"testing"
)

func TestDestinations(t *testing.T) {
	repos := []string{"ghcr.io/acme/staging/api", "ghcr.io/acme/staging/tools/cli", "ghcr.io/acme/web"}
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"none", Config{}, repos},
		{"one explicit", Config{Destinations: []Mapping{{repos[0], "registry.example.com/prod/api"}}},
			[]string{"registry.example.com/prod/api", repos[1], repos[2]}},
		{"a prefix, whole components only", Config{DestinationPrefixes: []Mapping{{"ghcr.io/acme/staging", "registry.example.com/prod"}}},
			[]string{"registry.example.com/prod/api", "registry.example.com/prod/tools/cli", repos[2]}},
		{"the longest prefix wins, an explicit destination over both", Config{
			DestinationPrefixes: []Mapping{{"ghcr.io", "mirror.example.com"}, {"ghcr.io/acme/staging", "registry.example.com/prod"}},
			Destinations:        []Mapping{{repos[1], "registry.example.com/cli"}},
		}, []string{"registry.example.com/prod/api", "registry.example.com/cli", "mirror.example.com/acme/web"}},
		{"a destination equal to its source copies nothing", Config{Destinations: []Mapping{{repos[2], repos[2]}}}, repos},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Repositories = repos
			p, err := New(tc.cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			for i, want := range tc.want {
				if got := p.plan.dests[i].Name(); got != want {
					t.Errorf("destination of %s = %s, want %s", repos[i], got, want)
				}
				if p.copied(i) != (want != repos[i]) {
					t.Errorf("copied(%d) = %t", i, p.copied(i))
				}
			}
		})
	}
}

func TestDestinationsRejected(t *testing.T) {
	repos := []string{"ghcr.io/acme/staging/api", "ghcr.io/acme/staging/web"}
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"destination with a tag", Config{Destinations: []Mapping{{repos[0], "registry.example.com/prod/api:latest"}}},
			[]string{`destination "ghcr.io/acme/staging/api=registry.example.com/prod/api:latest"`, "destination expected"}},
		{"destination without a registry", Config{Destinations: []Mapping{{repos[0], "prod/api"}}},
			[]string{"destination must start with a registry host"}},
		{"destination for an image not promoted", Config{Destinations: []Mapping{{"ghcr.io/acme/staging/other", "ghcr.io/acme/other"}}},
			[]string{"ghcr.io/acme/staging/other is not one of the repositories promoted"}},
		{"two sources to one destination", Config{Destinations: []Mapping{{repos[0], "ghcr.io/acme/prod"}, {repos[1], "ghcr.io/acme/prod"}}},
			[]string{"two images would be promoted to one destination", "ghcr.io/acme/staging/api", "ghcr.io/acme/staging/web"}},
		{"a destination that is another image's repository", Config{Destinations: []Mapping{{repos[0], repos[1]}}},
			[]string{"two images would be promoted to one destination"}},
		{"a source given twice", Config{Destinations: []Mapping{{repos[0], "ghcr.io/acme/prod/api"}, {repos[0], "ghcr.io/acme/prod/other"}}},
			[]string{`invalid destination "ghcr.io/acme/staging/api=ghcr.io/acme/prod/other": ghcr.io/acme/staging/api is given more than once`}},
		{"a source given twice, in another spelling", Config{Repositories: []string{"docker.io/x"}, Destinations: []Mapping{{"docker.io/x", "ghcr.io/acme/x"}, {"docker.io/library/x", "ghcr.io/acme/x"}}},
			[]string{"docker.io/library/x is given more than once"}},
		{"a prefix given twice", Config{DestinationPrefixes: []Mapping{{"ghcr.io/acme/staging", "ghcr.io/acme/prod"}, {"ghcr.io/acme/staging", "ghcr.io/acme/other"}}},
			[]string{`invalid destination prefix "ghcr.io/acme/staging=ghcr.io/acme/other": ghcr.io/acme/staging is given more than once`}},
		{"a prefix that matches nothing", Config{DestinationPrefixes: []Mapping{{"ghcr.io/acme/stag", "ghcr.io/acme/prod"}}},
			[]string{"matches none of the repositories"}},
		{"a prefix with a trailing slash", Config{DestinationPrefixes: []Mapping{{"ghcr.io/acme/staging/", "ghcr.io/acme/prod"}}},
			[]string{`destination prefix "ghcr.io/acme/staging/=ghcr.io/acme/prod"`}},
		{"a destination prefix that is no host", Config{DestinationPrefixes: []Mapping{{"ghcr.io/acme/staging", "prod"}}},
			[]string{"expected a registry host"}},
		{"a prefix mapping both images to one", Config{DestinationPrefixes: []Mapping{{"ghcr.io/acme/staging/api", "ghcr.io/x"}, {"ghcr.io/acme/staging/web", "ghcr.io/x"}}},
			[]string{"two images would be promoted to one destination"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.Repositories == nil {
				tc.cfg.Repositories = repos
			}
			_, err := New(tc.cfg)
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("New err = %v, want ErrInvalidInput", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
