#!/usr/bin/env bash
# Run every Fuzz* target in the module, one at a time (go test accepts one -fuzz target
# per run), each for FUZZTIME (default 20s). Keeps going after a failure and exits 1 at
# the end if any target failed; a failing input is saved under the package's
# testdata/fuzz/FuzzX/ by go test, so it becomes a regression test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FUZZTIME=${FUZZTIME:-20s}
GO=${GO:-go}

# `go test -list` prints the matching names of a package, then "ok  <pkg> <time>".
list=$("$GO" test -list '^Fuzz' ./... | awk '
	/^Fuzz/ { names[n++] = $1; next }
	/^ok[ \t]/ { for (i = 0; i < n; i++) print $2, names[i]; n = 0 }')
if [ -z "$list" ]; then
	echo "fuzz: no Fuzz* targets found"
	exit 0
fi
total=$(wc -l <<<"$list")
echo "fuzz: $total targets, $FUZZTIME each"
failed=()
while read -r pkg name; do
	echo "== $pkg $name"
	if ! "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"; then
		failed+=("$pkg $name")
	fi
done <<<"$list"
echo "fuzz: $((total - ${#failed[@]})) passed, ${#failed[@]} failed"
for f in "${failed[@]}"; do echo "  FAILED: $f"; done
[ "${#failed[@]}" -eq 0 ]
