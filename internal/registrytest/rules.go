package registrytest

import (
	"net/http"
	"strings"
	"sync/atomic"
)

// FaultFunc chooses the fault for each request that a [Proxy] receives; see
// [Proxy.SetFault].
type FaultFunc func(r *http.Request, n int) Fault

// Matcher reports whether a rule applies to a request.
type Matcher func(r *http.Request) bool

// Match returns a Matcher for requests with the given method, or any method
// when method is "", whose URL path contains pathSubstring. For example,
// Match(http.MethodPut, "/manifests/") matches every manifest upload, and
// Match(http.MethodPut, "/app2/manifests/latest") one tag's.
func Match(method, pathSubstring string) Matcher {
	return func(r *http.Request) bool {
		return (method == "" || r.Method == method) && strings.Contains(r.URL.Path, pathSubstring)
	}
}

// Any matches every request.
func Any() Matcher {
	return func(*http.Request) bool { return true }
}

// Always returns a rule that applies f to every request that m matches.
func Always(m Matcher, f Fault) FaultFunc {
	return func(r *http.Request, _ int) Fault {
		if m(r) {
			return f
		}
		return Pass()
	}
}

// Nth returns a rule that applies f to the nth request (counting from 1)
// that m matches, and passes every other. Nth(Match(http.MethodPut,
// "/manifests/"), 2, Reply(500)) fails the second manifest upload. The rule
// keeps its own count.
func Nth(m Matcher, n int, f Fault) FaultFunc {
	var seen atomic.Int64
	return func(r *http.Request, _ int) Fault {
		if m(r) && seen.Add(1) == int64(n) {
			return f
		}
		return Pass()
	}
}

// FirstN returns a rule that applies f to the first n requests that m
// matches and passes the rest. FirstN(Any(), 2, Reply(429)) answers 429
// twice and then lets requests through. The rule keeps its own count.
func FirstN(m Matcher, n int, f Fault) FaultFunc {
	var seen atomic.Int64
	return func(r *http.Request, _ int) Fault {
		if m(r) && seen.Add(1) <= int64(n) {
			return f
		}
		return Pass()
	}
}

// Rules combines rules into one. Every rule sees every request, so that
// each one's count stays true, and the first rule that returns a fault other
// than [FaultPass] decides.
func Rules(rules ...FaultFunc) FaultFunc {
	return func(r *http.Request, n int) Fault {
		chosen := Pass()
		for _, rule := range rules {
			if f := rule(r, n); f.Kind != FaultPass && chosen.Kind == FaultPass {
				chosen = f
			}
		}
		return chosen
	}
}
