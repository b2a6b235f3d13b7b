// Package sigcheck is the signature gate: it answers, for one image, "is
// this digest, in this repository, signed under this policy, and what
// proves it?".
//
// It reads what is attached to the image through package attach, within
// its limits, assembles cosign's classic signatures into Sigstore bundles,
// and verifies everything with sigstore-go. Nothing here parses
// certificates or checks signatures by hand.
package sigcheck

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Config is a signature policy as given, before validation.
type Config struct {
	// Identity, IdentityRegexp and Issuer are the keyless signer's
	// certificate identity (exact, or a Go regular expression) and OIDC
	// issuer.
	Identity, IdentityRegexp, Issuer string
	// GitHub constrains the GitHub Actions claims in keyless certificates.
	GitHub GitHub
	// PublicKey is a PEM public key, instead of an identity.
	PublicKey []byte
	// TrustedRoot is a Sigstore trusted_root.json; empty fetches the
	// public-good instance's.
	TrustedRoot []byte
	// InsecureIgnoreTlog accepts key-based signatures without a log entry.
	InsecureIgnoreTlog bool
	// RequireProvenance requires an SLSA v1 provenance attestation naming
	// the commit.
	RequireProvenance bool
}

// GitHub holds the values that the GitHub Actions extensions of a Fulcio
// certificate must have, as cosign's --certificate-github-workflow-*
// flags; an empty field is not compared.
type GitHub struct {
	// Repository is the repository the workflow ran in, "owner/repo".
	Repository string
	// Ref is the git ref the workflow ran on, such as "refs/heads/main".
	Ref string
	// SHA is the commit the workflow ran at.
	SHA string
	// Trigger is the event that started the workflow, such as "push".
	Trigger string
	// Name is the workflow's name.
	Name string
}

func (g GitHub) set() bool { return g != GitHub{} }

// extensions are the certificate extensions g asks for.
func (g GitHub) extensions() certificate.Extensions {
	return certificate.Extensions{
		GithubWorkflowRepository: g.Repository,
		GithubWorkflowRef:        g.Ref,
		GithubWorkflowSHA:        g.SHA,
		GithubWorkflowTrigger:    g.Trigger,
		GithubWorkflowName:       g.Name,
	}
}

// InvalidError says that one field of a Config is unusable.
type InvalidError struct {
	Field, Value, Reason string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
}

func invalid(field, value, reason string) error {
	return &InvalidError{Field: field, Value: value, Reason: reason}
}

// Policy is a validated signature policy. It is safe for concurrent use.
type Policy struct {
	// identity is set for keyless signing.
	identity *verify.CertificateIdentity
	github   GitHub
	// key and keyID are set for key-based signing.
	key   signature.Verifier
	keyID string
	// trustedRoot is nil when the public-good root is to be fetched.
	trustedRoot       *root.TrustedRoot
	ignoreTlog        bool
	requireProvenance bool
	summary           string
	// publicGood loads the public-good trusted root on first use.
	publicGood rootLoader
}

// rootLoader loads a trusted root once, for every caller. The download
// runs on a goroutine of its own: no lock is held across it, and each
// caller waits for it only as long as its context allows.
type rootLoader struct {
	// fetch downloads the trusted root.
	fetch func() (*root.TrustedRoot, error)

	mu sync.Mutex
	// last is the latest download, in flight or done.
	last *rootDownload
}

// rootDownload is one download of the trusted root; root and err are set
// before done is closed.
type rootDownload struct {
	done chan struct{}
	root *root.TrustedRoot
	err  error
}

// load returns the trusted root, starting its download unless one is in
// flight or has succeeded; a failed download is tried again. It returns
// ctx's error as soon as ctx is done. sigstore-go's TUF client takes no
// context, so a download the caller stopped waiting for finishes in the
// background, and the next caller uses it.
func (l *rootLoader) load(ctx context.Context) (*root.TrustedRoot, error) {
	l.mu.Lock()
	d := l.last
	if d == nil || d.failed() {
		d = &rootDownload{done: make(chan struct{})}
		l.last = d
		go func() {
			defer close(d.done)
			d.root, d.err = l.fetch()
		}()
	}
	l.mu.Unlock()
	select {
	case <-d.done:
		return d.root, d.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// failed reports whether the download is done and failed.
func (d *rootDownload) failed() bool {
	select {
	case <-d.done:
		return d.err != nil
	default:
		return false
	}
}

// New validates cfg and reports every problem at once, each an
// [*InvalidError].
func New(cfg Config) (*Policy, error) {
	var errs []error
	pol := &Policy{ignoreTlog: cfg.InsecureIgnoreTlog, requireProvenance: cfg.RequireProvenance, github: cfg.GitHub}
	pol.publicGood.fetch = root.FetchTrustedRoot
	keyless := cfg.Identity != "" || cfg.IdentityRegexp != ""
	keyed := len(cfg.PublicKey) > 0
	switch {
	case !keyless && !keyed:
		errs = append(errs, invalid("signature policy", "", "needs a certificate identity (or identity regexp) with its OIDC issuer, or a public key"))
	case keyless && keyed:
		errs = append(errs, invalid("signature policy", "", "takes a certificate identity or a public key, not both"))
	}
	if cfg.Identity != "" && cfg.IdentityRegexp != "" {
		errs = append(errs, invalid("certificate identity", cfg.Identity, "give the identity or an identity regexp, not both"))
	}
	if keyless && cfg.Issuer == "" {
		errs = append(errs, invalid("certificate OIDC issuer", "", "is required with a certificate identity"))
	}
	if !keyless && cfg.Issuer != "" {
		errs = append(errs, invalid("certificate OIDC issuer", cfg.Issuer, "applies to keyless signatures only: give a certificate identity too"))
	}
	if !keyless && cfg.GitHub.set() {
		errs = append(errs, invalid("certificate GitHub workflow claims", "", "apply to keyless signatures only: give a certificate identity too"))
	}
	if cfg.InsecureIgnoreTlog && !keyed {
		errs = append(errs, invalid("insecure ignore tlog", "true", "applies to key-based signatures only: keyless certificates are short-lived and need the log's timestamp"))
	}
	if keyless && cfg.Issuer != "" && (cfg.Identity == "" || cfg.IdentityRegexp == "") {
		san, err := verify.NewSANMatcher(cfg.Identity, cfg.IdentityRegexp)
		if err != nil {
			errs = append(errs, invalid("certificate identity regexp", cfg.IdentityRegexp, err.Error()))
		}
		issuer, ierr := verify.NewIssuerMatcher(cfg.Issuer, "")
		if err == nil && ierr == nil {
			id, err := verify.NewCertificateIdentity(san, issuer, cfg.GitHub.extensions())
			if err != nil {
				errs = append(errs, invalid("certificate identity", cfg.Identity+cfg.IdentityRegexp, err.Error()))
			} else {
				pol.identity = &id
			}
		}
	}
	if keyed {
		if err := pol.setKey(cfg.PublicKey); err != nil {
			errs = append(errs, err)
		}
	}
	if len(cfg.TrustedRoot) > 0 {
		tr, err := root.NewTrustedRootFromJSON(cfg.TrustedRoot)
		if err != nil {
			errs = append(errs, invalid("trusted root", "", "not a Sigstore trusted_root.json: "+err.Error()))
		}
		pol.trustedRoot = tr
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	pol.summary = cfg.describe(pol.keyID)
	return pol, nil
}

// Summary sums up the policy for a report.
func (pol *Policy) Summary() string { return pol.summary }

// IgnoresTlog reports whether signatures are accepted without a
// transparency-log entry.
func (pol *Policy) IgnoresTlog() bool { return pol.ignoreTlog }

// setKey parses a PEM public key.
func (pol *Policy) setKey(pemKey []byte) error {
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
func (cfg Config) describe(keyID string) string {
	var parts []string
	switch {
	case cfg.Identity != "":
		parts = append(parts, fmt.Sprintf("keyless, identity %s, issuer %s", cfg.Identity, cfg.Issuer))
	case cfg.IdentityRegexp != "":
		parts = append(parts, fmt.Sprintf("keyless, identity matching %s, issuer %s", cfg.IdentityRegexp, cfg.Issuer))
	default:
		parts = append(parts, "key "+keyID)
	}
	for _, c := range []struct{ name, value string }{
		{"repository", cfg.GitHub.Repository}, {"ref", cfg.GitHub.Ref}, {"sha", cfg.GitHub.SHA},
		{"trigger", cfg.GitHub.Trigger}, {"name", cfg.GitHub.Name},
	} {
		if c.value != "" {
			parts = append(parts, "GitHub workflow "+c.name+" "+c.value)
		}
	}
	if cfg.InsecureIgnoreTlog {
		parts = append(parts, "transparency log NOT checked (insecure-ignore-tlog)")
	} else {
		parts = append(parts, "transparency log required")
	}
	if len(cfg.TrustedRoot) > 0 {
		parts = append(parts, "given trusted root")
	} else if !cfg.InsecureIgnoreTlog {
		parts = append(parts, "public-good Sigstore trusted root")
	}
	if cfg.RequireProvenance {
		parts = append(parts, "SLSA provenance required")
	}
	return strings.Join(parts, "; ")
}

// material is the trust material that signatures verify against.
func (pol *Policy) material(ctx context.Context) (root.TrustedMaterial, error) {
	if pol.key == nil {
		return pol.trusted(ctx)
	}
	keys := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(pol.key, time.Time{}, time.Time{}), nil
	})
	if pol.ignoreTlog {
		return keys, nil
	}
	tr, err := pol.trusted(ctx)
	if err != nil {
		return nil, err
	}
	return root.TrustedMaterialCollection{tr, keys}, nil
}

// verifier checks what cosign checks by default: for keyless signatures the
// certificate chain, an embedded SCT and a transparency-log entry whose
// time (or a signed timestamp) falls in the certificate's validity; for
// key-based ones the log entry unless it is explicitly ignored.
func (pol *Policy) verifier(material root.TrustedMaterial) (*verify.Verifier, error) {
	switch {
	case pol.key != nil && pol.ignoreTlog:
		return verify.NewVerifier(material, verify.WithNoObserverTimestamps())
	case pol.key != nil:
		return verify.NewVerifier(material, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
	default:
		return verify.NewVerifier(material, verify.WithSignedCertificateTimestamps(1),
			verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
	}
}

// trusted returns the trusted root to verify with: the one given, or the
// public-good instance's, fetched through TUF on first use. A failed fetch
// is tried again on the next use; a caller stops waiting when ctx is done.
func (pol *Policy) trusted(ctx context.Context) (*root.TrustedRoot, error) {
	if pol.trustedRoot != nil {
		return pol.trustedRoot, nil
	}
	tr, err := pol.publicGood.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetching the public-good Sigstore trusted root: %w", err)
	}
	return tr, nil
}
