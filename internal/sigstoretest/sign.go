package sigstoretest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekortypes "github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"google.golang.org/protobuf/encoding/protojson"
)

// Signer signs as one CI identity (keyless) or with one key.
type Signer struct {
	in     *Instance
	claims *Claims
	key    *ecdsa.PrivateKey
	// NoTlog leaves signatures out of the transparency log, as
	// `cosign sign --tlog-upload=false` does.
	NoTlog bool
	// Tamper changes what was signed after signing, so that the signature
	// no longer verifies.
	Tamper bool
}

// Keyless returns a signer that gets a certificate for c for every
// signature, as CI does with its OIDC token.
func (in *Instance) Keyless(c Claims) *Signer { return &Signer{in: in, claims: &c} }

// Key returns a signer that signs with k and logs each signature in the
// transparency log.
func (in *Instance) Key(k *ecdsa.PrivateKey) *Signer { return &Signer{in: in, key: k} }

// Layer is one layer of a cosign .sig or .att manifest.
type Layer struct {
	MediaType   string
	Content     []byte
	Annotations map[string]string
}

// Media types of what is written.
const (
	// BundleMediaType is the artifact and layer type of a Sigstore bundle
	// stored as an OCI referrer.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// SimpleSigningMediaType is the layer type of a cosign .sig layer.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// DSSEMediaType is the layer type of a cosign .att layer.
	DSSEMediaType     = "application/vnd.dsse.envelope.v1+json"
	inTotoPayloadType = "application/vnd.in-toto+json"
)

// signed is one signature with what proves it.
type signed struct {
	cert      *x509.Certificate
	publicPEM []byte
	sig       []byte
	envelope  *dsse.Envelope
	digest    []byte // the signed message's SHA-256, for message signatures
	entry     *protorekor.TransparencyLogEntry
	entryJSON []byte // the entry as cosign records it in an annotation
	timestamp []byte
}

// signingKey is what one signature is made with.
type signingKey struct {
	key    *ecdsa.PrivateKey
	signer signature.SignerVerifier
	// cert is the certificate of a keyless signature.
	cert *x509.Certificate
	// pem is the certificate, or the public key, as the log records it.
	pem []byte
}

// signingKey returns a key with a new certificate for a keyless signer, or
// the signer's key.
func (s *Signer) signingKey() (*signingKey, error) {
	sk := &signingKey{key: s.key}
	var err error
	if s.claims == nil {
		sk.pem, err = cryptoutils.MarshalPublicKeyToPEM(s.key.Public())
	} else if sk.cert, sk.key, err = s.in.certify(*s.claims); err == nil {
		sk.pem, err = cryptoutils.MarshalCertificateToPEM(sk.cert)
	}
	if err != nil {
		return nil, err
	}
	sk.signer, err = signature.LoadECDSASignerVerifier(sk.key, crypto.SHA256)
	return sk, err
}

// signDSSE signs statement in a DSSE envelope.
func (s *Signer) signDSSE(statement []byte) (*signed, error) {
	sk, err := s.signingKey()
	if err != nil {
		return nil, err
	}
	es, err := dsse.NewEnvelopeSigner(&sigdsse.SignerAdapter{SignatureSigner: sk.signer, Pub: &sk.key.PublicKey})
	if err != nil {
		return nil, err
	}
	env, err := es.SignPayload(context.Background(), inTotoPayloadType, statement)
	if err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		return nil, err
	}
	out := &signed{cert: sk.cert, publicPEM: sk.pem, sig: sig, envelope: env}
	envJSON, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	if err := s.log(out, "intoto", "0.0.2", rekortypes.ArtifactProperties{ArtifactBytes: envJSON}); err != nil {
		return nil, err
	}
	if s.Tamper {
		env.Payload = base64.StdEncoding.EncodeToString(append(statement, ' '))
	}
	return out, nil
}

// signMessage signs message, or with prehashed set the SHA-256 digest that
// message is.
func (s *Signer) signMessage(message []byte, prehashed bool) (*signed, error) {
	sk, err := s.signingKey()
	if err != nil {
		return nil, err
	}
	digest := message
	var opts []signature.SignOption
	if prehashed {
		opts = append(opts, options.WithDigest(digest))
	} else {
		sum := sha256.Sum256(message)
		digest = sum[:]
	}
	sig, err := sk.signer.SignMessage(bytes.NewReader(message), opts...)
	if err != nil {
		return nil, err
	}
	out := &signed{cert: sk.cert, publicPEM: sk.pem, sig: sig, digest: digest}
	props := rekortypes.ArtifactProperties{ArtifactHash: "sha256:" + hex.EncodeToString(digest), PKIFormat: "x509"}
	if err := s.log(out, "hashedrekord", "0.0.1", props); err != nil {
		return nil, err
	}
	if s.Tamper {
		out.sig = append([]byte(nil), sig...)
		out.sig[len(out.sig)-1] ^= 1
	}
	return out, nil
}

// log enters a signature in the transparency log, with an inclusion
// promise and proof, and a signed timestamp for keyless signatures. With
// NoTlog it only does the timestamp.
func (s *Signer) log(out *signed, kind, version string, props rekortypes.ArtifactProperties) error {
	vs := s.in.virtual
	if out.cert != nil {
		ts, err := vs.TimestampResponse(out.sig)
		if err != nil {
			return err
		}
		out.timestamp = ts
	}
	if s.NoTlog {
		return nil
	}
	ctx := context.Background()
	props.SignatureBytes, props.PublicKeyBytes = out.sig, [][]byte{out.publicPEM}
	pe, err := rekortypes.NewProposedEntry(ctx, kind, version, props)
	if err != nil {
		return fmt.Errorf("making a %s entry: %w", kind, err)
	}
	impl, err := rekortypes.CreateVersionedEntry(pe)
	if err != nil {
		return err
	}
	body, err := rekortypes.CanonicalizeEntry(ctx, impl)
	if err != nil {
		return err
	}
	now := time.Now().Unix()
	payload := tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(body),
		IntegratedTime: now,
		LogIndex:       0,
		LogID:          hex.EncodeToString(s.in.rekorLogID),
	}
	set, err := vs.RekorSignPayload(payload)
	if err != nil {
		return err
	}
	proof, err := vs.GetInclusionProof(body)
	if err != nil {
		return err
	}
	rootHash, err := hex.DecodeString(*proof.RootHash)
	if err != nil {
		return err
	}
	out.entry = &protorekor.TransparencyLogEntry{
		LogIndex:          payload.LogIndex,
		LogId:             &protocommon.LogId{KeyId: s.in.rekorLogID},
		KindVersion:       &protorekor.KindVersion{Kind: kind, Version: version},
		IntegratedTime:    now,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
		CanonicalizedBody: body,
		InclusionProof: &protorekor.InclusionProof{
			LogIndex:   *proof.LogIndex,
			RootHash:   rootHash,
			TreeSize:   *proof.TreeSize,
			Checkpoint: &protorekor.Checkpoint{Envelope: *proof.Checkpoint},
		},
	}
	out.entryJSON, err = json.Marshal(map[string]any{"SignedEntryTimestamp": set, "Payload": payload})
	return err
}

// bundle writes a Sigstore bundle v0.3 of out.
func (out *signed) bundle() ([]byte, error) {
	m := &protobundle.VerificationMaterial{}
	if out.cert != nil {
		m.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: out.cert.Raw}}
	} else {
		m.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}}
	}
	if out.entry != nil {
		m.TlogEntries = []*protorekor.TransparencyLogEntry{out.entry}
	}
	if out.timestamp != nil {
		m.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: out.timestamp}},
		}
	}
	b := &protobundle.Bundle{MediaType: BundleMediaType, VerificationMaterial: m}
	if out.envelope != nil {
		env, err := envelopeProto(out.envelope)
		if err != nil {
			return nil, err
		}
		b.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: env}
	} else {
		b.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: out.digest},
			Signature:     out.sig,
		}}
	}
	return protojson.Marshal(b)
}

func envelopeProto(env *dsse.Envelope) (*protodsse.Envelope, error) {
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, err
	}
	out := &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType}
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			return nil, err
		}
		out.Signatures = append(out.Signatures, &protodsse.Signature{Sig: sig, Keyid: s.KeyID})
	}
	return out, nil
}

// annotations are cosign's classic annotations of out.
func (out *signed) annotations(in *Instance) (map[string]string, error) {
	ann := map[string]string{"dev.cosignproject.cosign/signature": ""}
	if out.envelope == nil {
		ann["dev.cosignproject.cosign/signature"] = base64.StdEncoding.EncodeToString(out.sig)
	}
	if out.cert != nil {
		ann["dev.sigstore.cosign/certificate"] = string(out.publicPEM)
		chain, err := cryptoutils.MarshalCertificatesToPEM([]*x509.Certificate{in.fulcio, in.fulcioRoot})
		if err != nil {
			return nil, err
		}
		ann["dev.sigstore.cosign/chain"] = string(chain)
	}
	if out.entryJSON != nil {
		ann["dev.sigstore.cosign/bundle"] = string(out.entryJSON)
	}
	return ann, nil
}

// AttestationBundle signs an in-toto statement and returns the Sigstore
// bundle, as GitHub's attest-build-provenance and `cosign attest
// --new-bundle-format` write it.
func (s *Signer) AttestationBundle(statement []byte) ([]byte, error) {
	out, err := s.signDSSE(statement)
	if err != nil {
		return nil, err
	}
	return out.bundle()
}

// DigestBundle signs a manifest digest ("sha256:<hex>") itself and returns
// the Sigstore bundle of that message signature.
func (s *Signer) DigestBundle(digest string) ([]byte, error) {
	raw, err := hexDigest(digest)
	if err != nil {
		return nil, err
	}
	out, err := s.signMessage(raw, true)
	if err != nil {
		return nil, err
	}
	return out.bundle()
}

// ClassicSignature signs the image repository@digest as `cosign sign`
// does without the new bundle format: a layer of a .sig manifest.
func (s *Signer) ClassicSignature(repository, digest string) (Layer, error) {
	payload, err := json.Marshal(map[string]any{
		"critical": map[string]any{
			"identity": map[string]string{"docker-reference": repository},
			"image":    map[string]string{"docker-manifest-digest": digest},
			"type":     "cosign container image signature",
		},
		"optional": nil,
	})
	if err != nil {
		return Layer{}, err
	}
	out, err := s.signMessage(payload, false)
	if err != nil {
		return Layer{}, err
	}
	ann, err := out.annotations(s.in)
	return Layer{MediaType: SimpleSigningMediaType, Content: payload, Annotations: ann}, err
}

// ClassicAttestation signs an in-toto statement as `cosign attest` does
// without the new bundle format: a layer of a .att manifest.
func (s *Signer) ClassicAttestation(statement []byte) (Layer, error) {
	out, err := s.signDSSE(statement)
	if err != nil {
		return Layer{}, err
	}
	env, err := json.Marshal(out.envelope)
	if err != nil {
		return Layer{}, err
	}
	ann, err := out.annotations(s.in)
	return Layer{MediaType: DSSEMediaType, Content: env, Annotations: ann}, err
}

func hexDigest(digest string) ([]byte, error) {
	const prefix = "sha256:"
	if len(digest) != len(prefix)+64 || digest[:len(prefix)] != prefix {
		return nil, fmt.Errorf("not a sha256 digest: %q", digest)
	}
	return hex.DecodeString(digest[len(prefix):])
}
