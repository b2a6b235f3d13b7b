// Package gitlog answers, from a git repository on disk, whether one
// commit descends from another. Commits are read with go-git; no git
// program is run.
package gitlog

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo is a git repository's history.
type Repo struct {
	dir string
	// mu serializes reads: go-git's storage is not documented as safe for
	// concurrent use.
	mu   sync.Mutex
	repo *git.Repository
}

// Open opens the git repository at dir: a work tree or any folder inside
// one (a linked work tree included), or a bare repository.
func Open(dir string) (*Repo, error) {
	opts := &git.PlainOpenOptions{EnableDotGitCommonDir: true}
	repo, err := git.PlainOpenWithOptions(dir, opts)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		// Not a work tree's top or a bare repository: look upwards, as git does.
		opts.DetectDotGit = true
		repo, err = git.PlainOpenWithOptions(dir, opts)
	}
	if err != nil {
		return nil, err
	}
	return &Repo{dir: dir, repo: repo}, nil
}

// IsAncestor reports whether ancestor is descendant itself or one of its
// ancestors; both are validated lower-case hex shas, of 7 to 40
// characters. It walks the parents of descendant, breadth first, until it
// meets ancestor or runs out of commits. A commit the history does not
// hold, or a short sha that names more than one commit, is an error.
func (h *Repo) IsAncestor(ctx context.Context, ancestor, descendant string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	want, err := h.resolve(ancestor)
	if err != nil {
		return false, err
	}
	start, err := h.resolve(descendant)
	if err != nil {
		return false, err
	}
	if want == start {
		return true, nil
	}
	seen := map[plumbing.Hash]bool{start: true}
	queue := []plumbing.Hash{start}
	var cutOff plumbing.Hash // a parent the history does not hold
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("reading the git history at %s: %w", h.dir, err)
		}
		c, err := h.repo.CommitObject(queue[0])
		queue = queue[1:]
		if err != nil {
			return false, fmt.Errorf("reading the git history at %s: %w", h.dir, err)
		}
		for _, p := range c.ParentHashes {
			if p == want {
				return true, nil
			}
			if seen[p] {
				continue
			}
			seen[p] = true
			if !h.has(p) {
				cutOff = p
				continue
			}
			queue = append(queue, p)
		}
	}
	if !cutOff.IsZero() {
		return false, fmt.Errorf("the git history at %s is incomplete (commit %s is missing; a shallow clone?), so it cannot tell whether %s descends from %s: fetch the full history (fetch-depth: 0)",
			h.dir, cutOff, descendant, ancestor)
	}
	return false, nil
}

// has reports whether the repository holds commit c.
func (h *Repo) has(c plumbing.Hash) bool {
	return h.repo.Storer.HasEncodedObject(c) == nil
}

// resolve finds the one commit that s names; a short sha must not name
// more than one.
func (h *Repo) resolve(s string) (plumbing.Hash, error) {
	var candidates []plumbing.Hash
	if len(s) == 2*len(plumbing.ZeroHash) {
		candidates = []plumbing.Hash{plumbing.NewHash(s)}
	} else {
		var err error
		if candidates, err = h.withPrefix(s); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("looking up commit %s in the git history at %s: %w", s, h.dir, err)
		}
	}
	var commits []plumbing.Hash
	for _, c := range candidates {
		_, err := h.repo.CommitObject(c)
		switch {
		case errors.Is(err, plumbing.ErrObjectNotFound), errors.Is(err, plumbing.ErrInvalidType):
		case err != nil:
			return plumbing.ZeroHash, fmt.Errorf("reading commit %s in the git history at %s: %w", c, h.dir, err)
		default:
			commits = append(commits, c)
		}
	}
	switch len(commits) {
	case 0:
		return plumbing.ZeroHash, fmt.Errorf("commit %s is not in the git history at %s (a shallow clone, or another repository?)", s, h.dir)
	case 1:
		return commits[0], nil
	default:
		return plumbing.ZeroHash, fmt.Errorf("commit %s is ambiguous in the git history at %s: %d commits start with it; give more characters", s, h.dir, len(commits))
	}
}

// withPrefix lists the objects whose hash starts with the hex prefix.
func (h *Repo) withPrefix(prefix string) ([]plumbing.Hash, error) {
	// Object stores search by whole bytes; an odd last digit is matched below.
	even, err := hex.DecodeString(prefix[:len(prefix)&^1])
	if err != nil {
		return nil, err
	}
	var hashes []plumbing.Hash
	if ps, ok := h.repo.Storer.(interface {
		HashesWithPrefix([]byte) ([]plumbing.Hash, error)
	}); ok {
		if hashes, err = ps.HashesWithPrefix(even); err != nil {
			return nil, err
		}
	} else {
		iter, err := h.repo.CommitObjects()
		if err != nil {
			return nil, err
		}
		err = iter.ForEach(func(c *object.Commit) error {
			hashes = append(hashes, c.Hash)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var out []plumbing.Hash
	for _, c := range hashes {
		if strings.HasPrefix(c.String(), prefix) {
			out = append(out, c)
		}
	}
	return out, nil
}
