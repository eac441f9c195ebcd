#!/bin/sh
# The sync protocol's CDDL schema parses (npm's cddl package, installed by
# scripts/install-deps as test tooling).
set -eu
cddl=${OA_TEST_TOOLS:-/opt/oa-test-tools}/node_modules/.bin/cddl
if [ ! -x "$cddl" ]; then
    echo "the cddl checker is missing: run scripts/install-deps" >&2
    exit 1
fi
out=$("$cddl" validate proto/sync.cddl 2>&1) || { echo "$out" >&2; exit 1; }
echo "$out"
echo "$out" | grep -q "Valid CDDL"
# and a schema with a mistake is refused, so this check can fail
printf 'a = {\n  b => \n' > "${TEST_TMPDIR:-/tmp}/bad.cddl"
if "$cddl" validate "${TEST_TMPDIR:-/tmp}/bad.cddl" >/dev/null 2>&1; then
    echo "the checker accepted a broken schema" >&2
    exit 1
fi
echo "PASS: the sync schema parses, and a broken one is refused"
