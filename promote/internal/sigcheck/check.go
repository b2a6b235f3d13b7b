package sigcheck

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"golang.org/x/sync/errgroup"

	"github.com/molecule-ai/promote/promote/internal/attach"
)

// slsaProvenanceV1 is the predicate type of SLSA v1 build provenance.
const slsaProvenanceV1 = "https://slsa.dev/provenance/v1"

// Subject is the image a check is about.
type Subject struct {
	// Digest is the manifest digest that must be signed.
	Digest v1.Hash
	// Repositories are the repositories a signature may name: the one the
	// image is read from and, for a copy, its source. They are compared
	// by path, whatever the registry host (see [SameRepository]).
	Repositories []name.Repository
	// Commit is the 40-character commit sha that certificates and
	// provenance must name; empty compares no commit.
	Commit string
}

// Proof is what verified an image: who signed, where it was found, and the
// provenance when it was required. Every field was verified.
type Proof struct {
	// Identity and Issuer are the keyless certificate's identity and OIDC
	// issuer; Commit is the source commit it names, if any.
	Identity, Issuer, Commit string
	// Key is the public key's fingerprint, for a key-based signature.
	Key string
	// FoundIn is where the signature was found: its scheme and reference.
	FoundIn string
	// TransparencyLog is set when a log entry was verified.
	TransparencyLog bool
	// Provenance is the verified provenance, when it was required.
	Provenance *ProvenanceProof
}

// ProvenanceProof is a verified SLSA provenance attestation.
type ProvenanceProof struct {
	// Commit is the source commit it names; FoundIn is where it was found.
	Commit, FoundIn string
}

// stage is how far one signature got through verification. Of the
// signatures that failed, the one that got furthest explains the failure.
type stage int

const (
	stageUnreadable stage = iota
	stageOtherDigest
	stageUnverified
	stageOtherIdentity
	stageOtherRepository
	stageOtherCommit
	stageVerified
)

// verdict is the outcome of verifying one signature: small, so that the
// payload it was read from can be dropped at once.
type verdict struct {
	stage  stage
	reason string
	where  string
	// cert summarises the signing certificate of a keyless signature.
	cert *certificate.Summary
	// predicateType is an attestation's; provenanceCommit and
	// provenanceErr are read from a verified SLSA provenance.
	predicateType    string
	provenanceCommit string
	provenanceErr    error
}

// signed is one signature or attestation, ready to be verified.
type signed struct {
	bundle *bundle.Bundle
	// payload is the signed payload of a cosign classic signature.
	payload []byte
}

// Check reads what is attached to the subject's digest in r's repository
// and verifies it under the policy. It returns what proves the image
// signed, or an error that says why it is not. Payloads are read a few at
// a time, within r's limits, and each is dropped once judged.
func (pol *Policy) Check(ctx context.Context, r attach.Reader, s Subject) (*Proof, error) {
	var (
		wg       sync.WaitGroup
		material root.TrustedMaterial
		tmErr    error
	)
	wg.Go(func() { material, tmErr = pol.material(ctx) })
	found, readErr := r.List(ctx, s.Digest, attach.Filter{Referrers: attach.MayBeSigstoreBundle, CosignSig: true, CosignAtt: true})
	wg.Wait()
	var limit *attach.LimitError
	if errors.As(readErr, &limit) {
		return nil, oneFailure(LimitExceeded, "not verified: "+limit.Error(), limit)
	}
	if readErr != nil && len(found) == 0 {
		return nil, oneFailure(Unreadable, "cannot read signatures: "+Escape(readErr.Error()), nil)
	}
	if tmErr != nil {
		return nil, tmErr
	}
	v, err := pol.verifier(material)
	if err != nil {
		return nil, err
	}
	type layerOf struct {
		from  attach.Attachment
		layer v1.Descriptor
	}
	var layers []layerOf
	for _, a := range found {
		for _, l := range a.Manifest.Layers {
			if a.Scheme == attach.Referrers && !attach.IsSigstoreBundle(string(l.MediaType)) {
				continue
			}
			layers = append(layers, layerOf{a, l})
		}
	}
	verdicts := make([]verdict, len(layers))
	budget := r.NewBudget()
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var g errgroup.Group
	g.SetLimit(concurrency(r))
	var limitOnce sync.Once
	for i, l := range layers {
		if lctx.Err() != nil {
			break
		}
		g.Go(func() error {
			sg, err := read(lctx, r, budget, l.from, l.layer)
			if errors.As(err, new(*attach.LimitError)) {
				limitOnce.Do(func() { limit = err.(*attach.LimitError) })
				cancel()
				return nil
			}
			verdicts[i] = pol.judge(v, sg, err, l.from.Where(), s)
			return nil
		})
	}
	g.Wait()
	if limit != nil {
		return nil, oneFailure(LimitExceeded, "not verified: "+limit.Error(), limit)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	var problems []*Failure
	best := bestVerdict(verdicts, func(verdict) bool { return true })
	switch {
	case best == nil:
		problems = append(problems, &Failure{Kind: Unsigned, Reason: "not signed: no Sigstore signature or attestation is attached (looked at the referrers and cosign's .sig and .att tags)"})
	case best.stage != stageVerified:
		problems = append(problems, &Failure{Kind: kindOf(best.stage), Reason: best.reason})
	}
	var prov *ProvenanceProof
	if pol.requireProvenance {
		var failure *Failure
		prov, failure = provenance(verdicts, s)
		if failure != nil {
			problems = append(problems, failure)
		}
	}
	if len(problems) > 0 {
		e := &Error{Failures: problems}
		if readErr != nil {
			e.unread = Escape(readErr.Error())
		}
		return nil, e
	}
	proof := pol.proof(best)
	proof.Provenance = prov
	return proof, nil
}

func concurrency(r attach.Reader) int {
	if r.Limits.Concurrency > 0 {
		return r.Limits.Concurrency
	}
	return attach.DefaultLimits.Concurrency
}

// read reads one layer of an attachment as a signature.
func read(ctx context.Context, r attach.Reader, budget *attach.Budget, from attach.Attachment, layer v1.Descriptor) (*signed, error) {
	blob, err := r.ReadLayer(ctx, budget, layer)
	if err != nil {
		return nil, err
	}
	if from.Scheme != attach.Referrers {
		b, payload, err := classicBundle(layer, blob)
		if err != nil {
			return nil, err
		}
		return &signed{bundle: b, payload: payload}, nil
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(blob); err != nil {
		return nil, fmt.Errorf("parsing the bundle: %w", err)
	}
	return &signed{bundle: &b}, nil
}

// judge verifies one signature, or says why readErr kept it from being read.
func (pol *Policy) judge(v *verify.Verifier, sg *signed, readErr error, where string, s Subject) verdict {
	out := verdict{where: where}
	fail := func(st stage, format string, args ...any) verdict {
		out.stage, out.reason = st, fmt.Sprintf(format, args...)+" ("+where+")"
		return out
	}
	if readErr != nil {
		return fail(stageUnreadable, "tampered or unverifiable: %s", Escape(readErr.Error()))
	}
	named, statement, err := signedSubjects(sg)
	if err != nil {
		return fail(stageUnreadable, "tampered or unverifiable: %s", Escape(err.Error()))
	}
	if statement != nil {
		out.predicateType = statement.GetPredicateType()
	}
	subject := named.find(s.Digest)
	if subject == nil {
		return fail(stageOtherDigest, "signature for another digest: it names %s, not %s", named.digests(), s.Digest)
	}

	content, err := sg.bundle.VerificationContent()
	if err != nil {
		return fail(stageUnreadable, "tampered or unverifiable: %s", Escape(err.Error()))
	}
	if cert := content.Certificate(); cert != nil {
		if pol.key != nil {
			// The certificate is not verified under a key policy: name nothing of it.
			return fail(stageOtherIdentity, "signed by another identity or issuer: by a certificate, not with the key")
		}
		sum, err := certificate.SummarizeCertificate(cert)
		if err != nil {
			return fail(stageUnreadable, "tampered or unverifiable: %s", Escape(err.Error()))
		}
		out.cert = &sum
	} else if pol.identity != nil {
		return fail(stageOtherIdentity, "signed by another identity or issuer: with a key, not by a certificate identity")
	}

	artifact := verify.WithArtifactDigest("sha256", mustHex(s.Digest.Hex))
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
			// sigstore-go matches the identity only once the certificate
			// has verified: it may be named.
			return fail(stageOtherIdentity, "signed by another identity or issuer: %s", pol.describeCert(out.cert))
		case pol.key != nil:
			return fail(stageUnverified, "tampered or unverifiable: does not verify with the key: %s", Escape(err.Error()))
		default:
			return fail(stageUnverified, "tampered or unverifiable: %s", Escape(err.Error()))
		}
	}
	if subject.name != "" && !matchesAny(subject.name, s.Repositories) {
		return fail(stageOtherRepository, "signature for another repository: it names %s, not %s", Quote(subject.name), repositoryPaths(s.Repositories))
	}
	if out.cert != nil {
		if c := out.cert.Extensions.SourceRepositoryDigest; c != "" && !commitMatches(c, s.Commit) {
			return fail(stageOtherCommit, "signed at another commit: its certificate names %s, not %s", Quote(c), s.Commit)
		}
	}
	if out.predicateType == slsaProvenanceV1 {
		out.provenanceCommit, out.provenanceErr = provenanceCommit(statement)
	}
	out.stage = stageVerified
	return out
}

// describeCert names a verified certificate's signer, with the GitHub
// claims the policy constrains.
func (pol *Policy) describeCert(c *certificate.Summary) string {
	out := Quote(c.SubjectAlternativeName) + " from " + Quote(c.Extensions.Issuer)
	for _, x := range []struct{ name, want, got string }{
		{"repository", pol.github.Repository, c.Extensions.GithubWorkflowRepository},
		{"ref", pol.github.Ref, c.Extensions.GithubWorkflowRef},
		{"sha", pol.github.SHA, c.Extensions.GithubWorkflowSHA},
		{"trigger", pol.github.Trigger, c.Extensions.GithubWorkflowTrigger},
		{"name", pol.github.Name, c.Extensions.GithubWorkflowName},
	} {
		if x.want != "" && x.want != x.got {
			out += fmt.Sprintf(", GitHub workflow %s %s, not %s", x.name, Quote(x.got), Quote(x.want))
		}
	}
	return out
}

// provenance finds a verified SLSA v1 provenance attestation that names the
// commit, and says why there is none otherwise.
func provenance(verdicts []verdict, s Subject) (*ProvenanceProof, *Failure) {
	isProvenance := func(v verdict) bool { return v.predicateType == slsaProvenanceV1 }
	var failed []verdict
	for _, v := range verdicts {
		if !isProvenance(v) {
			continue
		}
		if v.stage != stageVerified {
			failed = append(failed, v)
			continue
		}
		switch commit := v.provenanceCommit; {
		case v.provenanceErr != nil:
			v.stage, v.reason = stageUnverified, "tampered or unverifiable provenance: "+Escape(v.provenanceErr.Error())
		case commit == "":
			v.stage, v.reason = stageOtherCommit, "provenance for another commit: it names no source commit"
		case !commitMatches(commit, s.Commit):
			v.stage, v.reason = stageOtherCommit, fmt.Sprintf("provenance for another commit: it names %s, not %s", Quote(commit), s.Commit)
		case v.cert != nil && v.cert.Extensions.SourceRepositoryDigest == "":
			v.stage, v.reason = stageOtherCommit, "provenance for another commit: its certificate names no source commit"
		default:
			return &ProvenanceProof{Commit: commit, FoundIn: v.where}, nil
		}
		v.reason += " (" + v.where + ")"
		failed = append(failed, v)
	}
	if best := bestVerdict(failed, isProvenance); best != nil {
		return nil, &Failure{Kind: kindOf(best.stage), Provenance: true, Reason: best.reason}
	}
	return nil, &Failure{Kind: NoProvenance, Provenance: true, Reason: "no provenance: no " + slsaProvenanceV1 + " attestation is attached"}
}

// bestVerdict returns the verdict that keep accepts and that got furthest,
// the first of equals; nil when there is none.
func bestVerdict(verdicts []verdict, keep func(verdict) bool) *verdict {
	var best *verdict
	for i := range verdicts {
		if verdicts[i].where == "" {
			continue // not read: a limit stopped the check
		}
		if keep(verdicts[i]) && (best == nil || verdicts[i].stage > best.stage) {
			best = &verdicts[i]
		}
	}
	return best
}

// proof turns a verified signature into what the report shows.
func (pol *Policy) proof(v *verdict) *Proof {
	p := &Proof{FoundIn: v.where, TransparencyLog: !pol.ignoreTlog}
	if v.cert != nil {
		p.Identity = v.cert.SubjectAlternativeName
		p.Issuer = v.cert.Extensions.Issuer
		p.Commit = v.cert.Extensions.SourceRepositoryDigest
	} else {
		p.Key = pol.keyID
	}
	return p
}

// commitMatches reports whether commit is the 40-character sha; an empty
// sha matches anything.
func commitMatches(commit, sha string) bool {
	return sha == "" || (len(commit) == 40 && strings.EqualFold(commit, sha))
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
