package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/promote/promote"
)

func TestProgressView(t *testing.T) {
	steps := []promote.CopyProgress{
		{Images: 2, Bytes: 4 << 20},
		{Images: 2, Bytes: 4 << 20, BytesDone: 1 << 20},
		{Images: 2, ImagesDone: 1, Bytes: 4 << 20, BytesDone: 3 << 20},
		{Images: 2, ImagesDone: 2, Bytes: 4 << 20, BytesDone: 4 << 20, Done: true},
	}
	cases := []struct {
		name     string
		terminal bool
		want     []string
	}{
		{"a line every few seconds", false, []string{"promote: copying 0/2 images, 0.0 b of 4.0 MiB", "promote: copying 2/2 images, 4.0 MiB of 4.0 MiB"}},
		{"one live line on a terminal", true, []string{"copying 2/2 images", "4.0 MiB"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			v := &progressView{w: &out, terminal: tc.terminal, every: time.Hour}
			for _, s := range steps {
				v.update(s)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output does not contain %q:\n%q", w, out.String())
				}
			}
			if !tc.terminal && strings.Count(out.String(), "\n") != 2 {
				t.Errorf("want the first and the last line only:\n%s", out.String())
			}
		})
	}
}
