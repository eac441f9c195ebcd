#!/bin/sh
# Durable workflow transitions per second with 1, 16 and 64 concurrent
# clients, and the latency of an action, next to the ceiling of one fsync per
# transition on the same disk (printed first, from commit_bench).
#   DURATION  seconds per measurement (default 8)
set -eu
cd "$(dirname "$0")/../.."
./scripts/install-deps
bazel build -c opt //server:oad //tests/bench:transitions //tests/bench:commit_bench >/dev/null 2>&1
oad=bazel-bin/server/oad
dur=${DURATION:-8}
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/oa-bench-XXXXXX")
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT

bazel-bin/tests/bench/commit_bench "$tmp" 2 | head -1
$oad init --data "$tmp/data" >/dev/null
$oad serve --data "$tmp/data" --listen 127.0.0.1:18421 --log-level warn 2>/dev/null &
pid=$!
sleep 1
base=http://127.0.0.1:18421
j() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
post() { curl -sf -H 'Content-Type: application/json' -H 'Accept: application/json' ${3:+-H "Authorization: Bearer $3"} -d "$2" "$base$1"; }

pw=$(awk '$1 == "sysadmin" { print $2 }' "$tmp/data/initial-credentials")
sys=$(post /v1/sessions "{\"username\":\"sysadmin\",\"password\":\"$pw\"}" | j '["token"]')
post /v1/users/me/password "{\"current_password\":\"$pw\",\"new_password\":\"Load-Test-Root-9x\"}" "$sys" >/dev/null || true
otp=$(post /v1/users '{"username":"bench","display_name":"bench","roles":["staff","secretariat"]}' "$sys" | j '["one_time_password"]')
tok=$(post /v1/sessions "{\"username\":\"bench\",\"password\":\"$otp\"}" | j '["token"]')
post /v1/users/me/password "{\"current_password\":\"$otp\",\"new_password\":\"Load-Test-Drafter-9\"}" "$tok" >/dev/null || true
bazel-bin/tests/bench/transitions 18421 "$tok" "$dur" ${CLIENTS:-1 16 64}
