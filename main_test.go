package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	_ "github.com/molecule-ai/promote/internal/clientenv"
	"github.com/molecule-ai/promote/promote"
)

func TestConstructorTranslatesArguments(t *testing.T) {
	m := New([]string{"ghcr.io/a/one", "ghcr.io/a/two"}, "build-{fullsha}", []string{"latest", "stable"}, []string{"linux/amd64"})
	cfg := m.config()
	if strings.Join(cfg.Repositories, ",") != "ghcr.io/a/one,ghcr.io/a/two" || cfg.SourceTag != "build-{fullsha}" ||
		strings.Join(cfg.TargetTags, ",") != "latest,stable" || strings.Join(cfg.Platforms, ",") != "linux/amd64" {
		t.Fatalf("config = %+v", cfg)
	}
	p, err := promote.New(cfg)
	if err != nil {
		t.Fatalf("the core rejects the translated config: %v", err)
	}
	if got := p.TargetTags(); len(got) != 2 {
		t.Errorf("targets = %v", got)
	}
}

func TestConstructorDefaultsMatchTheCore(t *testing.T) {
	// The engine fills in the +default values; an empty call must still
	// mean the core's defaults, so the two cannot drift apart unnoticed.
	p, err := promote.New(New(nil, "", nil, nil).config())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Repositories(), ","); got != strings.Join(promote.DefaultRepositories(), ",") {
		t.Errorf("repositories = %s", got)
	}
	src, err := readPragmas("main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`+default=["` + strings.Join(promote.DefaultRepositories(), `", "`) + `"]`,
		`+default="` + promote.DefaultSourceTag + `"`,
		`+default=["` + strings.Join(promote.DefaultTargetTags(), `", "`) + `"]`,
	} {
		if !strings.Contains(src, want) {
			t.Errorf("main.go lacks the pragma %s", want)
		}
	}
}

func TestChainingAccumulatesAuthAndServices(t *testing.T) {
	m := New(nil, "", nil, nil).
		WithRegistryAuth("ghcr.io", "bot", nil).
		WithRegistryAuth("registry.example.com", "other", nil).
		WithRegistryService("localhost:5000", nil)
	if strings.Join(m.AuthAddresses, ",") != "ghcr.io,registry.example.com" || strings.Join(m.AuthUsernames, ",") != "bot,other" ||
		len(m.AuthSecrets) != 2 || strings.Join(m.ServiceAddresses, ",") != "localhost:5000" || len(m.ServiceBindings) != 1 {
		t.Fatalf("state = %+v", m)
	}
}

func TestFunctionsTouchingTheRegistryAreNeverCached(t *testing.T) {
	src, err := readPragmas("main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"Verify", "Promote", "Rollback", "Status", "Demo"} {
		if !strings.Contains(src, "// +cache=\"never\"\nfunc (m *Promote) "+fn+"(") {
			t.Errorf("%s is not marked +cache=\"never\"", fn)
		}
	}
}

func TestReportConversion(t *testing.T) {
	core := &promote.Report{
		Action: "promote", SHA: "abcdef0", Result: promote.ResultOK,
		Images: []promote.Image{{
			Repository: "ghcr.io/a/one", Source: "ghcr.io/a/one:staging-abcdef0", Target: "ghcr.io/a/one:latest",
			Digest: "sha256:" + strings.Repeat("1", 64), PreviousDigest: "sha256:" + strings.Repeat("2", 64),
			Outcome: promote.OutcomeChanged, Revision: "abcdef0", Platforms: []string{"linux/amd64"},
		}},
	}
	rep, err := newReport(core, nil)
	if err != nil {
		t.Fatal(err)
	}
	img := rep.Images[0]
	if rep.Action != "promote" || rep.Sha != "abcdef0" || rep.Result != "ok" || img.Outcome != "changed" ||
		img.Target != "ghcr.io/a/one:latest" || img.PreviousDigest != core.Images[0].PreviousDigest || img.Platforms[0] != "linux/amd64" {
		t.Fatalf("report = %+v, image = %+v", rep, img)
	}
	var decoded promote.Report
	if err := json.Unmarshal([]byte(rep.Json()), &decoded); err != nil || decoded.Images[0].Digest != core.Images[0].Digest {
		t.Fatalf("json() = %s (%v)", rep.Json(), err)
	}
	if !strings.Contains(rep.Summary(), "| `ghcr.io/a/one:latest` | changed |") {
		t.Errorf("summary() = %s", rep.Summary())
	}
}

func TestFailureIsTheError(t *testing.T) {
	cause := errors.New("verification failed for 1 of 2 images:\n  ghcr.io/a/two:staging-abcdef0: not found")
	rep, err := newReport(&promote.Report{Action: "verify"}, cause)
	if rep != nil || err == nil || err.Error() != cause.Error() {
		t.Fatalf("newReport = %v, %v; want the error unchanged, so dagger call prints it", rep, err)
	}
}
