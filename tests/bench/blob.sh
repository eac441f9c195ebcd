#!/bin/sh
# Blob store throughput at the codec level (1 MB and 256 MB, compressible and
# incompressible, peak RSS), next to the ceilings measured in the same run:
# zstd -b3 on the same data, and openssl speed for AES-256-GCM.
set -eu
cd "$(dirname "$0")/../.."
./scripts/install-deps
bazel build -c opt //tests/bench:blob_bench >/dev/null 2>&1
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/oa-blob-XXXXXX")
trap 'rm -rf "$dir"' EXIT
bazel-bin/tests/bench/blob_bench "$dir"
echo "(write = compress if it pays + encrypt + write + fsync + rename + directory fsync;"
echo " read = decrypt + decompress + digest check, from the page cache)"
echo
echo "ceilings:"
for kind in text random; do
    zstd -b3 -q "$dir/sample-$kind" 2>&1 | tail -1 | sed "s/^/  zstd -b3 on the $kind sample: /"
done
openssl speed -evp aes-256-gcm -seconds 2 2>/dev/null |
    awk '/^AES-256-GCM|^aes-256-gcm/ { print "  openssl speed aes-256-gcm, 16 KiB blocks: " $NF }'
