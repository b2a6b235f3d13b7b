package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/molecule-ai/promote/internal/clientenv"
	"github.com/molecule-ai/promote/internal/defaults"
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
	// mean the same defaults (the front ends' images, the core's tags),
	// so the two cannot drift apart unnoticed.
	p, err := promote.New(New(nil, "", nil, nil).config())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Repositories(), ","); got != strings.Join(defaults.Repositories(), ",") {
		t.Errorf("repositories = %s", got)
	}
	src, err := readPragmas("main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`+default=["` + strings.Join(defaults.Repositories(), `", "`) + `"]`,
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

func TestDemoIsACheck(t *testing.T) {
	src, err := readPragmas("main.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(src, "// +check\n// +cache=\"never\"\nfunc (m *Promote) Demo(") {
		t.Error("Demo is not marked +check, so dagger check would not run it")
	}
}

// TestTimeoutsDefaultToTheCLIs checks that every registry function takes
// a timeout with the CLI's default, and that the default parses.
func TestTimeoutsDefaultToTheCLIs(t *testing.T) {
	src, err := readPragmas("main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"Verify", "Promote", "Rollback", "Status"} {
		start := strings.Index(src, "func (m *Promote) "+fn+"(")
		end := strings.Index(src[start:], ") (*Report, error) {")
		if start < 0 || end < 0 || !strings.Contains(src[start:start+end], "// +optional\n// +default=\"5m\"\ntimeout string,") {
			t.Errorf("%s has no optional timeout defaulting to 5m", fn)
		}
	}
	if d, err := parseTimeout("5m"); err != nil || d != 5*time.Minute {
		t.Errorf("parseTimeout(5m) = %v, %v", d, err)
	}
}

func TestDemoErrorKeepsTheOutput(t *testing.T) {
	cause := errors.New("registry stopped")
	tests := []struct {
		err    error
		output string
		want   string // empty: no error
	}{
		{nil, "all good\n", ""},
		{cause, "", "demo: registry stopped"},
		{cause, "verify: ok\n", "demo: registry stopped\n\nits output up to the failure:\nverify: ok\n"},
	}
	for _, tt := range tests {
		err := demoError(tt.err, tt.output)
		if (err == nil) != (tt.want == "") || (err != nil && (err.Error() != tt.want || !errors.Is(err, cause))) {
			t.Errorf("demoError(%v, %q) = %v, want %q", tt.err, tt.output, err, tt.want)
		}
	}
}

func TestFailureTable(t *testing.T) {
	cause := fmt.Errorf("%w: platform-tenant:latest could not be put back", promote.ErrMixedState)
	rep := &promote.Report{Action: "promote", Result: promote.ResultMixed, Images: []promote.Image{
		{Target: "ghcr.io/a/one:latest", Digest: "sha256:" + strings.Repeat("1", 64), Outcome: promote.OutcomeRestored, Detail: "put back"},
		{Target: "ghcr.io/a/two:latest", Outcome: promote.OutcomeFailed, Detail: "PUT: 403 | denied\nrestore: timeout"},
		{Source: "ghcr.io/a/three:staging-abcdef0", Outcome: promote.OutcomeFailed},
	}}
	err := failure("promote", rep, cause)
	if !errors.Is(err, promote.ErrMixedState) {
		t.Errorf("failure does not wrap its cause: %v", err)
	}
	withError := *rep
	withError.Error = cause.Error()
	js, _ := json.Marshal(&withError)
	want := cause.Error() + "\n\nresult: mixed\n" + failureTableHeader +
		"\nghcr.io/a/one:latest | restored | sha256:" + strings.Repeat("1", 64) + " | put back" +
		"\nghcr.io/a/two:latest | failed | - | PUT: 403 | denied; restore: timeout" +
		"\nghcr.io/a/three:staging-abcdef0 | failed | - | -" +
		"\n\nreport: " + string(js)
	if err.Error() != want {
		t.Errorf("failure =\n%s\nwant\n%s", err, want)
	}
	if got := errorReport(t, err); got.Result != promote.ResultMixed || len(got.Images) != 3 || got.Images[1].Detail != rep.Images[1].Detail || got.Error != cause.Error() {
		t.Errorf("the error's report = %+v", got)
	}
	// A failed operation without entries still carries its report.
	if got := errorReport(t, failure("promote", &promote.Report{Action: "promote", Result: promote.ResultFailed}, cause)); got.Result != promote.ResultFailed || got.Error != cause.Error() {
		t.Errorf("the report of a failure without entries = %+v", got)
	}
	for _, r := range []*promote.Report{nil, {Result: promote.ResultOK, Images: rep.Images}} {
		if got := failure("promote", r, cause); got != cause {
			t.Errorf("failure(%+v) = %v, want the cause itself", r, got)
		}
	}
}

// errorReport is the report that the last line of err carries.
func errorReport(t *testing.T, err error) promote.Report {
	t.Helper()
	msg := err.Error()
	last := msg[strings.LastIndex(msg, "\n")+1:]
	js, ok := strings.CutPrefix(last, reportLinePrefix)
	var rep promote.Report
	if !ok {
		t.Fatalf("the error's last line is %q, want a report:\n%s", last, msg)
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("the error's report %s: %v", js, err)
	}
	return rep
}

// TestInvalidInputCarriesTheResult checks that the module's refusal of an
// input, in any function and before any request, carries a report whose
// result is invalid, for programs such as the GitHub Action to read.
func TestInvalidInputCarriesTheResult(t *testing.T) {
	ctx := context.Background()
	m := New([]string{"localhost:1/never/reached"}, "", nil, nil)
	tests := []struct {
		action string
		call   func() error
	}{
		{"verify", func() error { _, err := m.Verify(ctx, "not-a-sha", "5m", false); return err }},
		{"verify", func() error { _, err := m.Verify(ctx, strings.Repeat("a", 40), "5m", true); return err }},
		{"promote", func() error {
			_, err := m.Promote(ctx, "abcdef0", false, false, true, nil, "5m", false, "", "", false)
			return err
		}},
		{"promote", func() error {
			_, err := m.Promote(ctx, "abcdef0", false, false, false, nil, "soon", false, "", "", false)
			return err
		}},
		{"rollback", func() error { _, err := m.Rollback(ctx, "xyz", false, "5m", "", ""); return err }},
		{"status", func() error { _, err := m.Status(ctx, "0s"); return err }},
		{"status", func() error { _, err := New([]string{"not a repository"}, "", nil, nil).Status(ctx, "5m"); return err }},
		{"", func() error { _, err := m.WithSignaturePolicy("", "", "", "", "", "", "", ""); return err }},
	}
	for _, tt := range tests {
		err := tt.call()
		if !errors.Is(err, promote.ErrInvalidInput) || !strings.Contains(err.Error(), "\n\nresult: invalid\n\nreport: ") {
			t.Errorf("%s: %v; want an invalid input error with its result", tt.action, err)
			continue
		}
		rep := errorReport(t, err)
		if rep.Result != promote.ResultInvalid || rep.Action != tt.action || rep.Error == "" || rep.Images == nil {
			t.Errorf("%s: the error's report = %+v", tt.action, rep)
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
	rep, err := newReport("promote", core, nil)
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
	rep, err := newReport("verify", &promote.Report{Action: "verify"}, cause)
	if rep != nil || err == nil || err.Error() != cause.Error() {
		t.Fatalf("newReport = %v, %v; want the error unchanged, so dagger call prints it", rep, err)
	}
}

func TestSignaturePolicyTranslation(t *testing.T) {
	const issuer = "https://token.actions.githubusercontent.com"
	m := New(nil, "", nil, nil)
	if m.signed() {
		t.Fatal("a module without a policy counts as signed")
	}
	m, err := m.WithSignaturePolicy("", "^https://github.com/org/repo/", issuer, "org/repo", "refs/heads/main", "", "push", "")
	if err != nil {
		t.Fatal(err)
	}
	policy, err := m.signaturePolicy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !m.signed() || policy.IdentityRegexp != "^https://github.com/org/repo/" || policy.Issuer != issuer || policy.Identity != "" ||
		policy.GitHubWorkflowRepository != "org/repo" || policy.GitHubWorkflowRef != "refs/heads/main" || policy.GitHubWorkflowTrigger != "push" {
		t.Fatalf("policy = %+v", policy)
	}
	policy.RequireProvenance = true
	if _, err := promote.New(m.config(), promote.WithSignaturePolicy(policy)); err != nil {
		t.Errorf("the core rejects the translated policy: %v", err)
	}
	if m := New(nil, "", nil, nil).WithPublicKey(nil, true); !m.SignatureInsecureIgnoreTlog {
		t.Errorf("withPublicKey lost insecureIgnoreTlog: %+v", m)
	}
}

// TestSignaturePolicyGivenEmptyIsAnError: withSignaturePolicy with an empty
// identity (an unset variable) fails instead of checking nothing.
func TestSignaturePolicyGivenEmptyIsAnError(t *testing.T) {
	for _, tt := range []struct {
		identity, identityRegexp, issuer, want string
	}{
		{"", "", "", "identity and identityRegexp are both empty"},
		{"", "", "https://token.actions.githubusercontent.com", "identity and identityRegexp are both empty"},
		{"https://github.com/org/repo/.github/workflows/build.yml@refs/heads/main", "", "", "issuer is empty"},
	} {
		m, err := New(nil, "", nil, nil).WithSignaturePolicy(tt.identity, tt.identityRegexp, tt.issuer, "", "", "", "", "")
		if m != nil || !errors.Is(err, promote.ErrInvalidInput) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("WithSignaturePolicy(%q, %q, %q) = %v, %v; want an invalid input error saying %q", tt.identity, tt.identityRegexp, tt.issuer, m, err, tt.want)
		}
	}
}

func TestSignatureReportConversion(t *testing.T) {
	core := &promote.Report{
		Action: "verify", SHA: strings.Repeat("a", 40), Result: promote.ResultOK,
		SignaturePolicy: "key sha256:1; transparency log NOT checked (insecure-ignore-tlog)", InsecureIgnoreTlog: true,
		Images: []promote.Image{
			{Repository: "ghcr.io/a/one", Outcome: promote.OutcomeVerified, Signature: &promote.Signature{
				Identity: "https://github.com/a/b/.github/workflows/build.yml@refs/heads/main", Issuer: "https://token.actions.githubusercontent.com",
				Commit: strings.Repeat("a", 40), FoundIn: "referrers ghcr.io/a/one@sha256:1", TransparencyLog: true,
				Provenance: &promote.Provenance{Commit: strings.Repeat("a", 40), FoundIn: "referrers ghcr.io/a/one@sha256:1"},
			}},
			{Repository: "ghcr.io/a/two", Outcome: promote.OutcomeVerified, Signature: &promote.Signature{Key: "sha256:1", FoundIn: "cosign-sig-tag ghcr.io/a/two:sha256-2.sig"}},
		},
	}
	rep, err := newReport("verify", core, nil)
	if err != nil {
		t.Fatal(err)
	}
	keyless, keyed := rep.Images[0], rep.Images[1]
	if rep.SignaturePolicy != core.SignaturePolicy || !rep.InsecureIgnoreTlog {
		t.Errorf("report = %+v", rep)
	}
	if keyless.SignedBy != core.Images[0].Signature.Identity || keyless.SignatureIssuer == "" || keyless.SignatureCommit == "" ||
		!keyless.TransparencyLog || keyless.ProvenanceCommit != strings.Repeat("a", 40) || keyless.SignatureFoundIn == "" ||
		keyless.ProvenanceFoundIn != core.Images[0].Signature.Provenance.FoundIn || keyless.SignatureKey != "" {
		t.Errorf("keyless entry = %+v", keyless)
	}
	if keyed.SignedBy != "key sha256:1" || keyed.SignatureKey != "sha256:1" || keyed.TransparencyLog || keyed.ProvenanceCommit != "" {
		t.Errorf("key entry = %+v", keyed)
	}
}

func TestChainingTranslatesDestinations(t *testing.T) {
	m := New([]string{"ghcr.io/acme/staging/api", "ghcr.io/acme/staging/web", "ghcr.io/acme/tools"}, "", nil, nil).
		WithDestination("ghcr.io/acme/tools", "registry.example.com/tools").
		WithDestinationPrefix("ghcr.io/acme/staging", "registry.example.com/prod")
	p, err := promote.New(m.config())
	if err != nil {
		t.Fatalf("the core rejects the translated config: %v", err)
	}
	if got := p.Repositories(); len(got) != 3 {
		t.Errorf("repositories = %v", got)
	}
	cfg := m.config()
	if want := []promote.Mapping{{Source: "ghcr.io/acme/tools", Destination: "registry.example.com/tools"}}; !slices.Equal(cfg.Destinations, want) {
		t.Errorf("destinations = %+v", cfg.Destinations)
	}
	if want := []promote.Mapping{{Source: "ghcr.io/acme/staging", Destination: "registry.example.com/prod"}}; !slices.Equal(cfg.DestinationPrefixes, want) {
		t.Errorf("destination prefixes = %+v", cfg.DestinationPrefixes)
	}
	if _, err := m.WithDestination("ghcr.io/acme/tools", "registry.example.com/other").promoter(context.Background(), false); !errors.Is(err, promote.ErrInvalidInput) || !strings.Contains(err.Error(), "ghcr.io/acme/tools is given more than once") {
		t.Errorf("a source given twice: %v", err)
	}
	if New(nil, "", nil, nil).config().Destinations != nil {
		t.Error("no destination must leave the destinations nil")
	}
}

// coreToModule names, for each field of the core's report types, the
// module field that carries it ("" for none, with the reason alongside).
var coreToModule = map[string]string{
	"Report.Action": "Report.Action", "Report.SHA": "Report.Sha", "Report.DryRun": "Report.DryRun", "Report.Result": "Report.Result",
	// A failed operation fails the call: its error carries the message.
	"Report.Error":  "",
	"Report.Images": "Report.Images", "Report.Signatures": "Report.Signatures", "Report.SignaturePolicy": "Report.SignaturePolicy",
	"Report.InsecureIgnoreTlog": "Report.InsecureIgnoreTlog", "Report.Insecure": "Report.Insecure", "Report.Copies": "Report.Copies",

	"Image.Repository": "ReportImage.Repository", "Image.Source": "ReportImage.Source", "Image.Target": "ReportImage.Target",
	"Image.Digest": "ReportImage.Digest", "Image.PreviousDigest": "ReportImage.PreviousDigest", "Image.MediaType": "ReportImage.MediaType",
	"Image.Platforms": "ReportImage.Platforms", "Image.Revision": "ReportImage.Revision", "Image.Created": "ReportImage.Created",
	"Image.Outcome": "ReportImage.Outcome", "Image.Detail": "ReportImage.Detail", "Image.Tags": "ReportImage.Tags",
	"Image.Signature": "ReportImage.SignedBy",
	"Image.Recorded":  "ReportImage.Recorded", "Image.RecordError": "ReportImage.RecordError",
	// Who, when, from which run and how: movedBy, movedAt, movedIn, movedAction.
	"Image.LastMove": "ReportImage.MovedBy",

	"Signature.Identity": "ReportImage.SignedBy", "Signature.Issuer": "ReportImage.SignatureIssuer", "Signature.Key": "ReportImage.SignatureKey",
	"Signature.Commit": "ReportImage.SignatureCommit", "Signature.FoundIn": "ReportImage.SignatureFoundIn",
	"Signature.TransparencyLog": "ReportImage.TransparencyLog", "Signature.Provenance": "ReportImage.ProvenanceCommit",
	"Provenance.Commit": "ReportImage.ProvenanceCommit", "Provenance.FoundIn": "ReportImage.ProvenanceFoundIn",

	"TagState.Tag": "ReportTag.Tag", "TagState.Digest": "ReportTag.Digest", "TagState.Unknown": "ReportTag.Unknown",
	"TagState.Revision": "ReportTag.Revision", "TagState.Note": "ReportTag.Note",

	"Copy.Source": "ReportCopy.Source", "Copy.Destination": "ReportCopy.Destination", "Copy.Outcome": "ReportCopy.Outcome",
	"Copy.Manifests": "ReportCopy.Manifests", "Copy.Blobs": "ReportCopy.Blobs", "Copy.Bytes": "ReportCopy.Bytes",
	"Copy.Referrers": "ReportCopy.Referrers", "Copy.SignatureTags": "ReportCopy.SignatureTags",
	"Copy.ManifestsCopied": "ReportCopy.ManifestsCopied", "Copy.BlobsCopied": "ReportCopy.BlobsCopied", "Copy.BytesCopied": "ReportCopy.BytesCopied",
	"Copy.Mounted": "ReportCopy.Mounted", "Copy.Detail": "ReportCopy.Detail",
}

// TestReportCoversTheCore checks that every field of the core's report
// has its place in the module's: a field added to the core fails this
// test until the module carries it, so the two stay one report.
func TestReportCoversTheCore(t *testing.T) {
	moduleTypes := map[string]reflect.Type{}
	for _, v := range []any{Report{}, ReportImage{}, ReportTag{}, ReportCopy{}} {
		moduleTypes[reflect.TypeOf(v).Name()] = reflect.TypeOf(v)
	}
	for _, v := range []any{promote.Report{}, promote.Image{}, promote.TagState{}, promote.Copy{}, promote.Signature{}, promote.Provenance{}} {
		typ := reflect.TypeOf(v)
		for f := range typ.Fields() {
			key := typ.Name() + "." + f.Name
			target, ok := coreToModule[key]
			if !ok {
				t.Errorf("the module's report has no place for the core's %s", key)
				continue
			}
			if target == "" {
				continue
			}
			typeName, field, _ := strings.Cut(target, ".")
			mt, ok := moduleTypes[typeName]
			if _, has := mt.FieldByName(field); !ok || !has {
				t.Errorf("%s maps to %s, which the module does not have", key, target)
			}
		}
	}
}

// TestReportCarriesTagsCreatedAndCopies converts a core report with tag
// states, creation times and copies, and reads each back from the module's.
func TestReportCarriesTagsCreatedAndCopies(t *testing.T) {
	digest := "sha256:" + strings.Repeat("1", 64)
	core := &promote.Report{
		Action: "promote", SHA: "abcdef0", Result: promote.ResultOK, Signatures: "not checked",
		Images: []promote.Image{{
			Repository: "registry.example.com/prod/api", Source: "ghcr.io/acme/staging/api:staging-abcdef0", Target: "registry.example.com/prod/api:latest",
			Digest: digest, MediaType: "application/vnd.oci.image.index.v1+json", Created: "2026-01-02T03:04:05Z", Outcome: promote.OutcomeChanged,
			Tags: []promote.TagState{
				{Tag: "registry.example.com/prod/api:latest", Digest: digest},
				{Tag: "registry.example.com/prod/api:latest-previous", Unknown: true, Revision: "1234567", Note: "could not be read back"},
			},
		}},
		Copies: []promote.Copy{{
			Source: "ghcr.io/acme/staging/api@" + digest, Destination: "registry.example.com/prod/api@" + digest, Outcome: promote.CopyCopied,
			Manifests: 3, Blobs: 4, Bytes: 5 << 20, ManifestsCopied: 3, BlobsCopied: 4, BytesCopied: 5 << 20, Mounted: 2,
			Referrers: []string{"sha256:" + strings.Repeat("2", 64)}, SignatureTags: []string{"registry.example.com/prod/api:sha256-1.sig"},
		}},
	}
	rep, err := newReport("promote", core, nil)
	if err != nil {
		t.Fatal(err)
	}
	img := rep.Images[0]
	if img.Created != "2026-01-02T03:04:05Z" || img.MediaType != core.Images[0].MediaType {
		t.Errorf("image = %+v", img)
	}
	wantTags := []ReportTag{
		{Tag: "registry.example.com/prod/api:latest", Digest: digest},
		{Tag: "registry.example.com/prod/api:latest-previous", Unknown: true, Revision: "1234567", Note: "could not be read back"},
	}
	if len(img.Tags) != len(wantTags) {
		t.Fatalf("tags = %+v", img.Tags)
	}
	for i, want := range wantTags {
		if *img.Tags[i] != want {
			t.Errorf("tag %d = %+v, want %+v", i, *img.Tags[i], want)
		}
	}
	if len(rep.Copies) != 1 {
		t.Fatalf("copies = %+v", rep.Copies)
	}
	cp := rep.Copies[0]
	if cp.Outcome != "copied" || cp.Manifests != 3 || cp.Blobs != 4 || cp.Bytes != 5<<20 || cp.ManifestsCopied != 3 || cp.BlobsCopied != 4 ||
		cp.BytesCopied != 5<<20 || cp.Mounted != 2 || len(cp.Referrers) != 1 || len(cp.SignatureTags) != 1 || cp.Destination != core.Copies[0].Destination {
		t.Errorf("copy = %+v", cp)
	}
}
