package copier

import v1 "github.com/google/go-containerregistry/pkg/v1"

// Summary is what a copy found the destination lacking and, after Run,
// what it copied.
type Summary struct {
	// Digest is the image's digest, the same at both ends.
	Digest v1.Hash
	// Manifests, Blobs and Bytes are what the destination lacked: the
	// manifests (of the image, its referrers and its classic tags), the
	// blobs and their size.
	Manifests, Blobs int
	Bytes            int64
	// Referrers are the digests of the image's OCI referrers, and
	// ClassicTags cosign's classic .sig and .att tags, that the copy
	// found; with held set, only those the destination holds.
	Referrers   []string
	ClassicTags []string
	// ManifestsCopied, BlobsCopied and BytesCopied are what was copied;
	// Mounted counts the blobs the registry mounted instead of receiving
	// their bytes.
	ManifestsCopied, BlobsCopied int
	BytesCopied                  int64
	Mounted                      int
}

// Summary sums up the copy. With held set, the referrers and classic tags
// listed are only those the destination holds, as after Run.
func (c *Copy) Summary(held bool) Summary {
	s := Summary{Digest: c.root.m.Digest, Manifests: c.manifests, Blobs: len(c.blobs)}
	for _, n := range c.referrers {
		if !held || n.present {
			s.Referrers = append(s.Referrers, n.m.Digest.String())
		}
	}
	for _, t := range c.tags {
		if !held || t.upToDate {
			s.ClassicTags = append(s.ClassicTags, t.tag)
		}
	}
	for _, b := range c.blobs {
		s.Bytes += b.desc.Size
		if b.done.Load() {
			s.BlobsCopied++
			s.BytesCopied += b.desc.Size
			if b.mounted.Load() {
				s.Mounted++
			}
		}
	}
	s.ManifestsCopied = int(c.manifestsDone.Load())
	return s
}

// Digest is the image's digest, the same at both ends.
func (c *Copy) Digest() v1.Hash { return c.root.m.Digest }

// lacks reports whether the destination lacked anything.
func (c *Copy) lacks() bool { return c.manifests > 0 || len(c.blobs) > 0 }
