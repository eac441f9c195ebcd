#!/usr/bin/env python3
"""Sets up a fresh oad for a benchmark: an organ, a department, a staff user
with clearance 2 (秘密) and a password, and optionally N documents.  Prints
shell assignments: TOKEN=... DOC=... (the first document) SYS=... (sysadmin).

usage: office.py BASE_URL DATA_DIR [N_DOCS]
"""
import base64
import hashlib
import hmac
import json
import struct
import sys
import time
import urllib.request

base, data = sys.argv[1], sys.argv[2]
ndocs = int(sys.argv[3]) if len(sys.argv) > 3 else 1


def call(method, path, token=None, body=None, headers=None):
    h = {"Accept": "application/json"}
    if body is not None:
        h["Content-Type"] = "application/json"
    if token:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    req = urllib.request.Request(base + path, method=method, headers=h,
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def admin(name, newpw):
    creds = dict(line.split() for line in open(data + "/initial-credentials") if line.strip())
    tok = call("POST", "/v1/sessions", body={"username": name, "password": creds[name]})["token"]
    call("POST", "/v1/users/me/password", tok, {"current_password": creds[name], "new_password": newpw})
    return tok


def totp(secret32):
    key = base64.b32decode(secret32 + "=" * (-len(secret32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    off = mac[19] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


sys_tok = admin("sysadmin", "Bench-Root-Of-Trust-1")
sec_tok = admin("secadmin", "Bench-Label-Keeper-1")
# Clearance changes need secadmin's second factor: enrol, then send a code with each.
sec_secret = call("POST", "/v1/users/me/totp", sec_tok)["secret"]
call("POST", "/v1/users/me/totp/confirm", sec_tok, {"code": totp(sec_secret)})
call("POST", "/v1/organs", sys_tok, {"code": "某府", "name": "某市人民政府"})
call("POST", "/v1/departments", sys_tok, {"organ_id": 1, "code": "府办", "name": "府办"})
u = call("POST", "/v1/users", sys_tok, {"username": "clerk", "display_name": "办事员",
                                        "roles": ["staff"], "department_id": 1})
call("PUT", "/v1/users/%d/clearance" % u["user"]["id"], sec_tok, {"clearance": 2},
     {"If-Match": "*", "X-OA-OTP": totp(sec_secret)})
otp = u["one_time_password"]
tok = call("POST", "/v1/sessions", body={"username": "clerk", "password": otp})["token"]
call("POST", "/v1/users/me/password", tok, {"current_password": otp, "new_password": "Bench-Office-Pass-1"})
first = None
for i in range(ndocs):
    d = call("POST", "/v1/documents", tok, {"kind": "outgoing", "title": "基准文件 %d" % i,
                                            "level": i % 3, "body": "正文 %d" % i})
    first = first or d["id"]
print("TOKEN=%s DOC=%s SYS=%s" % (tok, first, sys_tok))
