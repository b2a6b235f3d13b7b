package promote

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/molecule-ai/promote/promote/internal/copier"
	"github.com/molecule-ai/promote/promote/internal/fanout"
	"github.com/molecule-ai/promote/promote/internal/record"
	"github.com/molecule-ai/promote/promote/internal/registry"
)

// Promoter runs the operations on one validated configuration. It holds no
// connection between calls and is safe for concurrent use.
type Promoter struct {
	plan plan
	opts options
}

// New validates cfg and returns a Promoter. No request is made. Every invalid
// field is reported in one error that wraps [ErrInvalidInput].
func New(cfg Config, opts ...Option) (*Promoter, error) {
	o := defaultOptions()
	var errs []error
	for _, opt := range opts {
		errs = append(errs, opt(&o))
	}
	insecure := map[string]bool{}
	for reg := range o.endpoints {
		insecure[reg] = true
	}
	if o.insecure {
		insecure[everyRegistry] = true
	}
	p, err := parseConfig(cfg, insecure)
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}
	return &Promoter{plan: p, opts: o}, nil
}

// Repositories returns the validated repository names.
func (p *Promoter) Repositories() []string {
	out := make([]string, len(p.plan.repos))
	for i, r := range p.plan.repos {
		out[i] = r.Name()
	}
	return out
}

// describe records in rep how the run reaches registries and checks
// signatures.
func (p *Promoter) describe(rep *Report) {
	describePolicy(p.opts.signatures, rep)
	rep.Insecure = p.opts.insecure
}

// bound applies the configured operation timeout, if any, to ctx.
func (p *Promoter) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.opts.timeout > 0 {
		return context.WithTimeout(ctx, p.opts.timeout)
	}
	return context.WithCancel(ctx)
}

// Destinations returns, for each repository of [Promoter.Repositories],
// the repository where its target tags move: its destination, or the
// repository itself.
func (p *Promoter) Destinations() []string {
	out := make([]string, len(p.plan.dests))
	for i, r := range p.plan.dests {
		out[i] = r.Name()
	}
	return out
}

// SourceTag returns the source tag for sha.
func (p *Promoter) SourceTag(sha SHA) string { return p.plan.source.render(sha) }

// TargetTags returns the validated target tags.
func (p *Promoter) TargetTags() []string { return append([]string(nil), p.plan.targets...) }

// run is one operation's connections, made once per repository, and the
// state of each image through it.
type run struct {
	p    *Promoter
	base http.RoundTripper
	// images holds image i's run at index i.
	images []*imageRun
	// readRecords: list the records of each source digest alongside its
	// verification; refuseRolledBack: refuse a rolled-back digest then.
	readRecords, refuseRolledBack bool
	// write is the options of a promote or rollback.
	write WriteOptions
}

// imageRun is one image through one run: its connections, what was read
// and pinned, the planned copy, its records, and its report entries, from
// which [decideOutcome] decides each entry's outcome.
type imageRun struct {
	// src reads the source repository; nil when the run does not read
	// sources. srcErr says why it could not be connected to.
	src    *repoClient
	srcErr error
	// dst is where the target tags move: the destination repository, or
	// the same client as src. dstErr says why it could not be connected to.
	dst    *repoClient
	dstErr error
	// source is the verified source, its pinned bytes in source.desc.
	source source
	// current is where the target tags and their backups were before any
	// write; commits are the commits the targets carry, read for a
	// forward-only promotion.
	current current
	commits []targetCommit
	// revisions and signatures are those of each backup, for a rollback to
	// the backups.
	revisions  []string
	signatures []*Signature
	// err is why the image cannot be written: a read or check failed.
	err error
	// copy is the copy to the destination, planned while reading; nil when
	// the image is not copied. copyErr is why it failed.
	copy    *copier.Copy
	copyErr error
	// records holds the promotion records of the destination, and
	// referrersAPI says whether its registry serves the referrers API, as
	// the listing read alongside verification found.
	records      *record.Repository
	referrersAPI bool
	// entries are the image's report entries, one per target tag.
	entries []*entry
}

// scopesPerToken bounds the repositories that one token is asked for. A
// token request names every scope in its URL, and token servers refuse
// URLs past a few KiB; 50 scopes of up to about 100 characters stay well
// below 8 KiB.
const scopesPerToken = 50

// access says which repositories a run connects to, and with which rights.
type access struct {
	// sources: the run reads the source images (verify, promote). With
	// destinations, it also checks push access to every destination.
	sources bool
	// write: the run moves target tags.
	write bool
}

// connect authenticates to every registry concurrently: one ping and one
// token per registry and batch of [scopesPerToken] repositories, for all
// the repositories the run uses there: pull for sources, push where it
// writes. A registry that cannot be reached is recorded against each of its
// repositories, not fatal, so that every failing image can be reported at
// once.
func (p *Promoter) connect(ctx context.Context, a access) *run {
	timeout := p.opts.timeout
	if deadline, ok := ctx.Deadline(); ok && timeout == 0 {
		timeout = time.Until(deadline)
	}
	n := len(p.plan.repos)
	cfg := p.opts.registryConfig()
	r := &run{p: p, base: cfg.NewTransport(), images: make([]*imageRun, n)}
	type endpoint struct {
		repo   name.Repository
		push   bool
		client *repoClient
		err    error
	}
	var endpoints []*endpoint
	byName := map[string]*endpoint{}
	use := func(repo name.Repository, push bool) *endpoint {
		e, ok := byName[repo.Name()]
		if !ok {
			e = &endpoint{repo: repo}
			byName[repo.Name()] = e
			endpoints = append(endpoints, e)
		}
		e.push = e.push || push
		return e
	}
	srcs, dsts := make([]*endpoint, n), make([]*endpoint, n)
	for i, repo := range p.plan.repos {
		copied := p.copied(i)
		if a.sources {
			srcs[i] = use(repo, a.write && !copied)
		}
		dsts[i] = use(p.plan.dests[i], a.write || (copied && a.sources))
	}

	var batches [][]*endpoint
	open := map[string]int{} // registry -> its batch still filling
	for _, e := range endpoints {
		reg := e.repo.RegistryStr()
		b, ok := open[reg]
		if !ok || len(batches[b]) == scopesPerToken {
			b = len(batches)
			batches = append(batches, nil)
			open[reg] = b
		}
		batches[b] = append(batches[b], e)
	}
	_ = fanout.ForEach(ctx, len(batches), p.opts.concurrency, func(ctx context.Context, k int) error {
		group := batches[k]
		repos := make([]registry.Access, len(group))
		for j, e := range group {
			repos[j] = registry.Access{Repo: e.repo, Push: e.push}
		}
		clients, err := cfg.Connect(ctx, r.base, repos, timeout)
		for j, e := range group {
			if err != nil {
				e.err = err
			} else {
				e.client = &repoClient{Client: clients[j], signatures: p.opts.signatures}
			}
		}
		return nil
	})
	for i := range n {
		im := &imageRun{dst: dsts[i].client, dstErr: dsts[i].err}
		if e := srcs[i]; e != nil {
			im.src, im.srcErr = e.client, e.err
		}
		r.images[i] = im
	}
	return r
}

// copied reports whether image i is copied to another repository.
func (p *Promoter) copied(i int) bool { return p.plan.dests[i].Name() != p.plan.repos[i].Name() }

// dest returns the connection to the repository where image i's target
// tags move, or why there is none.
func (r *run) dest(i int) (*repoClient, error) {
	im := r.images[i]
	if im.dstErr != nil {
		return nil, im.dstErr
	}
	return im.dst, nil
}

// destRepo is the repository where image i's target tags move.
func (r *run) destRepo(i int) name.Repository { return r.p.plan.dests[i] }

// client returns the connection to repository i, or why there is none.
func (r *run) client(i int) (*repoClient, error) {
	im := r.images[i]
	if im.srcErr != nil {
		return nil, im.srcErr
	}
	return im.src, nil
}

// each runs fn for every repository index, at most the configured number at
// a time, and returns the first error after all have finished.
func (r *run) each(ctx context.Context, fn func(ctx context.Context, i int) error) error {
	return fanout.ForEach(ctx, len(r.p.plan.repos), r.p.opts.concurrency, fn)
}

// repo is the name of repository i.
func (r *run) repo(i int) name.Repository { return r.p.plan.repos[i] }
