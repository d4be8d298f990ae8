#!/usr/bin/env bash
# bench-rounds.sh [ROUNDS] - the target ratios measured in one run, the
# way the README states them: ROUNDS (default 5) interleaved rounds of
# BenchmarkFlowSetup (one million new flows each), BenchmarkSimulateL3 and
# BenchmarkGopacketDLP, so that a machine whose speed drifts during the run
# (other programs, other virtual machines sharing the memory bus) slows
# every benchmark alike. FlowSetup is memory-bound and the other two are
# not: on a shared host its ratio moves most, so read the medians.
#
# Each round runs the benchmarks twice: built as a library user builds
# them (no profile-guided optimization), and built with the agent's
# profile, examples/agent/default.pgo, the way the go command builds the
# agent command (scripts/pgo.sh).
#
# Writes bench/ratios.txt (without PGO) and bench/ratios-pgo.txt (with
# it), standard go test -bench output with the load average before and
# after, and prints the ratios of both (scripts/bench-ratios.sh).
set -euo pipefail
rounds=${1:-5}
go=${GO:-go}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pgo=examples/agent/default.pgo
$go test -pgo=off -c -o "$dir/agent.test" ./datapath/agent
$go test -pgo=off -c -o "$dir/simulation.test" ./simulation
$go test -pgo="$pgo" -c -o "$dir/agent-pgo.test" ./datapath/agent
$go test -pgo="$pgo" -c -o "$dir/simulation-pgo.test" ./simulation
mkdir -p bench
head="# load before: $(cat /proc/loadavg 2>/dev/null) on $(nproc 2>/dev/null) cores, $rounds rounds"
echo "$head, built without PGO" > "$dir/plain.txt"
echo "$head, built with $pgo" > "$dir/pgo.txt"
for i in $(seq "$rounds"); do
	for v in plain pgo; do
		suffix=
		[ "$v" = pgo ] && suffix=-pgo
		echo "round $i, $v:"
		"$dir/agent$suffix.test" -test.run '^$' -test.bench '^BenchmarkFlowSetup$' -test.benchtime 1000000x |
			grep '^Benchmark' | tee -a "$dir/$v.txt"
		"$dir/simulation$suffix.test" -test.run '^$' -test.bench '^(BenchmarkSimulateL3|BenchmarkGopacketDLP)$' |
			grep '^Benchmark' | tee -a "$dir/$v.txt"
	done
done
tail="# load after: $(cat /proc/loadavg 2>/dev/null)"
echo "$tail" >> "$dir/plain.txt"
echo "$tail" >> "$dir/pgo.txt"
mv "$dir/plain.txt" bench/ratios.txt
mv "$dir/pgo.txt" bench/ratios-pgo.txt
echo "bench-rounds: wrote bench/ratios.txt and bench/ratios-pgo.txt"
echo "without PGO:"
scripts/bench-ratios.sh bench/ratios.txt
echo "with PGO (the agent as the go command builds it):"
scripts/bench-ratios.sh bench/ratios-pgo.txt
