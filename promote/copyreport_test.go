package promote_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/molecule-ai/promote/promote"
)

// TestCopyLinesFitATerminal renders copies with full digests and classic
// tags: each line fits in 100 columns, names the digests by their prefix,
// and the lines after a copy's first are indented under it.
func TestCopyLinesFitATerminal(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tag := "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	rep := promote.Report{Action: "promote", Result: promote.ResultFailed, Copies: []promote.Copy{{
		Source:      "ghcr.io/acme/staging/api@" + digest,
		Destination: "ghcr.io/acme/prod/api@" + digest,
		Outcome:     promote.CopyCopied,
		Manifests:   6, Blobs: 12, Bytes: 63 << 20, ManifestsCopied: 6, BlobsCopied: 12, BytesCopied: 63 << 20,
		Referrers:     []string{digest},
		SignatureTags: []string{tag + ".sig", tag + ".att"},
	}, {
		Source:      "ghcr.io/acme/staging/worker@" + digest,
		Destination: "ghcr.io/acme/prod/worker@" + digest,
		Outcome:     promote.CopyFailed,
		Manifests:   3, Blobs: 4, Bytes: 1536, BlobsCopied: 2, BytesCopied: 512,
		Detail: "copying blob sha256:0123456789ab: 429 Too Many Requests\ncopying blob sha256:abcdef012345: 429 Too Many Requests",
	}}}
	text := rep.Text()
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for _, line := range lines {
		if n := utf8.RuneCountInString(line); n > 100 {
			t.Errorf("line of %d columns:\n%s", n, line)
		}
	}
	for _, want := range []string{
		"  copy copied  ghcr.io/acme/staging/api@sha256:0123456789ab to ghcr.io/acme/prod/api\n" +
			"               6 of 6 manifests, 12 of 12 blobs (63.0 MiB of 63.0 MiB) copied, 1 referrers\n" +
			"               tags sha256-0123456789ab….sig, sha256-0123456789ab….att\n",
		"  copy failed  ghcr.io/acme/staging/worker@sha256:0123456789ab to ghcr.io/acme/prod/worker\n" +
			"               0 of 3 manifests, 2 of 4 blobs (512 B of 1.5 KiB) copied, 0 referrers\n" +
			"               copying blob sha256:0123456789ab: 429 Too Many Requests\n" +
			"               copying blob sha256:abcdef012345: 429 Too Many Requests\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks\n%s\nin\n%s", want, text)
		}
	}
	if md := rep.Markdown(); !strings.Contains(md, "tags sha256-0123456789ab….sig") {
		t.Errorf("the Markdown summary does not shorten the tags:\n%s", md)
	}
}
