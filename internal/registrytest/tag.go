package registrytest

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Tag points tag (a full tag reference) at the manifest with digest in the
// same repository, as `crane tag` does: one GET and one PUT of the
// manifest bytes. A nil auth means anonymous.
func Tag(ctx context.Context, tag, digest string, auth authn.Authenticator) error {
	t, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("parse tag %q: %w", tag, err)
	}
	desc, err := remote.Get(t.Context().Digest(digest), remoteOptions(ctx, auth)...)
	if err != nil {
		return fmt.Errorf("read %s@%s: %w", t.Context(), digest, err)
	}
	if err := remote.Tag(t, desc, remoteOptions(ctx, auth)...); err != nil {
		return fmt.Errorf("tag %s: %w", tag, err)
	}
	return nil
}
