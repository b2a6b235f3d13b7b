//go:build !linux

package main

import (
	"os"
	"syscall"
)

// childAttr sets nothing outside Linux.
func childAttr() *syscall.SysProcAttr { return nil }

// peakRSS returns -1: peak memory is measured on Linux only.
func peakRSS(*os.ProcessState) int64 { return -1 }
