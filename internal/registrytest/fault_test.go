package registrytest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// faultFixture is a registry holding app:staging-1, a proxy in front of it,
// and that image's manifest, ready to be put to other tags through the
// proxy.
type faultFixture struct {
	srv       *Server
	proxy     *Proxy
	digest    string
	manifest  []byte
	mediaType string
}

func newFaultFixture(t *testing.T, srv *Server) faultFixture {
	t.Helper()
	digest, err := PushImage(testContext(t), srv.Repo("app")+":staging-1", ImageSpec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	manifest, mediaType := rawManifest(t, srv.Repo("app")+":staging-1", nil)
	return faultFixture{srv: srv, proxy: NewProxy(t, srv.Addr), digest: digest, manifest: manifest, mediaType: mediaType}
}

// put uploads the fixture's manifest to app:tag through the proxy.
func (f faultFixture) put(t *testing.T, client *http.Client, tag string) (*http.Response, error) {
	t.Helper()
	return putManifest(t, client, f.proxy.Addr, "app", tag, f.mediaType, f.manifest)
}

// last returns the proxy's record of its latest request.
func (f faultFixture) last(t *testing.T) Request {
	t.Helper()
	reqs := f.proxy.Requests()
	if len(reqs) == 0 {
		t.Fatal("the proxy recorded no request")
	}
	return reqs[len(reqs)-1]
}

func TestFaultReply(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t, InProcess(t))
	f.proxy.SetFault(Always(Match(http.MethodPut, "/manifests/"), Reply(http.StatusInternalServerError)))

	client := newClient(t, testTimeout)
	resp, err := f.put(t, client, "latest")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", resp.StatusCode)
	}
	if rec := f.last(t); rec.Status != 500 || rec.Upstream != 0 || rec.Fault.Kind != FaultReply {
		t.Errorf("record = %+v, want status 500, not forwarded", rec)
	}
	assertAbsent(t, f.srv.Repo("app")+":latest", nil)

	// Requests the rule does not match pass.
	resp, body, err := do(t, client, http.MethodGet, "http://"+f.proxy.Addr+"/v2/", nil, nil, "", "")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/ = %v, %v %s; want 200", err, resp, body)
	}
}

func TestFaultReplyBody(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t, InProcess(t))
	f.proxy.SetFault(Always(Any(), Reply(http.StatusTooManyRequests)))
	resp, body, err := do(t, newClient(t, testTimeout), http.MethodGet, "http://"+f.proxy.Addr+"/v2/", nil, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Errors []struct{ Code string }
	}
	if err := json.Unmarshal(body, &parsed); err != nil || len(parsed.Errors) != 1 || parsed.Errors[0].Code != "TOOMANYREQUESTS" {
		t.Errorf("body = %s (%v), want a TOOMANYREQUESTS registry error", body, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

func TestFaultReplyWithoutStatus(t *testing.T) {
	rec := httptest.NewRecorder()
	writeFault(rec, 0)
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
}

func TestFaultReplyTwiceThenPass(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t, InProcess(t))
	f.proxy.SetFault(FirstN(Match(http.MethodPut, "/manifests/latest"), 2, Reply(http.StatusTooManyRequests)))

	client := newClient(t, testTimeout)
	for i, want := range []int{429, 429, 201, 201} {
		resp, err := f.put(t, client, "latest")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != want {
			t.Errorf("PUT %d = %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	if got := mustDigest(t, f.srv.Repo("app")+":latest", nil); got != f.digest {
		t.Errorf("latest = %s, want %s", got, f.digest)
	}
}

func TestFaultSecondManifestPutFails(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t, InProcess(t))
	f.proxy.SetFault(Nth(Match(http.MethodPut, "/manifests/"), 2, Reply(http.StatusInternalServerError)))

	client := newClient(t, testTimeout)
	for i, tag := range []string{"a", "b", "c"} {
		resp, err := f.put(t, client, tag)
		if err != nil {
			t.Fatal(err)
		}
		want := http.StatusCreated
		if i == 1 {
			want = http.StatusInternalServerError
		}
		if resp.StatusCode != want {
			t.Errorf("PUT %s = %d, want %d", tag, resp.StatusCode, want)
		}
	}
	assertAbsent(t, f.srv.Repo("app")+":b", nil)
	mustDigest(t, f.srv.Repo("app")+":c", nil)
}

func TestFaultFuncSeesRequestNumber(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t, InProcess(t))
	var (
		mu   sync.Mutex
		seen []int
	)
	record := func(n int) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, n)
	}
	f.proxy.SetFault(func(r *http.Request, n int) Fault {
		record(n)
		if n == 2 {
			return Reply(http.StatusTeapot)
		}
		return Pass()
	})
	client := newClient(t, testTimeout)
	var got []int
	for range 3 {
		resp, _, err := do(t, client, http.MethodGet, "http://"+f.proxy.Addr+"/v2/", nil, nil, "", "")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.StatusCode)
	}
	if want := []int{200, 418, 200}; !slices.Equal(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	// SetFault starts the count again.
	f.proxy.SetFault(func(r *http.Request, n int) Fault {
		record(n)
		return Pass()
	})
	if _, _, err := do(t, client, http.MethodGet, "http://"+f.proxy.Addr+"/v2/", nil, nil, "", ""); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []int{1, 2, 3, 1}; !slices.Equal(seen, want) {
		t.Errorf("n = %v, want %v", seen, want)
	}
}

func TestFaultDropRequest(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t, InProcess(t))
	f.proxy.SetFault(Always(Match(http.MethodPut, "/manifests/latest"), DropRequest()))

	if _, err := f.put(t, newClient(t, testTimeout), "latest"); err == nil {
		t.Fatal("PUT succeeded through a dropped connection")
	}
	if rec := f.last(t); rec.Status != 0 || rec.Upstream != 0 || rec.Fault.Kind != FaultDropRequest {
		t.Errorf("record = %+v, want dropped before forwarding", rec)
	}
	assertAbsent(t, f.srv.Repo("app")+":latest", nil)
}

func TestFaultDropResponse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *Server
	}{
		{"distribution", func(t testing.TB) *Server { return Distribution(t) }},
		{"in-process", InProcess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFaultFixture(t, tc.start(t))
			f.proxy.SetFault(Always(Match(http.MethodPut, "/app/manifests/latest"), DropResponse()))

			if _, err := f.put(t, newClient(t, testTimeout), "latest"); err == nil {
				t.Fatal("PUT succeeded although its response was dropped")
			}
			if rec := f.last(t); rec.Status != 0 || rec.Upstream != http.StatusCreated || rec.Fault.Kind != FaultDropResponse {
				t.Errorf("record = %+v, want registry status 201 and nothing for the client", rec)
			}
			// The registry applied the write that the client never heard of.
			if got := mustDigest(t, f.srv.Repo("app")+":latest", nil); got != f.digest {
				t.Errorf("latest = %s, want %s", got, f.digest)
			}
		})
	}
}

func TestFaultDropResponseDefeatsRetries(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t, InProcess(t))
	f.proxy.SetFault(Always(Match(http.MethodPut, "/app/manifests/latest"), DropResponse()))

	src, err := name.ParseReference(f.srv.Repo("app") + ":staging-1")
	if err != nil {
		t.Fatal(err)
	}
	dst, err := name.NewTag(f.proxy.Repo("app") + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(src, remote.WithContext(testContext(t)))
	if err != nil {
		t.Fatal(err)
	}
	quick := remote.WithRetryBackoff(remote.Backoff{Duration: 10 * time.Millisecond, Factor: 1, Steps: 3})
	if err := remote.Tag(dst, desc, remote.WithContext(testContext(t)), quick); err == nil {
		t.Fatal("go-containerregistry reported success for a tag whose every response was dropped")
	}
	// go-containerregistry resends the PUT after a lost response; the
	// registry applies each one.
	if got := f.proxy.Count(http.MethodPut, "/app/manifests/latest"); got != 3 {
		t.Errorf("manifest PUTs = %d, want 3", got)
	}
	mustDigest(t, f.srv.Repo("app")+":latest", nil)
}

func TestFaultDelayResponse(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t, Distribution(t))
	f.proxy.SetFault(Always(Match(http.MethodPut, "/manifests/latest"), DelayResponse(time.Minute)))

	start := time.Now()
	_, err := f.put(t, newClient(t, 300*time.Millisecond), "latest")
	var timeout interface{ Timeout() bool }
	if !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Fatalf("err = %v, want a client timeout", err)
	}
	mustDigest(t, f.srv.Repo("app")+":latest", nil)

	// The proxy stops waiting when the client gives up, and records that
	// the client heard nothing.
	deadline := time.Now().Add(5 * time.Second)
	for !f.last(t).Done {
		if time.Now().After(deadline) {
			t.Fatalf("record = %+v, still in flight", f.last(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if rec := f.last(t); rec.Status != 0 || rec.Upstream != http.StatusCreated {
		t.Errorf("record = %+v, want registry status 201 and nothing for the client", rec)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("delayed request held the proxy for %v", elapsed)
	}
}

func TestFaultDelayResponseArrivesLate(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t, InProcess(t))
	const delay = 150 * time.Millisecond
	f.proxy.SetFault(Always(Match(http.MethodPut, "/manifests/latest"), DelayResponse(delay)))

	start := time.Now()
	resp, err := f.put(t, newClient(t, testTimeout), "latest")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("status = %d, want 201", resp.StatusCode)
	}
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("response came after %v, want at least %v", elapsed, delay)
	}
}

func TestProxyCloseEndsDelayedRequest(t *testing.T) {
	t.Parallel()
	srv := InProcess(t)
	p, err := StartProxy(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p.SetFault(Always(Any(), DelayResponse(time.Minute)))
	errc := make(chan error, 1)
	go func() {
		_, _, err := do(t, newClient(t, testTimeout), http.MethodGet, "http://"+p.Addr+"/v2/", nil, nil, "", "")
		errc <- err
	}()
	for p.Total() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Close took %v", elapsed)
	}
	if err := <-errc; err == nil {
		t.Error("delayed request succeeded although the proxy closed")
	}
}
