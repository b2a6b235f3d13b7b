package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// olderSHA is the commit promoted before sha in the record tests.
const olderSHA = "0123456789abcdef0123456789abcdef01234567"

// githubEnv is a GitHub Actions run's environment.
var githubEnv = map[string]string{
	"GITHUB_ACTOR":       "octocat",
	"GITHUB_SERVER_URL":  "https://github.com",
	"GITHUB_REPOSITORY":  "org/repo",
	"GITHUB_RUN_ID":      "42",
	"GITHUB_RUN_ATTEMPT": "2",
}

// githubRun is the run URL of githubEnv.
const githubRun = "https://github.com/org/repo/actions/runs/42/attempts/2"

// TestRecordsAndHistory: the actor and run come from --actor and --run,
// else from GitHub's environment; history reads the moves back newest
// first; a rolled-back commit is refused (exit 1, naming the flag) until
// --allow-rolled-back.
func TestRecordsAndHistory(t *testing.T) {
	srv, proxy, images := registry(t)
	pushStaging(t, srv, olderSHA)
	flags := imageFlags(images)
	step := func(name string, env map[string]string, want int, args ...string) result {
		t.Helper()
		r := runCLI(t, "", env, append(args, flags...)...)
		if r.code != want {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", name, r.code, want, r.stdout, r.stderr)
		}
		return r
	}
	step("promote the older commit", githubEnv, exitOK, "promote", "--sha", olderSHA)
	step("promote", githubEnv, exitOK, "promote", "--sha", sha, "--actor", "alice", "--run", "https://ci.example.com/runs/7")
	step("rollback", map[string]string{"USER": "carol"}, exitOK, "rollback")

	r := step("history", nil, exitOK, "history", "--json")
	var h promote.HistoryReport
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
		t.Fatalf("history --json: %v\n%s", err, r.stdout)
	}
	if len(h.Tags) != 2 {
		t.Fatalf("history of %d tags, want 2:\n%s", len(h.Tags), r.stdout)
	}
	for _, th := range h.Tags {
		want := []struct{ action, sha, actor, run string }{
			{"rollback", olderSHA, "carol", ""},
			{"promote", sha, "alice", "https://ci.example.com/runs/7"},
			{"promote", olderSHA, "octocat", githubRun},
		}
		if len(th.Entries) != len(want) {
			t.Fatalf("history of %s: %+v", th.Target, th.Entries)
		}
		for k, w := range want {
			e := th.Entries[k]
			if e.Kind != promote.HistoryMove || e.Action != w.action || e.SHA != w.sha || e.Actor != w.actor || e.Run != w.run {
				t.Errorf("history of %s, entry %d = %+v, want %+v", th.Target, k, e, w)
			}
		}
	}

	r = step("promote the rolled-back commit", githubEnv, exitFailed, "promote", "--sha", sha)
	for _, part := range []string{"rolled back", `"carol"`, "--allow-rolled-back"} {
		if !strings.Contains(r.stderr, part) {
			t.Errorf("the refusal does not say %q:\n%s", part, r.stderr)
		}
	}
	step("promote it anyway", githubEnv, exitOK, "promote", "--sha", sha, "--allow-rolled-back")
	r = step("history as text", nil, exitOK, "history", "--limit", "2")
	for _, part := range []string{"rolled-back digest allowed", `by "octocat"`, githubRun, "more with a larger --limit"} {
		if !strings.Contains(r.stdout, part) {
			t.Errorf("history does not say %q:\n%s", part, r.stdout)
		}
	}
	r = step("status", nil, exitOK, "status")
	if !strings.Contains(r.stdout, `promoted by "octocat"`) {
		t.Errorf("status does not say who put each digest there:\n%s", r.stdout)
	}

	proxy.Reset()
	for _, args := range [][]string{
		{"history", "--limit", "0"},
		{"promote", "--sha", sha, "--run", "https://ci.example.com/runs/7?token=secret"},
		{"promote", "--sha", sha, "--actor", "two\nlines"},
		{"rollback", "--allow-rolled-back"},
	} {
		if r := runCLI(t, "", nil, append(args, flags...)...); r.code != exitUsage || strings.Contains(r.stderr, "token=secret") {
			t.Errorf("%v: exit %d, want %d\n%s", args, r.code, exitUsage, r.stderr)
		}
	}
	if n := proxy.Total(); n != 0 {
		t.Errorf("bad input made %d requests", n)
	}
}

// TestMovedButNotRecordedExitsFour: a registry that refuses every record
// leaves the moves in place, exit 4 and a warning naming the missing
// records.
func TestMovedButNotRecordedExitsFour(t *testing.T) {
	srv, proxy, images := registry(t)
	proxy.SetFault(registrytest.Always(registrytest.Match(http.MethodPut, "/manifests/sha256"), registrytest.Reply(http.StatusForbidden)))
	r := runCLI(t, "", githubEnv, append([]string{"promote", "--sha", sha, "--json"}, imageFlags(images)...)...)
	if r.code != exitUnrecorded {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, exitUnrecorded, r.stdout, r.stderr)
	}
	var rep promote.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Result != promote.ResultUnrecorded || !strings.Contains(r.stderr, "the moves stand") {
		t.Errorf("result %s, stderr:\n%s", rep.Result, r.stderr)
	}
	for _, img := range rep.Images {
		if img.Outcome != promote.OutcomeChanged || img.Recorded || img.RecordError == "" {
			t.Errorf("entry %+v", img)
		}
	}
	staging := tags(t, srv, "staging-"+sha[:7])
	for i, d := range tags(t, srv, "latest") {
		if d != staging[i] {
			t.Errorf("%s:latest = %s, want %s: a missing record must not undo the move", repoNames[i], d, staging[i])
		}
	}
}
