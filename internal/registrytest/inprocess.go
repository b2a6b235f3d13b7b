package registrytest

import (
	"io"
	"log"
	"net/http/httptest"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// InProcess starts go-containerregistry's in-memory registry on an httptest
// server for the test and stops it when the test ends. It is anonymous, and
// much faster to start than [Distribution], but it is not the registry that
// production runs.
func InProcess(t testing.TB) *Server {
	t.Helper()
	handler := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	hs := httptest.NewServer(handler)
	s := &Server{
		Addr: hs.Listener.Addr().String(),
		close: func() error {
			hs.Close()
			return nil
		},
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("stop in-process registry %s: %v", s.Addr, err)
		}
	})
	return s
}
