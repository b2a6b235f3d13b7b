package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/molecule-ai/promote/promote"
)

// TestModuleRecordsAndHistory: the module passes the actor, the run and
// allowRolledBack to the core, and History returns the moves, typed.
func TestModuleRecordsAndHistory(t *testing.T) {
	f := newRegistryFixture(t)
	m := f.module()
	ctx := context.Background()
	const run = "https://github.com/org/repo/actions/runs/9/attempts/1"
	rep, err := m.Promote(ctx, newCommit, false, false, false, nil, "5m", false, "octocat", run, false)
	if err != nil {
		t.Fatalf("Promote: %v", err)
	}
	for _, img := range rep.Images {
		if !img.Recorded {
			t.Errorf("%s not recorded: %s", img.Target, img.RecordError)
		}
	}
	if _, err := m.Rollback(ctx, "", false, "5m", "hubot", run); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	_, err = m.Promote(ctx, newCommit, false, false, false, nil, "5m", false, "octocat", run, false)
	if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), "--allow-rolled-back") || !strings.Contains(err.Error(), `"hubot"`) {
		t.Fatalf("promoting the rolled-back commit: %v", err)
	}
	if _, err := m.Promote(ctx, newCommit, false, false, false, nil, "5m", false, "octocat", run, true); err != nil {
		t.Fatalf("Promote, allowed: %v", err)
	}
	h, err := m.History(ctx, 20, "5m")
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if h.Result != "ok" || len(h.Tags) != 2 || !strings.Contains(h.Json(), `"allowRolledBack": true`) || !strings.Contains(h.Summary(), "promote history") {
		t.Fatalf("history = %+v", h)
	}
	for _, tag := range h.Tags {
		// promote (allowed), rollback, promote, then the release that no
		// record before the promotion explains.
		kinds := []string{}
		for _, e := range tag.Entries {
			kinds = append(kinds, e.Kind+"/"+e.Action+"/"+e.Actor)
		}
		want := "move/promote/octocat move/rollback/hubot move/promote/octocat missing//"
		if got := strings.Join(kinds, " "); got != want || !tag.Entries[0].AllowRolledBack || tag.Entries[0].Run != run {
			t.Errorf("history of %s = %s, want %s", tag.Target, got, want)
		}
	}
	st, err := m.Status(ctx, "5m")
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range st.Images {
		if img.MovedBy != "octocat" || img.MovedIn != run || img.MovedAction != "promote" || img.MovedAt == "" {
			t.Errorf("status of %s: moved by %q in %q (%s at %s)", img.Target, img.MovedBy, img.MovedIn, img.MovedAction, img.MovedAt)
		}
	}

	f.proxy.Reset()
	for _, call := range []func() error{
		func() error { _, err := m.History(ctx, 0, "5m"); return err },
		func() error { _, err := m.History(ctx, 20, "soon"); return err },
		func() error {
			_, err := m.Promote(ctx, newCommit, false, false, false, nil, "5m", false, "octocat", "https://x.example/run?token=t0k", false)
			return err
		},
	} {
		if err := call(); !errors.Is(err, promote.ErrInvalidInput) || strings.Contains(err.Error(), "t0k") {
			t.Errorf("err = %v, want invalid input that echoes no run URL", err)
		}
	}
	if n := f.proxy.Total(); n != 0 {
		t.Errorf("%d requests reached the registry", n)
	}
}
