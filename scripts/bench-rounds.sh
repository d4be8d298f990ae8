#!/usr/bin/env bash
# bench-rounds.sh [ROUNDS] - the target ratios measured in one run, the
# way the README states them: ROUNDS (default 5) interleaved rounds of
# BenchmarkFlowSetup (one million new flows each), BenchmarkSimulateL3 and
# BenchmarkGopacketDLP, so that a machine whose speed drifts during the run
# (other programs, other virtual machines sharing the memory bus) slows
# every benchmark alike. FlowSetup is memory-bound and the other two are
# not: on a shared host its ratio moves most, so read the medians.
#
# Writes bench/ratios.txt (standard go test -bench output with the load
# average before and after) and prints the ratios (scripts/bench-ratios.sh).
set -euo pipefail
rounds=${1:-5}
go=${GO:-go}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
$go test -c -o "$dir/agent.test" ./datapath/agent
$go test -c -o "$dir/simulation.test" ./simulation
mkdir -p bench
out=bench/ratios.txt.tmp
echo "# load before: $(cat /proc/loadavg 2>/dev/null) on $(nproc 2>/dev/null) cores, $rounds rounds" | tee "$out"
for i in $(seq "$rounds"); do
	"$dir/agent.test" -test.run '^$' -test.bench '^BenchmarkFlowSetup$' -test.benchtime 1000000x |
		grep '^Benchmark' | tee -a "$out"
	"$dir/simulation.test" -test.run '^$' -test.bench '^(BenchmarkSimulateL3|BenchmarkGopacketDLP)$' |
		grep '^Benchmark' | tee -a "$out"
done
echo "# load after: $(cat /proc/loadavg 2>/dev/null)" | tee -a "$out"
mv "$out" bench/ratios.txt
echo "bench-rounds: wrote bench/ratios.txt"
scripts/bench-ratios.sh bench/ratios.txt
