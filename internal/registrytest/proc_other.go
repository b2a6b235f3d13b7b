//go:build !linux

package registrytest

import "syscall"

// sysProcAttr returns no special attributes where the kernel cannot tie the
// registry's life to the test process.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
