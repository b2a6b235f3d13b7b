package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/molecule-ai/promote/internal/registrytest"
)

// runMainEnv, when set, makes the test binary run the command itself: the
// tests below start it on a pseudo-terminal, signals and all.
const runMainEnv = "PROMOTE_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// bigImages are the repositories of the terminal copy's images, and
// bigLayer the size of each of their layers: with two platforms, three
// images of 20 MiB.
var bigImages = []string{"big/b1", "big/b2", "big/b3"}

const bigLayer = 10 << 20

// pushBig pushes, to every repository of bigImages on srv, a linux/amd64
// and linux/arm64 index labelled with sha as staging-<sha>, each image one
// layer of bigLayer random bytes.
func pushBig(t *testing.T, srv *registrytest.Server) []string {
	t.Helper()
	var images []string
	for _, repo := range bigImages {
		var adds []mutate.IndexAddendum
		for _, arch := range []string{"amd64", "arm64"} {
			base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
			img, err := mutate.ConfigFile(base, &v1.ConfigFile{
				OS: "linux", Architecture: arch, RootFS: v1.RootFS{Type: "layers"},
				Config: v1.Config{Labels: map[string]string{"org.opencontainers.image.revision": sha}},
			})
			if err != nil {
				t.Fatal(err)
			}
			layer := make([]byte, bigLayer)
			if _, err := rand.Read(layer); err != nil {
				t.Fatal(err)
			}
			if img, err = mutate.AppendLayers(img, static.NewLayer(layer, types.OCILayer)); err != nil {
				t.Fatal(err)
			}
			adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
				MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: "linux", Architecture: arch},
			}})
		}
		idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
		ref, err := name.ParseReference(srv.Repo(repo) + ":staging-" + sha[:7])
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.WriteIndex(ref, idx, remote.WithContext(t.Context()), remote.WithAuth(srv.Auth())); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
		images = append(images, srv.Repo(repo))
	}
	return images
}

// terminalRun is the command running on a pseudo-terminal.
type terminalRun struct {
	cmd  *exec.Cmd
	tty  *os.File
	out  *syncBuffer
	read chan struct{} // closed when the terminal has no more output
	exit chan error
}

// syncBuffer is a buffer that one goroutine writes and the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startOnTerminal starts the command with args on a new pseudo-terminal,
// as its controlling terminal, stdin, stdout and stderr alike.
func startOnTerminal(t *testing.T, args ...string) *terminalRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatalf("starting the command on a pseudo-terminal: %v", err)
	}
	r := &terminalRun{cmd: cmd, tty: tty, out: &syncBuffer{}, read: make(chan struct{}), exit: make(chan error, 1)}
	go func() {
		// Reading fails with EIO once the command has exited and the
		// terminal is drained.
		_, _ = io.Copy(r.out, tty)
		close(r.read)
	}()
	go func() { r.exit <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		tty.Close()
	})
	return r
}

// wait returns the command's exit code, or fails the test if it is still
// running after limit: it hangs.
func (r *terminalRun) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case err := <-r.exit:
		<-r.read
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatalf("waiting for the command: %v", err)
		}
		return 0
	case <-time.After(limit):
		_ = r.cmd.Process.Kill()
		t.Fatalf("the command still ran after %s: it hangs. Its terminal so far:\n%s", limit, tail(r.out.String()))
		return -1
	}
}

// waitFor waits until the terminal shows want.
func (r *terminalRun) waitFor(t *testing.T, want string, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); !strings.Contains(r.out.String(), want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q:\n%s", want, tail(r.out.String()))
		}
	}
}

// tail is the end of a terminal's output, for a failure message.
func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

// TestTerminalCopyNeverHangs copies three two-platform images of 20 MiB
// between two distribution registries, with the live bar drawn on a
// pseudo-terminal, again and again: every run ends, at its real final
// state.
func TestTerminalCopyNeverHangs(t *testing.T) {
	src := registrytest.Distribution(t)
	dst := registrytest.Distribution(t)
	images := pushBig(t, src)
	for k := range 5 {
		prod := fmt.Sprintf("prod%d", k)
		args := append([]string{"promote", "--sha", sha, "--timeout", "2m"}, imageFlags(images)...)
		args = append(args, "--destination-prefix", src.Addr+"/big="+dst.Addr+"/"+prod)
		r := startOnTerminal(t, args...)
		if code := r.wait(t, time.Minute); code != exitOK {
			t.Fatalf("run %d: exit code %d:\n%s", k, code, tail(r.out.String()))
		}
		out := r.out.String()
		if !strings.Contains(out, "copied 3/3 images") || !strings.Contains(out, "60.0 MiB of 60.0 MiB") {
			t.Errorf("run %d: the bar does not end at its final state:\n%s", k, tail(out))
		}
		for _, repo := range bigImages {
			ref := dst.Repo(prod+"/"+strings.TrimPrefix(repo, "big/")) + ":latest"
			if _, found, err := registrytest.Digest(context.Background(), ref, nil); err != nil || !found {
				t.Errorf("run %d: %s is missing (%v)", k, ref, err)
			}
		}
	}
}

// TestTerminalCopyStops ends a terminal copy that is still running, its
// uploads held by the destination: Ctrl-C on the terminal, or --timeout.
// The command exits within seconds, the registry as before.
func TestTerminalCopyStops(t *testing.T) {
	src := registrytest.Distribution(t)
	dst := registrytest.Distribution(t)
	proxy := registrytest.NewProxy(t, dst.Addr)
	images := pushBig(t, src)
	proxy.SetFault(registrytest.Always(registrytest.Match(http.MethodPut, "/blobs/uploads/"),
		registrytest.Fault{Kind: registrytest.FaultStallRequest, Delay: 10 * time.Minute}))
	cases := []struct {
		name    string
		timeout string
		// stop ends the run, or nil when --timeout does.
		stop func(r *terminalRun) error
		want string
	}{
		{"Ctrl-C", "10m", func(r *terminalRun) error { _, err := r.tty.Write([]byte{3}); return err }, "interrupted"},
		{"--timeout", "4s", nil, "deadline exceeded"},
	}
	for k, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prod := fmt.Sprintf("stop%d", k)
			args := append([]string{"promote", "--sha", sha, "--timeout", tc.timeout}, imageFlags(images)...)
			args = append(args, "--destination-prefix", src.Addr+"/big="+proxy.Addr+"/"+prod)
			r := startOnTerminal(t, args...)
			r.waitFor(t, "copying 0/3 images", time.Minute)
			at := time.Now()
			if tc.stop != nil {
				if err := tc.stop(r); err != nil {
					t.Fatal(err)
				}
			}
			code := r.wait(t, 30*time.Second)
			if took := time.Since(at); took > 15*time.Second {
				t.Errorf("the command took %s to stop", took)
			}
			out := r.out.String()
			if code != exitFailed {
				t.Errorf("exit code %d, want %d:\n%s", code, exitFailed, tail(out))
			}
			if !strings.Contains(out, tc.want) || !strings.Contains(out, "no tag moved") {
				t.Errorf("the terminal does not say %q and that no tag moved:\n%s", tc.want, tail(out))
			}
			for _, repo := range bigImages {
				ref := dst.Repo(prod+"/"+strings.TrimPrefix(repo, "big/")) + ":latest"
				if _, found, err := registrytest.Digest(context.Background(), ref, nil); err != nil || found {
					t.Errorf("%s was written (%v)", ref, err)
				}
			}
		})
	}
}

// TestSecondSignalExits fails a promotion's second tag move and holds the
// restore of the first: a first Ctrl-C leaves the restore to its own
// deadline, and a second one exits at once, with 130.
func TestSecondSignalExits(t *testing.T) {
	_, proxy, images := registry(t)
	// The first image's tag moves, the second's is refused; every
	// manifest written after both, which is the restore's, is held.
	var moved, refused atomic.Bool
	proxy.SetFault(func(r *http.Request, _ int) registrytest.Fault {
		switch {
		case r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/manifests/"):
			return registrytest.Pass()
		case strings.Contains(r.URL.Path, "/platform-tenant/manifests/latest"):
			refused.Store(true)
			return registrytest.Reply(http.StatusForbidden)
		case moved.Load() && refused.Load():
			return registrytest.Fault{Kind: registrytest.FaultStallRequest, Delay: 10 * time.Minute}
		case strings.Contains(r.URL.Path, "/platform/manifests/latest"):
			moved.Store(true)
		}
		return registrytest.Pass()
	})
	r := startOnTerminal(t, append([]string{"promote", "--sha", sha}, imageFlags(images)...)...)
	for deadline := time.Now().Add(time.Minute); !slices.ContainsFunc(proxy.Requests(), func(req registrytest.Request) bool {
		return req.Fault.Kind == registrytest.FaultStallRequest
	}); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the restore never started:\n%s", tail(r.out.String()))
		}
	}
	if _, err := r.tty.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "Press Ctrl-C again", 10*time.Second)
	select {
	case err := <-r.exit:
		t.Fatalf("the first Ctrl-C cut the restore short (%v):\n%s", err, tail(r.out.String()))
	case <-time.After(time.Second):
	}
	if _, err := r.tty.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t, 10*time.Second); code != 130 {
		t.Errorf("exit code %d after the second Ctrl-C, want 130:\n%s", code, tail(r.out.String()))
	}
	if out := r.out.String(); !strings.Contains(out, "exiting at once") {
		t.Errorf("the terminal does not say that it exits:\n%s", tail(out))
	}
}

func TestOnSignals(t *testing.T) {
	cases := []struct {
		signal os.Signal
		code   int
	}{{os.Interrupt, 130}, {syscall.SIGTERM, 143}}
	for _, tc := range cases {
		t.Run(tc.signal.String(), func(t *testing.T) {
			signals := make(chan os.Signal, 2)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out syncBuffer
			exited := make(chan int, 1)
			go onSignals(signals, cancel, &console{w: &out}, func(code int) { exited <- code })
			signals <- tc.signal
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the first signal did not cancel the run")
			}
			select {
			case code := <-exited:
				t.Fatalf("the first signal exited with %d", code)
			case <-time.After(50 * time.Millisecond):
			}
			signals <- tc.signal
			select {
			case code := <-exited:
				if code != tc.code {
					t.Errorf("exit code %d, want %d", code, tc.code)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the second signal did not exit")
			}
			// The first notice is written from a goroutine of its own.
			for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "stopping"); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					break
				}
			}
			if got := out.String(); !strings.Contains(got, "stopping") || !strings.Contains(got, "exiting at once") {
				t.Errorf("notices: %q", got)
			}
		})
	}
}
