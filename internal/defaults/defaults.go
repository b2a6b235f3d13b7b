// Package defaults holds what promote's front ends, the CLI and the Dagger
// module, promote when they are told no images: this project's own. The
// core takes no default repositories, so that a program built on it never
// promotes another organisation's images by accident.
package defaults

// Repositories returns the images that the CLI and the module promote when
// none are given.
func Repositories() []string {
	return []string{"ghcr.io/molecule-ai/platform", "ghcr.io/molecule-ai/platform-tenant"}
}
