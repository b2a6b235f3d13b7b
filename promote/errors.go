package promote

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors that every error returned by a [Promoter] wraps, so callers
// can map outcomes to exit codes with [errors.Is].
var (
	// ErrInvalidInput means an argument or configuration value was rejected
	// before any request was made.
	ErrInvalidInput = errors.New("invalid input")

	// ErrVerification means the operation stopped before writing anything:
	// an image failed a check, a registry could not be read (see
	// [AccessError]), or a rollback had nothing to roll back to. The error
	// names every failing image and its cause.
	ErrVerification = errors.New("verification failed")

	// ErrNotPromoted means the operation failed after verification and the
	// registry is as it was before: nothing moved, or every tag written was
	// put back.
	ErrNotPromoted = errors.New("not promoted")

	// ErrIncomplete means that status found a target tag missing, at a
	// placeholder left by a failed run, or unreadable. The error names
	// every such tag and why.
	ErrIncomplete = errors.New("incomplete")

	// ErrMixedState means the operation failed and the registry is not as it
	// was before: a tag could not be put back, a placeholder could not be
	// deleted, or another promotion or rollback moved tags meanwhile (its
	// tags are left alone and reported as conflicts). The report lists
	// which tag is at which digest.
	ErrMixedState = errors.New("registry left in a mixed state")
)

// InputError describes one rejected input value.
type InputError struct {
	// Field names the input, e.g. "sha" or "repository".
	Field string
	// Value is the rejected value, shortened if long.
	Value string
	// Reason says what is wrong and what is expected.
	Reason string
}

// Error implements error.
func (e *InputError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap makes every InputError match [ErrInvalidInput].
func (e *InputError) Unwrap() error { return ErrInvalidInput }

// invalid returns an *InputError, shortening very long values so that an
// error message stays readable.
func invalid(field, value, reason string) error {
	const maxShown = 80
	if len(value) > maxShown {
		value = value[:maxShown] + "…"
	}
	return &InputError{Field: field, Value: value, Reason: reason}
}

// VerificationError is the error of an operation that stopped before
// writing anything: some images failed a check or could not be read. It
// matches [ErrVerification]. Its text names every failing image with its
// cause, and [errors.As] reaches each cause, such as an [*AccessError] or a
// [*SignatureError], through the images' errors.
type VerificationError struct {
	// Images are the failing images, in the order of the configuration.
	Images []*ImageError
	// heading says what went wrong, e.g. "verification failed for 1 of 2
	// images".
	heading string
}

// Error implements error: the heading, then one line per image.
func (e *VerificationError) Error() string {
	var b strings.Builder
	b.WriteString(e.heading + ":")
	for _, img := range e.Images {
		b.WriteString("\n  " + img.Image + ": " + strings.ReplaceAll(img.Err.Error(), "\n", "\n    "))
	}
	return b.String()
}

// Is makes every VerificationError match [ErrVerification]: nothing was
// written.
func (e *VerificationError) Is(target error) bool { return target == ErrVerification }

// Unwrap returns the error of every failing image.
func (e *VerificationError) Unwrap() []error {
	errs := make([]error, len(e.Images))
	for i, img := range e.Images {
		errs[i] = img
	}
	return errs
}

// ImageError is why one image failed.
type ImageError struct {
	// Image is the image's source reference, such as
	// "ghcr.io/acme/api:staging-abc1234", or its repository where no
	// source is read.
	Image string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *ImageError) Error() string { return e.Image + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ImageError) Unwrap() error { return e.Err }

// SignatureErrorKind classifies why an image's signatures do not satisfy
// the signature policy.
type SignatureErrorKind int

// The kinds of [SignatureError]. Of the signatures an image carries, the
// one that got furthest through verification names the kind.
const (
	// Unsigned means that nothing that could be a signature is attached:
	// no OCI referrer and no cosign .sig or .att tag.
	Unsigned SignatureErrorKind = iota + 1
	// Unverifiable means that a signature is malformed, was tampered
	// with, or does not verify against the trusted root or the key.
	Unverifiable
	// WrongDigest means that a signature verifies, but signs another
	// digest.
	WrongDigest
	// WrongIdentity means that a signature verifies, but is by another
	// certificate identity, issuer or GitHub workflow than the policy
	// names, or by a certificate where a key is expected, or the reverse.
	WrongIdentity
	// WrongRepository means that a signature verifies, but names another
	// repository.
	WrongRepository
	// WrongCommit means that a signing certificate or a provenance
	// attestation names another commit than the one promoted, or none.
	WrongCommit
	// NoProvenance means that the policy requires SLSA provenance and no
	// provenance attestation is attached.
	NoProvenance
	// LimitExceeded means that the image carries more attachments, or
	// bigger ones, than promote reads; nothing was verified.
	LimitExceeded
	// SignaturesUnreadable means that the signatures could not be read
	// from the registry.
	SignaturesUnreadable
)

var signatureErrorKinds = [...]string{
	Unsigned:             "unsigned",
	Unverifiable:         "unverifiable",
	WrongDigest:          "wrong digest",
	WrongIdentity:        "wrong identity",
	WrongRepository:      "wrong repository",
	WrongCommit:          "wrong commit",
	NoProvenance:         "no provenance",
	LimitExceeded:        "limit exceeded",
	SignaturesUnreadable: "signatures unreadable",
}

// String names the kind, e.g. "wrong identity".
func (k SignatureErrorKind) String() string {
	if k > 0 && int(k) < len(signatureErrorKinds) {
		return signatureErrorKinds[k]
	}
	return fmt.Sprintf("SignatureErrorKind(%d)", int(k))
}

// SignatureError is one reason an image's signatures do not satisfy the
// signature policy. An image may fail for two: its signature, and its
// provenance. Every failing image's error wraps at least one, which
// [errors.As] finds.
type SignatureError struct {
	// Kind says what is wrong.
	Kind SignatureErrorKind
	// Provenance is set when the reason concerns the SLSA provenance that
	// the policy requires, rather than the image's signature.
	Provenance bool
	// Reason says what is wrong in words, as the report does, with any
	// text from the registry escaped.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Error implements error.
func (e *SignatureError) Error() string { return e.Reason }

// Unwrap returns the underlying error.
func (e *SignatureError) Unwrap() error { return e.Err }
