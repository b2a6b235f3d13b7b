package registry

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/promote/internal/fanout"
)

// OCI annotation and label keys read from images.
const (
	// RevisionKey names the commit an image was built from.
	RevisionKey = "org.opencontainers.image.revision"
	// CreatedKey says when it was built.
	CreatedKey = "org.opencontainers.image.created"
)

// Info is what a manifest says of its image.
type Info struct {
	Platforms []v1.Platform
	Revision  string
	Created   string
	// Children holds, for an index read with every child, each image
	// child's own revision label (empty when it has none), whether or not
	// the index gives the child a platform.
	Children []ChildRevision
}

// ChildRevision is the revision label of one child of an index.
type ChildRevision struct {
	// Name is the child's platform, or its digest when it has none.
	Name     string
	Revision string
}

// InspectOptions say how much of an index [Client.Inspect] reads.
type InspectOptions struct {
	// AllChildren reads every image child's manifest and config, with a
	// platform or without, so that every child's revision can be checked.
	// Otherwise only the child of the first required platform, or the
	// first child, is read, and only when the index's annotations do not
	// already give the revision and creation time.
	AllChildren bool
	// Required are the platforms the run requires.
	Required []v1.Platform
}

// Inspect reads platforms, revision and creation time of desc, from its
// manifest and image configs: for an image, its config; for an index, the
// children that opts select, a few at a time (one more round trip than an
// image). An index that lists more than [fanout.MaxIndexChildren]
// manifests is refused before any child is read.
func (c *Client) Inspect(ctx context.Context, desc *remote.Descriptor, opts InspectOptions) (Info, error) {
	var info Info
	switch {
	case desc.MediaType.IsIndex():
		idx, err := ParseIndex(desc.Manifest)
		if err != nil {
			return info, err
		}
		info.Revision = idx.Annotations[RevisionKey]
		info.Created = idx.Annotations[CreatedKey]
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
			info.Platforms = append(info.Platforms, *m.Platform)
			children = append(children, m)
			if chosen == nil || (len(opts.Required) > 0 && PlatformMatches(opts.Required[0], *m.Platform)) {
				chosen = &idx.Manifests[i]
			}
		}
		if opts.AllChildren {
			children = append(children, unplaced...)
		} else {
			if chosen == nil || (info.Revision != "" && info.Created != "") {
				return info, nil
			}
			children = []v1.Descriptor{*chosen}
		}
		if len(children) == 0 {
			return info, nil
		}
		configs := make([]*v1.ConfigFile, len(children))
		errs := make([]error, len(children))
		_ = fanout.ForEach(ctx, len(children), fanout.IndexChildReads, func(ctx context.Context, i int) error {
			child := children[i]
			childDesc, err := c.GetDigest(ctx, child.Digest)
			if err != nil {
				errs[i] = fmt.Errorf("reading %s manifest %s: %w", childName(child), child.Digest, c.Explain(err))
				return nil
			}
			configs[i], errs[i] = configOf(childDesc)
			return nil
		})
		if err := fanout.JoinUnique(errs...); err != nil {
			return info, err
		}
		if opts.AllChildren {
			for i, cf := range configs {
				info.Children = append(info.Children, ChildRevision{Name: childName(children[i]), Revision: cf.Config.Labels[RevisionKey]})
			}
		}
		fillFromConfig(&info, configs[0])
		return info, nil
	case desc.MediaType.IsImage():
		m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return info, fmt.Errorf("parsing manifest: %w", err)
		}
		info.Revision = m.Annotations[RevisionKey]
		info.Created = m.Annotations[CreatedKey]
		cf, err := configOf(desc)
		if err != nil {
			return info, err
		}
		if cf.OS != "" {
			info.Platforms = []v1.Platform{{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}}
		}
		fillFromConfig(&info, cf)
		return info, nil
	default:
		return info, fmt.Errorf("unsupported manifest media type %q", desc.MediaType)
	}
}

// ErrIndexTooWide says that an index lists more manifests than are read of
// one index.
var ErrIndexTooWide = fmt.Errorf("the index lists more than %d manifests, the most that are read of one index", fanout.MaxIndexChildren)

// ParseIndex parses an index manifest, and refuses one that lists more
// than [fanout.MaxIndexChildren] manifests before any of them is read.
func ParseIndex(raw []byte) (*v1.IndexManifest, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing index: %w", err)
	}
	if n := len(idx.Manifests); n > fanout.MaxIndexChildren {
		return nil, fmt.Errorf("%w (it lists %d)", ErrIndexTooWide, n)
	}
	return idx, nil
}

// childName names a child of an index: its platform, or else its digest.
func childName(d v1.Descriptor) string {
	if d.Platform == nil {
		return "platform-less child " + ShortDigest(d.Digest.String())
	}
	return PlatformString(*d.Platform)
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
func fillFromConfig(info *Info, cf *v1.ConfigFile) {
	if info.Revision == "" {
		info.Revision = cf.Config.Labels[RevisionKey]
	}
	if info.Created == "" {
		info.Created = cf.Config.Labels[CreatedKey]
	}
	if info.Created == "" && !cf.Created.IsZero() {
		info.Created = cf.Created.UTC().Format(time.RFC3339)
	}
}

// PlatformMatches reports whether have satisfies want; an empty variant in
// want accepts any variant.
func PlatformMatches(want, have v1.Platform) bool {
	return want.OS == have.OS && want.Architecture == have.Architecture &&
		(want.Variant == "" || want.Variant == have.Variant)
}

// PlatformString names p as os/arch[/variant].
func PlatformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// PlatformStrings names each of ps.
func PlatformStrings(ps []v1.Platform) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = PlatformString(p)
	}
	return out
}

// ShortDigest keeps a digest's algorithm and 12 hex characters.
func ShortDigest(d string) string {
	if alg, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return d
}
