#!/bin/sh
# TLS benchmark (#17): requests/s on kept-alive connections and new
# connections/s (a TCP connect, a full TLS 1.3 handshake and one request
# each: "Connection: close") of oad's GET /healthz, plain and over TLS, next
# to nginx serving a static file of the same size with the same certificate
# over TLS (and plain), all in the same run on the same machine.  nginx runs
# one worker, as oad runs one loop.
#   DURATION  seconds per measurement (default 8)
#   CONNS     kept-alive connections (default 64); new connections use 16
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
plain_pid=""; tls_pid=""
trap 'kill $plain_pid $tls_pid 2>/dev/null; [ -f "$tmp/nginx.pid" ] && kill $(cat "$tmp/nginx.pid") 2>/dev/null; rm -rf "$tmp"' EXIT

$oad tls init --dir "$tmp/tls" --name 127.0.0.1,localhost >/dev/null
$oad init --data "$tmp/plain" >/dev/null
$oad init --data "$tmp/tlsdata" >/dev/null
$oad serve --data "$tmp/plain" --listen 127.0.0.1:18441 --log-level warn 2>/dev/null &
plain_pid=$!
$oad serve --data "$tmp/tlsdata" --listen 127.0.0.1:18442 --log-level warn \
    --set tls.cert="$tmp/tls/server.pem" --set tls.key="$tmp/tls/server.key" 2>/dev/null &
tls_pid=$!
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

printf '%-26s %-20s %12s %9s %9s\n' measurement server "req/s" p50 p99
row() { # label server url conns [wrk args]
    label=$1; name=$2; url=$3; c=$4; shift 4
    set -- $(measure "$url" "$c" "$@")
    printf '%-26s %-20s %12s %9s %9s\n' "$label" "$name" "$1" "$2" "$3"
}
row "keep-alive, $conns conns" "oad plain" http://127.0.0.1:18441/healthz "$conns"
row "keep-alive, $conns conns" "oad TLS 1.3" https://127.0.0.1:18442/healthz "$conns"
row "keep-alive, $conns conns" "nginx TLS 1.3" https://127.0.0.1:18443/healthz "$conns"
row "keep-alive, $conns conns" "nginx plain" http://127.0.0.1:18444/healthz "$conns"
row "new conn/request, 16" "oad plain" http://127.0.0.1:18441/healthz 16 -H "Connection: close"
row "new conn/request, 16" "oad TLS 1.3" https://127.0.0.1:18442/healthz 16 -H "Connection: close"
row "new conn/request, 16" "nginx TLS 1.3" https://127.0.0.1:18443/healthz 16 -H "Connection: close"
row "new conn/request, 16" "nginx plain" http://127.0.0.1:18444/healthz 16 -H "Connection: close"
