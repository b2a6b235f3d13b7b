package registrytest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// instanceHeader is a response header that each started registry sends with
// a value of its own, so that the readiness check can tell our registry from
// another process that happens to hold the same port.
const instanceHeader = "X-Registrytest-Instance"

// registryFiles describes the files that configure one registry process.
type registryFiles struct {
	addr      string // host:port to listen on
	instance  string // value of instanceHeader
	secret    string // http.secret, which signs upload state
	storage   string // filesystem driver root directory
	htpasswd  string // htpasswd path; "" leaves auth off
	delete    bool   // storage.delete.enabled
	readOnly  bool   // storage.maintenance.readonly.enabled
	logLevel  string // log.level
	realmName string // basic-auth realm
}

// configYAML renders the registry configuration. Every string is written as
// a double-quoted YAML scalar with Go's %q: each escape that %q produces is
// also a valid YAML escape.
func (f registryFiles) configYAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 0.1\n")
	fmt.Fprintf(&b, "log:\n  level: %q\n  formatter: text\n  accesslog:\n    disabled: true\n", f.logLevel)
	fmt.Fprintf(&b, "storage:\n  filesystem:\n    rootdirectory: %q\n", f.storage)
	fmt.Fprintf(&b, "  delete:\n    enabled: %t\n", f.delete)
	if f.readOnly {
		fmt.Fprintf(&b, "  maintenance:\n    readonly:\n      enabled: true\n")
	}
	fmt.Fprintf(&b, "http:\n  addr: %q\n  secret: %q\n", f.addr, f.secret)
	fmt.Fprintf(&b, "  headers:\n    %s: [%q]\n", instanceHeader, f.instance)
	if f.htpasswd != "" {
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: %q\n    path: %q\n", f.realmName, f.htpasswd)
	}
	return b.String()
}

// writeConfig writes the configuration into dir and returns its path.
func (f registryFiles) writeConfig(dir string) (string, error) {
	path := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(path, []byte(f.configYAML()), 0o600); err != nil {
		return "", fmt.Errorf("write registry configuration: %w", err)
	}
	return path, nil
}

// writeHtpasswd writes an htpasswd file holding one bcrypt entry, the only
// hash format that distribution accepts, and returns its path.
func writeHtpasswd(dir, username, password string) (string, error) {
	if strings.ContainsAny(username, ":\n") {
		return "", fmt.Errorf("username %q cannot be used in an htpasswd file: it contains a colon or a newline", username)
	}
	// The lowest cost keeps start-up and every authenticated request fast;
	// these credentials guard nothing.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return "", fmt.Errorf("hash the registry password: %w", err)
	}
	path := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(path, []byte(username+":"+string(hash)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write htpasswd file: %w", err)
	}
	return path, nil
}
