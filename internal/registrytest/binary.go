package registrytest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// BinaryEnv names the environment variable that overrides the path of the
// distribution registry executable.
const BinaryEnv = "PROMOTE_REGISTRY_BIN"

// defaultBinary is the name of the distribution registry executable that
// Debian's docker-registry package installs.
const defaultBinary = "docker-registry"

// findBinary resolves the registry executable: explicit wins, then the
// BinaryEnv environment variable, then docker-registry from PATH.
func findBinary(explicit string) (string, error) {
	if explicit != "" {
		return lookPath(explicit, "DistributionConfig.Binary")
	}
	if env := os.Getenv(BinaryEnv); env != "" {
		return lookPath(env, BinaryEnv)
	}
	path, err := exec.LookPath(defaultBinary)
	if err != nil {
		return "", errors.New(defaultBinary + ` not found in PATH: install it with "apt-get install docker-registry"`)
	}
	return path, nil
}

// lookPath resolves a registry executable that source (a setting's name)
// asked for.
func lookPath(file, source string) (string, error) {
	path, err := exec.LookPath(file)
	if err != nil {
		return "", fmt.Errorf("registry executable %q from %s cannot be used: %w", file, source, err)
	}
	return path, nil
}
