#!/bin/sh
# The CDDL schemas (the sync protocol, the exchange bundle's manifest) parse (npm's cddl package, installed by
# scripts/install-deps as test tooling).
set -eu
cddl=${OA_TEST_TOOLS:-/opt/oa-test-tools}/node_modules/.bin/cddl
if [ ! -x "$cddl" ]; then
    echo "the cddl checker is missing: run scripts/install-deps" >&2
    exit 1
fi
for schema in proto/sync.cddl proto/bundle.cddl; do
    out=$("$cddl" validate "$schema" 2>&1) || { echo "$out" >&2; exit 1; }
    echo "$schema: $out"
    echo "$out" | grep -q "Valid CDDL"
done
# and a schema with a mistake is refused, so this check can fail
printf 'a = {\n  b => \n' > "${TEST_TMPDIR:-/tmp}/bad.cddl"
if "$cddl" validate "${TEST_TMPDIR:-/tmp}/bad.cddl" >/dev/null 2>&1; then
    echo "the checker accepted a broken schema" >&2
    exit 1
fi
echo "PASS: the sync and bundle schemas parse, and a broken one is refused"
