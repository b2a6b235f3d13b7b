package promote

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultTargetTags returns the tags moved when none are configured.
func DefaultTargetTags() []string { return []string{"latest"} }

const (
	// DefaultSourceTag is the source tag template used when none is configured.
	DefaultSourceTag = "staging-{sha}"
	// BackupSuffix is appended to a target tag to name its backup tag.
	BackupSuffix = "-previous"
)

// Config says what to promote. Empty fields take the package defaults,
// except Repositories, which is required.
type Config struct {
	// Repositories are fully qualified repository names, such as
	// "ghcr.io/acme/api", each listed once. At least one is required.
	Repositories []string
	// SourceTag is the template of the tag each commit's images were pushed
	// as. "{sha}" stands for the sha lower-cased and cut to 7 characters,
	// "{fullsha}" for the sha as given (lower-cased). Default: [DefaultSourceTag].
	SourceTag string
	// TargetTags are the tags moved to the source image. Default: [DefaultTargetTags].
	TargetTags []string
	// Platforms, such as "linux/amd64", must all be present in each image.
	// Default: none required.
	Platforms []string
	// Destinations maps repositories of Repositories, each at most once,
	// to the repository its image is copied to, by digest and with its
	// signatures, before the target tags move there instead. Default:
	// none; each image's tags move in its own repository.
	Destinations []Mapping
	// DestinationPrefixes maps source prefixes, each at most once, to
	// destination prefixes, for every repository that Destinations does
	// not name: with {"ghcr.io/acme/staging", "registry.example.com/prod"},
	// the image ghcr.io/acme/staging/api is copied to
	// registry.example.com/prod/api. A prefix is a registry host or a
	// repository path, and matches whole path components; the longest
	// matching prefix wins.
	DestinationPrefixes []Mapping
}

// Mapping names where a source repository, or every repository under a
// source prefix, is copied to.
type Mapping struct {
	// Source is a repository, or a prefix, of the images promoted.
	Source string
	// Destination is the repository, or the prefix, it is copied to.
	Destination string
}

// plan is a Config after validation.
type plan struct {
	repos []name.Repository
	// dests[i] is where repos[i]'s target tags move: its destination, or
	// repos[i] itself.
	dests     []name.Repository
	source    tagTemplate
	targets   []string
	platforms []v1.Platform
}

var (
	tagPattern      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	platformPattern = regexp.MustCompile(`^[a-z0-9_]+/[a-z0-9_]+(/[a-z0-9_.]+)?$`)
	// hostPattern is a registry host: a lower-case DNS name or IPv4 address,
	// or a bracketed IPv6 address, with an optional port.
	hostPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])(:[0-9]{1,5})?$`)
)

// validHost reports whether s is a registry host: it matches hostPattern
// and any port is in range.
func validHost(s string) bool {
	return hostPattern.MatchString(s) && validPort(s)
}

// validPort reports whether the port of host, if it has one, is between 1
// and 65535.
func validPort(host string) bool {
	i := strings.LastIndex(host, ":")
	if i < 0 || strings.HasSuffix(host, "]") {
		return true
	}
	port, err := strconv.Atoi(host[i+1:])
	return err == nil && port >= 1 && port <= 65535
}

// everyRegistry, as a key of the insecure registries, stands for all.
const everyRegistry = "*"

// parseConfig validates every field of cfg and reports every problem at once.
// Registries named in insecure (or all, with [everyRegistry]) may be
// reached over plain HTTP.
func parseConfig(cfg Config, insecure map[string]bool) (plan, error) {
	var p plan
	var errs []error

	if len(cfg.Repositories) == 0 {
		errs = append(errs, invalid("repositories", "", "at least one repository is required, such as ghcr.io/org/image"))
	}
	seen := map[string]bool{}
	for _, s := range cfg.Repositories {
		repo, err := parseRepository(s, insecure)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[repo.Name()] {
			errs = append(errs, invalid("repository", s, "listed more than once"))
			continue
		}
		seen[repo.Name()] = true
		p.repos = append(p.repos, repo)
	}
	dests, err := parseDestinations(cfg, p.repos, insecure)
	if err != nil {
		errs = append(errs, err)
	}
	p.dests = dests

	src := cfg.SourceTag
	if src == "" {
		src = DefaultSourceTag
	}
	tmpl, err := parseTemplate(src)
	if err != nil {
		errs = append(errs, err)
	}
	p.source = tmpl

	targets := cfg.TargetTags
	if len(targets) == 0 {
		targets = DefaultTargetTags()
	}
	seenTag := map[string]bool{}
	for _, t := range targets {
		switch {
		case !tagPattern.MatchString(t):
			errs = append(errs, invalid("target tag", t, "a tag is 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"))
		case len(t)+len(BackupSuffix) > 128:
			errs = append(errs, invalid("target tag", t, fmt.Sprintf("too long to add %q for its backup tag", BackupSuffix)))
		case seenTag[t]:
			errs = append(errs, invalid("target tag", t, "listed more than once"))
		case err == nil && tmpl.isConstant() && string(tmpl) == t:
			errs = append(errs, invalid("target tag", t, "is the source tag itself"))
		default:
			seenTag[t] = true
			p.targets = append(p.targets, t)
		}
	}
	for _, t := range p.targets {
		if seenTag[strings.TrimSuffix(t, BackupSuffix)] && strings.HasSuffix(t, BackupSuffix) {
			errs = append(errs, invalid("target tag", t, "is the backup tag of another target tag"))
		}
	}

	for _, s := range cfg.Platforms {
		if !platformPattern.MatchString(s) {
			errs = append(errs, invalid("platform", s, "expected os/arch or os/arch/variant, such as linux/amd64"))
			continue
		}
		plat, err := v1.ParsePlatform(s)
		if err != nil {
			errs = append(errs, invalid("platform", s, err.Error()))
			continue
		}
		p.platforms = append(p.platforms, *plat)
	}
	return p, errors.Join(errs...)
}

// parseRepository accepts only a fully qualified repository name: a registry
// host, a path, no tag and no digest.
func parseRepository(s string, insecure map[string]bool) (name.Repository, error) {
	if s == "" {
		return name.Repository{}, invalid("repository", s, "must not be empty")
	}
	if strings.ContainsAny(s, "@ \t\n") {
		return name.Repository{}, invalid("repository", s, "expected registry/path without a tag or digest, such as ghcr.io/org/image")
	}
	host, _, found := strings.Cut(s, "/")
	if !found || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		return name.Repository{}, invalid("repository", s, "must start with a registry host, such as ghcr.io/org/image")
	}
	if !hostPattern.MatchString(host) {
		return name.Repository{}, invalid("repository", s, "registry host "+host+" is not a lower-case host name or address")
	}
	if !validPort(host) {
		return name.Repository{}, invalid("repository", s, "registry host "+host+" has a port outside 1 to 65535")
	}
	for _, part := range strings.Split(strings.TrimPrefix(s, host+"/"), "/") {
		if part == "" {
			return name.Repository{}, invalid("repository", s, "has an empty path component (a doubled or trailing '/')")
		}
	}
	var opts []name.Option
	if insecure[canonicalRegistry(host)] || insecure[everyRegistry] {
		opts = append(opts, name.Insecure)
	}
	// Without strict validation, go-containerregistry accepts Docker Hub's
	// short forms (docker.io/x for docker.io/library/x); Name() is then the
	// canonical form, which the report shows.
	repo, err := name.NewRepository(s, opts...)
	if err != nil {
		return name.Repository{}, invalid("repository", s, "expected lower-case registry/path without a tag or digest, such as ghcr.io/org/image ("+err.Error()+")")
	}
	return repo, nil
}
