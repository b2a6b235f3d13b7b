package sigcheck

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"
)

// Cosign's classic scheme keeps one signature per layer of the .sig or .att
// manifest: the layer is the signed payload and its annotations carry the
// rest.
const (
	// cosignSignatureAnnotation is the base64 signature of a .sig layer.
	cosignSignatureAnnotation = "dev.cosignproject.cosign/signature"
	// cosignCertificateAnnotation is the PEM signing certificate (keyless).
	cosignCertificateAnnotation = "dev.sigstore.cosign/certificate"
	// cosignChainAnnotation is the PEM chain above the certificate.
	cosignChainAnnotation = "dev.sigstore.cosign/chain"
	// cosignBundleAnnotation is the transparency-log entry with its signed
	// entry timestamp, as Rekor returned it.
	cosignBundleAnnotation = "dev.sigstore.cosign/bundle"
	// cosignTimestampAnnotation is an RFC 3161 signed timestamp.
	cosignTimestampAnnotation = "dev.sigstore.cosign/rfc3161timestamp"
	// dsseMediaType is the media type of a .att layer: a DSSE envelope.
	dsseMediaType = "application/vnd.dsse.envelope.v1+json"
)

// classicBundle assembles a Sigstore bundle from one layer of a cosign .sig
// or .att manifest, whose content is blob. For a signature it also returns
// the signed payload, which is what verification hashes; an attestation's
// payload is inside its envelope. The bundle is checked by sigstore-go as
// it is built; nothing here verifies anything.
func classicBundle(layer v1.Descriptor, blob []byte) (b *bundle.Bundle, payload []byte, err error) {
	material, err := classicMaterial(layer.Annotations)
	if err != nil {
		return nil, nil, err
	}
	pb := &protobundle.Bundle{VerificationMaterial: material}
	if pb.MediaType, err = bundle.MediaTypeString("0.1"); err != nil {
		return nil, nil, err
	}
	if string(layer.MediaType) == dsseMediaType {
		var env protodsse.Envelope
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(blob, &env); err != nil {
			return nil, nil, fmt.Errorf("parsing the DSSE envelope: %w", err)
		}
		pb.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &env}
	} else {
		sig, err := base64.StdEncoding.DecodeString(layer.Annotations[cosignSignatureAnnotation])
		if err != nil || len(sig) == 0 {
			return nil, nil, fmt.Errorf("annotation %s holds no base64 signature", cosignSignatureAnnotation)
		}
		digest := sha256.Sum256(blob)
		pb.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     sig,
		}}
		payload = blob
	}
	b, err = bundle.NewBundle(pb)
	if err != nil {
		return nil, nil, fmt.Errorf("assembling a bundle from cosign's annotations: %w", err)
	}
	return b, payload, nil
}

// classicMaterial reads the certificate chain (or, without one, a key
// hint), the transparency-log entry and the signed timestamp from cosign's
// annotations.
func classicMaterial(ann map[string]string) (*protobundle.VerificationMaterial, error) {
	m := &protobundle.VerificationMaterial{}
	if pem := ann[cosignCertificateAnnotation]; pem != "" {
		certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(pem))
		if err != nil || len(certs) != 1 {
			return nil, fmt.Errorf("annotation %s holds no PEM certificate", cosignCertificateAnnotation)
		}
		if chain := ann[cosignChainAnnotation]; chain != "" {
			above, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(chain))
			if err != nil {
				return nil, fmt.Errorf("annotation %s: %w", cosignChainAnnotation, err)
			}
			certs = append(certs, above...)
		}
		chain := &protocommon.X509CertificateChain{}
		for _, c := range certs {
			chain.Certificates = append(chain.Certificates, &protocommon.X509Certificate{RawBytes: c.Raw})
		}
		m.Content = &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: chain}
	} else {
		m.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}}
	}
	if s := ann[cosignBundleAnnotation]; s != "" {
		entry, err := classicTlogEntry([]byte(s))
		if err != nil {
			return nil, err
		}
		m.TlogEntries = []*protorekor.TransparencyLogEntry{entry}
	}
	if s := ann[cosignTimestampAnnotation]; s != "" {
		var ts struct {
			SignedRFC3161Timestamp []byte
		}
		if err := json.Unmarshal([]byte(s), &ts); err != nil || len(ts.SignedRFC3161Timestamp) == 0 {
			return nil, fmt.Errorf("annotation %s holds no signed timestamp", cosignTimestampAnnotation)
		}
		m.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts.SignedRFC3161Timestamp}},
		}
	}
	return m, nil
}

// classicTlogEntry converts cosign's record of a Rekor entry into the
// bundle's form. Its kind and version are read from the entry body, which
// sigstore-go then parses and checks against them.
func classicTlogEntry(annotation []byte) (*protorekor.TransparencyLogEntry, error) {
	var rb struct {
		SignedEntryTimestamp []byte
		Payload              struct {
			Body           string `json:"body"`
			IntegratedTime int64  `json:"integratedTime"`
			LogIndex       int64  `json:"logIndex"`
			LogID          string `json:"logID"`
		}
	}
	if err := json.Unmarshal(annotation, &rb); err != nil {
		return nil, fmt.Errorf("parsing annotation %s: %w", cosignBundleAnnotation, err)
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("annotation %s: entry body: %w", cosignBundleAnnotation, err)
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, fmt.Errorf("annotation %s: log ID: %w", cosignBundleAnnotation, err)
	}
	var kind struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kind); err != nil || kind.Kind == "" {
		return nil, fmt.Errorf("annotation %s: the entry body names no kind", cosignBundleAnnotation)
	}
	if len(rb.SignedEntryTimestamp) == 0 {
		return nil, fmt.Errorf("annotation %s: no signed entry timestamp", cosignBundleAnnotation)
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          rb.Payload.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
		IntegratedTime:    rb.Payload.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
		CanonicalizedBody: body,
	}, nil
}

// simpleSigning returns the manifest digest that a cosign simple-signing
// payload names, and the repository it names as its docker-reference (""
// when it names none).
func simpleSigning(payload []byte) (digest, reference string, err error) {
	var doc struct {
		Critical struct {
			Identity struct {
				Reference string `json:"docker-reference"`
			} `json:"identity"`
			Image struct {
				Digest string `json:"docker-manifest-digest"`
			} `json:"image"`
		} `json:"critical"`
	}
	if err := json.Unmarshal(payload, &doc); err != nil {
		return "", "", fmt.Errorf("parsing the signed payload: %w", err)
	}
	if doc.Critical.Image.Digest == "" {
		return "", "", errors.New("the signed payload names no image digest")
	}
	return doc.Critical.Image.Digest, doc.Critical.Identity.Reference, nil
}
