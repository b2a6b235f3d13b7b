package sigstoretest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/url"
	"strings"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	ctx509util "github.com/google/certificate-transparency-go/x509util"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// Claims are what a CI's OIDC token says and Fulcio records in the
// certificate it issues.
type Claims struct {
	// Identity is the certificate's subject: for GitHub Actions the URI of
	// the workflow that signs, with its ref.
	Identity string
	// Issuer is the OIDC issuer, such as https://token.actions.githubusercontent.com.
	Issuer string
	// Repository is the source repository URI, such as https://github.com/org/repo.
	Repository string
	// Ref is the git ref built, such as refs/heads/main.
	Ref string
	// Commit is the commit built: the Source Repository Digest extension.
	// Empty leaves the extension out.
	Commit string
	// WorkflowTrigger and WorkflowName are the event that started a GitHub
	// workflow and its name. With a trigger, the certificate also carries
	// the GitHub workflow extensions that Fulcio still writes for GitHub
	// (repository, ref, sha, trigger, name), which cosign's
	// --certificate-github-workflow-* flags check.
	WorkflowTrigger, WorkflowName string
}

// GitHubClaims are the claims of a GitHub Actions workflow run of
// workflowPath (such as .github/workflows/build.yml) in repository
// (such as molecule-ai/molecule-core) on refs/heads/main at commit.
func GitHubClaims(repository, workflowPath, commit string) Claims {
	const ref = "refs/heads/main"
	return Claims{
		Identity:   "https://github.com/" + repository + "/" + workflowPath + "@" + ref,
		Issuer:     "https://token.actions.githubusercontent.com",
		Repository: "https://github.com/" + repository,
		Ref:        ref,
		Commit:     commit,
		// GitHub names a workflow after its file when it has no name.
		WorkflowTrigger: "push",
		WorkflowName:    workflowPath,
	}
}

// certify issues a short-lived certificate for a new key with the claims,
// with an SCT from the deployment's CT log embedded, as Fulcio does.
func (in *Instance) certify(c Claims) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	san, err := url.Parse(c.Identity)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	exts, err := claimExtensions(c)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:    serial,
		URIs:            []*url.URL{san},
		NotBefore:       now.Add(-time.Minute),
		NotAfter:        now.Add(10 * time.Minute),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: exts,
	}
	// The SCT is over the certificate without it (the precertificate);
	// the issued certificate then carries it as its last extension.
	pre, err := in.issue(template, key)
	if err != nil {
		return nil, nil, err
	}
	sct, err := in.sct(pre, now)
	if err != nil {
		return nil, nil, err
	}
	template.ExtraExtensions = append(template.ExtraExtensions, sct)
	cert, err := in.issue(template, key)
	return cert, key, err
}

func (in *Instance) issue(template *x509.Certificate, key *ecdsa.PrivateKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, template, in.fulcio, key.Public(), in.fulcioKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// claimExtensions encodes the claims as Fulcio's certificate extensions.
func claimExtensions(c Claims) ([]pkix.Extension, error) {
	values := []struct {
		oid   asn1.ObjectIdentifier
		value string
	}{
		{certificate.OIDIssuerV2, c.Issuer},
		{certificate.OIDBuildSignerURI, c.Identity},
		{certificate.OIDRunnerEnvironment, "github-hosted"},
		{certificate.OIDSourceRepositoryURI, c.Repository},
		{certificate.OIDSourceRepositoryDigest, c.Commit},
		{certificate.OIDSourceRepositoryRef, c.Ref},
		{certificate.OIDBuildConfigURI, c.Identity},
		{certificate.OIDBuildTrigger, "push"},
	}

	var exts []pkix.Extension
	for _, v := range values {
		if v.value == "" {
			continue
		}
		der, err := asn1.MarshalWithParams(v.value, "utf8")
		if err != nil {
			return nil, err
		}
		exts = append(exts, pkix.Extension{Id: v.oid, Value: der})
	}
	if c.WorkflowTrigger != "" {
		// Fulcio writes these older extensions as raw strings, not DER.
		for _, v := range []struct {
			oid   asn1.ObjectIdentifier
			value string
		}{
			{certificate.OIDGitHubWorkflowTrigger, c.WorkflowTrigger},
			{certificate.OIDGitHubWorkflowSHA, c.Commit},
			{certificate.OIDGitHubWorkflowName, c.WorkflowName},
			{certificate.OIDGitHubWorkflowRepository, strings.TrimPrefix(c.Repository, "https://github.com/")},
			{certificate.OIDGitHubWorkflowRef, c.Ref},
		} {
			if v.value != "" {
				exts = append(exts, pkix.Extension{Id: v.oid, Value: []byte(v.value)})
			}
		}
	}
	return exts, nil
}

// sct returns the SCT extension of the deployment's CT log for the
// precertificate pre.
func (in *Instance) sct(pre *x509.Certificate, at time.Time) (pkix.Extension, error) {
	s := ct.SignedCertificateTimestamp{
		SCTVersion: ct.V1,
		LogID:      ct.LogID{KeyID: in.ctLogID},
		Timestamp:  uint64(at.UnixMilli()),
	}
	entry := ct.LogEntry{Leaf: ct.MerkleTreeLeaf{
		Version:  ct.V1,
		LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: &ct.TimestampedEntry{
			Timestamp: s.Timestamp,
			EntryType: ct.PrecertLogEntryType,
			PrecertEntry: &ct.PreCert{
				IssuerKeyHash:  sha256.Sum256(in.fulcio.RawSubjectPublicKeyInfo),
				TBSCertificate: pre.RawTBSCertificate,
			},
		},
	}}
	input, err := ct.SerializeSCTSignatureInput(s, entry)
	if err != nil {
		return pkix.Extension{}, err
	}
	h := sha256.Sum256(input)
	sig, err := ecdsa.SignASN1(rand.Reader, in.ctKey, h[:])
	if err != nil {
		return pkix.Extension{}, err
	}
	s.Signature = ct.DigitallySigned{
		Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA},
		Signature: sig,
	}
	list, err := ctx509util.MarshalSCTsIntoSCTList([]*ct.SignedCertificateTimestamp{&s})
	if err != nil {
		return pkix.Extension{}, err
	}
	raw, err := cttls.Marshal(*list)
	if err != nil {
		return pkix.Extension{}, err
	}
	der, err := asn1.Marshal(raw)
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier(ctx509.OIDExtensionCTSCT), Value: der}, nil
}
