package record

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ArtifactType is the artifactType of a promotion record's manifest. List
// records with it, for example:
//
//	oras discover --artifact-type application/vnd.molecule-ai.promote.record.v1 REPO@DIGEST
const ArtifactType = "application/vnd.molecule-ai.promote.record.v1"

// Annotation keys of a record; see the package documentation.
const (
	annotationPrefix   = "io.github.molecule-ai.promote."
	keyAction          = annotationPrefix + "action"
	keyTag             = annotationPrefix + "tag"
	keyDigest          = annotationPrefix + "digest"
	keyPreviousDigest  = annotationPrefix + "previous-digest"
	keySHA             = annotationPrefix + "sha"
	keyActor           = annotationPrefix + "actor"
	keyRun             = annotationPrefix + "run"
	keyVersion         = annotationPrefix + "version"
	keyAllowRolledBack = annotationPrefix + "allow-rolled-back"
	keyCreated         = "org.opencontainers.image.created"
)

// Bounds on what a record may hold. A record read back that exceeds one is
// rejected.
const (
	// maxAnnotations bounds the annotations of one listing entry, ours and
	// any others.
	maxAnnotations = 64
	// maxAnnotationBytes bounds the keys and values of one entry's
	// annotations, added up.
	maxAnnotationBytes = 16 << 10
	// maxTagLen: a repository path of up to 255 characters, a colon, and a
	// tag of up to 128.
	maxTagLen     = 255 + 1 + 128
	maxActorLen   = 256
	maxRunLen     = 2048
	maxVersionLen = 128
	maxTimeLen    = 64
)

// timeFormat is how a record's time is written: RFC 3339 in UTC, to the
// millisecond, so that records of moves made in the same second still order.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// Action says what a record records.
type Action string

// The actions a record can carry.
const (
	// ActionPromote: promote moved the tag to Digest.
	ActionPromote Action = "promote"
	// ActionRollback: a rollback moved the tag back to Digest.
	ActionRollback Action = "rollback"
	// ActionRolledBack marks PreviousDigest, which a rollback moved the tag
	// away from.
	ActionRolledBack Action = "rolled-back"
)

// moved reports whether the action put Digest on the tag.
func (a Action) moved() bool { return a == ActionPromote || a == ActionRollback }

// Record is one tag move, as promote writes it and reads it back.
type Record struct {
	// ID is the digest of the record's own manifest. List sets it; a Batch
	// ignores it.
	ID v1.Hash
	// Action is what happened.
	Action Action
	// Tag is the target tag: the repository path, without the registry
	// host, a colon and the tag, such as "molecule-ai/platform:latest" (see
	// [TargetTag]).
	Tag string
	// Digest is the digest the tag moved to.
	Digest v1.Hash
	// PreviousDigest is the digest the tag moved from; zero when the move
	// created the tag.
	PreviousDigest v1.Hash
	// SHA is the git commit of the image, lower-case hex; empty when not
	// known.
	SHA string
	// Time is when the move was made, in UTC: promote sets it as its
	// writes begin, since the record is staged before they are confirmed.
	Time time.Time
	// Actor is who made the move: a CI login or a user name.
	Actor string
	// Run is the URL of the run that made the move; empty when not known.
	Run string
	// Version is the promote version that wrote the record.
	Version string
	// AllowRolledBack says that the move was allowed to promote a digest
	// that had been rolled back.
	AllowRolledBack bool
}

// TargetTag returns how a record names tag: its repository path, without the
// registry host, a colon and the tag.
func TargetTag(tag name.Tag) string {
	return tag.RepositoryStr() + ":" + tag.TagStr()
}

// Subject returns the digest the record is attached to: Digest for a move,
// PreviousDigest for a rolled-back mark.
func (r Record) Subject() v1.Hash {
	if r.Action == ActionRolledBack {
		return r.PreviousDigest
	}
	return r.Digest
}

var (
	shaPattern = regexp.MustCompile(`^[0-9a-f]{7,64}$`)
	hexPattern = regexp.MustCompile(`^[0-9a-f]+$`)
)

// Validate checks that the record can be written to, or was read from,
// repository path repo (as name.Repository.RepositoryStr gives it). The
// error names the first field at fault.
func (r Record) Validate(repo string) error {
	switch r.Action {
	case ActionPromote, ActionRollback, ActionRolledBack:
	default:
		return fieldError("action", string(r.Action), `must be "promote", "rollback" or "rolled-back"`)
	}
	if err := validateTag(r.Tag, repo); err != nil {
		return err
	}
	if err := validateDigest("digest", r.Digest); err != nil {
		return err
	}
	if r.PreviousDigest != (v1.Hash{}) {
		if err := validateDigest("previous digest", r.PreviousDigest); err != nil {
			return err
		}
		if r.PreviousDigest == r.Digest {
			return fieldError("previous digest", r.PreviousDigest.String(), "is the digest the tag moved to: a record is of a move")
		}
	} else if r.Action == ActionRolledBack {
		return fieldError("previous digest", "", "is required on a rolled-back mark: it is the digest the rollback moved away from")
	}
	if r.SHA != "" && !shaPattern.MatchString(r.SHA) {
		return fieldError("sha", r.SHA, "must be 7 to 64 lower-case hexadecimal characters")
	}
	if r.Time.IsZero() {
		return fieldError("time", "", "is required")
	}
	if y := r.Time.UTC().Year(); y < 2000 || y > 9999 {
		return fieldError("time", r.Time.UTC().Format(time.RFC3339), "must fall between the years 2000 and 9999")
	}
	if err := validateText("actor", r.Actor, maxActorLen, true); err != nil {
		return err
	}
	if err := validateRun(r.Run); err != nil {
		return err
	}
	return validateText("version", r.Version, maxVersionLen, true)
}

// ValidateActor checks an actor as a record carries it: printable UTF-8,
// not empty, at most 256 bytes. A caller checks its input with it before
// any request.
func ValidateActor(actor string) error {
	return validateText("actor", actor, maxActorLen, true)
}

// ValidateRun checks a run URL as a record carries it: empty, or an http or
// https URL with no user information, query or fragment. Its error never
// repeats the URL.
func ValidateRun(run string) error { return validateRun(run) }

// validateTag checks that tag is "path:tag" with path equal to repo.
func validateTag(tag, repo string) error {
	if err := validateText("tag", tag, maxTagLen, true); err != nil {
		return err
	}
	path, _, ok := strings.Cut(tag, ":")
	if !ok {
		return fieldError("tag", tag, `must be "repository:tag"`)
	}
	// A placeholder host lets go-containerregistry check the path and tag.
	if _, err := name.NewTag("registry.invalid/"+tag, name.StrictValidation); err != nil {
		return fieldError("tag", tag, fmt.Sprintf("is not a valid repository:tag: %v", err))
	}
	if path != repo {
		return fieldError("tag", tag, fmt.Sprintf("is a tag of repository %q, not of %q", path, repo))
	}
	return nil
}

// validateDigest checks that h is a sha256 or sha512 digest with the hex
// length its algorithm gives.
func validateDigest(field string, h v1.Hash) error {
	want := map[string]int{"sha256": 64, "sha512": 128}[h.Algorithm]
	if want == 0 || len(h.Hex) != want || !hexPattern.MatchString(h.Hex) {
		return fieldError(field, h.String(), "must be a sha256 or sha512 digest")
	}
	return nil
}

// validateRun checks that run is empty or an absolute http(s) URL with no
// user information, query or fragment, where a token could hide. Errors do
// not echo the value, for the same reason.
func validateRun(run string) error {
	if run == "" {
		return nil
	}
	if err := validateText("run", run, maxRunLen, false); err != nil {
		return err
	}
	u, err := url.Parse(run)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return fieldError("run", "", "must be an http or https URL")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return fieldError("run", "", "must carry no user information, query or fragment: a record is public to anyone who can pull")
	}
	return nil
}

// validateText checks that s is valid UTF-8 of printable characters, no
// longer than max bytes, and not empty when required.
func validateText(field, s string, max int, required bool) error {
	if s == "" {
		if required {
			return fieldError(field, "", "is required")
		}
		return nil
	}
	if len(s) > max {
		return fieldError(field, "", fmt.Sprintf("is %d bytes long, more than the %d allowed", len(s), max))
	}
	if !utf8.ValidString(s) {
		return fieldError(field, "", "is not valid UTF-8")
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return fieldError(field, "", fmt.Sprintf("holds the unprintable character %U", c))
		}
	}
	return nil
}

// maxEcho bounds how much of a value at fault an error repeats.
const maxEcho = 80

// fieldError describes a field at fault; value is cut short and quoted, so
// that what a registry sent reaches no output unbounded or unescaped.
func fieldError(field, value, problem string) error {
	if len(value) > maxEcho {
		value = value[:maxEcho] + "…"
	}
	if value == "" {
		return fmt.Errorf("record %s %s", field, problem)
	}
	return fmt.Errorf("record %s %q %s", field, value, problem)
}

// annotations returns the record's annotations, as written.
func (r Record) annotations() map[string]string {
	a := map[string]string{
		keyAction:          string(r.Action),
		keyTag:             r.Tag,
		keyDigest:          r.Digest.String(),
		keyActor:           r.Actor,
		keyVersion:         r.Version,
		keyAllowRolledBack: fmt.Sprint(r.AllowRolledBack),
		keyCreated:         r.Time.UTC().Format(timeFormat),
	}
	if r.PreviousDigest != (v1.Hash{}) {
		a[keyPreviousDigest] = r.PreviousDigest.String()
	}
	if r.SHA != "" {
		a[keySHA] = r.SHA
	}
	if r.Run != "" {
		a[keyRun] = r.Run
	}
	return a
}

// errNotRecord says that a listing entry is not a promotion record at all.
var errNotRecord = errors.New("not a promotion record")

// parse reads the record that a listing entry describes, found among the
// referrers of subject in repository path repo, and checks it whole.
func parse(desc v1.Descriptor, subject v1.Hash, repo string) (Record, error) {
	if !isRecord(desc) {
		return Record{}, errNotRecord
	}
	a := desc.Annotations
	if len(a) > maxAnnotations {
		return Record{}, fmt.Errorf("record has %d annotations, more than the %d read", len(a), maxAnnotations)
	}
	size := 0
	for k, v := range a {
		size += len(k) + len(v)
	}
	if size > maxAnnotationBytes {
		return Record{}, fmt.Errorf("record annotations are %d bytes, more than the %d read", size, maxAnnotationBytes)
	}
	if !desc.MediaType.IsImage() {
		return Record{}, fmt.Errorf("record is a %q, not an image manifest", desc.MediaType)
	}
	r := Record{
		ID:      desc.Digest,
		Action:  Action(a[keyAction]),
		Tag:     a[keyTag],
		SHA:     a[keySHA],
		Actor:   a[keyActor],
		Run:     a[keyRun],
		Version: a[keyVersion],
	}
	var err error
	if r.Digest, err = parseDigest("digest", a[keyDigest]); err != nil {
		return Record{}, err
	}
	if p := a[keyPreviousDigest]; p != "" {
		if r.PreviousDigest, err = parseDigest("previous digest", p); err != nil {
			return Record{}, err
		}
	}
	switch v := a[keyAllowRolledBack]; v {
	case "true":
		r.AllowRolledBack = true
	case "false":
	default:
		return Record{}, fieldError("allow-rolled-back", v, `must be "true" or "false"`)
	}
	created := a[keyCreated]
	if len(created) > maxTimeLen {
		return Record{}, fieldError("time", "", fmt.Sprintf("is %d bytes long, more than the %d allowed", len(created), maxTimeLen))
	}
	t, err := time.Parse(time.RFC3339Nano, created)
	if err != nil {
		return Record{}, fieldError("time", created, "is not an RFC 3339 time")
	}
	r.Time = t.UTC()
	if err := r.Validate(repo); err != nil {
		return Record{}, err
	}
	if r.Subject() != subject {
		return Record{}, fmt.Errorf("record of a %s to %s is attached to %s, not to the digest it concerns", r.Action, r.Digest, subject)
	}
	return r, nil
}

// parseDigest reads a digest annotation.
func parseDigest(field, s string) (v1.Hash, error) {
	if s == "" {
		return v1.Hash{}, fieldError(field, "", "is required")
	}
	if len(s) > len("sha512:")+128 {
		return v1.Hash{}, fieldError(field, "", "is too long for a digest")
	}
	h, err := v1.NewHash(s)
	if err != nil {
		return v1.Hash{}, fieldError(field, s, "is not a digest")
	}
	return h, nil
}

// isRecord reports whether a listing entry is a promotion record: by its
// artifactType, or, for a registry that reports the config's media type
// instead, by the empty config's media type and a record's action
// annotation.
func isRecord(desc v1.Descriptor) bool {
	if desc.ArtifactType == ArtifactType {
		return true
	}
	_, hasAction := desc.Annotations[keyAction]
	return desc.ArtifactType == string(emptyMediaType) && hasAction
}
