package sigcheck

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	in_toto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// subject is one image a signature names: its digest, and its repository
// when the signature names one.
type subject struct {
	digest, name string
}

type subjects []subject

// find returns the subject with digest d, nil when there is none.
func (ss subjects) find(d v1.Hash) *subject {
	for i := range ss {
		if strings.EqualFold(ss[i].digest, d.String()) {
			return &ss[i]
		}
	}
	return nil
}

func (ss subjects) digests() string {
	var out []string
	for _, s := range ss {
		out = append(out, Quote(s.digest))
	}
	return strings.Join(out, ", ")
}

// signedSubjects lists the images that a signature names: the subjects of
// an in-toto statement (returned as well), the digest of a message
// signature, which names no repository, or the digest and docker-reference
// in a cosign simple-signing payload.
func signedSubjects(sg *signed) (subjects, *in_toto.Statement, error) {
	if sg.payload != nil {
		d, ref, err := simpleSigning(sg.payload)
		if err != nil {
			return nil, nil, err
		}
		return subjects{{digest: d, name: ref}}, nil, nil
	}
	content, err := sg.bundle.SignatureContent()
	if err != nil {
		return nil, nil, err
	}
	if env := content.EnvelopeContent(); env != nil {
		st, err := env.Statement()
		if err != nil {
			return nil, nil, fmt.Errorf("reading the attestation's statement: %w", err)
		}
		var named subjects
		for _, sub := range st.GetSubject() {
			if h := sub.GetDigest()["sha256"]; h != "" {
				named = append(named, subject{digest: "sha256:" + h, name: sub.GetName()})
			}
		}
		return named, st, nil
	}
	msg := content.MessageSignatureContent()
	if msg == nil {
		return nil, nil, errors.New("the bundle holds no signature")
	}
	if msg.DigestAlgorithm() != "SHA2_256" {
		return nil, nil, fmt.Errorf("message digest algorithm %s is not SHA2_256", Quote(msg.DigestAlgorithm()))
	}
	return subjects{{digest: "sha256:" + hex.EncodeToString(msg.Digest())}}, nil, nil
}

// provenanceCommit reads the source commit of an SLSA v1 provenance: the
// gitCommit digest of its first resolved dependency that has one, which is
// where GitHub's build provenance records the repository it built.
func provenanceCommit(st *in_toto.Statement) (string, error) {
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return "", err
	}
	var prov slsa.Provenance
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &prov); err != nil {
		return "", fmt.Errorf("parsing the SLSA provenance: %w", err)
	}
	for _, dep := range prov.GetBuildDefinition().GetResolvedDependencies() {
		if c := dep.GetDigest()["gitCommit"]; c != "" {
			return c, nil
		}
	}
	return "", nil
}
