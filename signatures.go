package main

import (
	"context"
	"fmt"

	"github.com/molecule-ai/promote/internal/dagger"
	"github.com/molecule-ai/promote/promote"
)

// Require every image to be signed keyless (Sigstore) by a certificate identity from an OIDC issuer, as cosign's --certificate-identity[-regexp], --certificate-oidc-issuer and --certificate-github-workflow-*; an identity or issuer given empty is an error, not "no signature check"
func (m *Promote) WithSignaturePolicy(
	// Exact certificate identity, such as https://github.com/org/repo/.github/workflows/build.yml@refs/heads/main.
	// +optional
	identity string,
	// Go regular expression the certificate identity must match instead (not anchored: write ^...$).
	// +optional
	identityRegexp string,
	// OIDC issuer, such as https://token.actions.githubusercontent.com.
	issuer string,
	// Repository the signing GitHub workflow ran in, such as org/repo: tells the callers of a shared reusable workflow apart.
	// +optional
	githubWorkflowRepository string,
	// Git ref the signing GitHub workflow ran on, such as refs/heads/main.
	// +optional
	githubWorkflowRef string,
	// Commit the signing GitHub workflow ran at.
	// +optional
	githubWorkflowSha string,
	// Event that started the signing GitHub workflow, such as push.
	// +optional
	githubWorkflowTrigger string,
	// Name of the signing GitHub workflow.
	// +optional
	githubWorkflowName string,
) (*Promote, error) {
	if identity == "" && identityRegexp == "" {
		return nil, failure("", nil, fmt.Errorf("%w: withSignaturePolicy: identity and identityRegexp are both empty: give one (an empty policy is an error, not \"no signature check\")", promote.ErrInvalidInput))
	}
	if issuer == "" {
		return nil, failure("", nil, fmt.Errorf("%w: withSignaturePolicy: issuer is empty (an empty policy is an error, not \"no signature check\")", promote.ErrInvalidInput))
	}
	m.SignatureIdentity, m.SignatureIdentityRegexp, m.SignatureIssuer = identity, identityRegexp, issuer
	m.SignatureGitHubWorkflowRepository, m.SignatureGitHubWorkflowRef, m.SignatureGitHubWorkflowSha = githubWorkflowRepository, githubWorkflowRef, githubWorkflowSha
	m.SignatureGitHubWorkflowTrigger, m.SignatureGitHubWorkflowName = githubWorkflowTrigger, githubWorkflowName
	return m, nil
}

// Require every image to be signed with a key (Sigstore, cosign), given as a PEM public key, as cosign's --key
func (m *Promote) WithPublicKey(
	// PEM public key, such as cosign.pub.
	key *dagger.File,
	// Accept signatures without a transparency-log entry; the report says so.
	// +optional
	insecureIgnoreTlog bool,
) *Promote {
	m.SignatureKey, m.SignatureInsecureIgnoreTlog = key, insecureIgnoreTlog
	return m
}

// Trust this Sigstore trusted_root.json instead of the public-good instance's, which is fetched through TUF over the network
func (m *Promote) WithTrustedRoot(
	// Sigstore trusted_root.json.
	root *dagger.File,
) *Promote {
	m.SignatureTrustedRoot = root
	return m
}

// signed reports whether a signature policy was set.
func (m *Promote) signed() bool {
	return m.SignatureIdentity != "" || m.SignatureIdentityRegexp != "" || m.SignatureIssuer != "" ||
		m.SignatureKey != nil || m.SignatureTrustedRoot != nil
}

// signaturePolicy is the core policy of the module's arguments, with the
// files it names read.
func (m *Promote) signaturePolicy(ctx context.Context) (promote.SignaturePolicy, error) {
	policy := promote.SignaturePolicy{
		Identity:           m.SignatureIdentity,
		IdentityRegexp:     m.SignatureIdentityRegexp,
		Issuer:             m.SignatureIssuer,
		InsecureIgnoreTlog: m.SignatureInsecureIgnoreTlog,

		GitHubWorkflowRepository: m.SignatureGitHubWorkflowRepository,
		GitHubWorkflowRef:        m.SignatureGitHubWorkflowRef,
		GitHubWorkflowSHA:        m.SignatureGitHubWorkflowSha,
		GitHubWorkflowTrigger:    m.SignatureGitHubWorkflowTrigger,
		GitHubWorkflowName:       m.SignatureGitHubWorkflowName,
	}
	for _, f := range []struct {
		file *dagger.File
		into *[]byte
		what string
	}{{m.SignatureKey, &policy.PublicKey, "public key"}, {m.SignatureTrustedRoot, &policy.TrustedRoot, "trusted root"}} {
		if f.file == nil {
			continue
		}
		contents, err := f.file.Contents(ctx)
		if err != nil {
			return policy, fmt.Errorf("reading the %s: %w", f.what, err)
		}
		if contents == "" {
			return policy, fmt.Errorf("%w: the %s file is empty (an empty policy is an error, not \"no signature check\")", promote.ErrInvalidInput, f.what)
		}
		*f.into = []byte(contents)
	}
	return policy, nil
}
