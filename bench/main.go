package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Exit codes.
const (
	exitOK     = 0
	exitTarget = 1 // the benchmark ran and a target failed
	exitError  = 2 // the benchmark could not run
)

// maxImages bounds -n, so that a typo cannot start a run of hours.
const maxImages = 200

// config is the parsed command line.
type config struct {
	sizes []int
	// reps is how many pairs of runs, one with the delay and one without,
	// crane, skopeo and regctl make at each N; promoteReps is the same for
	// core, cli and cli-signed. The cross-registry case runs every tool reps times.
	reps, promoteReps int
	delay             time.Duration
	smoke             bool
	toolsDir          string
	promoteBin        string
	tools             []string
	runTimeout        time.Duration
	// coreConcurrency is passed to promote.WithConcurrency for the core
	// tool; 0 keeps the package default.
	coreConcurrency int
	// cross runs the cross-registry case instead of the tag moves.
	cross *crossConfig
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, runs the benchmark and prints its results, and returns
// the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return exitError
	}
	var ok bool
	if cfg.cross != nil {
		res, err := crossBenchmark(ctx, cfg, *cfg.cross, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return exitError
		}
		ok = writeCrossResults(stdout, res)
	} else {
		res, err := benchmark(ctx, cfg, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return exitError
		}
		ok = writeResults(stdout, res)
	}
	if !ok {
		return exitTarget
	}
	return exitOK
}

// parseFlags reads the command line into a config.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("n", "2,20,50", "comma-separated numbers of images to promote")
	reps := fs.Int("reps", 5, "repetitions of crane, skopeo and regctl at each N, each one a run with the delay and one without; with -cross, of every tool")
	promoteReps := fs.Int("promote-reps", 15, "repetitions of core, cli and cli-signed at each N; their runs take under a second, and more of them narrow the round-trip estimate")
	delay := fs.Duration("delay", 25*time.Millisecond, "delay the proxy adds to every request")
	smoke := fs.Bool("smoke", false, "run N=2 once, check no target, skip missing third-party tools")
	toolsDir := fs.String("tools-dir", "", "directory searched for crane and regctl before PATH")
	promoteBin := fs.String("promote-bin", "", "promote CLI to run (default: built from ./cmd/promote into a temporary directory)")
	tools := fs.String("tools", strings.Join(allTools(), ","), "comma-separated tools to run")
	runTimeout := fs.Duration("run-timeout", 5*time.Minute, "give up on one run of one tool after this long")
	cross := fs.Bool("cross", false, "run the cross-registry case instead: copy N signed images to another registry, then move latest there")
	crossSizes := fs.String("cross-n", "2,10", "comma-separated numbers of images of the cross-registry case")
	layerMiB := fs.Int("layer-mib", 5, "size of each of the 4 layers of a cross-registry image, in MiB")
	coreConcurrency := fs.Int("core-concurrency", 0, "concurrency of the core tool (promote.WithConcurrency); 0 keeps the package default, which the cli uses")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./bench [flags]\n\nPromotes N images with promote, crane, skopeo and regctl through a\ndelaying proxy and prints a Markdown table of the results.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := config{
		reps:        *reps,
		promoteReps: *promoteReps,
		delay:       *delay,
		smoke:       *smoke,
		toolsDir:    *toolsDir,
		promoteBin:  *promoteBin,
		runTimeout:  *runTimeout,

		coreConcurrency: *coreConcurrency,
	}
	var err error
	if cfg.sizes, err = parseSizes(*sizes); err != nil {
		return config{}, err
	}
	if cfg.tools, err = parseTools(*tools); err != nil {
		return config{}, err
	}
	if *cross {
		cc := &crossConfig{layerMiB: *layerMiB}
		if cc.sizes, err = parseSizes(*crossSizes); err != nil {
			return config{}, err
		}
		if *layerMiB < 1 || *layerMiB > 256 {
			return config{}, fmt.Errorf("-layer-mib %d: expected 1 to 256", *layerMiB)
		}
		if cfg.smoke {
			cc.sizes, cc.layerMiB = []int{2}, 1
		}
		cfg.cross = cc
	}
	if cfg.smoke {
		cfg.sizes, cfg.reps, cfg.promoteReps = []int{2}, 1, 1
	}
	switch {
	case cfg.reps < 1 || cfg.reps > 100:
		return config{}, fmt.Errorf("-reps %d: expected 1 to 100", cfg.reps)
	case cfg.promoteReps < 1 || cfg.promoteReps > 100:
		return config{}, fmt.Errorf("-promote-reps %d: expected 1 to 100", cfg.promoteReps)
	case cfg.delay <= 0 || cfg.delay > time.Second:
		return config{}, fmt.Errorf("-delay %s: expected more than 0 and at most 1s", cfg.delay)
	case cfg.coreConcurrency < 0 || cfg.coreConcurrency > 1000:
		return config{}, fmt.Errorf("-core-concurrency %d: expected 0 to 1000", cfg.coreConcurrency)
	case cfg.runTimeout <= 0:
		return config{}, fmt.Errorf("-run-timeout %s: expected a positive duration", cfg.runTimeout)
	}
	return cfg, nil
}

// repsOf returns how many repetitions tool runs.
func (cfg config) repsOf(tool string) int {
	if tool == toolCore || tool == toolCLI || tool == toolSigned {
		return cfg.promoteReps
	}
	return cfg.reps
}

// parseSizes reads a list such as "2,20,50" into sorted, distinct sizes.
func parseSizes(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxImages {
			return nil, fmt.Errorf("-n %q: expected numbers from 1 to %d separated by commas", s, maxImages)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// parseTools reads a list of tool names, keeping the canonical order.
func parseTools(s string) ([]string, error) {
	want := map[string]bool{}
	for f := range strings.SplitSeq(s, ",") {
		name := strings.TrimSpace(f)
		if !slices.Contains(allTools(), name) {
			return nil, fmt.Errorf("-tools: unknown tool %q (known: %s)", name, strings.Join(allTools(), ", "))
		}
		want[name] = true
	}
	var out []string
	for _, name := range allTools() {
		if want[name] {
			out = append(out, name)
		}
	}
	return out, nil
}
