package benchcpu

import (
	"runtime"
	"testing"
	"time"
)

func TestProcessCPUCountsWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no process CPU time here")
	}
	before, ok := processCPU()
	if !ok {
		t.Fatal("no process CPU time on a unix system")
	}
	// Spin until the process clock has advanced by 20ms of CPU time (or
	// give up after 10s of wall time: the test then fails).
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for time.Now().Before(deadline) {
		for i := range 1_000_000 {
			x += i
		}
		if now, _ := processCPU(); now-before >= 20*time.Millisecond {
			return
		}
	}
	t.Fatalf("process CPU time did not advance by 20ms while spinning (%d)", x)
}

func TestStartReportsMetric(t *testing.T) {
	r := testing.Benchmark(func(b *testing.B) {
		defer Start(b)()
		for b.Loop() {
			x := 0
			for i := range 1000 {
				x += i
			}
			_ = x
		}
	})
	v, ok := r.Extra[Metric]
	if !ok {
		t.Fatalf("no %s metric in %v", Metric, r.Extra)
	}
	if v <= 0 {
		t.Errorf("%s = %v, want > 0", Metric, v)
	}
}
