package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Khan/genqlient/graphql"
	"github.com/dagger/querybuilder"

	_ "github.com/molecule-ai/promote/internal/clientenv"
	"github.com/molecule-ai/promote/internal/dagger"
	"github.com/molecule-ai/promote/internal/registrytest"
)

// fakeEngine answers the Dagger API requests of the generated client in
// place of an engine, and records the context each came with. The client's
// own query builder makes the requests, so what is recorded is what an
// engine would get.
type fakeEngine struct {
	// answers holds the value of each field a request ends with; an
	// error value fails the request.
	answers map[string]any

	mu    sync.Mutex
	calls []engineCall
}

// engineCall is one request: the field it ends with, and its deadline.
type engineCall struct {
	field       string
	deadline    time.Time
	hasDeadline bool
}

// MakeRequest implements graphql.Client.
func (e *fakeEngine) MakeRequest(ctx context.Context, req *graphql.Request, resp *graphql.Response) error {
	fields := queryFields(req.Query)
	if len(fields) == 0 {
		return fmt.Errorf("fake engine: no field in %q", req.Query)
	}
	leaf := fields[len(fields)-1]
	deadline, ok := ctx.Deadline()
	e.mu.Lock()
	e.calls = append(e.calls, engineCall{field: leaf, deadline: deadline, hasDeadline: ok})
	e.mu.Unlock()
	answer, ok := e.answers[leaf]
	if !ok {
		return fmt.Errorf("fake engine: no answer for %s", leaf)
	}
	if err, ok := answer.(error); ok {
		return err
	}
	for i := len(fields) - 1; i >= 0; i-- {
		answer = map[string]any{fields[i]: answer}
	}
	data, err := json.Marshal(answer)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, resp.Data)
}

// queryFields returns the fields a query selects, outermost first, leaving
// out inline fragments, which add no level to the response: for
// `query Query {node(id:"x"){... on Service{endpoint}}}`, node and endpoint.
func queryFields(query string) []string {
	_, body, _ := strings.Cut(query, "{")
	var fields []string
	for _, part := range strings.Split(body, "{") {
		part = strings.TrimSpace(strings.TrimRight(part, "}"))
		if part == "" || strings.HasPrefix(part, "...") {
			continue
		}
		name, _, _ := strings.Cut(part, "(")
		fields = append(fields, name)
	}
	return fields
}

// root is the query every object of the fake engine starts from.
func (e *fakeEngine) root() *querybuilder.Selection {
	return querybuilder.Query().Client(e)
}

// TestTimeoutBoundsTheModulesOwnDaggerCalls checks that the timeout bounds
// the Dagger calls the module makes before the core runs: reading a
// secret, starting a service, reading a key file, and copying the git
// history out of --source. Each must reach the engine with the deadline.
func TestTimeoutBoundsTheModulesOwnDaggerCalls(t *testing.T) {
	t.Parallel()
	const timeout = time.Hour
	errNoCopy := errors.New("fake engine: no copy")
	tests := []struct {
		name string
		// call runs the module against e; an error fails the test.
		call func(e *fakeEngine, reg *registrytest.Server) error
		want []string // fields requested
	}{
		{
			name: "secret and registry service",
			call: func(e *fakeEngine, reg *registrytest.Server) error {
				e.answers["endpoint"] = reg.Addr
				m := New([]string{"registry.test/acme/app"}, "", nil, nil).
					WithRegistryAuth("registry.test", "bot", (&dagger.Secret{}).WithGraphQLQuery(e.root())).
					WithRegistryService("registry.test", (&dagger.Service{}).WithGraphQLQuery(e.root()))
				m.Status(context.Background(), timeout.String()) // its outcome is not the point
				return nil
			},
			want: []string{"plaintext", "start", "endpoint"},
		},
		{
			name: "public key",
			call: func(e *fakeEngine, _ *registrytest.Server) error {
				m := New([]string{"registry.test/acme/app"}, "", nil, nil).
					WithPublicKey((&dagger.File{}).WithGraphQLQuery(e.root()), false)
				m.Verify(context.Background(), newCommit, timeout.String(), false) // refuses the key
				return nil
			},
			want: []string{"contents"},
		},
		{
			name: "git history of --source",
			call: func(e *fakeEngine, _ *registrytest.Server) error {
				e.answers["export"] = errNoCopy
				m := New([]string{"registry.test/acme/app"}, "", nil, nil)
				_, err := m.Promote(context.Background(), newCommit, false, false, true, (&dagger.Directory{}).WithGraphQLQuery(e.root()), timeout.String(), false, "", "", false)
				if !errors.Is(err, errNoCopy) {
					return fmt.Errorf("promote did not stop at the copy: %v", err)
				}
				return nil
			},
			want: []string{"exists", "export"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &fakeEngine{answers: map[string]any{
				"plaintext": "not-a-real-token", "start": "service-id", "contents": "not a key", "exists": true,
			}}
			before := time.Now()
			if err := tt.call(e, registrytest.InProcess(t)); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			var fields []string
			for _, c := range e.calls {
				fields = append(fields, c.field)
				switch {
				case !c.hasDeadline:
					t.Errorf("%s reached the engine without a deadline", c.field)
				case c.deadline.Before(before.Add(timeout)) || c.deadline.After(after.Add(timeout)):
					t.Errorf("%s reached the engine with the deadline %v, want %v after the call began", c.field, c.deadline, timeout)
				}
			}
			if !slices.Equal(fields, tt.want) {
				t.Errorf("the engine got %q, want %q", fields, tt.want)
			}
		})
	}
}
