#!/bin/sh
# Audited versus unaudited durable writes per second, and the time of
# `oad audit verify` over one million entries.
#   ENTRIES  entries to verify (default 1000000)
set -eu
cd "$(dirname "$0")/../.."
./scripts/install-deps
bazel build -c opt //tests/bench:audit_bench >/dev/null 2>&1
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/oa-audit-XXXXXX")
trap 'rm -rf "$dir"' EXIT
bazel-bin/tests/bench/audit_bench "$dir" "${ENTRIES:-1000000}" 4
