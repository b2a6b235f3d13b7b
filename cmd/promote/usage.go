package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/molecule-ai/promote/internal/defaults"
	"github.com/molecule-ai/promote/promote"
)

// flagGroup is a set of flags that verbs take together.
type flagGroup uint

const (
	// shaFlag: --sha.
	shaFlag flagGroup = 1 << iota
	// registryFlags: --image, --target-tag, --registry, --username,
	// --password-stdin, --json, --summary, --timeout, --response-timeout,
	// --insecure, and the signature policy's.
	registryFlags
	// sourceFlags: --source-tag, --platform.
	sourceFlags
	// writeFlags: --dry-run, --no-backup.
	writeFlags
	// forwardFlags: --forward-only, --git-dir.
	forwardFlags
	// recordFlags: --actor, --run.
	recordFlags
	// allowFlag: --allow-rolled-back.
	allowFlag
	// limitFlag: --limit.
	limitFlag
)

// verb is one subcommand.
type verb struct {
	name, args, short, long string
	flags                   flagGroup
	// needsSHA is set when --sha must be given.
	needsSHA bool
}

var verbs = []verb{
	{name: "verify", args: "--sha SHA", short: "check that every image of a commit exists and is right",
		flags: shaFlag | registryFlags | sourceFlags, needsSHA: true,
		long: `Resolves <image>:<source-tag> for every image and checks it: the tag exists and is readable;
its org.opencontainers.image.revision, and that of every image in an index, where set, equals
a 40-character sha or starts with a shorter one; every --platform is present. With a signature
policy (--certificate-identity[-regexp] and --certificate-oidc-issuer, or --key), every image
digest must also carry a Sigstore signature that meets it, found as an OCI referrer or a cosign
.sig/.att tag, that names this repository, and --sha must be the full 40-character sha. A
signature flag given empty is an error. Writes nothing. Every failing image is named in one error.`},
	{name: "promote", args: "--sha SHA", short: "move every target tag to the commit's images, all or nothing",
		flags: shaFlag | registryFlags | sourceFlags | writeFlags | forwardFlags | recordFlags | allowFlag, needsSHA: true,
		long: `Verifies, pins the verified digests, and moves every --target-tag of every image to its pinned
digest (manifest copy, no layers pulled), then reads every tag back. A target that moves gets a
backup tag <target>-previous at its old digest. If anything fails after a tag moved, every tag
written is put back. Tags already at the digest are left alone.

With --forward-only, it also refuses (exit 1, nothing written) unless the commit descends from,
or is, the commit every existing target tag carries in its org.opencontainers.image.revision,
as the git history at --git-dir tells. A target without a revision, or a commit the history
lacks, is refused too; a target tag that does not exist yet passes. Use rollback to go back.

Once every tag reads back in place, it leaves a promotion record on each digest a target tag
moved to: an OCI artifact in the same repository (see 'promote history'), naming the commit,
the time, --actor and --run. It refuses (exit 1, nothing written) a digest that a rollback moved
away from a target tag since it was last moved there, naming who rolled it back, when and from
which run, unless --allow-rolled-back is given; its record then says so. A newer commit promotes
normally. A record that cannot be written never undoes a move: the report warns, and it exits 4.`},
	{name: "rollback", args: "[--sha SHA]", short: "move the target tags back: to a sha, or to their -previous backups",
		flags: shaFlag | registryFlags | sourceFlags | writeFlags | recordFlags,
		long: `With --sha, promotes that commit's images (exactly as promote does, never forward-only).
Without it, swaps every target tag with its <target>-previous backup, so a second rollback
undoes the first; --no-backup, --source-tag and --platform then cannot be honoured and are
refused. Same all-or-nothing rules as promote. Its records also mark each digest it moved away
from as rolled back, so that promote refuses that digest until --allow-rolled-back.`},
	{name: "status", short: "show what every target tag points at, and who put it there",
		flags: registryFlags,
		long: `Reads every image's target tags: digest, revision, creation time, and the digest of the
<target>-previous backup tag, and who put each digest there and when, as its promotion record
says. Exits 1 with result "incomplete" when any target tag is missing,
is a placeholder left by a failed run, or cannot be read, naming each. With a signature policy,
also who signed what each target points at, and it fails if that does not meet the policy.
Writes nothing. It reads no source tag and checks no platform, so it takes no --sha,
--source-tag or --platform.`},
	{name: "history", short: "show how every target tag got where it is: who, when, from which run",
		flags: registryFlags | limitFlag,
		long: `Reads the promotion records of every image's target tags, from the digest each points at back
through the digest each move replaced, newest first, up to --limit moves per tag: the action,
commit, digests, time, actor and run of each. A digest that no record explains (another tool
moved the tag, or its record was never written), a missing record and a cycle are shown as such
and end that tag's history; nothing is guessed. Writes nothing. Exits 1 when a history cannot be
read. The records are OCI artifacts any tool can list, for example:
  oras discover --artifact-type ` + promote.RecordArtifactType + ` IMAGE@DIGEST
  regctl artifact list --filter-artifact-type ` + promote.RecordArtifactType + ` IMAGE@DIGEST`},
	{name: "demo", short: "run verify, promote, status, rollback and history against an in-memory registry",
		long: `Starts a registry inside this process, pushes two staging images for a made-up commit, and runs
verify, promote, status, rollback and history against it, printing each report. Needs no network.`},
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "%s moves a commit's container images from :%s to :%s together, or not at all.\n\n",
		programName, promote.DefaultSourceTag, strings.Join(promote.DefaultTargetTags(), ","))
	fmt.Fprintf(w, "Usage:\n  %s <command> [flags]\n  %s --version\n\nCommands:\n", programName, programName)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range verbs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.name, v.args, v.short)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun '%s <command> --help' for the flags of a command. Flags are words, spelt --name or\n-name (as Go's flag package takes them); a flag given twice is refused unless it says to repeat it.\n\n", programName)
	fmt.Fprint(w, exitCodes)
}

const exitCodes = `Exit codes:
  0  success
  1  verification or promotion failed; the registry is as before (nothing moved, or all put back);
     or status found a target tag missing, at a placeholder, or unreadable (result incomplete);
     or a history could not be read
  2  bad input or usage, an unwritable --summary or $GITHUB_STEP_SUMMARY included;
     nothing was sent to any registry
  3  the registry is not as before: a tag could not be put back, a placeholder could not be
     deleted, or another run moved tags meanwhile; the report says which tag is at which digest
  4  every tag moved and reads back in place, but a promotion record could not be written
     (result unrecorded); the moves stand, and the report names each missing record
  130, 143  a second Ctrl-C (SIGINT) or SIGTERM exited at once, with no report; the first one
     cancels the run, puts back what it moved (within the restore's own minute) and reports
A summary that cannot be written after the operation ran is a warning; the exit code stays the
operation's. With --json, stdout holds one JSON report for every outcome, exit 2 included.
`

// verbUsage prints the help of v.
func verbUsage(w io.Writer, v verb) {
	var o options
	fs := newFlagSet(v, &o)
	fmt.Fprintf(w, "Usage:\n  %s %s %s[flags]\n\n%s\n\n", programName, v.name, argsWithSpace(v.args), v.long)
	if v.flags != 0 {
		fmt.Fprintln(w, "Flags:")
		printFlags(w, fs)
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, exitCodes)
}

// printFlags lists the flags of fs as they are spelt elsewhere: --name.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		typ, text := flag.UnquoteUsage(f)
		if typ == "value" {
			typ = "string"
		}
		switch {
		case f.DefValue == "" || f.DefValue == "false":
		case typ == "string":
			text += fmt.Sprintf(" (default %q)", f.DefValue)
		default:
			text += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "  %s\n    \t%s\n", strings.TrimSpace("--"+f.Name+" "+typ), text)
	})
}

// newFlagSet declares the flags of v into o. It prints nothing: errors
// and help are the caller's to print.
func newFlagSet(v verb, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet(programName+" "+v.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if v.flags&shaFlag != 0 {
		fs.StringVar(&o.sha, "sha", "", "git commit sha of the images: 7 to 40 hex characters (either case; used lower-cased)")
	}
	if v.flags&registryFlags != 0 {
		fs.Var(&o.images, "image", "repository, fully qualified, or `SOURCE=DESTINATION` to copy the image to another repository (or registry) first and move the tags there; repeat the flag for each (default: $"+imagesEnv+
			", separated by spaces or newlines, or else "+strings.Join(defaults.Repositories(), " ")+")")
		fs.Var(&o.destinationPrefixes, "destination-prefix", "copy every image under the `SOURCE=DESTINATION` prefix, such as ghcr.io/acme/staging=registry.example.com/prod, to the same path under DESTINATION, and move the tags there; repeatable, the longest match wins")
		fs.Var(&o.targets, "target-tag", "tag to move; repeat the flag for each (default "+strings.Join(promote.DefaultTargetTags(), ", ")+")")
		fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON instead of text, for every outcome")
		fs.StringVar(&o.summary, "summary", "", "also write the report as Markdown to `FILE` (and append it to $GITHUB_STEP_SUMMARY when set)")
		fs.StringVar(&o.registry, "registry", "", "the registry host that --username logs in to (default: the images' registry, when they are all on one)")
		fs.StringVar(&o.username, "username", "", "username for --registry, with --password-stdin (default: docker config credentials)")
		fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password or token for --registry from stdin")
		fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long (restoring tags after a failure gets its own minute)")
		fs.BoolVar(&o.insecure, "insecure", false, "as crane --insecure: reach every registry of the run over plain HTTP, or over TLS without verifying its certificate (the report warns)")
		fs.DurationVar(&o.responseTimeout, "response-timeout", 30*time.Second, "give up on one request when the registry has not begun to answer it after this long (it is retried)")
		// History reads records, not images: it checks no signatures.
		if v.name != "history" {
			sig := &o.signatures
			fs.StringVar(&sig.identity, "certificate-identity", "", "every image must be signed keyless by this certificate identity, such as a workflow URI@ref")
			fs.StringVar(&sig.identityRegexp, "certificate-identity-regexp", "", "as --certificate-identity, a Go regular expression (not anchored: write ^...$)")
			fs.StringVar(&sig.issuer, "certificate-oidc-issuer", "", "OIDC issuer of keyless signatures, such as https://token.actions.githubusercontent.com")
			fs.StringVar(&sig.keyFile, "key", "", "every image must be signed with the PEM public key in `FILE` instead")
			fs.StringVar(&sig.trustedRootFile, "trusted-root", "", "Sigstore trusted_root.json `FILE` (default: the public-good instance's, fetched through TUF: needs network)")
			fs.BoolVar(&sig.ignoreTlog, "insecure-ignore-tlog", false, "with --key: accept signatures that have no transparency-log entry (the report says so)")
			fs.BoolVar(&sig.requireProvenance, "require-provenance", false, "every image must also have SLSA v1 build provenance naming the commit")
			fs.StringVar(&sig.github.repository, "certificate-github-workflow-repository", "", "keyless: the repository the signing GitHub workflow ran in, such as org/repo (tells the callers of a shared reusable workflow apart)")
			fs.StringVar(&sig.github.ref, "certificate-github-workflow-ref", "", "keyless: the git ref the signing GitHub workflow ran on, such as refs/heads/main")
			fs.StringVar(&sig.github.sha, "certificate-github-workflow-sha", "", "keyless: the commit the signing GitHub workflow ran at")
			fs.StringVar(&sig.github.trigger, "certificate-github-workflow-trigger", "", "keyless: the event that started the signing GitHub workflow, such as push")
			fs.StringVar(&sig.github.name, "certificate-github-workflow-name", "", "keyless: the name of the signing GitHub workflow")
		}
	}
	if v.flags&sourceFlags != 0 {
		fs.StringVar(&o.sourceTag, "source-tag", promote.DefaultSourceTag, "source tag template; {sha} is the sha cut to 7 characters, {fullsha} the whole sha")
		fs.Var(&o.platforms, "platform", "platform every image must have, such as linux/amd64; repeat the flag for each")
	}
	if v.flags&writeFlags != 0 {
		fs.BoolVar(&o.progress, "progress", false, "show the progress of the copy to the destinations on stderr (default: on, off with --json)")
		fs.BoolVar(&o.dryRun, "dry-run", false, "make every read and no write; report what would change")
		fs.BoolVar(&o.noBackup, "no-backup", false, "do not write <target>-previous at the target's old digest")
	}
	if v.flags&recordFlags != 0 {
		fs.StringVar(&o.actor, "actor", "", "who the promotion records name (default: $GITHUB_ACTOR, else the user running promote); public to anyone who can pull")
		fs.StringVar(&o.run, "run", "", "`URL` of the run the promotion records name, without query or credentials (default: the GitHub Actions run and attempt, from $GITHUB_SERVER_URL, $GITHUB_REPOSITORY, $GITHUB_RUN_ID and $GITHUB_RUN_ATTEMPT)")
	}
	if v.flags&allowFlag != 0 {
		fs.BoolVar(&o.allowRolledBack, "allow-rolled-back", false, "promote digests that a rollback moved away from a target tag since they were last moved there (refused otherwise); the records say so")
	}
	if v.flags&limitFlag != 0 {
		fs.IntVar(&o.limit, "limit", promote.DefaultHistoryLimit, "the most moves to show per tag, newest first (at most "+strconv.Itoa(promote.MaxHistoryLimit)+")")
	}
	if v.flags&forwardFlags != 0 {
		fs.BoolVar(&o.forwardOnly, "forward-only", false, "refuse unless the commit descends from, or is, the commit each existing target tag carries (see above); off unless given (--forward-only=false, as a script that passes a variable may write it, leaves it off)")
		fs.StringVar(&o.gitDir, "git-dir", ".", "the images' git repository, with its full history, read by --forward-only: a work tree, a folder in one, or a bare repository")
	}
	return fs
}

func argsWithSpace(args string) string {
	if args == "" {
		return ""
	}
	return args + " "
}

var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	// singleDash finds the flag names in the flag package's messages, which
	// spell them with one dash.
	singleDash = regexp.MustCompile(`(^|\s)-(\w)`)
)

// flagError rephrases an error of the flag package as one line that points
// to the command's help. An unknown flag is named as args spell it.
func flagError(v verb, err error, args []string) error {
	msg := err.Error()
	var rerr *repeatError
	if errors.As(err, &rerr) {
		return fmt.Errorf("%s; run '%s %s --help'", rerr, programName, v.name)
	}
	if m := undefinedFlag.FindStringSubmatch(msg); m != nil {
		msg = "unknown flag " + spelling(args, m[1])
		if len(m[1]) == 1 {
			msg += " (promote has no one-letter flags: every flag is a word, such as --sha or --help)"
		}
		for _, other := range verbs {
			var o options
			if other.name != v.name && newFlagSet(other, &o).Lookup(m[1]) != nil {
				msg = fmt.Sprintf("%s takes no --%s", v.name, m[1])
				break
			}
		}
	} else {
		msg = singleDash.ReplaceAllString(msg, "$1--$2")
	}
	return errors.New(msg + fmt.Sprintf("; run '%s %s --help'", programName, v.name))
}

// spelling is flag name as args give it: with one dash or two.
func spelling(args []string, name string) string {
	for _, a := range args {
		if a == "--" {
			break
		}
		flagName, _, _ := strings.Cut(a, "=")
		if flagName == "-"+name || flagName == "--"+name {
			return flagName
		}
	}
	return "--" + name
}

// repeatError is a flag that takes one value, given more than once.
type repeatError struct {
	name          string
	first, second string
}

func (e *repeatError) Error() string {
	return fmt.Sprintf("--%s is given more than once (%q, then %q): it takes one value", e.name, e.first, e.second)
}

// onceValue is a flag value that refuses a second Set, which the flag
// package would otherwise let override the first.
type onceValue struct {
	flag.Value
	name     string
	first    string
	given    bool
	repeated *error
}

func (o *onceValue) Set(s string) error {
	if o.given {
		err := &repeatError{name: o.name, first: o.first, second: s}
		*o.repeated = err
		return err
	}
	o.given, o.first = true, s
	return o.Value.Set(s)
}

// IsBoolFlag keeps a boolean flag usable without a value.
func (o *onceValue) IsBoolFlag() bool {
	b, ok := o.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// refuseRepeats makes every flag of fs that takes one value refuse a
// second; the repeatable lists keep taking many. The error it points to
// is set when Parse failed on a repeat.
func refuseRepeats(fs *flag.FlagSet) *error {
	repeated := new(error)
	fs.VisitAll(func(f *flag.Flag) {
		if _, isList := f.Value.(*list); !isList {
			f.Value = &onceValue{Value: f.Value, name: f.Name, repeated: repeated}
		}
	})
	return repeated
}

// jsonRequested reports whether args ask for a JSON report, read before
// the flags are parsed, so that a command line that cannot be parsed still
// gets one.
func jsonRequested(args []string) bool {
	want := false
	for _, a := range args {
		if a == "--" {
			break
		}
		flagName, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || flagName != "json" {
			continue
		}
		want = true
		if b, err := strconv.ParseBool(value); hasValue && err == nil {
			want = b
		}
	}
	return want
}
