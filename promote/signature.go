package promote

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/promote/internal/attach"
	"github.com/molecule-ai/promote/promote/internal/sigcheck"
)

// signaturesNotChecked is what every report says when no signature policy
// was set, so that its absence shows.
const signaturesNotChecked = "not checked"

// attachments reads what is attached to manifests of c's repository,
// within the limits that keep an attacker from exhausting the run.
func (c *repoClient) attachments() attach.Reader {
	return attach.For(c.Client)
}

// checkSignatures starts verifying the signatures of the manifest with
// digest d in c's repository against the signature policy, if one is set, and
// returns a function that waits for the result. A signature may name c's
// repository or one of also (the source of a copy). With the zero sha
// nothing is compared with a commit.
func (c *repoClient) checkSignatures(ctx context.Context, d v1.Hash, s SHA, also ...name.Repository) func() (*Signature, error) {
	pol := c.signatures
	if pol == nil {
		return func() (*Signature, error) { return nil, nil }
	}
	var sig *Signature
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		subject := sigcheck.Subject{Digest: d, Repositories: append([]name.Repository{c.Repo()}, also...)}
		if !s.IsZero() {
			subject.Commit = s.String()
		}
		var proof *sigcheck.Proof
		proof, err = pol.Check(ctx, c.attachments(), subject)
		sig, err = signatureOf(proof), signatureError(err)
	}()
	return func() (*Signature, error) {
		select {
		case <-done:
			return sig, err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// signatureKinds names, for each kind of failure of the gate, the kind a
// caller sees.
var signatureKinds = map[sigcheck.Kind]SignatureErrorKind{
	sigcheck.Unsigned:        Unsigned,
	sigcheck.Unverifiable:    Unverifiable,
	sigcheck.OtherDigest:     WrongDigest,
	sigcheck.OtherIdentity:   WrongIdentity,
	sigcheck.OtherRepository: WrongRepository,
	sigcheck.OtherCommit:     WrongCommit,
	sigcheck.NoProvenance:    NoProvenance,
	sigcheck.LimitExceeded:   LimitExceeded,
	sigcheck.Unreadable:      SignaturesUnreadable,
}

// signatureError turns the gate's failure into [*SignatureError]s, said as
// the gate says them; any other error is returned as it is.
func signatureError(err error) error {
	se, ok := err.(*sigcheck.Error)
	if !ok {
		return err
	}
	out := &signatureFailure{text: se.Error()}
	for _, f := range se.Failures {
		out.errs = append(out.errs, &SignatureError{Kind: signatureKinds[f.Kind], Provenance: f.Provenance, Reason: f.Reason, Err: f.Err})
	}
	return out
}

// signatureFailure is why an image failed the signature policy: one or two
// [*SignatureError]s, said on one line.
type signatureFailure struct {
	text string
	errs []error
}

func (e *signatureFailure) Error() string   { return e.text }
func (e *signatureFailure) Unwrap() []error { return e.errs }

// signatureOf is the report entry of what verified an image.
func signatureOf(p *sigcheck.Proof) *Signature {
	if p == nil {
		return nil
	}
	sig := &Signature{Identity: p.Identity, Issuer: p.Issuer, Key: p.Key, Commit: p.Commit, FoundIn: p.FoundIn, TransparencyLog: p.TransparencyLog}
	if p.Provenance != nil {
		sig.Provenance = &Provenance{Commit: p.Provenance.Commit, FoundIn: p.Provenance.FoundIn}
	}
	return sig
}

// describePolicy records the policy in the report, so that a reader knows what
// the signatures were checked against, or that they were not.
func describePolicy(pol *sigcheck.Policy, rep *Report) {
	if pol == nil {
		rep.Signatures = signaturesNotChecked
		return
	}
	rep.Signatures = "checked"
	rep.SignaturePolicy, rep.InsecureIgnoreTlog = pol.Summary(), pol.IgnoresTlog()
}

// backupSignatures verifies the signatures of the backups that a rollback
// moves the target tags to, concurrently; nil without a signature policy.
// No commit is known, so none is compared.
func (c *repoClient) backupSignatures(ctx context.Context, backups []*remote.Descriptor, also ...name.Repository) ([]*Signature, error) {
	if c.signatures == nil {
		return nil, nil
	}
	waits := make([]func() (*Signature, error), len(backups))
	for t, bk := range backups {
		waits[t] = c.checkSignatures(ctx, bk.Digest, SHA{}, also...)
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
