package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/molecule-ai/promote/internal/sigstoretest"
)

// The identity that signs the seeded staging images in the signed case: a
// GitHub Actions workflow on main, as in CI.
const (
	signedRepository = "molecule-ai/bench"
	signedWorkflow   = ".github/workflows/build.yml"
)

// signing is a throwaway, offline Sigstore that signs the staging images
// as CI does, and the policy the signed tool verifies them under.
type signing struct {
	sigs   *sigstoretest.Instance
	claims sigstoretest.Claims
	// trustedRoot is the file holding the instance's trusted root.
	trustedRoot string
}

// newSigning starts a throwaway Sigstore for commit sha and writes its
// trusted root into dir.
func newSigning(dir, sha string) (*signing, error) {
	in, err := sigstoretest.New()
	if err != nil {
		return nil, fmt.Errorf("starting a throwaway Sigstore: %w", err)
	}
	s := &signing{sigs: in, claims: sigstoretest.GitHubClaims(signedRepository, signedWorkflow, sha),
		trustedRoot: filepath.Join(dir, "trusted_root.json")}
	if err := os.WriteFile(s.trustedRoot, in.TrustedRoot(), 0o600); err != nil {
		return nil, fmt.Errorf("writing the trusted root: %w", err)
	}
	return s, nil
}

// sign attaches to repo@digest, on the registry itself, what GitHub's
// artifact attestation attaches: the image's SLSA build provenance at
// commit sha, keyless, as an OCI referrer.
func (s *signing) sign(ctx context.Context, repo, digest, sha string) error {
	st, err := sigstoretest.Statement(repo, digest, sigstoretest.SLSAProvenanceV1, sigstoretest.Provenance(s.claims, sha))
	if err != nil {
		return err
	}
	b, err := s.sigs.Keyless(s.claims).AttestationBundle(st)
	if err != nil {
		return fmt.Errorf("signing %s@%s: %w", repo, digest, err)
	}
	if err := sigstoretest.AttachBundle(ctx, repo+"@"+digest, b, sigstoretest.SLSAProvenanceV1); err != nil {
		return fmt.Errorf("attaching a signature to %s@%s: %w", repo, digest, err)
	}
	return nil
}

// policyArgs are the cli's flags of the policy the signed images meet:
// signed keyless by the CI workflow, with provenance naming the commit,
// under the throwaway instance's trusted root.
func (s *signing) policyArgs() []string {
	return []string{
		"--certificate-identity", s.claims.Identity,
		"--certificate-oidc-issuer", s.claims.Issuer,
		"--trusted-root", s.trustedRoot,
		"--require-provenance",
	}
}

// runSigned promotes with one promote process that verifies every image's
// signature and provenance first.
func (ts *toolSet) runSigned(ctx context.Context, n int) (sample, error) {
	args := append([]string{"promote", "--sha", ts.w.sha, "--json"}, ts.w.signing.policyArgs()...)
	for _, r := range ts.w.proxyRepos(n) {
		args = append(args, "--image", r)
	}
	return ts.execCLI(ctx, n, args)
}
