#!/bin/sh
# docs/actions.md is what //docs:gen_actions prints from workflow/'s tables.
# Usage: actions_doc_test.sh GEN_ACTIONS ACTIONS_MD
set -u
gen=$1
doc=$2
out=${TEST_TMPDIR:-/tmp}/actions.md.generated
if ! "$gen" > "$out"; then
    echo "gen_actions failed (see above)" >&2
    exit 1
fi
if ! diff -u "$doc" "$out"; then
    echo "docs/actions.md is stale: run bazel run //docs:gen_actions > docs/actions.md" >&2
    exit 1
fi
echo "PASS: docs/actions.md matches workflow/'s tables"
