#!/usr/bin/env bash
# fuzz.sh - run every native Go fuzz target of the module.
#
# Usage: scripts/fuzz.sh [PACKAGE...]     (default ./...)
# Environment: FUZZTIME (default 7s) - the -fuzztime of each target;
# FUZZMINIMIZETIME (default 2s) - the -fuzzminimizetime of each target.
#
# Go minimizes every input that widens coverage before counting it, for up
# to a minute by default, and reports no progress meanwhile. On a target
# whose inputs are kilobytes (a flow-state file of blocks) one minimization
# took longer than FUZZTIME: the run fuzzed a few dozen inputs and ended on
# the deadline race below. Two seconds keeps minimizing useful and leaves
# the time to fuzzing (FuzzLoadFile: 10,000-15,000 inputs in 7 s instead of
# 22).
#
# Targets are discovered with `go test -list '^Fuzz'`; since `go test -fuzz`
# accepts one target per invocation, each runs on its own. All targets run
# even when one fails; new failing inputs land in the package's
# testdata/fuzz/<Target>/ (commit them as regression seeds). Exits non-zero
# if any target failed.
#
# Go before 1.27 can fail a target at the -fuzztime boundary with a bare
# "context deadline exceeded" and no failing input when the machine is
# loaded (a race in the fuzz coordinator, go.dev/issue/75804). Such a run
# found nothing, so the target is run once more and only the second result
# counts; the summary says "retried". A written failing input always fails.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-7s}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-2s}
pkgs=("$@")
((${#pkgs[@]})) || pkgs=(./...)

if ! list=$(go test -list '^Fuzz' "${pkgs[@]}" 2>&1); then
	echo "$list"
	echo "fuzz: go test -list failed" >&2
	exit 1
fi

# -list prints a package's matching names, then its "ok  <pkg>  <time>" line.
targets=()
pending=()
while IFS= read -r line; do
	case $line in
	Fuzz*) pending+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in ${pending[@]+"${pending[@]}"}; do targets+=("$pkg $n"); done
		pending=()
		;;
	*) pending=() ;;
	esac
done <<<"$list"

if ((${#targets[@]} == 0)); then
	echo "fuzz: no fuzz targets found"
	exit 0
fi
echo "fuzz: ${#targets[@]} targets, -fuzztime=$FUZZTIME -fuzzminimizetime=$FUZZMINIMIZETIME each"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# fuzz_one PKG NAME runs one target, echoing its output and keeping it in $out.
fuzz_one() {
	set -o pipefail
	go test -run '^$' -fuzz "^${2}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "$1" 2>&1 | tee "$out"
}

failed=()
report=()
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "--- fuzz $pkg $name"
	t0=$(date +%s.%N)
	status=ok
	if ! fuzz_one "$pkg" "$name"; then
		if [[ $(tail -n 8 "$out") == *"context deadline exceeded"* && $(grep -c 'Failing input\|testdata/fuzz/' "$out") == 0 ]]; then
			echo "fuzz: $name stopped on the coordinator's deadline race (go.dev/issue/75804) without a failing input; running it again"
			status=retried
			fuzz_one "$pkg" "$name" || { status=FAIL; failed+=("$pkg.$name"); }
		else
			status=FAIL
			failed+=("$pkg.$name")
		fi
	fi
	report+=("$(printf '  %-7s %6.1fs  %s %s' "$status" "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$pkg" "$name")")
done

echo "fuzz summary:"
printf '%s\n' "${report[@]}"
if ((${#failed[@]})); then
	echo "fuzz: FAIL: ${failed[*]}"
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets passed"
