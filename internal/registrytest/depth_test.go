package registrytest

import (
	"testing"
	"time"
)

func TestDependentRoundTrips(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	req := func(arrived, answered int) Request {
		r := Request{Time: at(arrived)}
		if answered >= 0 {
			r.Answered = at(answered)
		}
		return r
	}
	cases := []struct {
		name string
		reqs []Request
		want int
	}{
		{"none", nil, 0},
		{"one", []Request{req(0, 10)}, 1},
		{"a burst", []Request{req(0, 10), req(1, 11), req(2, 12)}, 1},
		{"three waves", []Request{req(0, 10), req(11, 20), req(12, 21), req(22, 30)}, 3},
		// A request sent while its burst is still held belongs to it.
		{"a late sender in a burst", []Request{req(0, 10), req(9, 19), req(20, 30)}, 2},
		{"arrival order does not matter", []Request{req(22, 30), req(0, 10), req(11, 20)}, 3},
		{"an unanswered request", []Request{req(0, -1), req(11, 20)}, 1},
		// Two chains side by side: the longer one counts.
		{"the longest chain", []Request{req(0, 5), req(6, 10), req(11, 15), req(1, 50), req(2, 51)}, 3},
		// A request may depend on any answer given before it arrived.
		{"every earlier answer counts", []Request{req(0, 5), req(6, 10), req(1, 50), req(51, 60)}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := DependentRoundTrips(tc.reqs); got != tc.want {
				t.Errorf("DependentRoundTrips = %d, want %d", got, tc.want)
			}
		})
	}
}
