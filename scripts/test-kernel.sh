#!/usr/bin/env bash
# test-kernel.sh - run the TestKernel* tests inside throw-away QEMU VMs.
#
# Usage: scripts/test-kernel.sh [--bench] [go test flags...]
#
# With --bench it runs the BenchmarkKernel* benchmarks instead (make bench).
#
# Packages are those with a `func TestKernel...` in a *_test.go file. The
# VM kernel and initramfs come from internal/vmtest/build.sh (cached after
# the first build); every test binary is built with CGO_ENABLED=0 and run
# by internal/vmtest/vm-exec.sh in its own VM (where VMTEST=1).
# With no kernel tests it succeeds; with kernel tests but no VM harness it
# fails.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

what=TestKernel
if [[ ${1:-} == --bench ]]; then
	what=BenchmarkKernel
	shift
fi

mapfile -t dirs < <(
	find . \( -name .git -o -name .cache -o -name testdata -o -name vendor -o -name '_*' \) -prune -o \
		-name '*_test.go' -type f -print0 |
		xargs -0 -r grep -l -E "^func ${what}[A-Za-z0-9_]*\\(" |
		xargs -r -n1 dirname | sort -u
)
if ((${#dirs[@]} == 0)); then
	echo "test-kernel: no $what found; nothing to run"
	exit 0
fi
pkgs=()
for d in "${dirs[@]}"; do pkgs+=("./${d#./}"); done
echo "test-kernel: packages with $what: ${pkgs[*]}"

build=$repo/internal/vmtest/build.sh
exec_wrapper=$repo/internal/vmtest/vm-exec.sh
if [[ ! -x $build || ! -x $exec_wrapper ]]; then
	echo "test-kernel: VM harness not present (need executable internal/vmtest/build.sh and vm-exec.sh)" >&2
	exit 1
fi

t0=$(date +%s.%N)
"$build"
echo "test-kernel: VM image ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1fs", b-a}')"

if [[ $what == BenchmarkKernel ]]; then
	CGO_ENABLED=0 go test -count=1 -exec "$exec_wrapper" -run '^$' -bench '^BenchmarkKernel' -benchmem "$@" "${pkgs[@]}"
else
	CGO_ENABLED=0 go test -count=1 -exec "$exec_wrapper" -run '^TestKernel' "$@" "${pkgs[@]}"
fi
