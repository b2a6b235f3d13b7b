package promote_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/internal/sigstoretest"
	"github.com/molecule-ai/promote/promote"
)

// The CI identity that signs the images in these tests.
const (
	ciRepository = "molecule-ai/molecule-core"
	ciWorkflow   = ".github/workflows/build.yml"
	ciIdentity   = "https://github.com/molecule-ai/molecule-core/.github/workflows/build.yml@refs/heads/main"
	ciIssuer     = "https://token.actions.githubusercontent.com"
)

// signing is a throwaway Sigstore with the CI's claims at newSHA and a key.
type signing struct {
	t      *testing.T
	sigs   *sigstoretest.Instance
	ci     sigstoretest.Claims
	key    *ecdsa.PrivateKey
	keyPEM []byte
}

func newSigning(t *testing.T) *signing {
	t.Helper()
	in, err := sigstoretest.New()
	if err != nil {
		t.Fatalf("starting a throwaway Sigstore: %v", err)
	}
	key, pub, err := sigstoretest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return &signing{t: t, sigs: in, ci: sigstoretest.GitHubClaims(ciRepository, ciWorkflow, newSHA), key: key, keyPEM: pub}
}

// keyless is the policy CI's images must meet.
func (sg *signing) keyless(provenance bool) promote.SignaturePolicy {
	return promote.SignaturePolicy{
		IdentityRegexp:    "^https://github.com/molecule-ai/molecule-core/.github/workflows/build.yml@refs/heads/main$",
		Issuer:            ciIssuer,
		TrustedRoot:       sg.sigs.TrustedRoot(),
		RequireProvenance: provenance,
	}
}

// keylessGitHub is the keyless policy with every GitHub workflow claim of
// CI's certificates, as cosign's --certificate-github-workflow-* flags.
func (sg *signing) keylessGitHub() promote.SignaturePolicy {
	sp := sg.keyless(false)
	sp.GitHubWorkflowRepository = ciRepository
	sp.GitHubWorkflowRef = "refs/heads/main"
	sp.GitHubWorkflowTrigger = "push"
	sp.GitHubWorkflowName = ciWorkflow
	return sp
}

// keyed is the policy of images signed with the test key.
func (sg *signing) keyed() promote.SignaturePolicy {
	return promote.SignaturePolicy{PublicKey: sg.keyPEM, TrustedRoot: sg.sigs.TrustedRoot()}
}

// provenance returns the statement of GitHub's build provenance of the
// image repo@digest, built at commit.
func (sg *signing) provenance(repo, digest, commit string) []byte {
	sg.t.Helper()
	st, err := sigstoretest.Statement(repo, digest, sigstoretest.SLSAProvenanceV1, sigstoretest.Provenance(sg.ci, commit))
	if err != nil {
		sg.t.Fatal(err)
	}
	return st
}

// attest attaches, as a referrer of repo@digest, a bundle of statement
// signed by s.
func (f *fixture) attest(s *sigstoretest.Signer, repo, digest string, statement []byte, predicateType string) {
	f.t.Helper()
	b, err := s.AttestationBundle(statement)
	if err != nil {
		f.t.Fatalf("signing: %v", err)
	}
	f.attachBundle(repo, digest, b, predicateType)
}

func (f *fixture) attachBundle(repo, digest string, bundle []byte, predicateType string) {
	f.t.Helper()
	err := sigstoretest.AttachBundle(context.Background(), f.direct(repo)+"@"+digest, bundle, predicateType, remote.WithAuth(f.server.Auth()))
	if err != nil {
		f.t.Fatalf("attaching a bundle to %s@%s: %v", repo, digest, err)
	}
}

func (f *fixture) attachClassic(repo, digest, suffix string, layers ...sigstoretest.Layer) {
	f.t.Helper()
	err := sigstoretest.AttachClassic(context.Background(), f.direct(repo)+"@"+digest, suffix, layers, remote.WithAuth(f.server.Auth()))
	if err != nil {
		f.t.Fatalf("attaching %s to %s@%s: %v", suffix, repo, digest, err)
	}
}

// signAsCI attaches to repo@digest what GitHub CI attaches: its build
// provenance, as a referrer.
func (f *fixture) signAsCI(sg *signing, repo, digest string) {
	f.t.Helper()
	f.attest(sg.sigs.Keyless(sg.ci), repo, digest, sg.provenance(repo, digest, newSHA), sigstoretest.SLSAProvenanceV1)
}

// must returns v, and panics on err: for test material that cannot fail
// unless the test itself is wrong.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestSignaturePolicyPromotesWhatCISigned(t *testing.T) {
	forEachBackend(t, false, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		sg := newSigning(t)
		digests := f.pushStaging(newSHA)
		for i, r := range f.repos {
			f.signAsCI(sg, r, digests[i])
		}
		p := f.promoter(promote.Config{}, promote.WithSignaturePolicy(sg.keyless(true)))

		rep, err := p.Verify(ctx, sha(newSHA))
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !strings.Contains(rep.SignaturePolicy, "SLSA provenance required") || rep.InsecureIgnoreTlog {
			t.Errorf("report policy = %q, insecure = %v", rep.SignaturePolicy, rep.InsecureIgnoreTlog)
		}
		for i, img := range rep.Images {
			s := img.Signature
			if s == nil {
				t.Fatalf("image %d has no signature in the report: %+v", i, img)
			}
			if s.Identity != ciIdentity || s.Issuer != ciIssuer || s.Commit != newSHA || !s.TransparencyLog ||
				!strings.HasPrefix(s.FoundIn, "referrers "+f.repos[i]+"@sha256:") {
				t.Errorf("image %d signature = %+v", i, s)
			}
			if s.Provenance == nil || s.Provenance.Commit != newSHA {
				t.Errorf("image %d provenance = %+v", i, s.Provenance)
			}
		}
		for _, out := range reportOutputs(t, rep, nil) {
			if !strings.Contains(out, ciIdentity) {
				t.Errorf("a rendering of the report does not name the signer:\n%s", out)
			}
		}

		if _, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{}); err != nil {
			t.Fatalf("Promote: %v", err)
		}
		for i, r := range f.repos {
			f.assertState(map[string]string{r + ":latest": digests[i]})
		}
	})
}

func TestSignaturePolicyReadsCosignClassicTags(t *testing.T) {
	forEachBackend(t, false, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		sg := newSigning(t)
		digests := f.pushStaging(newSHA)
		ci := sg.sigs.Keyless(sg.ci)
		for i, r := range f.repos {
			f.attachClassic(r, digests[i], ".sig", must(ci.ClassicSignature(r, digests[i])))
			f.attachClassic(r, digests[i], ".att", must(ci.ClassicAttestation(sg.provenance(r, digests[i], newSHA))))
		}
		rep, err := f.promoter(promote.Config{}, promote.WithSignaturePolicy(sg.keyless(true))).Verify(ctx, sha(newSHA))
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		for i, img := range rep.Images {
			s := img.Signature
			if s == nil || s.Identity != ciIdentity || s.Commit != newSHA || !s.TransparencyLog ||
				s.FoundIn != "cosign-sig-tag "+f.repos[i]+":sha256-"+strings.TrimPrefix(digests[i], "sha256:")+".sig" {
				t.Fatalf("image %d signature = %+v", i, s)
			}
			if s.Provenance == nil || s.Provenance.Commit != newSHA || !strings.HasPrefix(s.Provenance.FoundIn, "cosign-att-tag ") {
				t.Errorf("image %d provenance = %+v", i, s.Provenance)
			}
		}
	})
}

func TestSignaturePolicyWithKey(t *testing.T) {
	forEachBackend(t, false, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		sg := newSigning(t)
		digests := f.pushStaging(newSHA)
		signer := sg.sigs.Key(sg.key)
		// One image signed the classic way, the other with a bundle as a referrer.
		f.attachClassic(f.repos[0], digests[0], ".sig", must(signer.ClassicSignature(f.repos[0], digests[0])))
		f.attachBundle(f.repos[1], digests[1], must(signer.DigestBundle(digests[1])), "")

		rep, err := f.promoter(promote.Config{}, promote.WithSignaturePolicy(sg.keyed())).Verify(ctx, sha(newSHA))
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		for i, img := range rep.Images {
			if s := img.Signature; s == nil || !strings.HasPrefix(s.Key, "sha256:") || s.Identity != "" || !s.TransparencyLog {
				t.Errorf("image %d signature = %+v", i, s)
			}
		}
		if !strings.HasPrefix(rep.Images[0].Signature.FoundIn, "cosign-sig-tag ") || !strings.HasPrefix(rep.Images[1].Signature.FoundIn, "referrers ") {
			t.Errorf("found in %q and %q", rep.Images[0].Signature.FoundIn, rep.Images[1].Signature.FoundIn)
		}
	})
}

func TestSignaturePolicyInsecureIgnoreTlog(t *testing.T) {
	f := newFixture(t, distribution, false)
	ctx := context.Background()
	sg := newSigning(t)
	digests := f.pushStaging(newSHA)
	offline := sg.sigs.Key(sg.key)
	offline.NoTlog = true
	for i, r := range f.repos {
		f.attachClassic(r, digests[i], ".sig", must(offline.ClassicSignature(r, digests[i])))
	}

	// By default the transparency log is required.
	_, err := f.promoter(promote.Config{}, promote.WithSignaturePolicy(sg.keyed())).Verify(ctx, sha(newSHA))
	if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), "tampered or unverifiable") ||
		!strings.Contains(err.Error(), "log") {
		t.Fatalf("without a log entry: err = %v", err)
	}

	pol := promote.SignaturePolicy{PublicKey: sg.keyPEM, InsecureIgnoreTlog: true}
	rep, err := f.promoter(promote.Config{}, promote.WithSignaturePolicy(pol)).Promote(ctx, sha(newSHA), promote.WriteOptions{})
	if err != nil {
		t.Fatalf("with insecure-ignore-tlog: %v", err)
	}
	if !rep.InsecureIgnoreTlog || !strings.Contains(rep.SignaturePolicy, "NOT checked") {
		t.Errorf("the report does not say the log was ignored: %+v", rep)
	}
	for _, img := range rep.Images {
		if img.Signature == nil || img.Signature.TransparencyLog {
			t.Errorf("signature = %+v", img.Signature)
		}
	}
	for _, out := range reportOutputs(t, rep, nil) {
		if !strings.Contains(strings.ToLower(out), "insecure") {
			t.Errorf("a rendering of the report does not say the log was ignored:\n%s", out)
		}
	}
}

// failingCase signs the first repository's image wrongly; the second is
// signed as CI signs.
type failingCase struct {
	name   string
	policy func(sg *signing) promote.SignaturePolicy
	sign   func(t *testing.T, f *fixture, sg *signing, repo, digest string)
	reason string
	// kind is the reason's kind; provenance says it is the provenance's.
	kind       promote.SignatureErrorKind
	provenance bool
	// unnamed must appear in no error or report: what was never verified,
	// or registry text that must be escaped.
	unnamed string
}

// siblingRepository is another repository of the same registry as repo.
func siblingRepository(repo string) string {
	return strings.Replace(repo, "/platform", "/api", 1)
}

// injected is a digest field that tries to smuggle a workflow command and
// HTML into the output, and escaped, how it must be shown.
const (
	injected = "sha256:abababababababababababababababababababababababababababababababab\n::error title=promote::pwned\n<h2>owned</h2>"
	escaped  = `sha256:abababababababababababababababababababababababababababababababab\n::error title=promote::pwned\n<h2>owned</h2>`
)

var failingCases = []failingCase{
	{
		name:   "not signed",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyless(false) },
		sign:   func(*testing.T, *fixture, *signing, string, string) {},
		reason: "not signed",
		kind:   promote.Unsigned,
	},
	{
		name:   "another workflow",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyless(false) },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			other := sigstoretest.GitHubClaims(ciRepository, ".github/workflows/other.yml", newSHA)
			f.attest(sg.sigs.Keyless(other), repo, digest, sg.provenance(repo, digest, newSHA), sigstoretest.SLSAProvenanceV1)
		},
		reason: "signed by another identity or issuer: https://github.com/molecule-ai/molecule-core/.github/workflows/other.yml",
		kind:   promote.WrongIdentity,
	},
	{
		name:   "another issuer",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyless(false) },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			other := sg.ci
			other.Issuer = "https://issuer.example"
			f.attest(sg.sigs.Keyless(other), repo, digest, sg.provenance(repo, digest, newSHA), sigstoretest.SLSAProvenanceV1)
		},
		reason: "signed by another identity or issuer: " + ciIdentity + " from https://issuer.example",
		kind:   promote.WrongIdentity,
	},
	{
		name:   "signed at another commit",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyless(false) },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			old := sigstoretest.GitHubClaims(ciRepository, ciWorkflow, oldSHA)
			f.attachClassic(repo, digest, ".sig", must(sg.sigs.Keyless(old).ClassicSignature(repo, digest)))
		},
		reason: "signed at another commit: its certificate names " + oldSHA,
		kind:   promote.WrongCommit,
	},
	{
		name:   "signature for another digest",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyless(false) },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			other := "sha256:" + strings.Repeat("ab", 32)
			f.attest(sg.sigs.Keyless(sg.ci), repo, digest, sg.provenance(repo, other, newSHA), sigstoretest.SLSAProvenanceV1)
		},
		reason: "signature for another digest: it names sha256:abab",
		kind:   promote.WrongDigest,
	},
	{
		name:   "tampered",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyless(false) },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			s := sg.sigs.Keyless(sg.ci)
			s.Tamper = true
			f.attest(s, repo, digest, sg.provenance(repo, digest, newSHA), sigstoretest.SLSAProvenanceV1)
		},
		reason: "tampered or unverifiable",
		kind:   promote.Unverifiable,
	},
	{
		name:   "tampered classic signature",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyless(false) },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			s := sg.sigs.Keyless(sg.ci)
			s.Tamper = true
			f.attachClassic(repo, digest, ".sig", must(s.ClassicSignature(repo, digest)))
		},
		reason: "tampered or unverifiable",
		kind:   promote.Unverifiable,
	},
	{
		name:   "signed by another Sigstore",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyless(false) },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			other := must(sigstoretest.New())
			f.attest(other.Keyless(sg.ci), repo, digest, sg.provenance(repo, digest, newSHA), sigstoretest.SLSAProvenanceV1)
		},
		reason: "tampered or unverifiable",
		kind:   promote.Unverifiable,
	},
	{
		name:   "no provenance",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyless(true) },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			st := must(sigstoretest.Statement(repo, digest, sigstoretest.CosignSignV1, nil))
			f.attest(sg.sigs.Keyless(sg.ci), repo, digest, st, sigstoretest.CosignSignV1)
		},
		reason:     "no provenance",
		kind:       promote.NoProvenance,
		provenance: true,
	},
	{
		name:   "provenance for another commit",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyless(true) },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			f.attest(sg.sigs.Keyless(sg.ci), repo, digest, sg.provenance(repo, digest, oldSHA), sigstoretest.SLSAProvenanceV1)
		},
		reason:     "provenance for another commit: it names " + oldSHA,
		kind:       promote.WrongCommit,
		provenance: true,
	},
	{
		name:   "provenance whose certificate names no commit",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyless(true) },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			noCommit := sg.ci
			noCommit.Commit = ""
			f.attest(sg.sigs.Keyless(noCommit), repo, digest, sg.provenance(repo, digest, newSHA), sigstoretest.SLSAProvenanceV1)
		},
		reason:     "provenance for another commit: its certificate names no source commit",
		kind:       promote.WrongCommit,
		provenance: true,
	},
	{
		name:   "key: signed by another key",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyed() },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			other, _, err := sigstoretest.NewKey()
			if err != nil {
				t.Fatal(err)
			}
			f.attachClassic(repo, digest, ".sig", must(sg.sigs.Key(other).ClassicSignature(repo, digest)))
		},
		reason: "tampered or unverifiable: does not verify with the key",
		kind:   promote.Unverifiable,
	},
	{
		name:   "key: signed keyless",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyed() },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			f.signAsCI(sg, repo, digest)
		},
		reason:  "signed by another identity or issuer: by a certificate, not with the key",
		kind:    promote.WrongIdentity,
		unnamed: ciIdentity,
	},
	{
		name:   "key: certificate from an untrusted Sigstore",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyed() },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			other := must(sigstoretest.New())
			f.attachClassic(repo, digest, ".sig", must(other.Keyless(sg.ci).ClassicSignature(repo, digest)))
		},
		reason:  "signed by another identity or issuer: by a certificate, not with the key",
		kind:    promote.WrongIdentity,
		unnamed: ciIdentity,
	},
	{
		name:   "key: classic signature of another repository",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyed() },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			f.attachClassic(repo, digest, ".sig", must(sg.sigs.Key(sg.key).ClassicSignature(siblingRepository(repo), digest)))
		},
		reason: "signature for another repository: it names " + "%SIBLING%",
		kind:   promote.WrongRepository,
	},
	{
		name:   "attestation of another repository",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyless(true) },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			f.attest(sg.sigs.Keyless(sg.ci), repo, digest, sg.provenance(siblingRepository(repo), digest, newSHA), sigstoretest.SLSAProvenanceV1)
		},
		reason: "signature for another repository: it names " + "%SIBLING%",
		kind:   promote.WrongRepository,
	},
	{
		name:   "GitHub: shared workflow called from another repository",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keylessGitHub() },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			caller := sg.ci
			caller.Repository = "https://github.com/someone/fork"
			f.attest(sg.sigs.Keyless(caller), repo, digest, sg.provenance(repo, digest, newSHA), sigstoretest.SLSAProvenanceV1)
		},
		reason: "GitHub workflow repository someone/fork, not " + ciRepository,
		kind:   promote.WrongIdentity,
	},
	{
		name:   "GitHub: another trigger",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keylessGitHub() },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			run := sg.ci
			run.WorkflowTrigger = "pull_request_target"
			f.attest(sg.sigs.Keyless(run), repo, digest, sg.provenance(repo, digest, newSHA), sigstoretest.SLSAProvenanceV1)
		},
		reason: "GitHub workflow trigger pull_request_target, not push",
		kind:   promote.WrongIdentity,
	},
	{
		name:   "GitHub: another ref",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keylessGitHub() },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			run := sg.ci
			run.Ref = "refs/heads/feature"
			f.attest(sg.sigs.Keyless(run), repo, digest, sg.provenance(repo, digest, newSHA), sigstoretest.SLSAProvenanceV1)
		},
		reason: "GitHub workflow ref refs/heads/feature, not refs/heads/main",
		kind:   promote.WrongIdentity,
	},
	{
		name:   "GitHub: another name",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keylessGitHub() },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			run := sg.ci
			run.WorkflowName = "Release"
			f.attest(sg.sigs.Keyless(run), repo, digest, sg.provenance(repo, digest, newSHA), sigstoretest.SLSAProvenanceV1)
		},
		reason: "GitHub workflow name Release, not " + ciWorkflow,
		kind:   promote.WrongIdentity,
	},
	{
		name: "GitHub: another sha",
		policy: func(sg *signing) promote.SignaturePolicy {
			sp := sg.keylessGitHub()
			sp.GitHubWorkflowSHA = newSHA
			return sp
		},
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			run := sigstoretest.GitHubClaims(ciRepository, ciWorkflow, oldSHA)
			f.attest(sg.sigs.Keyless(run), repo, digest, sg.provenance(repo, digest, newSHA), sigstoretest.SLSAProvenanceV1)
		},
		reason: "GitHub workflow sha " + oldSHA + ", not " + newSHA,
		kind:   promote.WrongIdentity,
	},
	{
		name:   "key: a workflow command and HTML in the payload",
		policy: func(sg *signing) promote.SignaturePolicy { return sg.keyed() },
		sign: func(t *testing.T, f *fixture, sg *signing, repo, digest string) {
			f.attachClassic(repo, digest, ".sig", must(sg.sigs.Key(sg.key).ClassicSignature(repo, injected)))
		},
		reason: `signature for another digest: it names "` + escaped + `"`,
		kind:   promote.WrongDigest,
	},
}

// signCorrectly signs repo@digest as the policy of c expects.
func (c failingCase) signCorrectly(t *testing.T, f *fixture, sg *signing, repo, digest string) {
	if c.policy(sg).PublicKey != nil {
		f.attachBundle(repo, digest, must(sg.sigs.Key(sg.key).DigestBundle(digest)), "")
		return
	}
	f.signAsCI(sg, repo, digest)
}

func TestSignaturePolicyFailures(t *testing.T) {
	for _, b := range backends[:2] {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			// One registry for all the cases, each in its own repositories.
			server := b.start(t)
			for n, c := range failingCases {
				t.Run(c.name, func(t *testing.T) {
					f := &fixture{t: t, server: server, addr: server.Addr}
					for _, name := range []string{"platform", "platform-tenant"} {
						f.repos = append(f.repos, fmt.Sprintf("%s/case-%d/%s", server.Addr, n, name))
					}
					ctx := context.Background()
					sg := newSigning(t)
					digests := f.pushStaging(newSHA)
					c.sign(t, f, sg, f.repos[0], digests[0])
					c.signCorrectly(t, f, sg, f.repos[1], digests[1])
					p := f.promoter(promote.Config{}, promote.WithSignaturePolicy(c.policy(sg)))

					rep, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{})
					if !errors.Is(err, promote.ErrVerification) {
						t.Fatalf("Promote: err = %v, want ErrVerification", err)
					}
					bad, good := f.repos[0]+":staging-2222222", f.repos[1]+":staging-2222222"
					reason := strings.ReplaceAll(c.reason, "%SIBLING%", fmt.Sprintf("%s/case-%d/api", server.Addr, n))
					if !strings.Contains(err.Error(), bad+": ") || !strings.Contains(err.Error(), reason) {
						t.Errorf("the error does not name %s and %q:\n%v", bad, reason, err)
					}
					var sigErr *promote.SignatureError
					if !errors.As(err, &sigErr) {
						t.Fatalf("errors.As finds no *SignatureError in %v", err)
					}
					if sigErr.Kind != c.kind || sigErr.Provenance != c.provenance || !strings.Contains(sigErr.Reason, reason) {
						t.Errorf("SignatureError = %v (provenance %v) %q, want %v (provenance %v) saying %q", sigErr.Kind, sigErr.Provenance, sigErr.Reason, c.kind, c.provenance, reason)
					}
					assertNothingSmuggled(t, err.Error(), rep, c.unnamed)
					if strings.Contains(err.Error(), good) {
						t.Errorf("the error names %s, which is signed:\n%v", good, err)
					}
					if rep.Images[0].Outcome != promote.OutcomeFailed || !strings.Contains(rep.Images[0].Detail, reason) {
						t.Errorf("report entry = %+v", rep.Images[0])
					}
					f.assertState(map[string]string{f.repos[0] + ":latest": "", f.repos[1] + ":latest": ""})
				})
			}
		})
	}
}

// assertNothingSmuggled checks that no line of the error or the text report
// begins a workflow command, that the Markdown report holds no raw HTML,
// and that none of them says unnamed.
func assertNothingSmuggled(t *testing.T, errText string, rep *promote.Report, unnamed string) {
	t.Helper()
	for _, out := range []struct{ name, text string }{{"error", errText}, {"text report", rep.Text()}} {
		for line := range strings.Lines(out.text) {
			if strings.HasPrefix(strings.TrimSpace(line), "::") {
				t.Errorf("a line of the %s begins a workflow command: %q", out.name, line)
			}
		}
	}
	if md := rep.Markdown(); strings.Contains(md, "<h2>") {
		t.Errorf("the Markdown report holds raw HTML:\n%s", md)
	}
	if unnamed == "" {
		return
	}
	for _, out := range []string{errText, rep.Text(), rep.Markdown(), string(must(rep.JSON()))} {
		if strings.Contains(out, unnamed) {
			t.Errorf("the output names %q:\n%s", unnamed, out)
		}
	}
}

func TestSignaturePolicyMixedSetMovesNothing(t *testing.T) {
	f := newFixture(t, distribution, true)
	ctx := context.Background()
	sg := newSigning(t)
	old, updated := f.seedProduction()
	f.signAsCI(sg, f.repos[0], updated[0])

	f.proxy.Reset()
	_, err := f.promoter(promote.Config{}, promote.WithSignaturePolicy(sg.keyless(true))).Promote(ctx, sha(newSHA), promote.WriteOptions{})
	if !errors.Is(err, promote.ErrVerification) {
		t.Fatalf("err = %v, want ErrVerification", err)
	}
	if !strings.Contains(err.Error(), "1 of 2 images") || !strings.Contains(err.Error(), f.repos[1]+":staging-2222222: ") ||
		strings.Contains(err.Error(), f.repos[0]+":staging") {
		t.Errorf("the error should name only the unsigned image:\n%v", err)
	}
	if n := f.proxy.Count("PUT", "") + f.proxy.Count("DELETE", ""); n != 0 {
		t.Errorf("%d writes, want none", n)
	}
	for i, r := range f.repos {
		f.assertState(map[string]string{r + ":latest": old[i], r + ":latest-previous": ""})
	}
}

func TestSignaturePolicyIndexDigestMustBeSigned(t *testing.T) {
	f := newFixture(t, backends[0], false)
	ctx := context.Background()
	sg := newSigning(t)
	spec := registrytest.IndexSpec{Images: []registrytest.ImageSpec{
		{Labels: map[string]string{"org.opencontainers.image.revision": newSHA}},
		{Architecture: "arm64", Labels: map[string]string{"org.opencontainers.image.revision": newSHA}},
	}}
	repo := f.repos[0]
	index := must(registrytest.PushIndex(ctx, f.direct(repo)+":staging-2222222", spec, nil))
	children := f.indexChildren(repo + ":staging-2222222")
	// A signature on each platform's image is not a signature on the index.
	for _, c := range children {
		f.signAsCI(sg, repo, c)
	}
	p := f.promoter(promote.Config{Repositories: []string{repo}}, promote.WithSignaturePolicy(sg.keyless(true)))
	if _, err := p.Verify(ctx, sha(newSHA)); !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("children signed, index not: err = %v", err)
	}
	f.signAsCI(sg, repo, index)
	rep, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{})
	if err != nil {
		t.Fatalf("index signed: %v", err)
	}
	if rep.Images[0].Digest != index || rep.Images[0].Signature == nil {
		t.Errorf("entry = %+v", rep.Images[0])
	}
	f.assertState(map[string]string{repo + ":latest": index})
}

func TestSignaturePolicyPinsTheVerifiedDigest(t *testing.T) {
	f := newFixture(t, distribution, false)
	ctx := context.Background()
	sg := newSigning(t)
	digests := f.pushStaging(newSHA)
	for i, r := range f.repos {
		f.signAsCI(sg, r, digests[i])
	}
	// An unsigned image takes the staging tag after verification.
	repush := promote.WithAfterVerify(func(context.Context) { f.pushStaging(newSHA) })
	p := f.promoter(promote.Config{}, promote.WithSignaturePolicy(sg.keyless(true)), repush)
	if _, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{}); err != nil {
		t.Fatalf("Promote: %v", err)
	}
	for i, r := range f.repos {
		f.assertState(map[string]string{r + ":latest": digests[i]})
	}
}

func TestSignaturePolicyStatusAndRollback(t *testing.T) {
	f := newFixture(t, backends[0], false)
	ctx := context.Background()
	sg := newSigning(t)
	old, updated := f.seedProduction()
	for i, r := range f.repos {
		f.signAsCI(sg, r, updated[i])
	}
	p := f.promoter(promote.Config{}, promote.WithSignaturePolicy(sg.keyless(false)))

	// :latest is the old, unsigned release.
	rep, err := p.Status(ctx)
	if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("status of unsigned images: err = %v", err)
	}
	if rep.Images[0].Digest != old[0] {
		t.Errorf("status entry = %+v", rep.Images[0])
	}

	if _, err := p.Promote(ctx, sha(newSHA), promote.WriteOptions{}); err != nil {
		t.Fatalf("Promote: %v", err)
	}
	rep, err = p.Status(ctx)
	if err != nil {
		t.Fatalf("status of signed images: %v", err)
	}
	for i, img := range rep.Images {
		if img.Outcome != promote.OutcomeCurrent || img.Digest != updated[i] || img.Signature == nil || img.Signature.Identity != ciIdentity {
			t.Errorf("status entry %d = %+v", i, img)
		}
	}

	// Rolling back would put the unsigned release back: refused.
	_, err = p.Rollback(ctx, promote.SHA{}, promote.WriteOptions{})
	if !errors.Is(err, promote.ErrVerification) || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("rollback to unsigned images: err = %v", err)
	}
	for i, r := range f.repos {
		f.assertState(map[string]string{r + ":latest": updated[i], r + ":latest-previous": old[i]})
	}
}

// TestSignaturePolicyNeedsFullSHA: any policy, not only provenance,
// compares the full commit, so a short sha is refused before any request.
func TestSignaturePolicyNeedsFullSHA(t *testing.T) {
	f := newFixture(t, backends[0], true)
	sg := newSigning(t)
	ctx := context.Background()
	for _, policy := range []promote.SignaturePolicy{sg.keyless(true), sg.keyless(false), sg.keyed()} {
		p := f.promoter(promote.Config{}, promote.WithSignaturePolicy(policy))
		f.proxy.Reset()
		_, err := p.Verify(ctx, sha(newSHA[:7]))
		if !errors.Is(err, promote.ErrInvalidInput) || !strings.Contains(err.Error(), "40-character") {
			t.Errorf("Verify: err = %v, want ErrInvalidInput", err)
		}
		_, err = p.Promote(ctx, sha(newSHA[:12]), promote.WriteOptions{})
		if !errors.Is(err, promote.ErrInvalidInput) {
			t.Errorf("Promote: err = %v, want ErrInvalidInput", err)
		}
		_, err = p.Rollback(ctx, sha(newSHA[:12]), promote.WriteOptions{})
		if !errors.Is(err, promote.ErrInvalidInput) {
			t.Errorf("Rollback: err = %v, want ErrInvalidInput", err)
		}
		if n := f.proxy.Total(); n != 0 {
			t.Errorf("%d requests, want none", n)
		}
	}
}

// TestReportsSayWhenSignaturesAreNotChecked: without a policy, every
// rendering of every report says that no signature was checked.
func TestReportsSayWhenSignaturesAreNotChecked(t *testing.T) {
	f := newFixture(t, backends[0], false)
	f.pushStaging(newSHA)
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		policy []promote.Option
		want   string
	}{{"no policy", nil, "not checked"}, {"a policy", []promote.Option{promote.WithSignaturePolicy(newSigning(t).keyed())}, "checked"}} {
		p := f.promoter(promote.Config{}, tt.policy...)
		verified, _ := p.Verify(ctx, sha(newSHA))
		status, _ := p.Status(ctx)
		for _, rep := range []*promote.Report{verified, status} {
			js := string(must(rep.JSON()))
			if rep.Signatures != tt.want || !strings.Contains(js, `"signatures": "`+tt.want+`"`) {
				t.Errorf("%s: %s report: signatures = %q, JSON:\n%s", tt.name, rep.Action, rep.Signatures, js)
			}
			notChecked := strings.Contains(rep.Text(), "signatures: not checked") && strings.Contains(rep.Markdown(), "Signatures: not checked")
			if notChecked != (tt.want == "not checked") {
				t.Errorf("%s: %s report: text\n%s\nMarkdown\n%s", tt.name, rep.Action, rep.Text(), rep.Markdown())
			}
		}
	}
}

func TestSignaturePolicyValidation(t *testing.T) {
	sg := newSigning(t)
	tests := []struct {
		name   string
		policy promote.SignaturePolicy
		want   string
	}{
		{"empty", promote.SignaturePolicy{}, "needs a certificate identity"},
		{"identity without issuer", promote.SignaturePolicy{Identity: ciIdentity}, "issuer"},
		{"identity and regexp", promote.SignaturePolicy{Identity: ciIdentity, IdentityRegexp: ".*", Issuer: ciIssuer}, "not both"},
		{"identity and key", promote.SignaturePolicy{Identity: ciIdentity, Issuer: ciIssuer, PublicKey: sg.keyPEM}, "not both"},
		{"bad regexp", promote.SignaturePolicy{IdentityRegexp: "(", Issuer: ciIssuer}, "identity regexp"},
		{"issuer with key", promote.SignaturePolicy{PublicKey: sg.keyPEM, Issuer: ciIssuer}, "keyless signatures only"},
		{"bad key", promote.SignaturePolicy{PublicKey: []byte("not a key")}, "not a PEM public key"},
		{"bad trusted root", promote.SignaturePolicy{PublicKey: sg.keyPEM, TrustedRoot: []byte("{")}, "trusted_root.json"},
		{"ignore tlog keyless", promote.SignaturePolicy{Identity: ciIdentity, Issuer: ciIssuer, InsecureIgnoreTlog: true}, "key-based signatures only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := promote.New(promote.Config{Repositories: []string{"ghcr.io/acme/api"}}, promote.WithSignaturePolicy(tt.policy))
			if !errors.Is(err, promote.ErrInvalidInput) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalidInput with %q", err, tt.want)
			}
		})
	}
	_, err := promote.New(promote.Config{Repositories: []string{"ghcr.io/acme/api"}}, promote.WithSignaturePolicy(sg.keyed()), promote.WithSignaturePolicy(sg.keyed()))
	if !errors.Is(err, promote.ErrInvalidInput) {
		t.Errorf("two policies: err = %v", err)
	}
	if _, err := promote.New(promote.Config{Repositories: []string{"ghcr.io/acme/api"}}, promote.WithSignaturePolicy(sg.keyless(true))); err != nil {
		t.Errorf("valid keyless policy: %v", err)
	}
}

func TestSignaturesAreReadThroughEachScheme(t *testing.T) {
	tests := []struct {
		backend backend
		// api is whether the registry has the referrers API; without it the
		// referrers tag schema is read.
		api bool
	}{{backends[0], true}, {backends[1], false}}
	for _, tt := range tests {
		t.Run(tt.backend.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.backend, true)
			ctx := context.Background()
			sg := newSigning(t)
			digests := f.pushStaging(newSHA)
			for i, r := range f.repos {
				f.signAsCI(sg, r, digests[i])
			}

			f.proxy.Reset()
			if _, err := f.promoter(promote.Config{}).Verify(ctx, sha(newSHA)); err != nil {
				t.Fatalf("Verify without a policy: %v", err)
			}
			if n := f.proxy.Count("", "/referrers/") + f.proxy.Count("", "sha256-"); n != 0 {
				t.Errorf("without a policy, %d requests looked for signatures", n)
			}

			f.proxy.Reset()
			if _, err := f.promoter(promote.Config{}, promote.WithSignaturePolicy(sg.keyless(true))).Verify(ctx, sha(newSHA)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			for _, d := range digests {
				hex := strings.TrimPrefix(d, "sha256:")
				var listed, tagSchema, sig, att int
				for _, req := range f.proxy.Requests() {
					switch {
					case strings.HasSuffix(req.Path, "/referrers/"+d) && req.Upstream == 200:
						listed++
					case strings.HasSuffix(req.Path, "/manifests/sha256-"+hex) && req.Upstream == 200:
						tagSchema++
					case strings.HasSuffix(req.Path, "/manifests/sha256-"+hex+".sig"):
						sig++
					case strings.HasSuffix(req.Path, "/manifests/sha256-"+hex+".att"):
						att++
					}
				}
				if tt.api && (listed != 1 || tagSchema != 0) || !tt.api && (listed != 0 || tagSchema != 1) {
					t.Errorf("%s: referrers API listed %d times, tag schema read %d times", d, listed, tagSchema)
				}
				if sig != 1 || att != 1 {
					t.Errorf("%s: .sig read %d times, .att %d times, want once each", d, sig, att)
				}
			}
		})
	}
}
