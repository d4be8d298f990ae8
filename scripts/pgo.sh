#!/usr/bin/env bash
# pgo.sh - regenerate examples/agent/default.pgo, the CPU profile the go
# command applies when it builds the agent (profile-guided optimization,
# go help build: -pgo auto). The profile is the agent's hot path: new-flow
# setup through the whole agent on the in-process datapath
# (BenchmarkFlowSetup, two million flows) merged with the simulation of a
# routed, filtered packet (BenchmarkSimulateL3, 5 s), both built without
# PGO. About a minute. Rerun it when the new-flow path changes much; a
# stale profile still builds, it only optimizes less.
set -euo pipefail
go=${GO:-go}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
$go test -pgo=off -c -o "$dir/agent.test" ./datapath/agent
$go test -pgo=off -c -o "$dir/simulation.test" ./simulation
"$dir/agent.test" -test.run '^$' -test.bench '^BenchmarkFlowSetup$' -test.benchtime 2000000x \
	-test.cpuprofile "$dir/flowsetup.prof" | grep '^Benchmark'
"$dir/simulation.test" -test.run '^$' -test.bench '^BenchmarkSimulateL3$' -test.benchtime 5s \
	-test.cpuprofile "$dir/simulate.prof" | grep '^Benchmark'
$go tool pprof -proto "$dir/flowsetup.prof" "$dir/simulate.prof" > "$dir/merged.pgo"
mv "$dir/merged.pgo" examples/agent/default.pgo
echo "pgo: wrote examples/agent/default.pgo ($(wc -c < examples/agent/default.pgo) bytes)"
