#!/usr/bin/env bash
# Run syslog-ng's loggen from the copy that .ci/install-deps.sh unpacked into .cache/sng
# (syslog-ng-core is never installed: it conflicts with rsyslog). All arguments pass through.
# Tests find it through LOGPACKER_LOGGEN (exported by the Makefile).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SNG=$ROOT/.cache/sng/usr
if [ ! -x "$SNG/bin/loggen" ]; then
	echo "loggen.sh: $SNG/bin/loggen missing; run 'make deps' (or .ci/install-deps.sh)" >&2
	exit 127
fi
export SYSLOGNG_PREFIX=$SNG
export LD_LIBRARY_PATH=$SNG/lib/syslog-ng${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
exec "$SNG/bin/loggen" "$@"
