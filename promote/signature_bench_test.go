package promote_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/internal/sigstoretest"
	"github.com/molecule-ai/promote/promote"
)

// BenchmarkVerifySigned verifies two images that GitHub CI signed and
// attested, against the in-process registry, with and without the keyless
// policy that requires provenance. Besides the time per run it reports
// the CPU per image (user and system, of this process: the registry's
// share included), so that the signature checks' cost shows even on a
// busy machine.
func BenchmarkVerifySigned(b *testing.B) {
	ctx := context.Background()
	srv := registrytest.InProcess(b)
	sigs, err := sigstoretest.New()
	if err != nil {
		b.Fatal(err)
	}
	ci := sigstoretest.GitHubClaims(ciRepository, ciWorkflow, newSHA)
	repos := []string{srv.Repo("molecule-ai/platform"), srv.Repo("molecule-ai/platform-tenant")}
	for _, repo := range repos {
		spec := registrytest.ImageSpec{Labels: map[string]string{"org.opencontainers.image.revision": newSHA}}
		digest, err := registrytest.PushImage(ctx, repo+":staging-"+newSHA[:7], spec, srv.Auth())
		if err != nil {
			b.Fatal(err)
		}
		st, err := sigstoretest.Statement(repo, digest, sigstoretest.SLSAProvenanceV1, sigstoretest.Provenance(ci, newSHA))
		if err != nil {
			b.Fatal(err)
		}
		bundle, err := sigs.Keyless(ci).AttestationBundle(st)
		if err == nil {
			err = sigstoretest.AttachBundle(ctx, repo+"@"+digest, bundle, sigstoretest.SLSAProvenanceV1, remote.WithAuth(srv.Auth()))
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	policy := promote.SignaturePolicy{IdentityRegexp: "^" + ci.Identity + "$", Issuer: ci.Issuer, TrustedRoot: sigs.TrustedRoot(), RequireProvenance: true}
	for _, bc := range []struct {
		name string
		opts []promote.Option
	}{{"unsigned", nil}, {"signed", []promote.Option{promote.WithSignaturePolicy(policy)}}} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := promote.New(promote.Config{Repositories: repos}, append([]promote.Option{promote.WithAnonymous()}, bc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			before := cpuTime()
			for b.Loop() {
				if _, err := p.Verify(ctx, sha(newSHA)); err != nil {
					b.Fatal(err)
				}
			}
			perImage := (cpuTime() - before) / time.Duration(b.N*len(repos))
			b.ReportMetric(float64(perImage.Microseconds())/1000, "cpu-ms/image")
		})
	}
}

// cpuTime is the user and system CPU this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
