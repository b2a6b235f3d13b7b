package main

import (
	"fmt"
	"strings"

	"github.com/molecule-ai/promote/internal/safetext"
	"github.com/molecule-ai/promote/promote"
)

// finish prints the operation's report and writes its summaries. A summary
// that cannot be written is a warning: the exit code stays the operation's,
// since tags may have moved.
func (c *command) finish(rep *promote.Report, err error, sums summaries) int {
	code := exitCode(err)
	if rep == nil {
		rep = c.errorReport(err, code)
	}
	c.printReport(rep)
	if werr := sums.write(rep.Markdown()); werr != nil {
		c.printError(fmt.Errorf("warning: the Markdown summary could not be written (%w); the report above is complete, and the exit code is the %s's", werr, c.verb.name))
	}
	if err != nil {
		c.printError(err)
	}
	return code
}

// finishHistory prints the history and writes its summaries. A history
// that could not be read, whole or in part, exits 1.
func (c *command) finishHistory(h *promote.HistoryReport, err error, sums summaries) int {
	code := exitCode(err)
	if h == nil {
		if code == exitUsage {
			return c.invalid(err)
		}
		h = &promote.HistoryReport{Result: promote.ResultFailed, Error: err.Error(), Limit: c.o.limit, Tags: []promote.TagHistory{}}
	}
	if c.json {
		b, jerr := h.JSON()
		if jerr != nil {
			fmt.Fprintf(c.stderr, "%s: %v\n", c.prefix(), jerr)
		} else {
			fmt.Fprintf(c.stdout, "%s\n", b)
		}
	} else {
		fmt.Fprint(c.stdout, h.Text())
	}
	if werr := sums.write(h.Markdown()); werr != nil {
		c.printError(fmt.Errorf("warning: the Markdown summary could not be written (%w); the history above is complete", werr))
	}
	if err != nil {
		c.printError(err)
	}
	return code
}

// errorReport is the report of an operation that produced none.
func (c *command) errorReport(err error, code int) *promote.Report {
	result := promote.ResultFailed
	if code == exitUsage {
		result = promote.ResultInvalid
	}
	return &promote.Report{Action: c.verb.name, DryRun: c.o.dryRun, Result: result, Error: err.Error(), Images: []promote.Image{}}
}

func (c *command) printReport(rep *promote.Report) {
	if !c.json {
		fmt.Fprint(c.stdout, rep.Text())
		return
	}
	b, err := rep.JSON()
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", c.prefix(), err)
		return
	}
	fmt.Fprintf(c.stdout, "%s\n", b)
}

// printError writes err to stderr, each of its joined errors on a line of
// its own that names the command, and the lines that continue one indented
// below it.
func (c *command) printError(err error) {
	for _, e := range flatten(err) {
		fmt.Fprint(c.stderr, safetext.Output(fmt.Sprintf("%s: %s\n", c.prefix(), indentContinuation(e.Error()))))
	}
}

// indentContinuation indents every line of msg after the first by two
// spaces, so that a message of several lines reads as one.
func indentContinuation(msg string) string {
	return strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\n", "\n  ")
}

func (c *command) prefix() string {
	if c.verb.name == "" {
		return programName
	}
	return programName + " " + c.verb.name
}

// flatten lists the errors joined in err, depth first. An error that
// says more than its parts, such as a [promote.VerificationError] with its
// heading, stays whole.
func flatten(err error) []error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok || !saysOnlyItsParts(err, joined.Unwrap()) {
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}

// saysOnlyItsParts reports whether err's text is its parts' texts, a line
// each, as [errors.Join] writes it.
func saysOnlyItsParts(err error, parts []error) bool {
	texts := make([]string, 0, len(parts))
	for _, p := range parts {
		if p != nil {
			texts = append(texts, p.Error())
		}
	}
	return err.Error() == strings.Join(texts, "\n")
}
