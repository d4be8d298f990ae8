#!/usr/bin/env bash
# test-kernel.sh - run the TestKernel* tests inside throw-away QEMU VMs.
#
# Usage: scripts/test-kernel.sh [--bench] [--pkg DIR]... [go test flags...]
#
# With --bench it runs the BenchmarkKernel* benchmarks instead (make bench).
# With --pkg (repeatable; e.g. --pkg ./examples/agent) only those of the
# packages below run.
#
# Packages are those with a `func TestKernel...` in a *_test.go file. The
# VM kernel and initramfs come from internal/vmtest/build.sh (cached after
# the first build); every test binary is built with CGO_ENABLED=0 and run
# by internal/vmtest/vm-exec.sh in its own VM (where VMTEST=1).
# With no kernel tests it succeeds; with kernel tests but no VM harness it
# fails.
#
# Packages with kernel tests that need ZooKeeper (named
# TestKernel...ZooKeeper...) get a real one: unless HIVENET_ZK_SERVERS is
# already set, a standalone server is started on the host's 127.0.0.1
# (internal/zktest/cmd/zkserver) and stopped when this script exits. Those
# packages run in a go test of their own with HIVENET_ZK_SERVERS naming it
# and VM_NET=user (qemu user networking, in which vm-exec.sh rewrites
# 127.0.0.1:PORT to 10.0.2.2:PORT, the host's loopback as seen from the
# guest); the others run without a network. If the server cannot be
# started the script fails (it never skips those tests).
#
# The commands the kernel tests run as a user would — examples/cluster
# and examples/hivectl — are built (CGO_ENABLED=0) into a directory under
# the repository (shared with the VM at the same path) named to the tests
# by HIVENET_E2E_BIN; a test that needs them fails without it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

what=TestKernel
if [[ ${1:-} == --bench ]]; then
	what=BenchmarkKernel
	shift
fi
only=()
while [[ ${1:-} == --pkg ]]; do
	(($# >= 2)) || { echo "test-kernel: --pkg needs a package directory" >&2; exit 2; }
	only+=("./${2#./}")
	shift 2
done

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
for d in "${dirs[@]}"; do
	d="./${d#./}"
	if ((${#only[@]} > 0)) && [[ " ${only[*]%/} " != *" $d "* ]]; then
		continue
	fi
	pkgs+=("$d")
done
if ((${#pkgs[@]} == 0)); then
	echo "test-kernel: none of ${only[*]} has a $what" >&2
	exit 1
fi
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

zkpid=
zkdir=
zkservers=${HIVENET_ZK_SERVERS:-}
bindir=
stop_zk() {
	if [[ -n $zkpid ]]; then
		kill -TERM "$zkpid" 2>/dev/null
		wait "$zkpid" 2>/dev/null
		zkpid=
	fi
	[[ -n $zkdir ]] && rm -rf "$zkdir"
	[[ -n $bindir ]] && rm -rf "$bindir"
	return 0
}
trap stop_zk EXIT

# The commands, for the tests that run them in the VM.
mkdir -p "$repo/.cache"
bindir=$(mktemp -d "$repo/.cache/e2e-bin.XXXXXX")
t0=$(date +%s.%N)
CGO_ENABLED=0 go build -o "$bindir/" ./examples/cluster ./examples/hivectl
export HIVENET_E2E_BIN=$bindir
echo "test-kernel: cluster and hivectl for the VM in $bindir ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1fs", b-a}'))"
# Packages whose kernel tests need ZooKeeper run apart, with user networking.
zkpkgs=()
plain=()
for p in "${pkgs[@]}"; do
	if grep -q -E "^func ${what}[A-Za-z0-9_]*ZooKeeper[A-Za-z0-9_]*\\(" "$p"/*_test.go 2>/dev/null; then
		zkpkgs+=("$p")
	else
		plain+=("$p")
	fi
done
if ((${#zkpkgs[@]} > 0)) && [[ -z ${HIVENET_ZK_SERVERS:-} ]]; then
	zkdir=$(mktemp -d "${TMPDIR:-/tmp}/hivenet-test-kernel-zk.XXXXXX")
	go build -o "$zkdir/zkserver" ./internal/zktest/cmd/zkserver
	"$zkdir/zkserver" -connect-file "$zkdir/connect" >"$zkdir/zkserver.log" 2>&1 &
	zkpid=$!
	for ((i = 0; i < 1200; i++)); do
		[[ -s $zkdir/connect ]] && break
		if ! kill -0 "$zkpid" 2>/dev/null; then
			wait "$zkpid" 2>/dev/null
			zkpid=
			break
		fi
		sleep 0.1
	done
	if [[ ! -s $zkdir/connect ]]; then
		echo "test-kernel: cannot start ZooKeeper for ${zkpkgs[*]}:" >&2
		sed 's/^/  | /' "$zkdir/zkserver.log" >&2
		exit 1
	fi
	zkservers=$(<"$zkdir/connect")
	echo "test-kernel: ZooKeeper for ${zkpkgs[*]} on $zkservers (10.0.2.2 in the VM)"
fi

if [[ $what == BenchmarkKernel ]]; then
	flags=(-run '^$' -bench '^BenchmarkKernel' -benchmem)
else
	flags=(-run '^TestKernel')
fi
rc=0
if ((${#plain[@]} > 0)); then
	CGO_ENABLED=0 go test -count=1 -exec "$exec_wrapper" "${flags[@]}" "$@" "${plain[@]}" || rc=1
fi
if ((${#zkpkgs[@]} > 0)); then
	HIVENET_ZK_SERVERS=$zkservers VM_NET=user CGO_ENABLED=0 go test -count=1 -exec "$exec_wrapper" "${flags[@]}" "$@" "${zkpkgs[@]}" || rc=1
fi
exit $rc
