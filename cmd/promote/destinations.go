package main

import (
	"errors"
	"strings"

	"github.com/molecule-ai/promote/promote"
)

// destinations splits each --image value, a repository or
// "source=destination", into the repositories promoted and their
// destinations, and reads each --destination-prefix "source=destination".
// [promote.New] rejects a source given twice.
func destinations(images, prefixes []string) (repos []string, dests, prefixDests []promote.Mapping, err error) {
	var errs []error
	for _, img := range images {
		if !strings.Contains(img, "=") {
			repos = append(repos, img)
			continue
		}
		src, dst, err := parseMapping(img)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		repos, dests = append(repos, src), append(dests, promote.Mapping{Source: src, Destination: dst})
	}
	for _, pm := range prefixes {
		src, dst, err := parseMapping(pm)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		prefixDests = append(prefixDests, promote.Mapping{Source: src, Destination: dst})
	}
	return repos, dests, prefixDests, errors.Join(errs...)
}

// parseMapping splits "source=destination", the form in which a flag names
// a destination for a repository or a prefix. Both sides must be
// non-empty; [promote.New] validates them.
func parseMapping(s string) (source, destination string, err error) {
	source, destination, found := strings.Cut(s, "=")
	switch {
	case !found:
		return "", "", invalidMapping(s, "expected source=destination")
	case source == "" || destination == "":
		return "", "", invalidMapping(s, "expected source=destination, both sides non-empty")
	case strings.Contains(destination, "="):
		return "", "", invalidMapping(s, "expected exactly one '=' between source and destination")
	}
	return source, destination, nil
}

// invalidMapping rejects mapping s, shortened if long, for reason.
func invalidMapping(s, reason string) error {
	const maxShown = 80
	if len(s) > maxShown {
		s = s[:maxShown] + "…"
	}
	return &promote.InputError{Field: "mapping", Value: s, Reason: reason}
}

// withDestinations lists the repositories of cfg and the destinations they
// move to, as far as cfg is valid (New reports what is not), so that a
// login can name the registry of either.
func withDestinations(cfg promote.Config) []string {
	p, err := promote.New(cfg)
	if err != nil {
		return cfg.Repositories
	}
	return append(p.Repositories(), p.Destinations()...)
}
