// Command promote moves a commit's container images from their staging tag
// to their production tags together, or not at all.
//
//	promote verify   --sha SHA      check every image of a commit
//	promote promote  --sha SHA      move every target tag to it
//	promote rollback [--sha SHA]    move back (to a sha, or to the backup tags)
//	promote status                  show what every target tag points at
//	promote history                 show who moved every target tag, when, from which run
//	promote demo                    run the whole story on an in-memory registry
//	promote --version               print its version and go-containerregistry's
//
// The images come from repeated --image flags, or else from $PROMOTE_IMAGES,
// separated by white space.
//
// Exit codes: 0 success; 1 verification or promotion failed and the registry
// is as before; 2 bad input or usage, found before any request; 3 the
// registry was left mixed; 4 every tag moved, but a promotion record could
// not be written. With --json, stdout holds one JSON report for every
// outcome.
//
// SIGINT (Ctrl-C) or SIGTERM cancels the run: it stops at once, puts back
// any tag it moved, within the restore's own deadline, and reports as
// usual. A second signal exits at once, with 130 for SIGINT and 143 for
// SIGTERM, even in the middle of that restore.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	con := &console{w: os.Stderr}
	go onSignals(signals, cancel, con, os.Exit)
	code := runOn(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv, con)
	signal.Stop(signals)
	cancel()
	os.Exit(code)
}

// onSignals cancels the run at the first signal and exits at the second,
// with 128 plus the signal's number, as a shell reports a process that a
// signal ended.
//
// The first notice goes above the live progress line, which can make it
// wait for the renderer: it is written from a goroutine of its own, so
// that the second signal is heard whatever happens to it.
func onSignals(signals <-chan os.Signal, cancel context.CancelFunc, con *console, exit func(int)) {
	s := <-signals
	cancel()
	again := "Press Ctrl-C again"
	if s != os.Interrupt {
		again = "Send it again"
	}
	go con.notice(fmt.Sprintf("%s: %s: stopping; any tag this run moved is put back. %s to exit at once.", programName, signalName(s), again))
	s = <-signals
	fmt.Fprintf(con.w, "\n%s: %s again: exiting at once, without the report; tags may be left mixed: run '%s status'\n", programName, signalName(s), programName)
	exit(signalExitCode(s))
}

// signalName names s as an operator knows it.
func signalName(s os.Signal) string {
	if s == os.Interrupt {
		return "interrupted"
	}
	return s.String()
}

// signalExitCode is 128 plus the signal's number: 130 for SIGINT, 143 for
// SIGTERM.
func signalExitCode(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 130
}
