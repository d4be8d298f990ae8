#!/bin/bash
# build.sh - build (or reuse) the kernel + initramfs that vm-exec.sh boots.
#
# Usage: internal/vmtest/build.sh [-q]
#
# On a Debian 12 host (run as root) it:
#   1. installs the host tools it needs with apt-get when they are missing;
#   2. downloads the kernel package that linux-image-amd64 depends on
#      (apt-get download; the .deb is kept under $CACHE/dl);
#   3. extracts it, resolves the module closure of $MODS with modprobe;
#   4. builds an initramfs: busybox-static (all applets except ip), iproute2's
#      ip, ovs-dpctl, bash, iputils' ping as /usr/bin/iputils-ping (busybox
#      ping has no -M do), bird and birdc (BIRD 2, for the BGP tests) and
#      their shared libraries, the modules and ./init;
#   5. extracts the uncompressed vmlinux (booted through PVH by qemu).
#
# Results live in $HIVENET_VM_CACHE (default <repo>/.cache/vm) under
# <kernel-version>-<hash of build.sh and init>/ ; a directory holding a
# "ready" file is complete and is reused as is (a second run is a no-op).
# With -q only the artifact directory is printed on stdout (logs go to
# stderr); vm-exec.sh uses that.
#
# Environment: HIVENET_VM_CACHE (cache root), HIVENET_VM_KVER (kernel
# version to use instead of the one linux-image-amd64 depends on).
set -euo pipefail
trap 'echo "vmtest/build: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

quiet=0
[[ ${1:-} == -q ]] && quiet=1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${HIVENET_VM_CACHE:-$repo/.cache/vm}

log() { echo "vmtest/build: $*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2fs", b-a}'; }

t0=$(now)

# Modules to load in the guest, with their dependency closure. crc32c-intel
# needs SSE4.2 (absent under some qemu CPU models); crc32c_generic suffices.
MODS="virtio_pci 9pnet_virtio 9p virtio_net e1000 af_packet veth dummy tun
openvswitch vport-vxlan vport-geneve vport-gre nf_conntrack nf_nat
nf_conntrack_netlink xfrm_user"
SKIP_MODS="crc32c-intel crc32c_intel"

# Harness hash: every file whose content ends up in the artifacts.
hash=$(cat "$here/build.sh" "$here/init" | sha256sum | cut -c1-12)

# --- host tools -----------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1 || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v ovs-dpctl >/dev/null || need+=(openvswitch-switch)
[[ -x /usr/sbin/ip ]] || need+=(iproute2)
command -v xz >/dev/null || need+=(xz-utils)
command -v modprobe >/dev/null && command -v depmod >/dev/null || need+=(kmod)
[[ -x /bin/bash ]] || need+=(bash)
command -v timeout >/dev/null || need+=(coreutils)
command -v bird >/dev/null && command -v birdc >/dev/null || need+=(bird2)
iputils_ping() { dpkg -L iputils-ping 2>/dev/null | grep -E '/bin/ping$' | head -n1; }
[[ -n $(iputils_ping) ]] || need+=(iputils-ping)
if ((${#need[@]})); then
	log "installing ${need[*]}"
	[[ $(id -u) == 0 ]] || die "need root to apt-get install ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2 ||
		die "apt-get install ${need[*]} failed"
fi

# --- kernel version ------------------------------------------------------
# apt-cache takes ~0.5 s, so its answer is remembered until the apt lists
# change (their mtimes are the key).
kver=${HIVENET_VM_KVER:-}
if [[ -z $kver ]]; then
	stamp=$(stat -c %Y /var/lib/apt/lists /var/cache/apt/pkgcache.bin 2>/dev/null | tr "\n" . || true)
	if [[ -n $stamp && -r $cache/.kver ]] && { read -r s k <"$cache/.kver"; [[ $s == "$stamp" ]]; }; then
		kver=$k
	else
		kver=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '/Depends: linux-image-[0-9]/ { sub("linux-image-", "", $2); print $2; exit }')
		if [[ -z $kver && $(id -u) == 0 && ! -e $cache/.apt-updated ]]; then
			log "no linux-image-amd64 in the apt lists: apt-get update"
			apt-get update >&2 && mkdir -p "$cache" && touch "$cache/.apt-updated"
			kver=$(apt-cache depends linux-image-amd64 2>/dev/null |
				awk '/Depends: linux-image-[0-9]/ { sub("linux-image-", "", $2); print $2; exit }')
			stamp=$(stat -c %Y /var/lib/apt/lists /var/cache/apt/pkgcache.bin 2>/dev/null | tr "\n" . || true)
		fi
		if [[ -n $kver && -n $stamp ]]; then
			mkdir -p "$cache" && echo "$stamp $kver" >"$cache/.kver"
		fi
	fi
fi
if [[ -z $kver ]]; then
	# Offline or no apt metadata: reuse the newest build with this hash.
	prev=$(ls -1dt "$cache"/*-"$hash" 2>/dev/null | head -n1 || true)
	[[ -n $prev && -e $prev/ready ]] || die "cannot find the kernel version (apt-cache depends linux-image-amd64)"
	kver=${prev##*/}
	kver=${kver%-"$hash"}
fi

out=$cache/$kver-$hash
if [[ -e $out/ready ]]; then
	((quiet)) || log "cached: $out (kernel $kver) in $(elapsed "$t0")"
	((quiet)) && echo "$out"
	exit 0
fi

# --- serialise concurrent builds ---------------------------------------
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ -e $out/ready ]]; then # built by a concurrent run while we waited
	((quiet)) && echo "$out"
	exit 0
fi
log "building $out (kernel $kver)"

work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- kernel package ------------------------------------------------------
t=$(now)
mkdir -p "$cache/dl"
deb=$(ls -1 "$cache/dl"/linux-image-"$kver"_*.deb 2>/dev/null | head -n1 || true)
if [[ -z $deb ]]; then
	(cd "$work" && apt-get download -o APT::Sandbox::User=root "linux-image-$kver" >&2) || die "apt-get download linux-image-$kver failed"
	mv "$work"/linux-image-"$kver"_*.deb "$cache/dl/"
	deb=$(ls -1 "$cache/dl"/linux-image-"$kver"_*.deb | head -n1)
fi
log "kernel package: ${deb##*/} ($(elapsed "$t"))"

t=$(now)
dpkg-deb -x "$deb" "$work/k"
kroot=$work/k
# Debian 12 ships modules under /lib (12) or /usr/lib (13+).
moddir=$kroot/lib/modules/$kver
[[ -d $moddir ]] || moddir=$kroot/usr/lib/modules/$kver
[[ -d $moddir ]] || die "no modules for $kver in $deb"
if [[ $moddir == "$kroot/usr/lib/modules/$kver" && ! -e $kroot/lib/modules ]]; then
	mkdir -p "$kroot/lib" && ln -s ../usr/lib/modules "$kroot/lib/modules"
fi
depmod -b "$kroot" "$kver"
log "extracted + depmod ($(elapsed "$t"))"

# --- vmlinux for PVH boot -----------------------------------------------
# bzImage layout (Documentation/x86/boot.rst): setup_sects at 0x1f1, the
# protected-mode code starts at (setup_sects+1)*512, and payload_offset /
# payload_length (0x248 / 0x24c) locate the compressed ELF inside it.
t=$(now)
bz=$kroot/boot/vmlinuz-$kver
[[ -f $bz ]] || die "no $bz in the package"
u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
[[ $(od -An -c -j $((0x202)) -N4 "$bz" | tr -d ' ') == HdrS ]] || die "$bz is not a bzImage"
ss=$(u8 "$bz" $((0x1f1)))
((ss == 0)) && ss=4
poff=$(u32 "$bz" $((0x248)))
plen=$(u32 "$bz" $((0x24c)))
start=$(((ss + 1) * 512 + poff))
magic=$(od -An -tx1 -j "$start" -N6 "$bz" | tr -d ' \n')
payload() { dd if="$bz" bs=1M iflag=skip_bytes,count_bytes skip="$start" count="$plen" status=none; }
case $magic in
fd377a585a00) payload | xz -dc --single-stream >"$work/vmlinux" ;;
1f8b*) payload | gzip -dc >"$work/vmlinux" 2>/dev/null || true ;;
28b52ffd*) payload | zstd -dc >"$work/vmlinux" 2>/dev/null || true ;;
*) die "unknown kernel payload compression (magic $magic)" ;;
esac
[[ $(od -An -c -N4 "$work/vmlinux" | tr -d ' ') == 177ELF ]] || die "vmlinux extraction failed"
log "vmlinux $(($(stat -c %s "$work/vmlinux") / 1048576)) MiB ($(elapsed "$t"))"

# --- initramfs ------------------------------------------------------------
t=$(now)
st=$work/stage
mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,lib/modules,etc,proc,sys,dev,run,tmp,root,mnt,var}
ln -s ../run "$st/var/run"
chmod 1777 "$st/tmp"

# Copy a binary and its shared libraries (ldd output; mawk-safe parsing:
# "name => /path (addr)" or "/path (addr)" for the dynamic loader).
copy_bin() { # src dst
	cp -L "$1" "$st$2"
	chmod 0755 "$st$2"
	local lib
	while read -r lib; do
		[[ -e $st$lib ]] && continue
		mkdir -p "$st$(dirname "$lib")"
		cp -L "$lib" "$st$lib"
	done < <(ldd "$1" 2>/dev/null | awk '
		$2 == "=>" && substr($3, 1, 1) == "/" { print $3; next }
		substr($1, 1, 1) == "/" { print $1 }')
}
copy_bin /bin/busybox /bin/busybox
copy_bin /usr/sbin/ip /sbin/ip
copy_bin "$(command -v ovs-dpctl)" /usr/bin/ovs-dpctl
copy_bin /bin/bash /bin/bash
copy_bin "$(iputils_ping)" /usr/bin/iputils-ping
# BIRD 2, the upstream router of the BGP tests (internal/birdtest).
copy_bin /usr/sbin/bird /usr/sbin/bird
copy_bin /usr/sbin/birdc /usr/sbin/birdc
# Every busybox applet except those provided by real binaries above; ip in
# particular must be iproute2's (busybox ip lacks netns and veth).
for a in $(/bin/busybox --list); do
	case $a in ip | bash | busybox | init | linuxrc) continue ;; esac
	[[ -e $st/bin/$a || -e $st/sbin/$a ]] || ln -s busybox "$st/bin/$a"
done
ln -s ../sbin/ip "$st/bin/ip"
cp "$here/init" "$st/init"
chmod 0755 "$st/init"

cat >"$st/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$st/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
cat >"$st/etc/hosts" <<'EOF'
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
EOF
echo "hosts: files dns" >"$st/etc/nsswitch.conf"
echo "vmtest" >"$st/etc/hostname"
: >"$st/etc/resolv.conf"
mkdir -p "$st/etc/iproute2" "$st/usr/share/openvswitch"

# Modules: dependency closure in load order, plus modules.dep for modprobe.
mods=()
for m in $MODS; do
	if ! modprobe -d "$kroot" -S "$kver" --show-depends "$m" >"$work/dep" 2>"$work/dep.err"; then
		die "module $m: $(cat "$work/dep.err")"
	fi
	while read -r kw path _; do
		[[ $kw == insmod ]] && mods+=("$path")
	done <"$work/dep"
done
: >"$st/lib/modules/load.order"
declare -A seen=()
for p in "${mods[@]}"; do
	[[ -n ${seen[$p]:-} ]] && continue
	seen[$p]=1
	name=$(basename "$p")
	skip=0
	for s in $SKIP_MODS; do [[ $name == "$s".ko* ]] && skip=1; done
	((skip)) && continue
	rel=${p#"$moddir"/}
	mkdir -p "$st/lib/modules/$kver/$(dirname "$rel")"
	cp "$p" "$st/lib/modules/$kver/$rel"
	echo "$kver/$rel" >>"$st/lib/modules/load.order"
done
cp "$moddir"/modules.{order,builtin,builtin.modinfo} "$st/lib/modules/$kver/" 2>/dev/null || true
depmod -b "$st" "$kver"
nmods=$(wc -l <"$st/lib/modules/load.order")
echo "$kver" >"$st/etc/vmtest-kernel"

(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$work/initrd.gz"
log "initramfs $(($(stat -c %s "$work/initrd.gz") / 1024)) KiB, $nmods modules ($(elapsed "$t"))"

# --- publish ---------------------------------------------------------------
rm -rf "$out"
mkdir -p "$out"
mv "$work/vmlinux" "$work/initrd.gz" "$out/"
cp "$st/lib/modules/load.order" "$out/modules.txt"
echo "$kver" >"$out/kernel-version"
touch "$out/ready"
# Drop older builds for this kernel (other harness hashes).
for d in "$cache/$kver"-*; do
	[[ $d != "$out" && -d $d ]] && rm -rf "$d"
done
log "done: $out in $(elapsed "$t0")"
((quiet)) && echo "$out"
exit 0
