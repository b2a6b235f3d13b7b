// Promote a commit's container images from their staging tag to production, all together or not at all
//
// Every image built from one commit is pushed as <image>:staging-<sha>. After
// the end-to-end tests pass, promote verifies those tags, pins their digests,
// and moves every <image>:latest to its pinned digest, keeping the old one as
// <image>:latest-previous. If any tag fails to move, every tag already moved
// is put back. The registry calls run in this module's container, so CI and a
// laptop run the same code.

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/molecule-ai/promote/internal/dagger"
	"github.com/molecule-ai/promote/internal/defaults"
	"github.com/molecule-ai/promote/internal/demo"
	"github.com/molecule-ai/promote/promote"
)

// Promote verifies, promotes, rolls back and inspects a set of images.
type Promote struct {
	// Fully qualified repositories promoted together.
	Images []string
	// Source tag template: {sha} is the commit sha cut to 7 characters, {fullsha} the whole sha.
	SourceTag string
	// Tags moved to the commit's images.
	TargetTags []string
	// Platforms every image must have, such as linux/amd64.
	Platforms []string
	// Whether every registry is reached over plain HTTP, or TLS without verifying its certificate.
	// +private
	Insecure bool

	// Registries logged in to, and the username and secret for each.
	// +private
	AuthAddresses []string
	// +private
	AuthUsernames []string
	// +private
	AuthSecrets []*dagger.Secret

	// Registries whose requests go to a service, and the service for each.
	// +private
	ServiceAddresses []string
	// +private
	ServiceBindings []*dagger.Service

	// Signature policy: the certificate identity (exact or a regexp) and
	// OIDC issuer of keyless signatures, or a public key; the trusted root.
	// +private
	SignatureIdentity string
	// +private
	SignatureIdentityRegexp string
	// +private
	SignatureIssuer string
	// +private
	SignatureKey *dagger.File
	// +private
	SignatureInsecureIgnoreTlog bool
	// +private
	SignatureTrustedRoot *dagger.File
	// The GitHub workflow claims keyless certificates must carry, as
	// cosign's --certificate-github-workflow-* flags.
	// +private
	SignatureGitHubWorkflowRepository string
	// +private
	SignatureGitHubWorkflowRef string
	// +private
	SignatureGitHubWorkflowSha string
	// +private
	SignatureGitHubWorkflowTrigger string
	// +private
	SignatureGitHubWorkflowName string

	// Repositories copied to another repository before their tags move,
	// and the destination of each.
	// +private
	DestinationSources []string
	// +private
	Destinations []string
	// Prefixes whose repositories are copied, and the destination prefix
	// of each.
	// +private
	PrefixSources []string
	// +private
	PrefixDestinations []string
}

// Configure which images are promoted, from which tag, to which tags
func New(
	// Fully qualified repositories promoted together (no tag, no digest).
	// +optional
	// +default=["ghcr.io/molecule-ai/platform", "ghcr.io/molecule-ai/platform-tenant"]
	images []string,
	// Source tag template: {sha} is the commit sha lower-cased and cut to 7 characters, {fullsha} the whole sha.
	// +optional
	// +default="staging-{sha}"
	sourceTag string,
	// Tags moved to the commit's images; each also gets a <tag>-previous backup.
	// +optional
	// +default=["latest"]
	targetTags []string,
	// Platforms every image must have, such as linux/amd64 (default: none required).
	// +optional
	platforms []string,
) *Promote {
	return &Promote{Images: images, SourceTag: sourceTag, TargetTags: targetTags, Platforms: platforms}
}

// Check that every image of a commit exists, is readable, carries the commit as its revision and has every required platform, and, with a signature policy, that it is signed
//
// +cache="never"
func (m *Promote) Verify(
	ctx context.Context,
	// Git commit sha of the images: 7 to 40 hexadecimal characters.
	sha string,
	// Give up after this long, such as 90s or 5m.
	// +optional
	// +default="5m"
	timeout string,
	// Also require SLSA v1 build provenance naming the commit, signed under the signature policy (needs the 40-character sha).
	// +optional
	requireProvenance bool,
) (*Report, error) {
	s, err := promote.ParseSHA(sha)
	if err != nil {
		return nil, failure("verify", nil, err)
	}
	return m.run(ctx, "verify", timeout, requireProvenance, func(ctx context.Context, p *promote.Promoter) (*promote.Report, error) {
		return p.Verify(ctx, s)
	})
}

// Move every target tag of every image to the commit's verified digests, all or nothing
//
// +cache="never"
func (m *Promote) Promote(
	ctx context.Context,
	// Git commit sha of the images: 7 to 40 hexadecimal characters.
	sha string,
	// Make every read and no write; report what would change.
	// +optional
	dryRun bool,
	// Do not keep the target's old digest as <tag>-previous.
	// +optional
	noBackup bool,
	// Refuse unless the commit descends from the one each target tag carries now (its revision label); needs --source.
	// +optional
	forwardOnly bool,
	// Checkout of the repository the images are built from, with its full git history (such as --source .); only its .git is uploaded and read, and only with --forward-only.
	// +optional
	// +ignore=["*", "!.git"]
	source *dagger.Directory,
	// Give up after this long, such as 90s or 5m; restoring the tags after a failure has its own deadline.
	// +optional
	// +default="5m"
	timeout string,
	// Also require SLSA v1 build provenance naming the commit, signed under the signature policy (needs the 40-character sha).
	// +optional
	requireProvenance bool,
	// Who the promotion records name as having made the moves, such as the GitHub actor; public to anyone who can pull (default: unknown).
	// +optional
	actor string,
	// URL of the run the promotion records name, such as the GitHub Actions run with its attempt; no query or credentials.
	// +optional
	run string,
	// Promote digests that a rollback moved away from a target tag since they were last moved there, which is refused otherwise; the records say so.
	// +optional
	allowRolledBack bool,
) (*Report, error) {
	s, err := promote.ParseSHA(sha)
	if err != nil {
		return nil, failure("promote", nil, err)
	}
	if forwardOnly && source == nil {
		return nil, failure("promote", nil, &promote.InputError{Field: "source", Value: "", Reason: "--forward-only compares commits in the git history of the images' repository: pass its checkout, such as --source ., with its full history"})
	}
	return m.run(ctx, "promote", timeout, requireProvenance, func(ctx context.Context, p *promote.Promoter) (*promote.Report, error) {
		opts := promote.WriteOptions{DryRun: dryRun, NoBackup: noBackup, Actor: actor, Run: run, AllowRolledBack: allowRolledBack}
		if forwardOnly {
			history, cleanup, err := openHistory(ctx, source)
			if err != nil {
				return nil, err
			}
			defer cleanup()
			opts.ForwardOnly = history
		}
		return p.Promote(ctx, s, opts)
	})
}

// Move the target tags back: to a commit's images, or, without a sha, swap each with its <tag>-previous backup
//
// +cache="never"
func (m *Promote) Rollback(
	ctx context.Context,
	// Git commit sha to go back to; without it, swap every target tag with its -previous backup.
	// +optional
	sha string,
	// Make every read and no write; report what would change.
	// +optional
	dryRun bool,
	// Give up after this long, such as 90s or 5m; restoring the tags after a failure has its own deadline.
	// +optional
	// +default="5m"
	timeout string,
	// Who the promotion records name as having rolled back, such as the GitHub actor; public to anyone who can pull (default: unknown).
	// +optional
	actor string,
	// URL of the run the promotion records name, such as the GitHub Actions run with its attempt; no query or credentials.
	// +optional
	run string,
) (*Report, error) {
	var s promote.SHA
	if sha != "" {
		var err error
		if s, err = promote.ParseSHA(sha); err != nil {
			return nil, failure("rollback", nil, err)
		}
	}
	return m.run(ctx, "rollback", timeout, false, func(ctx context.Context, p *promote.Promoter) (*promote.Report, error) {
		return p.Rollback(ctx, s, promote.WriteOptions{DryRun: dryRun, Actor: actor, Run: run})
	})
}

// Show what every target tag points at: digest, revision, creation time and its -previous backup
//
// +cache="never"
func (m *Promote) Status(
	ctx context.Context,
	// Give up after this long, such as 90s or 5m.
	// +optional
	// +default="5m"
	timeout string,
) (*Report, error) {
	return m.run(ctx, "status", timeout, false, func(ctx context.Context, p *promote.Promoter) (*promote.Report, error) {
		return p.Status(ctx)
	})
}

// Show how every target tag got where it is, newest first, from the promotion records in the registry: who moved it, when, from which run
//
// +cache="never"
func (m *Promote) History(
	ctx context.Context,
	// The most moves shown per tag, newest first (at most 1000).
	// +optional
	// +default=20
	limit int,
	// Give up after this long, such as 90s or 5m.
	// +optional
	// +default="5m"
	timeout string,
) (*History, error) {
	d, err := parseTimeout(timeout)
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > promote.MaxHistoryLimit {
		return nil, &promote.InputError{Field: "limit", Value: fmt.Sprint(limit), Reason: fmt.Sprintf("must be between 1 and %d", promote.MaxHistoryLimit)}
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	p, err := m.promoter(ctx, false, promote.WithTimeout(d))
	if err != nil {
		return nil, err
	}
	return newHistory(p.History(ctx, limit))
}

// Run verify, promote, status, rollback and history against an in-memory registry inside this module, and print each report
//
// +check
// +cache="never"
func (m *Promote) Demo(ctx context.Context) (string, error) {
	var out bytes.Buffer
	err := demo.Run(ctx, &out)
	return out.String(), demoError(err, out.String())
}

// demoError is the error of a failed demo. Dagger drops a function's
// result when it fails, so the output printed up to the failure goes into
// the error.
func demoError(err error, output string) error {
	if err == nil {
		return nil
	}
	if output == "" {
		return fmt.Errorf("demo: %w", err)
	}
	return fmt.Errorf("demo: %w\n\nits output up to the failure:\n%s", err, output)
}

// run parses timeout, as the CLI parses --timeout, before anything else,
// then runs op, the operation named action, on the module's promoter, and
// converts its report; its errors carry the outcome (see [failure]). The
// timeout bounds the whole call: the module's own Dagger calls (reading
// secrets and files, starting services, copying the git history) as well
// as the core's requests. Restoring tags after a failure keeps its own
// deadline, which the core takes apart from this one.
func (m *Promote) run(ctx context.Context, action, timeout string, requireProvenance bool, op func(context.Context, *promote.Promoter) (*promote.Report, error)) (*Report, error) {
	d, err := parseTimeout(timeout)
	if err != nil {
		return nil, failure(action, nil, err)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	p, err := m.promoter(ctx, requireProvenance, promote.WithTimeout(d))
	if err != nil {
		return nil, failure(action, nil, err)
	}
	rep, err := op(ctx, p)
	return newReport(action, rep, err)
}

// parseTimeout reads a timeout argument: a positive Go duration such as 90s
// or 5m.
func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, &promote.InputError{Field: "timeout", Value: s, Reason: "expected a positive duration such as 90s or 5m"}
	}
	return d, nil
}

// openHistory copies the .git folder of source into a temporary folder of
// this module's container and opens it there. Inside a module,
// Directory.Export writes to the module's own container, not to the
// caller's host; only .git is copied, since the history is all that is
// read. The returned func removes the copy.
func openHistory(ctx context.Context, source *dagger.Directory) (promote.History, func(), error) {
	hasGit, err := source.Exists(ctx, ".git", dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeDirectoryType})
	if err != nil {
		return nil, nil, fmt.Errorf("reading --source: %w", err)
	}
	if !hasGit {
		return nil, nil, &promote.InputError{Field: "source", Value: "", Reason: "holds no .git folder: pass the checkout of the images' repository itself, with its full history"}
	}
	dir, err := os.MkdirTemp("", "promote-source-")
	if err != nil {
		return nil, nil, fmt.Errorf("making room for the git history: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	if _, err := source.Directory(".git").Export(ctx, filepath.Join(dir, ".git")); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("copying the git history of --source: %w", err)
	}
	history, err := promote.OpenGitHistory(dir)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return history, cleanup, nil
}

// promoter translates the module's arguments, and extra options, into a
// core promoter: secrets and files are read here and handed to the core
// only. With requireProvenance, the signature policy requires provenance.
func (m *Promote) promoter(ctx context.Context, requireProvenance bool, extra ...promote.Option) (*promote.Promoter, error) {
	opts := append([]promote.Option{promote.WithAnonymous()}, extra...)
	for i, address := range m.AuthAddresses {
		password, err := m.AuthSecrets[i].Plaintext(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the secret for %s: %w", address, err)
		}
		opts = append(opts, promote.WithCredentials(address, m.AuthUsernames[i], promote.Secret(password)))
	}
	for i, address := range m.ServiceAddresses {
		endpoint, err := serviceEndpoint(ctx, m.ServiceBindings[i])
		if err != nil {
			return nil, fmt.Errorf("starting the service for %s: %w", address, err)
		}
		opts = append(opts, promote.WithEndpoint(address, endpoint))
	}
	if m.signed() || requireProvenance {
		policy, err := m.signaturePolicy(ctx)
		if err != nil {
			return nil, err
		}
		policy.RequireProvenance = requireProvenance
		opts = append(opts, promote.WithSignaturePolicy(policy))
	}
	if m.Insecure {
		opts = append(opts, promote.WithInsecure())
	}
	return promote.New(m.config(), opts...)
}

// config is the core configuration of the module's arguments. No images
// means the default ones, as the engine fills them in for an empty call.
func (m *Promote) config() promote.Config {
	images := m.Images
	if len(images) == 0 {
		images = defaults.Repositories()
	}
	return promote.Config{
		Repositories: images,
		SourceTag:    m.SourceTag,
		TargetTags:   m.TargetTags,
		Platforms:    m.Platforms,

		Destinations:        mappings(m.DestinationSources, m.Destinations),
		DestinationPrefixes: mappings(m.PrefixSources, m.PrefixDestinations),
	}
}
