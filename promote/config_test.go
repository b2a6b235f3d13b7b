package promote

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestParseSHA(t *testing.T) {
	cases := []struct {
		in, full, short string
		ok              bool
	}{
		{"abcdef0", "abcdef0", "abcdef0", true},
		{"ABCDEF0123", "abcdef0123", "abcdef0", true},
		{strings.Repeat("a", 40), strings.Repeat("a", 40), "aaaaaaa", true},
		{"", "", "", false},
		{"abcdef", "", "", false},
		{strings.Repeat("a", 41), "", "", false},
		{"abcdefg", "", "", false},
		{"abcdef0; rm -rf /", "", "", false},
		{"$(id)abc", "", "", false},
		{"abcdef0\n", "", "", false},
		{" abcdef0", "", "", false},
	}
	for _, tc := range cases {
		sha, err := ParseSHA(tc.in)
		if tc.ok != (err == nil) {
			t.Errorf("ParseSHA(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if !tc.ok {
			if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "sha") {
				t.Errorf("ParseSHA(%q) err = %v", tc.in, err)
			}
			continue
		}
		if sha.String() != tc.full || sha.Short() != tc.short {
			t.Errorf("ParseSHA(%q) = %q/%q, want %q/%q", tc.in, sha, sha.Short(), tc.full, tc.short)
		}
	}
}

func TestParseConfigRejects(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want []string // substrings of the error
	}{
		{"no repositories", Config{}, []string{`invalid repositories "": at least one repository is required`}},
		{"upper-case repository", Config{Repositories: []string{"ghcr.io/Molecule/app"}}, []string{`repository "ghcr.io/Molecule/app"`}},
		{"no registry", Config{Repositories: []string{"molecule/app"}}, []string{"must start with a registry host"}},
		{"tag in repository", Config{Repositories: []string{"ghcr.io/a/b:latest"}}, []string{`"ghcr.io/a/b:latest"`}},
		{"digest in repository", Config{Repositories: []string{"ghcr.io/a/b@sha256:00"}}, []string{"without a tag or digest"}},
		{"empty repository", Config{Repositories: []string{""}}, []string{"must not be empty"}},
		{"shell in repository", Config{Repositories: []string{"ghcr.io/a/$(id)"}}, []string{`"ghcr.io/a/$(id)"`}},
		{"duplicate repository", Config{Repositories: []string{"ghcr.io/a/b", "ghcr.io/a/b"}}, []string{"listed more than once"}},
		{"duplicate in another spelling", Config{Repositories: []string{"docker.io/x", "docker.io/library/x"}}, []string{`"docker.io/library/x": listed more than once`}},
		{"empty path component", Config{Repositories: []string{"ghcr.io/team//api"}}, []string{"empty path component"}},
		{"trailing slash", Config{Repositories: []string{"ghcr.io/team/api/"}}, []string{"empty path component"}},
		{"registry parse error kept", Config{Repositories: []string{"ghcr.io/a/b!"}}, []string{"repository can only contain the characters"}},
		{"unknown placeholder", Config{SourceTag: "staging-{commit}"}, []string{"unknown placeholder {commit}"}},
		{"unbalanced brace", Config{SourceTag: "staging-{sha"}, []string{"unbalanced"}},
		{"bad source tag", Config{SourceTag: "-{sha}"}, []string{"does not render to a valid tag"}},
		{"bad target tag", Config{TargetTags: []string{"la test"}}, []string{`target tag "la test"`}},
		{"target is backup of another", Config{TargetTags: []string{"latest", "latest-previous"}}, []string{"backup tag of another"}},
		{"target is the source", Config{SourceTag: "stable", TargetTags: []string{"stable"}}, []string{"source tag itself"}},
		{"long target tag", Config{TargetTags: []string{strings.Repeat("a", 125)}}, []string{"too long"}},
		{"bad platform", Config{Platforms: []string{"amd64"}}, []string{`platform "amd64"`}},
		{"everything at once", Config{Repositories: []string{"x"}, SourceTag: "{x}", TargetTags: []string{"?"}},
			[]string{`repository "x"`, "{x}", `target tag "?"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
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

func TestRepositoryNamesAreCanonical(t *testing.T) {
	cases := map[string]string{
		"docker.io/library/x":    "index.docker.io/library/x",
		"docker.io/x":            "index.docker.io/library/x",
		"ghcr.io/molecule-ai/x":  "ghcr.io/molecule-ai/x",
		"localhost:5000/team/x":  "localhost:5000/team/x",
		"index.docker.io/team/x": "index.docker.io/team/x",
	}
	for in, want := range cases {
		p, err := New(Config{Repositories: []string{in}})
		if err != nil {
			t.Errorf("New(%q): %v", in, err)
			continue
		}
		if got := p.Repositories()[0]; got != want {
			t.Errorf("New(%q) repository = %q, want %q", in, got, want)
		}
	}
}

func TestParseConfigDefaults(t *testing.T) {
	p, err := New(Config{Repositories: []string{"ghcr.io/acme/api"}})
	if err != nil {
		t.Fatal(err)
	}
	sha, _ := ParseSHA("ABCDEF0123456789abcdef0123456789abcdef01")
	if got := p.SourceTag(sha); got != "staging-abcdef0" {
		t.Errorf("source tag = %s", got)
	}
	full, _ := New(Config{Repositories: []string{"ghcr.io/acme/api"}, SourceTag: "build-{fullsha}"})
	if got := full.SourceTag(sha); got != "build-abcdef0123456789abcdef0123456789abcdef01" {
		t.Errorf("fullsha tag = %s", got)
	}
	if got := p.TargetTags(); len(got) != 1 || got[0] != "latest" {
		t.Errorf("targets = %v", got)
	}
	if _, err := New(Config{Repositories: []string{"localhost:5000/app", "registry.internal:5000/team/app"}}); err != nil {
		t.Errorf("registries with ports: %v", err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	const value = "hunter2-value"
	c := Credential{Username: "u", Password: Secret(value)}
	for _, s := range []string{
		Secret(value).String(), sprintf("%v", c), sprintf("%+v", c), sprintf("%#v", c), sprintf("%s", c.Password), sprintf("%q", c.Password),
	} {
		if strings.Contains(s, value) {
			t.Errorf("secret printed: %s", s)
		}
	}
}

// FuzzParseInput checks that parsing never panics, and that whatever it
// accepts is safe to put in a tag and a shell word.
func FuzzParseInput(f *testing.F) {
	for _, seed := range []string{"abcdef0", "ABCDEF0", "staging-{sha}", "{fullsha}", "ghcr.io/a/b", "$(id)", "a;b", "{", "}{", "localhost:5000/x"} {
		f.Add(seed, seed, seed)
	}
	f.Fuzz(func(t *testing.T, sha, tmpl, repo string) {
		if s, err := ParseSHA(sha); err == nil {
			if !shaPattern.MatchString(s.String()) || len(s.Short()) != 7 {
				t.Fatalf("accepted sha %q as %q", sha, s)
			}
			if tt, err := parseTemplate(tmpl); err == nil {
				if tag := tt.render(s); !tagPattern.MatchString(tag) {
					t.Fatalf("template %q rendered invalid tag %q", tmpl, tag)
				}
			}
		}
		if r, err := parseRepository(repo, nil); err == nil && (r.Name() != repo || strings.ContainsAny(repo, " ;$`|&@\n")) {
			t.Fatalf("accepted repository %q as %q", repo, r.Name())
		}
	})
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func TestOptionsRejectUnusableValues(t *testing.T) {
	cases := map[string]Option{
		"zero concurrency":       WithConcurrency(0),
		"zero restore timeout":   WithRestoreTimeout(0),
		"negative timeout":       WithTimeout(-time.Second),
		"zero response timeout":  WithResponseTimeout(0),
		"credentials, no host":   WithCredentials("", "bot", "pw"),
		"credentials, no user":   WithCredentials("ghcr.io", "", "pw"),
		"credentials, no secret": WithCredentials("ghcr.io", "bot", ""),
		"endpoint, no address":   WithEndpoint("localhost:5000", ""),
		"no retries":             WithRetryBackoff(remote.Backoff{}),
		"nil transport":          WithTransport(nil),
	}
	for name, opt := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := New(Config{Repositories: []string{"ghcr.io/acme/api"}}, opt); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("New err = %v, want ErrInvalidInput", err)
			}
		})
	}
	if _, err := New(Config{Repositories: []string{"ghcr.io/acme/api"}}, WithCredentials("ghcr.io", "bot", "pw"), WithCredentials("ghcr.io", "bot", "pw2")); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("credentials twice for one registry: err = %v", err)
	}
}
