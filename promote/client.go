package promote

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/molecule-ai/promote/promote/internal/registry"
	"github.com/molecule-ai/promote/promote/internal/sigcheck"
)

// repoClient is one repository's connection as a run uses it: the
// registry client, and the signature policy that what it reads is checked
// against.
type repoClient struct {
	*registry.Client
	signatures *sigcheck.Policy
}

// registryConfig says how the run reaches registries.
func (o *options) registryConfig() *registry.Config {
	return &registry.Config{
		Transport:       o.transport,
		Endpoints:       o.endpoints,
		Insecure:        o.insecure,
		Dial:            o.dial,
		ResponseTimeout: o.responseTimeout,
		Backoff:         o.backoff,
		UserAgent:       o.userAgent,
		Jobs:            o.concurrency,
		Auth:            o.authenticator,
	}
}

// readState reads where tag points now.
func (c *repoClient) readState(ctx context.Context, tag string) readState {
	var s readState
	s.digest, s.found, s.err = c.Head(ctx, tag)
	return s
}

// revisionOf returns the revision that the image at digest d names, or ""
// when it names none or cannot be read: it only helps to tell whose image
// another run wrote.
func (c *repoClient) revisionOf(ctx context.Context, d v1.Hash) string {
	desc, err := c.GetDigest(ctx, d)
	if err != nil {
		return ""
	}
	info, err := c.Inspect(ctx, desc, registry.InspectOptions{})
	if err != nil {
		return ""
	}
	return info.Revision
}
