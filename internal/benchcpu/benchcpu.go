package benchcpu

import "testing"

// Metric is the unit of the reported metric.
const Metric = "cpu-ns/op"

// Start starts measuring; the returned function, called once the
// benchmark's b.N operations are done (before it returns), reports the
// process CPU time per operation as Metric. Where the process CPU time is
// unknown it reports nothing.
func Start(b *testing.B) (stop func()) {
	start, ok := processCPU()
	return func() {
		end, ok2 := processCPU()
		if !ok || !ok2 || b.N == 0 {
			return
		}
		b.ReportMetric(float64(end-start)/float64(b.N), Metric)
	}
}
