#!/usr/bin/env python3
"""The hostile corpus (issue #15): every bundle tests/clients/gwgen.py makes
to attack the gateway is refused by `oagw check` with its own reason code,
and good bundles (CJK names, pax, gzip) pass.  The same corpus goes through
a running oagw and a real oad in gw_e2e_test.
   gw_hostile_test.py OAGW"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gwgen  # noqa: E402


def setup(oagw, tmp):
    """Keys, a ClamAV database matching EICAR, a config with small limits."""
    pub = subprocess.run([oagw, "keygen", "--out", f"{tmp}/portal.key"], check=True, capture_output=True,
                         text=True).stdout.strip()
    subprocess.run([oagw, "keygen", "--out", f"{tmp}/other.key"], check=True, capture_output=True)
    os.makedirs(f"{tmp}/clamav")
    import hashlib
    with open(f"{tmp}/clamav/oa-test.hdb", "w") as f:
        f.write(f"{hashlib.md5(gwgen.EICAR).hexdigest()}:{len(gwgen.EICAR)}:Oa.Test.EICAR\n")
    with open(f"{tmp}/gw.conf", "w") as f:
        f.write(f"""[oagw]
clamav_db = {tmp}/clamav
[limits]
max_entries = 10
max_entry_bytes = 1048576
max_total_bytes = 3145728
max_ratio = 50
[trust]
portal = {pub}
""")
    return gwgen.load_key(f"{tmp}/portal.key"), gwgen.load_key(f"{tmp}/other.key")


def main():
    oagw = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    key, other = setup(oagw, tmp)
    cases = gwgen.hostile(key, other)
    assert len(cases) >= 30, len(cases)
    paths = []
    for name, data, _ in cases:
        p = f"{tmp}/{name}"
        with open(p, "wb") as f:
            f.write(data)
        paths.append(p)
    out = subprocess.run([oagw, "check", "--config", f"{tmp}/gw.conf"] + paths, capture_output=True, text=True)
    lines = out.stdout.splitlines()
    assert out.returncode == 1, (out.returncode, out.stderr)
    assert len(lines) == len(cases), (len(lines), out.stdout, out.stderr)
    bad = []
    for (name, _, reason), line in zip(cases, lines):
        if not line.startswith(f"refused {reason}:"):
            bad.append(f"{name}: want {reason}, got {line}")
    assert not bad, "\n".join(bad)
    reasons = {r for _, _, r in cases}
    # good bundles pass: CJK names in pax headers, a gzip-compressed one
    goods = [("good.tar", gwgen.good(key)), ("good.tar.gz", gwgen.good(key, compress=True)),
             ("good-ustar.tar", gwgen.bundle(key, [("a.txt", b"ascii only\n")], fmt=gwgen.tarfile.USTAR_FORMAT))]
    for name, data in goods:
        with open(f"{tmp}/{name}", "wb") as f:
            f.write(data)
        r = subprocess.run([oagw, "check", "--config", f"{tmp}/gw.conf", f"{tmp}/{name}"], capture_output=True,
                           text=True)
        assert r.returncode == 0 and r.stdout.startswith("ok "), (name, r.stdout, r.stderr)
    print(f"PASS: {len(cases)} hostile bundles refused with {len(reasons)} distinct reason codes; "
          f"{len(goods)} good ones accepted")


if __name__ == "__main__":
    main()
