package sigcheck

import (
	"strconv"
	"strings"
)

// maxQuoted bounds how much of one registry-supplied string is shown.
const maxQuoted = 200

// Quote shows a string from the registry: as it is when it is a plain
// token (a digest, a commit, a URL, a reference), otherwise as a quoted Go
// string, cut to a readable length. No control character, space, newline
// or markup survives as is.
func Quote(s string) string {
	if len(s) > maxQuoted {
		s = s[:maxQuoted] + "…"
	}
	if s != "" && !strings.HasPrefix(s, "::") && strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	return strconv.Quote(s)
}

// unsafeRune reports whether r may not appear unquoted: anything but the
// letters, digits and punctuation of digests, URLs and references.
func unsafeRune(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	}
	return !strings.ContainsRune("._-:/@+=~%?#,", r)
}

// Escape keeps a message that may hold registry text on one line: control
// characters, newlines included, become Go escapes.
func Escape(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
