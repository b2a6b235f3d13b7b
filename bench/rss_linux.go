package main

import (
	"os"
	"syscall"
)

// maxRSS returns the peak resident set size of an exited process in bytes,
// or -1 when it is not known. Linux reports it in KiB.
func maxRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return -1
	}
	return ru.Maxrss * 1024
}
