//go:build !linux

package main

import "os"

// maxRSS returns -1: peak memory is measured on Linux only.
func maxRSS(*os.ProcessState) int64 { return -1 }
