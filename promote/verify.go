package promote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/promote/internal/registry"
)

// source is a verified source image, pinned by its manifest bytes.
type source struct {
	ref  string
	desc *remote.Descriptor
	info registry.Info
	// signature is what the signature policy verified, if one is set.
	signature *Signature
}

// Verify resolves every repository's source tag for sha and checks it: it
// must exist, be readable, carry sha as its revision (when the image has a
// revision: equal to a 40-character sha, starting with a shorter one, in
// the image and in every image child of an index), and hold every required
// platform. It writes nothing. Every failing image is named in one error
// wrapping [ErrVerification].
func (p *Promoter) Verify(ctx context.Context, s SHA) (*Report, error) {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	if s.IsZero() {
		return nil, invalid("sha", "", "a commit sha is required")
	}
	if err := checkSHA(p.opts.signatures, s); err != nil {
		return nil, err
	}
	rep := &Report{Action: "verify", SHA: s.String()}
	p.describe(rep)
	r := p.connect(ctx, access{sources: true})
	_ = r.each(ctx, func(ctx context.Context, i int) error {
		im := r.images[i]
		im.source, im.err = r.prepare(ctx, i, s, false)
		return nil
	})
	for i, im := range r.images {
		img := Image{Repository: r.repo(i).Name(), Source: r.sourceRef(i, s)}
		img.describe(im.source, s)
		if im.err != nil {
			img.Detail = im.err.Error()
		}
		e := &entry{index: len(rep.Images)}
		im.entries = append(im.entries, e)
		img.Outcome = im.outcome(stageRead, e)
		rep.Images = append(rep.Images, img)
	}
	return rep, rep.finish(verificationError("verification failed", sourceRefs(r, s), r.errs()))
}

// sourceRefs lists the source reference of every repository for sha.
func sourceRefs(r *run, s SHA) []string {
	refs := make([]string, len(r.images))
	for i := range refs {
		refs[i] = r.sourceRef(i, s)
	}
	return refs
}

// sourceRef is the source reference of repository i for sha.
func (r *run) sourceRef(i int, s SHA) string {
	return r.repo(i).Tag(r.p.plan.source.render(s)).Name()
}

// verifySource reads and checks the source image of repository i. Unless
// nil, alongside runs as soon as the source manifest is read, concurrently
// with the checks, and its error is the source's as well.
func (r *run) verifySource(ctx context.Context, i int, s SHA, alongside func(context.Context, *remote.Descriptor) error) (source, error) {
	c, err := r.client(i)
	if err != nil {
		return source{}, err
	}
	src := source{ref: r.sourceRef(i, s)}
	desc, found, err := c.Get(ctx, r.p.plan.source.render(s))
	if err != nil {
		if isAccessError(err) {
			return src, err
		}
		return src, fmt.Errorf("cannot read: %w", err)
	}
	if !found {
		return src, errors.New("not found")
	}
	src.desc = desc
	// Signatures are read alongside the config, as soon as the digest is known.
	signatures := c.checkSignatures(ctx, desc.Digest, s)
	var wg sync.WaitGroup
	var alongsideErr error
	if alongside != nil {
		wg.Go(func() { alongsideErr = alongside(ctx, desc) })
	}
	required := r.p.plan.platforms
	records := r.checkRecords(ctx, i, desc.Digest)
	src.info, err = c.Inspect(ctx, desc, registry.InspectOptions{AllChildren: true, Required: required})
	var sigErr error
	src.signature, sigErr = signatures()
	recordsErr := records()
	wg.Wait()
	if err != nil {
		if isAccessError(err) {
			return src, errors.Join(err, alongsideErr)
		}
		return src, errors.Join(fmt.Errorf("cannot inspect %s: %w", desc.Digest, err), alongsideErr)
	}
	if alongsideErr != nil {
		return src, alongsideErr
	}
	var problems []string
	for _, child := range src.info.Children {
		if child.Revision != "" && !namesCommit(child.Revision, s) {
			problems = append(problems, fmt.Sprintf("its %s image's revision is %s, %s", child.Name, child.Revision, notCommit(s)))
		}
	}
	if len(problems) == 0 && src.info.Revision != "" && !namesCommit(src.info.Revision, s) {
		problems = append(problems, fmt.Sprintf("its revision is %s, %s: the tag points at another commit's image", src.info.Revision, notCommit(s)))
	}
	for _, want := range required {
		if !hasPlatform(src.info.Platforms, want) {
			have := strings.Join(registry.PlatformStrings(src.info.Platforms), ", ")
			if have == "" {
				have = "none declared"
			}
			problems = append(problems, fmt.Sprintf("platform %s missing (has %s)", registry.PlatformString(want), have))
		}
	}
	if sigErr != nil {
		// The signature's error stays reachable, said last.
		others := ""
		if len(problems) > 0 {
			others = strings.Join(problems, "; ") + "; "
		}
		return src, fmt.Errorf("%s: %s%w", desc.Digest, others, sigErr)
	}
	if recordsErr != nil {
		problems = append(problems, recordsErr.Error())
	}
	if len(problems) > 0 {
		return src, fmt.Errorf("%s: %s", desc.Digest, strings.Join(problems, "; "))
	}
	return src, nil
}

// namesCommit reports whether an image's revision label names commit s: it
// equals a 40-character sha, and starts with a shorter one.
func namesCommit(revision string, s SHA) bool {
	if s.IsFull() {
		return strings.EqualFold(revision, s.String())
	}
	return strings.HasPrefix(strings.ToLower(revision), s.String())
}

// notCommit says how a revision that fails [namesCommit] differs from s.
func notCommit(s SHA) string {
	if s.IsFull() {
		return "not " + s.String()
	}
	return "which does not start with " + s.String()
}

func anyChildRevision(children []registry.ChildRevision) bool {
	for _, c := range children {
		if c.Revision != "" {
			return true
		}
	}
	return false
}

func hasPlatform(have []v1.Platform, want v1.Platform) bool {
	for _, h := range have {
		if registry.PlatformMatches(want, h) {
			return true
		}
	}
	return false
}

// describe copies what was learnt about a source image into the entry,
// whatever was read of it; with a sha and an image that names no revision,
// it notes that the revision was not checked.
func (img *Image) describe(src source, s SHA) {
	if src.desc == nil {
		return
	}
	if !s.IsZero() && src.info.Revision == "" && !anyChildRevision(src.info.Children) {
		img.Detail = "revision not checked (no label)"
	}
	img.Digest = src.desc.Digest.String()
	img.MediaType = string(src.desc.MediaType)
	img.Platforms = registry.PlatformStrings(src.info.Platforms)
	img.Revision = src.info.Revision
	img.Created = src.info.Created
	img.Signature = src.signature
}

// verificationError joins the per-repository errors into one error that
// names every failing image by its reference in refs, or returns nil. Its
// heading says what went wrong: what, for verify and promote, when at
// least one image failed a check; that the registry could not be read,
// when every failure was an [*AccessError].
func verificationError(what string, refs []string, errs []error) error {
	var images []*ImageError
	access := true
	for i, err := range errs {
		if err != nil {
			images = append(images, &ImageError{Image: refs[i], Err: err})
			access = access && isAccessError(err)
		}
	}
	if len(images) == 0 {
		return nil
	}
	if access {
		what = "cannot read the registry"
	}
	return &VerificationError{heading: fmt.Sprintf("%s for %d of %d images", what, len(images), len(errs)), Images: images}
}

// finish records err in the report and returns it.
func (rep *Report) finish(err error) error {
	switch {
	case err == nil:
		rep.Result = ResultOK
	case errors.Is(err, ErrMixedState):
		rep.Result = ResultMixed
	case errors.Is(err, ErrIncomplete):
		rep.Result = ResultIncomplete
	case errors.Is(err, ErrUnrecorded):
		rep.Result = ResultUnrecorded
	default:
		rep.Result = ResultFailed
	}
	if err != nil {
		rep.Error = err.Error()
	}
	return err
}
