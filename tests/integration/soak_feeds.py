"""tests/integration/soak_feeds.py: the soak test's rounds of the sync feed and the audit trail.

A mixin of soak_test.Office (it uses its client, sessions, act and create).  Every round the drafter reads the
feed from their cursor, a long poll is woken by their next change, and a push of offline work is applied, in
conflict and refused (and retried: answered the same); the auditor reads every entry since the last round
(the ids run on without a gap), and checks the signed checkpoint's inclusion and consistency proofs and an
export's here, not trusting oad.
"""
import datetime
import hashlib
import threading
import time

import cbor2

from soak_client import Fail, b64url, check, verify_consistency, verify_inclusion


class Feeds:
    def sync(self, n):
        """The drafter's feed from their cursor; a long poll woken by a change; a push of offline work."""
        c, tok = self.c, self.tok["drafter"]

        def page(since, limit=1000, wait=None):
            p = "/v1/sync/changes?v=1&since=%d&limit=%d" % (since, limit) + ("&wait=%d" % wait if wait else "")
            msg = c.call("GET", p, tok, accept="application/cbor").cbor()
            check(msg.get(0) == 1 and msg.get(1) == "changes", "changes envelope: %r" % msg.get(1))
            for e in msg[6]:
                check(e[1] in ("doc", "revoke") and e[0] > since, "feed entry %r" % e)
            return msg

        for _ in range(100):
            msg = page(self.cursor)
            self.cursor = msg[3]
            if not msg[5]:
                break
        head = msg[4]
        # Long poll: wakes on the drafter's next change.
        woke = {}

        def poll():
            try:
                woke["msg"] = page(self.cursor, wait=10)
            except Fail as e:
                woke["err"] = str(e)
        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.2)
        doc = self.create("drafter", "outgoing", "离线起草%d" % n, level=1)
        t.join(15)
        check(not t.is_alive(), "the long poll did not answer")
        check("err" not in woke, woke.get("err", ""))
        check(any(e[2] == doc for e in woke["msg"][6]), "the long poll did not bring the new document")
        check(head <= woke["msg"][4], "head went back")
        self.cursor = woke["msg"][3]
        rev = [e for e in woke["msg"][6] if e[2] == doc][-1][3]

        # A push: an applied edit, a stale edit (conflict), a refused action, a refused bad op.
        ops = [
            {0: "soak-%d-1" % n, 1: "edit", 2: doc, 3: rev, 4: {"note": "离线备注"}},
            {0: "soak-%d-2" % n, 1: "edit", 2: doc, 3: rev, 4: {"title": "过时的标题"}},
            {0: "soak-%d-3" % n, 1: "act", 2: doc, 3: rev + 1, 5: "no_such_action"},
            {0: "soak-%d-4" % n, 1: "frobnicate", 2: doc, 3: rev + 1},
        ]
        body = cbor2.dumps({0: 1, 1: "push", 2: ops})
        pushed = c.call("POST", "/v1/sync/push", tok, body, ctype="application/cbor",
                        accept="application/cbor").cbor()
        res = pushed.get(2)
        check(pushed.get(1) == "pushed" and isinstance(res, list) and len(res) == 4, "pushed: %r" % pushed)
        check([x[1] for x in res] == ["applied", "conflict", "refused", "refused"],
              "push outcomes %r" % [x.get(1) for x in res])
        check(res[0][2] == rev + 1 and res[1][5][0] == doc, "push results %r" % res[:2])
        again = c.call("POST", "/v1/sync/push", tok, body, ctype="application/cbor",
                       accept="application/cbor").cbor()
        check([x[1] for x in again[2]] == [x[1] for x in res], "a retried push was answered differently")
        d = c.call("GET", "/v1/documents/%d" % doc, tok).json()
        check(d["note"] == "离线备注" and d["title"] == "离线起草%d" % n, "the push did the wrong thing: %r" % d)
        c.call("POST", "/v1/sync/push", tok, b"\xff\x00garbage", ctype="application/cbor", expect=400)
        c.call("POST", "/v1/sync/push", tok, cbor2.dumps({0: 7, 1: "push", 2: []}), ctype="application/cbor",
               expect=400)
        c.call("GET", "/v1/sync/changes?v=2", tok, accept="application/cbor", expect=400)
        self.act("drafter", doc, "cancel", state="cancelled")

    def audit(self, n):
        """The auditor reads the trail; the proofs are checked here, not trusted."""
        c, tok = self.c, self.tok["auditor"]
        c.call("GET", "/v1/audit/entries", self.tok["sysadmin"], expect=403)
        c.call("GET", "/v1/audit/checkpoint", self.tok["drafter"], expect=403)
        # Every entry since the last round, in pages: the ids run on without a gap (a gap is what
        # `oad audit verify` would call deleted entries).
        while True:
            page = c.call("GET", "/v1/audit/entries?limit=1000&after=%d" % self.audit_seen, tok).json()
            for x in page["entries"]:
                check(x["id"] == self.audit_seen + 1, "audit entries %d to %d are missing: the trail goes on at %d "
                      "(the last entries before it: %s)" % (self.audit_seen + 1, x["id"] - 1, x["id"], self.recent))
                self.audit_seen = x["id"]
                self.recent = (self.recent + ["%d %s %s %s" % (x["id"], x["event"], x["actor"], x["outcome"])])[-3:]
            if page["next_after"] is None:
                break
        e = c.call("GET", "/v1/audit/entries?event=document.create&actor=drafter&limit=5", tok).json()["entries"]
        check(e and all(x["event"] == "document.create" and x["actor"] == "drafter" for x in e), "entry filter")
        c.call("GET", "/v1/audit/entries?doc=%d&limit=50" % self.outgoing_doc, tok)
        # The writer signs a checkpoint at least once a second while entries arrive.
        for _ in range(30):
            r = c.call("GET", "/v1/audit/checkpoint", tok, expect=(200, 404))
            if r.status == 200 and r.json()["tree_size"] > self.audit_size:
                break
            time.sleep(0.2)
        check(r.status == 200, "no audit checkpoint has been signed")
        cp = r.json()
        size, root = cp["tree_size"], b64url(cp["root"])
        check(size > self.audit_size, "no new signed audit checkpoint for 6 s although a whole round added entries: "
              "the latest still has tree size %d" % size)
        p = c.call("GET", "/v1/audit/proof/inclusion?index=%d&size=%d" % (size - 1, size), tok).json()
        check(verify_inclusion(b64url(p["leaf"]), size - 1, size, [b64url(x) for x in p["path"]], root),
              "inclusion proof of entry %d in the signed tree of %d does not verify" % (size - 1, size))
        c.call("GET", "/v1/audit/proof/inclusion?index=%d&size=%d" % (size, size), tok, expect=400)
        if self.audit_size:
            p = c.call("GET", "/v1/audit/proof/consistency?from=%d&to=%d" % (self.audit_size, size), tok).json()
            check(verify_consistency(self.audit_size, size, self.audit_root, root, [b64url(x) for x in p["path"]]),
                  "the tree of %d is not consistent with the earlier signed tree of %d" % (size, self.audit_size))
        first = max(1, size - 49)
        b = c.call("GET", "/v1/audit/export?from=%d&to=%d" % (first, size), tok).json()
        broot, bsize = b64url(b["checkpoint"]["root"]), b["checkpoint"]["tree_size"]
        check(len(b["entries"]) == size - first + 1, "export has %d entries" % len(b["entries"]))
        for x in b["entries"]:
            leaf = hashlib.sha256(b"\x00" + b64url(x["entry"])).digest()
            check(verify_inclusion(leaf, x["leaf_index"], bsize, [b64url(h) for h in x["path"]], broot),
                  "exported entry %d does not verify" % (x["leaf_index"] + 1))
        c.call("GET", "/v1/audit/export?from=0&to=%d" % size, tok, expect=400)
        rep = c.call("GET", "/v1/audit/report?month=" + datetime.date.today().strftime("%Y-%m"), tok)
        check(rep.json() is not None, "report")
        c.call("GET", "/v1/audit/report?month=2026-13", tok, expect=400)
        self.audit_size, self.audit_root = size, root
