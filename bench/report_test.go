package main

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/promote/internal/registrytest"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{ms(3)}, ms(3)},
		{[]time.Duration{ms(9), ms(1), ms(5)}, ms(5)},
		{[]time.Duration{ms(4), ms(1), ms(2), ms(100)}, ms(3)},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	in := []time.Duration{ms(3), ms(1), ms(2)}
	median(in)
	if !slices.Equal(in, []time.Duration{ms(3), ms(1), ms(2)}) {
		t.Errorf("median reordered its input: %v", in)
	}
}

func TestRoundTrips(t *testing.T) {
	if got := roundTrips(ms(230), ms(105), ms(25)); got != 5 {
		t.Errorf("roundTrips = %v, want 5", got)
	}
	if got := roundTrips(ms(230), ms(105), 0); got != 0 {
		t.Errorf("roundTrips with no delay = %v, want 0", got)
	}
}

func TestPairedRoundTrips(t *testing.T) {
	tests := []struct {
		name      string
		delayed   []time.Duration
		undelayed []time.Duration
		held      []time.Duration
		want      float64
	}{
		{
			// Medians of 0.225 s and 0.125 s would give 4; the pairs say 5.
			name:      "the load changes between pairs",
			delayed:   []time.Duration{ms(225), ms(325), ms(425)},
			undelayed: []time.Duration{ms(100), ms(200), ms(300)},
			held:      []time.Duration{ms(25), ms(25), ms(25)},
			want:      5,
		},
		{
			name:      "the proxy held requests longer than the delay",
			delayed:   []time.Duration{ms(250)},
			undelayed: []time.Duration{ms(100)},
			held:      []time.Duration{ms(30)},
			want:      5,
		},
		{
			name:      "no held times: the nominal delay",
			delayed:   []time.Duration{ms(225)},
			undelayed: []time.Duration{ms(100)},
			want:      5,
		},
		{
			name:      "an outlier pair",
			delayed:   []time.Duration{ms(225), ms(900), ms(225)},
			undelayed: []time.Duration{ms(100), ms(100), ms(100)},
			want:      5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &cell{walls: tt.delayed, held: tt.held}
			u := &cell{walls: tt.undelayed}
			if got := pairedRoundTrips(d, u, ms(25)); got.median != tt.want {
				t.Errorf("pairedRoundTrips = %v, want a median of %v", got, tt.want)
			}
		})
	}
}

func TestEstimateMedian(t *testing.T) {
	seq := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(n - i) // descending: the order must not matter
		}
		return out
	}
	tests := []struct {
		name string
		in   []float64
		want estimate
	}{
		{"none", nil, estimate{}},
		{"one", []float64{5}, estimate{5, 5, 5}},
		// With five values the range covers the median with 94%.
		{"five: the range", seq(5), estimate{3, 1, 5}},
		// Six: the chance of none below the median is 1/64 <= 2.5%.
		{"six", seq(6), estimate{3.5, 1, 6}},
		// Fifteen: 3 or fewer below has a chance of 1.8%, 4 or fewer 5.9%.
		{"fifteen", seq(15), estimate{8, 4, 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := estimateMedian(tt.in); got != tt.want {
				t.Errorf("estimateMedian(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestCountRange(t *testing.T) {
	for _, tt := range []struct {
		in   []int
		want string
	}{{nil, "-"}, {[]int{18, 18}, "18"}, {[]int{19, 18, 20}, "18-20"}} {
		if got := countRange(tt.in); got != tt.want {
			t.Errorf("countRange(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestKind(t *testing.T) {
	for _, tt := range []struct{ method, path, want string }{
		{"GET", "/v2/", "GET /v2/"},
		{"HEAD", "/v2/bench/service-000/manifests/latest", "HEAD manifest"},
		{"GET", "/v2/bench/service-000/blobs/sha256:abc", "GET blob"},
		{"POST", "/v2/bench/service-000/blobs/uploads/", "POST upload"},
		{"GET", "/v2/bench/service-000/tags/list", "GET tags"},
		{"GET", "/v2/bench/service-000/referrers/sha256:abc", "GET referrers"},
		{"GET", "/favicon.ico", "GET other"},
	} {
		if got := kind(tt.method, tt.path); got != tt.want {
			t.Errorf("kind(%s, %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestWaves(t *testing.T) {
	t0 := time.Unix(1000, 0)
	req := func(method, path string, at int) registrytest.Request {
		return registrytest.Request{Method: method, Path: path, Time: t0.Add(ms(at))}
	}
	reqs := []registrytest.Request{
		req("GET", "/v2/a/manifests/x", 27),
		req("GET", "/v2/", 0),
		req("GET", "/v2/", 1),
		req("GET", "/v2/b/manifests/x", 26),
		req("PUT", "/v2/a/manifests/latest", 55),
	}
	got := waves(reqs, ms(12))
	want := []string{"GET /v2/ 2", "GET manifest 2", "PUT manifest 1"}
	if len(got) != len(want) {
		t.Fatalf("waves = %v, want %d waves", got, len(want))
	}
	for i := range want {
		if s := formatKinds(got[i]); s != want[i] {
			t.Errorf("wave %d = %q, want %q", i, s, want[i])
		}
	}
	if len(waves(nil, ms(12))) != 0 {
		t.Error("waves of no request is not empty")
	}
}

func TestRotate(t *testing.T) {
	s := []string{"a", "b", "c"}
	if got := rotate(s, 4); !slices.Equal(got, []string{"b", "c", "a"}) {
		t.Errorf("rotate by 4 = %v", got)
	}
	if !slices.Equal(s, []string{"a", "b", "c"}) {
		t.Errorf("rotate changed its input: %v", s)
	}
	if rotate(nil, 1) != nil {
		t.Error("rotate of nothing is not nil")
	}
}

// walls gives, in milliseconds, the median wall of a tool at n images with
// and without the delay; ok is false for a tool that did not run.
type walls func(tool string, n int) (delayed, undelayed int, ok bool)

// standardWalls: core and cli take 4 round trips at N=2 and N=50 but 40 at
// N=20; crane takes 2 s at N=2 and 4 s at N=20.
func standardWalls(tool string, n int) (int, int, bool) {
	switch tool {
	case toolCore, toolCLI:
		if n == 20 {
			return 1100, 100, true
		}
		return 130 + n, 30 + n, true
	case toolCrane:
		return 2000 * n / 2, 500 * n / 2, true
	}
	return 0, 0, false
}

// sampleResults is one repetition of every tool for which w gives walls.
func sampleResults(w walls, sizes []int) *results {
	r := &results{delay: ms(25), reps: 1, sizes: sizes, tools: allTools(), cells: map[key]*cell{}}
	for _, n := range sizes {
		for _, tool := range allTools() {
			d, u, ok := w(tool, n)
			if !ok {
				continue
			}
			rss := int64(-1)
			if tool != toolCore {
				rss = 30 << 20
			}
			r.cells[key{tool, n, true}] = &cell{walls: []time.Duration{ms(d)}, requests: []int{9 * n}, maxRSS: rss}
			r.cells[key{tool, n, false}] = &cell{walls: []time.Duration{ms(u)}, requests: []int{9 * n}, maxRSS: rss}
		}
	}
	return r
}

func TestChecks(t *testing.T) {
	r := sampleResults(standardWalls, []int{2, 20, 50})
	got := map[string]string{}
	for _, c := range checks(r.rows()) {
		got[c.text] = c.status
	}
	wants := map[string]string{
		"core N=2: 4.00 sequential round trips, 95% confidence interval 4.00 to 4.00 (target <= 7: the interval below 8)":     "PASS",
		"core N=20: 40.00 sequential round trips, 95% confidence interval 40.00 to 40.00 (target <= 7: the interval below 8)": "FAIL",
		"cli N=2: median wall 15.15x lower than crane's, writing the -previous backups too (target >= 2x)":                    "PASS",
		"cli N=20: median wall 18.18x lower than crane's, writing the -previous backups too (target >= 7x)":                   "PASS",
		"cli N=50: peak RSS 30.0 MiB (target <= 40 MiB)":                                                                      "PASS",
	}
	for text, status := range wants {
		if got[text] != status {
			t.Errorf("check %q = %q, want %q; all: %v", text, got[text], status, got)
		}
	}
	// Round trips at N=2 and N=20 and speed at N=2 and N=20 for core and
	// cli, and the cli's memory; N=50's round trips are not judged.
	if len(got) != 9 {
		t.Errorf("%d checks, want 9: %v", len(got), got)
	}
}

func TestRoundTripTarget(t *testing.T) {
	tests := []struct {
		name string
		est  estimate
		want string
	}{
		{"seven, tightly", estimate{7.1, 6.9, 7.3}, "PASS"},
		{"an eighth round trip excluded", estimate{7.4, 6.8, 7.9}, "PASS"},
		{"an eighth round trip not excluded", estimate{7.2, 6.1, 8.3}, "FAIL"},
		{"eight", estimate{8.0, 7.8, 8.2}, "FAIL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			judged := false
			for _, c := range checks([]row{{tool: toolCore, n: 2, roundTrips: tt.est}}) {
				if strings.HasPrefix(c.text, "core N=2: ") && strings.Contains(c.text, "round trips") {
					judged = true
					if c.status != tt.want {
						t.Errorf("%s %s: want %s", c.status, c.text, tt.want)
					}
				}
			}
			if !judged {
				t.Error("no round-trip check for core at N=2")
			}
		})
	}
}

func TestChecksSkipWithoutCrane(t *testing.T) {
	onlyCore := func(tool string, n int) (int, int, bool) {
		if tool != toolCore {
			return 0, 0, false
		}
		return standardWalls(tool, n)
	}
	r := sampleResults(onlyCore, []int{2})
	for _, c := range checks(r.rows()) {
		if (strings.Contains(c.text, "crane") || strings.Contains(c.text, "RSS")) && c.status != "SKIP" {
			t.Errorf("%s %s: want SKIP when not measured", c.status, c.text)
		}
	}
}

func TestWriteResults(t *testing.T) {
	r := sampleResults(standardWalls, []int{2, 20, 50})
	var buf bytes.Buffer
	if writeResults(&buf, r) {
		t.Error("writeResults reported success with a failed target")
	}
	out := buf.String()
	for _, want := range []string{
		"| 2 | crane | 18 | 2.000 s | 0.500 s | - | 60.0 | 30.0 MiB | 1.0x |",
		"- FAIL core N=20", "- PASS core N=2",
		"| images | promote | crane | promote is faster | sequential round trips | promote's peak RSS |",
		"| 20 | 1.10 s | 20.00 s | 18.2x | 40.0 | 30.0 MiB |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	r.smoke = true
	buf.Reset()
	if !writeResults(&buf, r) || !strings.Contains(buf.String(), "not checked in a smoke run") {
		t.Errorf("a smoke run checked targets:\n%s", buf.String())
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-n", "50, 2,20,2", "-tools", "crane,core"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.sizes, []int{2, 20, 50}) || !slices.Equal(cfg.tools, []string{toolCore, toolCrane}) || cfg.reps != 5 || cfg.delay != ms(25) {
		t.Errorf("parsed %+v", cfg)
	}
	if cfg.repsOf(toolCore) != 15 || cfg.repsOf(toolCLI) != 15 || cfg.repsOf(toolCrane) != 5 {
		t.Errorf("repetitions: core %d, cli %d, crane %d; want 15, 15, 5", cfg.repsOf(toolCore), cfg.repsOf(toolCLI), cfg.repsOf(toolCrane))
	}
	cfg, err = parseFlags([]string{"-smoke", "-reps", "9", "-promote-reps", "9"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.sizes, []int{2}) || cfg.reps != 1 || cfg.promoteReps != 1 {
		t.Errorf("smoke run parsed as N=%v, %d and %d repetitions", cfg.sizes, cfg.reps, cfg.promoteReps)
	}
	for _, bad := range [][]string{{"-n", "0"}, {"-n", "x"}, {"-tools", "docker"}, {"-reps", "0"}, {"-promote-reps", "101"}, {"-delay", "0s"}, {"extra"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

func TestBoundedBuffer(t *testing.T) {
	b := &boundedBuffer{limit: 4}
	for _, s := range []string{"ab", "cdef", "gh"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if b.String() != "abcd" {
		t.Errorf("kept %q, want %q", b.String(), "abcd")
	}
}

func TestChildEnv(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", "/somewhere")
	w := &world{home: "/tmp/bench-home"}
	env := w.childEnv()
	if slices.Contains(env, "DOCKER_CONFIG=/somewhere") {
		t.Error("DOCKER_CONFIG reaches the tools")
	}
	if !slices.Contains(env, "HOME=/tmp/bench-home") {
		t.Errorf("HOME is not the bench's: %v", env)
	}
}

func TestWriteSignatureCost(t *testing.T) {
	signedWalls := func(tool string, n int) (int, int, bool) {
		switch tool {
		case toolCLI:
			return 130 + n, 30 + n, true
		case toolSigned:
			return 200 + n, 50 + n, true
		}
		return 0, 0, false
	}
	tests := []struct {
		name  string
		walls walls
		want  string
	}{
		{"both ran", signedWalls, "| 2 | 0.132 s | 0.202 s | +0.070 s | 0.052 s | +0.020 s | 4.0 | 6.0 | +2.0 |"},
		{"no signed run", standardWalls, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sampleResults(tc.walls, []int{2})
			var buf bytes.Buffer
			writeSignatureCost(&buf, r, r.rows())
			out := buf.String()
			if tc.want == "" {
				if out != "" {
					t.Errorf("printed a table without cli-signed:\n%s", out)
				}
				return
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
