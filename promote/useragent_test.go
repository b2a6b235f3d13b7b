package promote_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/molecule-ai/promote/promote"
)

// agentRecorder records the User-Agent of every request it passes on.
type agentRecorder struct {
	mu     sync.Mutex
	agents []string
}

func (a *agentRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	a.agents = append(a.agents, r.Header.Get("User-Agent"))
	a.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func TestEveryRequestSaysWhoSendsIt(t *testing.T) {
	f := newFixture(t, backends[0], false)
	f.seedProduction()
	rec := &agentRecorder{}
	if _, err := f.promoter(promote.Config{}, promote.WithTransport(rec)).Promote(context.Background(), sha(newSHA), promote.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.agents) == 0 {
		t.Fatal("no request recorded")
	}
	want := "promote/" + promote.Version()
	for _, ua := range rec.agents {
		if !strings.HasPrefix(ua, want) {
			t.Fatalf("User-Agent %q, want it to start with %q", ua, want)
		}
	}
}
