#!/bin/sh
# oagw's throughput: 1,000 requests with a 100 KB attachment each, imported
# through the real oad, next to oagw check, the bundle reader alone and
# libarchive reading the same bundles alone, in the same run.
set -eu
cd "$(dirname "$0")/../.."
./scripts/install-deps
bazel build -c opt //server:oad //clients:oagw //tests/bench:gw_bench >/dev/null 2>&1
python3 tests/bench/gateway.py bazel-bin/server/oad bazel-bin/clients/oagw bazel-bin/tests/bench/gw_bench "${1:-1000}"
