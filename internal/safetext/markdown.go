package safetext

import (
	"html"
	"strings"
)

// TableCell keeps s, text promote wrote itself, on one row of a Markdown
// table, and shows any HTML in it as text.
func TableCell(s string) string {
	s = html.EscapeString(s)
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", "<br>")
}

// MarkdownCell shows text from a registry in a Markdown table cell:
// Markdown's markup escaped here, and HTML, pipes and newlines by
// [TableCell], so that no character is escaped twice.
func MarkdownCell(s string) string {
	return TableCell(escapeMarkup(s, "\\`*_{}[]()#+!~"))
}

// Markdown escapes the characters that Markdown or HTML would read as
// markup in text from a registry.
func Markdown(s string) string {
	return escapeMarkup(s, "\\`*_{}[]()<>#+!|~&")
}

// escapeMarkup puts a backslash before every character of s in chars.
func escapeMarkup(s, chars string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(chars, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
