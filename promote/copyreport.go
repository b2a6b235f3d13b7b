package promote

import (
	"fmt"
	"strings"

	"github.com/molecule-ai/promote/internal/safetext"
	"github.com/molecule-ai/promote/promote/internal/registry"
)

// CopyOutcome is what became of the copy of one image.
type CopyOutcome string

// The outcomes a [Copy] can have.
const (
	// CopyCopied: the destination now has the image, its referrers and
	// its classic signature tags.
	CopyCopied CopyOutcome = "copied"
	// CopyPresent: the destination had everything already.
	CopyPresent CopyOutcome = "present"
	// CopyWouldCopy: a dry run found what the destination lacks.
	CopyWouldCopy CopyOutcome = "would-copy"
	// CopyFailed: the copy failed; what it copied is counted, and no tag
	// points at it.
	CopyFailed CopyOutcome = "failed"
)

// Copy is the copy of one image to its destination repository, by digest.
type Copy struct {
	// Source is the pinned source, such as "ghcr.io/acme/staging/api@sha256:…".
	Source string `json:"source"`
	// Destination is the same digest in the destination repository.
	Destination string `json:"destination"`
	// Outcome is what became of the copy.
	Outcome CopyOutcome `json:"outcome"`
	// Manifests, Blobs and Bytes are what the destination lacked: the
	// manifests (of the image, its referrers and its classic tags), the
	// blobs and their size. A dry run reports them as what would be copied.
	Manifests int   `json:"manifests"`
	Blobs     int   `json:"blobs"`
	Bytes     int64 `json:"bytes"`
	// Referrers are the digests of the image's OCI referrers (signatures,
	// attestations, SBOMs) that the destination holds after the copy, a
	// failed one included, or would hold after a dry run's; SignatureTags
	// are cosign's classic .sig and .att tags likewise.
	Referrers     []string `json:"referrers,omitempty"`
	SignatureTags []string `json:"signatureTags,omitempty"`
	// ManifestsCopied, BlobsCopied and BytesCopied are what was copied:
	// all of the above, unless the copy failed.
	ManifestsCopied int   `json:"manifestsCopied"`
	BlobsCopied     int   `json:"blobsCopied"`
	BytesCopied     int64 `json:"bytesCopied"`
	// Mounted counts the blobs that the registry mounted from the source
	// repository instead of receiving their bytes.
	Mounted int `json:"mounted,omitempty"`
	// Detail says why the copy failed.
	Detail string `json:"detail,omitempty"`
}

// reportCopies records every planned copy in rep: after the copies when
// copied is set, otherwise (a dry run) as planned.
func (r *run) reportCopies(rep *Report, copied bool) {
	rep.Copies = nil
	for i, im := range r.images {
		c := im.copy
		if c == nil {
			continue
		}
		sum := c.Summary(copied)
		cp := Copy{
			Source:          r.repo(i).Digest(sum.Digest.String()).Name(),
			Destination:     r.destRepo(i).Digest(sum.Digest.String()).Name(),
			Manifests:       sum.Manifests,
			Blobs:           sum.Blobs,
			Bytes:           sum.Bytes,
			Referrers:       sum.Referrers,
			SignatureTags:   sum.ClassicTags,
			ManifestsCopied: sum.ManifestsCopied,
			BlobsCopied:     sum.BlobsCopied,
			BytesCopied:     sum.BytesCopied,
			Mounted:         sum.Mounted,
		}
		switch {
		case !copied && cp.Manifests == 0 && cp.Blobs == 0:
			cp.Outcome = CopyPresent
		case !copied:
			cp.Outcome = CopyWouldCopy
		case im.copyErr != nil:
			cp.Outcome, cp.Detail = CopyFailed, im.copyErr.Error()
		case cp.Manifests == 0 && cp.Blobs == 0:
			cp.Outcome = CopyPresent
		default:
			cp.Outcome = CopyCopied
		}
		rep.Copies = append(rep.Copies, cp)
	}
}

// summary is the human account of one copy, on one line.
func (cp Copy) summary() string {
	parts := []string{cp.counts()}
	if len(cp.SignatureTags) > 0 {
		parts = append(parts, cp.tags())
	}
	return strings.Join(parts, ", ")
}

// counts says what the copy lacked or copied, and how many referrers it
// carries.
func (cp Copy) counts() string {
	var parts []string
	switch cp.Outcome {
	case CopyWouldCopy, CopyPresent:
		parts = append(parts, fmt.Sprintf("%d manifests, %d blobs (%s) missing", cp.Manifests, cp.Blobs, FormatBytes(cp.Bytes)))
	default:
		blobs := fmt.Sprintf("%d of %d blobs (%s of %s", cp.BlobsCopied, cp.Blobs, FormatBytes(cp.BytesCopied), FormatBytes(cp.Bytes))
		if cp.Mounted > 0 {
			blobs += fmt.Sprintf(", %d mounted", cp.Mounted)
		}
		parts = append(parts, fmt.Sprintf("%d of %d manifests", cp.ManifestsCopied, cp.Manifests), blobs+") copied")
	}
	parts = append(parts, fmt.Sprintf("%d referrers", len(cp.Referrers)))
	return strings.Join(parts, ", ")
}

// tags names the classic signature tags, by their digest's prefix:
// "tags sha256-0123456789ab….sig, sha256-0123456789ab….att".
func (cp Copy) tags() string {
	short := make([]string, len(cp.SignatureTags))
	for k, tag := range cp.SignatureTags {
		short[k] = shortClassicTag(tag)
	}
	return "tags " + strings.Join(short, ", ")
}

// shortClassicTag cuts the digest in a classic tag such as
// "sha256-<hex>.sig" to its prefix.
func shortClassicTag(tag string) string {
	alg, rest, ok := strings.Cut(tag, "-")
	hex, suffix, _ := strings.Cut(rest, ".")
	if !ok || len(hex) <= 12 {
		return tag
	}
	if suffix != "" {
		suffix = "." + suffix
	}
	return alg + "-" + hex[:12] + "…" + suffix
}

// copiesText writes each copy as a few lines that fit a terminal: the
// source, by its digest's prefix, and the destination; what was copied;
// the classic tags; why it failed. The lines after the first are
// indented under it.
func (r *Report) copiesText(b *strings.Builder) {
	for _, cp := range r.Copies {
		source, digest, _ := strings.Cut(cp.Source, "@")
		fmt.Fprintf(b, "  %-12s %s@%s to %s\n", "copy "+string(cp.Outcome), source, registry.ShortDigest(digest), repositoryOf(cp.Destination))
		lines := []string{cp.counts()}
		if len(cp.SignatureTags) > 0 {
			lines = append(lines, cp.tags())
		}
		if cp.Detail != "" {
			lines = append(lines, strings.Split(strings.TrimRight(cp.Detail, "\n"), "\n")...)
		}
		for _, line := range lines {
			fmt.Fprintf(b, "  %-12s %s\n", "", line)
		}
	}
}

// copiesMarkdown writes a table of the copies.
func (r *Report) copiesMarkdown(b *strings.Builder) {
	if len(r.Copies) == 0 {
		return
	}
	b.WriteString("\nCopied by digest before any tag moved:\n\n| Source | Destination | Outcome | Copied | Detail |\n|---|---|---|---|---|\n")
	for _, cp := range r.Copies {
		fmt.Fprintf(b, "| `%s` | `%s` | %s | %s | %s |\n",
			cp.Source, repositoryOf(cp.Destination), cp.Outcome, safetext.TableCell(cp.summary()), safetext.TableCell(cp.Detail))
	}
}

// repositoryOf cuts the digest off a reference.
func repositoryOf(ref string) string {
	repo, _, _ := strings.Cut(ref, "@")
	return repo
}

// FormatBytes renders n in binary units, as a terminal shows sizes: "512 B",
// "3.0 MiB". The report and the CLI's progress use it alike.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
