#!/usr/bin/env bash
# Build logpacker's VM image: image/vm/build.sh OUTDIR (make vm-image: bin/vm).
#
# Debian 12 (bookworm) from Debian's packages with debootstrap (minbase,
# systemd, the kernel, systemd-networkd), logpacker installed from its .deb
# (image/deb/build.sh: binary, units, user; its postinst enables
# logpacker.socket and logpacker.service, so the maintainer scripts run here
# as on any Debian host), and the first-boot unit logpacker-firstboot.service, which reads a NoCloud seed drive (label
# cidata: meta-data's local-hostname, and logpacker/server.ini and the other
# files under logpacker/ into /etc/logpacker). Writes OUTDIR/logpacker.qcow2
# (one ext4 file system, made with mkfs.ext4 -d: no loop device, no mount)
# and OUTDIR/vmlinuz, OUTDIR/initrd.img: the VM boots them directly
# (qemu -kernel … -append "root=/dev/vda"), see image/vm/doc.go.
#
# Needs root (debootstrap), and debootstrap, qemu-utils, e2fsprogs:
# .ci/install-deps.sh vm. MIRROR=… picks the Debian mirror; the debootstrap
# tree is cached in OUTDIR/rootfs.tar (rm it to start over).
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

say "logpacker from its .deb (make deb), the first-boot unit"
LINTIAN=0 GO=$GO "$ROOT/image/deb/build.sh" "$work/deb" >/dev/null
cp "$work"/deb/logpacker_*.deb "$r/tmp/logpacker.deb"
chroot "$r" dpkg -i /tmp/logpacker.deb >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; exit 1; }
rm "$r/tmp/logpacker.deb"
install -m 0644 "$ROOT/image/vm/logpacker-firstboot.service" "$r/usr/lib/systemd/system/"
install -m 0755 "$ROOT/image/vm/logpacker-firstboot" "$r/usr/lib/logpacker-firstboot"
# the API off loopback (the test asks /healthz from outside); [api] token is then required:
# the first-boot config replaces this file
sed -i 's#^http = 127.0.0.1:8080#http = 0.0.0.0:8080#' "$r/etc/logpacker/server.ini"
printf '\n[api]\ntoken = change-me-by-the-first-boot-config\n' >>"$r/etc/logpacker/server.ini"
systemd-tmpfiles --root="$r" --create "$r/usr/lib/tmpfiles.d/logpacker.conf"
chroot "$r" systemctl enable logpacker-firstboot.service systemd-networkd.service serial-getty@ttyS0.service >/dev/null 2>&1
# the package enabled its units (deb-systemd-helper, as on any Debian host)
for u in sockets.target.wants/logpacker.socket multi-user.target.wants/logpacker.service; do
	[ -L "$r/etc/systemd/system/$u" ] || { echo "vm-image: the package did not enable $u" >&2; exit 1; }
done
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
