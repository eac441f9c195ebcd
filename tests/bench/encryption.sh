#!/bin/sh
# The cost of the database encrypted at rest (storage/cryptvfs.h): durable
# workflow transitions per second (16 clients) and GET /v1/documents/ID per
# second (64 connections), through the real oad, with the database encrypted
# and plain, in the same run on the same disk.  The plain run uses
# `storage.encrypt=false`, a switch that exists for this comparison only.
# Aim: encrypted at most 15% slower.  Manual: not part of the test suite.
# The two are measured REPS times, interleaved (encrypted first in odd
# rounds, plain first in even ones) so that a busy machine's drift falls on
# both alike; each round on a fresh data directory.  Prints every round and
# the medians with their ratio.  Next to each rate, oad's own CPU time per
# operation (user+system from /proc, in µs): unlike the rates, that figure
# hardly moves with the load other processes put on the machine, so it shows
# the cost of encryption itself when the rates are noisy.  Quiet: nothing but
# the figures on stdout.
#   DURATION  seconds per measurement (default 8)
#   REPS      rounds (default 5)
#   SUITE     the encrypted run's page suite: aes-256-gcm (default) or sm4-sm3
set -eu
cd "$(dirname "$0")/../.."
./scripts/install-deps
# One bazel at a time on a shared machine (flock, when there is one).
lock=${OA_BAZEL_LOCK:-/tmp/oa-bazel.lock}
if command -v flock >/dev/null 2>&1; then
    flock "$lock" bazel build -c opt //server:oad //tests/bench:transitions >/dev/null 2>&1
else
    bazel build -c opt //server:oad //tests/bench:transitions >/dev/null 2>&1
fi
dur=${DURATION:-8}
reps=${REPS:-5}
suite=${SUITE:-aes-256-gcm}
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/oa-bench-XXXXXX")
pid=
trap 'if [ -n "$pid" ]; then kill $pid 2>/dev/null; fi; rm -rf "$tmp"' EXIT
# Copies: another build on this machine may repoint bazel-bin while this runs.
cp bazel-bin/server/oad bazel-bin/tests/bench/transitions "$tmp/"
oad=$tmp/oad
j() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# oad's user+system CPU time so far, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
# µs of oad CPU per operation, from the ticks before and after and the rate.
per_op() { awk -v a="$1" -v b="$2" -v r="$3" -v d="$dur" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.0f", (b - a) / hz * 1e6 / (r * d) }'; }

# Prints "transitions/s GET/s µs/transition µs/GET" for a data directory with storage.encrypt=$1.
run() {
    data="$tmp/data-$1"
    rm -rf "$data"
    $oad init --data "$data" --set storage.encrypt=$1 --set blob.suite="$suite" >/dev/null
    $oad serve --data "$data" --set storage.encrypt=$1 --set blob.suite="$suite" --listen 127.0.0.1:18431 --log-level warn 2>/dev/null &
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
    c0=$(cpu)
    tps=$("$tmp/transitions" 18431 "$tok" "$dur" 16 | awk 'NR == 2 { print $2 }')
    c1=$(cpu)
    doc=$(post /v1/documents '{"kind":"outgoing","title":"基准测试 读","body":"正文"}' "$tok" | j '["id"]')
    c2=$(cpu)
    gps=$(wrk -t2 -c64 -d"${dur}s" -H "Authorization: Bearer $tok" "$base/v1/documents/$doc" 2>/dev/null |
          awk '/Requests\/sec/ { print $2 }')
    c3=$(cpu)
    kill $pid
    wait $pid 2>/dev/null || true
    pid=
    echo "$tps $gps $(per_op "$c0" "$c1" "$tps") $(per_op "$c2" "$c3" "$gps")"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }

: >"$tmp/enc"
: >"$tmp/plain"
printf '%-6s %14s %14s %14s %14s %8s %8s %8s %8s\n' round "enc trans/s" "plain trans/s" "enc GET/s" "plain GET/s" \
    "enc µs/t" "pl µs/t" "enc µs/g" "pl µs/g"
r=1
while [ "$r" -le "$reps" ]; do
    if [ $((r % 2)) -eq 1 ]; then
        e=$(run true); p=$(run false)
    else
        p=$(run false); e=$(run true)
    fi
    echo "$e" >>"$tmp/enc"
    echo "$p" >>"$tmp/plain"
    set -- $e $p
    printf '%-6s %14s %14s %14s %14s %8s %8s %8s %8s\n' "$r" "$1" "$5" "$2" "$6" "$3" "$7" "$4" "$8"
    r=$((r + 1))
done
et=$(cut -d' ' -f1 "$tmp/enc" | median); eg=$(cut -d' ' -f2 "$tmp/enc" | median)
pt=$(cut -d' ' -f1 "$tmp/plain" | median); pg=$(cut -d' ' -f2 "$tmp/plain" | median)
ect=$(cut -d' ' -f3 "$tmp/enc" | median); ecg=$(cut -d' ' -f4 "$tmp/enc" | median)
pct_=$(cut -d' ' -f3 "$tmp/plain" | median); pcg=$(cut -d' ' -f4 "$tmp/plain" | median)
echo
printf '%-14s %12s %12s %8s\n' "median of $reps" encrypted plain ratio
printf '%-14s %12s %12s %8s\n' transitions/s "$et" "$pt" "$(pct "$et" "$pt")"
printf '%-14s %12s %12s %8s\n' GET/s "$eg" "$pg" "$(pct "$eg" "$pg")"
printf '%-14s %12s %12s %8s\n' "CPU µs/trans." "$ect" "$pct_" "$(pct "$ect" "$pct_")"
printf '%-14s %12s %12s %8s\n' "CPU µs/GET" "$ecg" "$pcg" "$(pct "$ecg" "$pcg")"
