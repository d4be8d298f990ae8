#!/usr/bin/env bash
# phase.sh - run one phase of `make test`, timed, and record the result.
#
# Usage: scripts/phase.sh SUMMARY NAME COMMAND [ARG...]
#        scripts/phase.sh --report SUMMARY
#
# The first form prints a banner, runs COMMAND with its output untouched,
# and appends "NAME STATUS SECONDS" to the file SUMMARY; it exits with
# COMMAND's status. The second prints the table of all recorded phases.
set -uo pipefail

if [[ ${1:-} == --report ]]; then
	summary=$2
	echo
	echo "==== timing summary"
	total=0
	while read -r name status secs; do
		printf '  %-14s %-5s %8.1fs\n' "$name" "$status" "$secs"
		total=$(awk -v a="$total" -v b="$secs" 'BEGIN{print a+b}')
	done <"$summary"
	printf '  %-14s %-5s %8.1fs\n' total "" "$total"
	if awk -v t="$total" 'BEGIN{exit !(t > 1800)}'; then
		echo "==== WARNING: over the 30-minute budget of make test (the hard limit on 2 cores is 35)"
	fi
	if grep -q ' FAIL ' "$summary"; then
		echo "==== FAIL: $(awk '$2=="FAIL"{printf "%s ", $1}' "$summary")"
	else
		echo "==== PASS"
	fi
	exit 0
fi

summary=$1 name=$2
shift 2
echo
echo "==== $name: $*"
t0=$(date +%s.%N)
"$@"
rc=$?
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
status=ok
((rc == 0)) || status=FAIL
echo "==== $name: $status in ${secs}s"
echo "$name $status $secs" >>"$summary"
exit "$rc"
