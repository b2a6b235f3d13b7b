package promote

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/molecule-ai/promote/internal/safetext"
	"github.com/molecule-ai/promote/promote/internal/record"
	"github.com/molecule-ai/promote/promote/internal/registry"
)

// DefaultHistoryLimit is how many moves [Promoter.History] reads per tag
// when given a limit of zero; MaxHistoryLimit bounds it.
const (
	DefaultHistoryLimit = record.DefaultLimit
	MaxHistoryLimit     = record.MaxLimit
)

// The kinds of a [HistoryEntry]. Every kind but HistoryMove ends a tag's
// known history: what lies before it is not known, and never guessed.
const (
	// HistoryMove: a promotion record moved the tag to the digest.
	HistoryMove = string(record.StepMove)
	// HistoryForeign: the tag held the digest, but no record moved it
	// there: another tool moved it, or its record was never written.
	HistoryForeign = string(record.StepForeign)
	// HistoryMissing: records moved the tag to the digest, but none before
	// the later move: its record was lost, or the clocks of two runs
	// disagree.
	HistoryMissing = string(record.StepMissing)
	// HistoryCycle: the record that would explain the move was shown
	// already.
	HistoryCycle = string(record.StepCycle)
)

// HistoryReport is the history of every target tag of every repository,
// as its promotion records tell it. Its JSON field names are stable.
type HistoryReport struct {
	// Result is ok when every tag's history was read, failed otherwise.
	Result Result `json:"result"`
	// Error is the error message when Result is failed.
	Error string `json:"error,omitempty"`
	// Limit is the most entries read per tag.
	Limit int `json:"limit"`
	// Tags has one entry per repository and target tag.
	Tags []TagHistory `json:"tags"`
}

// TagHistory is the history of one target tag, newest first.
type TagHistory struct {
	// Repository is the repository named in the configuration.
	Repository string `json:"repository"`
	// Target is the tag, e.g. "…/platform:latest".
	Target string `json:"target"`
	// Digest is where the tag points now; empty when it does not exist.
	Digest string `json:"digest,omitempty"`
	// Entries are the digests the tag held, newest first. The last entry
	// says why the history stops: a move with no previous digest created
	// the tag; any other kind ends what is known.
	Entries []HistoryEntry `json:"entries"`
	// Truncated says that more history may be read with a larger limit.
	Truncated bool `json:"truncated,omitempty"`
	// Error says why the history could not be read, or not to its end.
	Error string `json:"error,omitempty"`
}

// HistoryEntry is one digest a tag held, and the record of the move that
// put it there when there is one.
type HistoryEntry struct {
	// Kind is HistoryMove, HistoryForeign, HistoryMissing or HistoryCycle.
	Kind string `json:"kind"`
	// Action is "promote" or "rollback", for a move or a cycle.
	Action string `json:"action,omitempty"`
	// SHA is the commit the record names.
	SHA string `json:"sha,omitempty"`
	// Digest is the digest the tag held.
	Digest string `json:"digest"`
	// PreviousDigest is the digest the move replaced; empty when it created
	// the tag, or for an entry without a record.
	PreviousDigest string `json:"previousDigest,omitempty"`
	// Time, Actor and Run say when, by whom and from which run.
	Time  string `json:"time,omitempty"`
	Actor string `json:"actor,omitempty"`
	Run   string `json:"run,omitempty"`
	// Version is the promote version that wrote the record.
	Version string `json:"version,omitempty"`
	// AllowRolledBack is set when the move promoted a rolled-back digest
	// on purpose.
	AllowRolledBack bool `json:"allowRolledBack,omitempty"`
	// Record is the digest of the record's manifest.
	Record string `json:"record,omitempty"`
}

// History reads, for every target tag of every repository, the moves that
// brought it where it is, newest first, from the promotion records in the
// registry: at most limit entries per tag ([DefaultHistoryLimit] when zero,
// at most [MaxHistoryLimit]). A digest that no record explains, a record
// that is missing and a cycle are shown as such, and end that tag's
// history. It writes nothing.
//
// Each entry costs one dependent round trip, all tags at once: a history
// of 20 entries costs about 22 (the connection, the tags, the listings).
func (p *Promoter) History(ctx context.Context, limit int) (*HistoryReport, error) {
	switch {
	case limit == 0:
		limit = DefaultHistoryLimit
	case limit < 0 || limit > MaxHistoryLimit:
		return nil, invalid("limit", itoa(limit), fmt.Sprintf("must be between 1 and %d", MaxHistoryLimit))
	}
	ctx, cancel := p.bound(ctx)
	defer cancel()
	rep := &HistoryReport{Limit: limit}
	r := p.connect(ctx, access{})
	n, targets := len(r.images), p.plan.targets
	rep.Tags = make([]TagHistory, n*len(targets))
	_ = r.each(ctx, func(ctx context.Context, i int) error {
		var wg sync.WaitGroup
		for t, tag := range targets {
			th := &rep.Tags[i*len(targets)+t]
			*th = TagHistory{Repository: r.repo(i).Name(), Target: r.destRepo(i).Tag(tag).Name(), Entries: []HistoryEntry{}}
			wg.Go(func() {
				if err := r.tagHistory(ctx, i, tag, limit, th); err != nil {
					th.Error = err.Error()
				}
			})
		}
		wg.Wait()
		return nil
	})
	var lines []string
	for _, th := range rep.Tags {
		if th.Error != "" {
			lines = append(lines, "  "+th.Target+": "+strings.ReplaceAll(th.Error, "\n", "\n    "))
		}
	}
	if len(lines) > 0 {
		rep.Result = ResultFailed
		err := fmt.Errorf("cannot read the history of %d of %d target tags:\n%s", len(lines), len(rep.Tags), strings.Join(lines, "\n"))
		rep.Error = err.Error()
		return rep, err
	}
	rep.Result = ResultOK
	return rep, nil
}

// tagHistory reads the history of target tag of image i into th.
func (r *run) tagHistory(ctx context.Context, i int, tag string, limit int, th *TagHistory) error {
	c, err := r.dest(i)
	if err != nil {
		return err
	}
	st := c.readState(ctx, tag)
	switch {
	case st.err != nil:
		return fmt.Errorf("cannot read %s: %w", tag, st.err)
	case !st.found:
		return nil // no tag, no history
	}
	th.Digest = st.digest.String()
	repo, err := record.Connect(c.Repo(), c.Transport())
	if err != nil {
		return err
	}
	trail, err := record.Walk(ctx, repo, record.TargetTag(c.Repo().Tag(tag)), st.digest, limit)
	for _, s := range trail.Steps {
		e := HistoryEntry{Kind: string(s.Kind), Digest: s.Digest.String()}
		if s.Kind == record.StepMove || s.Kind == record.StepCycle {
			rec := recordOf(s.Record)
			e.Action, e.SHA, e.PreviousDigest = rec.Action, rec.SHA, rec.PreviousDigest
			e.Time, e.Actor, e.Run, e.Version = rec.Time, rec.Actor, rec.Run, rec.Version
			e.AllowRolledBack, e.Record = rec.AllowRolledBack, rec.ID
		}
		th.Entries = append(th.Entries, e)
	}
	th.Truncated = trail.Truncated
	return err
}

// JSON renders the history as indented JSON.
func (h *HistoryReport) JSON() ([]byte, error) {
	return json.MarshalIndent(h, "", "  ")
}

// Text renders the history for a terminal: per tag, one line per entry,
// newest first. Text from the registry is escaped.
func (h *HistoryReport) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "history: %s\n", h.Result)
	for _, th := range h.Tags {
		fmt.Fprintf(&b, "  %s\n", th.Target)
		if th.Digest == "" && th.Error == "" {
			b.WriteString("    (the tag does not exist)\n")
		}
		for _, e := range th.Entries {
			fmt.Fprintf(&b, "    %s\n", e.line())
		}
		if th.Truncated {
			fmt.Fprintf(&b, "    … more with a larger --limit than %d\n", h.Limit)
		}
		if th.Error != "" {
			fmt.Fprintf(&b, "    error: %s\n", strings.ReplaceAll(th.Error, "\n", "\n      "))
		}
	}
	return safetext.Output(b.String())
}

// line is the human summary of one entry.
func (e HistoryEntry) line() string {
	d := registry.ShortDigest(e.Digest)
	switch e.Kind {
	case HistoryForeign:
		return fmt.Sprintf("%-9s %s: no promotion record moved the tag here (another tool moved it, or its record was never written)", "foreign", d)
	case HistoryMissing:
		return fmt.Sprintf("%-9s %s: the record of this move is missing (lost, or the clocks of two runs disagree)", "missing", d)
	}
	parts := []string{fmt.Sprintf("%-9s %s", e.Action, e.Time)}
	if e.PreviousDigest != "" {
		parts = append(parts, registry.ShortDigest(e.PreviousDigest)+" -> "+d)
	} else {
		parts = append(parts, "(new) -> "+d)
	}
	if e.SHA != "" {
		parts = append(parts, "commit "+e.SHA)
	}
	parts = append(parts, "by "+quoteText(e.Actor))
	if e.Run != "" {
		parts = append(parts, "run "+quoteText(e.Run))
	}
	if e.AllowRolledBack {
		parts = append(parts, "(rolled-back digest allowed)")
	}
	if e.Kind == HistoryCycle {
		parts = append(parts, "- cycle: this record was shown already")
	}
	return strings.Join(parts, " ")
}

// Markdown renders the history as a GitHub step summary; every value from
// the registry sits in a code span or an escaped cell.
func (h *HistoryReport) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### promote history: %s\n\n", h.Result)
	for _, th := range h.Tags {
		fmt.Fprintf(&b, "#### `%s`\n\n", th.Target)
		if th.Error != "" {
			fmt.Fprintf(&b, "> %s\n\n", strings.ReplaceAll(safetext.Markdown(th.Error), "\n", "\n> "))
		}
		if len(th.Entries) == 0 {
			b.WriteString("No history.\n\n")
			continue
		}
		b.WriteString("| Kind | Action | Time | Commit | Digest | Previous | Actor | Run |\n|---|---|---|---|---|---|---|---|\n")
		for _, e := range th.Entries {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", e.Kind, orDash(e.Action), orDash(e.Time),
				codeOrDash(e.SHA), codeOrDash(registry.ShortDigest(e.Digest)), codeOrDash(registry.ShortDigest(e.PreviousDigest)),
				safetext.MarkdownCell(orDash(e.Actor)), safetext.MarkdownCell(orDash(e.Run)))
		}
		if th.Truncated {
			fmt.Fprintf(&b, "\nMore history than %d entries.\n", h.Limit)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// quoteText shows text from a registry on a terminal: quoted, with any
// control character escaped.
func quoteText(s string) string {
	return fmt.Sprintf("%q", s)
}

// lastMove finds, among the records of digest d, the newest move of tag
// (as records name it) onto d; nil when there is none.
func lastMove(l record.Listing, tag string, d v1.Hash) *Record {
	for _, rec := range l.Records { // newest first
		if rec.Tag == tag && rec.Digest == d && (rec.Action == record.ActionPromote || rec.Action == record.ActionRollback) {
			return recordOf(rec)
		}
	}
	return nil
}
