// Package gittest writes small git histories for tests, with go-git: no
// git program is needed.
package gittest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo is a git repository in a temporary folder.
type Repo struct {
	// Dir is the work tree; its .git folder holds the history.
	Dir  string
	t    testing.TB
	repo *git.Repository
	n    int
}

// New initializes an empty repository in a folder that t removes.
func New(t testing.TB) *Repo {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatalf("git init: %v", err)
	}
	return &Repo{Dir: dir, t: t, repo: repo}
}

// signature is a fixed author, a second later for every commit, so that
// no two commits share a hash.
func (r *Repo) signature() *object.Signature {
	r.n++
	return &object.Signature{Name: "CI", Email: "ci@example.com", When: time.Date(2026, 11, 26, 0, 0, r.n, 0, time.UTC)}
}

// Commit records an empty commit with the given parents, given as full
// shas (none: a root commit), and returns its full sha.
func (r *Repo) Commit(parents ...string) string {
	r.t.Helper()
	wt, err := r.repo.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	opts := &git.CommitOptions{AllowEmptyCommits: true, Author: r.signature()}
	for _, p := range parents {
		opts.Parents = append(opts.Parents, plumbing.NewHash(p))
	}
	h, err := wt.Commit(fmt.Sprintf("commit %d", r.n), opts)
	if err != nil {
		r.t.Fatalf("git commit: %v", err)
	}
	return h.String()
}

// Graft records a commit on the tree of commit like whose parent the
// repository does not hold, as the oldest commit of a shallow clone looks,
// and returns its sha.
func (r *Repo) Graft(like string) string {
	r.t.Helper()
	base, err := r.repo.CommitObject(plumbing.NewHash(like))
	if err != nil {
		r.t.Fatal(err)
	}
	sig := r.signature()
	c := &object.Commit{
		Author: *sig, Committer: *sig, Message: "grafted",
		TreeHash:     base.TreeHash,
		ParentHashes: []plumbing.Hash{plumbing.NewHash(strings.Repeat("ab", 20))},
	}
	obj := r.repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		r.t.Fatal(err)
	}
	h, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		r.t.Fatal(err)
	}
	return h.String()
}
