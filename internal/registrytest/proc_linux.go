package registrytest

import "syscall"

// sysProcAttr asks the kernel to kill the registry if the test process dies
// without stopping it, so no registry outlives its test binary.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
