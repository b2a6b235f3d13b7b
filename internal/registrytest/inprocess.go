package registrytest

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// InProcess starts go-containerregistry's in-memory registry on an httptest
// server for the test and stops it when the test ends. It serves the OCI
// referrers API, which the distribution registry lacks. It is anonymous, and
// much faster to start than [Distribution], but it is not the registry that
// production runs.
func InProcess(t testing.TB) *Server {
	t.Helper()
	return serve(t, "in-process registry", registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true)))
}

// serve starts handler on an httptest server for the test, as a registry
// called what, and stops it when the test ends.
func serve(t testing.TB, what string, handler http.Handler) *Server {
	t.Helper()
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
			t.Errorf("stop %s %s: %v", what, s.Addr, err)
		}
	})
	return s
}

// InProcessWithReferrers is [InProcess] with the OCI referrers API turned
// on, as registries that implement distribution-spec 1.1 have it.
func InProcessWithReferrers(t testing.TB) *Server {
	t.Helper()
	return serve(t, "in-process registry with the referrers API", registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true)))
}
