package registrytest

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Digest returns the digest of the manifest that ref (a tag or a digest
// reference) names, and true; or "" and false when the registry answers 404
// because the manifest or the repository does not exist. A nil auth means
// anonymous.
func Digest(ctx context.Context, ref string, auth authn.Authenticator) (string, bool, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", false, fmt.Errorf("parse reference %q: %w", ref, err)
	}
	desc, err := remote.Head(r, remoteOptions(ctx, auth)...)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			return "", false, nil
		}
		return "", false, fmt.Errorf("look up %s: %w", ref, err)
	}
	return desc.Digest.String(), true, nil
}
