package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// crossKey names one setting of the cross-registry case.
type crossKey struct {
	tool string
	n    int
	// large: images crossLargeFactor times larger.
	large bool
}

// crossCell is every run made in one setting.
type crossCell struct {
	walls    []time.Duration
	requests []int
	uploaded []int64
	maxRSS   int64
}

// crossResults is what the cross-registry case measured.
type crossResults struct {
	delay      time.Duration
	reps       int
	smoke      bool
	sizes      []int
	layerBytes int64
	tools      []string
	skipped    map[string]error
	versions   map[string]string
	cells      map[crossKey]*crossCell
	elapsed    time.Duration
}

// crossRow is one line of the cross-registry table.
type crossRow struct {
	key      crossKey
	wall     time.Duration
	requests string
	uploaded int64
	maxRSS   int64
	// speedup is the fastest other tool's median wall divided by this
	// one's, for promote's rows; 0 otherwise or when no other tool ran.
	speedup float64
}

// rows computes the table: every N, then every tool, then the cli on the
// larger images.
func (r *crossResults) rows() []crossRow {
	var out []crossRow
	for _, n := range r.sizes {
		fastest := time.Duration(0)
		for _, tool := range []string{toolCrane, toolRegctl, toolSkopeo} {
			if c, ok := r.cells[crossKey{tool: tool, n: n}]; ok {
				if m := median(c.walls); fastest == 0 || m < fastest {
					fastest = m
				}
			}
		}
		for _, k := range append(toolKeys(r.tools, n), crossKey{tool: toolCLI, n: n, large: true}) {
			c, ok := r.cells[k]
			if !ok {
				continue
			}
			rw := crossRow{key: k, wall: median(c.walls), requests: countRange(c.requests), uploaded: medianInt(c.uploaded), maxRSS: c.maxRSS}
			if (k.tool == toolCore || k.tool == toolCLI) && !k.large && fastest > 0 {
				rw.speedup = float64(fastest) / float64(rw.wall)
			}
			out = append(out, rw)
		}
	}
	return out
}

func toolKeys(tools []string, n int) []crossKey {
	out := make([]crossKey, len(tools))
	for i, t := range tools {
		out[i] = crossKey{tool: t, n: n}
	}
	return out
}

// medianInt is the median of xs, the lower middle one for an even count.
func medianInt(xs []int64) int64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// crossChecks evaluates the cross-registry targets.
func crossChecks(r *crossResults, rows []crossRow) []check {
	var out []check
	find := func(k crossKey) (crossRow, bool) {
		i := slices.IndexFunc(rows, func(rw crossRow) bool { return rw.key == k })
		if i < 0 {
			return crossRow{}, false
		}
		return rows[i], true
	}
	verdict := map[bool]string{true: "PASS", false: "FAIL"}
	for _, tool := range []string{toolCore, toolCLI} {
		rw, ok := find(crossKey{tool: tool, n: crossSpeedupAt})
		if !ok || rw.speedup == 0 {
			out = append(out, check{"SKIP", fmt.Sprintf("%s N=%d: %gx lower wall than the fastest other tool (not measured)", tool, crossSpeedupAt, crossSpeedup)})
			continue
		}
		out = append(out, check{verdict[rw.speedup >= crossSpeedup],
			fmt.Sprintf("%s N=%d: median wall %.2fx lower than the fastest other tool's (target >= %gx)", tool, crossSpeedupAt, rw.speedup, crossSpeedup)})
	}
	small, okS := find(crossKey{tool: toolCLI, n: r.sizes[0]})
	large, okL := find(crossKey{tool: toolCLI, n: r.sizes[0], large: true})
	if okS && okL && small.maxRSS > 0 && large.maxRSS > 0 {
		out = append(out, check{verdict[large.maxRSS <= small.maxRSS+crossRSSSlack],
			fmt.Sprintf("cli N=%d: peak RSS %s with %d MiB images, %s with %d MiB images (target: at most %d MiB more)",
				r.sizes[0], formatRSS(small.maxRSS), 4*r.layerBytes>>20, formatRSS(large.maxRSS), 4*crossLargeFactor*r.layerBytes>>20, crossRSSSlack>>20)})
	} else {
		out = append(out, check{"SKIP", "cli: peak RSS flat with image size (not measured)"})
	}
	return out
}

// writeCrossResults prints the cross-registry table and targets as
// Markdown, and reports whether no target failed.
func writeCrossResults(w io.Writer, r *crossResults) bool {
	fmt.Fprintf(w, "### promote benchmark: across registries\n\n")
	mode := fmt.Sprintf("%d repetitions, medians", r.reps)
	if r.smoke {
		mode = "smoke run, 1 repetition"
	}
	fmt.Fprintf(w, "Two distribution registries on loopback, each behind a proxy adding %s per request; "+
		"each image is a linux/amd64 + linux/arm64 index of 4 layers of %d MiB (%d MiB), signed with an OCI referrer and a classic .sig tag; "+
		"every run copies into a new, empty destination registry; %s. Took %s.\n\n",
		r.delay, r.layerBytes>>20, 4*r.layerBytes>>20, mode, r.elapsed.Round(time.Second))
	fmt.Fprintf(w, "Machine: %s\n\n", machine())
	var vs []string
	for _, tool := range r.tools {
		if v := r.versions[tool]; v != "" {
			vs = append(vs, tool+" "+v)
		}
	}
	if len(vs) > 0 {
		fmt.Fprintf(w, "Tools: %s. core and cli: promote with --destination-prefix, copying and then moving latest; "+
			"crane copy, regctl image copy --referrers --digest-tags and skopeo copy --all --preserve-digests: one process per image.\n\n", strings.Join(vs, ", "))
	}
	for tool, e := range r.skipped {
		fmt.Fprintf(w, "Skipped %s: %v.\n\n", tool, e)
	}
	fmt.Fprintf(w, "| N | tool | image size | requests | uploaded | wall, %s delay | peak RSS | fastest other ÷ tool |\n|--:|:--|--:|--:|--:|--:|--:|--:|\n", r.delay)
	rows := r.rows()
	for _, rw := range rows {
		size := 4 * r.layerBytes
		if rw.key.large {
			size *= crossLargeFactor
		}
		speedup := "-"
		if rw.speedup > 0 {
			speedup = fmt.Sprintf("%.1fx", rw.speedup)
		}
		fmt.Fprintf(w, "| %d | %s | %d MiB | %s | %.1f MiB | %.3f s | %s | %s |\n",
			rw.key.n, rw.key.tool, size>>20, rw.requests, float64(rw.uploaded)/(1<<20), rw.wall.Seconds(), formatRSS(rw.maxRSS), speedup)
	}
	fmt.Fprintln(w)
	if r.smoke {
		fmt.Fprintf(w, "Targets: not checked in a smoke run.\n\n")
		return true
	}
	ok := true
	fmt.Fprintf(w, "Targets:\n\n")
	for _, c := range crossChecks(r, rows) {
		fmt.Fprintf(w, "- %s %s\n", c.status, c.text)
		ok = ok && c.status != "FAIL"
	}
	fmt.Fprintln(w)
	return ok
}
