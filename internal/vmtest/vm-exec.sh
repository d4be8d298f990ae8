#!/bin/bash
# vm-exec.sh - run a Go test binary inside a throw-away qemu VM.
#
# Usage (as a go test -exec wrapper, from anywhere in the repository):
#   CGO_ENABLED=0 go test -exec "$PWD/internal/vmtest/vm-exec.sh" -run '^TestKernel' ./pkg/...
#   internal/vmtest/vm-exec.sh BINARY [ARGS...]
#
# The VM boots Debian's kernel (built/cached by build.sh) with qemu TCG, PVH
# entry, and runs BINARY with ARGS in the current directory, as root, with
# VMTEST=1. The Go module root containing $PWD, the binary's directory and
# every absolute directory named by a -test.*=PATH argument (coverage,
# testlog, profiles) are shared with virtio-9p at the same absolute paths, so
# testdata, -cover/-coverprofile and go test's test log work unchanged.
# The binary's stdout+stderr stream to our stdout; we exit with its status.
#
# Environment:
#   VM_NET=user     add qemu user networking: guest eth0 10.0.2.15/24, gateway
#                   10.0.2.2, which reaches the host's 127.0.0.1. Then
#                   127.0.0.1: and localhost: in HIVENET_ZK_SERVERS become
#                   10.0.2.2: in the guest (a ZooKeeper on the host loopback).
#   VM_TIMEOUT      seconds before the VM is killed (default: -test.timeout +
#                   60 s, or 600 s); on timeout we exit 254.
#   VM_MEM, VM_SMP, VM_CPU   qemu -m / -smp / -cpu (512, 1, max).
#   VM_ENV          extra variable names to pass into the guest.
#   VM_KEEP=1       keep the per-run directory (console log) for inspection.
#   VM_BOOT_RETRIES boots retried when the VM dies before the test starts (2).
#   HIVENET_VM_CACHE  artifact cache (see build.sh).
# Passed into the guest: HIVENET_*, GOCOVERDIR, GOTRACEBACK, GODEBUG,
# GOMAXPROCS, GOMEMLIMIT and the names listed in VM_ENV.
#
# Exit status: the binary's; 125 if the guest could not set up (9p, net);
# 254 on timeout or when the VM died without reporting (kernel panic, qemu
# error). In those cases the tail of the console log is printed on stderr.
set -uo pipefail

die() {
	echo "vmtest/vm-exec: $*" >&2
	exit 125
}
(($# >= 1)) || die "usage: vm-exec.sh BINARY [ARGS...]"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${HIVENET_VM_CACHE:-$repo/.cache/vm}

# --- artifacts (fast path without running build.sh) -------------------------
hash=$(cat "$here/build.sh" "$here/init" | sha256sum | cut -c1-12)
art=
for d in $(ls -1dt "$cache"/*-"$hash" 2>/dev/null); do
	[[ -e $d/ready ]] && { art=$d; break; }
done
if [[ -z $art ]]; then
	art=$("$here/build.sh" -q) || die "build.sh failed"
fi
[[ -e $art/vmlinux && -e $art/initrd.gz ]] || die "no kernel/initramfs in $art"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not installed (run build.sh)"

bin=$1
shift
[[ $bin == /* ]] || bin=$PWD/$bin
[[ -x $bin ]] || die "not an executable: $bin"
cwd=$PWD

# --- directories to share ---------------------------------------------------------
modroot=$cwd
while [[ $modroot != / && ! -e $modroot/go.mod ]]; do modroot=$(dirname "$modroot"); done
[[ $modroot == / ]] && modroot=$cwd
dirs=("$modroot" "$(dirname "$bin")")
vmtimeout=${VM_TIMEOUT:-}
testtimeout=
for a in "$@"; do
	case $a in
	-test.timeout=* | --test.timeout=*) testtimeout=${a#*=} ;;
	esac
	case $a in
	-test.*=/* | --test.*=/*)
		p=${a#*=}
		if [[ -d $p ]]; then dirs+=("$p"); else dirs+=("$(dirname "$p")"); fi
		;;
	esac
done
[[ ${GOCOVERDIR:-} == /* ]] && dirs+=("$GOCOVERDIR")

# Go durations like 10m0s, 1h2m3.5s, 90s -> whole seconds.
dur_seconds() {
	local d=$1 total=0 n u
	[[ $d =~ ^([0-9.]+(h|m|s|ms|us|µs|ns))+$ ]] || { echo 0; return; }
	while [[ $d =~ ^([0-9.]+)(h|ms|m|s|us|µs|ns)(.*)$ ]]; do
		n=${BASH_REMATCH[1]} u=${BASH_REMATCH[2]} d=${BASH_REMATCH[3]}
		case $u in
		h) total=$(awk -v t=$total -v n=$n 'BEGIN{print t+n*3600}') ;;
		m) total=$(awk -v t=$total -v n=$n 'BEGIN{print t+n*60}') ;;
		s) total=$(awk -v t=$total -v n=$n 'BEGIN{print t+n}') ;;
		esac
	done
	printf '%.0f\n' "$total"
}
if [[ -z $vmtimeout ]]; then
	vmtimeout=600
	if [[ -n $testtimeout ]]; then
		s=$(dur_seconds "$testtimeout")
		((s > 0)) && vmtimeout=$((s + 60))
	fi
fi

# Keep only the outermost directories; refuse the guest's own mount points.
mapfile -t sorted < <(printf '%s\n' "${dirs[@]}" | LC_ALL=C sort -u)
shares=()
for d in "${sorted[@]}"; do
	d=$(realpath -m "$d")
	while [[ ! -d $d ]]; do d=$(dirname "$d"); done # share what exists
	case $d in
	/ | /proc | /proc/* | /sys | /sys/* | /dev | /dev/* | /run | /run/vmtest*)
		die "cannot share $d with the VM"
		;;
	esac
	[[ $d == *[[:space:]]* ]] && die "cannot share a path with whitespace: $d"
	skip=0
	for s in "${shares[@]}"; do
		[[ $d == "$s" || $d == "$s"/* ]] && skip=1
	done
	((skip)) || shares+=("$d")
done

# --- per-run directory (shared as host0) --------------------------------------
run=$(mktemp -d "${TMPDIR:-/tmp}/hivenet-vm.XXXXXX") || die "mktemp failed"
qpid=
cleanup() {
	[[ -n $qpid ]] && kill "$qpid" 2>/dev/null
	if [[ ${VM_KEEP:-} == 1 ]]; then
		echo "vmtest/vm-exec: kept $run" >&2
	else
		rm -rf "$run"
	fi
}
trap cleanup EXIT
# Print the console log around a kernel panic or guest error if there is
# one, else its last lines.
console_tail() {
	local n=${2:-40} at
	at=$(grep -n -m1 'Kernel panic\|VMTEST-ERROR\|BUG:\|Oops' "$run/console.log" 2>/dev/null | cut -d: -f1)
	if [[ -n $at ]]; then
		echo "vmtest/vm-exec: $1; console log ($run/console.log) from line $((at > 5 ? at - 5 : 1)):" >&2
		tail -n +$((at > 5 ? at - 5 : 1)) "$run/console.log" | head -n "$n"
	else
		echo "vmtest/vm-exec: $1; console log tail ($run/console.log):" >&2
		tail -n "$n" "$run/console.log" 2>/dev/null
	fi | tr -d '\r' | sed 's/^/  | /' >&2
}
on_signal() {
	console_tail "interrupted by signal $1" 15
	exit $((128 + $2))
}
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM
trap 'on_signal QUIT 3' QUIT

virtfs=()
: >"$run/mounts"
i=0
for s in "${shares[@]}"; do
	virtfs+=(-virtfs "local,path=$s,mount_tag=m$i,security_model=none,id=m$i")
	echo "m$i $s" >>"$run/mounts"
	i=$((i + 1))
done

{
	echo "# generated by vm-exec.sh"
	echo "export VMTEST=1"
	for v in $(compgen -e); do
		case $v in
		HIVENET_* | GOCOVERDIR | GOTRACEBACK | GODEBUG | GOMAXPROCS | GOMEMLIMIT) ;;
		*) [[ " ${VM_ENV:-} " == *" $v "* ]] || continue ;;
		esac
		val=${!v}
		if [[ $v == HIVENET_ZK_SERVERS && ${VM_NET:-} == user ]]; then
			val=${val//127.0.0.1:/10.0.2.2:}
			val=${val//localhost:/10.0.2.2:}
		fi
		printf 'export %s=%q\n' "$v" "$val"
	done
	printf 'cd %q || exit 125\n' "$cwd"
	printf 'exec %q' "$bin"
	for a in "$@"; do printf ' %q' "$a"; done
	echo
} >"$run/run.sh"

net=()
if [[ ${VM_NET:-} == user ]]; then
	net=(-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile=)
	: >"$run/net"
elif [[ -n ${VM_NET:-} ]]; then
	die "unknown VM_NET=$VM_NET (supported: user)"
fi

# --- boot --------------------------------------------------------------------
# ttyS0 (kernel console, init messages) goes to console.log; ttyS1 carries the
# test's output and is streamed to our stdout. no_timer_check: under TCG on a
# loaded host the kernel's IO-APIC timer check can fail and panic the boot.
boot() {
	timeout -k 5 "$vmtimeout" qemu-system-x86_64 \
	-accel tcg -cpu "${VM_CPU:-max}" -smp "${VM_SMP:-1}" -m "${VM_MEM:-512}" \
	-nodefaults -no-reboot -display none -monitor none \
	-chardev "file,id=con,path=$run/console.log" -serial chardev:con \
	-chardev stdio,id=out,signal=off -serial chardev:out \
	-kernel "$art/vmlinux" -initrd "$art/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 no_timer_check isa_debug_exit_enable" \
	-virtfs "local,path=$run,mount_tag=host0,security_model=none,id=host0" \
	"${virtfs[@]}" "${net[@]}" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null &
	qpid=$!
	wait "$qpid"
	qrc=$?
	qpid=
}
# A VM that died before starting the test (a boot failure, which a loaded
# host makes more likely) is booted again, up to VM_BOOT_RETRIES times.
tries=$((${VM_BOOT_RETRIES:-2} + 1))
while :; do
	rm -f "$run/exitcode"
	boot
	tries=$((tries - 1))
	((qrc == 124 || qrc == 137)) && break
	[[ -s $run/exitcode ]] && break
	grep -q VMTEST-RUN "$run/console.log" 2>/dev/null && break
	((tries > 0)) || break
	console_tail "VM died during boot (qemu status $qrc), booting again" 8
	mv "$run/console.log" "$run/console.log.$tries"
done

# --- result: exitcode file, console marker, isa-debug-exit, else 254 --------------
rc=
if [[ -s $run/exitcode ]]; then
	rc=$(tr -dc 0-9 <"$run/exitcode")
fi
if [[ -z $rc ]]; then
	rc=$(tr -d '\r' <"$run/console.log" 2>/dev/null | sed -n 's/.*VMTEST-EXIT=\([0-9]*\).*/\1/p' | tail -n1)
fi
if [[ -z $rc ]] && ((qrc != 124 && qrc != 137 && qrc % 2 == 1 && qrc > 1)); then
	rc=$(((qrc - 1) / 2))
fi
if [[ -z $rc ]]; then
	if ((qrc == 124 || qrc == 137)); then
		console_tail "VM timed out after ${vmtimeout}s (VM_TIMEOUT)"
	else
		console_tail "VM exited (qemu status $qrc) without reporting a result"
	fi
	exit 254
fi
if ((rc == 125)) || grep -q 'VMTEST-INSMOD-FAIL\|VMTEST-ERROR' "$run/console.log" 2>/dev/null; then
	console_tail "guest setup problem (status $rc)" 20
fi
exit "$rc"
