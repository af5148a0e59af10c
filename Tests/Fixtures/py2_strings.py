#!/usr/bin/env python3
"""Python 2 string pickles decoded by CPython under many codecs and error handlers.

Python 3 never writes STRING, BINSTRING or SHORT_BINSTRING for a str, so the pickles are built here opcode
by opcode, as Python 2's pickle wrote them: protocol 0 (STRING with Python 2's repr escapes), protocol 1
(SHORT_BINSTRING, and BINSTRING above 255 bytes or when asked) and protocol 2 (the same after PROTO 2).
Each case is loaded by CPython with `pickle.loads(data, encoding=E, errors=H)`; the output, one JSON list on
stdout, holds the pickle, the arguments and what CPython made of it: the repr of the loaded list, or the
UnicodeDecodeError's range. StringCodecTests runs this script and decodes every case itself.
"""
import json
import pickle
import random
import struct
import sys

# Codecs whose glibc converters differ from CPython on invalid input (README: where this library differs),
# so only valid and truncated text of theirs is compared, not random bytes: glibc's UTF-7 refuses the control
# characters and the backslash that CPython passes through, and reports a bad shift sequence from a later
# byte; glibc's ISO-2022-JP accepts DEL inside a two-byte set.
NO_RANDOM = {"utf_7", "iso2022_jp"}

ERRORS = ["strict", "replace", "ignore", "surrogateescape", "backslashreplace", "surrogatepass"]

# Codec (as passed to pickle.loads: aliases included on purpose), text that encodes in it, and byte strings
# that are undecodable or truncated in it.
CODECS = [
    ("latin1", "café naïve", []),
    ("ascii", "plain", [b"caf\xe9", b"\x80\xff"]),
    ("utf-8", "h\u00e9llo \u20ac \U0001f600", [b"\xe2\x82A", b"\xed\xa0\x80x", b"\xf0\x9f\x98", b"\xc0\xaf", b"\x80abc",
                                               b"\xf4\x90\x80\x80", b"\xe0\x80\x80", b"a\xed\xb0\x80b"]),
    ("utf_8_sig", "\ufeffbom", [b"\xef\xbb\xbfx\xff", b"\xef\xbb"]),
    ("koi8_r", "Привет, мир", []),
    ("cp1251", "Привет, мир", [b"\x98", b"ab\x98cd\x98"]),
    ("windows-1252", "€ café ƒ", [b"\x81", b"\x8d\x8f\x90\x9d"]),
    ("iso8859_2", "Żółć gęślą", []),
    ("ISO-8859-7", "Ελληνικά", [b"\xae", b"\xd2\xff"]),
    ("cp437", "░▒▓ ÇüéΣ", []),
    ("mac_roman", "café ƒ∂", []),
    ("cp037", "EBCDIC", [b"\xc1\xc2"]),
    ("shift_jis", "こんにちは、世界ｱｲｳ", [b"\x82", b"\x82\xa0\x82", b"\x81\x20", b"\xa0x", b"\xf0\x40",
                                       b"\x85\x40", b"ab\xffcd",
                                       b"C:\\dir~\x82\xa0\\~", b"\x83\x5c\x81\x7e"]),
    ("sjis", "日本語", []),
    ("euc_jp", "こんにちは", [b"\xa4", b"\xa4\x20", b"\xff\xa4\xa2", b"\x8f\xa2"]),
    ("gbk", "你好，世界", [b"\xc4", b"\xc4\x20", b"\xff", b"\x81\x7f"]),
    ("gb2312", "你好", [b"\xc4"]),
    ("gb18030", "你好 \U0001f600 ÿ", [b"\x81\x30", b"\x81\x30\x81", b"\xff"]),
    ("big5", "你好，世界", [b"\xa4", b"\xa4\x20", b"\xff\xa4\x40"]),
    ("cp949", "안녕하세요", [b"\xc7", b"\xff"]),
    ("euc_kr", "안녕", [b"\xb0"]),
    ("iso2022_jp", "こんにちは abc", [b"\x1b$B\x24", b"\x1b$B\x24\x22\x1b(Bx"]),
    ("utf_16", "h\u00e9llo \U0001f600", [b"a", b"\x00\xd8a\x00", b"\x00\xdca\x00", b"\xff\xfe\x00\xd8", b"\xfe\xff\x00a\xd8"]),
    ("utf-16-le", "abc\u20ac", [b"\x00\xd8\x00\xd8", b"abc"]),
    ("utf_16_be", "abc\u20ac", [b"\xdc\x00\x00a"]),
    ("utf_32", "x\U0001f600", [b"\x00\x00\x11\x00", b"\x00\xd8\x00\x00", b"ab", b"\x00\x00\xfe\xff\x00\x00\x00a"]),
    ("utf_7", "a+b é", [b"+AGE", b"+AGE-x"]),
]


def py2_repr_bytes(data):
    """The body of Python 2's repr of a str: printable ASCII kept, \\ and ' escaped, the rest as \\xNN."""
    out = []
    for b in data:
        if b == 0x5C:
            out.append("\\\\")
        elif b == 0x27:
            out.append("\\'")
        elif b == 0x0A:
            out.append("\\n")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    return "".join(out).encode("ascii")


def string_opcode(data, proto, long_form):
    if proto == 0:
        return b"S'" + py2_repr_bytes(data) + b"'\n"
    if len(data) < 256 and not long_form:
        return b"U" + bytes([len(data)]) + data
    return b"T" + struct.pack("<i", len(data)) + data


def build(strings, proto, long_form=False):
    """A list of the strings, as Python 2's pickle writes it (APPENDS from protocol 1)."""
    head = b"\x80\x02" if proto == 2 else b""
    if proto == 0:
        body = b"(lp0\n" + b"".join(string_opcode(s, 0, False) + b"a" for s in strings)
    else:
        body = b"]q\x00(" + b"".join(string_opcode(s, proto, long_form) for s in strings) + b"e"
    return head + body + b"."


def outcome(data, encoding, errors):
    try:
        return {"repr": repr(pickle.loads(data, encoding=encoding, errors=errors))}
    except UnicodeDecodeError as e:
        return {"error": "UnicodeDecodeError", "start": e.start, "end": e.end}


def main():
    rng = random.Random(2026)
    cases = []
    for encoding, text, bad in CODECS:
        good = text.encode(encoding)
        samples = [good, good[: len(good) // 2]] + bad
        randoms = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9))) for _ in range(12)]
        if encoding not in NO_RANDOM:
            samples += randoms
        for errors in ERRORS:
            for k, s in enumerate(samples):
                proto = k % 3
                data = build([s, b"ascii ok"], proto, long_form=k % 4 == 3)
                cases.append({"name": "%s/%s/%d" % (encoding, errors, k), "encoding": encoding, "errors": errors,
                              "pickle": data.hex(), **outcome(data, encoding, errors)})
        # A long string, shared with the input past the slice threshold, in every protocol.
        long = (good * 200)[:3000]
        for proto in range(3):
            data = build([long], proto)
            cases.append({"name": "%s/long/%d" % (encoding, proto), "encoding": encoding, "errors": "strict",
                          "pickle": data.hex(), **outcome(data, encoding, "strict")})
    json.dump(cases, sys.stdout, indent=0)


if __name__ == "__main__":
    main()
