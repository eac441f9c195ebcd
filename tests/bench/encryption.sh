#!/bin/sh
# The cost of the database encrypted at rest (storage/cryptvfs.h): durable
# workflow transitions per second (16 clients) and GET /v1/documents/ID per
# second (64 connections), through the real oad, with the database encrypted
# and plain, in the same run on the same disk.  The plain run uses
# `storage.encrypt=false`, a switch that exists for this comparison only.
# Aim: encrypted at most 15% slower.  Manual: not part of the test suite.
#   DURATION  seconds per measurement (default 8)
set -eu
cd "$(dirname "$0")/../.."
./scripts/install-deps
bazel build -c opt //server:oad //tests/bench:transitions >/dev/null 2>&1
oad=bazel-bin/server/oad
dur=${DURATION:-8}
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/oa-bench-XXXXXX")
pid=
trap 'if [ -n "$pid" ]; then kill $pid 2>/dev/null; fi; rm -rf "$tmp"' EXIT
j() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# Prints "transitions/s GET/s" for a data directory with storage.encrypt=$1.
run() {
    data="$tmp/data-$1"
    $oad init --data "$data" --set storage.encrypt=$1 >/dev/null
    $oad serve --data "$data" --set storage.encrypt=$1 --listen 127.0.0.1:18431 --log-level warn 2>/dev/null &
    pid=$!
    sleep 1
    base=http://127.0.0.1:18431
    post() { curl -sf -H 'Content-Type: application/json' -H 'Accept: application/json' ${3:+-H "Authorization: Bearer $3"} -d "$2" "$base$1"; }
    pw=$(awk '$1 == "sysadmin" { print $2 }' "$data/initial-credentials")
    sys=$(post /v1/sessions "{\"username\":\"sysadmin\",\"password\":\"$pw\"}" | j '["token"]')
    post /v1/users/me/password "{\"current_password\":\"$pw\",\"new_password\":\"Load-Test-Root-9x\"}" "$sys" >/dev/null || true
    otp=$(post /v1/users '{"username":"bench","display_name":"bench","roles":["staff","secretariat"]}' "$sys" | j '["one_time_password"]')
    tok=$(post /v1/sessions "{\"username\":\"bench\",\"password\":\"$otp\"}" | j '["token"]')
    post /v1/users/me/password "{\"current_password\":\"$otp\",\"new_password\":\"Load-Test-Drafter-9\"}" "$tok" >/dev/null || true
    tps=$(bazel-bin/tests/bench/transitions 18431 "$tok" "$dur" 16 | awk 'NR == 2 { print $2 }')
    doc=$(post /v1/documents '{"kind":"outgoing","title":"基准测试 读","body":"正文"}' "$tok" | j '["id"]')
    gps=$(wrk -t2 -c64 -d"${dur}s" -H "Authorization: Bearer $tok" "$base/v1/documents/$doc" 2>/dev/null |
          awk '/Requests\/sec/ { print $2 }')
    kill $pid
    wait $pid 2>/dev/null || true
    pid=
    echo "$tps $gps"
}

set -- $(run true) $(run false)
printf '%-14s %12s %12s %8s\n' "" encrypted plain ratio
printf '%-14s %12s %12s %8s\n' transitions/s "$1" "$3" "$(awk -v a="$1" -v b="$3" 'BEGIN { printf "%.0f%%", 100 * a / b }')"
printf '%-14s %12s %12s %8s\n' GET/s "$2" "$4" "$(awk -v a="$2" -v b="$4" 'BEGIN { printf "%.0f%%", 100 * a / b }')"
