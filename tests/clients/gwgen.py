"""Builds exchange bundles (docs/BUNDLE.md) for the tests, independently of
oagw: Python's tarfile, json and the cryptography package's Ed25519.  Good
bundles and hostile ones alike: each hostile maker returns the bytes and the
reason code oagw must answer."""
import base64
import gzip
import hashlib
import io
import json
import os
import tarfile
import zipfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def load_key(path):
    """An oagw keygen key file: base64 of libsodium's seed || public key."""
    raw = base64.b64decode(open(path).read().strip())
    return Ed25519PrivateKey.from_private_bytes(raw[:32])


def public_b64(key):
    return base64.b64encode(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                           serialization.PublicFormat.Raw)).decode()


def signature(key, manifest):
    pk = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return pk + key.sign(manifest)


def request_content(confirmed="2026-12-01T10:00:00+08:00"):
    return {"applicant": {"name": "张三", "id_type": "resident_id", "id_number": "110101199001011234",
                          "contact": "13800000000"},
            "subject": "本机关2025年度某项目的预算执行情况", "reply_form": "electronic",
            "submitted": "2026-12-01T09:00:00+08:00", "confirmed": confirmed}


def manifest(files, seq=1, sender="portal", type_="public_request", content=None, **extra):
    m = {"format": 1, "type": type_, "sender": sender, "seq": seq, "created": "2026-12-01T10:00:01+08:00",
         "files": [{"name": n, "sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for n, b in files],
         "content": content if content is not None else request_content()}
    m.update(extra)
    return json.dumps(m, ensure_ascii=False).encode()


def reg(name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    return ti, data


def special(name, kind, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = linkname
    ti.devmajor, ti.devminor = 1, 3
    return ti, None


def tar(entries, fmt=tarfile.PAX_FORMAT, compress=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    out = buf.getvalue()
    return gzip.compress(out, 9) if compress else out


def bundle(key, files, m=None, extra_entries=(), fmt=tarfile.PAX_FORMAT, compress=False, sig=None, **kw):
    """A bundle: manifest.json, manifest.sig, files/NAME for each (name, bytes)."""
    m = m if m is not None else manifest(files, **kw)
    s = sig if sig is not None else signature(key, m)
    entries = [reg("manifest.json", m), reg("manifest.sig", s)]
    entries += [reg("files/" + n, b) for n, b in files]
    entries += list(extra_entries)
    return tar(entries, fmt, compress)


def hostile(key, other):
    """[(name, bytes, reason)]: at least 30 bundles oagw must refuse, each for its reason."""
    f = [("a.txt", b"plain text\n")]
    m = manifest(f)
    sig = signature(key, m)
    head = [reg("manifest.json", m), reg("manifest.sig", sig)]
    rnd = os.urandom(900 * 1024)
    zeros = b"\0" * (900 * 1024)
    zipbuf = io.BytesIO()
    with zipfile.ZipFile(zipbuf, "w") as z:
        z.writestr("manifest.json", m)
    inner_tar = tar([reg("x.txt", b"x")])
    cases = [
        ("random.tar", os.urandom(3000), "format"),
        # names oagw's own state files use: still only bundles to it
        ("trap.reason", os.urandom(1000), "format"),
        ("trap.d", os.urandom(1000), "format"),
        ("trap.in", os.urandom(1000), "format"),
        ("is-a-zip.tar", zipbuf.getvalue(), "format"),
        ("truncated.tar", bundle(key, [("a.txt", b"y" * 5000)])[:2048 + 600], "format"),
        ("files-first.tar", tar([reg("files/a.txt", f[0][1])] + head), "layout"),
        ("empty.tar", tar([]), "layout"),
        ("manifest-only.tar", tar([reg("manifest.json", m)]), "no_signature"),
        ("no-sig.tar", tar([reg("manifest.json", m), reg("files/a.txt", f[0][1])]), "no_signature"),
        ("sig-flipped.tar", bundle(key, f, sig=sig[:40] + bytes([sig[40] ^ 1]) + sig[41:]), "bad_signature"),
        ("sig-short.tar", bundle(key, f, sig=sig[:90]), "bad_signature"),
        ("other-key.tar", bundle(other, f), "untrusted_key"),
        ("wrong-sender.tar", bundle(key, f, sender="elsewhere"), "untrusted_key"),
        ("dotdot-inside.tar", tar(head + [reg("files/../a.txt", f[0][1])]), "path_traversal"),
        ("dotdot.tar", tar(head + [reg("../evil.txt", b"x")]), "path_traversal"),
        ("absolute.tar", tar(head + [reg("/etc/passwd", b"x")]), "absolute_path"),
        ("symlink.tar", tar(head + [special("files/a.txt", tarfile.SYMTYPE, "/etc/passwd")]), "symlink"),
        ("hardlink.tar", tar(head + [reg("files/a.txt", f[0][1]),
                                     special("files/b.txt", tarfile.LNKTYPE, "files/a.txt")]), "hardlink"),
        ("chardev.tar", tar(head + [special("files/a.txt", tarfile.CHRTYPE)]), "device"),
        ("blockdev.tar", tar(head + [special("files/a.txt", tarfile.BLKTYPE)]), "device"),
        ("fifo.tar", tar(head + [special("files/a.txt", tarfile.FIFOTYPE)]), "fifo"),
        ("not-utf8.tar", tar(head + [reg("files/\udcff\udcfe.txt", b"x")], fmt=tarfile.USTAR_FORMAT), "bad_name"),
        ("subdir.tar", tar(head + [reg("files/sub/a.txt", b"x")]), "bad_name"),
        ("control-char.tar", tar(head + [reg("files/a\x07.txt", b"x")]), "bad_name"),
        ("rtl-override.tar", tar(head + [reg("files/abc\u202etxt.exe", b"x")]), "bad_name"),
        ("duplicate.tar", bundle(key, f, extra_entries=[reg("files/a.txt", f[0][1])]), "duplicate"),
        ("manifest-twice.tar", bundle(key, f, extra_entries=[reg("manifest.json", m)]), "duplicate"),
        ("many-entries.tar", bundle(key, [("f%02d.txt" % i, b"x\n") for i in range(12)]), "too_many_entries"),
        ("big-entry.tar", bundle(key, [("big.txt", b"a" * (1100 * 1024))]), "entry_too_large"),
        ("big-total.tar", bundle(key, [("r%d.txt" % i, rnd) for i in range(4)]), "too_large"),
        ("gzip-bomb.tar.gz", bundle(key, [("z1.txt", zeros), ("z2.txt", zeros)], compress=True), "ratio"),
        ("nested-gzip.tar", bundle(key, [("a.txt", gzip.compress(b"hello"))]), "nested_archive"),
        ("nested-zip.tar", bundle(key, [("a.pdf", zipbuf.getvalue())]), "nested_archive"),
        ("nested-tar.tar", bundle(key, [("a.txt", inner_tar)]), "nested_archive"),
        ("unlisted.tar", bundle(key, f, extra_entries=[reg("files/b.txt", b"x")]), "unlisted"),
        ("top-level-extra.tar", bundle(key, f, extra_entries=[reg("extra.txt", b"x")]), "unlisted"),
        ("missing.tar", bundle(key, f, m=manifest(f + [("b.txt", b"b")])), "missing"),
        ("digest.tar", bundle(key, [("a.txt", b"plain TEXT\n")], m=m), "digest"),
        ("size.tar", bundle(key, [("a.txt", b"longer plain text\n")], m=m), "size_mismatch"),
        ("no-seq.tar", bundle(key, f, m=m.replace(b'"seq": 1, ', b"")), "schema"),
        ("unknown-field.tar", bundle(key, f, colour="red"), "schema"),
        ("not-json.tar", bundle(key, f, m=b"{\"format\": 1,"), "schema"),
        ("dup-key.tar", bundle(key, f, m=m.replace(b'"seq": 1,', b'"seq": 1, "seq": 2,')), "schema"),
        ("format-2.tar", bundle(key, f, m=m.replace(b'"format": 1', b'"format": 2')), "schema"),
        ("reply-inbound.tar", bundle(key, f, type_="reply", content={"request_ref": "0" * 64, "form": "public",
                                                                     "text": "x"}), "schema"),
        ("bad-time.tar", bundle(key, f, content=request_content("yesterday")), "schema"),
        ("elf.tar", bundle(key, [("a.pdf", b"\x7fELF\x02\x01\x01" + b"\0" * 57 + b"\x02\0\x3e\0" + b"\0" * 60)]),
         "content_type"),
        ("html.tar", bundle(key, [("a.txt", b"<html><body><script>alert(1)</script></body></html>\n")]),
         "content_type"),
        ("eicar.tar", bundle(key, [("eicar.txt", EICAR)]), "virus"),
    ]
    return cases


def good(key, seq=1, name="申请书.pdf", **kw):
    return bundle(key, [(name, PDF), ("说明.txt", "一份说明\n".encode())], seq=seq, **kw)


def main(argv):
    """gwgen.py hostile DIR KEY OTHERKEY   writes each hostile bundle into DIR, and DIR/../expected.txt
       gwgen.py good FILE KEY SEQ          one good public_request bundle
       gwgen.py correction FILE KEY SEQ REF CONFIRMED   one correction of request bundle REF"""
    if argv[1] == "hostile":
        out, key, other = argv[2], load_key(argv[3]), load_key(argv[4])
        cases = hostile(key, other)
        with open(os.path.join(os.path.dirname(os.path.abspath(out)), "expected.txt"), "w") as f:
            for name, data, reason in cases:
                f.write(f"{name} {reason}\n")
        for name, data, reason in cases:
            tmp = os.path.join(out, "." + name)
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, os.path.join(out, name))
    elif argv[1] == "good":
        data = good(load_key(argv[3]), seq=int(argv[4]))
        tmp = argv[2] + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, argv[2])
    elif argv[1] == "correction":
        # gwgen.py correction FILE KEY SEQ REQUEST_REF CONFIRMED: a correction (补正) bundle with one file
        content = {"request_ref": argv[5], "text": "补正：所需信息为2025年第三季度部分。", "confirmed": argv[6]}
        data = bundle(load_key(argv[3]), [("补正说明.txt", "补正说明\n".encode())], seq=int(argv[4]),
                      type_="correction", content=content)
        tmp = argv[2] + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, argv[2])
    else:
        raise SystemExit("usage: gwgen.py hostile DIR KEY OTHERKEY | good FILE KEY SEQ | "
                         "correction FILE KEY SEQ REF CONFIRMED")


if __name__ == "__main__":
    import sys
    main(sys.argv)
