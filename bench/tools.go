package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/molecule-ai/promote/promote"
)

// Tool names, in the order the table lists them.
const (
	toolCore = "core"
	toolCLI  = "cli"
	// toolSigned is the cli verifying a signature policy first.
	toolSigned = "cli-signed"
	toolCrane  = "crane"
	toolSkopeo = "skopeo"
	toolRegctl = "regctl"
)

// allTools lists every tool the benchmark knows.
func allTools() []string {
	return []string{toolCore, toolCLI, toolSigned, toolCrane, toolSkopeo, toolRegctl}
}

// sample is the outcome of one run of one tool.
type sample struct {
	wall time.Duration
	// maxRSS is the largest peak resident set size, in bytes, of the
	// processes the run started; -1 when the run started none.
	maxRSS int64
}

// runner promotes the first n seeded images once.
type runner func(ctx context.Context, n int) (sample, error)

// toolSet holds what each tool needs to run.
type toolSet struct {
	w   *world
	env []string
	// bins maps a tool to the executable it runs.
	bins map[string]string
	// cli is the promote CLI, which cli and cli-signed run.
	cli string
	// policy is skopeo's signature policy file, accepting anything.
	policy string
	// coreOpts are the options the core tool passes to promote.New.
	coreOpts []promote.Option
	// rusage is the rusage command, which every process is started
	// through, and usageFile where it writes its measurements.
	rusage, usageFile string
}

// runnerFor returns the runner of tool.
func (ts *toolSet) runnerFor(tool string) runner {
	switch tool {
	case toolCore:
		return ts.runCore
	case toolCLI:
		return ts.runCLI
	case toolSigned:
		return ts.runSigned
	case toolCrane:
		return ts.runCrane
	case toolSkopeo:
		return ts.runSkopeo
	case toolRegctl:
		return ts.runRegctl
	}
	return func(context.Context, int) (sample, error) { return sample{}, fmt.Errorf("unknown tool %q", tool) }
}

// runCore promotes with the promote package in this process, with its
// default options except for credentials, which are anonymous, and for the
// concurrency when -core-concurrency is given.
func (ts *toolSet) runCore(ctx context.Context, n int) (sample, error) {
	start := time.Now()
	p, err := promote.New(promote.Config{Repositories: ts.w.proxyRepos(n)}, ts.coreOpts...)
	if err != nil {
		return sample{}, fmt.Errorf("configuring promote: %w", err)
	}
	sha, err := promote.ParseSHA(ts.w.sha)
	if err != nil {
		return sample{}, err
	}
	rep, err := p.Promote(ctx, sha, promote.WriteOptions{})
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("promote: %w", err)
	}
	if err := checkReport(rep, n); err != nil {
		return sample{}, err
	}
	return sample{wall: wall, maxRSS: -1}, nil
}

// checkReport confirms that a promotion of n images changed every one.
func checkReport(rep *promote.Report, n int) error {
	if rep.Result != promote.ResultOK {
		return fmt.Errorf("promote reported %q: %s", rep.Result, rep.Error)
	}
	changed := 0
	for _, img := range rep.Images {
		if img.Outcome == promote.OutcomeChanged {
			changed++
		}
	}
	if changed != n {
		return fmt.Errorf("promote changed %d of %d images", changed, n)
	}
	return nil
}

// runCLI promotes with one promote process.
func (ts *toolSet) runCLI(ctx context.Context, n int) (sample, error) {
	args := []string{"promote", "--sha", ts.w.sha, "--json"}
	for _, r := range ts.w.proxyRepos(n) {
		args = append(args, "--image", r)
	}
	return ts.execCLI(ctx, n, args)
}

// execCLI runs the promote CLI with args, which ask for a JSON report, and
// checks that the report changed n images.
func (ts *toolSet) execCLI(ctx context.Context, n int, args []string) (sample, error) {
	acc := sample{maxRSS: -1}
	out, err := ts.exec(ctx, &acc, ts.cli, args...)
	if err != nil {
		return sample{}, err
	}
	var rep promote.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		return sample{}, fmt.Errorf("reading the report of promote: %w", err)
	}
	if err := checkReport(&rep, n); err != nil {
		return sample{}, err
	}
	return acc, nil
}

// runCrane reads every source manifest with one crane manifest each, then
// tags every image with one crane tag each, one process at a time, as the
// old workflow did.
func (ts *toolSet) runCrane(ctx context.Context, n int) (sample, error) {
	refs := ts.sourceRefs(n)
	acc := sample{maxRSS: -1}
	for _, ref := range refs {
		if _, err := ts.exec(ctx, &acc, ts.bins[toolCrane], "manifest", "--insecure", ref); err != nil {
			return sample{}, err
		}
	}
	for _, ref := range refs {
		if _, err := ts.exec(ctx, &acc, ts.bins[toolCrane], "tag", "--insecure", ref, latestTag); err != nil {
			return sample{}, err
		}
	}
	return acc, nil
}

// runSkopeo copies every source image to latest with one skopeo copy each.
func (ts *toolSet) runSkopeo(ctx context.Context, n int) (sample, error) {
	acc := sample{maxRSS: -1}
	for i, ref := range ts.sourceRefs(n) {
		dst := ts.w.proxyRepos(n)[i] + ":" + latestTag
		_, err := ts.exec(ctx, &acc, ts.bins[toolSkopeo], "--policy", ts.policy, "copy", "--quiet",
			"--src-tls-verify=false", "--dest-tls-verify=false", "--preserve-digests",
			"docker://"+ref, "docker://"+dst)
		if err != nil {
			return sample{}, err
		}
	}
	return acc, nil
}

// runRegctl copies every source image to latest with one regctl image copy
// each.
func (ts *toolSet) runRegctl(ctx context.Context, n int) (sample, error) {
	acc := sample{maxRSS: -1}
	for i, ref := range ts.sourceRefs(n) {
		dst := ts.w.proxyRepos(n)[i] + ":" + latestTag
		if _, err := ts.exec(ctx, &acc, ts.bins[toolRegctl], "image", "copy", ref, dst); err != nil {
			return sample{}, err
		}
	}
	return acc, nil
}

// sourceRefs returns the staging references of the first n images, through
// the proxy.
func (ts *toolSet) sourceRefs(n int) []string {
	repos := ts.w.proxyRepos(n)
	for i := range repos {
		repos[i] += ":" + ts.w.sourceTag()
	}
	return repos
}

// maxOutput bounds how much of a process's output is kept.
const maxOutput = 1 << 20

// exec runs bin with args through the rusage command, adds its wall time
// to acc.wall, raises acc.maxRSS to its peak memory, and returns its
// standard output.
func (ts *toolSet) exec(ctx context.Context, acc *sample, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, ts.rusage, append([]string{"-o", ts.usageFile, "--", bin}, args...)...)
	cmd.Env = ts.env
	cmd.Dir = ts.w.home
	stdout := &boundedBuffer{limit: maxOutput}
	stderr := &boundedBuffer{limit: maxOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := os.Remove(ts.usageFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("removing %s: %w", ts.usageFile, err)
	}
	err := cmd.Run()
	wall, rss, uerr := readUsage(ts.usageFile)
	if uerr == nil {
		acc.wall += wall
		acc.maxRSS = max(acc.maxRSS, rss)
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, tail(stderr.String(), 2000))
	case uerr != nil:
		return nil, fmt.Errorf("%s %s: %w", filepath.Base(bin), strings.Join(args, " "), uerr)
	}
	return stdout.Bytes(), nil
}

// readUsage reads the wall time and peak memory that the rusage command
// wrote to path.
func readUsage(path string) (time.Duration, int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("reading the measurements of rusage: %w", err)
	}
	var ns, rss int64
	if _, err := fmt.Sscanf(string(b), "%d %d", &ns, &rss); err != nil {
		return 0, 0, fmt.Errorf("reading the measurements of rusage %q: %w", b, err)
	}
	return time.Duration(ns), rss, nil
}

// boundedBuffer keeps the first limit bytes written to it and drops the rest.
type boundedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
