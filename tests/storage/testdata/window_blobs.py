#!/usr/bin/env python3
"""Writes window-21.blob and window-27.blob for blob_test's
a_compressed_stream_may_not_ask_for_a_large_window: one zstd stream (flags 1,
as blobs were written before frames) of make_blob_corpus's text(6000) twice,
AES-256-GCM, sealed after BLOB-FORMAT.md under stream-v1.blob's key and
associated data.  The stream is ZSTD_compressStream2 at level 3 of a size it
was not told (window descriptor 0x58: 2 MiB, what the writer used); in
window-27.blob that byte says 0x88 (128 MiB), and nothing else changes.
Usage: window_blobs.py STREAM OUTDIR, STREAM being the stream's bytes
(tests/fuzz/corpus/blob/sealed-aes-stream-unsized without its 10-byte prefix,
twice)."""
import sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

dek = bytes((i * 7 + 1) & 0xFF for i in range(32))
ad = b"doc:7|rev:2|level:2"
stream = open(sys.argv[1], "rb").read()
assert stream[:4] == b"\x28\xb5\x2f\xfd" and stream[5] == 0x58 and len(stream) < 65536


def seal(stream):
    h = bytearray(64)
    h[0:8] = b"OABLOB\x01\x01"
    h[8] = 1  # compressed, one stream
    h[10:14] = (65536).to_bytes(4, "big")
    h[16:48] = b"\x5a" * 32
    h[48:55] = b"fuzzing"
    key = HKDF(hashes.SHA256(), 32, bytes(h[16:48]), bytes(h[:16]) + ad).derive(dek)
    nonce = bytes(h[48:55]) + (0).to_bytes(4, "big") + b"\x01"  # segment 0, the last
    return bytes(h) + AESGCM(key).encrypt(nonce, stream, None)


open(sys.argv[2] + "/window-21.blob", "wb").write(seal(stream))
open(sys.argv[2] + "/window-27.blob", "wb").write(seal(stream[:5] + b"\x88" + stream[6:]))
