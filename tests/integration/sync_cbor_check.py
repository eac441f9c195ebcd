#!/usr/bin/python3
"""An independent decoder (Debian's python3-cbor2) reads a sample of every
sync message type from a real oad and checks the fields proto/sync.cddl
promises.  usage: sync_cbor_check.py BASE_URL TOKEN DOC_ID
Exits 1 naming the first field that is missing or of the wrong type."""
import sys
import urllib.error
import urllib.request

import cbor2

base, token, doc = sys.argv[1], sys.argv[2], int(sys.argv[3])


def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=body, headers={
        "Authorization": "Bearer " + token, "Accept": "application/cbor",
        "Content-Type": "application/cbor"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, cbor2.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, cbor2.loads(e.read())


def check(cond, what):
    if not cond:
        print("CDDL mismatch:", what)
        sys.exit(1)


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def check_record(r, where):
    for k, t in ((0, is_uint), (1, is_uint), (2, str), (3, str), (4, str), (5, is_uint), (6, str), (7, str),
                 (8, is_uint), (9, str), (11, bool), (12, str), (13, bool)):
        ok = t(r.get(k)) if callable(t) and t is is_uint else isinstance(r.get(k), t)
        check(ok, "%s key %d is %r" % (where, k, r.get(k)))
    check(0 <= r[5] <= 4, where + " level out of range")
    check((10 in r) == r[11], where + " has a body exactly when cacheable")


# changes
st, page = call("GET", "/v1/sync/changes?v=1&since=0&limit=100")
check(st == 200 and isinstance(page, dict), "changes answer")
check(page.get(0) == 1 and page.get(1) == "changes", "changes envelope")
for k in (2, 3, 4):
    check(is_uint(page.get(k)), "changes key %d" % k)
check(isinstance(page.get(5), bool) and isinstance(page.get(6), list), "changes keys 5, 6")
check(page[6], "changes has entries")
for e in page[6]:
    check(is_uint(e.get(0)) and e.get(1) in ("doc", "revoke") and is_uint(e.get(2)) and is_uint(e.get(3)), "entry")
    if e[1] == "doc":
        check_record(e[4], "doc record")
rev = [e for e in page[6] if e.get(2) == doc][0][3]

# push: applied, conflict, refused
ops = [
    {0: "py-1", 1: "edit", 2: doc, 3: rev, 4: {"note": "from python"}},
    {0: "py-2", 1: "edit", 2: doc, 3: rev, 4: {"note": "stale"}},
    {0: "py-3", 1: "act", 2: doc, 3: rev + 1, 5: "no_such_action"},
    {0: "py-4", 1: "frobnicate", 2: doc, 3: 1},
]
st, pushed = call("POST", "/v1/sync/push", cbor2.dumps({0: 1, 1: "push", 2: ops, 99: "ignored"}))
check(st == 200 and pushed.get(0) == 1 and pushed.get(1) == "pushed", "pushed envelope")
res = pushed.get(2)
check(isinstance(res, list) and len(res) == 4, "one result per op")
check(res[0][0] == "py-1" and res[0][1] == "applied" and is_uint(res[0][2]), "applied result %r" % res[0])
check(res[1][1] == "conflict" and is_uint(res[1][2]) and isinstance(res[1][3], str) and
      isinstance(res[1][4], str), "conflict result %r" % res[1])
check_record(res[1][5], "conflict's current version")
check(res[2][1] == "refused" and isinstance(res[2][3], str) and isinstance(res[2][4], str), "refused %r" % res[2])
check(res[3][1] == "refused" and res[3][3] == "bad_field", "a bad op is refused alone %r" % res[3])

# errors
st, err = call("POST", "/v1/sync/push", cbor2.dumps({0: 7, 1: "push", 2: []}))
check(st == 400 and err.get("code") == "unsupported_version" and isinstance(err.get("message"), str), "version")
st, err = call("GET", "/v1/sync/changes?v=1&since=999999999")
check(st == 410 and err.get("code") == "cursor_too_old", "cursor too old")
print("ok: changes, pushed (applied, conflict, refused) and errors match sync.cddl")
