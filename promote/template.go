package promote

import (
	"regexp"
	"strings"
)

// tagTemplate is a validated source tag template.
type tagTemplate string

var placeholderPattern = regexp.MustCompile(`\{[^{}]*\}`)

// placeholders maps each known placeholder to what it is replaced with.
var placeholders = map[string]func(SHA) string{
	"{sha}":     SHA.Short,
	"{fullsha}": SHA.String,
}

// parseTemplate rejects unknown placeholders, stray braces, and templates
// that cannot render to a valid tag.
func parseTemplate(s string) (tagTemplate, error) {
	for _, ph := range placeholderPattern.FindAllString(s, -1) {
		if _, ok := placeholders[ph]; !ok {
			return "", invalid("source tag template", s, "unknown placeholder "+ph+"; known: {sha}, {fullsha}")
		}
	}
	if strings.ContainsAny(placeholderPattern.ReplaceAllString(s, ""), "{}") {
		return "", invalid("source tag template", s, "unbalanced '{' or '}'")
	}
	t := tagTemplate(s)
	// The longest rendering uses the 40-character sha.
	longest := t.render(SHA{full: strings.Repeat("0", 40)})
	if !tagPattern.MatchString(longest) {
		return "", invalid("source tag template", s, "does not render to a valid tag (1 to 128 letters, digits, '_', '.' or '-')")
	}
	return t, nil
}

// render replaces every placeholder with its value for sha.
func (t tagTemplate) render(sha SHA) string {
	return placeholderPattern.ReplaceAllStringFunc(string(t), func(ph string) string {
		return placeholders[ph](sha)
	})
}

// isConstant reports whether the template has no placeholder.
func (t tagTemplate) isConstant() bool {
	return !placeholderPattern.MatchString(string(t))
}
