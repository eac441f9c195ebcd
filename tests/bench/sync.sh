#!/bin/sh
# The sync protocol: the initial sync of ~100,000 documents' metadata to an
# empty client (seconds, bytes on the wire, peak RSS of oa and oad), then an
# incremental sync of 100 changes.  The documents are created through the API
# first (wrk, 64 connections), at levels 公开/内部 so that the client keeps
# them (the default cache policy).
#   DOCS   how many documents to aim for (default 100000)
#   PORT   where oad listens (default 18431)
#   BUILD  0: use the binaries already built (bazel build -c opt //server:oad //clients:oa)
set -eu
cd "$(dirname "$0")/../.."
port=${PORT:-18431}
if [ "${BUILD:-1}" != 0 ]; then
    ./scripts/install-deps
    bazel build -c opt //server:oad //clients:oa >/dev/null 2>&1
fi
oad=bazel-bin/server/oad
oa=$PWD/bazel-bin/clients/oa
want=${DOCS:-100000}
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/oa-sync-XXXXXX")
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
$oad init --data "$tmp/data" >/dev/null
$oad serve --data "$tmp/data" --listen 127.0.0.1:$port --log-level warn 2>/dev/null &
pid=$!
sleep 1
base=http://127.0.0.1:$port
eval "$(python3 tests/bench/office.py $base "$tmp/data" 1)"

cat > "$tmp/create.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/cbor"
wrk.body = '{"kind":"outgoing","title":"关于进一步加强公文处理工作的通知","level":1,"urgency":"urgent","main_recipients":"各区人民政府，市政府各部门","body":"各区人民政府，市政府各部门：现将有关事项通知如下。"}'
LUA
# oa.db is encrypted at rest: the documents made are counted from wrk's own
# tally (every request, less the answers that were not 2xx).
n=0
t0=$(date +%s)
while [ "$n" -lt "$want" ]; do
    out=$(wrk -t2 -c64 -d5s -s "$tmp/create.lua" "$base/v1/documents" 2>&1)
    made=$(printf '%s\n' "$out" | awk '/requests in/ { r = $1 } /Non-2xx/ { bad = $NF } END { print r - bad }')
    if [ "$made" -le 0 ]; then
        echo "no document was made: $out" >&2
        exit 1
    fi
    n=$((n + made))
done
echo "created $n documents through POST /v1/documents in $(( $(date +%s) - t0 )) s"

export HOME="$tmp/client" XDG_CONFIG_HOME= XDG_DATA_HOME=
mkdir -p "$HOME"
echo 5 > /proc/$pid/clear_refs 2>/dev/null || true
# login performs the initial sync; time it apart from the password hash
OA_PASSWORD=Bench-Office-Pass-1 $oa --server $base login clerk >/dev/null 2>&1 || true
# start again from an empty copy, timed
rm -f "$HOME/.local/share/oa/cache.db"*
echo 5 > /proc/$pid/clear_refs 2>/dev/null || true
/usr/bin/time -f '%e %M' -o "$tmp/time" $oa --json sync > "$tmp/sync.json"
set -- $(cat "$tmp/time")
printf 'initial sync: %s s, %s documents kept, %s bytes received (%.1f MB), oa peak RSS %d MB, oad peak RSS %s\n' \
    "$1" "$(python3 -c "import json; print(json.load(open('$tmp/sync.json'))['cached'])")" \
    "$(python3 -c "import json; print(json.load(open('$tmp/sync.json'))['bytes_received'])")" \
    "$(python3 -c "import json; print(json.load(open('$tmp/sync.json'))['bytes_received']/1e6)")" \
    $(( $2 / 1024 )) "$(awk '/VmHWM/ { printf "%d MB", $2 / 1024 }' /proc/$pid/status)"

# 100 changes, then an incremental sync
python3 - "$base" "$TOKEN" <<'PY'
import json, sys, urllib.request
base, tok = sys.argv[1], sys.argv[2]
for i in range(1, 101):
    req = urllib.request.Request("%s/v1/documents/%d" % (base, i + 1), method="PATCH",
        data=json.dumps({"note": "第%d次修改" % i}).encode(),
        headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json", "If-Match": "*"})
    urllib.request.urlopen(req).read()
PY
/usr/bin/time -f '%e %M' -o "$tmp/time" $oa --json sync > "$tmp/sync.json"
set -- $(cat "$tmp/time")
printf 'incremental sync of 100 changes: %s s, %s changed, %s bytes received in this run\n' "$1" \
    "$(python3 -c "import json; print(json.load(open('$tmp/sync.json'))['changed'])")" \
    "$(python3 -c "import json; print(json.load(open('$tmp/sync.json'))['bytes_received'])")"
echo "goal: the initial sync of 100,000 documents in under 10 s on this machine"
