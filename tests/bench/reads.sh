#!/bin/sh
# Reads next to /healthz and the bare ceiling, in one run (issue #14's goals):
# 200 documents of mixed levels (公开/内部/秘密, office.py), a reader with
# clearance 秘密; wrk -t2 -c64 per figure.  With 1 and with 2 reader threads
# (storage.readers), so that the scaling shows:
#   GET /healthz, GET /v1/documents/1, a to-do page of 50, a feed page of 50
#   (GET /v1/sync/changes?v=1&since=0&limit=50), each with its ratio to
#   /healthz and its goal, and oad's CPU time per request;
# then durable transitions/s at 64 clients alone and while a read flood (the
# to-do page, 64 more connections) runs, and document GETs/s while the
# transitions run.
#   DURATION  seconds per measurement (default 5)
#   BUILD=0   skip the bazel build (build first yourself: bazel build -c opt
#             //server:oad //tests/bench:ceiling //tests/bench:transitions)
#   BIN       where the binaries are (default bazel-bin)
#   PORT      oad's port (default 18441; the ceiling takes PORT+1)
#   BEFORE    an older oad binary: the transition figures are measured on
#             it too (PORT+3), and on this oad with storage.encrypt=false
#             (PORT+2), as an oad from before #17 encrypted nothing
#   ROUNDS    the transition figures' turns (default 1); with more, their medians too
#   NO_READERS=1  for an oad from before storage.readers (both columns then
#             measure the same server)
# Not part of the test suite (tag: manual); see README's Benchmarks section.
set -eu
cd "$(dirname "$0")/../.."
if [ "${BUILD:-1}" != 0 ]; then
    ./scripts/install-deps
    bazel build -c opt //server:oad //tests/bench:ceiling //tests/bench:transitions >/dev/null 2>&1
fi
bin=${BIN:-bazel-bin}
oad=$bin/server/oad
dur=${DURATION:-5}
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/oa-reads-XXXXXX")
pid=
ceil_pid=
flood_pid=
trap 'kill $pid $ceil_pid $flood_pid 2>/dev/null; rm -rf "$tmp"' EXIT
port=${PORT:-18441}
ceil_port=$((port + 1))
base=http://127.0.0.1:$port

$oad init --data "$tmp/data" >/dev/null
serve() { # readers
    set -- --set storage.readers="$1"
    [ "${NO_READERS:-0}" = 1 ] && set --
    # A session of its own (setsid), as a service runs: with the scheduler's
    # autogroups, an oad in this script's session would share one CPU share
    # with wrk (see encryption.sh).
    setsid $oad serve --data "$tmp/data" --listen 127.0.0.1:$port --log-level warn "$@" 2>/dev/null &
    pid=$!
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        curl -sf $base/healthz >/dev/null 2>&1 && return
        sleep 0.3
    done
    echo "oad did not start" >&2
    exit 1
}
stop() { kill $pid; wait $pid 2>/dev/null || true; pid=; }

serve 2
eval "$(python3 tests/bench/office.py $base "$tmp/data" 200)"
j() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
post() { curl -sf -H 'Content-Type: application/json' -H 'Accept: application/json' ${3:+-H "Authorization: Bearer $3"} -d "$2" "$base$1"; }
# The transitions' drafter (submit and return need staff and secretariat).
otp=$(post /v1/users '{"username":"mover","display_name":"mover","roles":["staff","secretariat"],"department_id":1}' "$SYS" | j '["one_time_password"]')
mover=$(post /v1/sessions "{\"username\":\"mover\",\"password\":\"$otp\"}" | j '["token"]')
post /v1/users/me/password "{\"current_password\":\"$otp\",\"new_password\":\"Load-Test-Drafter-9q\"}" "$mover" >/dev/null

$bin/tests/bench/ceiling $ceil_port &
ceil_pid=$!
sleep 0.5

# Prints "rps p99 us" of one wrk run: us is oad's CPU time (all its threads,
# from /proc) per request answered.
measure() { # url [header]
    cpu0=$(awk '{ print $14 + $15 }' /proc/$pid/stat)
    wrk -t2 -c64 -d"${dur}s" --latency -H "Accept: application/cbor" ${2:+-H "$2"} "$1" 2>/dev/null >"$tmp/wrk" || true
    cpu1=$(awk '{ print $14 + $15 }' /proc/$pid/stat)
    awk -v c0="$cpu0" -v c1="$cpu1" -v hz="$(getconf CLK_TCK)" '
        /requests in/ { n = $1 }
        /Requests\/sec/ { rps = $2 }
        /^ +99%/ { p99 = $2 }
        END { printf "%.0f %s %.0f", rps, p99, (n > 0 ? (c1 - c0) * 1e6 / hz / n : 0) }' "$tmp/wrk"
}
auth="Authorization: Bearer $TOKEN"
doc_url="$base/v1/documents/$DOC"
todo_url="$base/v1/documents?view=todo&limit=50"
feed_url="$base/v1/sync/changes?v=1&since=0&limit=50"
bytes() { curl -s -H "$auth" -H "Accept: application/cbor" "$1" | wc -c; }
echo "documents: 200 (levels 0,1,2); doc $DOC $(bytes "$doc_url") B, to-do page $(bytes "$todo_url") B, feed page $(bytes "$feed_url") B (CBOR)"

# The share of the CPUs the hypervisor took (steal) while the figures were
# measured: on a shared VM it swings from 1% to 45% from minute to minute,
# and every absolute figure with it.
steal() { awk '/^cpu / { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
steal0=$(steal)
set -- $(measure http://127.0.0.1:$ceil_port/healthz)
ceil=$1
for readers in 1 2; do
    [ -n "$pid" ] || serve $readers
    set -- $(measure "$base/healthz"); eval "h_$readers='$1 $2'"
    set -- $(measure "$doc_url" "$auth"); eval "d_$readers='$1 $2'; dc_$readers=$3"
    set -- $(measure "$todo_url" "$auth"); eval "t_$readers='$1 $2'; tc_$readers=$3"
    set -- $(measure "$feed_url" "$auth"); eval "f_$readers='$1 $2'; fc_$readers=$3"
    stop
done

printf '%-26s %12s %9s %12s %9s %9s   %s\n' "" "readers=1" p99 "readers=2" p99 "/healthz" goal
printf '%-26s %12s\n' "ceiling (libuv+llhttp)" "$ceil"
row() { # name one two goal_pct goal_rps
    set -- "$1" $2 $3 "$4" "$5"
    hz=${h_2%% *}
    ratio=$(awk -v a="$4" -v b="$hz" 'BEGIN { printf "%.0f%%", 100 * a / b }')
    ok=$(awk -v a="$4" -v b="$hz" -v p="$6" -v r="$7" 'BEGIN { print (a >= b * p / 100 && a >= r) ? "met" : "NOT met" }')
    goal=""
    [ "$6" != 0 ] && goal=">=$6%"
    [ "$7" != 0 ] && goal="$goal${goal:+, }>=$7/s"
    printf '%-26s %12s %9s %12s %9s %9s   %s %s\n' "$1" "$2" "$3" "$4" "$5" "$ratio" "${goal:--}" "$([ -n "$goal" ] && echo "($ok)")"
}
row "GET /healthz" "$h_1" "$h_2" 0 0
row "GET /v1/documents/$DOC" "$d_1" "$d_2" 50 0
row "to-do page of 50" "$t_1" "$t_2" 10 10000
row "feed page of 50" "$f_1" "$f_2" 0 5000
echo "oad CPU per request (us, all threads), readers=1 / 2: document $dc_1 / $dc_2," \
    "to-do page $tc_1 / $tc_2, feed page $fc_1 / $fc_2"
echo "$steal0 $(steal)" | awk '{ printf "CPU taken by the hypervisor (steal) during these reads: %.0f%%\n", 100 * ($3 - $1) / ($4 - $2) }'

# Durable transitions at 64 clients, alone and while a read flood (to-do
# pages, 64 more connections) runs; then document GETs while the transitions
# run (reads must not queue behind writes, nor writes behind reads).  With
# BEFORE=an older oad binary (e.g. one built from the commit before issue
# #14's work), the same on it, each in its own data directory, so that "not
# below today's" is measured in one run on one machine.
trans() { # port mover token -> "alone flood" (transitions/s)
    a=$($bin/tests/bench/transitions $1 "$2" "$dur" 64 | awk 'END { print $2 }')
    wrk -t1 -c64 -d"$((dur + 10))s" -H "Accept: application/cbor" -H "Authorization: Bearer $3" \
        "http://127.0.0.1:$1/v1/documents?view=todo&limit=50" >"$tmp/flood" 2>&1 &
    flood_pid=$!
    sleep 1
    f=$($bin/tests/bench/transitions $1 "$2" "$dur" 64 | awk 'END { print $2 }')
    kill $flood_pid 2>/dev/null || true
    wait $flood_pid 2>/dev/null || true
    # And the other way round: document GETs while the transitions run.
    $bin/tests/bench/transitions $1 "$2" "$((dur + 2))" 64 >/dev/null 2>&1 &
    flood_pid=$!
    sleep 1
    g=$(wrk -t2 -c64 -d"${dur}s" -H "Accept: application/cbor" -H "Authorization: Bearer $3" \
        "http://127.0.0.1:$1/v1/documents/$DOC" 2>/dev/null | awk '/Requests\/sec/ { printf "%.0f", $2 }')
    wait $flood_pid 2>/dev/null || true
    flood_pid=
    echo "$a $f $g"
}
serve 2
# Another oad on its own data directory and port, with an office and a
# drafter like this one's; sets o_pid, o_mover, o_token.
other() { # binary name port [init/serve settings...]
    o_bin=$1 o_dir=$tmp/$2 o_port=$3
    shift 3
    $o_bin init --data "$o_dir" "$@" >/dev/null
    setsid $o_bin serve --data "$o_dir" --listen 127.0.0.1:$o_port --log-level warn "$@" 2>/dev/null &
    o_pid=$!
    others="$others $o_pid"
    sleep 1
    main_base=$base
    base=http://127.0.0.1:$o_port
    eval "$(python3 tests/bench/office.py $base "$o_dir" 200 | sed 's/\([A-Z]*\)=/O_\1=/g')"
    otp=$(post /v1/users '{"username":"mover","display_name":"mover","roles":["staff","secretariat"],"department_id":1}' "$O_SYS" | j '["one_time_password"]')
    o_mover=$(post /v1/sessions "{\"username\":\"mover\",\"password\":\"$otp\"}" | j '["token"]')
    post /v1/users/me/password "{\"current_password\":\"$otp\",\"new_password\":\"Load-Test-Drafter-9q\"}" "$o_mover" >/dev/null
    o_token=$O_TOKEN
    base=$main_base
}
ostop() { kill $o_pid; wait $o_pid 2>/dev/null || true; }
others=
trap 'kill $pid $ceil_pid $flood_pid $others 2>/dev/null; rm -rf "$tmp"' EXIT
row3() { printf '%-34s %22s %20s %28s\n' "$@"; }
echo
steal1=$(steal)
# Each oad on a fresh data directory of its own (the reads above left this
# one's audit trail longer), the binaries taking turns ROUNDS times.
stop
row3 "" "durable transitions/s" "under a read flood" "GET/s under the transitions"
: > "$tmp/trans"
for round in $(seq "${ROUNDS:-1}"); do
    other $oad this$round $((port + 4))
    set -- $(trans $o_port "$o_mover" "$o_token")
    ostop
    row3 "this oad (readers=2)" "$1" "$2" "$3"
    echo "this $*" >> "$tmp/trans"
    if [ -n "${BEFORE:-}" ]; then
        # This oad without encryption at rest (#17), as BEFORE had none; then BEFORE.
        other $oad plain$round $((port + 2)) --set storage.encrypt=false
        set -- $(trans $o_port "$o_mover" "$o_token")
        ostop
        row3 "this oad, storage.encrypt=false" "$1" "$2" "$3"
        echo "plain $*" >> "$tmp/trans"
        other $BEFORE before$round $((port + 3))
        set -- $(trans $o_port "$o_mover" "$o_token")
        ostop
        row3 "BEFORE" "$1" "$2" "$3"
        echo "before $*" >> "$tmp/trans"
    fi
done
if [ "${ROUNDS:-1}" -gt 1 ]; then
    for who in this plain before; do
        grep -q "^$who " "$tmp/trans" || continue
        set -- $(for c in 2 3 4; do grep "^$who " "$tmp/trans" | awk -v c=$c '{ print $c }' | sort -n |
            awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; done)
        row3 "median of ${ROUNDS}: $who" "$1" "$2" "$3"
    done
fi
echo "$steal1 $(steal)" | awk '{ printf "CPU taken by the hypervisor (steal) during these transitions: %.0f%%\n", 100 * ($3 - $1) / ($4 - $2) }'
