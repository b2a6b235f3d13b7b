package main

import (
	"context"
	"os"
	"path/filepath"
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
