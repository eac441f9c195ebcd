#!/usr/bin/env python3
"""oaverify end to end, and the package format checked by an independent
implementation: Python's tarfile and hashlib (SHA-256, SM3 from OpenSSL)
for the bag, RFC 9162 inclusion proofs and the C2SP signed note with
python3-cryptography's Ed25519.  Then a changed byte, another log's key, a
classified package's envelope (opened by the openssl CLI as well) and a
file that is no package.

    oaverify_test.py OAVERIFY AIP_SAMPLE
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

OAVERIFY, SAMPLE = sys.argv[1], sys.argv[2]
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures += 1


def run(*args):
    p = subprocess.run(list(args), capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def sample(path, n="5", size="3000", cert=None):
    args = [SAMPLE, path, n, size] + ([cert] if cert else [])
    code, out, err = run(*args)
    assert code == 0, err
    return out.strip()


def leaf(b):
    return hashlib.sha256(b"\x00" + b).digest()


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def root_from_inclusion(index, size, h, path):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, h
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while (fn & 1) == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def independent_verify(path, vkey):
    tar = tarfile.open(path)
    files = {}
    for m in tar.getmembers():
        if m.isfile():
            base, rel = m.name.split("/", 1)
            files[rel] = tar.extractfile(m).read()
    check(files["bagit.txt"].startswith(b"BagIt-Version: 1.0\n"), "bagit.txt declares BagIt 1.0")
    for alg, name in (("sha256", "sha256"), ("sm3", "sm3")):
        listed = set()
        for line in files["manifest-%s.txt" % name].decode().splitlines():
            digest, rel = line.split("  ", 1)
            listed.add(rel)
            if hashlib.new(alg, files[rel]).hexdigest() != digest:
                check(False, "%s of %s" % (alg, rel))
        payload = {k for k in files if k.startswith("data/")}
        check(listed == payload, "manifest-%s lists exactly the payload" % name)
        for line in files["tagmanifest-%s.txt" % name].decode().splitlines():
            digest, rel = line.split("  ", 1)
            check(hashlib.new(alg, files[rel]).hexdigest() == digest, "tagmanifest-%s: %s" % (name, rel))
    oxum = [l for l in files["bag-info.txt"].decode().splitlines() if l.startswith("Payload-Oxum: ")][0]
    b, c = oxum.split(": ")[1].split(".")
    check((int(b), int(c)) == (sum(len(files[k]) for k in payload), len(payload)), "Payload-Oxum")
    # The signed note under the published key.
    name, keyid, kb64 = vkey.split("+")
    kraw = base64.b64decode(kb64)
    check(kraw[0] == 1 and hashlib.sha256(name.encode() + b"\n" + kraw).digest()[:4].hex() == keyid, "vkey ID")
    note = files["data/checkpoint.txt"].decode()
    text, sigs = note.split("\n\n", 1)
    text += "\n"
    lines = text.splitlines()
    check(lines[0] == name, "checkpoint origin is the key's name")
    size, root = int(lines[1]), base64.b64decode(lines[2])
    sig = [l for l in sigs.splitlines() if l.startswith("\u2014 " + name + " ")][0].split(" ")[2]
    sraw = base64.b64decode(sig)
    check(sraw[:4].hex() == keyid, "signature's key ID")
    Ed25519PublicKey.from_public_bytes(kraw[1:]).verify(sraw[4:], text.encode())  # raises when bad
    check(True, "checkpoint signature (Ed25519)")
    n = 0
    for rel in sorted(files):
        if rel.endswith("/audit.json"):
            a = json.loads(files[rel])
            for e in a["entries"]:
                h = leaf(base64.b64decode(e["entry"]))
                path = [base64.b64decode(p) for p in e["path"]]
                ok = root_from_inclusion(e["index"], size, h, path) == root
                check(ok, "inclusion of leaf %d (%s)" % (e["index"], rel))
                n += 1
        if rel.endswith("/metadata.json"):
            m = json.loads(files[rel])
            d = rel.rsplit("/", 1)[0]
            for f in m["文件"]:
                data = files[d + "/" + f["路径"]]
                check(f["文件大小"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest()
                      and f["sm3"] == hashlib.new("sm3", data).hexdigest(), "metadata matches " + f["路径"])
            for k in ("题名", "文件编号", "责任者", "日期", "机构或问题", "保管期限", "密级", "档号"):
                check(bool(m.get(k)), "metadata has " + k)
    check(n > 0, "%d audit entries proved" % n)


tmp = tempfile.mkdtemp()
pkg = os.path.join(tmp, "pkg.tar")
vkey = sample(pkg)
independent_verify(pkg, vkey)

code, out, err = run(OAVERIFY, "--key", vkey, "--no-scanner", pkg)
check(code == 0 and "PASSED" in out, "oaverify passes the package (exit %d) %s" % (code, err))
code, out, err = run(OAVERIFY, "--key", vkey, "--no-scanner", "--json", pkg)
rep = json.loads(out)
check(code == 0 and rep["passed"] and rep["key_trusted"] and rep["records"] == 5, "JSON report")
keyfile = os.path.join(tmp, "log.vkey")
open(keyfile, "w").write(vkey + "\n")
code, out, err = run(OAVERIFY, "--key-file", keyfile, "--no-scanner", pkg)
check(code == 0, "--key-file")
code, out, err = run(OAVERIFY, pkg)
check(code == 1 and "no virus scanner" in out and "the key the package carries" in out,
      "without a scanner or key it fails security and says the key was the package's own")

# A changed byte in a formal file.
raw = bytearray(open(pkg, "rb").read())
i = raw.find(b"sample text")
raw[i] ^= 0x20
bad = os.path.join(tmp, "bad.tar")
open(bad, "wb").write(raw)
code, out, err = run(OAVERIFY, "--key", vkey, "--no-scanner", "--json", bad)
rep = json.loads(out)
check(code == 1 and any(f["code"] == "digest" for f in rep["findings"]), "a changed byte is found")

# Another log's key.
other = os.path.join(tmp, "other.tar")
subprocess.run([SAMPLE, other, "1", "10"], check=True, capture_output=True)
okey = vkey.replace("oa.audit/00112233aabbccdd", "oa.audit/ffffffffffffffff")
code, out, err = run(OAVERIFY, "--key", okey, "--no-scanner", "--json", pkg)
rep = json.loads(out)
check(code == 1 and not rep["key_trusted"] and any(f["code"] == "checkpoint" for f in rep["findings"]),
      "another log's key does not verify the checkpoint")

# The envelope of a classified package.
key, cert = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", cert, "-subj", "/CN=archive", "-days", "1"], check=True, capture_output=True)
env = os.path.join(tmp, "pkg.tar.p7m")
sample(env, "2", "3000", cert)
check(b"manifest-sha256" not in open(env, "rb").read(), "nothing of the bag shows through the envelope")
code, out, err = run(OAVERIFY, "--key", vkey, "--no-scanner", env)
check(code == 2 and "--decrypt" in err, "an envelope without the key is not checked")
code, out, err = run(OAVERIFY, "--key", vkey, "--no-scanner", "--decrypt", key, cert, env)
check(code == 0, "the envelope opens and the package passes (%s)" % err)
dec = os.path.join(tmp, "dec.tar")
p = subprocess.run(["openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", env, "-inkey", key,
                    "-recip", cert, "-out", dec], capture_output=True, text=True)
check(p.returncode == 0, "the openssl CLI opens the envelope too (%s)" % p.stderr.strip())
if p.returncode == 0:
    independent_verify(dec, vkey)

junk = os.path.join(tmp, "junk")
open(junk, "wb").write(b"not a package" * 100)
code, out, err = run(OAVERIFY, "--no-scanner", junk)
check(code == 1 and "FAILED" in out, "a file that is no package fails")
code, out, err = run(OAVERIFY)
check(code == 2, "usage")

print("%d failures" % failures)
if not failures:
    print("PASS: oaverify: every check above held")  # the line ./scripts/test counts
sys.exit(1 if failures else 0)
