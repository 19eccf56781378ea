#!/usr/bin/env bash
# Build logpacker's Debian package: image/deb/build.sh OUTDIR (make deb: bin/).
# The static binary, the systemd units of ../../systemd (service and
# sockets, sysusers.d, tmpfiles.d), /etc/logpacker/server.ini as a conffile;
# maintainer scripts as debhelper writes them (the user from sysusers.d, the
# units enabled and started through deb-systemd-helper / deb-systemd-invoke).
# Then lintian, when installed (LINTIAN=0: skip): no error or warning allowed.
# VERSION=… sets the package version (default: 0.0~git<date>.<commit>).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$(mkdir -p "${1:-$ROOT/bin}" && cd "${1:-$ROOT/bin}" && pwd)
GO=${GO:-go}
VERSION=${VERSION:-0.0~git$(git -C "$ROOT" log -1 --format=%cd --date=format:%Y%m%d).$(git -C "$ROOT" rev-parse --short HEAD)}
ARCH=$(dpkg --print-architecture)
D=$ROOT/image/deb
S=$ROOT/systemd
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
p=$work/logpacker
umask 022

install -d "$p/DEBIAN" "$p/usr/bin" "$p/usr/lib/systemd/system" "$p/usr/share/doc/logpacker"
(cd "$ROOT" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags="-s -w -X main.version=$VERSION" -o "$p/usr/bin/logpacker" ./appliance/cmd/logpacker)
install -m 0644 "$S/logpacker.service" "$S"/logpacker*.socket "$p/usr/lib/systemd/system/"
install -D -m 0644 "$S/logpacker.sysusers" "$p/usr/lib/sysusers.d/logpacker.conf"
install -D -m 0644 "$S/logpacker.tmpfiles" "$p/usr/lib/tmpfiles.d/logpacker.conf"
install -D -m 0644 "$S/server.ini" "$p/etc/logpacker/server.ini"
install -m 0644 "$D/copyright" "$p/usr/share/doc/logpacker/copyright"
install -D -m 0644 "$D/lintian-overrides" "$p/usr/share/lintian/overrides/logpacker"
install -D -m 0644 "$D/logpacker.8" "$p/usr/share/man/man8/logpacker.8"
gzip -9n "$p/usr/share/man/man8/logpacker.8"
date=$(git -C "$ROOT" log -1 --format=%cD)
printf 'logpacker (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- logpacker maintainers <maintainers@logpacker.invalid>  %s\n' \
	"$VERSION" "$(git -C "$ROOT" rev-parse HEAD)" "$date" | gzip -9n >"$p/usr/share/doc/logpacker/changelog.gz"
for f in postinst prerm postrm; do install -m 0755 "$D/$f" "$p/DEBIAN/$f"; done
echo /etc/logpacker/server.ini >"$p/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$p" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$size/" "$D/control" >"$p/DEBIAN/control"
deb=$OUT/logpacker_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$p" "$deb" >/dev/null
echo "deb: $deb ($(du -h "$deb" | cut -f1))"
if [ "${LINTIAN:-1}" != 0 ] && command -v lintian >/dev/null; then
	lintian --fail-on error,warning "$deb"
	echo "deb: lintian: no errors, no warnings"
fi
