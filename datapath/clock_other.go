//go:build !linux

package datapath

import "time"

// MonotonicClock returns a clock measuring from its own creation where
// CLOCK_MONOTONIC is not available (Flow.Used values are then on the
// datapath's own clock).
func MonotonicClock() func() time.Duration {
	start := time.Now()
	return func() time.Duration { return time.Since(start) }
}
