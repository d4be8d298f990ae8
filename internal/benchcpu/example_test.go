package benchcpu_test

import (
	"testing"

	"github.com/hivenet/hivenet/internal/benchcpu"
)

// A benchmark reports its CPU time per operation next to ns/op.
func Example() {
	_ = testing.Benchmark(func(b *testing.B) {
		defer benchcpu.Start(b)()
		for b.Loop() {
			_ = make([]byte, 64)
		}
	})
}
