// Package benchcpu reports the CPU time a benchmark's process spends per
// operation ("cpu-ns/op", user plus system time of every thread, the
// garbage collector's included), next to the wall-clock ns/op. On a shared
// machine the wall clock also counts the time other programs hold the
// cores; the CPU time does not, so ratios between benchmarks measured in
// one run stay meaningful under load. It is internal: benchmarks of the
// simulation and the agent share it (scripts/bench-ratios.sh reads the
// metric).
package benchcpu
