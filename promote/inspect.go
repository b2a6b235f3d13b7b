package promote

import (
	"bytes"
	"context"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// OCI annotation and label keys read from images.
const (
	revisionKey = "org.opencontainers.image.revision"
	createdKey  = "org.opencontainers.image.created"
)

// imageInfo is what verification and status learn about one manifest.
type imageInfo struct {
	platforms []v1.Platform
	revision  string
	created   string
	// children holds, for an index read with every child, each image
	// child's own revision label (empty when it has none), whether or not
	// the index gives the child a platform.
	children []childRevision
}

// childRevision is the revision label of one child of an index.
type childRevision struct {
	// name is the child's platform, or its digest when it has none.
	name     string
	revision string
}

// inspectOptions say how much of an index inspect reads.
type inspectOptions struct {
	// allChildren reads every image child's manifest and config, with a
	// platform or without, so that every child's revision can be checked.
	// Otherwise only the child of the first required platform, or the
	// first child, is read, and only when the index's annotations do not
	// already give the revision and creation time.
	allChildren bool
	// required are the platforms the run requires.
	required []v1.Platform
}

// inspect reads platforms, revision and creation time of desc, from its
// manifest and image configs: for an image, its config; for an index, the
// children that opts select, a few at a time (one more round trip than an
// image). An index that lists more than maxIndexChildren manifests is
// refused before any child is read.
func (c *repoClient) inspect(ctx context.Context, desc *remote.Descriptor, opts inspectOptions) (imageInfo, error) {
	var info imageInfo
	switch {
	case desc.MediaType.IsIndex():
		idx, err := parseIndex(desc.Manifest)
		if err != nil {
			return info, err
		}
		info.revision = idx.Annotations[revisionKey]
		info.created = idx.Annotations[createdKey]
		var children, unplaced []v1.Descriptor
		var chosen *v1.Descriptor
		for i, m := range idx.Manifests {
			if m.Platform == nil {
				// An image without a platform field can still carry a
				// revision; anything else is no image of this commit.
				if m.MediaType.IsImage() {
					unplaced = append(unplaced, m)
				}
				continue
			}
			if m.Platform.OS == "unknown" {
				continue // attestations and other non-images
			}
			info.platforms = append(info.platforms, *m.Platform)
			children = append(children, m)
			if chosen == nil || (len(opts.required) > 0 && platformMatches(opts.required[0], *m.Platform)) {
				chosen = &idx.Manifests[i]
			}
		}
		if opts.allChildren {
			children = append(children, unplaced...)
		} else {
			if chosen == nil || (info.revision != "" && info.created != "") {
				return info, nil
			}
			children = []v1.Descriptor{*chosen}
		}
		if len(children) == 0 {
			return info, nil
		}
		configs := make([]*v1.ConfigFile, len(children))
		errs := make([]error, len(children))
		_ = forEach(ctx, len(children), indexChildReads, func(ctx context.Context, i int) error {
			child := children[i]
			childDesc, err := c.puller.Get(ctx, c.repo.Digest(child.Digest.String()))
			if err != nil {
				errs[i] = fmt.Errorf("reading %s manifest %s: %w", childName(child), child.Digest, c.explain(err))
				return nil
			}
			configs[i], errs[i] = configOf(childDesc)
			return nil
		})
		if err := joinUnique(errs...); err != nil {
			return info, err
		}
		if opts.allChildren {
			for i, cf := range configs {
				info.children = append(info.children, childRevision{name: childName(children[i]), revision: cf.Config.Labels[revisionKey]})
			}
		}
		fillFromConfig(&info, configs[0])
		return info, nil
	case desc.MediaType.IsImage():
		m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return info, fmt.Errorf("parsing manifest: %w", err)
		}
		info.revision = m.Annotations[revisionKey]
		info.created = m.Annotations[createdKey]
		cf, err := configOf(desc)
		if err != nil {
			return info, err
		}
		if cf.OS != "" {
			info.platforms = []v1.Platform{{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}}
		}
		fillFromConfig(&info, cf)
		return info, nil
	default:
		return info, fmt.Errorf("unsupported manifest media type %q", desc.MediaType)
	}
}

// errIndexTooWide says that an index lists more manifests than are read of
// one index.
var errIndexTooWide = fmt.Errorf("the index lists more than %d manifests, the most that are read of one index", maxIndexChildren)

// parseIndex parses an index manifest, and refuses one that lists more
// than maxIndexChildren manifests before any of them is read.
func parseIndex(raw []byte) (*v1.IndexManifest, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing index: %w", err)
	}
	if n := len(idx.Manifests); n > maxIndexChildren {
		return nil, fmt.Errorf("%w (it lists %d)", errIndexTooWide, n)
	}
	return idx, nil
}

// childName names a child of an index: its platform, or else its digest.
func childName(d v1.Descriptor) string {
	if d.Platform == nil {
		return "platform-less child " + shortDigest(d.Digest.String())
	}
	return platformString(*d.Platform)
}

func configOf(desc *remote.Descriptor) (*v1.ConfigFile, error) {
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("reading image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading image config: %w", err)
	}
	return cf, nil
}

// fillFromConfig fills what the manifest did not say from the image config.
func fillFromConfig(info *imageInfo, cf *v1.ConfigFile) {
	if info.revision == "" {
		info.revision = cf.Config.Labels[revisionKey]
	}
	if info.created == "" {
		info.created = cf.Config.Labels[createdKey]
	}
	if info.created == "" && !cf.Created.IsZero() {
		info.created = cf.Created.UTC().Format(time.RFC3339)
	}
}

// platformMatches reports whether have satisfies want; an empty variant in
// want accepts any variant.
func platformMatches(want, have v1.Platform) bool {
	return want.OS == have.OS && want.Architecture == have.Architecture &&
		(want.Variant == "" || want.Variant == have.Variant)
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func platformStrings(ps []v1.Platform) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = platformString(p)
	}
	return out
}
