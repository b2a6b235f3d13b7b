package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/molecule-ai/promote/promote"
)

func TestProgressView(t *testing.T) {
	copying := []promote.CopyProgress{
		{Images: 2, Bytes: 4 << 20},
		{Images: 2, Bytes: 4 << 20, BytesDone: 1 << 20},
		{Images: 2, ImagesDone: 1, Bytes: 4 << 20, BytesDone: 3 << 20},
	}
	copied := append(copying, promote.CopyProgress{Images: 2, ImagesDone: 2, Bytes: 4 << 20, BytesDone: 4 << 20, Done: true})
	failed := append(copying, promote.CopyProgress{Images: 2, ImagesDone: 2, ImagesFailed: 1, Bytes: 4 << 20, BytesDone: 3 << 20, Done: true})
	nothing := []promote.CopyProgress{{Images: 1}, {Images: 1, ImagesDone: 1, Done: true}}
	cases := []struct {
		name     string
		terminal bool
		steps    []promote.CopyProgress
		want     []string
		// lines is how many lines the output has, or -1 when unchecked.
		lines int
	}{
		{"a line every few seconds", false, copied, []string{
			"promote: copying 0/2 images, 0 B of 4.0 MiB, 0 B/s\n",
			"promote: copied 2/2 images, 4.0 MiB of 4.0 MiB, ",
		}, 2},
		{"a failed copy's last line", false, failed, []string{"promote: copied 1/2 images, 1 failed, 3.0 MiB of 4.0 MiB, "}, 2},
		{"one live line on a terminal", true, copied, []string{"copied 2/2 images", "4.0 MiB of 4.0 MiB"}, -1},
		{"a failed copy on a terminal", true, failed, []string{"copied 1/2 images, 1 failed", "3.0 MiB of 4.0 MiB"}, -1},
		{"nothing to copy", false, nothing, nil, 0},
		{"nothing to copy on a terminal", true, nothing, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			var w io.Writer = &out
			closeTerminal := func() {}
			if tc.terminal {
				w, closeTerminal = terminal(t, &out)
			}
			v := newProgressView(w, true, nil)
			v.every = time.Hour
			if v.terminal != tc.terminal {
				t.Fatalf("terminal = %t", v.terminal)
			}
			for _, s := range tc.steps {
				v.update(s)
			}
			v.wait()
			closeTerminal()
			got := out.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output does not contain %q:\n%q", w, got)
				}
			}
			if tc.lines >= 0 && strings.Count(got, "\n") != tc.lines {
				t.Errorf("want %d lines:\n%s", tc.lines, got)
			}
			if strings.Contains(got, " b ") || strings.Contains(got, "copying 0/2 images, 4.0 MiB of 4.0 MiB") {
				t.Errorf("output mixes units or ends before the copy's last state:\n%q", got)
			}
		})
	}
}

// terminal opens a pseudo-terminal of 120 columns whose output goes to out;
// closeTerminal closes it and returns once out holds all of it.
func terminal(t *testing.T, out io.Writer) (tty *os.File, closeTerminal func()) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	drained := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, ptmx)
		close(drained)
	}()
	var once sync.Once
	closeTerminal = func() {
		once.Do(func() {
			tty.Close()
			<-drained
			ptmx.Close()
		})
	}
	t.Cleanup(closeTerminal)
	return tty, closeTerminal
}

// TestProgressViewAfterWait: once the command stops waiting, a view that
// has drawn nothing draws nothing, even if the copy's calls come late.
func TestProgressViewAfterWait(t *testing.T) {
	var out bytes.Buffer
	v := newProgressView(&out, true, nil)
	done := make(chan struct{})
	go func() {
		v.wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("wait blocked although nothing was drawn")
	}
	v.update(promote.CopyProgress{Images: 1, Bytes: 10})
	v.update(promote.CopyProgress{Images: 1, ImagesDone: 1, Bytes: 10, BytesDone: 10, Done: true})
	if out.Len() != 0 {
		t.Errorf("drawn after wait: %q", out.String())
	}
}

func TestProgressLabel(t *testing.T) {
	cases := []struct {
		p    promote.CopyProgress
		want string
	}{
		{promote.CopyProgress{Images: 3, ImagesDone: 1}, "copying 1/3 images"},
		{promote.CopyProgress{Images: 3, ImagesDone: 3, Done: true}, "copied 3/3 images"},
		{promote.CopyProgress{Images: 3, ImagesDone: 3, ImagesFailed: 3, Done: true}, "copied 0/3 images, 3 failed"},
	}
	for _, tc := range cases {
		if got := progressLabel(tc.p); got != tc.want {
			t.Errorf("progressLabel(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}
