package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/molecule-ai/promote/promote"
)

// Report is the outcome of one operation.
type Report struct {
	// Operation: verify, promote, rollback or status.
	Action string
	// Commit sha, lower-cased; empty for status and for a rollback to the backups.
	Sha string
	// Whether nothing was written on purpose.
	DryRun bool
	// ok, failed, mixed, incomplete or unrecorded (every tag moved, but a promotion record is missing).
	Result string
	// Whether registries were reached over plain HTTP, or TLS without verifying their certificates.
	Insecure bool
	// One entry per image and target tag.
	Images []*ReportImage
	// Whether signatures were checked: "checked", or "not checked" when no signature policy was set.
	Signatures string
	// The signature policy every image was checked against; empty when none was set.
	SignaturePolicy string
	// Whether signatures were accepted without a transparency-log entry.
	InsecureIgnoreTlog bool
	// One entry per image copied to another repository before its tags moved.
	Copies []*ReportCopy

	// +private
	JSONText string
	// +private
	MarkdownText string
}

// ReportImage is what happened to one image.
type ReportImage struct {
	// Repository name, such as ghcr.io/molecule-ai/platform.
	Repository string
	// Reference promoted from, such as ghcr.io/molecule-ai/platform:staging-abc1234.
	Source string
	// Reference moved, such as ghcr.io/molecule-ai/platform:latest.
	Target string
	// Pinned digest (verify, promote, rollback) or current digest (status).
	Digest string
	// Digest the target had before; for status, the digest of its -previous backup.
	PreviousDigest string
	// Outcome: verified, changed, unchanged, would-change, restored, failed, current or missing.
	Outcome string
	// Why it failed or what was restored.
	Detail string
	// The image's org.opencontainers.image.revision, if any.
	Revision string
	// Platforms of the image, where read.
	Platforms []string
	// Who signed the image: the certificate identity, or "key sha256:..."; empty without a signature policy.
	SignedBy string
	// OIDC issuer of the signing certificate.
	SignatureIssuer string
	// Source commit named in the signing certificate, if any.
	SignatureCommit string
	// Where the signature was found: referrers, cosign-sig-tag or cosign-att-tag, and the reference.
	SignatureFoundIn string
	// Whether a transparency-log entry of the signature was verified.
	TransparencyLog bool
	// Source commit of the verified SLSA provenance, when it was required.
	ProvenanceCommit string
	// Fingerprint of the public key that signed, as sha256:...; empty for a keyless signature.
	SignatureKey string
	// Where the provenance attestation was found, as in signatureFoundIn.
	ProvenanceFoundIn string
	// Manifest media type of the digest.
	MediaType string
	// The image's creation time (RFC 3339), if known.
	Created string
	// Every tag this entry wrote, as read back from the registry at the end of the operation.
	Tags []*ReportTag
	// Whether the promotion record of this move was written and read back (promote, rollback).
	Recorded bool
	// Why the move, which stands, has no promotion record.
	RecordError string
	// Who put the digest on the tag, as its promotion record says (status); empty when no record says.
	MovedBy string
	// When it was put there, RFC 3339 in UTC (status).
	MovedAt string
	// URL of the run that put it there (status).
	MovedIn string
	// promote or rollback: how it was put there (status).
	MovedAction string
}

// ReportTag is where a tag was found when read back.
type ReportTag struct {
	// Full reference, such as ghcr.io/molecule-ai/platform:latest.
	Tag string
	// What the tag points at; empty when it does not exist or could not be read (see unknown).
	Digest string
	// Whether the tag could not be read back, so that an empty digest says nothing about whether it exists.
	Unknown bool
	// Revision of the image at the digest, when another run put it there and it names one.
	Revision string
	// Where the tag is after a failure: put back, as before, moved by another run, or why it is not where it should be.
	Note string
}

// ReportCopy is the copy of one image to its destination repository.
type ReportCopy struct {
	// Pinned source, such as ghcr.io/acme/staging/api@sha256:….
	Source string
	// The same digest in the destination repository.
	Destination string
	// copied, present, would-copy or failed.
	Outcome string
	// Manifests the destination lacked (copied, or would be in a dry run).
	Manifests int
	// Blobs the destination lacked.
	Blobs int
	// Their size in bytes.
	Bytes int
	// Manifests copied: all of manifests, unless the copy failed.
	ManifestsCopied int
	// Blobs copied: all of blobs, unless the copy failed.
	BlobsCopied int
	// Bytes copied: all of bytes, unless the copy failed.
	BytesCopied int
	// Blobs the registry mounted from the source repository instead of receiving their bytes.
	Mounted int
	// Digests of the OCI referrers (signatures, attestations, SBOMs) carried along.
	Referrers []string
	// Cosign's classic .sig and .att tags carried along.
	SignatureTags []string
	// Why the copy failed.
	Detail string
}

// The report as JSON, with the field names documented in the CLI reference (docs/cli.md)
func (r *Report) Json() string {
	// Spelled Json, not JSON: the engine would name JSON() "jSON".
	return r.JSONText
}

// The report as Markdown, for a GitHub step summary
func (r *Report) Summary() string { return r.MarkdownText }

// newReport converts the core report of operation action. A failed
// operation fails the function (Dagger then drops its result), so its
// error carries what the report says: see [failure].
func newReport(action string, rep *promote.Report, err error) (*Report, error) {
	if err != nil {
		return nil, failure(action, rep, err)
	}
	js, err := rep.JSON()
	if err != nil {
		return nil, err
	}
	out := &Report{
		Action:       rep.Action,
		Sha:          rep.SHA,
		DryRun:       rep.DryRun,
		Result:       string(rep.Result),
		JSONText:     string(js),
		MarkdownText: rep.Markdown(),

		Signatures:         rep.Signatures,
		SignaturePolicy:    rep.SignaturePolicy,
		InsecureIgnoreTlog: rep.InsecureIgnoreTlog,
		Insecure:           rep.Insecure,
	}
	for _, img := range rep.Images {
		out.Images = append(out.Images, newReportImage(img))
	}
	for _, cp := range rep.Copies {
		out.Copies = append(out.Copies, &ReportCopy{
			Source:          cp.Source,
			Destination:     cp.Destination,
			Outcome:         string(cp.Outcome),
			Manifests:       cp.Manifests,
			Blobs:           cp.Blobs,
			Bytes:           int(cp.Bytes),
			ManifestsCopied: cp.ManifestsCopied,
			BlobsCopied:     cp.BlobsCopied,
			BytesCopied:     int(cp.BytesCopied),
			Mounted:         cp.Mounted,
			Referrers:       cp.Referrers,
			SignatureTags:   cp.SignatureTags,
			Detail:          cp.Detail,
		})
	}
	return out, nil
}

// newReportImage converts one entry of a core report.
func newReportImage(img promote.Image) *ReportImage {
	ri := &ReportImage{
		Repository:     img.Repository,
		Source:         img.Source,
		Target:         img.Target,
		Digest:         img.Digest,
		PreviousDigest: img.PreviousDigest,
		MediaType:      img.MediaType,
		Outcome:        string(img.Outcome),
		Detail:         img.Detail,
		Revision:       img.Revision,
		Created:        img.Created,
		Platforms:      img.Platforms,
	}
	if s := img.Signature; s != nil {
		ri.SignedBy, ri.SignatureIssuer, ri.SignatureCommit, ri.SignatureKey = s.Identity, s.Issuer, s.Commit, s.Key
		if s.Identity == "" {
			ri.SignedBy = "key " + s.Key
		}
		ri.SignatureFoundIn, ri.TransparencyLog = s.FoundIn, s.TransparencyLog
		if s.Provenance != nil {
			ri.ProvenanceCommit, ri.ProvenanceFoundIn = s.Provenance.Commit, s.Provenance.FoundIn
		}
	}
	ri.Recorded, ri.RecordError = img.Recorded, img.RecordError
	if mv := img.LastMove; mv != nil {
		ri.MovedBy, ri.MovedAt, ri.MovedIn, ri.MovedAction = mv.Actor, mv.Time, mv.Run, mv.Action
	}
	for _, t := range img.Tags {
		ri.Tags = append(ri.Tags, &ReportTag{Tag: t.Tag, Digest: t.Digest, Unknown: t.Unknown, Revision: t.Revision, Note: t.Note})
	}
	return ri
}

// failureTableHeader starts the per-image table of a failed operation's
// error, for the person reading it.
const failureTableHeader = "tag | outcome | digest | detail"

// reportLinePrefix starts the last line of a failed operation's error,
// which holds its report as one line of JSON: what programs read, such
// as the GitHub Action (see .github/scripts/dagger-report.sh).
const reportLinePrefix = "report: "

// failure is the error of operation action (empty when the call failed
// before naming one) that failed with report rep. Dagger drops a failed
// function's result, so the error carries the outcome: err's message,
// then a line "result: failed" (the registry is as before), "result:
// mixed" (it is not), "result: incomplete" (status found a target tag not
// in place), "result: unrecorded" (every tag moved, but a promotion record
// is missing) or "result: invalid" (err wraps [promote.ErrInvalidInput]: no
// request was made), then a table with one line per image and target tag,
// and last the line "report: " followed by the report as one line of
// JSON, with the fields of the json function. It wraps err. An error with
// neither a report nor an invalid input, such as a secret that could not
// be read, is err itself.
func failure(action string, rep *promote.Report, err error) error {
	switch {
	case rep != nil && (rep.Result == promote.ResultFailed || rep.Result == promote.ResultMixed || rep.Result == promote.ResultIncomplete || rep.Result == promote.ResultUnrecorded):
	case errors.Is(err, promote.ErrInvalidInput):
		rep = &promote.Report{Action: action, Result: promote.ResultInvalid, Images: []promote.Image{}}
	default:
		return err
	}
	if rep.Error == "" {
		withError := *rep
		withError.Error = err.Error()
		rep = &withError
	}
	js, jerr := json.Marshal(rep)
	if jerr != nil {
		return fmt.Errorf("%w\n\nresult: %s", err, rep.Result)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "result: %s", rep.Result)
	if len(rep.Images) > 0 {
		b.WriteString("\n" + failureTableHeader)
	}
	for _, img := range rep.Images {
		fmt.Fprintf(&b, "\n%s | %s | %s | %s", img.Reference(), img.Outcome, orDash(img.Digest), orDash(oneLine(img.Detail)))
	}
	// json.Marshal escapes every newline and control character, so the
	// report stays one line whatever the registry said.
	fmt.Fprintf(&b, "\n\n%s%s", reportLinePrefix, js)
	return fmt.Errorf("%w\n\n%s", err, b.String())
}

// oneLine joins the lines of s with "; ", so that a table row stays one
// line.
func oneLine(s string) string {
	var parts []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// History is how every target tag got where it is, from its promotion records.
type History struct {
	// ok, or failed when a tag's history could not be read.
	Result string
	// The most moves read per tag.
	Limit int
	// One entry per image and target tag.
	Tags []*HistoryTag

	// +private
	JSONText string
	// +private
	MarkdownText string
}

// HistoryTag is the history of one target tag, newest first.
type HistoryTag struct {
	// Repository name, such as ghcr.io/molecule-ai/platform.
	Repository string
	// The tag, such as ghcr.io/molecule-ai/platform:latest.
	Target string
	// Where it points now; empty when it does not exist.
	Digest string
	// The digests it held, newest first, and the moves that put them there.
	Entries []*HistoryEntry
	// Whether more history may be read with a larger limit.
	Truncated bool
	// Why its history could not be read, or not to its end.
	Error string
}

// HistoryEntry is one digest a tag held, and the record of the move that put it there.
type HistoryEntry struct {
	// move (a record explains it); foreign (no record: another tool moved the tag); missing (its record is lost); or cycle. Every kind but move ends the known history.
	Kind string
	// promote or rollback, for a move.
	Action string
	// Commit sha the record names.
	Sha string
	// Digest the tag held.
	Digest string
	// Digest the move replaced; empty when it created the tag.
	PreviousDigest string
	// When the move was made, RFC 3339 in UTC.
	Time string
	// Who made the move.
	Actor string
	// URL of the run that made it.
	Run string
	// The promote version that wrote the record.
	Version string
	// Whether the move promoted a rolled-back digest on purpose.
	AllowRolledBack bool
}

// The history as JSON, with the field names documented in docs/records.md
func (h *History) Json() string { return h.JSONText }

// The history as Markdown, for a GitHub step summary
func (h *History) Summary() string { return h.MarkdownText }

// newHistory converts a core history. A history that could not be read
// fails the function, with what was read in its error.
func newHistory(h *promote.HistoryReport, err error) (*History, error) {
	if err != nil {
		if h != nil {
			return nil, fmt.Errorf("%w\n\n%s", err, h.Text())
		}
		return nil, err
	}
	js, err := h.JSON()
	if err != nil {
		return nil, err
	}
	out := &History{Result: string(h.Result), Limit: h.Limit, JSONText: string(js), MarkdownText: h.Markdown()}
	for _, th := range h.Tags {
		t := &HistoryTag{Repository: th.Repository, Target: th.Target, Digest: th.Digest, Truncated: th.Truncated, Error: th.Error}
		for _, e := range th.Entries {
			t.Entries = append(t.Entries, &HistoryEntry{
				Kind: e.Kind, Action: e.Action, Sha: e.SHA, Digest: e.Digest, PreviousDigest: e.PreviousDigest,
				Time: e.Time, Actor: e.Actor, Run: e.Run, Version: e.Version, AllowRolledBack: e.AllowRolledBack,
			})
		}
		out.Tags = append(out.Tags, t)
	}
	return out, nil
}
