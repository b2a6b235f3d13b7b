package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/molecule-ai/promote/internal/registrytest"
)

// Targets of the issue. The round-trip and speed targets apply to core and
// cli, the memory target to cli.
const (
	maxRoundTrips      = 5.0
	roundTripsUpTo     = 50
	speedupAt2         = 3.0
	speedupAt20        = 15.0
	cliMaxRSS          = 40 << 20
	cliMaxRSSAt        = 50
	maxWavesListed     = 40
	waveGapDelayDivide = 2
)

// row is one line of the results table.
type row struct {
	tool     string
	n        int
	requests string
	// wall and wall0 are the median wall times with and without the delay.
	wall, wall0 time.Duration
	roundTrips  float64
	maxRSS      int64
	// speedup is crane's median wall divided by this tool's, both with
	// the delay; 0 when crane was not run.
	speedup float64
}

// median returns the median of ds; the mean of the middle two for an even
// count, 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// roundTrips counts sequential round trips: the wall time the delay added,
// in delays.
func roundTrips(wallDelayed, wallUndelayed, delay time.Duration) float64 {
	if delay <= 0 {
		return 0
	}
	return float64(wallDelayed-wallUndelayed) / float64(delay)
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
			rw := row{tool: tool, n: n, requests: countRange(d.requests), wall: median(d.walls), wall0: median(u.walls), maxRSS: max(d.maxRSS, u.maxRSS)}
			rw.roundTrips = roundTrips(rw.wall, rw.wall0, r.delay)
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
		for _, r := range rows {
			if r.tool == tool && r.n == n {
				return r, true
			}
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
		for _, r := range rows {
			if r.tool != tool || r.n > roundTripsUpTo {
				continue
			}
			out = append(out, check{verdict(r.roundTrips <= maxRoundTrips),
				fmt.Sprintf("%s N=%d: %.2f sequential round trips (target <= %g)", tool, r.n, r.roundTrips, maxRoundTrips)})
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
					fmt.Sprintf("%s N=%d: median wall %.2fx lower than crane's (target >= %gx)", tool, t.n, r.speedup, t.want)})
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

// writeResults prints the table, the targets and the request breakdowns
// as Markdown, and reports whether no target failed.
func writeResults(w io.Writer, r *results) bool {
	fmt.Fprintf(w, "### promote benchmark\n\n")
	mode := fmt.Sprintf("%d repetitions", r.reps)
	switch {
	case r.smoke:
		mode = "smoke run, 1 repetition"
	case r.reps == 1:
		mode = "1 repetition"
	}
	fmt.Fprintf(w, "Distribution registry on loopback behind a proxy adding %s per request; %s; medians. Took %s.\n\n",
		r.delay, mode, r.elapsed.Round(time.Second))
	fmt.Fprintf(w, "Machine: %s\n\n", machine())
	if len(r.versions) > 0 {
		var vs []string
		for _, tool := range slices.Sorted(maps.Keys(r.versions)) {
			if v := r.versions[tool]; v != "" {
				vs = append(vs, tool+" "+v)
			}
		}
		fmt.Fprintf(w, "Tools: %s.\n\n", strings.Join(vs, ", "))
	}
	if r.coreConcurrency > 0 {
		fmt.Fprintf(w, "core runs with promote.WithConcurrency(%d); cli with the package default.\n\n", r.coreConcurrency)
	}
	for _, tool := range slices.Sorted(maps.Keys(r.skipped)) {
		fmt.Fprintf(w, "Skipped %s: not installed (%s).\n\n", tool, installHint(tool))
	}

	rows := r.rows()
	fmt.Fprintf(w, "| N | tool | requests | wall, %s delay | wall, no delay | sequential round trips | peak RSS | crane's wall ÷ tool's |\n", r.delay)
	fmt.Fprintf(w, "|--:|:--|--:|--:|--:|--:|--:|--:|\n")
	for _, rw := range rows {
		speedup := "-"
		if rw.speedup > 0 {
			speedup = fmt.Sprintf("%.1fx", rw.speedup)
		}
		fmt.Fprintf(w, "| %d | %s | %s | %.3f s | %.3f s | %.1f | %s | %s |\n",
			rw.n, rw.tool, rw.requests, rw.wall.Seconds(), rw.wall0.Seconds(), rw.roundTrips, formatRSS(rw.maxRSS), speedup)
	}
	fmt.Fprintln(w)

	ok := true
	if r.smoke {
		fmt.Fprintf(w, "Targets: not checked in a smoke run.\n\n")
	} else {
		fmt.Fprintf(w, "Targets:\n\n")
		for _, c := range checks(rows) {
			fmt.Fprintf(w, "- %s %s\n", c.status, c.text)
			if c.status == "FAIL" {
				ok = false
			}
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "Requests by kind (last run with the delay):\n\n| N | tool | requests |\n|--:|:--|:--|\n")
	for _, n := range r.sizes {
		for _, tool := range r.tools {
			if c, found := r.cells[key{tool: tool, n: n, delayed: true}]; found {
				fmt.Fprintf(w, "| %d | %s | %s |\n", n, tool, formatKinds(countKinds(c.last)))
			}
		}
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "Sequential waves of promote's requests (last run with the delay; a wave is a burst of requests separated from the next by more than %s):\n\n", r.delay/waveGapDelayDivide)
	fmt.Fprintf(w, "| N | tool | waves | requests of each wave |\n|--:|:--|--:|:--|\n")
	for _, n := range r.sizes {
		for _, tool := range []string{toolCore, toolCLI} {
			c, found := r.cells[key{tool: tool, n: n, delayed: true}]
			if !found {
				continue
			}
			ws := waves(c.last, r.delay/waveGapDelayDivide)
			parts := make([]string, 0, len(ws))
			for i, wv := range ws {
				if i == maxWavesListed {
					parts = append(parts, fmt.Sprintf("... %d more", len(ws)-maxWavesListed))
					break
				}
				parts = append(parts, "["+formatKinds(wv)+"]")
			}
			fmt.Fprintf(w, "| %d | %s | %d | %s |\n", n, tool, len(ws), strings.Join(parts, " "))
		}
	}
	fmt.Fprintln(w)
	return ok
}

// kind names what a request was for, from its method and path: ping,
// manifest, blob, upload or other.
func kind(method, path string) string {
	switch {
	case path == "/v2/" || path == "/v2":
		return method + " /v2/"
	case strings.Contains(path, "/manifests/"):
		return method + " manifest"
	case strings.Contains(path, "/blobs/uploads"):
		return method + " upload"
	case strings.Contains(path, "/blobs/"):
		return method + " blob"
	case strings.Contains(path, "/tags/list"):
		return method + " tags"
	case strings.Contains(path, "/referrers/"):
		return method + " referrers"
	}
	return method + " other"
}

// kindCount is how many requests of one kind were made.
type kindCount struct {
	kind  string
	count int
}

// countKinds counts reqs by kind, in the order each kind first appears.
func countKinds(reqs []registrytest.Request) []kindCount {
	var out []kindCount
	for _, rq := range reqs {
		k := kind(rq.Method, rq.Path)
		i := slices.IndexFunc(out, func(kc kindCount) bool { return kc.kind == k })
		if i < 0 {
			out = append(out, kindCount{kind: k})
			i = len(out) - 1
		}
		out[i].count++
	}
	return out
}

// formatKinds formats counts as "GET manifest 4, PUT manifest 2".
func formatKinds(kcs []kindCount) string {
	parts := make([]string, len(kcs))
	for i, kc := range kcs {
		parts[i] = fmt.Sprintf("%s %d", kc.kind, kc.count)
	}
	return strings.Join(parts, ", ")
}

// waves splits reqs, by arrival time, into bursts separated by more than
// gap. Through a delaying proxy each burst is one sequential round trip.
func waves(reqs []registrytest.Request, gap time.Duration) [][]kindCount {
	s := slices.Clone(reqs)
	slices.SortStableFunc(s, func(a, b registrytest.Request) int { return a.Time.Compare(b.Time) })
	var out [][]kindCount
	start := 0
	for i := range s {
		if i == len(s)-1 || s[i+1].Time.Sub(s[i].Time) > gap {
			out = append(out, countKinds(s[start:i+1]))
			start = i + 1
		}
	}
	return out
}

// machine describes the machine: CPU model, cores, memory, Go version and
// date.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kib int64
				if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d", &kib); err == nil {
					mem = fmt.Sprintf(", %.1f GiB memory", float64(kib)/(1<<20))
				}
			}
		}
	}
	return fmt.Sprintf("%s, %d cores%s, %s %s/%s, %s", model, runtime.NumCPU(), mem,
		runtime.Version(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
}
