package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/internal/sigstoretest"
)

// signedRegistry starts a registry whose first image is signed and attested
// as GitHub CI does, as a referrer, and whose second carries a classic
// cosign signature made with a key and CI's provenance in a .att tag. It
// returns the images, the proxy, and the trusted root and public key files.
func signedRegistry(t *testing.T) (images []string, proxy *registrytest.Proxy, trustedRoot, publicKey string) {
	t.Helper()
	ctx := context.Background()
	srv, proxy, images := registry(t)
	sigs, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	key, pub, err := sigstoretest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	ci := sigstoretest.GitHubClaims("molecule-ai/molecule-core", ".github/workflows/build.yml", sha)
	for i, name := range []string{"molecule-ai/platform", "molecule-ai/platform-tenant"} {
		repo := srv.Repo(name)
		digest, _, err := registrytest.Digest(ctx, repo+":staging-"+sha[:7], srv.Auth())
		if err != nil {
			t.Fatal(err)
		}
		statement, err := sigstoretest.Statement(repo, digest, sigstoretest.SLSAProvenanceV1, sigstoretest.Provenance(ci, sha))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			b, err := sigs.Keyless(ci).AttestationBundle(statement)
			if err == nil {
				err = sigstoretest.AttachBundle(ctx, repo+"@"+digest, b, sigstoretest.SLSAProvenanceV1, remote.WithAuth(srv.Auth()))
			}
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		sig, err := sigs.Key(key).ClassicSignature(repo, digest)
		if err == nil {
			err = sigstoretest.AttachClassic(ctx, repo+"@"+digest, ".sig", []sigstoretest.Layer{sig}, remote.WithAuth(srv.Auth()))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	trustedRoot, publicKey = filepath.Join(dir, "trusted_root.json"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(trustedRoot, sigs.TrustedRoot(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(publicKey, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	return images, proxy, trustedRoot, publicKey
}

func TestSignatureFlags(t *testing.T) {
	images, proxy, trustedRoot, publicKey := signedRegistry(t)
	keyless := []string{
		"--certificate-identity-regexp", "^https://github.com/molecule-ai/molecule-core/.github/workflows/build.yml@refs/heads/main$",
		"--certificate-oidc-issuer", "https://token.actions.githubusercontent.com",
		"--trusted-root", trustedRoot,
	}
	args := func(verb string, flags []string, image ...string) []string {
		return append(append([]string{verb, "--sha", sha}, flags...), imageFlags(image)...)
	}

	r := runCLI(t, "", nil, args("verify", append(keyless, "--require-provenance"), images[0])...)
	if r.code != exitOK || !strings.Contains(r.stdout, "signed by https://github.com/molecule-ai/molecule-core/") ||
		!strings.Contains(r.stdout, "provenance at commit "+sha) {
		t.Fatalf("keyless verify: %+v", r)
	}
	r = runCLI(t, "", nil, args("verify", []string{"--key", publicKey, "--trusted-root", trustedRoot}, images[1])...)
	if r.code != exitOK || !strings.Contains(r.stdout, "signed by key sha256:") {
		t.Fatalf("key verify: %+v", r)
	}

	// cosign's GitHub workflow claims are checked against the certificate.
	github := slices.Concat(keyless, []string{"--certificate-github-workflow-repository", "molecule-ai/molecule-core",
		"--certificate-github-workflow-ref", "refs/heads/main", "--certificate-github-workflow-sha", sha,
		"--certificate-github-workflow-trigger", "push", "--certificate-github-workflow-name", ".github/workflows/build.yml"})
	r = runCLI(t, "", nil, args("verify", github, images[0])...)
	if r.code != exitOK || !strings.Contains(r.stdout, "GitHub workflow repository molecule-ai/molecule-core") {
		t.Fatalf("keyless verify with GitHub claims: %+v", r)
	}
	fork := slices.Concat(keyless, []string{"--certificate-github-workflow-repository", "someone/fork"})
	r = runCLI(t, "", nil, args("verify", fork, images[0])...)
	if r.code != exitFailed || !strings.Contains(r.stderr, "GitHub workflow repository molecule-ai/molecule-core, not someone/fork") {
		t.Fatalf("keyless verify with another GitHub repository: %+v", r)
	}

	// Without a policy, the report says that signatures were not checked.
	r = runCLI(t, "", nil, args("verify", nil, images[0])...)
	if r.code != exitOK || !strings.Contains(r.stdout, "signatures: not checked") {
		t.Fatalf("verify without a policy: %+v", r)
	}

	// The second image is not signed by CI: nothing moves, and only it is named.
	r = runCLI(t, "", nil, args("promote", keyless, images...)...)
	if r.code != exitFailed || !strings.Contains(r.stderr, images[1]+":staging-"+sha[:7]+": ") ||
		!strings.Contains(r.stderr, "signed by another identity or issuer") || strings.Contains(r.stderr, images[0]+":staging") {
		t.Fatalf("promote with one image signed by a key: %+v", r)
	}
	if n := proxy.Count("PUT", "") + proxy.Count("DELETE", ""); n != 0 {
		t.Errorf("%d writes, want none", n)
	}
}

func TestSignatureFlagsBadInputMakesNoRequest(t *testing.T) {
	_, proxy, images := registry(t)
	good := imageFlags(images)
	keyFile := filepath.Join(t.TempDir(), "missing.pub")
	emptyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"provenance with a short sha", []string{"verify", "--sha", sha[:7], "--certificate-identity", "x", "--certificate-oidc-issuer", "y", "--require-provenance"}, "40-character"},
		{"identity without issuer", []string{"verify", "--sha", sha, "--certificate-identity", "x"}, "certificate OIDC issuer"},
		{"key file missing", []string{"verify", "--sha", sha, "--key", keyFile}, "--key: "},
		{"ignore tlog without key", []string{"verify", "--sha", sha, "--insecure-ignore-tlog", "--certificate-identity", "x", "--certificate-oidc-issuer", "y"}, "key-based signatures only"},
		{"provenance without a policy", []string{"verify", "--sha", sha, "--require-provenance"}, "needs a certificate identity"},
		{"key given empty", []string{"verify", "--sha", sha, "--key", ""}, "--key is empty"},
		{"identity and issuer given empty", []string{"verify", "--sha", sha, "--certificate-identity", "", "--certificate-oidc-issuer", ""}, "--certificate-oidc-issuer is empty"},
		{"identity regexp given empty", []string{"verify", "--sha", sha, "--certificate-identity-regexp=", "--certificate-oidc-issuer", "y"}, "--certificate-identity-regexp is empty"},
		{"trusted root given empty", []string{"verify", "--sha", sha, "--certificate-identity", "x", "--certificate-oidc-issuer", "y", "--trusted-root", ""}, "--trusted-root is empty"},
		{"GitHub workflow repository given empty", []string{"verify", "--sha", sha, "--certificate-identity", "x", "--certificate-oidc-issuer", "y", "--certificate-github-workflow-repository", ""}, "--certificate-github-workflow-repository is empty"},
		{"GitHub claims with a key", []string{"verify", "--sha", sha, "--key", keyFile, "--certificate-github-workflow-trigger", "push"}, "keyless signatures only"},
		{"key file empty", []string{"verify", "--sha", sha, "--key", emptyFile}, "--key: " + emptyFile + " is empty"},
		{"trusted root file empty", []string{"verify", "--sha", sha, "--certificate-identity", "x", "--certificate-oidc-issuer", "y", "--trusted-root", emptyFile}, "--trusted-root: " + emptyFile + " is empty"},
		{"a key policy with a short sha", []string{"verify", "--sha", sha[:7], "--key", keyFile}, "40-character"},
		{"an identity policy with a short sha", []string{"promote", "--sha", sha[:12], "--certificate-identity", "x", "--certificate-oidc-issuer", "y"}, "40-character"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", nil, append(tc.args, good...)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit code %d, stderr:\n%s\nwant %d and %q", r.code, r.stderr, exitUsage, tc.want)
			}
			if n := proxy.Total(); n != 0 {
				t.Errorf("%d requests reached the registry", n)
			}
		})
	}
}

// TestSignatureTextIsNotExecuted signs an image with a payload whose digest
// field carries a workflow command and HTML: neither reaches the output as
// such.
func TestSignatureTextIsNotExecuted(t *testing.T) {
	ctx := context.Background()
	srv, _, images := registry(t)
	sigs, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	key, pub, err := sigstoretest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	repo := srv.Repo("molecule-ai/platform")
	digest, _, err := registrytest.Digest(ctx, repo+":staging-"+sha[:7], srv.Auth())
	if err != nil {
		t.Fatal(err)
	}
	injected := "sha256:" + strings.Repeat("ab", 32) + "\n::error title=promote::pwned\n<h2>owned</h2>"
	sig, err := sigs.Key(key).ClassicSignature(repo, injected)
	if err == nil {
		err = sigstoretest.AttachClassic(ctx, repo+"@"+digest, ".sig", []sigstoretest.Layer{sig}, remote.WithAuth(srv.Auth()))
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile, rootFile, summary := filepath.Join(dir, "cosign.pub"), filepath.Join(dir, "root.json"), filepath.Join(dir, "summary.md")
	if err := os.WriteFile(keyFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rootFile, sigs.TrustedRoot(), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", nil, append([]string{"verify", "--sha", sha, "--key", keyFile, "--trusted-root", rootFile, "--summary", summary}, imageFlags(images[:1])...)...)
	if r.code != exitFailed || !strings.Contains(r.stderr, `\n::error title=promote::pwned\n`) {
		t.Fatalf("verify: %+v", r)
	}
	for _, out := range []string{r.stdout, r.stderr} {
		for line := range strings.Lines(out) {
			if strings.HasPrefix(strings.TrimSpace(line), "::") {
				t.Errorf("an output line begins a workflow command: %q", line)
			}
		}
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(md), "<h2>") || !strings.Contains(string(md), "&lt;h2&gt;") {
		t.Errorf("the summary holds raw HTML, or lost the text:\n%s", md)
	}
}
