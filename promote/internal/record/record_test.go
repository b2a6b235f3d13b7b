package record

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// hash returns a sha256 digest made of one repeated hex character.
func hash(c string) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(c, 64)}
}

// at returns a time on a fixed day, minutes after noon UTC.
func at(minute int) time.Time {
	return time.Date(2026, 12, 7, 12, minute, 0, 0, time.UTC)
}

// valid returns a promote record of app:latest from b to a.
func valid() Record {
	return Record{
		Action:         ActionPromote,
		Tag:            "org/app:latest",
		Digest:         hash("a"),
		PreviousDigest: hash("b"),
		SHA:            "0123456789abcdef0123456789abcdef01234567",
		Time:           at(0),
		Actor:          "octocat",
		Run:            "https://github.com/org/repo/actions/runs/42/attempts/1",
		Version:        "v1.2.3",
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Record)
		want   string // "" for valid
	}{
		{"valid", func(*Record) {}, ""},
		{"created the tag", func(r *Record) { r.PreviousDigest = v1.Hash{} }, ""},
		{"no sha, no run", func(r *Record) { r.SHA, r.Run = "", "" }, ""},
		{"mark", func(r *Record) { r.Action = ActionRolledBack }, ""},
		{"unknown action", func(r *Record) { r.Action = "delete" }, "action"},
		{"mark without from", func(r *Record) { r.Action, r.PreviousDigest = ActionRolledBack, v1.Hash{} }, "previous digest"},
		{"move to itself", func(r *Record) { r.PreviousDigest = r.Digest }, "previous digest"},
		{"other repository", func(r *Record) { r.Tag = "org/other:latest" }, `not of "org/app"`},
		{"registry host in tag", func(r *Record) { r.Tag = "ghcr.io/org/app:latest" }, "tag"},
		{"no tag", func(r *Record) { r.Tag = "org/app" }, "tag"},
		{"bad tag", func(r *Record) { r.Tag = "org/app:la test" }, "tag"},
		{"short digest", func(r *Record) { r.Digest = v1.Hash{Algorithm: "sha256", Hex: "abc"} }, "digest"},
		{"md5 digest", func(r *Record) { r.Digest = v1.Hash{Algorithm: "md5", Hex: strings.Repeat("a", 32)} }, "digest"},
		{"upper-case sha", func(r *Record) { r.SHA = "ABCDEF0" }, "sha"},
		{"no time", func(r *Record) { r.Time = time.Time{} }, "time"},
		{"no actor", func(r *Record) { r.Actor = "" }, "actor"},
		{"actor with newline", func(r *Record) { r.Actor = "eve\n::error::" }, "unprintable"},
		{"actor with bidi override", func(r *Record) { r.Actor = "eve\u202e" }, "unprintable"},
		{"long actor", func(r *Record) { r.Actor = strings.Repeat("x", maxActorLen+1) }, "more than"},
		{"run not a URL", func(r *Record) { r.Run = "run 42" }, "URL"},
		{"run with a password", func(r *Record) { r.Run = "https://bot:hunter2@ci.example/run/1" }, "user information"},
		{"run with a token in its query", func(r *Record) { r.Run = "https://ci.example/run/1?token=hunter2" }, "query"},
		{"long run with a password", func(r *Record) { r.Run = "https://bot:hunter2@ci.example/" + strings.Repeat("x", maxRunLen) }, "more than"},
		{"no version", func(r *Record) { r.Version = "" }, "version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := valid()
			tt.change(&r)
			err := r.Validate("org/app")
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate: got %v, want an error about %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error echoes a password: %v", err)
			}
		})
	}
}

// entry returns the listing entry that a registry gives for r.
func entry(t *testing.T, r Record) v1.Descriptor {
	t.Helper()
	m, err := r.manifest(v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: r.Subject(), Size: 500})
	if err != nil {
		t.Fatal(err)
	}
	d := m.descriptor()
	d.Annotations = r.annotations()
	return d
}

func TestParseRoundTrip(t *testing.T) {
	for _, r := range []Record{valid(), func() Record { r := valid(); r.Action = ActionRolledBack; r.AllowRolledBack = true; return r }()} {
		d := entry(t, r)
		got, err := parse(d, r.Subject(), "org/app")
		if err != nil {
			t.Fatalf("parse %s: %v", r.Action, err)
		}
		r.ID = d.Digest
		if got != r {
			t.Errorf("parse %s:\n got %+v\nwant %+v", r.Action, got, r)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name    string
		change  func(d *v1.Descriptor)
		subject v1.Hash
		want    string
	}{
		{"attached to another digest", func(*v1.Descriptor) {}, hash("c"), "not to the digest it concerns"},
		{"too many annotations", func(d *v1.Descriptor) {
			for i := range maxAnnotations {
				d.Annotations[strings.Repeat("k", i+1)] = "v"
			}
		}, hash("a"), "annotations"},
		{"oversized annotation", func(d *v1.Descriptor) { d.Annotations["x.other"] = strings.Repeat("x", maxAnnotationBytes) }, hash("a"), "bytes"},
		{"oversized actor", func(d *v1.Descriptor) { d.Annotations[keyActor] = strings.Repeat("x", 4096) }, hash("a"), "actor"},
		{"bad time", func(d *v1.Descriptor) { d.Annotations[keyCreated] = "yesterday" }, hash("a"), "RFC 3339"},
		{"huge time", func(d *v1.Descriptor) { d.Annotations[keyCreated] = strings.Repeat("9", 100) }, hash("a"), "time"},
		{"bad flag", func(d *v1.Descriptor) { d.Annotations[keyAllowRolledBack] = "yes" }, hash("a"), "allow-rolled-back"},
		{"bad digest", func(d *v1.Descriptor) { d.Annotations[keyDigest] = "sha256:zz" }, hash("a"), "digest"},
		{"huge digest", func(d *v1.Descriptor) { d.Annotations[keyDigest] = strings.Repeat("a", 1000) }, hash("a"), "too long"},
		{"index, not manifest", func(d *v1.Descriptor) { d.MediaType = types.OCIImageIndex }, hash("a"), "not an image manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := entry(t, valid())
			tt.change(&d)
			_, err := parse(d, tt.subject, "org/app")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parse: got %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestIsRecord(t *testing.T) {
	d := entry(t, valid())
	if !isRecord(d) {
		t.Error("a record's entry is not taken as a record")
	}
	// A registry that reports the config's media type as artifactType.
	d.ArtifactType = string(emptyMediaType)
	if !isRecord(d) {
		t.Error("a record listed with the empty config's media type is not taken as a record")
	}
	delete(d.Annotations, keyAction)
	if isRecord(d) {
		t.Error("an empty-config artifact without a record's action is taken as a record")
	}
	if _, err := parse(v1.Descriptor{ArtifactType: "application/vnd.dev.sigstore.bundle.v0.3+json"}, hash("a"), "org/app"); !errors.Is(err, errNotRecord) {
		t.Errorf("a signature's entry: got %v, want errNotRecord", err)
	}
}

func TestReadListingBounds(t *testing.T) {
	im := &v1.IndexManifest{}
	base := valid()
	for i := range MaxRecords + 1 {
		r := base
		r.Time = base.Time.Add(time.Duration(i) * time.Millisecond)
		im.Manifests = append(im.Manifests, entry(t, r))
	}
	if _, err := readListing(im, hash("a"), "org/app"); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("%d records: got %v, want a bound error", MaxRecords+1, err)
	}
	im.Manifests = im.Manifests[:3]
	// A duplicate entry is read once.
	im.Manifests = append(im.Manifests, im.Manifests[0])
	l, err := readListing(im, hash("a"), "org/app")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Records) != 3 {
		t.Fatalf("got %d records, want 3", len(l.Records))
	}
	for i := 1; i < len(l.Records); i++ {
		if l.Records[i].Time.After(l.Records[i-1].Time) {
			t.Errorf("records not newest first: %v after %v", l.Records[i].Time, l.Records[i-1].Time)
		}
	}
}

func TestNoReferrersAPI(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{errors.New("registry r does not support the Referrers API and the referrers tag fallback is disabled"), true},
		{&transport.Error{StatusCode: 500, Errors: []transport.Diagnostic{{Message: "does not support the Referrers API"}}}, false},
		{&url.Error{Op: "Get", URL: "https://r/v2/", Err: errors.New("does not support the Referrers API")}, false},
		{fmt.Errorf("does not support the Referrers API: %w", context.DeadlineExceeded), false},
		{errors.New("connection reset"), false},
	}
	for _, tt := range tests {
		if got := noReferrersAPI(tt.err); got != tt.want {
			t.Errorf("noReferrersAPI(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// FuzzParse feeds parse hostile annotations: it must never panic, and what
// it accepts must validate again and carry only printable text.
func FuzzParse(f *testing.F) {
	r := valid()
	a := r.annotations()
	f.Add(a[keyAction], a[keyTag], a[keyDigest], a[keyPreviousDigest], a[keyActor], a[keyRun], a[keyCreated], a[keyAllowRolledBack])
	f.Add("rolled-back", "org/app:latest", a[keyDigest], a[keyDigest], "eve\u202e", "https://x/?a", "2026-13-01T00:00:00Z", "true")
	f.Fuzz(func(t *testing.T, action, tag, digest, previous, actor, run, created, allow string) {
		d := entry(t, r)
		d.Annotations = map[string]string{
			keyAction: action, keyTag: tag, keyDigest: digest, keyPreviousDigest: previous,
			keyActor: actor, keyRun: run, keyCreated: created, keyAllowRolledBack: allow, keyVersion: "v1",
		}
		for _, subject := range []v1.Hash{hash("a"), hash("b")} {
			got, err := parse(d, subject, "org/app")
			if err != nil {
				continue
			}
			if err := got.Validate("org/app"); err != nil {
				t.Fatalf("parse accepted a record that does not validate: %v", err)
			}
			for _, s := range []string{got.Actor, got.Run, got.Tag, got.Version} {
				if strings.ContainsAny(s, "\n\r\x1b") {
					t.Fatalf("parse accepted unprintable text %q", s)
				}
			}
		}
	})
}
