package promote

import (
	"context"
	"fmt"

	"github.com/molecule-ai/promote/promote/internal/gitlog"
)

// History answers whether one commit descends from another. A forward-only
// promotion (see [WriteOptions.ForwardOnly]) asks it whether the commit
// being promoted descends from the one the target tags carry now.
type History interface {
	// IsAncestor reports whether ancestor is descendant itself or one of
	// its ancestors. A commit the history does not hold, or a short sha
	// that names more than one commit, is an error, never false.
	IsAncestor(ctx context.Context, ancestor, descendant SHA) (bool, error)
}

// OpenGitHistory opens the git repository at dir: a work tree or any folder
// inside one (a linked work tree included), or a bare repository. Commits
// are read with go-git; no git program is run. The history must reach back
// to the commits compared, so a CI checkout needs its full history (for
// GitHub's checkout action: fetch-depth: 0).
//
// An error wraps [ErrInvalidInput]: dir is input, and nothing has been sent
// to a registry yet.
func OpenGitHistory(dir string) (History, error) {
	repo, err := gitlog.Open(dir)
	if err != nil {
		return nil, invalid("git directory", dir, fmt.Sprintf("cannot open a git repository there: %v", err))
	}
	return gitHistory{repo}, nil
}

// gitHistory is a [History] read from a git repository on disk.
type gitHistory struct{ repo *gitlog.Repo }

// IsAncestor implements [History].
func (h gitHistory) IsAncestor(ctx context.Context, ancestor, descendant SHA) (bool, error) {
	return h.repo.IsAncestor(ctx, ancestor.String(), descendant.String())
}
