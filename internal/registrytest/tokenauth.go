package registrytest

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// MaxTokenURL is the longest token request URL that a [TokenAuth] server
// accepts, as common token servers do; a longer one gets 414.
const MaxTokenURL = 8 << 10

// TokenAuth is an in-memory registry behind Bearer token authentication, as
// ghcr.io and Docker Hub use: /v2/ answers 401 with a token realm, and the
// token endpoint hands out tokens for the scopes asked for in its URL.
type TokenAuth struct {
	*Server
	mu       sync.Mutex
	requests []TokenRequest
}

// TokenRequest is one request to the token endpoint.
type TokenRequest struct {
	// URLLength is the length of the request URI, query included.
	URLLength int
	// Scopes are the scopes asked for.
	Scopes []string
	// Refused is set when the URL was too long.
	Refused bool
}

// TokenRequests returns the token requests made so far.
func (s *TokenAuth) TokenRequests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TokenRequest(nil), s.requests...)
}

// StartTokenAuth starts a token-authenticated in-memory registry for the
// test and stops it when the test ends. Any token it issued is accepted.
func StartTokenAuth(t testing.TB) *TokenAuth {
	t.Helper()
	s := &TokenAuth{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	mux := http.NewServeMux()
	var addr string
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		req := TokenRequest{URLLength: len(r.RequestURI), Scopes: r.URL.Query()["scope"]}
		req.Refused = req.URLLength > MaxTokenURL
		s.mu.Lock()
		s.requests = append(s.requests, req)
		s.mu.Unlock()
		if req.Refused {
			http.Error(w, "URI too long", http.StatusRequestURITooLong)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": "test-token"})
	})
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer test-token" {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="registrytest"`, addr))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		reg.ServeHTTP(w, r)
	})
	s.Server = serve(t, "token registry", mux)
	addr = s.Addr
	return s
}
