#!/usr/bin/env bash
# Build logpacker's VM image: image/vm/build.sh OUTDIR (make vm-image: bin/vm).
#
# Debian 12 (bookworm) from Debian's packages with debootstrap (minbase,
# systemd, the kernel, systemd-networkd), logpacker's binary and systemd
# units (logpacker.socket and logpacker.service enabled), and the first-boot
# unit logpacker-firstboot.service, which reads a NoCloud seed drive (label
# cidata: meta-data's local-hostname, and logpacker/server.ini and the other
# files under logpacker/ into /etc/logpacker). Writes OUTDIR/logpacker.qcow2
# (one ext4 file system, made with mkfs.ext4 -d: no loop device, no mount)
# and OUTDIR/vmlinuz, OUTDIR/initrd.img: the VM boots them directly
# (qemu -kernel … -append "root=/dev/vda"), see image/vm/doc.go.
#
# Needs root (debootstrap), and debootstrap, qemu-utils, e2fsprogs:
# .ci/install-deps.sh vm. MIRROR=… picks the Debian mirror; BIN=… a built
# static binary; the debootstrap tree is cached in OUTDIR/rootfs.tar
# (rm it to start over).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$(mkdir -p "${1:-$ROOT/bin/vm}" && cd "${1:-$ROOT/bin/vm}" && pwd)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
SIZE=${SIZE:-2G}
GO=${GO:-go}
say() { printf 'vm-image: %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "vm-image: debootstrap needs root" >&2; exit 1; }
for c in debootstrap mkfs.ext4 qemu-img; do
	command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] || { echo "vm-image: $c is missing: run .ci/install-deps.sh vm" >&2; exit 1; }
done
export PATH=$PATH:/usr/sbin:/sbin

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
r=$work/root
mkdir -p "$r"

if [ -f "$OUT/rootfs.tar" ]; then
	say "debootstrap tree from the cache $OUT/rootfs.tar"
	tar -C "$r" --numeric-owner -xpf "$OUT/rootfs.tar"
else
	say "debootstrap $SUITE from $MIRROR (a few minutes)"
	debootstrap --variant=minbase \
		--include=systemd,systemd-sysv,udev,linux-image-amd64,initramfs-tools,ca-certificates,iproute2,kmod \
		"$SUITE" "$r" "$MIRROR" >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; exit 1; }
	chroot "$r" apt-get clean
	tar -C "$r" --numeric-owner -cpf "$OUT/rootfs.tar" .
fi

say "logpacker, its units, the first-boot unit"
if [ -n "${BIN:-}" ]; then
	install -m 0755 "$BIN" "$r/usr/bin/logpacker"
else
	(cd "$ROOT" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags='-s -w' -o "$r/usr/bin/logpacker" ./appliance/cmd/logpacker)
fi
S=$ROOT/systemd
install -m 0644 "$S/logpacker.service" "$S"/logpacker*.socket "$ROOT/image/vm/logpacker-firstboot.service" "$r/usr/lib/systemd/system/"
install -m 0755 "$ROOT/image/vm/logpacker-firstboot" "$r/usr/lib/logpacker-firstboot"
install -D -m 0644 "$S/logpacker.sysusers" "$r/usr/lib/sysusers.d/logpacker.conf"
install -D -m 0644 "$S/logpacker.tmpfiles" "$r/usr/lib/tmpfiles.d/logpacker.conf"
install -D -m 0644 "$S/server.ini" "$r/etc/logpacker/server.ini"
# the API off loopback (the test asks /healthz from outside); [api] token is then required:
# the first-boot config replaces this file
sed -i 's#^http = 127.0.0.1:8080#http = 0.0.0.0:8080#' "$r/etc/logpacker/server.ini"
printf '\n[api]\ntoken = change-me-by-the-first-boot-config\n' >>"$r/etc/logpacker/server.ini"
chroot "$r" systemd-sysusers
systemd-tmpfiles --root="$r" --create "$r/usr/lib/tmpfiles.d/logpacker.conf"
chroot "$r" systemctl enable logpacker.socket logpacker.service logpacker-firstboot.service systemd-networkd.service serial-getty@ttyS0.service >/dev/null 2>&1
mkdir -p "$r/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' >"$r/etc/systemd/network/50-dhcp.network"
echo logpacker >"$r/etc/hostname"
printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' >"$r/etc/fstab"
chroot "$r" passwd -d root >/dev/null # console login for debugging; no network login is installed
# the kernel and initrd, for direct boot
cp -L "$r/vmlinuz" "$OUT/vmlinuz"
cp -L "$r/initrd.img" "$OUT/initrd.img"

say "ext4 file system ($SIZE) → qcow2"
rm -f "$work/disk.raw"
mkfs.ext4 -q -L logpacker-root -d "$r" "$work/disk.raw" "$SIZE"
qemu-img convert -c -O qcow2 "$work/disk.raw" "$OUT/logpacker.qcow2"
say "$OUT/logpacker.qcow2 ($(du -h "$OUT/logpacker.qcow2" | cut -f1)), $OUT/vmlinuz, $OUT/initrd.img"
