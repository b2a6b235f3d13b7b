package record

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// mapLister lists records from memory, by subject, and counts its calls.
type mapLister struct {
	records map[v1.Hash][]Record
	fail    map[v1.Hash]error
	calls   int
}

func (l *mapLister) List(_ context.Context, subject v1.Hash) (Listing, error) {
	l.calls++
	if err := l.fail[subject]; err != nil {
		return Listing{}, err
	}
	recs := append([]Record(nil), l.records[subject]...)
	sortNewestFirst(recs)
	return Listing{Records: recs}, nil
}

// moves builds a lister from records, each attached to its subject, with
// IDs of their own.
func moves(recs ...Record) *mapLister {
	l := &mapLister{records: map[v1.Hash][]Record{}}
	for i, r := range recs {
		r.ID = v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", i+1)}
		l.records[r.Subject()] = append(l.records[r.Subject()], r)
	}
	return l
}

// move returns a record of app:latest moving from one digest to another.
func move(action Action, to, from v1.Hash, minute int) Record {
	r := valid()
	r.Action, r.Digest, r.PreviousDigest, r.Time = action, to, from, at(minute)
	return r
}

// mark returns the rolled-back mark of a rollback from one digest to another.
func mark(to, from v1.Hash, minute int) Record {
	return move(ActionRolledBack, to, from, minute)
}

// summary renders a trail as "kind:digest-char[:action]" steps.
func summary(tr Trail) string {
	var parts []string
	for _, s := range tr.Steps {
		p := string(s.Kind) + ":" + s.Digest.Hex[:1]
		if s.Kind == StepMove || s.Kind == StepCycle {
			p += ":" + string(s.Record.Action)
		}
		parts = append(parts, p)
	}
	if tr.Truncated {
		parts = append(parts, "…")
	}
	return strings.Join(parts, " ")
}

func TestWalk(t *testing.T) {
	A, B, C, X := hash("a"), hash("b"), hash("c"), hash("f")
	tests := []struct {
		name    string
		lister  *mapLister
		current v1.Hash
		limit   int
		want    string
	}{
		{
			name: "promote A, promote B, rollback",
			lister: moves(
				move(ActionPromote, A, v1.Hash{}, 1),
				move(ActionPromote, B, A, 2),
				move(ActionRollback, A, B, 3), mark(A, B, 3),
			),
			current: A,
			want:    "move:a:rollback move:b:promote move:a:promote",
		},
		{
			name:    "foreign head: the tag was moved by another tool",
			lister:  moves(move(ActionPromote, A, v1.Hash{}, 1)),
			current: X,
			want:    "foreign:f",
		},
		{
			name:    "foreign move before a promotion",
			lister:  moves(move(ActionPromote, B, X, 2)),
			current: B,
			want:    "move:b:promote foreign:f",
		},
		{
			name: "records of another tag are foreign to this one",
			lister: moves(func() Record {
				r := move(ActionPromote, A, v1.Hash{}, 1)
				r.Tag = "org/app:stable"
				return r
			}()),
			current: A,
			want:    "foreign:a",
		},
		{
			name: "missing: A's only record is later than the move it should explain",
			lister: moves(
				move(ActionPromote, B, A, 2),
				move(ActionPromote, A, C, 5),
			),
			current: B,
			want:    "move:b:promote missing:a",
		},
		{
			name: "cycle: two records of the same moment point at each other",
			lister: moves(
				move(ActionPromote, A, B, 4),
				move(ActionPromote, B, A, 4),
			),
			current: A,
			want:    "move:a:promote move:b:promote cycle:a:promote",
		},
		{
			name: "A held twice is not a cycle",
			lister: moves(
				move(ActionPromote, A, v1.Hash{}, 1),
				move(ActionPromote, B, A, 2),
				move(ActionPromote, A, B, 3),
				move(ActionPromote, B, A, 4),
			),
			current: B,
			want:    "move:b:promote move:a:promote move:b:promote move:a:promote",
		},
		{
			name: "limit",
			lister: moves(
				move(ActionPromote, A, v1.Hash{}, 1),
				move(ActionPromote, B, A, 2),
				move(ActionPromote, C, B, 3),
			),
			current: C,
			limit:   2,
			want:    "move:c:promote move:b:promote …",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Walk(context.Background(), tt.lister, "org/app:latest", tt.current, tt.limit)
			if err != nil {
				t.Fatalf("Walk: %v", err)
			}
			if got := summary(tr); got != tt.want {
				t.Errorf("Walk:\n got %s\nwant %s", got, tt.want)
			}
			if tt.lister.calls != len(tr.Steps) {
				t.Errorf("Walk listed %d times for %d steps, want one listing a step", tt.lister.calls, len(tr.Steps))
			}
		})
	}
}

func TestWalkDefaultLimit(t *testing.T) {
	// 30 moves between two digests, alternating.
	A, B := hash("a"), hash("b")
	var recs []Record
	for i := range 30 {
		to, from := A, B
		if i%2 == 1 {
			to, from = B, A
		}
		recs = append(recs, move(ActionPromote, to, from, i))
	}
	l := moves(recs...)
	tr, err := Walk(context.Background(), l, "org/app:latest", B, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Steps) != DefaultLimit || !tr.Truncated || l.calls != DefaultLimit {
		t.Errorf("got %d steps (truncated %v) in %d listings, want %d, truncated, in as many", len(tr.Steps), tr.Truncated, l.calls, DefaultLimit)
	}
}

func TestWalkErrors(t *testing.T) {
	A, B := hash("a"), hash("b")
	boom := errors.New("registry answered 500")
	l := moves(move(ActionPromote, A, B, 2))
	l.fail = map[v1.Hash]error{B: boom}
	tr, err := Walk(context.Background(), l, "org/app:latest", A, 0)
	if !errors.Is(err, boom) {
		t.Fatalf("Walk: got %v, want the listing's error", err)
	}
	if got := summary(tr); got != "move:a:promote" {
		t.Errorf("steps before the error: got %s", got)
	}
	for _, limit := range []int{-1, MaxLimit + 1} {
		if _, err := Walk(context.Background(), l, "org/app:latest", A, limit); err == nil {
			t.Errorf("limit %d: no error", limit)
		}
	}
	if _, err := Walk(context.Background(), l, "org/app:latest", v1.Hash{}, 0); err == nil {
		t.Error("zero current digest: no error")
	}
	if l.calls != 2 {
		t.Errorf("invalid input made %d listings, want none", l.calls-2)
	}
}

func TestRolledBack(t *testing.T) {
	A, B := hash("a"), hash("b")
	allowed := move(ActionPromote, B, A, 5)
	allowed.AllowRolledBack = true
	otherTag := mark(A, B, 9)
	otherTag.Tag = "org/app:stable"
	tests := []struct {
		name    string
		records []Record
		want    int // minute of the mark returned, or -1
	}{
		{"never rolled back", []Record{move(ActionPromote, B, A, 2)}, -1},
		{"rolled back after its promotion", []Record{move(ActionPromote, B, A, 2), mark(A, B, 3)}, 3},
		{"the newest mark", []Record{move(ActionPromote, B, A, 2), mark(A, B, 3), mark(A, B, 4)}, 4},
		{"promoted again with the override", []Record{move(ActionPromote, B, A, 2), mark(A, B, 3), allowed}, -1},
		{"rolled back again after the override", []Record{move(ActionPromote, B, A, 2), mark(A, B, 3), allowed, mark(A, B, 6)}, 6},
		{"rolled back to it later", []Record{mark(A, B, 3), move(ActionRollback, B, A, 7)}, -1},
		{"mark with no record of arrival", []Record{mark(A, B, 3)}, 3},
		{"mark of the same moment", []Record{move(ActionPromote, B, A, 3), mark(A, B, 3)}, 3},
		{"mark on another tag", []Record{move(ActionPromote, B, A, 2), otherTag}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RolledBack(tt.records, "org/app:latest", B)
			switch {
			case tt.want < 0 && ok:
				t.Errorf("rolled back by %+v, want not rolled back", got)
			case tt.want >= 0 && (!ok || !got.Time.Equal(at(tt.want))):
				t.Errorf("got %v %v, want the mark of minute %d", ok, got.Time, tt.want)
			}
		})
	}
}
