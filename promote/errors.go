package promote

import (
	"errors"
	"fmt"
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
