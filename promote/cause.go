package promote

import (
	"github.com/molecule-ai/promote/promote/internal/registry"
)

// AccessError is a request that failed for a reason that concerns the whole
// registry, not one image: it cannot be reached, refuses the credentials,
// or did not answer in time. It is reported once per repository, in words
// that name the cause. Its fields are Registry, the registry host as
// written in the image names; Cause, what went wrong, such as "cannot reach
// ghcr.io"; and Err, the underlying error.
type AccessError = registry.AccessError

// isAccessError reports whether err is, or joins only, access errors.
func isAccessError(err error) bool {
	if img, ok := err.(*ImageError); ok {
		return isAccessError(img.Err)
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !isAccessError(e) {
				return false
			}
		}
		return len(j.Unwrap()) > 0
	}
	return registry.IsAccessError(err)
}

// withCauses is err, said as it is, from which [errors.As] also reaches
// causes, such as the [*AccessError] behind a tag that could not be read;
// nil when err is.
func withCauses(err error, causes []error) error {
	if err == nil {
		return nil
	}
	out := &causedError{err: err}
	for _, c := range causes {
		if c != nil {
			out.causes = append(out.causes, c)
		}
	}
	return out
}

// causedError is an error whose text says its causes already.
type causedError struct {
	err    error
	causes []error
}

func (e *causedError) Error() string   { return e.err.Error() }
func (e *causedError) Unwrap() []error { return append([]error{e.err}, e.causes...) }
