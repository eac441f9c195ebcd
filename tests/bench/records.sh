#!/bin/sh
# Filing records (#16): records/s with one fsync per filing and 64 filings
# per transaction (the group commit's batch), next to the same number of
# durable transactions that insert one bare row, in the same run and file.
#   N  records per run (default 10000)
set -eu
cd "$(dirname "$0")/../.."
./scripts/install-deps
bazel build -c opt //tests/bench:records_bench >/dev/null 2>&1
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/oa-records-XXXXXX")
trap 'rm -rf "$dir"' EXIT
bazel-bin/tests/bench/records_bench "$dir" "${N:-10000}"
