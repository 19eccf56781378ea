#!/usr/bin/env bash
# Install what the test suite and the benchmarks need, and only what is missing.
#
#   gcc       (gcc, libc6-dev)     cgo, which `go test -race` needs
#   rsyslogd  (package rsyslog)    integration tests, lpbench baseline
#   omrelp/imrelp (rsyslog-relp)   RELP integration test, lpbench chain baseline
#   logger    (package bsdutils)   integration tests
#   mariadbd, mariadb-install-db (mariadb-server)  MySQL output integration tests; the tests
#             start their own server (own datadir, 127.0.0.1): the package's service is not used
#   dnsmasq   (package dnsmasq-base)  DNS SRV discovery tests; each test starts its own
#             dnsmasq on 127.0.0.1 with a high port and its records on the command line
#   loggen    (package syslog-ng-core, UNPACKED into .cache/sng, never installed:
#              syslog-ng-core conflicts with rsyslog) plus its runtime libraries
#   chromium  (package chromium, and fonts-dejavu-core for legible screenshots)  the web UI's
#             browser test (TestWebUIIntegration drives it headless through the DevTools protocol)
#   systemd-journal-remote (package systemd-journal-remote)  journald input test: the real
#             systemd-journal-upload sends journal files that systemd-journal-remote makes from
#             an export stream (neither needs a running systemd)
#   systemd-analyze, systemd-sysusers, systemd-tmpfiles (package systemd)  the unit files' tests
#             (systemd/units_test.go: verify, security, sysusers.d, tmpfiles.d); nothing is started
#   with the argument `vm` (make vm-image, make test-vm), also: debootstrap, qemu-system-x86,
#             qemu-utils (qemu-img), e2fsprogs (mkfs.ext4 -d), dosfstools + mtools (the
#             config drive), not needed by make test
#   with the argument `deb` (make deb), also: lintian
#   victoria-logs  VictoriaLogs output tests (real server, own port and data dir):
#             built from its Go module (go install, CGO off) into .cache/bin
#
# Idempotent: when everything is present it only runs a few dpkg-query/stat calls.
# Installing needs root; when something is missing and we are not root it fails and
# says what to run. Use .ci/loggen.sh to run the unpacked loggen.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=$ROOT/.cache
SNG=$CACHE/sng
LOGGEN=$SNG/usr/bin/loggen
LOGGEN_LIBS=(libivykis0 libnet1 libjson-c5 libwrap0 libglib2.0-0 libcap2)

export DEBIAN_FRONTEND=noninteractive
# Wait for a dpkg/apt lock held by another shell instead of failing at once.
APT=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

say() { printf 'deps: %s\n' "$*"; }

installed() { # package installed (not just known)?
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

have_cmd() { # command in PATH or in an sbin dir (non-root PATHs often lack /usr/sbin)
	command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

need=()
have_cmd gcc || need+=(gcc libc6-dev)
have_cmd rsyslogd || need+=(rsyslog)
installed rsyslog-relp || need+=(rsyslog-relp)
have_cmd logger || need+=(bsdutils)
{ have_cmd mariadbd && have_cmd mariadb-install-db; } || need+=(mariadb-server)
have_cmd dnsmasq || need+=(dnsmasq-base)
have_cmd chromium || need+=(chromium)
installed fonts-dejavu-core || need+=(fonts-dejavu-core)
installed systemd-journal-remote || need+=(systemd-journal-remote)
for p in "${LOGGEN_LIBS[@]}"; do installed "$p" || need+=("$p"); done
have_cmd systemd-analyze || need+=(systemd)
if [ "${1:-}" = vm ]; then
	have_cmd debootstrap || need+=(debootstrap)
	have_cmd qemu-system-x86_64 || need+=(qemu-system-x86)
	have_cmd qemu-img || need+=(qemu-utils)
	have_cmd mkfs.ext4 || need+=(e2fsprogs)
	have_cmd mkfs.vfat || need+=(dosfstools)
	have_cmd mcopy || need+=(mtools)
fi
if [ "${1:-}" = deb ]; then
	have_cmd lintian || need+=(lintian)
fi

updated=0
apt_update_once() {
	if [ "$updated" = 0 ]; then
		say "apt-get update"
		"${APT[@]}" update -qq
		updated=1
	fi
}

if [ "${#need[@]}" -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages: ${need[*]}" >&2
		echo "deps: installing them needs root: sudo $0  (or: sudo apt-get install -y --no-install-recommends ${need[*]})" >&2
		exit 1
	fi
	apt_update_once
	say "apt-get install ${need[*]}"
	"${APT[@]}" install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	say "installed ${need[*]}"
else
	say "packages present: gcc, rsyslog, rsyslog-relp, logger, mariadb-server, dnsmasq, chromium, systemd-journal-remote, loggen runtime libraries"
fi

if [ -x "$LOGGEN" ]; then
	say "loggen present: $LOGGEN"
else
	mkdir -p "$CACHE"
	tmp=$(mktemp -d "$CACHE/dl.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# apt-get download needs no root, only package lists; refresh them once if it fails
	# (no lists yet, or the cached version has been superseded on the mirror).
	if ! (cd "$tmp" && "${APT[@]}" download -qq syslog-ng-core >/dev/null 2>&1); then
		if [ "$(id -u)" != 0 ]; then
			echo "deps: apt-get download syslog-ng-core failed; run 'sudo apt-get update' and retry" >&2
			exit 1
		fi
		apt_update_once
		(cd "$tmp" && "${APT[@]}" download -qq syslog-ng-core)
	fi
	deb=$(ls "$tmp"/syslog-ng-core_*.deb)
	rm -rf "$SNG.new"
	dpkg -x "$deb" "$SNG.new"
	rm -rf "$SNG"
	mv "$SNG.new" "$SNG"
	say "unpacked $(basename "$deb") into $SNG (not installed: it conflicts with rsyslog)"
fi

# VictoriaLogs for the victorialogs output's tests: built from the Go module proxy, pinned.
VL_VERSION=v1.52.1
VL_BIN=$CACHE/bin/victoria-logs
if [ -x "$VL_BIN" ] && [ "$(cat "$VL_BIN.version" 2>/dev/null)" = "$VL_VERSION" ]; then
	say "victoria-logs present: $VL_BIN ($VL_VERSION)"
else
	say "building victoria-logs $VL_VERSION into $CACHE/bin (go install)"
	mkdir -p "$CACHE/bin"
	GOBIN=$CACHE/bin CGO_ENABLED=0 "${GO:-go}" install \
		"github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$VL_VERSION"
	echo "$VL_VERSION" >"$VL_BIN.version"
	say "built $VL_BIN"
fi

# Catch a missing shared library now rather than in the middle of a benchmark.
missing=$(LD_LIBRARY_PATH=$SNG/usr/lib/syslog-ng:$SNG/usr/lib/x86_64-linux-gnu ldd "$LOGGEN" 2>&1 | grep 'not found' || true)
if [ -n "$missing" ]; then
	echo "deps: loggen has unresolved libraries:" >&2
	echo "$missing" >&2
	exit 1
fi
