//go:build unix

package topology

import (
	"syscall"
	"testing"
	"time"
)

// reportCPU reports, when called at the end of a benchmark with the value
// returned at its start, the process CPU time per operation (all threads,
// GC included) as "cpu-ns/op". On a loaded machine wall-clock ns/op
// includes time spent waiting for a CPU; cpu-ns/op does not.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if n := b.N; n > 0 {
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(n), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
