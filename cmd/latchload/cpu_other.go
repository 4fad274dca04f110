//go:build !unix

package main

import (
	"errors"
	"time"
)

// cpuTime is not measured on this platform.
func cpuTime() time.Duration { return 0 }

// processCPU is not available on this platform.
func processCPU(pid int) (time.Duration, error) {
	return 0, errors.New("-pid needs Linux /proc")
}
