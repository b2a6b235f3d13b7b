package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/molecule-ai/promote/promote"
)

func usage(w io.Writer) {
	fmt.Fprintf(w, "%s moves a commit's container images from :%s to :%s together, or not at all.\n\n",
		programName, promote.DefaultSourceTag, strings.Join(promote.DefaultTargetTags(), ","))
	fmt.Fprintf(w, "Usage:\n  %s <command> [flags]\n\nCommands:\n", programName)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range verbs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.name, v.args, v.short)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun '%s <command> --help' for the flags of a command.\n\n", programName)
	fmt.Fprint(w, exitCodes)
}

const exitCodes = `Exit codes:
  0  success
  1  verification or promotion failed; the registry is as before (nothing moved, or all put back)
  2  bad input or usage; nothing was sent to any registry
  3  the registry was left mixed; the report says which tag is at which digest
`

// newFlagSet declares the flags of v into o.
func newFlagSet(v verb, o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(programName+" "+v.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if v.needsSHA || v.optionalSHA {
		fs.StringVar(&o.sha, "sha", "", "git commit sha of the images: 7 to 40 hex characters")
	}
	if v.needsRegistry {
		fs.Var(&o.images, "image", "repository to promote, fully qualified; repeatable (default "+strings.Join(promote.DefaultRepositories(), ", ")+")")
		fs.StringVar(&o.sourceTag, "source-tag", promote.DefaultSourceTag, "source tag template; {sha} is the sha cut to 7 characters, {fullsha} the whole sha")
		fs.Var(&o.targets, "target-tag", "tag to move; repeatable (default "+strings.Join(promote.DefaultTargetTags(), ", ")+")")
		fs.Var(&o.platforms, "platform", "platform every image must have, such as linux/amd64; repeatable")
		fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON instead of text")
		fs.StringVar(&o.summary, "summary", "", "also write the report as Markdown to `FILE` (and append it to $GITHUB_STEP_SUMMARY when set)")
		fs.StringVar(&o.username, "username", "", "registry username, for every registry of the images (default: docker config credentials)")
		fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the registry password or token from stdin")
		fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long (restoring tags after a failure gets its own minute)")
	}
	if v.dryRun {
		fs.BoolVar(&o.dryRun, "dry-run", false, "make every read and no write; report what would change")
	}
	if v.backup {
		fs.BoolVar(&o.noBackup, "no-backup", false, "do not write <target>-previous at the target's old digest")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage:\n  %s %s %s[flags]\n\n%s\n\n", programName, v.name, argsWithSpace(v.args), v.long)
		fmt.Fprintln(stderr, "Flags:")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\n%s", exitCodes)
	}
	return fs
}

func argsWithSpace(args string) string {
	if args == "" {
		return ""
	}
	return args + " "
}
