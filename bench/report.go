package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Targets, regression guards at what promote's design reaches on the
// project's 2-core machine. The round-trip and speed targets apply to core
// and cli, the memory target to cli.
const (
	// maxRoundTrips: five for the moves, two for their promotion
	// records.
	maxRoundTrips      = 7
	speedupAt2         = 2.0
	speedupAt20        = 7.0
	cliMaxRSS          = 40 << 20
	cliMaxRSSAt        = 50
	maxWavesListed     = 40
	waveGapDelayDivide = 2
)

// roundTripsJudgedAt lists the N at which the round-trip target is
// checked; other N are reported only.
var roundTripsJudgedAt = []int{2, 20}

// row is one line of the results table.
type row struct {
	tool     string
	n        int
	requests string
	// wall and wall0 are the median wall times with and without the delay.
	wall, wall0 time.Duration
	// held is the median over the runs with the delay of the mean time
	// the proxy held a request.
	held       time.Duration
	roundTrips estimate
	maxRSS     int64
	// speedup is crane's median wall divided by this tool's, both with
	// the delay; 0 when crane was not run.
	speedup float64
}

// median returns the median of xs; the mean of the middle two for an even
// count, 0 for none.
func median[T ~int64 | ~float64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// roundTrips counts the sequential round trips of one pair of runs: the
// wall time the delay added, in delays as the proxy applied them (held).
func roundTrips(wallDelayed, wallUndelayed, held time.Duration) float64 {
	if held <= 0 {
		return 0
	}
	return float64(wallDelayed-wallUndelayed) / float64(held)
}

// estimate is the median of a sample with a confidence interval around it.
type estimate struct {
	median, low, high float64
}

// String formats the estimate, with its interval when it has one.
func (e estimate) String() string {
	if e.low == e.high {
		return fmt.Sprintf("%.1f", e.median)
	}
	return fmt.Sprintf("%.1f (%.1f to %.1f)", e.median, e.low, e.high)
}

// confidence is the confidence level of the interval of an estimate.
const confidence = 0.95

// estimateMedian returns the median of xs and a distribution-free
// confidence interval for it: the order statistics that cover the median
// with at least the confidence level, as a binomial distribution with
// p = 1/2 gives them. With too few values for that, the interval is the
// range of all of them.
func estimateMedian(xs []float64) estimate {
	if len(xs) == 0 {
		return estimate{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	// The interval runs from the r-th value from the bottom to the r-th
	// from the top, with r the largest rank at which the chance that fewer
	// than r of n values fall below the median stays within the tail: one
	// value from each end at least.
	r, tail := 1, (1-confidence)/2
	cdf, p := 0.0, math.Pow(0.5, float64(n)) // p is the chance of exactly j below
	for j := 0; j < n/2; j++ {
		if cdf += p; cdf > tail {
			break
		}
		r = j + 1
		p *= float64(n-j) / float64(j+1)
	}
	return estimate{median: median(s), low: s[r-1], high: s[n-r]}
}

// pairedRoundTrips estimates, from the pairs of runs of d (with the delay)
// and u (without), the sequential round trips: the median of each pair's
// count and its confidence interval. A run whose held time is unknown
// counts in delays of nominal.
func pairedRoundTrips(d, u *cell, nominal time.Duration) estimate {
	n := min(len(d.walls), len(u.walls))
	rts := make([]float64, n)
	for i := range n {
		held := nominal
		if i < len(d.held) && d.held[i] > 0 {
			held = d.held[i]
		}
		rts[i] = roundTrips(d.walls[i], u.walls[i], held)
	}
	return estimateMedian(rts)
}

// countRange formats request counts as one number, or min-max when runs
// differed.
func countRange(counts []int) string {
	if len(counts) == 0 {
		return "-"
	}
	lo, hi := slices.Min(counts), slices.Max(counts)
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// rows computes the table, in the order of sizes, then tools.
func (r *results) rows() []row {
	var out []row
	for _, n := range r.sizes {
		craneWall := time.Duration(0)
		if c, ok := r.cells[key{tool: toolCrane, n: n, delayed: true}]; ok {
			craneWall = median(c.walls)
		}
		for _, tool := range r.tools {
			d, ok := r.cells[key{tool: tool, n: n, delayed: true}]
			u, ok0 := r.cells[key{tool: tool, n: n, delayed: false}]
			if !ok || !ok0 {
				continue
			}
			rw := row{tool: tool, n: n, requests: countRange(d.requests), wall: median(d.walls), wall0: median(u.walls),
				held: median(d.held), roundTrips: pairedRoundTrips(d, u, r.delay), maxRSS: max(d.maxRSS, u.maxRSS)}
			if craneWall > 0 && rw.wall > 0 {
				rw.speedup = float64(craneWall) / float64(rw.wall)
			}
			out = append(out, rw)
		}
	}
	return out
}

// formatRSS formats a byte count in MiB, or n/a.
func formatRSS(b int64) string {
	if b < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

// check is one target's verdict.
type check struct {
	// status is PASS, FAIL or SKIP.
	status string
	text   string
}

// checks evaluates the targets on rows. A target whose N or whose crane
// run was not measured is skipped.
func checks(rows []row) []check {
	find := func(tool string, n int) (row, bool) {
		if r := findRow(rows, tool, n); r != nil {
			return *r, true
		}
		return row{}, false
	}
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	var out []check
	for _, tool := range []string{toolCore, toolCLI} {
		for _, n := range roundTripsJudgedAt {
			if r, ok := find(tool, n); ok {
				rt := r.roundTrips
				out = append(out, check{verdict(rt.high < maxRoundTrips+1),
					fmt.Sprintf("%s N=%d: %.2f sequential round trips, %g%% confidence interval %.2f to %.2f (target <= %d: the interval below %d)",
						tool, n, rt.median, confidence*100, rt.low, rt.high, maxRoundTrips, maxRoundTrips+1)})
			} else {
				out = append(out, check{"SKIP", fmt.Sprintf("%s N=%d: <= %d sequential round trips (not measured)", tool, n, maxRoundTrips)})
			}
		}
		for _, t := range []struct {
			n    int
			want float64
		}{{2, speedupAt2}, {20, speedupAt20}} {
			r, ok := find(tool, t.n)
			switch {
			case !ok:
				out = append(out, check{"SKIP", fmt.Sprintf("%s N=%d: %gx faster than crane (not measured)", tool, t.n, t.want)})
			case r.speedup == 0:
				out = append(out, check{"SKIP", fmt.Sprintf("%s N=%d: %gx faster than crane (crane not run)", tool, t.n, t.want)})
			default:
				out = append(out, check{verdict(r.speedup >= t.want),
					fmt.Sprintf("%s N=%d: median wall %.2fx lower than crane's, writing the -previous backups too (target >= %gx)", tool, t.n, r.speedup, t.want)})
			}
		}
	}
	if r, ok := find(toolCLI, cliMaxRSSAt); ok && r.maxRSS >= 0 {
		out = append(out, check{verdict(r.maxRSS <= cliMaxRSS),
			fmt.Sprintf("cli N=%d: peak RSS %s (target <= %d MiB)", cliMaxRSSAt, formatRSS(r.maxRSS), cliMaxRSS>>20)})
	} else {
		out = append(out, check{"SKIP", fmt.Sprintf("cli N=%d: peak RSS <= %d MiB (not measured)", cliMaxRSSAt, cliMaxRSS>>20)})
	}
	return out
}

// writeResults prints, as Markdown, the table, the targets, the summary
// for the project README and the request breakdowns, and reports whether
// no target failed.
func writeResults(w io.Writer, r *results) bool {
	rows := r.rows()
	writeHeader(w, r)
	writeTable(w, r, rows)
	ok := writeTargets(w, r, rows)
	writeSummary(w, r, rows)
	writeSignatureCost(w, r, rows)
	writeKinds(w, r)
	writeWaves(w, r)
	return ok
}

// writeHeader describes the run: setting, machine and tools.
func writeHeader(w io.Writer, r *results) {
	fmt.Fprintf(w, "### promote benchmark\n\n")
	mode := fmt.Sprintf("pairs of runs with and without the delay: %d of core, cli and cli-signed, %d of every other tool", r.promoteReps, r.reps)
	if r.smoke {
		mode = "smoke run, one pair of runs with and without the delay"
	}
	fmt.Fprintf(w, "Distribution registry on loopback behind a proxy adding %s per request; %s; medians. Took %s.\n\n",
		r.delay, mode, r.elapsed.Round(time.Second))
	fmt.Fprintf(w, "Machine: %s\n\n", machine())
	var vs []string
	for _, tool := range slices.Sorted(maps.Keys(r.versions)) {
		if v := r.versions[tool]; v != "" {
			vs = append(vs, tool+" "+v)
		}
	}
	if len(vs) > 0 {
		fmt.Fprintf(w, "Tools: %s.\n\n", strings.Join(vs, ", "))
	}
	if r.coreConcurrency > 0 {
		fmt.Fprintf(w, "core runs with promote.WithConcurrency(%d); cli with the package default.\n\n", r.coreConcurrency)
	}
	for _, tool := range slices.Sorted(maps.Keys(r.skipped)) {
		fmt.Fprintf(w, "Skipped %s: not installed (%s).\n\n", tool, installHint(tool))
	}
}

// writeTable prints one line per tool and N.
func writeTable(w io.Writer, r *results, rows []row) {
	fmt.Fprintf(w, "| N | tool | requests | wall, %s delay | wall, no delay | delay as held | sequential round trips | peak RSS | crane's wall ÷ tool's |\n", r.delay)
	fmt.Fprintf(w, "|--:|:--|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, rw := range rows {
		fmt.Fprintf(w, "| %d | %s | %s | %.3f s | %.3f s | %s | %s | %s | %s |\n",
			rw.n, rw.tool, rw.requests, rw.wall.Seconds(), rw.wall0.Seconds(), formatHeld(rw.held), rw.roundTrips, formatRSS(rw.maxRSS), formatSpeedup(rw.speedup))
	}
	fmt.Fprintln(w)
}

// writeTargets prints one line per target and reports whether none failed.
func writeTargets(w io.Writer, r *results, rows []row) bool {
	if r.smoke {
		fmt.Fprintf(w, "Targets: not checked in a smoke run.\n\n")
		return true
	}
	ok := true
	fmt.Fprintf(w, "Targets:\n\n")
	for _, c := range checks(rows) {
		fmt.Fprintf(w, "- %s %s\n", c.status, c.text)
		if c.status == "FAIL" {
			ok = false
		}
	}
	fmt.Fprintln(w)
	return ok
}

// writeSummary prints the short table of the project README: the cli
// against crane at every N, when both ran.
func writeSummary(w io.Writer, r *results, rows []row) {
	var lines []string
	for _, n := range r.sizes {
		cli, crane := findRow(rows, toolCLI, n), findRow(rows, toolCrane, n)
		if cli == nil || crane == nil {
			continue
		}
		lines = append(lines, fmt.Sprintf("| %d | %.2f s | %.2f s | %s | %.1f | %s |",
			n, cli.wall.Seconds(), crane.wall.Seconds(), formatSpeedup(cli.speedup), cli.roundTrips.median, formatRSS(cli.maxRSS)))
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "Summary for the project README (%s per request):\n\n", r.delay)
	fmt.Fprintf(w, "| images | promote | crane | promote is faster | sequential round trips | promote's peak RSS |\n|--:|--:|--:|--:|--:|--:|\n")
	fmt.Fprintf(w, "%s\n\n", strings.Join(lines, "\n"))
}

// writeSignatureCost prints what verifying signatures adds to a promotion:
// cli-signed against cli at every N where both ran.
func writeSignatureCost(w io.Writer, r *results, rows []row) {
	var lines []string
	for _, n := range r.sizes {
		cli, signed := findRow(rows, toolCLI, n), findRow(rows, toolSigned, n)
		if cli == nil || signed == nil {
			continue
		}
		lines = append(lines, fmt.Sprintf("| %d | %.3f s | %.3f s | %+.3f s | %.3f s | %+.3f s | %.1f | %.1f | %+.1f |",
			n, cli.wall.Seconds(), signed.wall.Seconds(), (signed.wall-cli.wall).Seconds(),
			signed.wall0.Seconds(), (signed.wall0-cli.wall0).Seconds(),
			cli.roundTrips.median, signed.roundTrips.median, signed.roundTrips.median-cli.roundTrips.median))
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "Signature checks: cli-signed against cli (medians; wall with the %s delay, then without):\n\n", r.delay)
	fmt.Fprintf(w, "| N | cli | cli-signed | added | cli-signed, no delay | added, no delay | cli round trips | cli-signed round trips | added round trips |\n")
	fmt.Fprintf(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n%s\n\n", strings.Join(lines, "\n"))
}

// findRow returns the row of tool at n, or nil.
func findRow(rows []row, tool string, n int) *row {
	for i := range rows {
		if rows[i].tool == tool && rows[i].n == n {
			return &rows[i]
		}
	}
	return nil
}

// formatSpeedup formats a wall ratio, or "-" when there is none.
func formatSpeedup(x float64) string {
	if x <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", x)
}

// formatHeld formats how long the proxy held a request, or "-" for none.
func formatHeld(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
