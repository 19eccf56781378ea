#!/usr/bin/env bash
# Build logpacker's container image FROM scratch: image/build.sh [TAG]
# (default logpacker:latest). Assembles the build context in a temporary
# directory (the static binary, CA certificates, /etc/passwd and /etc/group
# with the user logpacker, uid/gid 514, image/server.ini as
# /etc/logpacker/server.ini) and runs `docker build`; prints the image's size,
# and its size gzip-compressed (about what a registry transfers).
# BIN=path uses a binary built already (CGO_ENABLED=0, static).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TAG=${1:-logpacker:latest}
CERTS=${CERTS:-/etc/ssl/certs/ca-certificates.crt}
GO=${GO:-go}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

if ! command -v docker >/dev/null; then
	echo "image: docker is not installed" >&2
	exit 1
fi
[ -r "$CERTS" ] || { echo "image: no CA bundle at $CERTS (package ca-certificates)" >&2; exit 1; }

r=$ctx/rootfs
mkdir -p "$r/usr/bin" "$r/etc/ssl/certs" "$r/etc/logpacker" "$ctx/state"
if [ -n "${BIN:-}" ]; then
	cp "$BIN" "$r/usr/bin/logpacker"
else
	(cd "$ROOT" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags='-s -w' -o "$r/usr/bin/logpacker" ./appliance/cmd/logpacker)
fi
if ! file "$r/usr/bin/logpacker" 2>/dev/null | grep -q 'statically linked' && command -v file >/dev/null; then
	echo "image: $r/usr/bin/logpacker is not statically linked" >&2
	exit 1
fi
cp "$CERTS" "$r/etc/ssl/certs/ca-certificates.crt"
cp "$ROOT/image/server.ini" "$r/etc/logpacker/server.ini"
printf 'root:x:0:0:root:/:/nonexistent\nlogpacker:x:514:514:logpacker:/var/lib/logpacker:/nonexistent\n' >"$r/etc/passwd"
printf 'root:x:0:\nlogpacker:x:514:\n' >"$r/etc/group"
chmod 0755 "$r/usr/bin/logpacker"
chmod -R go-w "$r"
cp "$ROOT/image/Dockerfile" "$ctx/Dockerfile"

if ! docker build -q --label "org.opencontainers.image.version=$("$r/usr/bin/logpacker" version | cut -d' ' -f2-)" \
	--label org.opencontainers.image.title=logpacker -t "$TAG" "$ctx" >"$ctx/build.log" 2>&1; then
	cat "$ctx/build.log" >&2
	exit 1
fi
size=$(docker image inspect -f '{{.Size}}' "$TAG")
bin=$(stat -c %s "$r/usr/bin/logpacker")
gz=$(docker save "$TAG" | gzip -6 | wc -c) # about what a registry transfers
awk -v t="$TAG" -v s="$size" -v b="$bin" -v z="$gz" 'BEGIN { printf "image: %s built FROM scratch: %d bytes (%.1f MB; the binary %.1f MB; %.1f MB gzip-compressed)\n", t, s, s / 1e6, b / 1e6, z / 1e6 }'
