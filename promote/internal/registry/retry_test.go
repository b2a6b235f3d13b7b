package registry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestRetryTransport: a request without a body is asked again on a
// transient status, as often as the backoff allows, and the last answer is
// handed back to be read; any other status is handed back at once.
func TestRetryTransport(t *testing.T) {
	cases := []struct {
		name       string
		statuses   []int // answered in turn; the last one from then on
		steps      int
		wantStatus int
		wantAsked  int64
	}{
		{"ok at once", []int{200}, 3, 200, 1},
		{"not found is no reason to ask again", []int{404}, 3, 404, 1},
		{"unauthorized is no reason to ask again", []int{401}, 3, 401, 1},
		{"a blip", []int{503, 200}, 3, 200, 2},
		{"rate limited twice", []int{429, 429, 200}, 3, 200, 3},
		{"down throughout: the last answer", []int{502}, 3, 502, 3},
		{"one step: one request", []int{500}, 1, 500, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var asked atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(asked.Add(1))
				w.WriteHeader(tc.statuses[min(n, len(tc.statuses))-1])
				_, _ = io.WriteString(w, "answer")
			}))
			defer srv.Close()
			tr := retryTransport{inner: http.DefaultTransport, backoff: remote.Backoff{Duration: time.Millisecond, Factor: 2, Steps: tc.steps}}
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || string(body) != "answer" {
				t.Errorf("answer %d %q, want %d %q", resp.StatusCode, body, tc.wantStatus, "answer")
			}
			if got := asked.Load(); got != tc.wantAsked {
				t.Errorf("asked %d times, want %d", got, tc.wantAsked)
			}
		})
	}
}

// TestRetryGivesWayToTheContext: a wait between attempts ends when the
// context does, and no attempt follows.
func TestRetryGivesWayToTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	attempts := 0
	start := time.Now()
	transient := errors.New("transient")
	err := Retry(ctx, remote.Backoff{Duration: time.Minute, Factor: 1, Steps: 5}, func(error) bool { return true }, func() error {
		attempts++
		return transient
	})
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Retry returned after %s; the wait did not give way", took)
	}
	if !errors.Is(err, context.Canceled) || !errors.Is(err, transient) || attempts != 1 {
		t.Errorf("Retry = %v after %d attempts, want the attempt's error and the cancellation after 1", err, attempts)
	}
}
