package promote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/molecule-ai/promote/promote/internal/registry"
)

// Status reads what every target tag of every repository points at: its
// digest, revision and creation time, and the digest of its backup tag.
// A target tag that is missing, at a placeholder left by a failed run, or
// unreadable makes the result [ResultIncomplete] and the error wrap
// [ErrIncomplete], naming every such tag; with a signature policy, an image
// that fails it makes the error wrap [ErrVerification] instead.
func (p *Promoter) Status(ctx context.Context) (*Report, error) {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	rep := &Report{Action: "status"}
	p.describe(rep)
	r := p.connect(ctx, access{})
	n, targets := len(r.images), p.plan.targets
	images := make([]Image, n*len(targets))
	errs := make([]error, n)
	_ = r.each(ctx, func(ctx context.Context, i int) error {
		c, err := r.dest(i)
		if err != nil {
			errs[i] = err
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for t, tag := range targets {
			img := &images[i*len(targets)+t]
			*img = Image{Repository: r.repo(i).Name(), Target: r.destRepo(i).Tag(tag).Name()}
			if c == nil {
				img.Outcome, img.Detail = OutcomeFailed, err.Error()
				continue
			}
			wg.Go(func() {
				if err := c.describeTag(ctx, img, tag, r.repo(i)); err != nil {
					img.Outcome, img.Detail = OutcomeFailed, err.Error()
					mu.Lock()
					errs[i] = errors.Join(errs[i], err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return nil
	})
	rep.Images = images
	err := withCauses(incomplete(images), errs)
	// An image that fails the signature policy is a verification failure,
	// whatever else is missing.
	if verr := verificationError("verification failed", repoNames(r), errs); verr != nil && p.opts.signatures != nil && !isAccessError(verr) {
		err = verr
	}
	return rep, rep.finish(err)
}

// incomplete names every target tag of images that is not in place: missing,
// at a placeholder, or unreadable. It is nil when every tag is current.
func incomplete(images []Image) error {
	var lines []string
	for _, img := range images {
		if img.Outcome == OutcomeMissing || img.Outcome == OutcomeFailed {
			lines = append(lines, "  "+img.Target+": "+strings.ReplaceAll(img.Detail, "\n", "\n    "))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d of %d target tags are not in place:\n%s", ErrIncomplete, len(lines), len(images), strings.Join(lines, "\n"))
}

// describeTag fills img with what tag and its backup point at. A tag at a
// placeholder left by a failed run is shown as missing, and a backup at one
// as no backup. A signature may name c's repository or from, where the
// image was copied from.
func (c *repoClient) describeTag(ctx context.Context, img *Image, tag string, from name.Repository) error {
	var wg sync.WaitGroup
	var backupErr error
	var backupNote string
	var signatureErr error
	wg.Go(func() {
		d, found, err := c.Get(ctx, tag+BackupSuffix)
		switch {
		case err != nil:
			backupErr = fmt.Errorf("cannot read %s: %w", tag+BackupSuffix, err)
		case found && isPlaceholder(d):
			backupNote = tag + BackupSuffix + ": " + placeholderNote
		case found:
			img.PreviousDigest = d.Digest.String()
		}
	})
	defer wg.Wait()

	desc, found, err := c.Get(ctx, tag)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", tag, err)
	}
	switch {
	case !found:
		img.Outcome, img.Detail = OutcomeMissing, "the tag does not exist"
	case isPlaceholder(desc):
		img.Outcome, img.Detail = OutcomeMissing, placeholderNote
		img.Tags = []TagState{{Tag: img.Target, Digest: desc.Digest.String(), Note: placeholderNote}}
	default:
		signatures := c.checkSignatures(ctx, desc.Digest, SHA{}, from)
		// Who put the digest there, and when, is read alongside.
		var moved *Record
		var recordsErr error
		var records sync.WaitGroup
		records.Go(func() { moved, recordsErr = c.lastMove(ctx, tag, desc.Digest) })
		info, err := c.Inspect(ctx, desc, registry.InspectOptions{})
		sig, sigErr := signatures()
		records.Wait()
		if err != nil {
			return fmt.Errorf("cannot inspect %s: %w", tag, err)
		}
		img.describe(source{desc: desc, info: info, signature: sig}, SHA{})
		img.Outcome = OutcomeCurrent
		img.LastMove = moved
		if recordsErr != nil {
			img.Detail = joinDetail(img.Detail, recordsErr.Error())
		}
		if sigErr != nil {
			signatureErr = fmt.Errorf("%s at %s: %w", tag, desc.Digest, sigErr)
		}
	}
	wg.Wait()
	if backupNote != "" {
		img.Detail = strings.TrimPrefix(img.Detail+"; "+backupNote, "; ")
	}
	return errors.Join(signatureErr, backupErr)
}

// placeholderNote is how a tag at a placeholder is shown.
const placeholderNote = "placeholder (left by a failed run)"
