package tests

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

// markdownLink is a link of a Markdown document.
type markdownLink struct {
	line   int
	target string
}

var (
	// inlineLink matches [text](target) and ![alt](target), with an
	// optional title.
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	// referenceDefinition matches a link reference definition: [x]: target.
	referenceDefinition = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?`)
	// codeSpan matches an inline code span, whose text is not Markdown.
	codeSpan = regexp.MustCompile("(`+)[^`]*?(`+)")
	// atxHeading matches a heading such as "## Quick start".
	atxHeading = regexp.MustCompile(`^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$`)
	// htmlAnchor matches an explicit anchor: <a id="x"> or <a name="x">.
	htmlAnchor = regexp.MustCompile(`<a\s+(?:[^>]*\s)?(?:id|name)\s*=\s*["']([^"']+)["']`)
	// scheme matches a link with a URL scheme, such as https: or mailto:.
	scheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// markdownProse calls fn with each line of a Markdown document outside its
// fenced code blocks, and its line number.
func markdownProse(doc string, fn func(n int, line string)) {
	fence := ""
	sc := bufio.NewScanner(strings.NewReader(doc))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, trimmed[:1]))]
			continue
		}
		fn(n, line)
	}
}

// markdownLinks returns the links of a Markdown document, outside code.
func markdownLinks(doc string) []markdownLink {
	var links []markdownLink
	markdownProse(doc, func(n int, line string) {
		line = codeSpan.ReplaceAllString(line, "")
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			links = append(links, markdownLink{line: n, target: m[1]})
		}
		if m := referenceDefinition.FindStringSubmatch(line); m != nil {
			links = append(links, markdownLink{line: n, target: m[1]})
		}
	})
	return links
}

// markdownAnchors returns the anchors of a Markdown document as GitHub
// makes them: one for each heading (see headingAnchor), a repeated one
// followed by -1, -2, and so on; and each explicit <a id> or <a name>.
func markdownAnchors(doc string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	markdownProse(doc, func(_ int, line string) {
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			anchors[m[1]] = true
		}
		m := atxHeading.FindStringSubmatch(line)
		if m == nil {
			return
		}
		base := headingAnchor(m[1])
		anchor := base
		if n := seen[base]; n > 0 {
			anchor = fmt.Sprintf("%s-%d", base, n)
		}
		seen[base]++
		anchors[anchor] = true
	})
	return anchors
}

// markdownMarkup matches the Markdown around a heading's text: a link's
// target, emphasis and code marks, and HTML tags.
var markdownMarkup = regexp.MustCompile(`\]\([^)]*\)|<[^>]+>|[*` + "`" + `\[\]]`)

// headingAnchor returns the anchor GitHub gives a heading: its text as
// rendered, lower-cased, with every character but letters, digits, '-',
// '_' and spaces dropped, and each space made a '-'.
func headingAnchor(heading string) string {
	text := markdownMarkup.ReplaceAllString(heading, "")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// brokenLinks returns, for the Markdown file at file, each relative link
// whose file does not exist or whose anchor names no heading of its
// target, as "line N: ...". Links with a scheme (https:, mailto:) are not
// followed.
func brokenLinks(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	anchorsOf := map[string]map[string]bool{file: markdownAnchors(string(data))}
	var broken []string
	for _, l := range markdownLinks(string(data)) {
		if scheme.MatchString(l.target) || strings.HasPrefix(l.target, "//") {
			continue
		}
		target, fragment, _ := strings.Cut(l.target, "#")
		target, err := url.PathUnescape(target)
		if err != nil {
			broken = append(broken, fmt.Sprintf("line %d: %s: %v", l.line, l.target, err))
			continue
		}
		path := file
		if target != "" {
			path = filepath.Join(filepath.Dir(file), filepath.FromSlash(target))
			if _, err := os.Stat(path); err != nil {
				broken = append(broken, fmt.Sprintf("line %d: %s: no such file %s", l.line, l.target, target))
				continue
			}
		}
		if fragment == "" || !strings.HasSuffix(strings.ToLower(path), ".md") {
			continue
		}
		anchors, ok := anchorsOf[path]
		if !ok {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			anchors = markdownAnchors(string(data))
			anchorsOf[path] = anchors
		}
		if fragment, err := url.PathUnescape(fragment); err != nil || !anchors[fragment] {
			broken = append(broken, fmt.Sprintf("line %d: %s: no heading or <a id> %q in %s", l.line, l.target, "#"+fragment, filepath.Base(path)))
		}
	}
	return broken, nil
}
