#!/bin/sh
# Durable writes per second through the group-commit writer at 1, 16 and 64
# outstanding jobs, next to one fdatasync per commit on the same disk.
#   SECONDS_EACH  seconds per measurement (default 3)
set -eu
cd "$(dirname "$0")/../.."
./scripts/install-deps
bazel build -c opt //tests/bench:commit_bench >/dev/null 2>&1
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/oa-commit-XXXXXX")
trap 'rm -rf "$dir"' EXIT
bazel-bin/tests/bench/commit_bench "$dir" "${SECONDS_EACH:-3}"
