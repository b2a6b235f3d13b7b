package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/molecule-ai/promote/internal/registrytest"
)

// key names one setting: a tool, a number of images, and whether the proxy
// delayed requests.
type key struct {
	tool    string
	n       int
	delayed bool
}

// cell is every run made in one setting. The i-th run with the delay and
// the i-th without form one pair, made back to back.
type cell struct {
	walls    []time.Duration
	requests []int
	// held is, for each run, the mean time the proxy held a request: the
	// delay as it was applied, late timers included; 0 without the delay.
	held []time.Duration
	// maxRSS is the largest peak memory of any run in bytes; -1 for none.
	maxRSS int64
	// last is the proxy's record of the last run.
	last []registrytest.Request
}

// results is everything the benchmark measured.
type results struct {
	delay time.Duration
	reps  int
	// promoteReps is the repetitions of core, cli and cli-signed.
	promoteReps int
	smoke       bool
	sizes       []int
	tools       []string
	skipped     map[string]error
	versions    map[string]string
	cells       map[key]*cell
	elapsed     time.Duration
	// coreConcurrency is the core tool's -core-concurrency; 0 for the
	// package default.
	coreConcurrency int
}

// cellFor returns the cell of k, making it on first use.
func (r *results) cellFor(k key) *cell {
	c, ok := r.cells[k]
	if !ok {
		c = &cell{maxRSS: -1}
		r.cells[k] = c
	}
	return c
}

// benchmark sets up the registry, the proxy and the tools, runs every
// tool, N, repetition and delay setting, and returns the measurements.
func benchmark(ctx context.Context, cfg config, progress io.Writer) (_ *results, err error) {
	began := time.Now()
	maxN := cfg.sizes[len(cfg.sizes)-1]
	fmt.Fprintf(progress, "bench: starting the registry and seeding %d repositories\n", maxN)
	w, err := startWorld(ctx, maxN, slices.Contains(cfg.tools, toolSigned))
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, w.Close()) }()

	ts, tools, skipped, err := setupTools(ctx, cfg, w)
	if err != nil {
		return nil, err
	}
	res := &results{
		delay: cfg.delay, reps: cfg.reps, promoteReps: cfg.promoteReps, smoke: cfg.smoke, sizes: cfg.sizes,
		tools: tools, skipped: skipped, versions: map[string]string{}, cells: map[key]*cell{},
		coreConcurrency: cfg.coreConcurrency,
	}
	for tool, e := range skipped {
		fmt.Fprintf(progress, "bench: skipping %s: %v\n", tool, e)
	}
	for _, tool := range tools {
		if bin, ok := ts.bins[tool]; ok {
			res.versions[tool] = toolVersion(ctx, ts.env, tool, bin)
		}
	}

	if !cfg.smoke {
		// One unrecorded run of each tool loads its executable and the
		// registry's files into memory before anything is measured.
		fmt.Fprintf(progress, "bench: warming up\n")
		for _, tool := range tools {
			if _, _, err := runOnce(ctx, cfg, w, ts, tool, cfg.sizes[0], 0); err != nil {
				return nil, fmt.Errorf("warm-up of %s: %w", tool, err)
			}
		}
	}

	total := 0
	for _, tool := range tools {
		total += len(cfg.sizes) * cfg.repsOf(tool) * 2
	}
	done := 0
	for ni, n := range cfg.sizes {
		for rep := range max(cfg.reps, cfg.promoteReps) {
			for _, tool := range rotate(tools, rep+ni) {
				if rep >= cfg.repsOf(tool) {
					continue
				}
				// A pair: the run with the delay and the run without, back
				// to back, so that a change in the machine's load between
				// repetitions cancels out; which goes first alternates.
				pair := []time.Duration{cfg.delay, 0}
				if rep%2 == 1 {
					slices.Reverse(pair)
				}
				for _, d := range pair {
					s, reqs, err := runOnce(ctx, cfg, w, ts, tool, n, d)
					if err != nil {
						return nil, fmt.Errorf("%s, N=%d, delay %s, repetition %d: %w", tool, n, d, rep+1, err)
					}
					c := res.cellFor(key{tool: tool, n: n, delayed: d > 0})
					c.walls = append(c.walls, s.wall)
					c.requests = append(c.requests, len(reqs))
					c.held = append(c.held, meanHeld(reqs))
					c.maxRSS = max(c.maxRSS, s.maxRSS)
					c.last = reqs
					done++
					fmt.Fprintf(progress, "bench: [%3d/%d] N=%-3d rep %2d/%d delay %-5s %-6s %8.3fs %5d requests\n",
						done, total, n, rep+1, cfg.repsOf(tool), d, tool, s.wall.Seconds(), len(reqs))
				}
			}
		}
	}
	res.elapsed = time.Since(began)
	fmt.Fprintf(progress, "bench: done in %s\n", res.elapsed.Round(time.Second))
	return res, nil
}

// runOnce resets the tags, runs tool on n images through the proxy with
// delay d, checks that every image was promoted, and returns the sample and
// the requests the proxy saw.
func runOnce(ctx context.Context, cfg config, w *world, ts *toolSet, tool string, n int, d time.Duration) (sample, []registrytest.Request, error) {
	if err := w.reset(ctx, n); err != nil {
		return sample{}, nil, err
	}
	w.setDelay(d)
	runCtx, cancel := context.WithTimeout(ctx, cfg.runTimeout)
	defer cancel()
	s, err := ts.runnerFor(tool)(runCtx, n)
	reqs := w.proxy.Requests()
	w.setDelay(0)
	if err != nil {
		return sample{}, nil, err
	}
	if err := w.checkPromoted(ctx, n); err != nil {
		return sample{}, nil, err
	}
	return s, reqs, nil
}

// meanHeld returns the mean time the proxy held reqs; 0 for none.
func meanHeld(reqs []registrytest.Request) time.Duration {
	if len(reqs) == 0 {
		return 0
	}
	var sum time.Duration
	for _, r := range reqs {
		sum += r.Held
	}
	return sum / time.Duration(len(reqs))
}

// rotate returns s rotated left by k, so that every tool takes its turn at
// going first.
func rotate(s []string, k int) []string {
	if len(s) == 0 {
		return nil
	}
	k %= len(s)
	out := append([]string(nil), s[k:]...)
	return append(out, s[:k]...)
}
