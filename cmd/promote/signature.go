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
	}
	var err error
	if f.keyFile != "" {
		if sp.PublicKey, err = os.ReadFile(f.keyFile); err != nil {
			return sp, fmt.Errorf("--key: %w", err)
		}
	}
	if f.trustedRootFile != "" {
		if sp.TrustedRoot, err = os.ReadFile(f.trustedRootFile); err != nil {
			return sp, fmt.Errorf("--trusted-root: %w", err)
		}
	}
	return sp, nil
}
