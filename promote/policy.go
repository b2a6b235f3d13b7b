package promote

import (
	"errors"

	"github.com/molecule-ai/promote/promote/internal/sigcheck"
)

// SignaturePolicy says which Sigstore signatures every image must carry
// before anything is written. Either an identity (keyless signing, as CI
// does with its OIDC token) or a public key is required.
type SignaturePolicy struct {
	// Identity is the exact certificate identity of keyless signatures,
	// such as "https://github.com/org/repo/.github/workflows/build.yml@refs/heads/main".
	Identity string
	// IdentityRegexp matches the certificate identity instead, as a Go
	// regular expression. As with cosign it is not anchored: write ^…$.
	IdentityRegexp string
	// Issuer is the OIDC issuer that keyless signatures must come from,
	// such as "https://token.actions.githubusercontent.com".
	Issuer string
	// PublicKey is a PEM public key that key-based signatures must verify
	// with, instead of an identity.
	PublicKey []byte
	// TrustedRoot is a Sigstore trusted_root.json: the certificate
	// authorities, transparency logs and timestamp authorities to trust.
	// When empty, the public-good Sigstore instance's trusted root is
	// fetched through its TUF repository, which needs network access.
	TrustedRoot []byte
	// InsecureIgnoreTlog accepts key-based signatures that have no
	// transparency-log entry. It needs no trusted root and no network.
	InsecureIgnoreTlog bool
	// RequireProvenance requires, besides a signature, an SLSA v1
	// provenance attestation of the image, verified under the same policy,
	// that names the commit being promoted.
	RequireProvenance bool

	// The GitHub Actions claims that keyless certificates must carry, as
	// cosign's --certificate-github-workflow-* flags check them against
	// Fulcio's GitHub extensions; an empty field is not compared.

	// GitHubWorkflowRepository is the repository the signing workflow ran
	// in, such as "org/repo": what tells callers of a shared reusable
	// workflow apart.
	GitHubWorkflowRepository string
	// GitHubWorkflowRef is the git ref it ran on, such as "refs/heads/main".
	GitHubWorkflowRef string
	// GitHubWorkflowSHA is the commit it ran at. Without it, the commit is
	// still compared with the certificate's source repository digest.
	GitHubWorkflowSHA string
	// GitHubWorkflowTrigger is the event that started it, such as "push".
	GitHubWorkflowTrigger string
	// GitHubWorkflowName is the workflow's name.
	GitHubWorkflowName string
}

// WithSignaturePolicy makes every operation verify the Sigstore signatures
// of every image it reads, as sp says, before anything is written.
func WithSignaturePolicy(sp SignaturePolicy) Option {
	return func(o *options) error {
		if o.signatures != nil {
			return invalid("signature policy", "", "given more than once")
		}
		pol, err := sp.compile()
		if err != nil {
			return err
		}
		o.signatures = pol
		return nil
	}
}

// compile validates sp, and reports every problem at once.
func (sp SignaturePolicy) compile() (*sigcheck.Policy, error) {
	pol, err := sigcheck.New(sigcheck.Config{
		Identity: sp.Identity, IdentityRegexp: sp.IdentityRegexp, Issuer: sp.Issuer,
		GitHub: sigcheck.GitHub{
			Repository: sp.GitHubWorkflowRepository, Ref: sp.GitHubWorkflowRef, SHA: sp.GitHubWorkflowSHA,
			Trigger: sp.GitHubWorkflowTrigger, Name: sp.GitHubWorkflowName,
		},
		PublicKey: sp.PublicKey, TrustedRoot: sp.TrustedRoot,
		InsecureIgnoreTlog: sp.InsecureIgnoreTlog, RequireProvenance: sp.RequireProvenance,
	})
	if err == nil {
		return pol, nil
	}
	// Each problem becomes an input error, so that it wraps ErrInvalidInput.
	var errs []error
	for _, e := range unjoin(err) {
		if ie, ok := e.(*sigcheck.InvalidError); ok {
			e = invalid(ie.Field, ie.Value, ie.Reason)
		}
		errs = append(errs, e)
	}
	return nil, errors.Join(errs...)
}

// unjoin lists the errors that errors.Join joined, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// checkSHA rejects a sha that a signature policy cannot check: certificates
// and provenance name the full commit, and a prefix of it would leave the
// comparison a few dozen bits, so any policy takes the 40-character sha.
func checkSHA(pol *sigcheck.Policy, s SHA) error {
	if pol != nil && !s.IsZero() && !s.IsFull() {
		return invalid("sha", s.String(), "a signature policy needs the full 40-character commit sha, which certificates and provenance name")
	}
	return nil
}
