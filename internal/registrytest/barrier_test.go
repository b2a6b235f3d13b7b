package registrytest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBarrierHoldsUntilAllArrive(t *testing.T) {
	b := NewBarrier(2, Match(http.MethodGet, "/held"))
	var seenBeforeAll atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/held" && b.Arrived() < 2 {
			seenBeforeAll.Add(1)
		}
	}))
	defer srv.Close()
	client := &http.Client{Transport: b.Transport(nil)}
	get := func(path string) error {
		req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, srv.URL+path, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
	// A request the barrier does not match passes at once.
	if err := get("/free"); err != nil {
		t.Fatalf("unmatched request: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = get("/held") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("held request %d: %v", i, err)
		}
	}
	if n := seenBeforeAll.Load(); n != 0 {
		t.Errorf("%d held requests reached the server before both arrived", n)
	}
	// Once open, the barrier holds nothing more.
	if err := get("/held"); err != nil {
		t.Errorf("request after the barrier opened: %v", err)
	}
}

func TestBarrierGivesWayToContext(t *testing.T) {
	b := NewBarrier(2, Any())
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served.Add(1) }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(testContext(t), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&http.Client{Transport: b.Transport(nil)}).Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("lone held request: got %v, want the context's deadline", err)
	}
	if n := served.Load(); n != 0 {
		t.Errorf("the server saw %d requests, want none", n)
	}
}
