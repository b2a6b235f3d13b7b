package promote

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	in_toto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"
)

// slsaProvenanceV1 is the predicate type of SLSA v1 build provenance.
const slsaProvenanceV1 = "https://slsa.dev/provenance/v1"

// signed is one signature or attestation found for an image, ready to be
// verified.
type signed struct {
	// where names the manifest it was found in.
	where string
	// bundle is the Sigstore bundle, as stored or as assembled from
	// cosign's classic annotations.
	bundle *bundle.Bundle
	// payload is the signed payload of a cosign classic signature: a
	// simple-signing document naming the image digest.
	payload []byte
	// err says why it could not be read.
	err error
}

// stage is how far one signature got through verification. Of the
// signatures that failed, the one that got furthest explains the failure.
type stage int

const (
	stageUnreadable stage = iota
	stageOtherDigest
	stageUnverified
	stageOtherIdentity
	stageOtherCommit
	stageVerified
)

// verdict is the outcome of verifying one signature.
type verdict struct {
	stage  stage
	reason string
	from   *signed
	// cert summarises the signing certificate of a keyless signature.
	cert *certificate.Summary
	// statement is the in-toto statement of an attestation.
	statement *in_toto.Statement
}

// checkSignatures starts verifying the signatures of the manifest with
// digest d in c's repository against the signature policy, if one is set, and
// returns a function that waits for the result. With the zero sha nothing
// is compared with a commit.
func (c *repoClient) checkSignatures(ctx context.Context, d v1.Hash, s SHA) func() (*Signature, error) {
	pol := c.opts.signatures
	if pol == nil {
		return func() (*Signature, error) { return nil, nil }
	}
	var sig *Signature
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		sig, err = pol.check(ctx, c, d, s)
	}()
	return func() (*Signature, error) {
		<-done
		return sig, err
	}
}

// describe records the policy in the report, so that a reader knows what
// the signatures were checked against.
func (pol *signaturePolicy) describe(rep *Report) {
	if pol != nil {
		rep.SignaturePolicy, rep.InsecureIgnoreTlog = pol.summary, pol.ignoreTlog
	}
}

// backupSignatures verifies the signatures of the backups that a rollback
// moves the target tags to, concurrently; nil without a signature policy.
// No commit is known, so none is compared.
func (c *repoClient) backupSignatures(ctx context.Context, backups []*remote.Descriptor) ([]*Signature, error) {
	if c.opts.signatures == nil {
		return nil, nil
	}
	waits := make([]func() (*Signature, error), len(backups))
	for t, bk := range backups {
		waits[t] = c.checkSignatures(ctx, bk.Digest, SHA{})
	}
	sigs := make([]*Signature, len(backups))
	var errs []error
	for t, wait := range waits {
		var err error
		if sigs[t], err = wait(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", backups[t].Digest, err))
		}
	}
	return sigs, errors.Join(errs...)
}

// check reads what is attached to d and verifies it: the trusted root, if
// it must be fetched, is fetched meanwhile.
func (pol *signaturePolicy) check(ctx context.Context, c *repoClient, d v1.Hash, s SHA) (*Signature, error) {
	var (
		wg       sync.WaitGroup
		material root.TrustedMaterial
		tmErr    error
	)
	wg.Go(func() { material, tmErr = pol.material() })
	found, readErr := c.signatures(ctx, d)
	wg.Wait()
	if readErr != nil && len(found) == 0 {
		return nil, fmt.Errorf("cannot read signatures: %w", readErr)
	}
	if tmErr != nil {
		return nil, tmErr
	}
	v, err := pol.verifier(material)
	if err != nil {
		return nil, err
	}
	verdicts := make([]verdict, len(found))
	for i := range found {
		verdicts[i] = pol.judge(v, &found[i], d, s)
	}

	var problems []string
	best := bestVerdict(verdicts, func(verdict) bool { return true })
	switch {
	case best == nil:
		problems = append(problems, "not signed: no Sigstore signature or attestation is attached (looked at the referrers and cosign's .sig and .att tags)")
	case best.stage != stageVerified:
		problems = append(problems, best.reason)
	}
	var prov *Provenance
	if pol.requireProvenance {
		var reason string
		prov, reason = pol.provenance(verdicts, s)
		if reason != "" {
			problems = append(problems, reason)
		}
	}
	if len(problems) > 0 {
		if readErr != nil {
			problems = append(problems, "and some signatures could not be read: "+readErr.Error())
		}
		return nil, errors.New(strings.Join(problems, "; "))
	}
	sig := pol.describeSignature(best)
	sig.Provenance = prov
	return sig, nil
}

// signatures reads every signature and attestation attached to d: the
// bundles of its Sigstore referrers and each layer of cosign's .sig and .att
// tags, all concurrently. What could be read is returned with the error of
// what could not.
func (c *repoClient) signatures(ctx context.Context, d v1.Hash) ([]signed, error) {
	found, err := c.attached(ctx, d, attachmentFilter{referrers: mayBeSigstoreBundle, cosignSig: true, cosignAtt: true})
	type layerOf struct {
		from  attachment
		layer v1.Descriptor
	}
	var layers []layerOf
	for _, a := range found {
		for _, l := range a.manifest.Layers {
			if a.scheme == schemeReferrers && !isSigstoreBundle(string(l.MediaType)) {
				continue
			}
			layers = append(layers, layerOf{a, l})
		}
	}
	out := make([]signed, len(layers))
	var wg sync.WaitGroup
	for i, l := range layers {
		wg.Go(func() { out[i] = c.readSigned(ctx, l.from, l.layer) })
	}
	wg.Wait()
	return out, err
}

// readSigned reads one layer of an attachment as a signature.
func (c *repoClient) readSigned(ctx context.Context, from attachment, layer v1.Descriptor) signed {
	sg := signed{where: from.where()}
	blob, err := c.readBlob(ctx, layer)
	if err != nil {
		sg.err = err
		return sg
	}
	if from.scheme != schemeReferrers {
		sg.bundle, sg.payload, sg.err = classicBundle(layer, blob)
		return sg
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(blob); err != nil {
		sg.err = fmt.Errorf("parsing the bundle: %w", err)
		return sg
	}
	sg.bundle = &b
	return sg
}

// material is the trust material that signatures verify against.
func (pol *signaturePolicy) material() (root.TrustedMaterial, error) {
	if pol.key == nil {
		return pol.fetchTrustedRoot()
	}
	keys := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(pol.key, time.Time{}, time.Time{}), nil
	})
	if pol.ignoreTlog {
		return keys, nil
	}
	tr, err := pol.fetchTrustedRoot()
	if err != nil {
		return nil, err
	}
	return root.TrustedMaterialCollection{tr, keys}, nil
}

// verifier checks what cosign checks by default: for keyless signatures the
// certificate chain, an embedded SCT and a transparency-log entry whose
// time (or a signed timestamp) falls in the certificate's validity; for
// key-based ones the log entry unless it is explicitly ignored.
func (pol *signaturePolicy) verifier(material root.TrustedMaterial) (*verify.Verifier, error) {
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

// judge verifies one signature of the manifest with digest d.
func (pol *signaturePolicy) judge(v *verify.Verifier, sg *signed, d v1.Hash, s SHA) verdict {
	out := verdict{from: sg}
	fail := func(st stage, format string, args ...any) verdict {
		out.stage, out.reason = st, fmt.Sprintf(format, args...)+" ("+sg.where+")"
		return out
	}
	if sg.err != nil {
		return fail(stageUnreadable, "tampered or unverifiable: %v", sg.err)
	}
	named, statement, err := signedDigests(sg)
	if err != nil {
		return fail(stageUnreadable, "tampered or unverifiable: %v", err)
	}
	out.statement = statement
	if !containsFold(named, d.String()) {
		return fail(stageOtherDigest, "signature for another digest: it names %s, not %s", strings.Join(named, ", "), d)
	}

	content, err := sg.bundle.VerificationContent()
	if err != nil {
		return fail(stageUnreadable, "tampered or unverifiable: %v", err)
	}
	if cert := content.Certificate(); cert != nil {
		sum, err := certificate.SummarizeCertificate(cert)
		if err != nil {
			return fail(stageUnreadable, "tampered or unverifiable: %v", err)
		}
		out.cert = &sum
		if pol.key != nil {
			return fail(stageOtherIdentity, "signed by another identity or issuer: keyless by %s from %s, not with the key", sum.SubjectAlternativeName, sum.Extensions.Issuer)
		}
	} else if pol.identity != nil {
		return fail(stageOtherIdentity, "signed by another identity or issuer: with a key, not by a certificate identity")
	}

	artifact := verify.WithArtifactDigest("sha256", mustHex(d.Hex))
	if sg.payload != nil {
		artifact = verify.WithArtifact(bytes.NewReader(sg.payload))
	}
	identity := verify.WithKey()
	if pol.identity != nil {
		identity = verify.WithCertificateIdentity(*pol.identity)
	}
	if _, err := v.Verify(sg.bundle, verify.NewPolicy(artifact, identity)); err != nil {
		var mismatch *verify.ErrNoMatchingCertificateIdentity
		switch {
		case errors.As(err, &mismatch) && out.cert != nil:
			return fail(stageOtherIdentity, "signed by another identity or issuer: %s from %s", out.cert.SubjectAlternativeName, out.cert.Extensions.Issuer)
		case pol.key != nil:
			return fail(stageUnverified, "tampered or unverifiable: does not verify with the key: %v", err)
		default:
			return fail(stageUnverified, "tampered or unverifiable: %v", err)
		}
	}
	if out.cert != nil {
		if c := out.cert.Extensions.SourceRepositoryDigest; c != "" && !commitMatches(c, s) {
			return fail(stageOtherCommit, "signed at another commit: its certificate names %s, not %s", c, s)
		}
	}
	out.stage = stageVerified
	return out
}

// provenance finds a verified SLSA v1 provenance attestation that names the
// commit s, and says why there is none otherwise.
func (pol *signaturePolicy) provenance(verdicts []verdict, s SHA) (*Provenance, string) {
	isProvenance := func(v verdict) bool {
		return v.statement != nil && v.statement.GetPredicateType() == slsaProvenanceV1
	}
	var failed []verdict
	for _, v := range verdicts {
		if !isProvenance(v) {
			continue
		}
		if v.stage != stageVerified {
			failed = append(failed, v)
			continue
		}
		commit, err := provenanceCommit(v.statement)
		switch {
		case err != nil:
			v.stage, v.reason = stageUnverified, "tampered or unverifiable provenance: "+err.Error()
		case commit == "":
			v.stage, v.reason = stageOtherCommit, "provenance for another commit: it names no source commit"
		case !commitMatches(commit, s):
			v.stage, v.reason = stageOtherCommit, fmt.Sprintf("provenance for another commit: it names %s, not %s", commit, s)
		case v.cert != nil && v.cert.Extensions.SourceRepositoryDigest == "":
			v.stage, v.reason = stageOtherCommit, "provenance for another commit: its certificate names no source commit"
		default:
			return &Provenance{Commit: commit, FoundIn: v.from.where}, ""
		}
		v.reason += " (" + v.from.where + ")"
		failed = append(failed, v)
	}
	if best := bestVerdict(failed, isProvenance); best != nil {
		return nil, best.reason
	}
	return nil, "no provenance: no " + slsaProvenanceV1 + " attestation is attached"
}

// bestVerdict returns the verdict that keep accepts and that got furthest,
// the first of equals; nil when there is none.
func bestVerdict(verdicts []verdict, keep func(verdict) bool) *verdict {
	var best *verdict
	for i := range verdicts {
		if keep(verdicts[i]) && (best == nil || verdicts[i].stage > best.stage) {
			best = &verdicts[i]
		}
	}
	return best
}

// describeSignature turns a verified signature into its report entry.
func (pol *signaturePolicy) describeSignature(v *verdict) *Signature {
	sig := &Signature{FoundIn: v.from.where, TransparencyLog: !pol.ignoreTlog}
	if v.cert != nil {
		sig.Identity = v.cert.SubjectAlternativeName
		sig.Issuer = v.cert.Extensions.Issuer
		sig.Commit = v.cert.Extensions.SourceRepositoryDigest
	} else {
		sig.Key = pol.keyID
	}
	return sig
}

// signedDigests lists the manifest digests that a signature names: the
// subjects of an in-toto statement (returned as well), the digest of a
// message signature, or the digest in a cosign simple-signing payload.
func signedDigests(sg *signed) ([]string, *in_toto.Statement, error) {
	if sg.payload != nil {
		d, err := simpleSigningDigest(sg.payload)
		if err != nil {
			return nil, nil, err
		}
		return []string{d}, nil, nil
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
		var named []string
		for _, sub := range st.GetSubject() {
			if h := sub.GetDigest()["sha256"]; h != "" {
				named = append(named, "sha256:"+h)
			}
		}
		return named, st, nil
	}
	msg := content.MessageSignatureContent()
	if msg == nil {
		return nil, nil, errors.New("the bundle holds no signature")
	}
	if msg.DigestAlgorithm() != "SHA2_256" {
		return nil, nil, fmt.Errorf("message digest algorithm %s is not SHA2_256", msg.DigestAlgorithm())
	}
	return []string{"sha256:" + hex.EncodeToString(msg.Digest())}, nil, nil
}

// commitMatches reports whether commit is the sha s: equal to a full sha,
// starting with a short one. The zero sha matches anything.
func commitMatches(commit string, s SHA) bool {
	if s.IsZero() {
		return true
	}
	commit = strings.ToLower(commit)
	if s.IsFull() {
		return commit == s.String()
	}
	return len(commit) == 40 && strings.HasPrefix(commit, s.String())
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// mustHex decodes the hex of a digest that go-containerregistry has
// already validated.
func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(fmt.Sprintf("digest hex %q: %v", s, err))
	}
	return b
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
