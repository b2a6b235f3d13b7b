package main

import (
	"fmt"
	"os"

	"github.com/molecule-ai/promote/promote"
)

// signatureFlags are the signature policy's flags, named as cosign names
// them.
type signatureFlags struct {
	identity, identityRegexp, issuer string
	keyFile, trustedRootFile         string
	ignoreTlog, requireProvenance    bool
	github                           githubFlags
}

// githubFlags are cosign's --certificate-github-workflow-* flags.
type githubFlags struct {
	repository, ref, sha, trigger, name string
}

// emptyFlags names the signature flags given with an empty value, such as
// --key "$UNSET": a security setting given empty is an error, never "off".
func (f signatureFlags) emptyFlags(given map[string]bool) []error {
	var errs []error
	for _, fl := range []struct{ name, value string }{
		{"certificate-identity", f.identity},
		{"certificate-identity-regexp", f.identityRegexp},
		{"certificate-oidc-issuer", f.issuer},
		{"key", f.keyFile},
		{"trusted-root", f.trustedRootFile},
		{"certificate-github-workflow-repository", f.github.repository},
		{"certificate-github-workflow-ref", f.github.ref},
		{"certificate-github-workflow-sha", f.github.sha},
		{"certificate-github-workflow-trigger", f.github.trigger},
		{"certificate-github-workflow-name", f.github.name},
	} {
		if given[fl.name] && fl.value == "" {
			errs = append(errs, fmt.Errorf("--%s is empty: a signature flag given empty is an error, not \"no signature check\" (is its variable unset?)", fl.name))
		}
	}
	return errs
}

// set reports whether any signature flag was given.
func (f signatureFlags) set() bool {
	return f != signatureFlags{}
}

// policy reads the files the flags name into a signature policy.
func (f signatureFlags) policy() (promote.SignaturePolicy, error) {
	sp := promote.SignaturePolicy{
		Identity:           f.identity,
		IdentityRegexp:     f.identityRegexp,
		Issuer:             f.issuer,
		InsecureIgnoreTlog: f.ignoreTlog,
		RequireProvenance:  f.requireProvenance,

		GitHubWorkflowRepository: f.github.repository,
		GitHubWorkflowRef:        f.github.ref,
		GitHubWorkflowSHA:        f.github.sha,
		GitHubWorkflowTrigger:    f.github.trigger,
		GitHubWorkflowName:       f.github.name,
	}
	var err error
	if f.keyFile != "" {
		if sp.PublicKey, err = os.ReadFile(f.keyFile); err != nil {
			return sp, fmt.Errorf("--key: %w", err)
		}
		if len(sp.PublicKey) == 0 {
			return sp, fmt.Errorf("--key: %s is empty", f.keyFile)
		}
	}
	if f.trustedRootFile != "" {
		if sp.TrustedRoot, err = os.ReadFile(f.trustedRootFile); err != nil {
			return sp, fmt.Errorf("--trusted-root: %w", err)
		}
		if len(sp.TrustedRoot) == 0 {
			// An empty root must not fall back to the public-good one.
			return sp, fmt.Errorf("--trusted-root: %s is empty", f.trustedRootFile)
		}
	}
	return sp, nil
}
