"""tests/integration/soak_records.py: the soak test's rounds of records (#16) and the exchange gateway (#15).

A mixin of soak_test.Office (it uses its client, sessions, act and create).  Every round:
- records_early: two outgoing documents to the archive with a file each: one dated 2010, published (主动公开:
  proposal, secrecy review, review) on its way, filed D10; one of this year filed by the schedule (D30); a
  metadata correction and a legal hold set and lifted;
- gateway: a public request in through the gateway (a staged upload, the bundle, its duplicate, a
  quarantined bundle), registered (a receipt out), a correction asked for and brought in, assigned, secrecy
  reviewed and replied to (a reply out, with a file), archived; and the gateway drains the outbox as oagw does
  (every item, every file checked against its digest, each acknowledged twice);
- records_late, once the audit trail's checkpoint covers the round: the package and the four-property check,
  the catalogue in JSON, CSV and XLSX, the appraisal and declassification lists, the schedule, a transfer with
  its package and receipt, and the 2010 record disposed of (its file gone, its outbox item no longer leaving).
"""
import datetime
import hashlib
import os
import time
import urllib.parse

from soak_client import check

SENDER = "portal-soak"
ARCHIVE = "某市档案馆"


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def q(s):
    return urllib.parse.quote(s, safe="")


def shanghai_now():
    return datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).replace(microsecond=0).isoformat()


class Records:
    # -- set-up, once --

    def records_setup(self):
        c, arch = self.c, self.tok["archivist"]
        self.gw_seq = 0
        self.outbox_after = 0
        c.call("PUT", "/v1/organs/1/fonds", self.tok["drafter"], {"fonds": "Z109"}, expect=403)
        c.call("PUT", "/v1/organs/1/fonds", arch, {"fonds": "Z109"})
        c.call("PUT", "/v1/organs/1/fonds", arch, {"fonds": "Z110"}, expect=409)  # set once

    # -- helpers --

    def attach(self, who, doc, name, data):
        return self.c.call("POST", "/v1/documents/%d/attachments?name=%s" % (doc, q(name)), self.tok[who], data,
                           expect=201).json()

    def archived(self, title, date=None, publish=False, n=0):
        """An outgoing 公开 document with a file, through its lifecycle to the archive (published on the way)."""
        c = self.c
        extra = {"doc_date": date} if date else {}
        doc = self.create("drafter", "outgoing", title, level=0, **extra)
        self.attach("drafter", doc, "file-%d.txt" % doc, ("%s\n" % title).encode() * 50)
        self.act("drafter", doc, "submit", state="review")
        self.act("sec", doc, "approve", state="signoff")
        self.act("mayor", doc, "sign", state="register")
        self.act("sec", doc, "register", params={"prefix": "某府办发"}, state="issue")
        self.act("sec", doc, "issue", state="issued")
        if publish:
            path = "/v1/documents/%d/publication" % doc
            c.call("POST", path, self.tok["low"], {}, expect=(403, 404))
            r = c.call("POST", path, self.tok["drafter"], {"opinion": "建议主动公开（第%d轮）" % n}).json()
            check(r["status"] == "proposed", "publication: %r" % r)
            c.call("POST", path + "/review", self.tok["mayor"], {"approve": True, "opinion": "同意"}, expect=403)
            c.call("POST", path + "/secrecy_review", self.tok["drafter"], {"opinion": "x"}, expect=403)
            r = c.call("POST", path + "/secrecy_review", self.tok["sec"], {"opinion": "经审查，不涉及国家秘密"}).json()
            check(r["secrecy_reviewed"] is True, "secrecy review: %r" % r)
            r = c.call("POST", path + "/review", self.tok["mayor"], {"approve": True, "opinion": "同意公开"}).json()
            check(r["status"] == "published" and r["outbox_id"], "publication review: %r" % r)
            self.published = r["outbox_id"]
        self.act("archivist", doc, "archive", state="archived")
        return doc

    def settle_audit(self):
        """Waits until a signed checkpoint covers every audit entry written so far (a transfer proves them all)."""
        c, tok = self.c, self.tok["auditor"]
        last = self.audit_seen
        while True:
            page = c.call("GET", "/v1/audit/entries?limit=1000&after=%d" % last, tok).json()
            if page["entries"]:
                last = page["entries"][-1]["id"]
            if page["next_after"] is None:
                break
        for _ in range(50):
            r = c.call("GET", "/v1/audit/checkpoint", tok, expect=(200, 404))
            if r.status == 200 and r.json()["tree_size"] >= last:
                return
            time.sleep(0.1)
        check(False, "no signed checkpoint covers the audit trail's first %d entries after 5 s" % last)

    # -- a round --

    def records_early(self, n):
        c, arch = self.c, self.tok["archivist"]
        c.call("PUT", "/v1/records/schedule", arch, {"organ_id": 1, "doc_type": "通知", "issuer": "*",
                                                      "retention": "D30"})
        c.call("PUT", "/v1/records/schedule", arch, {"organ_id": 1, "doc_type": "通知", "issuer": "*",
                                                      "retention": "X"}, expect=400)
        rules = c.call("GET", "/v1/records/schedule", self.tok["mayor"]).json()["rules"]
        check(any(r["doc_type"] == "通知" and r["retention"] == "D30" for r in rules), "schedule: %r" % rules)
        old_date = "2010-%02d-%02d" % (1 + n % 12, 1 + n % 28)
        self.old_doc = self.archived("关于二〇一〇年第%d项工作的通知" % n, date=old_date, publish=True, n=n)
        self.new_doc = self.archived("关于第%d批归档工作的通知" % n)
        c.call("POST", "/v1/records", self.tok["drafter"], {"document_id": self.new_doc}, expect=403)
        c.call("POST", "/v1/records", arch, {"document_id": self.old_doc, "retention": "D10"}, expect=400)
        old = c.call("POST", "/v1/records", arch, {"document_id": self.old_doc, "retention": "D10",
                                                   "reason": "一般性事务"}, expect=201).json()
        check(old["archival_no"].startswith("Z109-WS·2010-D10-"), "archival number %r" % old["archival_no"])
        new = c.call("POST", "/v1/records", arch, {"document_id": self.new_doc, "pages": 2}, expect=201).json()
        check(new["retention"] == "D30" and new["state"] == "filed", "filed: %r" % new)
        c.call("POST", "/v1/records", arch, {"document_id": self.new_doc}, expect=409)  # filed already
        # A filed record's document no longer changes, except by a correction, recorded.
        c.call("PATCH", "/v1/documents/%d" % self.new_doc, self.tok["drafter"], {"note": "x"},
               headers={"If-Match": "*"}, expect=(409, 412, 428))
        path = "/v1/records/%d" % self.new_doc
        c.call("POST", path + "/corrections", arch, {"field": "note", "value": "x"}, expect=400)
        c.call("POST", path + "/corrections", arch, {"field": "note", "value": "第%d轮备注" % n,
                                                     "reason": "著录补充"}, expect=201)
        rec = c.call("GET", path, self.tok["mayor"]).json()
        check(rec["corrections"] and rec["corrections"][-1]["field"] == "note", "corrections: %r" % rec)
        c.call("PUT", path + "/hold", arch, {"hold": True}, expect=400)
        check(c.call("PUT", path + "/hold", arch, {"hold": True, "reason": "核查中"}).json()["hold"],
              "the hold is not set")
        c.call("PUT", path + "/hold", arch, {"hold": False, "reason": "核查结束"})
        c.call("GET", "/v1/records/%d" % self.old_doc, self.tok["drafter"], expect=403)

    def gateway(self, n):
        c, gw = self.c, self.tok["gateway"]
        c.call("GET", "/v1/gateway/outbox", self.tok["mayor"], expect=403)
        c.call("GET", "/v1/documents", gw, expect=403)  # confined to its routes
        # A bundle's file arrives as a staged upload first.
        data = ("申请材料 第%d轮\n" % n).encode() * 300
        now = shanghai_now()
        self.gw_seq += 1
        bundle = {"bundle_id": sha256_hex(b"soak-request-%d-%d" % (os.getpid(), n)), "sender": SENDER,
                  "seq": self.gw_seq, "type": "public_request", "created": now,
                  "content": {"applicant": {"name": "李四", "id_type": "resident_id", "id_number": "110101199001011234",
                                            "contact": "13900000000"},
                              "subject": "申请公开第%d号信息" % n, "reply_form": "electronic",
                              "submitted": now, "confirmed": now},
                  "files": [{"name": "申请材料%d.txt" % n, "sha256": sha256_hex(data), "size": len(data),
                             "upload": self.staged_upload("申请材料%d.txt" % n, data)}]}
        r = c.call("POST", "/v1/gateway/bundles", gw, bundle, expect=201).json()
        check(r["outcome"] == "imported", "import: %r" % r)
        req = r["document_id"]
        c.call("POST", "/v1/gateway/bundles", gw, bundle, expect=404)  # its upload was taken by the import
        # The ferry repeats itself: oagw uploads the files again, and the import is answered once.
        bundle["files"][0]["upload"] = self.staged_upload("申请材料%d.txt" % n, data)
        again = c.call("POST", "/v1/gateway/bundles", gw, bundle).json()
        check(again["outcome"] == "duplicate" and again["document_id"] == req, "duplicate: %r" % again)
        other = dict(bundle, bundle_id=sha256_hex(b"soak-replay-%d" % n), files=[])
        c.call("POST", "/v1/gateway/bundles", gw, other, expect=409)  # its seq was taken
        c.call("POST", "/v1/gateway/quarantine", gw, {"file": "b%d.tar" % n, "sha256": sha256_hex(b"q%d" % n),
                                                      "reason": "virus", "detail": "EICAR test file"}, expect=201)
        # Registered (a receipt goes out), corrected once (补正), assigned, reviewed and replied to.
        self.act("sec", req, "register", state="registered")
        self.act("sec", req, "request_correction", "请补正：说明所需信息的时间范围", state="correcting")
        self.gw_seq += 1
        corr = {"bundle_id": sha256_hex(b"soak-correction-%d-%d" % (os.getpid(), n)), "sender": SENDER,
                "seq": self.gw_seq, "type": "correction", "created": now,
                "content": {"request_ref": bundle["bundle_id"], "text": "补充：所需为第%d季度的信息。" % n,
                            "confirmed": now}, "files": []}
        c.call("POST", "/v1/gateway/bundles", gw, corr, expect=201)
        self.act("sec", req, "assign", params={"assignee": "edu.staff"}, state="assigned")
        self.act("edu.staff", req, "start", state="handling")
        self.act("sec", req, "secrecy_review", "经审查，不涉及国家秘密", state="handling")
        reply = self.create("edu.staff", "outgoing", "政府信息公开申请答复书（第%d轮）" % n, level=0)
        self.attach("edu.staff", reply, "答复附件%d.txt" % n, ("答复 %d\n" % n).encode() * 100)
        self.act("edu.staff", req, "reply", params={"reply_document_id": reply, "form": "public"}, state="replied")
        self.act("archivist", req, "archive", state="archived")
        self.act("edu.staff", reply, "cancel", state="cancelled")
        self.drain_outbox(n, {req, reply, self.old_doc})

    def staged_upload(self, name, data):
        """A finished gateway upload of data (no document yet); its id."""
        c, gw = self.c, self.tok["gateway"]
        u = c.call("POST", "/v1/uploads", gw, {"name": name, "length": len(data)}, expect=201).json()
        loc = u.get("location") or "/v1/uploads/" + u["upload"]
        half = len(data) // 2
        ct = "application/offset+octet-stream"
        c.call("PATCH", loc, gw, data[:half], headers={"Upload-Offset": "0"}, ctype=ct)
        check(c.call("GET", loc, gw).json()["offset"] == half, "gateway upload offset")
        got = c.call("PATCH", loc, gw, data[half:], headers={"Upload-Offset": str(half)}, ctype=ct).json()
        check(got["sha256"] == sha256_hex(data), "staged upload digest %r" % got)
        return u["upload"]

    def drain_outbox(self, n, expected):
        """As oagw does: every item that may leave, each file fetched and checked, each acknowledged (twice)."""
        c, gw = self.c, self.tok["gateway"]
        seen = set()
        while True:
            page = c.call("GET", "/v1/gateway/outbox?limit=50&after=%d" % self.outbox_after, gw).json()
            for it in page["items"]:
                seen.add(it["document_id"])
                for f in it["files"]:
                    body = c.call("GET", f["href"], gw, accept="*/*").body
                    check(len(body) == f["size"] and ("sha256" not in f or sha256_hex(body) == f["sha256"]),
                          "outbox item %d file %s differs" % (it["id"], f["href"]))
                ack = {"bundle_id": sha256_hex(b"manifest-%d" % it["id"]), "sha256": sha256_hex(b"bundle-%d" % it["id"])}
                c.call("POST", "/v1/gateway/outbox/%d/sent" % it["id"], gw, ack)
                c.call("POST", "/v1/gateway/outbox/%d/sent" % it["id"], gw, ack)  # oagw resumes after a crash
            if page["next_after"] == self.outbox_after or not page["items"]:
                self.outbox_after = max(self.outbox_after, page["next_after"] or 0)
                break
            self.outbox_after = page["next_after"]
        check(expected <= seen, "round %d: documents %s did not reach the outbox" % (n, sorted(expected - seen)))

    def records_late(self, n):
        c, arch, mayor = self.c, self.tok["archivist"], self.tok["mayor"]
        self.settle_audit()
        # The package and the four-property check of this year's record.
        path = "/v1/records/%d" % self.new_doc
        c.call("GET", path + "/package", self.tok["drafter"], expect=403)
        pkg = c.call("GET", path + "/package", arch, accept="*/*")
        check(pkg.headers.get("content-type") == "application/x-tar" and len(pkg.body) > 1024,
              "package: %s, %d bytes" % (pkg.headers.get("content-type"), len(pkg.body)))
        chk = c.call("POST", path + "/check", arch).json()
        check(chk["passed"] is True, "the four-property check failed: %s" % chk.get("text", "")[:600])
        # The catalogue three ways, the appraisal and declassification lists.
        cat = c.call("GET", "/v1/records?fonds=Z109&year=%d" % datetime.date.today().year, arch).json()
        check(any(e["document_id"] == self.new_doc for e in cat["entries"]), "the catalogue lacks the record")
        csv = c.call("GET", "/v1/records?format=csv", arch, accept="*/*")
        check(csv.body.startswith("\ufeff件号,档号".encode()), "catalogue CSV: %r" % csv.body[:40])
        xlsx = c.call("GET", "/v1/records?format=xlsx", mayor, accept="*/*")
        check(xlsx.body[:2] == b"PK", "catalogue XLSX: %r" % xlsx.body[:8])
        c.call("GET", "/v1/records?format=pdf", arch, expect=400)
        due = c.call("GET", "/v1/records/appraisal", mayor).json()["entries"]
        check(any(e["document_id"] == self.old_doc for e in due), "the 2010 record is not due for appraisal")
        c.call("GET", "/v1/records/declassification", arch)
        # This year's record goes to the archive.
        batch = c.call("POST", "/v1/transfers", arch, {"documents": [self.new_doc], "archive": ARCHIVE},
                       expect=201).json()
        check(batch["state"] == "sent" and batch["report"]["passed"], "transfer: %r" % batch.get("state"))
        c.call("POST", "/v1/transfers", arch, {"documents": [self.new_doc], "archive": ARCHIVE}, expect=409)
        tp = "/v1/transfers/%d" % batch["id"]
        c.call("GET", tp, arch)
        tar = c.call("GET", tp + "/package", arch, accept="*/*")
        check(len(tar.body) > 1024, "transfer package of %d bytes" % len(tar.body))
        r = c.call("POST", tp + "/receipt", arch, {"receipt": "接收回执：已接收一件（第%d轮）" % n,
                                                   "received_by": "王档案"}).json()
        check(r["state"] == "received", "receipt: %r" % r.get("state"))
        c.call("POST", tp + "/receipt", arch, {"receipt": "again", "received_by": "王档案"}, expect=409)
        check(c.call("GET", path, arch).json()["state"] == "transferred", "the record is not transferred")
        # The 2010 record is disposed of: its file is gone for everyone, its publication no longer leaves.
        att = c.call("GET", "/v1/records/%d" % self.old_doc, arch).json()["parts"]
        files = [p for p in att if p["part"] in ("formal_file", "attachment")]
        c.call("POST", "/v1/disposals", arch, {"documents": [self.new_doc], "reason": "x"}, expect=409)
        lst = c.call("POST", "/v1/disposals", arch, {"documents": [self.old_doc],
                                                      "reason": "保管期限已满，经鉴定无继续保存价值"}, expect=201).json()
        dp = "/v1/disposals/%d/decision" % lst["id"]
        c.call("POST", dp, arch, {"approve": True, "opinion": "同意"}, expect=403)  # never its proposer
        r = c.call("POST", dp, mayor, {"approve": True, "opinion": "同意销毁"}).json()
        check(r["state"] == "disposed", "disposal: %r" % r.get("state"))
        lists = c.call("GET", "/v1/disposals", arch).json()["lists"]
        check(lists and lists[0]["id"] == lst["id"], "the disposal list is not the newest")
        for p in files:
            c.call("GET", "/v1/documents/%d/attachments/%d" % (self.old_doc, p["attachment_id"]),
                   self.tok["drafter"], accept="*/*", expect=410)
        c.call("GET", "/v1/gateway/outbox/%d/files/1" % self.published, self.tok["gateway"], accept="*/*",
               expect=(403, 404))
