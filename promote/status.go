package promote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Status reads what every target tag of every repository points at: its
// digest, revision and creation time, and the digest of its backup tag. A
// missing target tag is reported, not an error; an unreadable one fails
// with an error wrapping [ErrVerification].
func (p *Promoter) Status(ctx context.Context) (*Report, error) {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	rep := &Report{Action: "status"}
	p.opts.signatures.describe(rep)
	r := p.connect(ctx, access{})
	n, targets := len(r.clients), p.plan.targets
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
				if err := c.describeTag(ctx, img, tag); err != nil {
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
	heading := "cannot read the registry"
	if p.opts.signatures != nil {
		heading = "verification failed"
	}
	return rep, rep.finish(verificationError(heading, repoNames(r), errs))
}

// describeTag fills img with what tag and its backup point at. A tag at a
// placeholder left by a failed run is shown as missing, and a backup at one
// as no backup.
func (c *repoClient) describeTag(ctx context.Context, img *Image, tag string) error {
	var wg sync.WaitGroup
	var backupErr error
	var backupNote string
	var signatureErr error
	wg.Go(func() {
		d, found, err := c.get(ctx, tag+BackupSuffix)
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

	desc, found, err := c.get(ctx, tag)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", tag, err)
	}
	switch {
	case !found:
		img.Outcome = OutcomeMissing
	case isPlaceholder(desc):
		img.Outcome, img.Detail = OutcomeMissing, placeholderNote
		img.Tags = []TagState{{Tag: img.Target, Digest: desc.Digest.String(), Note: placeholderNote}}
	default:
		signatures := c.checkSignatures(ctx, desc.Digest, SHA{})
		info, err := c.inspect(ctx, desc, true, false, nil)
		sig, sigErr := signatures()
		if err != nil {
			return fmt.Errorf("cannot inspect %s: %w", tag, err)
		}
		img.describe(source{desc: desc, info: info, signature: sig}, SHA{})
		img.Outcome = OutcomeCurrent
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
