"""tests/integration/soak_client.py: the soak test's side of the wire (soak_test.py).

The oad process it runs (Oad), one checked HTTP request per connection (Client), which records the route of
server/routes.c each request reached (Routes: the test fails when one is never reached), what accumulates in
the running process and its data directory (Watch: open descriptors, bounded database rows counted by
soak_rows, temporary and dead files, each held to a slope over the rounds), and RFC 6238 and RFC 9162 checked
independently of oad.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

import cbor2

READERS = 2  # storage.readers, set explicitly: each reader connection has a page cache of its own (see soak_test)
IDEMPOTENCY_KEEP_S = 3  # kept answers are forgotten after this, by housekeeping every second: the table levels off
# SQLite's page caches hold up to the whole database, which grows every round: by design, not a leak, but it
# hides one.  Bounded to 64 KiB (16 pages) per connection, full within round 1, memory must level off.
CACHE_KIB = 64


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


# ---------------------------------------------------------------------------
# oad
# ---------------------------------------------------------------------------

def oad_binary():
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OAD")
    if not path:
        raise Fail("name the oad binary: soak_test.py PATH or OAD=PATH")
    path = os.path.abspath(path)
    check(os.access(path, os.X_OK), "oad is not executable at %s" % path)
    return path



class Oad:
    """`oad init`, then one `oad serve` on an ephemeral port (as harness.c does)."""

    SETTINGS = ["security.argon2_opslimit=1", "security.argon2_memlimit=8192",
                "security.login_failure_delay_ms=20", "storage.readers=%d" % READERS,
                "security.idempotency_keep_seconds=%d" % IDEMPOTENCY_KEEP_S, "storage.housekeeping_seconds=1",
                "storage.cache_kib=%d" % CACHE_KIB, "storage.reader_cache_kib=%d" % CACHE_KIB]

    def __init__(self, binary):
        self.binary = binary
        with open(binary, "rb") as f:
            self.asan = b"__asan_init" in f.read()
        self.env = dict(os.environ)
        if self.asan:
            # ASan parks freed memory in a quarantine (256 MiB by default) to catch use after free; RSS climbs
            # until it is full (about round 4 here), which says nothing about oad.  A 16 MiB quarantine is full
            # within round 1, so the RSS after round 3 is a steady state under ASan too.  The suite's own
            # options (detect_leaks, abort_on_error) stay.
            self.env["ASAN_OPTIONS"] = ":".join(filter(None, [self.env.get("ASAN_OPTIONS"), "quarantine_size_mb=16"]))
        self.root = tempfile.mkdtemp(prefix="soak-", dir=os.environ.get("TEST_TMPDIR") or None)
        self.dir = os.path.join(self.root, "data")
        self.tls = os.environ.get("SOAK_TLS") == "1"  # every connection TLS 1.3 (#17), to the office's own CA
        self.tls_dir = os.path.join(self.root, "tls")
        self.ssl = None
        self.log = self.dir + ".log"
        self.proc = None
        self.port = 0

    def args(self, cmd):
        a = [self.binary, cmd, "--data", self.dir]
        for s in self.SETTINGS:
            a += ["--set", s]
        if self.tls:
            a += ["--set", "tls.cert=" + os.path.join(self.tls_dir, "server.pem"),
                  "--set", "tls.key=" + os.path.join(self.tls_dir, "server.key")]
        return a

    def tls_cert(self, cmd):
        """`oad tls init` (the CA and a server certificate) or `oad tls server` (a new server certificate)."""
        r = subprocess.run([self.binary, "tls", cmd, "--dir", self.tls_dir, "--name", "127.0.0.1"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env, timeout=60)
        check(r.returncode == 0, "oad tls %s failed: %s" % (cmd, r.stdout.decode(errors="replace")))

    def start(self):
        if self.tls:
            self.tls_cert("init")
            self.ssl = ssl.create_default_context(cafile=os.path.join(self.tls_dir, "ca.pem"))
        r = subprocess.run(self.args("init"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=self.env)
        check(r.returncode == 0, "oad init failed (%d): %s" % (r.returncode, r.stderr.decode(errors="replace")))
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.args("serve") + ["--listen", "127.0.0.1:0"], stdout=subprocess.DEVNULL,
                                     stderr=logf, env=self.env)
        logf.close()
        deadline = time.time() + 20
        while time.time() < deadline and not self.port:
            with open(self.log, "rb") as f:
                m = re.search(rb"event=listening addr=127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                raise Fail("oad serve exited with %s before listening" % self.proc.returncode)
            else:
                time.sleep(0.02)
        check(self.port, "oad did not start listening")

    def initial_password(self, user):
        with open(os.path.join(self.dir, "initial-credentials")) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[0] == user:
                    return parts[1]
        raise Fail("no initial password for " + user)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def status(self, key):
        """A number of /proc/PID/status (VmRSS in KiB, Threads)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise Fail("no %s for oad" % key)

    def rss_kib(self):
        return self.status("VmRSS")

    def fds(self):
        """The descriptors oad holds open now."""
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def db_kib(self):
        return os.path.getsize(os.path.join(self.dir, "oa.db")) // 1024

    def stop(self, timeout=30):
        """SIGTERM; the exit status, or None when it had to be killed."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode

    def rotate(self):
        """New key-encryption key versions (and under TLS a new server certificate): `oad keys rotate` tells the
        running oad (SIGHUP), which reloads both and rewraps every data key in the background."""
        if self.tls:
            self.tls_cert("server")
        rc, out = self.tool("keys", "rotate")
        check(rc == 0, "oad keys rotate exited %d: %s" % (rc, out.strip()))

    def tool(self, *args):
        r = subprocess.run([self.binary] + list(args) + ["--data", self.dir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=300, env=self.env)
        return r.returncode, r.stdout.decode(errors="replace")

    def exit_text(self):
        rc = self.proc.poll() if self.proc else None
        if rc is None:
            return "is running"
        return "was killed by %s" % signal.Signals(-rc).name if rc < 0 else "exited with %d" % rc

    def log_tail(self, n=30):
        """The log's warnings and errors (the first 20), then its last n lines."""
        try:
            with open(self.log, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        bad = [l for l in lines if re.search(r"level=(warn|error|fatal)|ERROR|runtime error", l)]
        out = "\n".join(bad[:20]) + ("\n... %d more\n" % (len(bad) - 20) if len(bad) > 20 else "\n")
        return "warnings and errors (%d):\n%s---- last %d lines ----\n%s" % (len(bad), out, n, "\n".join(lines[-n:]))


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise Fail("not JSON: %r" % self.body[:300])

    def cbor(self):
        try:
            return cbor2.loads(self.body)
        except Exception:
            raise Fail("not CBOR: %r" % self.body[:300])

    @property
    def etag(self):
        return self.headers.get("etag", "")


class Client:
    """One request per connection; every answer is checked against what is expected."""

    def __init__(self, oad, routes=None):
        self.oad = oad
        self.requests = 0
        self.stepup = None  # (secadmin's token, authenticator secret) once enrolled
        self.routes = routes

    def call(self, method, path, token=None, body=None, expect=200, headers=None, ctype=None,
             accept="application/json"):
        h = {"Accept": accept}
        data = None
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                data = bytes(body)
                h["Content-Type"] = ctype or "application/octet-stream"
            else:
                data = json.dumps(body, ensure_ascii=False).encode()
                h["Content-Type"] = ctype or "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        if self.stepup and token == self.stepup[0]:
            h["X-OA-OTP"] = totp(self.stepup[1])  # as secadmin's client asks the person for a code
        h.update(headers or {})
        self.requests += 1
        if self.oad.ssl:
            conn = http.client.HTTPSConnection("127.0.0.1", self.oad.port, timeout=60, context=self.oad.ssl)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.oad.port, timeout=60)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            resp = Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        except (OSError, http.client.HTTPException) as e:
            time.sleep(0.2)
            raise Fail("%s %s: no answer (%s: %s); oad %s" % (method, path, type(e).__name__, e,
                                                             self.oad.exit_text()))
        finally:
            conn.close()
        if self.routes:
            self.routes.hit(method, path, resp.status)
        want = expect if isinstance(expect, (tuple, list, set)) else (expect,)
        if resp.status >= 500 or resp.status not in want:
            raise Fail("%s %s: status %d, expected %s; body: %s" % (
                method, path, resp.status, "/".join(map(str, want)), resp.body[:600].decode(errors="replace")))
        return resp

    def raw(self, data):
        """Sends raw bytes on a fresh connection; the status of the answer."""
        self.requests += 1
        with socket.create_connection(("127.0.0.1", self.oad.port), timeout=30) as plain:
            s = self.oad.ssl.wrap_socket(plain, server_hostname="127.0.0.1") if self.oad.ssl else plain
            s.sendall(data)
            got = b""
            while b"\r\n" not in got:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            if s is not plain:
                s.close()
        m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
        if not m:
            raise Fail("raw request %r: no status line in %r" % (data[:60], got[:200]))
        return int(m.group(1))


# ---------------------------------------------------------------------------
# RFC 6238 and RFC 9162, independently of the server
# ---------------------------------------------------------------------------

def totp(secret32, t=None):
    key = base64.b32decode(secret32 + "=" * (-len(secret32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time() if t is None else t) // 30), hashlib.sha1).digest()
    off = mac[19] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf, index, size, path, root):
    f, last, cur = index, size - 1, leaf
    for p in path:
        if last == 0:
            return False
        if f % 2 == 1 or f == last:
            cur = node(p, cur)
            while f % 2 == 0 and f != 0:
                f //= 2
                last //= 2
        else:
            cur = node(cur, p)
        f //= 2
        last //= 2
    return last == 0 and cur == root


def verify_consistency(first, second, root1, root2, path):
    if first == second:
        return not path and root1 == root2
    p = ([root1] if first & (first - 1) == 0 else []) + list(path)
    if not p:
        return False
    f, s = first - 1, second - 1
    while f % 2 == 1:
        f //= 2
        s //= 2
    fr = sr = p[0]
    for c in p[1:]:
        if s == 0:
            return False
        if f % 2 == 1 or f == s:
            fr = node(c, fr)
            sr = node(c, sr)
            while f % 2 == 0 and f != 0:
                f //= 2
                s //= 2
        else:
            sr = node(sr, c)
        f //= 2
        s //= 2
    return s == 0 and fr == root1 and sr == root2




# ---------------------------------------------------------------------------
# the routes of server/routes.c, and which of them the soak reached
# ---------------------------------------------------------------------------

class Routes:
    """Every route of server/routes.c; a request reaches the first whose method and path match (as oad's table
    does: literal paths come before {} ones).  A route is covered once it answered a 2xx: the soak must have
    used it, not only been refused by it."""

    ENTRY = re.compile(r'^\s*\{"(GET|POST|PUT|PATCH|DELETE)",\s*"(/[^"]*)"', re.M)

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.table = []
        for method, pattern in self.ENTRY.findall(text):
            rx = re.compile("^" + "/".join("[^/]+" if seg == "{}" else re.escape(seg)
                                           for seg in pattern.split("/")) + "$")
            self.table.append((method, pattern, rx))
        check(len(self.table) >= 50, "only %d routes read from %s" % (len(self.table), path))
        self.count = {(m, p): 0 for m, p, _ in self.table}

    def hit(self, method, path, status):
        path = path.split("?", 1)[0]
        for m, p, rx in self.table:
            if m == method and rx.match(path):
                if 200 <= status < 300:
                    self.count[(m, p)] += 1
                return

    def missed(self):
        return ["%s %s" % k for k, n in self.count.items() if n == 0]


# ---------------------------------------------------------------------------
# what accumulates
# ---------------------------------------------------------------------------

def slope(ys):
    """The growth per round of ys over their index: the Theil-Sen estimate, the median of the slopes between
    every pair of rounds.  A leak grows every round and shows in nearly every pair; a single step (a pool or
    a table that grows once, then stays) shows only in the pairs that straddle it, so it moves the median
    little, where it would tilt a least-squares line (one 103 KiB step in round 28 of 30 read as 6.8 KiB a
    round)."""
    n = len(ys)
    if n < 2:
        return 0.0
    pairs = sorted((ys[j] - ys[i]) / float(j - i) for i in range(n) for j in range(i + 1, n))
    m = len(pairs)
    return pairs[m // 2] if m % 2 else (pairs[m // 2 - 1] + pairs[m // 2]) / 2.0


class Watch:
    """After every round: oad's open descriptors, the database rows that must stay bounded (soak_rows), the
    temporary files in the data directory and the blob files no live blob names.  At the end each series,
    from the warm-up on, is held to a slope per round: what leaks once a round (one descriptor, one session,
    one file) fails, whatever the round count."""

    # name: (the largest growth per round allowed, what it means)
    BOUNDS = {
        "fds": (0.2, "descriptors oad holds open"),
        "sessions": (0.2, "session rows (logged out, ended, reset or expired ones go)"),
        "idempotency": (3.0, "kept idempotent answers (forgotten after %d s)" % IDEMPOTENCY_KEEP_S),
        "changes_per_entity_max": (0.0, "changes rows of one entity (the feed keeps only the latest)"),
        "record_unseal": (0.0, "record_unseal rows (a correction or disposal removes its own)"),
        "outbox_unsent": (0.1, "outbox items the gateway has not written out"),
        "threads": (0.0, "oad's threads"),
        "wal_kib": (64.0, "KiB of the WAL file (checkpointed: it does not grow with the database)"),
        "data_files": (0.1, "files in the data directory beside oa.db and the blobs"),
        "tmp_files": (0.1, "temporary files in the data directory"),
        "dead_blob_files": (0.1, "blob files no live blob names (shredded or never committed)"),
    }

    def __init__(self, oad, rows_tool):
        self.oad = oad
        self.rows_tool = rows_tool
        self.series = {k: [] for k in self.BOUNDS}
        self.last = {}

    def rows(self):
        r = subprocess.run([self.rows_tool, self.oad.dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60, env=self.oad.env)
        check(r.returncode == 0, "soak_rows failed: %s" % r.stderr.decode(errors="replace"))
        return {k: int(v) for k, v in (line.split() for line in r.stdout.decode().splitlines())}

    def files(self):
        """Temporary files, blob files and the other files of the data directory."""
        tmp, blobs, other = 0, 0, 0
        for root, _, names in os.walk(self.oad.dir):
            for name in names:
                if ".tmp" in name or name.startswith("tmp"):
                    tmp += 1
                elif os.path.relpath(root, self.oad.dir).startswith("blobs"):
                    blobs += 1
                else:
                    other += 1
        return tmp, blobs, other

    def sample(self):
        rows = self.rows()
        tmp, blob_files, other = self.files()
        try:
            wal = os.path.getsize(os.path.join(self.oad.dir, "oa.db-wal")) // 1024
        except OSError:
            wal = 0
        got = dict(rows)
        got.update(fds=self.oad.fds(), threads=self.oad.status("Threads"), wal_kib=wal, data_files=other,
                   tmp_files=tmp, blob_files=blob_files, dead_blob_files=max(0, blob_files - rows["blobs_live"]))
        for k in self.series:
            self.series[k].append(got[k])
        self.last = got
        # Invariants that hold at every moment, not only in the long run.
        check(got["changes_per_entity_max"] <= 1, "an entity has %d rows in changes" % got["changes_per_entity_max"])
        check(got["record_unseal"] == 0, "%d record_unseal rows outlived their transaction" % got["record_unseal"])
        return got

    def line(self):
        g = self.last
        return "fds %d, threads %d, sessions %d, kept answers %d, blobs %d live/%d files, tmp %d, wal %d KiB" % (
            g["fds"], g["threads"], g["sessions"], g["idempotency"], g["blobs_live"], g["blob_files"],
            g["tmp_files"], g["wal_kib"])

    def verdict(self, warmup):
        """Fails when a series grows faster than its bound after round `warmup`."""
        bad = []
        for k, (allowed, what) in self.BOUNDS.items():
            ys = self.series[k][warmup - 1:]
            if len(ys) >= 3 and slope(ys) > allowed:
                bad.append("%s grew %.2f a round (allowed %.2f) from round %d: %s" % (
                    what, slope(ys), allowed, warmup, ys))
        check(not bad, "what accumulates:\n  " + "\n  ".join(bad))

    def summary(self, warmup):
        return ", ".join("%s %+.2f/round" % (k, slope(v[warmup - 1:])) for k, v in self.series.items())
