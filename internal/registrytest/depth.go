package registrytest

import (
	"slices"
	"time"
)

// DependentRoundTrips returns the length of the longest chain of requests
// in reqs in which each request arrived after the one before it was
// answered: the number of round trips a client needed one after another,
// however many it made at once.
//
// A request counts as depending on every answer given before it arrived,
// so the count never misses a real dependency; it can only overcount when
// a client was slower to send a request than the proxy was to answer the
// requests sent with it. Hold every request with [Proxy.SetDelay] for far
// longer than a client needs to issue a burst, and the count is exact.
func DependentRoundTrips(reqs []Request) int {
	byArrival := slices.Clone(reqs)
	slices.SortStableFunc(byArrival, func(a, b Request) int { return a.Time.Compare(b.Time) })
	type answer struct {
		at    time.Time
		depth int
	}
	var answers []answer // of the requests seen so far
	longest := 0
	for _, r := range byArrival {
		depth := 1
		for _, a := range answers {
			if a.at.Before(r.Time) && a.depth+1 > depth {
				depth = a.depth + 1
			}
		}
		if !r.Answered.IsZero() {
			answers = append(answers, answer{at: r.Answered, depth: depth})
		}
		longest = max(longest, depth)
	}
	return longest
}
