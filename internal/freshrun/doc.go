// Package freshrun benchmarks a command as its user runs it: one fresh
// process per operation, so that what a long benchmark hides (heap growth
// from nothing, the kernel faulting memory in, the collector's first
// cycles) is counted, with the process's peak resident memory.
//
// # Why internal/freshrun
//
// The examples' benchmarks of their commands use it; it is a test helper,
// no API for users.
//
// # Entry point
//
// A command's test file re-executes its own test binary as the command:
//
//	func TestMain(m *testing.M) {
//		freshrun.Main(func() int { return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr) })
//		os.Exit(m.Run())
//	}
//
//	func BenchmarkFresh(b *testing.B) {
//		freshrun.Bench(b, "-f", "large.yaml")
//	}
package freshrun
