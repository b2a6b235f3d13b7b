package main

import (
	"context"

	"github.com/molecule-ai/promote/internal/dagger"
	"github.com/molecule-ai/promote/promote"
)

// Reach every registry over plain HTTP, or over TLS without verifying its certificate, as crane --insecure; the report warns
func (m *Promote) WithInsecure() *Promote {
	m.Insecure = true
	return m
}

// Log in to a registry with a username and a secret (repeatable, one per registry; anonymous when none is given)
func (m *Promote) WithRegistryAuth(
	// Registry host, such as ghcr.io.
	address string,
	// Username on that registry.
	username string,
	// Password or token, such as env://GITHUB_TOKEN from the command line.
	secret *dagger.Secret,
) *Promote {
	m.AuthAddresses = append(m.AuthAddresses, address)
	m.AuthUsernames = append(m.AuthUsernames, username)
	m.AuthSecrets = append(m.AuthSecrets, secret)
	return m
}

// Send a registry's requests to a Dagger service over plain HTTP, such as a throwaway registry (repeatable)
func (m *Promote) WithRegistryService(
	// Registry host as it appears in the image names, such as localhost:5000.
	address string,
	// Service answering for that registry, such as tcp://localhost:5000 from the command line.
	service *dagger.Service,
) *Promote {
	m.ServiceAddresses = append(m.ServiceAddresses, address)
	m.ServiceBindings = append(m.ServiceBindings, service)
	return m
}

// Copy an image to another repository, on any registry, before its tags move there instead (repeatable)
func (m *Promote) WithDestination(
	// Repository as given in images, such as ghcr.io/acme/staging/api.
	source string,
	// Repository the image is copied to, by digest with its signatures, and whose tags move, such as registry.example.com/prod/api.
	destination string,
) *Promote {
	m.DestinationSources = append(m.DestinationSources, source)
	m.Destinations = append(m.Destinations, destination)
	return m
}

// Copy every image under a prefix to the same path under another prefix before its tags move there (repeatable; the longest match wins)
func (m *Promote) WithDestinationPrefix(
	// Registry host or repository prefix of the images, such as ghcr.io/acme/staging.
	source string,
	// What replaces it, such as registry.example.com/prod.
	destination string,
) *Promote {
	m.PrefixSources = append(m.PrefixSources, source)
	m.PrefixDestinations = append(m.PrefixDestinations, destination)
	return m
}

// mappings maps sources[i] to destinations[i], in order; the core rejects
// a source given twice.
func mappings(sources, destinations []string) []promote.Mapping {
	var out []promote.Mapping
	for i, s := range sources {
		out = append(out, promote.Mapping{Source: s, Destination: destinations[i]})
	}
	return out
}

// serviceEndpoint starts svc and returns the host:port it answers on.
func serviceEndpoint(ctx context.Context, svc *dagger.Service) (string, error) {
	if _, err := svc.Start(ctx); err != nil {
		return "", err
	}
	return svc.Endpoint(ctx)
}
