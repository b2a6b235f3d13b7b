package main

import (
	"os"
	"syscall"
)

// childAttr makes the command die with this process, so that a benchmark
// that gives up on a run leaves nothing behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// peakRSS returns the peak resident set size of an exited process in
// bytes, or -1 when it is not known. Linux reports it in KiB.
func peakRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return -1
	}
	return ru.Maxrss * 1024
}
