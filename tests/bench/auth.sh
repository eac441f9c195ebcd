#!/bin/sh
# Authentication benchmark: logins per second (dominated by Argon2id at the
# parameters oad init calibrated, printed below), and the cost of an
# authenticated request (bearer token checked on the writer thread) next to an
# unauthenticated route, in the same run.
#   DURATION  seconds per measurement (default 8)
set -eu
cd "$(dirname "$0")/../.."
./scripts/install-deps
bazel build -c opt //server:oad >/dev/null 2>&1
oad=bazel-bin/server/oad
dur=${DURATION:-8}
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
$oad init --data "$tmp/data" | grep -i argon2
$oad serve --data "$tmp/data" --listen 127.0.0.1:18411 2>/dev/null &
pid=$!
sleep 1
base=http://127.0.0.1:18411
pw=$(awk '$1 == "auditor" { print $2 }' "$tmp/data/initial-credentials")
new="Bench-Log-Reader-2026"
token=$(curl -sf -H 'Content-Type: application/json' -H 'Accept: application/json' \
    -d "{\"username\":\"auditor\",\"password\":\"$pw\"}" $base/v1/sessions |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
curl -sf -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"current_password\":\"$pw\",\"new_password\":\"$new\"}" $base/v1/users/me/password

cat > "$tmp/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"auditor","password":"$new"}'
LUA
cat > "$tmp/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Accept"] = "application/cbor"
LUA

run() { # conns url [script]
    s=""
    [ -n "${3:-}" ] && s="-s $3"
    wrk -t2 -c"$1" -d"${dur}s" --latency $s "$2" 2>/dev/null | awk '
        /Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
        /Non-2xx/ { bad = $NF }
        END { printf "%10s req/s  p50 %9s  p99 %9s  non-2xx %s\n", rps, p50, p99, bad ? bad : 0 }'
}
printf '%-40s' "POST /v1/sessions (login), 4 conns:"; run 4 $base/v1/sessions "$tmp/login.lua"
printf '%-40s' "GET /healthz (no auth), 64 conns:"; run 64 $base/healthz
printf '%-40s' "GET /v1/users/me (auth), 64 conns:"; run 64 $base/v1/users/me "$tmp/auth.lua"
