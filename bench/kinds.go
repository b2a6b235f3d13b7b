package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/molecule-ai/promote/internal/registrytest"
)

// writeKinds prints the requests of the last run of each tool with the
// delay, by kind.
func writeKinds(w io.Writer, r *results) {
	fmt.Fprintf(w, "Requests by kind (last run with the delay):\n\n| N | tool | requests |\n|--:|:--|:--|\n")
	for _, n := range r.sizes {
		for _, tool := range r.tools {
			if c, found := r.cells[key{tool: tool, n: n, delayed: true}]; found {
				fmt.Fprintf(w, "| %d | %s | %s |\n", n, tool, formatKinds(countKinds(c.last)))
			}
		}
	}
	fmt.Fprintln(w)
}

// writeWaves prints the bursts in which promote's requests went out in its
// last run with the delay.
func writeWaves(w io.Writer, r *results) {
	gap := r.delay / waveGapDelayDivide
	fmt.Fprintf(w, "Sequential waves of promote's requests (last run with the delay; a wave is a burst of requests separated from the next by more than %s):\n\n", gap)
	fmt.Fprintf(w, "| N | tool | waves | requests of each wave |\n|--:|:--|--:|:--|\n")
	for _, n := range r.sizes {
		for _, tool := range []string{toolCore, toolCLI, toolSigned} {
			c, found := r.cells[key{tool: tool, n: n, delayed: true}]
			if !found {
				continue
			}
			ws := waves(c.last, gap)
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
