#!/usr/bin/env python3
"""Compares CPython's decoders with the glibc iconv converters this library uses for them.

For every codec the codec table decodes through iconv, every one- and two-byte input (and, for the codecs
with longer sequences, the three- and four-byte inputs their lead bytes allow) is decoded strictly by both;
the script prints, per codec, how many inputs both decode but differently, how many only CPython decodes and
how many only glibc decodes, with examples. README's table of differences from CPython comes from this.

Usage: python3 scripts/measure_codec_differences.py [CODEC ...]
"""
import ctypes
import ctypes.util
import re
import sys

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.iconv_open.restype = ctypes.c_void_p
libc.iconv_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.iconv.restype = ctypes.c_size_t
libc.iconv.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t),
                       ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)]
libc.iconv_close.argtypes = [ctypes.c_void_p]


def table():
    text = open("Sources/Pickle/Reading/PythonCodecTable.swift").read()
    return re.findall(r'\("([^"]+)", \.iconv\("([^"]+)", unitBytes: (\d)', text)


class Iconv:
    def __init__(self, name):
        self.cd = libc.iconv_open(b"UTF-8", name.encode())
        self.out = ctypes.create_string_buffer(256)

    def decode(self, data):
        """The UTF-8 glibc makes of `data`, or None when it stops before the end."""
        libc.iconv(self.cd, None, None, None, None)
        inbuf = ctypes.c_char_p(data)
        inleft = ctypes.c_size_t(len(data))
        outp = ctypes.c_char_p(ctypes.addressof(self.out))
        outleft = ctypes.c_size_t(256)
        r = libc.iconv(self.cd, ctypes.byref(inbuf), ctypes.byref(inleft), ctypes.byref(outp), ctypes.byref(outleft))
        if r == ctypes.c_size_t(-1).value or inleft.value:
            return None
        return self.out.raw[:256 - outleft.value].decode("utf-8", "surrogatepass")


def inputs(codec, unit):
    if unit > 1:
        # UTF-16 / UTF-32: every code unit value (and, for UTF-16, the surrogates in pairs and alone).
        step = 1 if unit == 2 else 0x101
        order = "little" if not codec.endswith("-be") else "big"
        for v in range(0, 0x110000 if unit == 4 else 0x10000, step):
            yield v.to_bytes(unit, order)
        return
    for a in range(256):
        yield bytes([a])
    for a in range(0x80, 0x100):
        for b in range(256):
            yield bytes([a, b])
    if codec in ("euc_jp", "euc_jis_2004", "euc_jisx0213"):
        for b in range(0xA1, 0xFF):
            for c in range(0xA1, 0xFF):
                yield bytes([0x8F, b, c])
    if codec == "gb18030":
        for a in range(0x81, 0x85):
            for b in range(0x30, 0x3A):
                for c in range(0x81, 0xFF):
                    for d in range(0x30, 0x3A):
                        yield bytes([a, b, c, d])


def main():
    wanted = set(sys.argv[1:])
    for codec, converter, unit in table():
        if wanted and codec not in wanted:
            continue
        conv = Iconv(converter)
        differ, only_python, only_glibc, total = [], [], [], 0
        for data in inputs(codec, int(unit)):
            total += 1
            try:
                py = data.decode(codec)
            except UnicodeDecodeError:
                py = None
            gl = conv.decode(data)
            if py == gl:
                continue
            if py is not None and gl is not None:
                differ.append((data, py, gl))
            elif py is not None:
                only_python.append((data, py))
            else:
                only_glibc.append((data, gl))
        print("%s (%s): %d inputs; both decode, differently: %d; only CPython decodes: %d; only glibc decodes: %d"
              % (codec, converter, total, len(differ), len(only_python), len(only_glibc)))
        for d, p, g in differ[:6]:
            print("    %s: CPython %r, glibc %r" % (d.hex(" "), p, g))
        for d, p in only_python[:3]:
            print("    %s: CPython %r, glibc fails" % (d.hex(" "), p))
        for d, g in only_glibc[:3]:
            print("    %s: CPython fails, glibc %r" % (d.hex(" "), g))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
