package registrytest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestProxyCountsRequests(t *testing.T) {
	t.Parallel()
	srv := InProcess(t)
	p := NewProxy(t, srv.Addr)
	if got, want := p.Repo("app"), p.Addr+"/app"; got != want {
		t.Errorf("Repo = %q, want %q", got, want)
	}

	ref := p.Repo("app") + ":staging-1"
	digest, err := PushImage(testContext(t), ref, ImageSpec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustDigest(t, srv.Repo("app")+":staging-1", nil); got != digest {
		t.Errorf("registry behind the proxy has %s, want %s", got, digest)
	}
	if got := p.Count(http.MethodPut, "/manifests/"); got != 1 {
		t.Errorf("manifest PUTs = %d, want 1", got)
	}
	if got := p.Count("", "/v2/app/"); got < 3 {
		t.Errorf("requests for app = %d, want at least 3", got)
	}
	reqs := p.Requests()
	if len(reqs) != p.Total() {
		t.Errorf("Requests has %d, Total says %d", len(reqs), p.Total())
	}
	for _, r := range reqs {
		if r.Status == 0 || r.Status != r.Upstream || r.Fault.Kind != FaultPass || r.Time.IsZero() {
			t.Errorf("request %+v: want a passed request with matching statuses and a time", r)
		}
	}
	for i := 1; i < len(reqs); i++ {
		if reqs[i].Time.Before(reqs[i-1].Time) {
			t.Errorf("requests out of arrival order: %v before %v", reqs[i-1].Time, reqs[i].Time)
		}
	}

	p.Reset()
	if p.Total() != 0 || len(p.Requests()) != 0 {
		t.Errorf("after Reset: Total = %d", p.Total())
	}
	mustDigest(t, ref, nil)
	if got := p.Count(http.MethodHead, "/manifests/staging-1"); got != 1 {
		t.Errorf("after Reset, manifest HEADs = %d, want 1", got)
	}
}

func TestProxyKeepsUploadsOnProxy(t *testing.T) {
	t.Parallel()
	srv := Distribution(t, WithBasicAuth("user", "pass"))
	p := NewProxy(t, srv.Addr)

	// Distribution answers with absolute upload locations built from the
	// Host header; they must name the proxy.
	resp, _, err := do(t, newClient(t, testTimeout), http.MethodPost, "http://"+p.Addr+"/v2/app/blobs/uploads/", nil, nil, "user", "pass")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST upload = %d, want 202", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "http://"+p.Addr+"/") {
		t.Errorf("Location = %q, want one on the proxy %s", loc, p.Addr)
	}

	if _, err := PushImage(testContext(t), p.Repo("app")+":v1", ImageSpec{}, srv.Auth()); err != nil {
		t.Fatal(err)
	}
	if got := p.Count(http.MethodPut, "/blobs/uploads/"); got != 2 {
		t.Errorf("blob upload PUTs through the proxy = %d, want 2 (layer and config)", got)
	}
}

func TestProxyDelay(t *testing.T) {
	t.Parallel()
	srv := InProcess(t)
	p := NewProxy(t, srv.Addr)
	client := newClient(t, testTimeout)
	url := "http://" + p.Addr + "/v2/"

	const delay = 100 * time.Millisecond
	p.SetDelay(delay)
	start := time.Now()
	if _, _, err := do(t, client, http.MethodGet, url, nil, nil, "", ""); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("delayed request took %v, want at least %v", elapsed, delay)
	}
	if held := p.Requests()[0].Held; held < delay {
		t.Errorf("delayed request held for %v, want at least %v", held, delay)
	}
	p.Reset()

	p.SetDelay(0)
	start = time.Now()
	if _, _, err := do(t, client, http.MethodGet, url, nil, nil, "", ""); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed >= delay {
		t.Errorf("undelayed request took %v, want under %v", elapsed, delay)
	}
	if held := p.Requests()[0].Held; held != 0 {
		t.Errorf("undelayed request held for %v, want 0", held)
	}
}

func TestProxyConcurrentRequests(t *testing.T) {
	t.Parallel()
	srv := InProcess(t)
	p := NewProxy(t, srv.Addr)
	p.SetFault(Nth(Match(http.MethodGet, "/v2/"), 7, Reply(http.StatusServiceUnavailable)))
	client := newClient(t, testTimeout)

	const n = 40
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for range n {
		wg.Go(func() {
			resp, _, err := do(t, client, http.MethodGet, "http://"+p.Addr+"/v2/", nil, nil, "", "")
			if err != nil {
				t.Error(err)
				return
			}
			statuses <- resp.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	failed := 0
	for s := range statuses {
		if s != http.StatusOK {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d requests failed, want exactly 1", failed)
	}
	if got := p.Count(http.MethodGet, "/v2/"); got != n {
		t.Errorf("Count = %d, want %d", got, n)
	}
}

func TestProxyKeepsUpstreamConnections(t *testing.T) {
	t.Parallel()
	const n = 16
	var accepted atomic.Int64
	var mu sync.Mutex
	inFlight, release := 0, make(chan struct{})
	// The upstream answers only once n requests are in flight at once, so
	// that each burst needs n connections.
	upstream := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		wait := release
		if inFlight++; inFlight == n {
			close(release)
			inFlight, release = 0, make(chan struct{})
		}
		mu.Unlock()
		<-wait
	}))
	upstream.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			accepted.Add(1)
		}
	}
	upstream.Start()
	t.Cleanup(upstream.Close)
	p := NewProxy(t, upstream.Listener.Addr().String())
	client := newClient(t, testTimeout)

	for range 2 {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if _, _, err := do(t, client, http.MethodGet, "http://"+p.Addr+"/v2/", nil, nil, "", ""); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	// The second burst reuses the first one's connections; a few may still
	// be on their way back to the pool when it starts.
	if got := accepted.Load(); got > n+n/4 {
		t.Errorf("the upstream accepted %d connections for two bursts of %d requests, want about %d", got, n, n)
	}
}

func TestProxyUnreachableTarget(t *testing.T) {
	t.Parallel()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p := NewProxy(t, addr)
	resp, _, err := do(t, newClient(t, testTimeout), http.MethodGet, "http://"+p.Addr+"/v2/", nil, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status = %d, want 502", resp.StatusCode)
	}
}

func TestStartProxyRejectsBadTarget(t *testing.T) {
	if _, err := StartProxy("no-port"); err == nil {
		t.Error("StartProxy accepted a target without a port")
	}
}

func TestProxyClose(t *testing.T) {
	t.Parallel()
	srv := InProcess(t)
	p, err := StartProxy(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := do(t, newClient(t, testTimeout), http.MethodGet, "http://"+p.Addr+"/v2/", nil, nil, "", ""); err == nil {
		t.Error("proxy still answers after Close")
	}
}
