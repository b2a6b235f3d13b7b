package sigcheck

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// SameRepository reports whether the repository a signature names (a
// cosign docker-reference or an in-toto subject name, with or without a
// tag or digest) is repo, compared by path only.
//
// The registry host is not compared: the same repository is reached under
// other names (a mirror, a pull-through cache, a registry's internal and
// public host, localhost in CI), and the signer wrote whichever name it
// pushed to. What the binding must stop is a signature moved between
// repositories of one registry, such as api's onto web, and the path tells
// those apart. The digest and the signer's identity are verified
// separately.
func SameRepository(named string, repo name.Repository) bool {
	var other name.Repository
	if ref, err := name.ParseReference(named, name.WeakValidation); err == nil {
		other = ref.Context()
	} else if r, err := name.NewRepository(named, name.WeakValidation); err == nil {
		other = r
	} else {
		return false
	}
	return other.RepositoryStr() == repo.RepositoryStr()
}

func matchesAny(named string, repos []name.Repository) bool {
	for _, r := range repos {
		if SameRepository(named, r) {
			return true
		}
	}
	return false
}

// repositoryPaths names the repositories a signature may name, for a reader.
func repositoryPaths(repos []name.Repository) string {
	var out []string
	for _, r := range repos {
		out = append(out, r.RepositoryStr())
	}
	return strings.Join(out, " or ")
}
