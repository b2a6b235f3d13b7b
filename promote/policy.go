package promote

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
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
	// that names the commit being promoted. It needs the full 40-character
	// sha.
	RequireProvenance bool
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

// signaturePolicy is a SignaturePolicy after validation.
type signaturePolicy struct {
	// identity is set for keyless signing.
	identity *verify.CertificateIdentity
	// key and keyID are set for key-based signing.
	key   signature.Verifier
	keyID string
	// trustedRoot is nil when the public-good root is to be fetched.
	trustedRoot       *root.TrustedRoot
	ignoreTlog        bool
	requireProvenance bool
	// summary describes the policy in the report.
	summary string
	// fetched caches the public-good trusted root once fetched.
	fetched struct {
		sync.Mutex
		root *root.TrustedRoot
	}
}

// compile validates sp and reports every problem at once.
func (sp SignaturePolicy) compile() (*signaturePolicy, error) {
	var errs []error
	pol := &signaturePolicy{ignoreTlog: sp.InsecureIgnoreTlog, requireProvenance: sp.RequireProvenance}
	keyless := sp.Identity != "" || sp.IdentityRegexp != ""
	keyed := len(sp.PublicKey) > 0
	switch {
	case !keyless && !keyed:
		errs = append(errs, invalid("signature policy", "", "needs a certificate identity (or identity regexp) with its OIDC issuer, or a public key"))
	case keyless && keyed:
		errs = append(errs, invalid("signature policy", "", "takes a certificate identity or a public key, not both"))
	}
	if sp.Identity != "" && sp.IdentityRegexp != "" {
		errs = append(errs, invalid("certificate identity", sp.Identity, "give the identity or an identity regexp, not both"))
	}
	if keyless && sp.Issuer == "" {
		errs = append(errs, invalid("certificate OIDC issuer", "", "is required with a certificate identity"))
	}
	if !keyless && sp.Issuer != "" {
		errs = append(errs, invalid("certificate OIDC issuer", sp.Issuer, "applies to keyless signatures only: give a certificate identity too"))
	}
	if sp.InsecureIgnoreTlog && !keyed {
		errs = append(errs, invalid("insecure ignore tlog", "true", "applies to key-based signatures only: keyless certificates are short-lived and need the log's timestamp"))
	}
	if keyless && sp.Issuer != "" && (sp.Identity == "" || sp.IdentityRegexp == "") {
		id, err := verify.NewShortCertificateIdentity(sp.Issuer, "", sp.Identity, sp.IdentityRegexp)
		if err != nil {
			errs = append(errs, invalid("certificate identity regexp", sp.IdentityRegexp, err.Error()))
		} else {
			pol.identity = &id
		}
	}
	if keyed {
		if err := pol.setKey(sp.PublicKey); err != nil {
			errs = append(errs, err)
		}
	}
	if len(sp.TrustedRoot) > 0 {
		tr, err := root.NewTrustedRootFromJSON(sp.TrustedRoot)
		if err != nil {
			errs = append(errs, invalid("trusted root", "", "not a Sigstore trusted_root.json: "+err.Error()))
		}
		pol.trustedRoot = tr
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	pol.summary = sp.describe(pol.keyID)
	return pol, nil
}

// setKey parses a PEM public key.
func (pol *signaturePolicy) setKey(pemKey []byte) error {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemKey)
	if err != nil {
		return invalid("public key", "", "not a PEM public key: "+err.Error())
	}
	v, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return invalid("public key", "", "unsupported key: "+err.Error())
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return invalid("public key", "", err.Error())
	}
	sum := sha256.Sum256(der)
	pol.key, pol.keyID = v, "sha256:"+hex.EncodeToString(sum[:])
	return nil
}

// describe sums up a valid policy for the report.
func (sp SignaturePolicy) describe(keyID string) string {
	var parts []string
	switch {
	case sp.Identity != "":
		parts = append(parts, fmt.Sprintf("keyless, identity %s, issuer %s", sp.Identity, sp.Issuer))
	case sp.IdentityRegexp != "":
		parts = append(parts, fmt.Sprintf("keyless, identity matching %s, issuer %s", sp.IdentityRegexp, sp.Issuer))
	default:
		parts = append(parts, "key "+keyID)
	}
	if sp.InsecureIgnoreTlog {
		parts = append(parts, "transparency log NOT checked (insecure-ignore-tlog)")
	} else {
		parts = append(parts, "transparency log required")
	}
	if len(sp.TrustedRoot) > 0 {
		parts = append(parts, "given trusted root")
	} else if !sp.InsecureIgnoreTlog {
		parts = append(parts, "public-good Sigstore trusted root")
	}
	if sp.RequireProvenance {
		parts = append(parts, "SLSA provenance required")
	}
	return strings.Join(parts, "; ")
}

// checkSHA rejects a sha that the policy cannot check: provenance names the
// full commit, so it is compared with a 40-character sha only.
func (pol *signaturePolicy) checkSHA(s SHA) error {
	if pol != nil && pol.requireProvenance && !s.IsZero() && !s.IsFull() {
		return invalid("sha", s.String(), "requiring provenance needs the full 40-character commit sha")
	}
	return nil
}

// fetchTrustedRoot returns the trusted root to verify with: the one given,
// or the public-good instance's, fetched through TUF on first use. A failed
// fetch is tried again on the next use.
func (pol *signaturePolicy) fetchTrustedRoot() (*root.TrustedRoot, error) {
	if pol.trustedRoot != nil {
		return pol.trustedRoot, nil
	}
	pol.fetched.Lock()
	defer pol.fetched.Unlock()
	if pol.fetched.root == nil {
		tr, err := root.FetchTrustedRoot()
		if err != nil {
			return nil, fmt.Errorf("fetching the public-good Sigstore trusted root: %w", err)
		}
		pol.fetched.root = tr
	}
	return pol.fetched.root, nil
}
