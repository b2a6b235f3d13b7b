// Command rusage runs a command and reports its wall time and peak memory.
//
//	rusage -o FILE -- COMMAND [ARG...]
//
// It runs COMMAND with this process's standard input, output, error and
// environment, waits for it, writes "WALL_NS MAXRSS_BYTES\n" to FILE and
// exits with COMMAND's exit code.
//
// The benchmark starts each tool through it because the peak memory that
// the kernel reports for a child counts the memory of the process that
// started it: at exec the child inherits the high-water mark of the address
// space it replaces, which a Go parent shares with the child until then. A
// small process in between keeps the benchmark's own memory out of the
// figure; what remains is this command's few MiB, below any tool measured.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// exitSetup is the exit code when COMMAND could not be run at all.
const exitSetup = 125

func main() {
	os.Exit(run(os.Args[1:]))
}

// run runs the command in args and returns the exit code to exit with.
func run(args []string) int {
	fs := flag.NewFlagSet("rusage", flag.ContinueOnError)
	out := fs.String("o", "", "file to write \"WALL_NS MAXRSS_BYTES\" to")
	if err := fs.Parse(args); err != nil {
		return exitSetup
	}
	if *out == "" || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: rusage -o FILE -- COMMAND [ARG...]")
		return exitSetup
	}
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = childAttr()
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintf(os.Stderr, "rusage: %v\n", err)
		return exitSetup
	}
	line := fmt.Sprintf("%d %d\n", wall.Nanoseconds(), peakRSS(cmd.ProcessState))
	if werr := os.WriteFile(*out, []byte(line), 0o600); werr != nil {
		fmt.Fprintf(os.Stderr, "rusage: %v\n", werr)
		return exitSetup
	}
	return cmd.ProcessState.ExitCode()
}
