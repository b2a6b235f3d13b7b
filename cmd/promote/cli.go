package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/molecule-ai/promote/internal/demo"
	"github.com/molecule-ai/promote/promote"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1 // failed; the registry is as before
	exitUsage   = 2 // bad input or usage
	exitMixed   = 3 // failed; the registry was left mixed
	programName = "promote"
)

// verb is one subcommand.
type verb struct {
	name, args, short, long string
	// flags lists the optional flags the verb takes, besides the common ones.
	needsSHA, optionalSHA, dryRun, backup bool
	// needsRegistry is unset for demo, which brings its own registry.
	needsRegistry bool
}

var verbs = []verb{
	{name: "verify", args: "--sha SHA", short: "check that every image of a commit exists and is right", needsSHA: true, needsRegistry: true,
		long: "Resolves <image>:<source-tag> for every image and checks it: the tag exists and is readable;\nwith a 40-character sha, an image's org.opencontainers.image.revision (if set) equals the sha;\nevery --platform is present. Writes nothing. Every failing image is named in one error."},
	{name: "promote", args: "--sha SHA", short: "move every target tag to the commit's images, all or nothing", needsSHA: true, dryRun: true, backup: true, needsRegistry: true,
		long: "Verifies, pins the verified digests, and moves every --target-tag of every image to its pinned\ndigest (manifest copy, no layers pulled), then reads every tag back. A target that moves gets a\nbackup tag <target>-previous at its old digest. If anything fails after a tag moved, every tag\nwritten is put back. Tags already at the digest are left alone."},
	{name: "rollback", args: "[--sha SHA]", short: "move the target tags back: to a sha, or to their -previous backups", optionalSHA: true, dryRun: true, backup: true, needsRegistry: true,
		long: "With --sha, promotes that commit's images (exactly as promote does). Without it, swaps every\ntarget tag with its <target>-previous backup, so a second rollback undoes the first.\nSame all-or-nothing rules as promote."},
	{name: "status", short: "show what every target tag points at", needsRegistry: true,
		long: "Reads every image's target tags: digest, revision, creation time, and the digest of the\n<target>-previous backup tag. Writes nothing."},
	{name: "demo", short: "run verify, promote, status and rollback against an in-memory registry",
		long: "Starts a registry inside this process, pushes two staging images for a made-up commit, and runs\nverify, promote, status and rollback against it, printing each report. Needs no network."},
}

// options are the parsed flags of one invocation.
type options struct {
	sha, sourceTag, username, summary string
	images, targets, platforms        list
	dryRun, noBackup, jsonOut         bool
	passwordStdin                     bool
	timeout                           time.Duration
}

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	v, ok := findVerb(args[0])
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n", programName, args[0])
		usage(stderr)
		return exitUsage
	}
	var o options
	fs := newFlagSet(v, &o, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s %s: unexpected argument %q (flags start with --)\n", programName, v.name, fs.Arg(0))
		return exitUsage
	}
	if v.name == "demo" {
		if err := demo.Run(ctx, stdout); err != nil {
			fmt.Fprintf(stderr, "%s demo: %v\n", programName, err)
			return exitFailed
		}
		return exitOK
	}
	if v.needsSHA && o.sha == "" {
		fmt.Fprintf(stderr, "%s %s: --sha is required\n", programName, v.name)
		return exitUsage
	}

	var sha promote.SHA
	if o.sha != "" {
		var err error
		if sha, err = promote.ParseSHA(o.sha); err != nil {
			return fail(stderr, v.name, err)
		}
	}
	p, err := newPromoter(o, stdin)
	if err != nil {
		return fail(stderr, v.name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	var rep *promote.Report
	opts := promote.WriteOptions{DryRun: o.dryRun, NoBackup: o.noBackup}
	switch v.name {
	case "verify":
		rep, err = p.Verify(ctx, sha)
	case "promote":
		rep, err = p.Promote(ctx, sha, opts)
	case "rollback":
		rep, err = p.Rollback(ctx, sha, opts)
	case "status":
		rep, err = p.Status(ctx)
	}
	if rep != nil {
		if werr := writeReport(rep, o, stdout, getenv); werr != nil {
			fmt.Fprintf(stderr, "%s %s: %v\n", programName, v.name, werr)
			if err == nil {
				return exitFailed
			}
		}
	}
	if err != nil {
		return fail(stderr, v.name, err)
	}
	return exitOK
}

// newPromoter builds the promoter from the flags, reading a password from
// stdin when asked to.
func newPromoter(o options, stdin io.Reader) (*promote.Promoter, error) {
	var popts []promote.Option
	switch {
	case o.passwordStdin && o.username == "":
		return nil, usageError("--password-stdin needs --username")
	case o.username != "" && !o.passwordStdin:
		return nil, usageError("--username needs --password-stdin (a password is never taken as a flag)")
	case o.username != "":
		password, err := readPassword(stdin)
		if err != nil {
			return nil, err
		}
		for _, reg := range registries(o.images) {
			popts = append(popts, promote.WithCredentials(reg, o.username, password))
		}
	}
	if o.timeout <= 0 {
		return nil, usageError("--timeout must be positive")
	}
	return promote.New(promote.Config{
		Repositories: o.images,
		SourceTag:    o.sourceTag,
		TargetTags:   o.targets,
		Platforms:    o.platforms,
	}, popts...)
}

// registries lists the registry hosts of the given images, or of the
// default images when none are given.
func registries(images []string) []string {
	if len(images) == 0 {
		images = promote.DefaultRepositories()
	}
	seen := map[string]bool{}
	var out []string
	for _, img := range images {
		host, _, _ := strings.Cut(img, "/")
		if !seen[host] {
			seen[host] = true
			out = append(out, host)
		}
	}
	return out
}

func readPassword(stdin io.Reader) (promote.Secret, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", usageError("--password-stdin: stdin was empty")
	}
	return promote.Secret(password), nil
}

// writeReport prints the report and writes the step summaries.
func writeReport(rep *promote.Report, o options, stdout io.Writer, getenv func(string) string) error {
	if o.jsonOut {
		b, err := rep.JSON()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		fmt.Fprint(stdout, rep.Text())
	}
	var errs []error
	if o.summary != "" {
		errs = append(errs, os.WriteFile(o.summary, []byte(rep.Markdown()), 0o644))
	}
	if path := getenv("GITHUB_STEP_SUMMARY"); path != "" {
		errs = append(errs, appendFile(path, rep.Markdown()))
	}
	return errors.Join(errs...)
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// errUsage marks an invalid combination of flags.
type usageError string

func (e usageError) Error() string { return string(e) }

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &u), errors.Is(err, promote.ErrInvalidInput):
		return exitUsage
	case errors.Is(err, promote.ErrMixedState):
		return exitMixed
	default:
		return exitFailed
	}
}

func fail(stderr io.Writer, verbName string, err error) int {
	fmt.Fprintf(stderr, "%s %s: %v\n", programName, verbName, err)
	return exitCode(err)
}

func findVerb(name string) (verb, bool) {
	for _, v := range verbs {
		if v.name == name {
			return v, true
		}
	}
	return verb{}, false
}
