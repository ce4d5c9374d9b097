#!/usr/bin/env python3
"""mp.py - writes test payloads for the AssemblyScript SDK tests as
MessagePack (smallest encodings, keys in the order given), without the
msgpack module: `mp.py NAME OUT` writes the payload NAME to OUT."""
import struct
import sys


def enc(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 0x80:
            return bytes([v])
        if v >= 0:
            for tag, fmt, lim in ((0xcc, ">B", 0xff), (0xcd, ">H", 0xffff), (0xce, ">I", 0xffffffff)):
                if v <= lim:
                    return bytes([tag]) + struct.pack(fmt, v)
            return b"\xcf" + struct.pack(">Q", v)
        if v >= -32:
            return struct.pack(">b", v)
        for tag, fmt, lim in ((0xd0, ">b", -128), (0xd1, ">h", -32768), (0xd2, ">i", -2**31)):
            if v >= lim:
                return bytes([tag]) + struct.pack(fmt, v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        b = v.encode()
        n = len(b)
        if n < 32:
            return bytes([0xa0 | n]) + b
        if n <= 0xff:
            return b"\xd9" + bytes([n]) + b
        if n <= 0xffff:
            return b"\xda" + struct.pack(">H", n) + b
        return b"\xdb" + struct.pack(">I", n) + b
    if isinstance(v, bytes):
        n = len(v)
        if n <= 0xff:
            return b"\xc4" + bytes([n]) + v
        if n <= 0xffff:
            return b"\xc5" + struct.pack(">H", n) + v
        return b"\xc6" + struct.pack(">I", n) + v
    if isinstance(v, M):  # a map: pairs in order (duplicates allowed, for tests)
        n = len(v)
        head = bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)
        return head + b"".join(enc(k) + enc(x) for k, x in v)
    if isinstance(v, list):
        n = len(v)
        head = bytes([0x90 | n]) if n < 16 else b"\xdc" + struct.pack(">H", n)
        return head + b"".join(enc(x) for x in v)
    raise TypeError(v)


class M(list):
    """A msgpack map as a list of (key, value) pairs, kept in order."""


def req(method="GET", path="/", qs="", header=(), body=b""):
    return M([("method", method), ("path", path), ("queryString", qs),
              ("header", M(header)), ("body", body)])


PAYLOADS = {
    "get_root": enc(req()),
    "get_count": enc(req(path="/count")),
    "get_missing": enc(req(path="/nope")),
    "post_root": enc(req(method="POST")),
    # Round trips: headers, a str8 path, a bin16 body, unicode.
    "rt_headers": enc(req(path="/a/b", qs="x=1&y=2",
                          header=[("accept", "*/*"), ("user-agent", "curl/7.88")])),
    "rt_long": enc(req(method="PUT", path="/" + "p" * 40, qs="q" * 300,
                       header=[("x-%02d" % i, "v" * i) for i in range(20)], body=bytes(range(256)) * 3)),
    "rt_unicode": enc(req(path="/caf\u00e9/\u65e5\u672c", body="h\u00e9llo".encode())),
    # Hostile input: each must fail cleanly with the reason.
    "bad_truncated": enc(req(path="/count"))[:-3],
    "bad_type": enc(M([("method", 7), ("path", "/"), ("queryString", ""), ("header", M()), ("body", b"")])),
    "bad_missing": enc(M([("method", "GET"), ("path", "/"), ("queryString", ""), ("header", M())])),
    "bad_duplicate": enc(M([("method", "GET"), ("path", "/"), ("path", "/x"), ("queryString", ""),
                          ("header", M()), ("body", b"")])),
    "bad_not_map": enc(["GET", "/"]),
    "bad_huge_count": b"\xdf\xff\xff\xff\xff",
    "bad_deep": b"\x81\xa1x" + b"\x91" * 100 + b"\xc0",
    "extra_key": enc(M([("method", "GET"), ("zzz", [1, [2, 3], None, M([("k", b"v")])]),
                      ("path", "/"), ("queryString", ""), ("header", M()), ("body", b"")])),
    "health": enc(M([("placeholder", True)])),
    # Every integer width at its edges, both signs.
    "ints": enc([0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1,
                 -1, -32, -33, -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**63]),
    "ints_too_big": enc([2**64 - 1]),
    "ints_truncated": enc([1, 2**40])[:-2],
}

if __name__ == "__main__":
    with open(sys.argv[2], "wb") as f:
        f.write(PAYLOADS[sys.argv[1]])
