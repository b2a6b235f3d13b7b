package main

import (
	"errors"
	"fmt"
	"os"
)

// summaryFile is one destination of the Markdown report.
type summaryFile struct {
	f *os.File
	// replace is set for --summary, which holds only this report; the
	// step summary is appended to.
	replace bool
}

// summaries are the files the Markdown report goes to. They are opened
// before the first request, so that an unwritable path is bad input (exit
// 2), found before any tag moves.
type summaries []summaryFile

// openSummaries opens path (--summary, unless empty) for writing and
// stepSummary ($GITHUB_STEP_SUMMARY, unless empty) for appending, creating
// them if need be.
func openSummaries(path, stepSummary string) (summaries, error) {
	var s summaries
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("--summary: cannot write the summary file: %w", err)
		}
		s = append(s, summaryFile{f: f, replace: true})
	}
	if stepSummary != "" {
		f, err := os.OpenFile(stepSummary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("$GITHUB_STEP_SUMMARY: cannot write the step summary: %w", err)
		}
		s = append(s, summaryFile{f: f})
	}
	return s, nil
}

// write puts markdown into every summary file and closes it, since some
// file systems report a failed write only then.
func (s summaries) write(markdown string) error {
	var errs []error
	for _, sf := range s {
		var err error
		if sf.replace {
			err = sf.f.Truncate(0)
		}
		if err == nil {
			_, err = sf.f.WriteString(markdown + "\n")
		}
		errs = append(errs, err, sf.f.Close())
	}
	return errors.Join(errs...)
}

// close closes the files that write did not; closing one twice does no
// harm.
func (s summaries) close() {
	for _, sf := range s {
		sf.f.Close()
	}
}
