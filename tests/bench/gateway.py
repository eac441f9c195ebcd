#!/usr/bin/env python3
"""oagw's throughput: 1,000 public requests, each with a 100 KB attachment,
imported through the real oad (bundles/s, wall clock of `oagw run --once`
over a full inbox), next to `oagw check` of the same bundles (every check,
no import), proto/bundle.c's reader alone and libarchive reading them alone.
   gateway.py OAD OAGW GW_BENCH [N]"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients"))
import gwgen  # noqa: E402


def call(base, method, path, token=None, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req) as r:
            data = r.read()
            return r.status, json.loads(data) if data else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def login(base, user, password, new):
    st, j = call(base, "POST", "/v1/sessions", body={"username": user, "password": password})
    assert st == 201, (st, j)
    if new:
        st, _ = call(base, "POST", "/v1/users/me/password", j["token"],
                     {"current_password": password, "new_password": new})
        assert st == 204, st
    return j["token"]


def main():
    oad, oagw, bench = (os.path.abspath(a) for a in sys.argv[1:4])
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    tmp = tempfile.mkdtemp(prefix="oa-gw-bench-", dir=os.environ.get("TMPDIR", "/var/tmp"))
    srv = None
    try:
        data = f"{tmp}/data"
        subprocess.run([oad, "init", "--data", data], check=True, capture_output=True)
        port = 18340 + os.getpid() % 1000
        srv = subprocess.Popen([oad, "serve", "--data", data, "--listen", f"127.0.0.1:{port}",
                                "--set", "security.argon2_opslimit=1", "--set", "security.argon2_memlimit=8192"],
                               stderr=open(f"{tmp}/oad.log", "w"))
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        creds = dict(line.split()[:2] for line in open(f"{data}/initial-credentials") if len(line.split()) >= 2)
        sys_tok = login(base, "sysadmin", creds["sysadmin"], "Root-Of-Trust-2026")
        call(base, "POST", "/v1/organs", sys_tok, {"code": "某府", "name": "某市人民政府"})
        call(base, "POST", "/v1/departments", sys_tok, {"organ_id": 1, "code": "府办", "name": "府办"})
        st, j = call(base, "POST", "/v1/users", sys_tok, {"username": "gw", "display_name": "gateway",
                                                          "roles": ["gateway"], "department_id": 1})
        assert st == 201, (st, j)
        login(base, "gw", j["one_time_password"], "Ferry-Side-2026x")
        for d in ("inbox", "outbox", "clamav", "scratch", "bundles"):
            os.makedirs(f"{tmp}/{d}")
        with open(f"{tmp}/credentials", "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write("gw\nFerry-Side-2026x\n")
        with open(f"{tmp}/clamav/oa-test.hdb", "w") as f:
            f.write("44d88612fea8a8f36de82e1278abb02f:68:Oa.Test.EICAR\n")
        pub = subprocess.run([oagw, "keygen", "--out", f"{tmp}/portal.key"], check=True, capture_output=True,
                             text=True).stdout.strip()
        subprocess.run([oagw, "keygen", "--out", f"{tmp}/oagw.key"], check=True, capture_output=True)
        with open(f"{tmp}/gw.conf", "w") as f:
            f.write(f"[oagw]\nserver = {base}\ncredentials = {tmp}/credentials\ninbox = {tmp}/inbox\n"
                    f"outbox = {tmp}/outbox\nstate = {tmp}/state\nkey = {tmp}/oagw.key\nsender = oa\n"
                    f"clamav_db = {tmp}/clamav\nsettle_ms = 0\n[trust]\nportal = {pub}\n")
        key = gwgen.load_key(f"{tmp}/portal.key")
        paths = []
        for i in range(n):
            att = gwgen.PDF[:9] + os.urandom(100 * 1024 - len(gwgen.PDF)) + gwgen.PDF[9:]
            p = f"{tmp}/bundles/r{i:05d}.tar"
            with open(p, "wb") as f:
                f.write(gwgen.bundle(key, [("附件.pdf", att)], seq=i + 1))
            paths.append(p)
        mb = sum(os.path.getsize(p) for p in paths) / 1e6
        print(f"{n} bundles, {mb:.0f} MB, one 100 KB PDF attachment each")
        subprocess.run([bench, f"portal={pub}", f"{tmp}/scratch"] + paths, check=True)
        t0 = time.monotonic()
        out = subprocess.run([oagw, "check", "--config", f"{tmp}/gw.conf"] + paths, capture_output=True, text=True)
        t1 = time.monotonic()
        assert out.returncode == 0, out.stdout[-500:] + out.stderr[-500:]
        print(f"oagw check (+ libmagic, ClamAV): {n / (t1 - t0):8.0f} bundles/s")
        for p in paths:
            shutil.copy(p, f"{tmp}/inbox/")
        t0 = time.monotonic()
        subprocess.run([oagw, "run", "--once", "--config", f"{tmp}/gw.conf"], check=True, capture_output=True)
        t1 = time.monotonic()
        status = json.load(open(f"{tmp}/state/status.json"))
        assert status["imported"] == n, status
        print(f"oagw run, imported into oad:    {n / (t1 - t0):8.0f} bundles/s  ({t1 - t0:.1f} s; "
              f"uploads + import, each committed with fsync)")
    finally:
        if srv:
            srv.terminate()
            srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
