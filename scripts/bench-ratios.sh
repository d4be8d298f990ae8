#!/usr/bin/env bash
# bench-ratios.sh FILE... - the performance targets of the benchmarks, as
# ratios between benchmarks measured in one run (go test -bench output,
# such as bench/latest.txt; with -count N the median of each is used):
#
#   FlowSetup / SimulateL3    new-flow setup through the whole agent on the
#                             in-process datapath vs the simulation alone
#                             (target <= 10)
#   SimulateL3 / GopacketDLP  the simulation vs gopacket's
#                             DecodingLayerParser (target <= 5)
#
# Each ratio is given on ns/op (wall clock) and on cpu-ns/op (process CPU
# time, internal/benchcpu), which other programs sharing the cores do not
# inflate; the "# load" lines make bench records (the load average before
# and after) are printed too. When the file holds several rounds of both
# benchmarks of a ratio, each round's wall-clock ratio is printed as
# well, with how many rounds were within the target. Exit status 0 even
# when a target is missed: this reports, it does not gate.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 BENCH-OUTPUT..." >&2; exit 2; }
awk '
function median(name, unit,   n, i, j, t, a) {
	n = cnt[name, unit]
	if (n == 0) return -1
	for (i = 1; i <= n; i++) a[i] = val[name, unit, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function ratio(num, den, target,   u, a, b, line) {
	line = sprintf("%-26s", num " / " den ":")
	split("ns/op cpu-ns/op", units, " ")
	for (u = 1; u <= 2; u++) {
		a = median(num, units[u]); b = median(den, units[u])
		if (a < 0 || b <= 0) { line = line sprintf("  %s n/a", units[u]); continue }
		line = line sprintf("  %s %.1f (%.0f / %.0f)", units[u], a / b, a, b)
	}
	print line "  target <= " target
	rounds(num, den, target)
}
# rounds prints the wall-clock ratio of each round, pairing the i-th
# result of num with the i-th of den, when both ran the same number of
# times (bench-rounds.sh interleaves them), and how many rounds were
# within the target.
function rounds(num, den, target,   n, i, r, k, line) {
	n = cnt[num, "ns/op"]
	if (n < 2 || n != cnt[den, "ns/op"]) return
	k = 0
	for (i = 1; i <= n; i++) {
		r = val[num, "ns/op", i] / val[den, "ns/op", i]
		if (r <= target) k++
		line = line sprintf(" %.1f", r)
	}
	printf "  per round:%s (within the target in %d of %d)\n", line, k, n
}
/^# load/ { print }
/^Benchmark/ {
	name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
	for (i = 3; i + 1 <= NF; i += 2) { c = ++cnt[name, $(i + 1)]; val[name, $(i + 1), c] = $i + 0 }
}
END {
	ratio("FlowSetup", "SimulateL3", 10)
	ratio("SimulateL3", "GopacketDLP", 5)
}' "$@"
