package registrytest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

func newRequest(method, path string) *http.Request {
	return httptest.NewRequest(method, "http://registry"+path, nil)
}

func TestMatch(t *testing.T) {
	putManifest := Match(http.MethodPut, "/manifests/")
	anyLatest := Match("", "/app2/manifests/latest")
	for _, tc := range []struct {
		m    Matcher
		r    *http.Request
		want bool
	}{
		{putManifest, newRequest(http.MethodPut, "/v2/app/manifests/latest"), true},
		{putManifest, newRequest(http.MethodHead, "/v2/app/manifests/latest"), false},
		{putManifest, newRequest(http.MethodPut, "/v2/app/blobs/uploads/x"), false},
		{anyLatest, newRequest(http.MethodGet, "/v2/app2/manifests/latest"), true},
		{anyLatest, newRequest(http.MethodGet, "/v2/app1/manifests/latest"), false},
		{Any(), newRequest(http.MethodDelete, "/anything"), true},
	} {
		if got := tc.m(tc.r); got != tc.want {
			t.Errorf("match %s %s = %v, want %v", tc.r.Method, tc.r.URL.Path, got, tc.want)
		}
	}
}

// kinds applies rule to the requests in turn and returns the fault kinds
// it chose.
func kinds(rule FaultFunc, reqs ...*http.Request) []FaultKind {
	out := make([]FaultKind, len(reqs))
	for i, r := range reqs {
		out[i] = rule(r, i+1).Kind
	}
	return out
}

func TestRules(t *testing.T) {
	put := newRequest(http.MethodPut, "/v2/app/manifests/latest")
	get := newRequest(http.MethodGet, "/v2/")
	isPut := Match(http.MethodPut, "/manifests/")
	const (
		P = FaultPass
		R = FaultReply
		D = FaultDropResponse
	)
	for _, tc := range []struct {
		name string
		rule FaultFunc
		reqs []*http.Request
		want []FaultKind
	}{
		{"always", Always(isPut, Reply(500)), []*http.Request{put, get, put}, []FaultKind{R, P, R}},
		{"nth", Nth(isPut, 2, Reply(500)), []*http.Request{get, put, get, put, put}, []FaultKind{P, P, P, R, P}},
		{"first n", FirstN(Any(), 2, Reply(429)), []*http.Request{get, put, get}, []FaultKind{R, R, P}},
		{"first zero", FirstN(Any(), 0, Reply(429)), []*http.Request{get}, []FaultKind{P}},
		{
			"rules, first fault wins, every count advances",
			Rules(Nth(isPut, 2, DropResponse()), FirstN(isPut, 2, Reply(429))),
			[]*http.Request{put, put, put},
			[]FaultKind{R, D, P},
		},
		{"no rules", Rules(), []*http.Request{put}, []FaultKind{P}},
	} {
		if got := kinds(tc.rule, tc.reqs...); !slices.Equal(got, tc.want) {
			t.Errorf("%s: kinds = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFaultConstructors(t *testing.T) {
	for _, tc := range []struct {
		f    Fault
		want string
	}{
		{Pass(), "pass"},
		{Fault{}, "pass"},
		{Reply(429), "reply 429"},
		{DropRequest(), "drop-request"},
		{DropResponse(), "drop-response"},
		{DelayResponse(2 * time.Second), "delay response 2s"},
		{Fault{Kind: 99}, "FaultKind(99)"},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
