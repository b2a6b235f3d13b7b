package promote

import (
	"encoding/json"
	"fmt"
	"html"
	"strings"

	"github.com/molecule-ai/promote/internal/safetext"
	"github.com/molecule-ai/promote/promote/internal/registry"
)

// Outcome is what happened to one image in an operation.
type Outcome string

// The outcomes an [Image] entry can have.
const (
	// OutcomeVerified: the source image exists and passed every check.
	OutcomeVerified Outcome = "verified"
	// OutcomeChanged: the target tag now points at the pinned digest.
	OutcomeChanged Outcome = "changed"
	// OutcomeUnchanged: the target tag already pointed at the pinned digest.
	OutcomeUnchanged Outcome = "unchanged"
	// OutcomeWouldChange: a dry run found the target tag would move.
	OutcomeWouldChange Outcome = "would-change"
	// OutcomeRestored: the operation failed and this image's tags are where
	// they were before it (put back, or never moved).
	OutcomeRestored Outcome = "restored"
	// OutcomeConflict: another promotion or rollback moved one of this
	// image's tags while the operation ran; the operation left that tag
	// alone (see Tags for where it is, and the other run's revision).
	OutcomeConflict Outcome = "conflict"
	// OutcomeFailed: this image failed a check, or its tags could not be put
	// back (see Tags for where they are).
	OutcomeFailed Outcome = "failed"
	// OutcomeCurrent: status found the target tag.
	OutcomeCurrent Outcome = "current"
	// OutcomeMissing: status found no target tag.
	OutcomeMissing Outcome = "missing"
)

// Result sums up an operation.
type Result string

// The results a [Report] can have.
const (
	// ResultOK: the operation did everything it set out to do.
	ResultOK Result = "ok"
	// ResultFailed: the operation failed and the registry is as before.
	ResultFailed Result = "failed"
	// ResultMixed: the operation failed and the registry is not as before:
	// some tags could not be put back, or another run moved them meanwhile.
	ResultMixed Result = "mixed"
	// ResultInvalid: the input was rejected before any request was made.
	ResultInvalid Result = "invalid"
	// ResultIncomplete: status found a target tag missing, at a
	// placeholder, or unreadable; each entry's Detail says which and why.
	ResultIncomplete Result = "incomplete"
	// ResultUnrecorded: every tag moved and was read back in place, but a
	// promotion record is missing (see [ErrUnrecorded]). The moves stand.
	ResultUnrecorded Result = "unrecorded"
)

// Report is the outcome of one operation, one entry per repository and
// target tag. Its JSON field names are stable.
type Report struct {
	// Action is "verify", "promote", "rollback" or "status".
	Action string `json:"action"`
	// SHA is the commit sha, lower-cased; empty for status and for a
	// rollback to the backup tags.
	SHA string `json:"sha,omitempty"`
	// DryRun is set when nothing was written on purpose.
	DryRun bool `json:"dryRun"`
	// Result sums up the operation.
	Result Result `json:"result"`
	// Error is the operation's error message, if it failed.
	Error string `json:"error,omitempty"`
	// Images has one entry per repository and target tag (one per
	// repository for verify).
	Images []Image `json:"images"`
	// Signatures is "checked" when a signature policy was set, and "not
	// checked" when none was: every report says which.
	Signatures string `json:"signatures"`
	// SignaturePolicy sums up the signature policy every image was checked
	// against; empty when none was set.
	SignaturePolicy string `json:"signaturePolicy,omitempty"`
	// InsecureIgnoreTlog is set when signatures were accepted without a
	// transparency-log entry.
	InsecureIgnoreTlog bool `json:"insecureIgnoreTlog,omitempty"`
	// Insecure is set when registries were reached over plain HTTP, or
	// over TLS without verifying their certificates (see [WithInsecure]).
	Insecure bool `json:"insecure,omitempty"`
	// Copies has one entry per image copied to another repository before
	// its tags moved (promote and rollback to a sha, with destinations).
	Copies []Copy `json:"copies,omitempty"`
}

// Image is one entry of a [Report].
type Image struct {
	// Repository is the repository name, e.g. "ghcr.io/molecule-ai/platform".
	Repository string `json:"repository"`
	// Source is the reference promoted from, e.g. "…/platform:staging-abc1234".
	Source string `json:"source,omitempty"`
	// Target is the reference moved, e.g. "…/platform:latest".
	Target string `json:"target,omitempty"`
	// Digest is the pinned digest (verify, promote, rollback) or the target's
	// current digest (status).
	Digest string `json:"digest,omitempty"`
	// PreviousDigest is the target's digest before the operation, or for
	// status the digest of the target's backup tag.
	PreviousDigest string `json:"previousDigest,omitempty"`
	// MediaType is the manifest media type of Digest.
	MediaType string `json:"mediaType,omitempty"`
	// Platforms lists the image's platforms, where they were read.
	Platforms []string `json:"platforms,omitempty"`
	// Revision is the image's org.opencontainers.image.revision, if any.
	Revision string `json:"revision,omitempty"`
	// Created is the image's creation time, if known.
	Created string `json:"created,omitempty"`
	// Outcome is what happened to this image.
	Outcome Outcome `json:"outcome"`
	// Detail explains a failure or a restore.
	Detail string `json:"detail,omitempty"`
	// Tags lists every tag this entry wrote, as read back from the registry
	// at the end of the operation.
	Tags []TagState `json:"tags,omitempty"`
	// Signature is what the signature policy verified of the image; nil
	// when no policy was set or the image failed.
	Signature *Signature `json:"signature,omitempty"`
	// Recorded is set when the promotion record of this entry's move was
	// written and read back (promote and rollback).
	Recorded bool `json:"recorded,omitempty"`
	// RecordError says why the move, which stands, has no record.
	RecordError string `json:"recordError,omitempty"`
	// LastMove is the record of the move that put Digest on the target tag
	// (status); nil when none was found.
	LastMove *Record `json:"lastMove,omitempty"`
}

// Signature is the verified signature of an image.
type Signature struct {
	// Identity is the signing certificate's identity (keyless), such as
	// the URI of the workflow that signed.
	Identity string `json:"identity,omitempty"`
	// Issuer is the OIDC issuer named in the certificate.
	Issuer string `json:"issuer,omitempty"`
	// Key is the SHA-256 fingerprint of the public key (key-based).
	Key string `json:"key,omitempty"`
	// Commit is the source commit named in the certificate, if any.
	Commit string `json:"commit,omitempty"`
	// FoundIn is where the signature was found: "referrers",
	// "cosign-sig-tag" or "cosign-att-tag", then the manifest's reference.
	FoundIn string `json:"foundIn"`
	// TransparencyLog is set when a transparency-log entry was verified.
	TransparencyLog bool `json:"transparencyLog"`
	// Provenance is the verified build provenance, when it was required.
	Provenance *Provenance `json:"provenance,omitempty"`
}

// Provenance is the verified SLSA provenance attestation of an image.
type Provenance struct {
	// Commit is the source commit the provenance names.
	Commit string `json:"commit"`
	// FoundIn is where the attestation was found, as in [Signature].
	FoundIn string `json:"foundIn"`
}

// TagState is where a tag was found when read back.
type TagState struct {
	// Tag is the full reference, e.g. "…/platform:latest".
	Tag string `json:"tag"`
	// Digest is what the tag points at; empty when it does not exist or
	// could not be read (see Unknown).
	Digest string `json:"digest,omitempty"`
	// Unknown is set when the tag could not be read back, so an empty
	// Digest says nothing about whether it exists.
	Unknown bool `json:"unknown,omitempty"`
	// Revision is the revision of the image at Digest when another run put
	// it there and its label or annotation names one.
	Revision string `json:"revision,omitempty"`
	// Note says where the tag is after a failure: "put back", "as before",
	// moved by another run, or why it is not where it should be.
	Note string `json:"note,omitempty"`
}

// where is the tag's digest, "(absent)" or "(unknown)".
func (t TagState) where() string {
	if t.Unknown {
		return "(unknown)"
	}
	return orAbsent(t.Digest)
}

// JSON renders the report as indented JSON.
func (r *Report) JSON() ([]byte, error) {
	return json.MarshalIndent(r, "", "  ")
}

// Text renders the report as one line per image, for a terminal.
func (r *Report) Text() string {
	var b strings.Builder
	title := r.Action
	if r.DryRun {
		title += " (dry run)"
	}
	if r.SHA != "" {
		title += " " + r.SHA
	}
	fmt.Fprintf(&b, "%s: %s\n", title, r.Result)
	if r.Insecure {
		fmt.Fprintf(&b, "  warning: %s\n", insecureWarning)
	}
	if r.SignaturePolicy != "" {
		fmt.Fprintf(&b, "  signatures: %s\n", r.SignaturePolicy)
	} else {
		fmt.Fprintf(&b, "  signatures: %s\n", signaturesNotChecked)
	}
	for _, img := range r.Images {
		fmt.Fprintf(&b, "  %-12s %s\n", img.Outcome, img.line())
		if img.Signature != nil {
			fmt.Fprintf(&b, "  %-12s %s\n", "", img.Signature.line())
		}
		if m := img.LastMove; m != nil {
			fmt.Fprintf(&b, "  %-12s %s\n", "", m.line())
		}
		if img.RecordError != "" {
			fmt.Fprintf(&b, "  %-12s warning: the move stands, but has no promotion record: %s\n", "", img.RecordError)
		}
		for _, t := range img.Tags {
			if t.Note != "" {
				fmt.Fprintf(&b, "  %-12s %s is at %s (%s)\n", "", t.Tag, t.where(), t.Note)
			}
		}
	}
	r.copiesText(&b)
	return safetext.Output(b.String())
}

// Reference is the reference an entry is shown under: its target, except
// for an entry that failed before its source image could be read, which
// is shown under its source, since that is what failed; else its source.
func (img Image) Reference() string {
	if img.Target == "" || (img.Outcome == OutcomeFailed && img.Digest == "" && img.Source != "") {
		return img.Source
	}
	return img.Target
}

// line is the human summary of one entry.
func (img Image) line() string {
	parts := []string{img.Reference()}
	switch {
	case img.Outcome == OutcomeFailed || img.Outcome == OutcomeRestored || img.Outcome == OutcomeConflict || img.Digest == "":
	case img.PreviousDigest != "" && img.Outcome == OutcomeCurrent:
		parts = append(parts, "at", registry.ShortDigest(img.Digest), "(previous "+registry.ShortDigest(img.PreviousDigest)+")")
	case img.PreviousDigest != "" && img.Outcome != OutcomeUnchanged:
		parts = append(parts, registry.ShortDigest(img.PreviousDigest), "->", registry.ShortDigest(img.Digest))
	case img.Target != "" && img.PreviousDigest == "" && img.Outcome != OutcomeCurrent && img.Outcome != OutcomeVerified:
		parts = append(parts, "(new) ->", registry.ShortDigest(img.Digest))
	default:
		parts = append(parts, "at", registry.ShortDigest(img.Digest))
	}
	if img.Source != "" && img.Target != "" && img.Outcome != OutcomeFailed && img.Outcome != OutcomeConflict {
		parts = append(parts, "from", img.Source)
	}
	if img.Revision != "" && img.Outcome != OutcomeFailed {
		parts = append(parts, "revision", img.Revision)
	}
	if img.Detail != "" {
		parts = append(parts, "-", img.Detail)
	}
	return strings.Join(parts, " ")
}

// Markdown renders the report as a GitHub step summary.
func (r *Report) Markdown() string {
	var b strings.Builder
	title := "promote " + r.Action
	if r.DryRun {
		title += " (dry run)"
	}
	fmt.Fprintf(&b, "### %s: %s\n\n", title, r.Result)
	if r.SHA != "" {
		fmt.Fprintf(&b, "Commit `%s`\n\n", r.SHA)
	}
	if r.Insecure {
		fmt.Fprintf(&b, "**Warning:** %s\n\n", insecureWarning)
	}
	if r.Error != "" {
		fmt.Fprintf(&b, "> %s\n\n", strings.ReplaceAll(html.EscapeString(r.Error), "\n", "\n> "))
	}
	b.WriteString("| Image | Outcome | Digest | Previous | Detail |\n|---|---|---|---|---|\n")
	for _, img := range r.Images {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n",
			img.Reference(), img.Outcome, codeOrDash(registry.ShortDigest(img.Digest)), codeOrDash(registry.ShortDigest(img.PreviousDigest)), safetext.TableCell(img.Detail))
	}
	if r.SignaturePolicy == "" {
		fmt.Fprintf(&b, "\nSignatures: %s\n", signaturesNotChecked)
	} else {
		fmt.Fprintf(&b, "\nSignatures checked: %s\n\n", safetext.TableCell(r.SignaturePolicy))
		b.WriteString("| Image | Signed by | Issuer | Found in | Transparency log | Provenance commit |\n|---|---|---|---|---|---|\n")
		for _, img := range r.Images {
			if s := img.Signature; s != nil {
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", img.ref(), safetext.TableCell(s.signer()), safetext.TableCell(orDash(s.Issuer)),
					safetext.TableCell(s.FoundIn), s.tlog(), codeOrDash(s.provenanceCommit()))
			}
		}
	}
	r.copiesMarkdown(&b)
	var moves, unrecorded []string
	for _, img := range r.Images {
		if m := img.LastMove; m != nil {
			moves = append(moves, fmt.Sprintf("| `%s` | %s | %s | %s | %s |", img.ref(), m.Action, m.Time, safetext.MarkdownCell(m.Actor), safetext.MarkdownCell(orDash(m.Run))))
		}
		if img.RecordError != "" {
			unrecorded = append(unrecorded, fmt.Sprintf("- `%s`: %s", img.ref(), safetext.MarkdownCell(img.RecordError)))
		}
	}
	if len(moves) > 0 {
		b.WriteString("\nWho put each digest there:\n\n| Image | Action | Time | Actor | Run |\n|---|---|---|---|---|\n" + strings.Join(moves, "\n") + "\n")
	}
	if len(unrecorded) > 0 {
		b.WriteString("\n**Warning:** these moves stand, but have no promotion record:\n\n" + strings.Join(unrecorded, "\n") + "\n")
	}
	var notes []string
	for _, img := range r.Images {
		for _, t := range img.Tags {
			if t.Note != "" {
				notes = append(notes, fmt.Sprintf("- `%s` is at %s: %s", t.Tag, t.where(), safetext.TableCell(t.Note)))
			}
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nWhere every tag written is now:\n\n" + strings.Join(notes, "\n") + "\n")
	}
	return b.String()
}

// insecureWarning is what a report says when its run was insecure.
const insecureWarning = "insecure: plain HTTP was allowed and TLS certificates were not verified, for every registry of this run"

func orAbsent(d string) string {
	if d == "" {
		return "(absent)"
	}
	return d
}

func codeOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return "`" + s + "`"
}

// ref is the reference an entry is about: its target, or else its source.
func (img Image) ref() string {
	if img.Target != "" {
		return img.Target
	}
	return img.Source
}

// line is the human summary of a verified signature.
func (s *Signature) line() string {
	parts := []string{"signed by " + s.signer()}
	if s.Issuer != "" {
		parts[0] += " (issuer " + s.Issuer + ")"
	}
	if s.Commit != "" {
		parts[0] += " at commit " + s.Commit
	}
	parts = append(parts, "found in "+s.FoundIn, "transparency log "+s.tlog())
	if p := s.Provenance; p != nil {
		parts = append(parts, "provenance at commit "+p.Commit+" found in "+p.FoundIn)
	}
	return strings.Join(parts, "; ")
}

// signer names who signed: the certificate identity, or the key.
func (s *Signature) signer() string {
	if s.Identity != "" {
		return s.Identity
	}
	return "key " + s.Key
}

func (s *Signature) tlog() string {
	if s.TransparencyLog {
		return "verified"
	}
	return "not checked (insecure)"
}

func (s *Signature) provenanceCommit() string {
	if s.Provenance == nil {
		return ""
	}
	return s.Provenance.Commit
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
