// Package shellwords splits shell scripts and command lines into words the
// way a POSIX shell reads them before expansions, for the tests that read
// the commands in workflows and documentation.
package shellwords

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Word is a word of a shell script after quote removal, or an operator
// such as |, ;, >, && or a newline.
type Word struct {
	// Text is the word, or the operator.
	Text string
	// Op reports whether the word is an operator.
	Op bool
}

// placeholder matches a placeholder such as <sha>, which documentation
// writes where a value goes.
var placeholder = regexp.MustCompile(`^<[A-Za-z][A-Za-z0-9_.-]*>`)

// operators are the shell's control and redirection operators, longest
// first.
var operators = []string{"&&", "||", ";;", "<<", ">>", "<&", ">&", "&>", ">|", "|", "&", ";", "(", ")", "<", ">"}

// Split splits a script into words and operators the way a POSIX
// shell reads it, before expansions: quotes are removed, a backslash before
// a newline continues the line, comments are dropped, and a newline is an
// operator that ends a command. A command substitution stays in its word as
// written; its text is also returned in subs, so that the commands inside
// it can be read in turn. A placeholder such as <sha> is read as a word.
func Split(script string) (words []Word, subs []string, err error) {
	s := &shellSplitter{src: script}
	if err := s.run(); err != nil {
		return nil, nil, err
	}
	return s.words, s.subs, nil
}

// shellSplitter holds the state of Split.
type shellSplitter struct {
	src    string
	i      int
	words  []Word
	subs   []string
	cur    strings.Builder
	inWord bool
}

func (s *shellSplitter) run() error {
	for s.i < len(s.src) {
		c := s.src[s.i]
		rest := s.src[s.i:]
		switch {
		case c == '\\':
			s.escape(func(byte) bool { return true })
		case c == '\'':
			end := strings.IndexByte(rest[1:], '\'')
			if end < 0 {
				return errors.New("unterminated single quote")
			}
			s.inWord = true
			s.cur.WriteString(rest[1 : 1+end])
			s.i += end + 2
		case c == '"':
			if err := s.doubleQuoted(); err != nil {
				return err
			}
		case c == '$' || c == '`':
			if err := s.expansion(); err != nil {
				return err
			}
		case c == ' ' || c == '\t' || c == '\r':
			s.endWord()
			s.i++
		case c == '\n':
			s.endWord()
			s.words = append(s.words, Word{Text: "\n", Op: true})
			s.i++
		case c == '#' && !s.inWord:
			end := strings.IndexByte(rest, '\n')
			if end < 0 {
				end = len(rest)
			}
			s.i += end
		case c == '<' && !s.inWord && placeholder.MatchString(rest):
			p := placeholder.FindString(rest)
			s.inWord = true
			s.cur.WriteString(p)
			s.i += len(p)
		case strings.IndexByte("|&;()<>", c) >= 0:
			if (c == '<' || c == '>') && s.inWord && isDigits(s.cur.String()) {
				// A file descriptor number, as in 2>&1, is part of the
				// redirection, not a word.
				s.cur.Reset()
				s.inWord = false
			}
			s.endWord()
			for _, op := range operators {
				if strings.HasPrefix(rest, op) {
					s.words = append(s.words, Word{Text: op, Op: true})
					s.i += len(op)
					break
				}
			}
		default:
			s.inWord = true
			s.cur.WriteByte(c)
			s.i++
		}
	}
	s.endWord()
	return nil
}

// escape reads a backslash and the character after it: a newline after it
// is dropped with it; a character for which keep reports true is taken
// literally; otherwise the backslash stays.
func (s *shellSplitter) escape(keep func(byte) bool) {
	if s.i+1 >= len(s.src) {
		s.i++
		return
	}
	next := s.src[s.i+1]
	s.i += 2
	if next == '\n' {
		return
	}
	s.inWord = true
	if !keep(next) {
		s.cur.WriteByte('\\')
	}
	s.cur.WriteByte(next)
}

// doubleQuoted reads a double-quoted string.
func (s *shellSplitter) doubleQuoted() error {
	s.inWord = true
	s.i++
	for s.i < len(s.src) {
		switch c := s.src[s.i]; c {
		case '"':
			s.i++
			return nil
		case '\\':
			s.escape(func(b byte) bool { return strings.IndexByte("$`\"\\", b) >= 0 })
		case '$', '`':
			if err := s.expansion(); err != nil {
				return err
			}
		default:
			s.cur.WriteByte(c)
			s.i++
		}
	}
	return errors.New("unterminated double quote")
}

// expansion reads a $ or backquote expansion and keeps it in the word as
// written. The text of a command substitution is also kept in s.subs.
func (s *shellSplitter) expansion() error {
	s.inWord = true
	rest := s.src[s.i:]
	switch {
	case strings.HasPrefix(rest, "$("):
		end, err := closing(rest[2:], '(', ')')
		if err != nil {
			return err
		}
		s.subs = append(s.subs, rest[2:2+end])
		s.cur.WriteString(rest[:3+end])
		s.i += 3 + end
	case strings.HasPrefix(rest, "${"):
		end, err := closing(rest[2:], '{', '}')
		if err != nil {
			return err
		}
		s.cur.WriteString(rest[:3+end])
		s.i += 3 + end
	case rest[0] == '`':
		end := strings.IndexByte(rest[1:], '`')
		if end < 0 {
			return errors.New("unterminated backquote")
		}
		s.subs = append(s.subs, rest[1:1+end])
		s.cur.WriteString(rest[:end+2])
		s.i += end + 2
	default:
		s.cur.WriteByte(rest[0])
		s.i++
	}
	return nil
}

// closing returns the index in src of the close bracket that matches an
// open one before src, skipping quoted text and escaped characters.
func closing(src string, left, right byte) (int, error) {
	depth := 1
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
		case '\'', '"':
			end := strings.IndexByte(src[i+1:], src[i])
			if end < 0 {
				return 0, errors.New("unterminated quote in an expansion")
			}
			i += end + 1
		case left:
			depth++
		case right:
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("unterminated expansion: no %c", right)
}

// endWord ends the word being read, if any.
func (s *shellSplitter) endWord() {
	if s.inWord {
		s.words = append(s.words, Word{Text: s.cur.String()})
	}
	s.cur.Reset()
	s.inWord = false
}

// isDigits reports whether s is a non-empty string of decimal digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
