package promote

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// parseDestinations validates cfg's destinations against the validated
// source repositories and returns, for each of them, the repository whose
// target tags move: its destination, or the repository itself. Both sides
// of every mapping follow the rules of [Config.Repositories], no source is
// mapped twice, and no two repositories may end up at one destination.
func parseDestinations(cfg Config, repos []name.Repository, insecure map[string]bool) ([]name.Repository, error) {
	var errs []error
	known := map[string]bool{}
	for _, r := range repos {
		known[r.Name()] = true
	}

	explicit := map[string]name.Repository{}
	for _, m := range cfg.Destinations {
		src, dst := m.Source, m.Destination
		mapping := src + "=" + dst
		srcRepo, srcErr := parseRepository(src, insecure)
		dstRepo, dstErr := parseRepository(dst, insecure)
		_, dup := explicit[srcRepo.Name()]
		switch {
		case srcErr != nil || dstErr != nil:
			errs = append(errs, mappingError("destination", mapping, srcErr, dstErr))
		case !known[srcRepo.Name()]:
			errs = append(errs, invalid("destination", mapping, src+" is not one of the repositories promoted"))
		case dup:
			errs = append(errs, invalid("destination", mapping, src+" is given more than once"))
		default:
			explicit[srcRepo.Name()] = dstRepo
		}
	}

	type prefixMapping struct{ from, to string }
	var prefixes []prefixMapping
	seenPrefix := map[string]bool{}
	for _, m := range cfg.DestinationPrefixes {
		from, to := m.Source, m.Destination
		mapping := from + "=" + to
		if err := mappingError("destination prefix", mapping, checkPrefix(from, insecure), checkPrefix(to, insecure)); err != nil {
			errs = append(errs, err)
			continue
		}
		if seenPrefix[from] {
			errs = append(errs, invalid("destination prefix", mapping, from+" is given more than once"))
			continue
		}
		seenPrefix[from] = true
		prefixes = append(prefixes, prefixMapping{from, to})
	}
	// The longest prefix wins; equal lengths cannot both match one name.
	slices.SortFunc(prefixes, func(a, b prefixMapping) int { return len(b.from) - len(a.from) })
	used := map[string]bool{}

	targets := make([]name.Repository, len(repos))
	byTarget := map[string]string{}
	for i, repo := range repos {
		targets[i] = repo
		if dst, ok := explicit[repo.Name()]; ok {
			targets[i] = dst
		} else {
			for _, pm := range prefixes {
				rest, ok := cutPrefix(repo.Name(), pm.from)
				if !ok {
					continue
				}
				used[pm.from] = true
				dst, err := parseRepository(pm.to+rest, insecure)
				if err != nil {
					errs = append(errs, invalid("destination prefix", pm.from+"="+pm.to, fmt.Sprintf("maps %s to %s, which is not a valid repository", repo.Name(), pm.to+rest)))
					break
				}
				targets[i] = dst
				break
			}
		}
		t := targets[i].Name()
		if other, dup := byTarget[t]; dup {
			errs = append(errs, invalid("destination", repo.Name()+"="+t, "two images would be promoted to one destination: "+other+" is promoted to "+t+" as well"))
			continue
		}
		byTarget[t] = repo.Name()
	}
	for _, pm := range prefixes {
		if !used[pm.from] {
			errs = append(errs, invalid("destination prefix", pm.from+"="+pm.to, "matches none of the repositories promoted"))
		}
	}
	return targets, errors.Join(errs...)
}

// checkPrefix accepts a registry host, or a repository under one.
func checkPrefix(s string, insecure map[string]bool) error {
	if !strings.Contains(s, "/") {
		if !validHost(s) || !(strings.ContainsAny(s, ".:") || s == "localhost") {
			return invalid("prefix", s, "expected a registry host, or a repository under one, such as ghcr.io/org")
		}
		return nil
	}
	_, err := parseRepository(s, insecure)
	return err
}

// cutPrefix returns what follows prefix in repo when prefix is the whole
// name or ends at a path separator of it.
func cutPrefix(repo, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(repo, prefix)
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		return "", false
	}
	return rest, true
}

// mappingError names the mapping and says what is wrong with each side.
func mappingError(field, mapping string, srcErr, dstErr error) error {
	var reasons []string
	for _, side := range []struct {
		name string
		err  error
	}{{"source", srcErr}, {"destination", dstErr}} {
		var ie *InputError
		switch {
		case side.err == nil:
		case errors.As(side.err, &ie):
			reasons = append(reasons, side.name+" "+ie.Reason)
		default:
			reasons = append(reasons, side.name+": "+side.err.Error())
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	return invalid(field, mapping, strings.Join(reasons, "; "))
}
