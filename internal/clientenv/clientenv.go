// Package clientenv lets the module's unit tests run without a Dagger engine.
//
// The generated Dagger client reads its session's port and token from the
// environment when its package is initialized, and panics without them. A
// test that imports this package for its side effect gets a placeholder
// session set first: Go initializes packages in import-path order once their
// own imports are ready, and "internal/clientenv" sorts before
// "internal/dagger". The placeholder is never dialed, so a test that reached
// the engine would fail loudly instead of silently talking to one.
package clientenv

import "os"

func init() {
	for k, v := range map[string]string{"DAGGER_SESSION_PORT": "1", "DAGGER_SESSION_TOKEN": "unit-test-without-engine"} {
		if _, ok := os.LookupEnv(k); !ok {
			os.Setenv(k, v)
		}
	}
}
