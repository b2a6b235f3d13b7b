package promote

import (
	"context"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Secret is a credential value. It prints as "[redacted]" with every fmt
// verb, so it cannot leak into a log line or an error by accident.
type Secret string

const redacted = "[redacted]"

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return redacted }

// MarshalText keeps the value out of JSON and other encodings.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Credential is a username and password for one registry.
type Credential struct {
	Username string
	Password Secret
}

// anonymousKeychain resolves every registry to anonymous access.
type anonymousKeychain struct{}

func (anonymousKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.Anonymous, nil
}

// authenticator returns the credentials for res: explicit credentials first,
// then the keychain.
func (o *options) authenticator(ctx context.Context, res authn.Resource) (authn.Authenticator, error) {
	if c, ok := o.credentials[res.RegistryStr()]; ok {
		return authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: string(c.Password)}), nil
	}
	return authn.Resolve(ctx, o.keychain, res)
}
