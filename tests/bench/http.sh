#!/bin/sh
# HTTP benchmark: requests/s and p50/p99 latency of oad for GET /healthz and
# for POST /v1/hello (decodes a CBOR body, answers CBOR), at 64 and 256
# connections, next to the ceiling -- a minimal libuv+llhttp responder built
# from this tree -- measured in the same run on the same machine.
#   DURATION  seconds per measurement (default 8)
set -eu
cd "$(dirname "$0")/../.."
./scripts/install-deps
bazel build -c opt //server:oad //tests/bench:ceiling >/dev/null 2>&1
oad=bazel-bin/server/oad
ceiling=bazel-bin/tests/bench/ceiling
dur=${DURATION:-8}
tmp=$(mktemp -d)
trap 'kill $oad_pid $ceil_pid 2>/dev/null; rm -rf "$tmp"' EXIT

$oad init --data "$tmp/data" >/dev/null
$oad serve --data "$tmp/data" --listen 127.0.0.1:18401 2>/dev/null &
oad_pid=$!
$ceiling 18402 &
ceil_pid=$!
sleep 1

# Prints "rps p50 p99" from one wrk run.
measure() { # url conns [script]
    script=""
    [ -n "${3:-}" ] && script="-s $3"
    wrk -t2 -c"$2" -d"${dur}s" --latency $script "$1" 2>/dev/null | awk '
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = $2 }
        /^ +99%/ { p99 = $2 }
        END { printf "%s %s %s", rps, p50, p99 }'
}

printf '%-8s %-6s %12s %9s %9s   %12s %9s %9s   %7s\n' route conns "oad req/s" p50 p99 "ceiling r/s" p50 p99 "oad/ceil"
for route in healthz hello; do
    for conns in 64 256; do
        if [ $route = healthz ]; then
            o=$(measure http://127.0.0.1:18401/healthz $conns)
            c=$(measure http://127.0.0.1:18402/healthz $conns)
        else
            o=$(measure http://127.0.0.1:18401/v1/hello $conns tests/bench/hello.lua)
            c=$(measure http://127.0.0.1:18402/v1/hello $conns tests/bench/hello.lua)
        fi
        set -- $o $c
        ratio=$(awk -v a="$1" -v b="$4" 'BEGIN { printf "%.0f%%", 100 * a / b }')
        printf '%-8s %-6s %12s %9s %9s   %12s %9s %9s   %7s\n' $route $conns "$1" "$2" "$3" "$4" "$5" "$6" "$ratio"
    done
done
