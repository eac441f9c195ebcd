#!/bin/sh
# Packaging 10,000 records into one archival package (proto/aip.c: metadata,
# SHA-256 and SM3 manifests, audit proofs, tar) next to libarchive writing the
# same entries and bytes alone, measured in the same run; then the offline
# read, verification and four-property check of that package.
#   tests/bench/aip.sh [RECORDS [FILE_BYTES]]
set -eu
cd "$(dirname "$0")/../.."
./scripts/install-deps
flock /tmp/oa-bazel.lock bazel build -c opt //tests/bench:aip_bench >/dev/null 2>&1
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/oa-aip-XXXXXX")
trap 'rm -rf "$dir"' EXIT
bazel-bin/tests/bench/aip_bench "$dir" "${1:-10000}" "${2:-40000}"
echo "digest ceilings (the package hashes every file once with each):"
for alg in sha256 sm3; do
    openssl speed -evp "$alg" -seconds 1 2>/dev/null |
        awk -v a="$alg" 'tolower($1) == a { print "  openssl speed " a ", 16 KiB blocks: " $NF }'
done
