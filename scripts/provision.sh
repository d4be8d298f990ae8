#!/usr/bin/env bash
# provision.sh - install what hivenet's test suite needs on Debian 12.
#
# Usage: scripts/provision.sh        (as root for apt; idempotent)
#
# 1. Debian packages (apt-get update runs only when one is missing):
#      zookeeper          ZooKeeper 3.8 server + a JRE  (internal/zktest)
#      qemu-system-x86    VM for kernel datapath tests   (internal/vmtest)
#      busybox-static cpio xz-utils kmod iproute2 iputils-ping openvswitch-switch
#                         VM initramfs: shell, ip, ping -M, ovs-dpctl, modules
#      openvswitch-common ovsdb-server, ovsdb-tool, ovsdb-client (internal/ovsdbtest)
#      openvswitch-vtep   vtep schema and vtep-ctl for vxgw tests, and the
#      python3-openvswitch ovs-vtep emulator (with ovs-vswitchd's dummy
#                         datapath from openvswitch-switch; internal/vteptest)
#      gcc libc6-dev make CGO_ENABLED=1 go test -race, the Makefile
#      curl openssl       the README's commands, which a test runs
#      python3-openstackclient  the openstack command the Neutron API's
#                         tests drive a cluster node with (examples/cluster)
#      bird2              the upstream BGP router of the BGP tests
#                         (internal/birdtest), also put into the VM image
#      linux-libc-dev     linux/openvswitch.h, which internal/ovsh's
#                         constants are checked against
# 2. Go tools, by exact version, through the Go module proxy, into
#    $(go env GOPATH)/bin:
#      honnef.co/go/tools/cmd/staticcheck  $STATICCHECK_VERSION
#
# When everything is present it only checks (well under a second plus one
# `staticcheck -version`). It prints what it installs and exits non-zero
# when anything cannot be installed.
set -euo pipefail

STATICCHECK_VERSION=${STATICCHECK_VERSION:-v0.8.2}
PACKAGES=(
	zookeeper
	qemu-system-x86
	busybox-static
	cpio
	openvswitch-switch
	openvswitch-common
	openvswitch-vtep
	python3-openvswitch
	xz-utils
	kmod
	iproute2
	iputils-ping
	gcc
	libc6-dev
	linux-libc-dev
	make
	curl
	openssl
	python3-openstackclient
	bird2
)

log() { echo "provision: $*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

t0=$(date +%s.%N)

# --- Debian packages --------------------------------------------------------
installed() {
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing=()
for p in "${PACKAGES[@]}"; do
	installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
	log "installing Debian packages: ${missing[*]}"
	[[ $(id -u) == 0 ]] || die "need root to apt-get install ${missing[*]} (run: sudo $0)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2 || die "apt-get update failed"
	apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install ${missing[*]} failed"
	for p in "${missing[@]}"; do
		installed "$p" || die "package $p is still not installed"
	done
	log "installed: ${missing[*]}"
fi

# What the harnesses use from those packages must actually be there.
for f in /usr/share/java/zookeeper.jar /usr/bin/qemu-system-x86_64 /bin/busybox /usr/bin/ovs-dpctl /usr/sbin/ip \
	/usr/sbin/ovsdb-server /usr/bin/ovsdb-tool /usr/bin/ovsdb-client /usr/bin/vtep-ctl /usr/share/openvswitch/vtep.ovsschema \
	/usr/sbin/ovs-vswitchd /usr/share/openvswitch/scripts/ovs-vtep /usr/share/openvswitch/vswitch.ovsschema \
	/usr/bin/openstack /usr/sbin/bird /usr/sbin/birdc; do
	[[ -e $f ]] || die "$f missing although its package is installed"
done
java_bin=$(command -v java) || die "no java on PATH (package zookeeper should bring default-jre)"
"$java_bin" -Xshare:auto -version >/dev/null 2>&1 || die "$java_bin does not run"

# --- Go and Go tools --------------------------------------------------------
command -v go >/dev/null || die "no go on PATH: install Go >= 1.25 (https://go.dev/dl) and retry"
gover=$(go env GOVERSION)
want_go=$(awk '$1 == "go" {print $2; exit}' "$(dirname "$0")/../go.mod" 2>/dev/null || true)
log "using $gover ($(command -v go)); go.mod wants go ${want_go:-?}"

gobin=$(go env GOPATH | cut -d: -f1)/bin
staticcheck=$gobin/staticcheck
want=${STATICCHECK_VERSION#v}
if [[ -x $staticcheck ]] && "$staticcheck" -version 2>/dev/null | grep -qF "($want)"; then
	:
else
	log "installing honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION into $gobin"
	GOBIN=$gobin go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" >&2 ||
		die "go install staticcheck@$STATICCHECK_VERSION failed"
	"$staticcheck" -version 2>/dev/null | grep -qF "($want)" ||
		die "$staticcheck does not report version $want"
	log "installed: $("$staticcheck" -version)"
fi

log "ok: ${#PACKAGES[@]} packages, staticcheck $want, $gover ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2fs", b-a}'))"
