package promote

import (
	"runtime/debug"
	"strconv"
)

const (
	modulePath   = "github.com/molecule-ai/promote"
	registryPath = "github.com/google/go-containerregistry"
)

// Version is the version of this module as the Go build recorded it, such
// as "v0.3.0", or "(devel)" for a build from a work tree.
func Version() string { return buildVersion(modulePath) }

// RegistryLibraryVersion is the version of go-containerregistry built in.
func RegistryLibraryVersion() string { return buildVersion(registryPath) }

func buildVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	if info.Main.Path == path {
		return info.Main.Version
	}
	for _, d := range info.Deps {
		if d.Path == path {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return "(unknown)"
}

func itoa(n int) string { return strconv.Itoa(n) }
