package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestCrossChecks(t *testing.T) {
	cell := func(wall time.Duration, rss int64) *crossCell {
		return &crossCell{walls: []time.Duration{wall}, requests: []int{10}, uploaded: []int64{80 << 20}, maxRSS: rss}
	}
	results := func(cli, fastest time.Duration, largeRSS int64) *crossResults {
		return &crossResults{
			delay: ms(25), reps: 1, sizes: []int{2, 10}, layerBytes: 5 << 20,
			tools: []string{toolCLI, toolCrane, toolRegctl},
			cells: map[crossKey]*crossCell{
				{tool: toolCLI, n: 2}:              cell(ms(500), 20<<20),
				{tool: toolCLI, n: 2, large: true}: cell(ms(900), largeRSS),
				{tool: toolCrane, n: 2}:            cell(ms(700), 15<<20),
				{tool: toolCLI, n: 10}:             cell(cli, 20<<20),
				{tool: toolCrane, n: 10}:           cell(fastest, 15<<20),
				{tool: toolRegctl, n: 10}:          cell(fastest+ms(500), 15<<20),
			},
		}
	}
	cases := []struct {
		name string
		res  *crossResults
		want []string
		ok   bool
	}{
		{"targets met", results(ms(1000), ms(4500), 30<<20), []string{"PASS cli N=10: median wall 4.50x lower", "PASS cli N=2: peak RSS 20.0 MiB"}, true},
		{"too slow", results(ms(2000), ms(4500), 30<<20), []string{"FAIL cli N=10: median wall 2.25x lower"}, false},
		{"memory grows with the images", results(ms(1000), ms(4500), 80<<20), []string{"FAIL cli N=2: peak RSS 20.0 MiB with 20 MiB images, 80.0 MiB with 80 MiB images"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if ok := writeCrossResults(&out, tc.res); ok != tc.ok {
				t.Errorf("ok = %t, want %t", ok, tc.ok)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output does not contain %q:\n%s", w, out.String())
				}
			}
			if !strings.Contains(out.String(), "| 10 | crane | 20 MiB | 10 | 80.0 MiB | 4.500 s |") {
				t.Errorf("table row missing:\n%s", out.String())
			}
		})
	}
}
