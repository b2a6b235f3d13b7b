package sigcheck

import "strings"

// Kind classifies why an image's signatures do not satisfy a policy.
type Kind int

// The kinds of failure, from a signature that is missing to one that
// verified but names something else. [Check] reports, of the signatures it
// read, the one that got furthest.
const (
	// Unsigned: nothing that could be a signature is attached.
	Unsigned Kind = iota + 1
	// Unverifiable: a signature is malformed, tampered with, or does not
	// verify against the trusted material or the key.
	Unverifiable
	// OtherDigest: a signature verifies but signs another digest.
	OtherDigest
	// OtherIdentity: a signature is by another identity, issuer or key.
	OtherIdentity
	// OtherRepository: a signature names another repository.
	OtherRepository
	// OtherCommit: a certificate or a provenance names another commit, or
	// none.
	OtherCommit
	// NoProvenance: provenance is required and none is attached.
	NoProvenance
	// LimitExceeded: the image carries more attachments, or bigger ones,
	// than the limits allow; nothing was verified.
	LimitExceeded
	// Unreadable: the signatures could not be read from the registry.
	Unreadable
)

// Failure is one reason an image is not verified.
type Failure struct {
	Kind Kind
	// Provenance is set when the failure concerns the required
	// provenance attestation rather than the image's signature.
	Provenance bool
	// Reason says what is wrong, with registry text escaped.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

func (f *Failure) Error() string { return f.Reason }

// Unwrap returns the underlying error.
func (f *Failure) Unwrap() error { return f.Err }

// Error is why [Check] found an image not verified: the signature's
// failure, the provenance's, or both, said on one line.
type Error struct {
	Failures []*Failure
	// unread, when set, says that some signatures could not be read.
	unread string
}

func (e *Error) Error() string {
	reasons := make([]string, 0, len(e.Failures)+1)
	for _, f := range e.Failures {
		reasons = append(reasons, f.Reason)
	}
	if e.unread != "" {
		reasons = append(reasons, "and some signatures could not be read: "+e.unread)
	}
	return strings.Join(reasons, "; ")
}

// Unwrap returns the failures.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f
	}
	return errs
}

// oneFailure is the error of a check that failed for one reason.
func oneFailure(kind Kind, reason string, err error) *Error {
	return &Error{Failures: []*Failure{{Kind: kind, Reason: reason, Err: err}}}
}

// kindOf is the kind of failure of a signature that stopped at st.
func kindOf(st stage) Kind {
	switch st {
	case stageOtherDigest:
		return OtherDigest
	case stageOtherIdentity:
		return OtherIdentity
	case stageOtherRepository:
		return OtherRepository
	case stageOtherCommit:
		return OtherCommit
	default:
		return Unverifiable
	}
}
