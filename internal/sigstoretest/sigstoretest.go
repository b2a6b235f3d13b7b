// Package sigstoretest makes Sigstore signatures and attestations for tests,
// offline, from a throwaway Sigstore: a Fulcio-like certificate authority
// that issues GitHub-style certificates with embedded SCTs, a certificate
// transparency log, and the Rekor log and timestamp authority of
// sigstore-go's virtual Sigstore. Everything is made when a test runs and
// expires within the hour, so nothing is checked in.
//
// It writes what it makes to a registry as CI does: as OCI referrers
// (Sigstore bundles) and as cosign's classic .sig and .att tags.
package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Instance is a throwaway Sigstore deployment.
type Instance struct {
	virtual    *ca.VirtualSigstore
	fulcioRoot *x509.Certificate
	fulcio     *x509.Certificate
	fulcioKey  *ecdsa.PrivateKey
	ctKey      *ecdsa.PrivateKey
	ctLogID    [32]byte
	rekorLogID []byte
	trusted    []byte
}

// New starts a throwaway Sigstore deployment.
func New() (*Instance, error) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		return nil, err
	}
	in := &Instance{virtual: vs}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		return nil, err
	}
	in.fulcioRoot = rootCert
	if in.fulcio, in.fulcioKey, err = ca.GenerateFulcioIntermediate(rootCert, rootKey); err != nil {
		return nil, err
	}
	if in.ctKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(in.ctKey.Public())
	if err != nil {
		return nil, err
	}
	in.ctLogID = sha256.Sum256(der)
	logID, err := vs.RekorLogID()
	if err != nil {
		return nil, err
	}
	if in.rekorLogID, err = hex.DecodeString(logID); err != nil {
		return nil, err
	}
	if in.trusted, err = in.trustedRootJSON(); err != nil {
		return nil, fmt.Errorf("writing the trusted root: %w", err)
	}
	return in, nil
}

// TrustedRoot returns the deployment's trusted_root.json.
func (in *Instance) TrustedRoot() []byte { return in.trusted }

// trustedRootJSON describes the deployment as a Sigstore trusted root.
func (in *Instance) trustedRootJSON() ([]byte, error) {
	now := time.Now()
	fulcio := &root.FulcioCertificateAuthority{
		Root:                in.fulcioRoot,
		Intermediates:       []*x509.Certificate{in.fulcio},
		ValidityPeriodStart: now.Add(-time.Hour),
		ValidityPeriodEnd:   now.Add(time.Hour),
		URI:                 "https://fulcio.sigstore.test",
	}
	ctlogs := map[string]*root.TransparencyLog{hex.EncodeToString(in.ctLogID[:]): {
		BaseURL:             "https://ctfe.sigstore.test",
		ID:                  in.ctLogID[:],
		ValidityPeriodStart: now.Add(-time.Hour),
		ValidityPeriodEnd:   now.Add(time.Hour),
		HashFunc:            crypto.SHA256,
		PublicKey:           in.ctKey.Public(),
		SignatureHashFunc:   crypto.SHA256,
	}}
	rekor := map[string]*root.TransparencyLog{}
	for id, tl := range in.virtual.RekorLogs() {
		copied := *tl
		// The virtual log names itself by its ID's hex; the trusted root
		// keys logs by the raw ID, as Rekor's entries do.
		copied.ID, copied.BaseURL = in.rekorLogID, "https://rekor.sigstore.test"
		rekor[id] = &copied
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{fulcio}, ctlogs, in.virtual.TimestampingAuthorities(), rekor)
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}

// NewKey returns a new ECDSA P-256 key and its public key in PEM, as
// `cosign generate-key-pair` makes.
func NewKey() (*ecdsa.PrivateKey, []byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(k.Public())
	if err != nil {
		return nil, nil, err
	}
	return k, pub, nil
}
