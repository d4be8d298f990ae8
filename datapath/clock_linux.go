//go:build linux

package datapath

import (
	"time"

	"golang.org/x/sys/unix"
)

// MonotonicClock returns a clock reading CLOCK_MONOTONIC, the clock of the
// kernel's flow "used" times. The clock is read with a system call once;
// later readings add Go's monotonic time elapsed since (itself
// CLOCK_MONOTONIC through the vDSO), which keeps the packet path free of
// system calls.
func MonotonicClock() func() time.Duration {
	var ts unix.Timespec
	start := time.Now()
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return func() time.Duration { return time.Since(start) }
	}
	base := time.Duration(ts.Nano())
	return func() time.Duration { return base + time.Since(start) }
}
