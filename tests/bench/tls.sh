#!/bin/sh
# TLS benchmark (#17): requests/s on kept-alive connections and new
# connections/s (a TCP connect, a full TLS 1.3 handshake and one request
# each: "Connection: close") of oad's GET /healthz, plain and over TLS, next
# to nginx serving a static file of the same size with the same certificate
# over TLS (and plain), all in the same run on the same machine.  nginx runs
# one worker, as oad runs one loop.
#
# Each server runs in a session of its own (setsid), as nginx's daemon does:
# with the kernel's scheduler autogroups (/proc/sys/kernel/sched_autogroup_enabled)
# a session shares one CPU share among its processes, so an oad started in
# this script's session split its share with wrk's two threads (which spin on
# a writable socket while they wait for a handshake) while nginx had a share
# of its own.  On a busy 2-core machine that alone halved oad's new TLS
# connections/s (#17: 516 against nginx's 1,058, with oad's loop 30% busy).
#   DURATION  seconds per measurement (default 8)
#   CONNS     kept-alive connections (default 64); new connections use 16
#   SHARED=1  also measures an oad TLS in this script's session, as before
#   ROUNDS    new TLS connections: rounds of oad and nginx taking turns
#             (default 3), then each one's total over its rounds: other
#             load on the machine comes and goes within seconds
set -eu
cd "$(dirname "$0")/../.."
./scripts/install-deps
command -v nginx >/dev/null || apt-get install -y nginx-light >/dev/null
lock=""
[ -e /tmp/oa-bazel.lock ] && lock="flock /tmp/oa-bazel.lock"
$lock bazel build -c opt //server:oad >/dev/null 2>&1
oad=bazel-bin/server/oad
dur=${DURATION:-8}
conns=${CONNS:-64}
tmp=$(mktemp -d)
plain_pid=""; tls_pid=""; shared_pid=""
trap 'kill $plain_pid $tls_pid $shared_pid 2>/dev/null; [ -f "$tmp/nginx.pid" ] && kill $(cat "$tmp/nginx.pid") 2>/dev/null; rm -rf "$tmp"' EXIT

$oad tls init --dir "$tmp/tls" --name 127.0.0.1,localhost >/dev/null
$oad init --data "$tmp/plain" >/dev/null
$oad init --data "$tmp/tlsdata" >/dev/null
# setsid execs in place here (a background job of a script leads no process
# group), so $! is oad's own pid.
setsid $oad serve --data "$tmp/plain" --listen 127.0.0.1:18441 --log-level warn 2>/dev/null &
plain_pid=$!
setsid $oad serve --data "$tmp/tlsdata" --listen 127.0.0.1:18442 --log-level warn \
    --set tls.cert="$tmp/tls/server.pem" --set tls.key="$tmp/tls/server.key" 2>/dev/null &
tls_pid=$!
if [ "${SHARED:-0}" = 1 ]; then
    $oad init --data "$tmp/shared" >/dev/null
    $oad serve --data "$tmp/shared" --listen 127.0.0.1:18445 --log-level warn \
        --set tls.cert="$tmp/tls/server.pem" --set tls.key="$tmp/tls/server.key" 2>/dev/null &
    shared_pid=$!
fi
sleep 1

# nginx: the same certificate, a static file as long as oad's /healthz answer.
mkdir -p "$tmp/www"
curl -s http://127.0.0.1:18441/healthz > "$tmp/www/healthz"
cat > "$tmp/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $tmp/nb; proxy_temp_path $tmp/np; fastcgi_temp_path $tmp/nf;
    uwsgi_temp_path $tmp/nu; scgi_temp_path $tmp/ns;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:18443 ssl;
        listen 127.0.0.1:18444;
        ssl_certificate $tmp/tls/server.pem;
        ssl_certificate_key $tmp/tls/server.key;
        ssl_protocols TLSv1.3;
        root $tmp/www;
        default_type application/json;
    }
}
EOF
nginx -c "$tmp/nginx.conf" -p "$tmp"
sleep 0.5
for u in http://127.0.0.1:18441 https://127.0.0.1:18442 https://127.0.0.1:18443 http://127.0.0.1:18444; do
    curl -sf --cacert "$tmp/tls/ca.pem" "$u/healthz" >/dev/null || { echo "tls.sh: $u/healthz does not answer" >&2; exit 1; }
done

# Prints "rps p50 p99" of one wrk run.
measure() { # url conns [extra wrk args]
    url=$1; c=$2; shift 2
    wrk -t2 -c"$c" -d"${dur}s" --latency "$@" "$url" 2>/dev/null | awk '
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = $2 }
        /^ +99%/ { p99 = $2 }
        END { printf "%s %s %s", rps, p50, p99 }'
}

nginx_worker=$(pgrep -P "$(cat "$tmp/nginx.pid")" | head -1)
# CPU time (user + system) of a process, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# Which scheduling group each one runs in (differing groups: each its own share).
[ -r /proc/self/autogroup ] && for p in $$ $plain_pid $tls_pid $nginx_worker $shared_pid; do
    printf '%s: %s\n' "$(cat /proc/$p/comm)" "$(cut -d' ' -f1 /proc/$p/autogroup)"
done | paste -sd' ' -

# The server's own CPU per request is the figure least disturbed by a busy
# machine (wrk shares the two cores with the servers).
printf '%-26s %-16s %12s %9s %9s %14s\n' measurement server "req/s" p50 p99 "server CPU/req"
row() { # label server pid url conns [wrk args]
    label=$1; name=$2; pid=$3; url=$4; c=$5; shift 5
    before=$(cpu "$pid")
    set -- $(measure "$url" "$c" "$@")
    after=$(cpu "$pid")
    per=$(awk -v t=$((after - before)) -v hz="$hz" -v r="$1" -v d="$dur" 'BEGIN { printf "%.0f us", t * 1e6 / hz / (r * d) }')
    printf '%-26s %-16s %12s %9s %9s %14s\n' "$label" "$name" "$1" "$2" "$3" "$per"
    echo "$name $1 $((after - before))" >> "$tmp/rounds"
}
row "keep-alive, $conns conns" "oad plain" $plain_pid http://127.0.0.1:18441/healthz "$conns"
row "keep-alive, $conns conns" "oad TLS 1.3" $tls_pid https://127.0.0.1:18442/healthz "$conns"
row "keep-alive, $conns conns" "nginx TLS 1.3" "$nginx_worker" https://127.0.0.1:18443/healthz "$conns"
row "keep-alive, $conns conns" "nginx plain" "$nginx_worker" http://127.0.0.1:18444/healthz "$conns"
row "new conn/request, 16" "oad plain" $plain_pid http://127.0.0.1:18441/healthz 16 -H "Connection: close"
rounds=${ROUNDS:-3}
: > "$tmp/rounds"
i=1
while [ "$i" -le "$rounds" ]; do
    row "new conn/request, 16, #$i" "oad TLS 1.3" $tls_pid https://127.0.0.1:18442/healthz 16 -H "Connection: close"
    [ -n "$shared_pid" ] &&
        row "new conn/request, 16, #$i" "oad TLS, shared" $shared_pid https://127.0.0.1:18445/healthz 16 -H "Connection: close"
    row "new conn/request, 16, #$i" "nginx TLS 1.3" "$nginx_worker" https://127.0.0.1:18443/healthz 16 -H "Connection: close"
    i=$((i + 1))
done
# Each server's rounds together: all its requests over all its seconds.
for name in "oad TLS 1.3" "oad TLS, shared" "nginx TLS 1.3"; do
    awk -v n="$name" -v d="$dur" -v hz="$hz" -v k="$rounds" '
        substr($0, 1, length(n) + 1) == n " " { f = split($0, a, " "); r += a[f - 1] * d; t += a[f] }
        END { if (r > 0) printf "%-26s %-16s %12.2f %9s %9s %11.0f us\n", "new conn/request, 16, all", n, r / (d * k), "", "", t * 1e6 / hz / r }' "$tmp/rounds"
done
row "new conn/request, 16" "nginx plain" "$nginx_worker" http://127.0.0.1:18444/healthz 16 -H "Connection: close"
