package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// production starts a second distribution registry behind a counting proxy
// and returns it with the destination of each staging image.
func production(t *testing.T, opts ...registrytest.Option) (*registrytest.Server, *registrytest.Proxy, []string) {
	t.Helper()
	srv := registrytest.Distribution(t, opts...)
	proxy := registrytest.NewProxy(t, srv.Addr)
	return srv, proxy, []string{proxy.Repo("prod/platform"), proxy.Repo("prod/platform-tenant")}
}

// mappings are --image flags copying images[i] to dests[i].
func mappings(images, dests []string) []string {
	var args []string
	for i := range images {
		args = append(args, "--image", images[i]+"="+dests[i])
	}
	return args
}

func TestCopyBadInputMakesNoRequest(t *testing.T) {
	_, src, images := registry(t)
	_, dst, dests := production(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"nothing after '='", []string{"--image", images[0] + "="}, `invalid mapping "` + images[0] + `="`},
		{"nothing before '='", []string{"--image", "=" + dests[0]}, "both sides non-empty"},
		{"two '='", []string{"--image", images[0] + "=" + dests[0] + "=x"}, "exactly one '='"},
		{"destination with a tag", []string{"--image", images[0] + "=" + dests[0] + ":latest"}, "invalid destination"},
		{"two sources to one destination", []string{"--image", images[0] + "=" + dests[0], "--image", images[1] + "=" + dests[0]}, "two images would be promoted to one destination: " + images[0]},
		{"prefix without destination", []string{"--image", images[0], "--destination-prefix", src.Addr}, `invalid mapping "` + src.Addr + `"`},
		{"prefix matching nothing", []string{"--image", images[0], "--destination-prefix", src.Addr + "/other=" + dst.Addr}, "matches none of the repositories"},
		{"prefix given twice", []string{"--image", images[0], "--destination-prefix", src.Addr + "=" + dst.Addr, "--destination-prefix", src.Addr + "=" + dst.Addr + "/x"}, "given more than once"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", nil, append([]string{"promote", "--sha", sha}, tc.args...)...)
			if r.code != exitUsage {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", r.code, exitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not contain %q:\n%s", tc.want, r.stderr)
			}
			if n := src.Total() + dst.Total(); n != 0 {
				t.Errorf("%d requests reached a registry", n)
			}
		})
	}
}

func TestCopyToRefusingDestination(t *testing.T) {
	_, src, images := registry(t)
	_, dst, dests := production(t, registrytest.WithReadOnly())
	r := runCLI(t, "", nil, append([]string{"promote", "--sha", sha}, mappings(images, dests)...)...)
	if r.code != exitFailed {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", r.code, exitFailed, r.stderr)
	}
	for _, img := range images {
		if !strings.Contains(r.stderr, img) {
			t.Errorf("stderr does not name %s:\n%s", img, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "no push access to the destination") {
		t.Errorf("stderr does not say why:\n%s", r.stderr)
	}
	for _, p := range []*registrytest.Proxy{src, dst} {
		for _, req := range p.Requests() {
			if req.Method == http.MethodPut || req.Method == http.MethodPatch {
				t.Errorf("%s %s was sent", req.Method, req.Path)
			}
		}
	}
}

func TestCopyEndToEnd(t *testing.T) {
	srcSrv, src, images := registry(t)
	_, dst, dests := production(t)
	prefix := []string{"--destination-prefix", src.Addr + "/molecule-ai=" + dst.Addr + "/prod"}

	r := runCLI(t, "", nil, append([]string{"promote", "--sha", sha, "--dry-run"}, append(imageFlags(images), prefix...)...)...)
	if r.code != exitOK || !strings.Contains(r.stdout, "copy would-copy") || strings.Contains(r.stderr, "copying") {
		t.Fatalf("dry run: %+v", r)
	}
	if n := dst.Count(http.MethodPut, ""); n != 0 {
		t.Fatalf("the dry run wrote %d times", n)
	}

	r = runCLI(t, "", nil, append([]string{"promote", "--sha", sha, "--json"}, mappings(images, dests)...)...)
	if r.code != exitOK {
		t.Fatalf("promote: %+v", r)
	}
	if r.stderr != "" {
		t.Errorf("--json printed progress on stderr:\n%s", r.stderr)
	}
	var rep promote.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json output is not a report: %v\n%s", err, r.stdout)
	}
	if len(rep.Copies) != 2 || rep.Copies[0].Outcome != promote.CopyCopied || rep.Images[0].Target != dests[0]+":latest" {
		t.Fatalf("report = %+v", rep)
	}
	for i, img := range images {
		want, _, _ := registrytest.Digest(context.Background(), srcSrv.Repo(strings.TrimPrefix(img, src.Addr+"/"))+":staging-"+sha[:7], nil)
		if got := rep.Images[i].Digest; got != want {
			t.Errorf("promoted digest %s, want %s", got, want)
		}
	}

	r = runCLI(t, "", nil, append([]string{"promote", "--sha", sha, "--progress"}, append(imageFlags(images), prefix...)...)...)
	if r.code != exitOK || !strings.Contains(r.stdout, "copy present") {
		t.Fatalf("re-run with --progress: %+v", r)
	}
	if strings.Contains(r.stderr, "copy") {
		t.Errorf("with nothing to copy, the re-run printed progress:\n%s", r.stderr)
	}
	r = runCLI(t, "", nil, append([]string{"status"}, append(imageFlags(images), prefix...)...)...)
	if r.code != exitOK || strings.Count(r.stdout, dst.Addr+"/prod/") != 2 {
		t.Fatalf("status of the destinations: %+v", r)
	}
}

// TestCopyFailureOutput copies to a registry that answers every blob
// upload with 429: the progress ends at what was copied, in the report's
// units; every line that continues an error is indented; the addresses
// carry no upload state.
func TestCopyFailureOutput(t *testing.T) {
	_, _, images := registry(t)
	_, dst, dests := production(t)
	dst.SetFault(registrytest.Always(registrytest.Match(http.MethodPut, "/blobs/uploads/"), registrytest.Reply(http.StatusTooManyRequests)))
	r := runCLI(t, "", nil, append([]string{"promote", "--sha", sha, "--progress"}, mappings(images, dests)...)...)
	if r.code != exitFailed {
		t.Fatalf("exit code %d, want %d: %+v", r.code, exitFailed, r)
	}
	if !strings.Contains(r.stderr, "promote: copied 0/2 images, 2 failed, 0 B of ") {
		t.Errorf("the progress does not end at what was copied:\n%s", r.stderr)
	}
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.Contains(out, "_state") || strings.Contains(out, " b ") {
			t.Errorf("output holds an upload's state or another unit:\n%s", out)
		}
	}
	for _, line := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
		if !strings.HasPrefix(line, "promote") && !strings.HasPrefix(line, "  ") {
			t.Errorf("a continuation line is not indented: %q\n%s", line, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "  copy failed  "+images[0]+"@sha256:") || !strings.Contains(r.stdout, "\n               copying blob sha256:") {
		t.Errorf("the report's copy lines are not folded:\n%s", r.stdout)
	}
}

func TestPrintErrorIndentsContinuation(t *testing.T) {
	var stderr strings.Builder
	c := &command{stderr: &stderr, verb: verb{name: "promote"}}
	c.printError(errors.Join(errors.New("copying failed:\nfirst cause\n  nested\n"), errors.New("second")))
	want := "promote promote: copying failed:\n  first cause\n    nested\npromote promote: second\n"
	if stderr.String() != want {
		t.Errorf("printError wrote\n%q, want\n%q", stderr.String(), want)
	}
}
