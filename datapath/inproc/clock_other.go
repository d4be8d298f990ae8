//go:build !linux

package inproc

import "time"

// monotonicClock measures from the datapath's creation where
// CLOCK_MONOTONIC is not available.
func monotonicClock() func() time.Duration {
	start := time.Now()
	return func() time.Duration { return time.Since(start) }
}
