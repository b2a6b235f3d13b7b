package promote

import (
	"regexp"
	"strings"
)

var shaPattern = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

// SHA is a validated git commit sha, lower-cased.
type SHA struct {
	full string
}

// MustParseSHA is [ParseSHA] for constants; it panics on an invalid sha.
func MustParseSHA(s string) SHA {
	sha, err := ParseSHA(s)
	if err != nil {
		panic(err)
	}
	return sha
}

// ParseSHA accepts 7 to 40 hexadecimal characters, in either case, and
// nothing else.
func ParseSHA(s string) (SHA, error) {
	lower := strings.ToLower(s)
	if !shaPattern.MatchString(lower) {
		return SHA{}, invalid("sha", s, "expected a git commit sha: 7 to 40 hexadecimal characters")
	}
	return SHA{full: lower}, nil
}

// String returns the sha as given, lower-cased.
func (s SHA) String() string { return s.full }

// Short returns the first 7 characters of the sha.
func (s SHA) Short() string { return s.full[:7] }

// IsZero reports whether s is the zero SHA, which names no commit.
func (s SHA) IsZero() bool { return s.full == "" }

// IsFull reports whether the sha has all 40 characters, which is what an
// image's revision label can be compared with.
func (s SHA) IsFull() bool { return len(s.full) == 40 }
