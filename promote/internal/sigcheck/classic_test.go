package sigcheck

import (
	"maps"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/molecule-ai/promote/internal/sigstoretest"
)

const testDigest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"

func TestClassicBundle(t *testing.T) {
	in, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := sigstoretest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	ci := in.Keyless(sigstoretest.GitHubClaims("org/repo", ".github/workflows/build.yml", strings.Repeat("2", 40)))
	statement, err := sigstoretest.Statement("example.com/org/repo", testDigest, sigstoretest.SLSAProvenanceV1, nil)
	if err != nil {
		t.Fatal(err)
	}
	keyless, err := ci.ClassicSignature("example.com/org/repo", testDigest)
	if err != nil {
		t.Fatal(err)
	}
	attestation, err := ci.ClassicAttestation(statement)
	if err != nil {
		t.Fatal(err)
	}
	keyed, err := in.Key(key).ClassicSignature("example.com/org/repo", testDigest)
	if err != nil {
		t.Fatal(err)
	}
	offline := in.Key(key)
	offline.NoTlog = true
	untracked, err := offline.ClassicSignature("example.com/org/repo", testDigest)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		layer sigstoretest.Layer
		// edit changes the annotations before assembly.
		edit func(map[string]string)
		// cert, entries and envelope describe the bundle expected.
		cert, envelope bool
		entries        int
		err            string
	}{
		{name: "keyless signature", layer: keyless, cert: true, entries: 1},
		{name: "keyless attestation", layer: attestation, cert: true, entries: 1, envelope: true},
		{name: "key signature", layer: keyed, entries: 1},
		{name: "key signature without log entry", layer: untracked},
		{name: "no signature", layer: keyed, edit: func(a map[string]string) { delete(a, cosignSignatureAnnotation) }, err: "holds no base64 signature"},
		{name: "signature not base64", layer: keyed, edit: func(a map[string]string) { a[cosignSignatureAnnotation] = "%%" }, err: "holds no base64 signature"},
		{name: "certificate not PEM", layer: keyless, edit: func(a map[string]string) { a[cosignCertificateAnnotation] = "junk" }, err: "holds no PEM certificate"},
		{name: "chain not PEM", layer: keyless, edit: func(a map[string]string) {
			a[cosignChainAnnotation] = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
		}, err: "chain"},
		{name: "log entry not JSON", layer: keyed, edit: func(a map[string]string) { a[cosignBundleAnnotation] = "{" }, err: "parsing annotation"},
		{name: "log entry without timestamp", layer: keyed, edit: func(a map[string]string) {
			a[cosignBundleAnnotation] = strings.Replace(a[cosignBundleAnnotation], `"SignedEntryTimestamp"`, `"Other"`, 1)
		}, err: "no signed entry timestamp"},
		{name: "log ID not hex", layer: keyed, edit: func(a map[string]string) {
			a[cosignBundleAnnotation] = strings.Replace(a[cosignBundleAnnotation], `"logID":"`, `"logID":"zz`, 1)
		}, err: "log ID"},
		{name: "timestamp not JSON", layer: keyless, edit: func(a map[string]string) { a[cosignTimestampAnnotation] = "nope" }, err: "holds no signed timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ann := maps.Clone(tt.layer.Annotations)
			if tt.edit != nil {
				tt.edit(ann)
			}
			layer := v1.Descriptor{MediaType: types.MediaType(tt.layer.MediaType), Annotations: ann}
			b, payload, err := classicBundle(layer, tt.layer.Content)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("classicBundle: %v", err)
			}
			content, err := b.VerificationContent()
			if err != nil {
				t.Fatal(err)
			}
			if got := content.Certificate() != nil; got != tt.cert {
				t.Errorf("certificate present = %v, want %v", got, tt.cert)
			}
			entries, err := b.TlogEntries()
			if err != nil || len(entries) != tt.entries {
				t.Errorf("%d log entries (%v), want %d", len(entries), err, tt.entries)
			}
			if tt.entries > 0 && !b.HasInclusionPromise() {
				t.Error("the log entry lost its signed entry timestamp")
			}
			sc, err := b.SignatureContent()
			if err != nil {
				t.Fatal(err)
			}
			if got := sc.EnvelopeContent() != nil; got != tt.envelope {
				t.Errorf("envelope = %v, want %v", got, tt.envelope)
			}
			if tt.envelope != (payload == nil) {
				t.Errorf("payload = %q", payload)
			}
		})
	}
}

func TestSimpleSigning(t *testing.T) {
	tests := []struct {
		payload, want, ref, err string
	}{
		{`{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"` + testDigest + `"},"type":"cosign container image signature"},"optional":null}`, testDigest, "r", ""},
		{`{"critical":{"image":{"docker-manifest-digest":"` + testDigest + `"}}}`, testDigest, "", ""},
		{`{"critical":{"image":{}}}`, "", "", "names no image digest"},
		{`[`, "", "", "parsing the signed payload"},
	}
	for _, tt := range tests {
		got, ref, err := simpleSigning([]byte(tt.payload))
		if got != tt.want || ref != tt.ref || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("simpleSigning(%s) = %q, %q, %v; want %q, %q, %q", tt.payload, got, ref, err, tt.want, tt.ref, tt.err)
		}
	}
}

func TestCommitMatches(t *testing.T) {
	full := strings.Repeat("ab", 20)
	tests := []struct {
		commit, sha string
		want        bool
	}{
		{full, full, true},
		{strings.ToUpper(full), full, true},
		{full, full[:7], false},
		{full[:7], full[:7], false},
		{full, strings.Repeat("cd", 20), false},
		{"anything", "", true},
	}
	for _, tt := range tests {
		if got := commitMatches(tt.commit, tt.sha); got != tt.want {
			t.Errorf("commitMatches(%q, %q) = %v, want %v", tt.commit, tt.sha, got, tt.want)
		}
	}
}
