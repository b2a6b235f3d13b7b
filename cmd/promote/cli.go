package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/molecule-ai/promote/internal/defaults"
	"github.com/molecule-ai/promote/internal/demo"
	"github.com/molecule-ai/promote/promote"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // failed; the registry is as before
	exitUsage  = 2 // bad input or usage
	exitMixed  = 3 // failed; the registry was left mixed
	// exitUnrecorded: every tag moved and reads back in place, but a
	// promotion record is missing; the moves stand.
	exitUnrecorded = 4
	programName    = "promote"
)

// imagesEnv lists the images, separated by white space, when no --image
// flag is given.
const imagesEnv = "PROMOTE_IMAGES"

// options are the parsed flags of one invocation.
type options struct {
	sha, sourceTag, registry, username, summary, gitDir string
	images, targets, platforms                          list
	destinationPrefixes                                 list
	dryRun, noBackup, jsonOut, passwordStdin            bool
	progress                                            bool
	forwardOnly, insecure                               bool
	actor, run                                          string
	allowRolledBack                                     bool
	limit                                               int
	timeout, responseTimeout                            time.Duration
	signatures                                          signatureFlags
	// set holds the names of the flags given on the command line.
	set map[string]bool
}

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

// command is one invocation: its verb, its flags, and where its output goes.
type command struct {
	verb           verb
	o              options
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// json is set when the report goes to stdout as JSON. Until the flags
	// are parsed, it is read from the arguments as they stand.
	json bool
	// console takes the notices that come while the command runs; nil
	// when there are none.
	console *console
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return runOn(ctx, args, stdin, stdout, stderr, getenv, nil)
}

// runOn is run with con, where notices that come while the command runs
// are written; nil when there are none.
func runOn(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, con *console) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if v, ok := findVerb(args[1]); ok {
				verbUsage(stdout, v)
				return exitOK
			}
		}
		usage(stdout)
		return exitOK
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "%s %s\ngo-containerregistry %s\n", programName, promote.Version(), promote.RegistryLibraryVersion())
		return exitOK
	}
	c := &command{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, json: jsonRequested(args[1:]), console: con}
	v, ok := findVerb(args[0])
	if !ok {
		return c.invalid(fmt.Errorf("unknown command %q; run '%s --help' for the commands", args[0], programName))
	}
	c.verb = v
	fs := newFlagSet(v, &c.o)
	repeated := refuseRepeats(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			verbUsage(stdout, v)
			return exitOK
		}
		if *repeated != nil {
			err = *repeated
		}
		return c.invalid(flagError(v, err, args[1:]))
	}
	c.json = c.o.jsonOut
	c.o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.o.set[f.Name] = true })
	if fs.NArg() > 0 {
		return c.invalid(fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0)))
	}
	if v.name == "demo" {
		if err := demo.Run(ctx, stdout); err != nil {
			fmt.Fprintf(stderr, "%s demo: %v\n", programName, err)
			return exitFailed
		}
		return exitOK
	}

	req, err := c.prepare()
	if err != nil {
		return c.invalid(err)
	}
	defer req.summaries.close()
	if v.name == "history" {
		h, err := req.promoter.History(ctx, c.o.limit)
		return c.finishHistory(h, err, req.summaries)
	}
	var rep *promote.Report
	switch v.name {
	case "verify":
		rep, err = req.promoter.Verify(ctx, req.sha)
	case "promote":
		rep, err = req.promoter.Promote(ctx, req.sha, req.write)
	case "rollback":
		rep, err = req.promoter.Rollback(ctx, req.sha, req.write)
	case "status":
		rep, err = req.promoter.Status(ctx)
	}
	req.progress.wait()
	return c.finish(rep, err, req.summaries)
}

// request is an invocation that passed every check, ready for its first
// request to a registry.
type request struct {
	promoter  *promote.Promoter
	sha       promote.SHA
	write     promote.WriteOptions
	summaries summaries
	// progress shows the copy's progress; nil when off.
	progress *progressView
}

// prepare checks every flag and input, reporting every problem at once, and
// opens the summary files last. It sends nothing.
func (c *command) prepare() (*request, error) {
	o := &c.o
	errs := c.checkFlags()
	req := &request{write: promote.WriteOptions{DryRun: o.dryRun, NoBackup: o.noBackup, AllowRolledBack: o.allowRolledBack}}
	if c.verb.flags&recordFlags != 0 {
		req.write.Actor, req.write.Run = c.actor(), c.runURL()
	}
	if o.sha != "" {
		var err error
		req.sha, err = promote.ParseSHA(o.sha)
		errs = append(errs, err)
	}
	images, err := c.images()
	errs = append(errs, err)
	repos, dests, prefixDests, err := destinations(images, o.destinationPrefixes)
	errs = append(errs, err)
	cfg := promote.Config{
		Repositories:        repos,
		SourceTag:           o.sourceTag,
		TargetTags:          o.targets,
		Platforms:           o.platforms,
		Destinations:        dests,
		DestinationPrefixes: prefixDests,
	}
	popts, err := c.credentials(withDestinations(cfg))
	errs = append(errs, err)
	if o.signatures.set() {
		sp, err := o.signatures.policy()
		errs = append(errs, err)
		popts = append(popts, promote.WithSignaturePolicy(sp))
	}
	if o.timeout > 0 { // checkFlags reports the others
		popts = append(popts, promote.WithTimeout(o.timeout))
	}
	if o.responseTimeout > 0 {
		popts = append(popts, promote.WithResponseTimeout(o.responseTimeout))
	}
	if o.insecure {
		popts = append(popts, promote.WithInsecure())
	}
	req.progress = newProgressView(c.stderr, o.progress || (!o.set["progress"] && !o.jsonOut), c.console)
	popts = append(popts, req.progress.options()...)
	req.promoter, err = promote.New(cfg, popts...)
	errs = append(errs, err)
	if o.forwardOnly {
		req.write.ForwardOnly, err = promote.OpenGitHistory(o.gitDir)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if req.summaries, err = openSummaries(o.summary, c.getenv("GITHUB_STEP_SUMMARY")); err != nil {
		return nil, err
	}
	return req, nil
}

// checkFlags finds the flags that are missing, or that this invocation
// cannot honour.
func (c *command) checkFlags() []error {
	o, v := &c.o, c.verb
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if v.needsSHA && o.sha == "" {
		add("--sha is required")
	}
	if v.name == "rollback" && o.sha == "" {
		for _, f := range []struct{ flag, why string }{
			{"no-backup", "it always writes the backup"},
			{"source-tag", "it reads no source tag"},
			{"platform", "it verifies no image"},
		} {
			if o.set[f.flag] {
				add("--%s needs --sha: a rollback to the -previous backups swaps each target tag with its backup, so %s", f.flag, f.why)
			}
		}
	}
	errs = append(errs, o.signatures.emptyFlags(o.set)...)
	if o.signatures.set() && o.sha != "" && len(o.sha) != 40 {
		add("--sha must be the full 40-character commit sha with a signature policy: certificates and provenance name the full commit")
	}
	if v.name == "history" {
		if o.limit < 1 || o.limit > promote.MaxHistoryLimit {
			add("--limit must be between 1 and %d", promote.MaxHistoryLimit)
		}
	}
	if o.set["git-dir"] && !o.forwardOnly {
		add("--git-dir is read only with --forward-only")
	}
	switch {
	case o.passwordStdin && o.username == "":
		add("--password-stdin needs --username")
	case o.username != "" && !o.passwordStdin:
		add("--username needs --password-stdin (a password is never taken as a flag)")
	case o.set["registry"] && o.username == "":
		add("--registry names the registry that --username logs in to; give --username and --password-stdin too")
	}
	if o.timeout <= 0 {
		add("--timeout must be positive")
	}
	if o.responseTimeout <= 0 {
		add("--response-timeout must be positive")
	}
	for _, l := range []struct {
		flag   string
		values list
	}{{"image", o.images}, {"target-tag", o.targets}, {"platform", o.platforms}} {
		for _, value := range l.values {
			if strings.Contains(value, ",") {
				add("--%s %q holds a comma: repeat the flag for each value, as in --%s a --%s b", l.flag, value, l.flag, l.flag)
			}
		}
	}
	return errs
}

// images are the repositories from --image, else from $PROMOTE_IMAGES,
// else the default ones. With an unusable $PROMOTE_IMAGES they are the
// default ones too, so that the other inputs are still checked.
func (c *command) images() ([]string, error) {
	if len(c.o.images) > 0 {
		return c.o.images, nil
	}
	env := c.getenv(imagesEnv)
	if strings.Contains(env, ",") {
		return defaults.Repositories(), fmt.Errorf("$%s holds a comma: separate the images with spaces or newlines", imagesEnv)
	}
	if images := strings.Fields(env); len(images) > 0 {
		return images, nil
	}
	return defaults.Repositories(), nil
}

// credentials are the login of --username, read from stdin, for the
// registry it applies to.
func (c *command) credentials(images []string) ([]promote.Option, error) {
	if c.o.username == "" || !c.o.passwordStdin {
		return nil, nil // checkFlags reports half a login
	}
	registry, regErr := loginRegistry(c.o.registry, images)
	password, err := readPassword(c.stdin)
	if err := errors.Join(regErr, err); err != nil || registry == "" {
		return nil, err
	}
	return []promote.Option{promote.WithCredentials(registry, c.o.username, password)}, nil
}

// loginRegistry is the registry that --username applies to: the one named,
// which must hold some of the images, or else the images' only registry.
// It is empty when no image name can be read; their errors say why.
func loginRegistry(named string, images []string) (string, error) {
	if len(images) == 0 {
		images = defaults.Repositories()
	}
	var registries []string
	for _, img := range images {
		if repo, err := name.NewRepository(img); err == nil && !slices.Contains(registries, repo.RegistryStr()) {
			registries = append(registries, repo.RegistryStr())
		}
	}
	if named != "" {
		reg, err := name.NewRegistry(named, name.StrictValidation)
		if err != nil {
			return "", fmt.Errorf("--registry %q is not a registry host such as ghcr.io or localhost:5000", named)
		}
		if len(registries) > 0 && !slices.Contains(registries, reg.RegistryStr()) {
			return "", fmt.Errorf("--registry %s holds none of the images, which are on %s", named, strings.Join(registries, ", "))
		}
		return reg.RegistryStr(), nil
	}
	if len(registries) > 1 {
		return "", fmt.Errorf("--username applies to one registry, and the images are on %d (%s): name it with --registry", len(registries), strings.Join(registries, ", "))
	}
	if len(registries) == 0 {
		return "", nil
	}
	return registries[0], nil
}

func readPassword(stdin io.Reader) (promote.Secret, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("--password-stdin: reading stdin: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", errors.New("--password-stdin: stdin was empty")
	}
	return promote.Secret(password), nil
}

// invalid reports input rejected before any request, as one report when
// JSON was asked for, and returns the usage exit code.
func (c *command) invalid(err error) int {
	if c.json {
		c.printReport(c.errorReport(err, exitUsage))
	}
	c.printError(err)
	return exitUsage
}

// exitCode maps an operation's error to the documented exit codes. An
// error that says several things is judged by the worst state it leaves: a
// mixed registry (3) before a failed run (1) before bad input (2), so that
// a registry that changed is never reported as a usage error.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, promote.ErrMixedState):
		return exitMixed
	case errors.Is(err, promote.ErrUnrecorded):
		return exitUnrecorded
	case errors.Is(err, promote.ErrVerification), errors.Is(err, promote.ErrNotPromoted), errors.Is(err, promote.ErrIncomplete):
		return exitFailed
	case errors.Is(err, promote.ErrInvalidInput):
		return exitUsage
	default:
		return exitFailed
	}
}

func findVerb(name string) (verb, bool) {
	for _, v := range verbs {
		if v.name == name {
			return v, true
		}
	}
	return verb{}, false
}
