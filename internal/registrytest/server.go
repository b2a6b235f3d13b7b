package registrytest

import (
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Server is a running registry that tests can push to and pull from.
type Server struct {
	// Addr is the registry's host:port on the loopback interface, for
	// example "127.0.0.1:40123".
	Addr string
	// Username and Password are the basic-auth credentials the registry
	// requires. Both are empty when the registry is anonymous.
	Username string
	Password string

	logs      func() string
	closeOnce sync.Once
	closeErr  error
	close     func() error
}

// Repo returns the reference of the repository name on this server,
// Addr + "/" + name.
func (s *Server) Repo(name string) string {
	return s.Addr + "/" + name
}

// Auth returns an authenticator carrying the server's credentials, or
// [authn.Anonymous] when the server needs none.
func (s *Server) Auth() authn.Authenticator {
	if s.Username == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: s.Username, Password: s.Password}
}

// Logs returns the tail of the registry's log, or "" for a registry that
// keeps no log.
func (s *Server) Logs() string {
	if s.logs == nil {
		return ""
	}
	return s.logs()
}

// Close stops the registry and removes everything it stored. It is safe to
// call more than once; later calls return the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.close != nil {
			s.closeErr = s.close()
		}
	})
	return s.closeErr
}
