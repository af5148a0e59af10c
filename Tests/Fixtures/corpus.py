#!/usr/bin/env python3
"""A corpus of pickles this project did not write, for the real-world corpus test
(Tests/PickleTests/RealWorldCorpusTests.swift).

  python3 Tests/Fixtures/corpus.py generate DIR
      Writes, for every case: DIR/<case>.pickle; DIR/<case>.dis, pickletools.dis's text of it (its first
      DIS_LIMIT characters: pickletools takes ~20 s over a million opcodes, so for the large and deep cases
      the test compares that head, which still reaches offsets past 10^5); DIR/<case>.buf<i> for each
      protocol 5 out-of-band buffer; and DIR/cases.json, a list of
        {"case", "protocol", "encoding": the encoding the stream must be loaded with,
         "buffers": [{"file", "readonly"}], "extensions": {code: [module, name]} or null (the copyreg
         registry the Swift side is given; null: none, so EXT codes stay inert), "refusals": {protocol:
         "buffer" | "extension"} (the protocols conversion must refuse, and why), "parse_error": null or the
         error code the reader must raise, "large": whether the test samples split offsets,
         "dis_error": pickletools.dis's error message or null, "dis_complete": false if the text was cut}.

      Python 2 pickles are assembled opcode by opcode as Python 2's pickle.py and cPickle wrote them
      (STRING/BINSTRING/SHORT_BINSTRING, INST/OBJ classic instances, copy_reg._reconstructor and
      __builtin__ names, LONG text and LONG1/LONG4, UNICODE/BINUNICODE); everything else is CPython 3's
      pickle.dumps of numpy, pandas, collections, datetime, decimal, fractions, uuid and enum values,
      copyreg-registered extensions, recursive, large, deep and memo-heavy structures, at every protocol.

  python3 Tests/Fixtures/corpus.py check DIR
      For every DIR/<case>.to<N>.pickle (the Swift side's conversion of <case> to protocol N): the file
      must be a well-formed protocol-N pickle, and loading it (same encoding, same buffers) must give an
      object equal to loading the original: same types, values (floats bit for bit, arrays byte for byte,
      DataFrames by pandas.testing), and sharing (two references to one object stay two references to one
      object; cycles stay cycles). For every DIR/<case>.refused<N>.txt (a conversion the Swift side
      refused): CPython must be unable to say it either. "buffer": CPython's pickler refuses each
      out-of-band buffer, loaded as a PickleBuffer, at protocol N. "extension": without the copyreg
      registration, CPython cannot load the original at all (the stream carries only the code, not the
      name a protocol 0 or 1 GLOBAL would need). Prints one JSON object per line, then
      "N passed, M failed"; exit status 1 if any failed.

pandas and numpy are required: a missing one is an error, never a silently smaller corpus.
"""

import collections
import copyreg
import datetime
import decimal
import enum
import fractions
import io
import json
import multiprocessing
import os
import pickle
import pickletools
import re
import struct
import sys
import types
import uuid

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import numpy as np  # noqa: E402  (required: an ImportError here fails the corpus test loudly)
import pandas as pd  # noqa: E402  (required, as numpy)

import corpus_classes as cc  # noqa: E402  (registers the copyreg extension codes)
from oracle import check_protocol  # noqa: E402

DIS_LIMIT = 2_000_000
# The parser's default UnpicklerLimits.maxNestingDepth: the deep cases sit just below it and just above.
DEPTH_LIMIT = 500_000


class _Capped(io.StringIO):
    class Full(Exception):
        pass

    def write(self, s):
        room = DIS_LIMIT - self.tell()
        if len(s) > room:
            super().write(s[:room])
            raise _Capped.Full()
        return super().write(s)


def _dis(data):
    """pickletools.dis's text (its first DIS_LIMIT characters) and error message, if it raised one."""
    out = _Capped()
    error = None
    try:
        pickletools.dis(data, out=out)
    except _Capped.Full:
        pass
    except Exception as e:  # noqa: BLE001 - the message is what the disassembler must match
        error = str(e)
    return out.getvalue(), error


# MARK: - Python 2 pickles, opcode by opcode

M = b"corpus_classes"


def _s0(text):
    """Python 2's STRING line: repr of a byte string (single quotes, \\x escapes)."""
    body = "".join(chr(b) if 32 <= b < 127 and b not in (0x27, 0x5C) else
                   {0x27: "\\'", 0x5C: "\\\\", 0x0A: "\\n", 0x09: "\\t", 0x0D: "\\r"}.get(b, "\\x%02x" % b)
                   for b in text)
    return b"S'" + body.encode() + b"'\n"


def _binstring(data):
    """SHORT_BINSTRING below 256 bytes, BINSTRING from 256, as cPickle chose."""
    if len(data) < 256:
        return b"U" + bytes([len(data)]) + data
    return b"T" + struct.pack("<i", len(data)) + data


def _binunicode(text):
    data = text.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(data)) + data


def _unicode0(text):
    """Python 2's UNICODE line: raw-unicode-escape with backslash and newline escaped."""
    return b"V" + text.replace("\\", "\\u005c").replace("\n", "\\u000a").encode("raw-unicode-escape") + b"\n"


def _long1(value):
    """LONG1 (LONG4 from 256 bytes): two's complement little-endian, as pickle.encode_long."""
    data = pickle.encode_long(value)
    if len(data) < 256:
        return b"\x8a" + bytes([len(data)]) + data
    return b"\x8b" + struct.pack("<i", len(data)) + data


class _Memo:
    """PUT/BINPUT/LONG_BINPUT numbering for a Python 2 pickle."""

    def __init__(self, text):
        self.n = 0
        self.text = text

    def put(self):
        i = self.n
        self.n += 1
        if self.text:
            return b"p%d\n" % i
        return b"q" + bytes([i]) if i < 256 else b"r" + struct.pack("<I", i)

    def get(self, i):
        if self.text:
            return b"g%d\n" % i
        return b"h" + bytes([i]) if i < 256 else b"j" + struct.pack("<I", i)


def python2_cases():
    cases = {}
    big = 2 ** 3000 + 12345
    # Protocol 0: a classic instance (INST, no arguments) whose dict holds every text opcode Python 2 wrote.
    m = _Memo(True)
    p0 = b"(i" + M + b"\nClassicNoInit\n" + m.put() + b"(d" + m.put()
    for key, value in ((b"name", _s0(b"py2")), (b"quote", _s0(b"it's a \\ \"test\"\n\ttab")),
                       (b"n", b"L12345678901234567890L\n"), (b"neg", b"L-98765432109876543210L\n"),
                       (b"i", b"I9223372036854775807\n"), (b"small", b"I-42\n"), (b"f", b"F1.5\n"),
                       (b"tiny", b"F1e-300\n"), (b"t", b"I01\n"), (b"false", b"I00\n"), (b"none", b"N"),
                       (b"u", _unicode0("caf\u00e9 \u20ac \\ line\nbreak \U0001F600"))):
        value += m.put() if value[:1] in (b"S", b"V") else b""
        p0 += _s0(key) + m.put() + value + b"s"
    lst = m.n
    p0 += _s0(b"lst") + m.put() + b"(l" + m.put() + b"I1\naI2\na" + m.get(lst + 1) + b"a" + b"(I3\nS'x'\n" + m.put() + b"t" + m.put() + b"as"
    p0 += b"b."
    cases["py2_classic_inst.p0"] = (p0, 0, "ASCII")
    # Protocol 0 with arguments: INST calls cls(*args).
    m = _Memo(True)
    cases["py2_classic_inst_args.p0"] = (b"(I1\n" + _s0(b"two") + m.put() + b"L3L\ni" + M + b"\nClassic\n" + m.put()
                                         + b"(d" + m.put() + _s0(b"extra") + m.put() + b"I7\nsb.", 0, "ASCII")
    # Protocol 1: OBJ, binary strings (SHORT_BINSTRING and a 300-byte BINSTRING), BINUNICODE, LONG text.
    m = _Memo(False)
    p1 = b"(c" + M + b"\nClassic\n" + m.put() + b"K\x01" + _binstring(b"arg") + m.put() + b"o" + m.put()
    p1 += b"}" + m.put() + b"("
    for key, value in ((b"short", _binstring(b"abc")), (b"long", _binstring(b"x" * 300)),
                       (b"u", _binunicode("\u00fcnicode \u2603")), (b"big", b"L" + str(big).encode() + b"L\n"),
                       (b"int", b"J\xfe\xff\xff\xff"), (b"int2", b"M\x00\x80"), (b"flt", b"G" + struct.pack(">d", -2.5)),
                       (b"tup", b")"), (b"t", b"I01\n"), (b"lst", b"](K\x01K\x02e")):
        p1 += _binstring(key) + m.put() + value + (m.put() if value[:1] in (b"U", b"T", b"X", b"]") else b"")
    p1 += b"ub."
    cases["py2_classic_obj.p1"] = (p1, 1, "ASCII")
    # Protocol 1 with more than 256 memo entries: LONG_BINPUT and LONG_BINGET, as cPickle wrote them.
    m = _Memo(False)
    p1 = b"]" + m.put() + b"("
    for i in range(300):
        p1 += _binstring(b"s%d" % i) + m.put()
    p1 += b"e(" + b"".join(m.get(i) for i in range(1, 301, 7)) + b"e."
    cases["py2_long_binput.p1"] = (p1, 1, "ASCII")
    # Protocol 2: OBJ, LONG1 and LONG4, NEWTRUE, TUPLE1-3, and a new-style instance by NEWOBJ.
    m = _Memo(False)
    p2 = b"\x80\x02(c" + M + b"\nClassic\n" + m.put() + b"K\x05o" + m.put() + b"}" + m.put() + b"("
    for key, value in ((b"l1", _long1(2 ** 64 + 1)), (b"l4", _long1(-big)), (b"l0", b"\x8a\x00"),
                       (b"yes", b"\x88"), (b"no", b"\x89"), (b"t1", b"K\x01\x85"), (b"t3", b"K\x01K\x02K\x03\x87"),
                       (b"s", _binstring(b"\x00\x01binary?")), (b"new", b"c" + M + b"\nNewStyle\n)\x81}U\x05valueK\x07sb")):
        p2 += _binstring(key) + m.put() + value
    p2 += b"ub."
    cases["py2_classic_obj.p2"] = (p2, 2, "ASCII")
    # Python 2's protocol 0 and 1 new-style instance: copy_reg._reconstructor(cls, __builtin__.object, None).
    for proto, memo in ((0, _Memo(True)), (1, _Memo(False))):
        m = memo
        obj = b"c__builtin__\nobject\n" + m.put()
        state = (b"(d" + m.put() + _s0(b"value") + m.put() + b"I7\ns") if proto == 0 else (b"}" + m.put() + _binstring(b"value") + m.put() + b"K\x07s")
        data = (b"ccopy_reg\n_reconstructor\n" + m.put() + b"(c" + M + b"\nNewStyle\n" + m.put() + obj + b"Nt" + m.put()
                + b"R" + m.put() + state + b"b.")
        cases[f"py2_newstyle_reconstructor.p{proto}"] = (data, proto, "ASCII")
    # Python 2 builtins by their Python 2 names (fix_imports maps them): __builtin__.set and a xrange-era list.
    cases["py2_builtin_set.p2"] = (b"\x80\x02c__builtin__\nset\nq\x00]q\x01(K\x01K\x02K\x03e\x85q\x02Rq\x03.", 2, "ASCII")
    # A Python 2 datetime: its state is a STRING of raw bytes, readable only with encoding='latin1'.
    state = datetime.datetime(2013, 12, 25, 23, 59, 59, 123456).__reduce__()[1][0]
    cases["py2_datetime.p2"] = (b"\x80\x02cdatetime\ndatetime\nq\x00" + _binstring(state) + b"q\x01\x85q\x02Rq\x03.", 2, "latin1")
    cases["py2_datetime.p0"] = (b"cdatetime\ndatetime\np0\n(" + _s0(state) + b"p1\ntp2\nRp3\n.", 0, "latin1")
    # A Python 2 numpy array (numpy.core.multiarray._reconstruct, raw data as a BINSTRING): encoding='latin1'.
    raw = np.arange(40, dtype="<i8").tobytes()
    arr = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85q\x02U\x01bq\x03\x87q\x04Rq\x05"
           b"(K\x01K\x05K\x08\x86q\x06cnumpy\ndtype\nq\x07U\x02i8q\x08K\x00K\x01\x87q\x09Rq\x0a"
           b"(K\x03U\x01<q\x0bNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0cb\x89" + _binstring(raw) + b"q\x0dtq\x0eb.")
    cases["py2_numpy_array.p2"] = (arr, 2, "latin1")
    # Python 2 byte strings kept as bytes (encoding='bytes'), non-ASCII included, as dict keys and values.
    data = b"\x80\x02}q\x00(U\x03keyq\x01U\x04\xff\xfe\x00\x80q\x02" + _binstring(b"k2") + b"q\x03" + _binstring(bytes(range(256))) + b"q\x04u."
    cases["py2_bytes.p2"] = (data, 2, "bytes")
    cases["py2_bytes_text.p0"] = (b"(dp0\n" + _s0(b"caf\xe9") + b"p1\n" + _s0(b"\x00\xff\n") + b"p2\ns.", 0, "bytes")
    # A recursive Python 2 list at protocol 0 (GET of the list inside itself) and a recursive tuple, which
    # cPickle wrote as POP_MARK then GET of the tuple its list already holds.
    cases["py2_recursive_list.p0"] = (b"(lp0\nI1\nag0\na.", 0, "ASCII")
    cases["py2_recursive_tuple.p1"] = (b"]q\x00(h\x00tq\x01a0h\x01.", 1, "ASCII")
    cases["py2_recursive_tuple_popmark.p1"] = (b"(]q\x00(h\x00tq\x01a1h\x01.", 1, "ASCII")
    return cases


# MARK: - CPython 3's pickles


def _values():
    """Values pickled by CPython at every protocol. Each maps a name to the object."""
    df = pd.DataFrame({
        "i": np.arange(4, dtype=np.int64),
        "f": [1.5, np.nan, -0.0, 1e300],
        "s": pd.Series(["x", "y", None, "\u00e9"], dtype=object),
        "d": pd.date_range("2020-01-01", periods=4, freq="D"),
        "c": pd.Categorical(["u", "v", "u", "w"]),
        "b": [True, False, True, True],
    }, index=pd.Index(["a", "b", "c", "d"], name="key"))
    values = {
        "pandas_dataframe": df,
        "pandas_series": pd.Series([1.0, 2.5, np.nan], index=[10, 20, 30], name="s"),
        "pandas_index": pd.Index(["a", "b", "c"], name="letters"),
        "pandas_range_index": pd.RangeIndex(0, 10, 2),
        "pandas_multi_index": pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["l", "n"]),
        "pandas_timestamp": [pd.Timestamp("2021-03-04 05:06:07.000000008", tz="UTC"), pd.Timedelta("1 days 2 s"),
                             pd.Period("2020Q1"), pd.NaT],
        "numpy_arrays": [np.arange(12, dtype=np.int64).reshape(3, 4), np.array([1.5, np.nan, -0.0], dtype=np.float32),
                         np.array([True, False]), np.array([1 + 2j, -1j]), np.asfortranarray(np.arange(6.0).reshape(2, 3)),
                         np.array(5), np.zeros((0, 3)), np.array([1, 2], dtype=">i4"), np.array(["ab", "\u00e9"]),
                         np.array(["2020-01-01", "NaT"], dtype="datetime64[ns]")],
        "numpy_structured": np.array([(1, 2.5, b"ab"), (-3, np.inf, b"")], dtype=[("a", "<i4"), ("b", "<f8"), ("c", "S2")]),
        "numpy_object_array": np.array([1, "x", None, [1, 2], (3,)], dtype=object),
        "numpy_scalars": [np.float64(1.5), np.float32(-0.0), np.int32(-7), np.uint64(2 ** 64 - 1), np.bool_(True),
                          np.complex128(1 + 2j), np.str_("s\u00e9"), np.bytes_(b"\x00b"), np.datetime64("2020-01-01T12:00"),
                          np.timedelta64(5, "s")],
        "numpy_dtypes": [np.dtype("f8"), np.dtype(">i2"), np.dtype("U5"), np.dtype("M8[ns]"),
                         np.dtype([("x", "<f4"), ("y", [("z", "u1")])]), np.dtype("O")],
        "collections": [collections.OrderedDict([("b", 1), ("a", [2])]), collections.defaultdict(list, {"k": [1]}),
                        collections.deque([1, 2, 3], maxlen=5), collections.Counter("abracadabra"), cc.Point(1, y=2.5),
                        collections.ChainMap({"a": 1}, {"b": 2})],
        "stdlib_values": [datetime.date(2024, 2, 29), datetime.time(23, 59, 59, 999999),
                          datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc),
                          datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30), "IST")),
                          datetime.timedelta(days=-1, microseconds=5), decimal.Decimal("3.14159265358979323846264338327950288"),
                          decimal.Decimal("-0"), decimal.Decimal("NaN"), fractions.Fraction(-22, 7),
                          uuid.UUID("12345678-1234-5678-1234-567812345678"), cc.Color.RED, cc.Color.GREEN, cc.Level.HIGH,
                          cc.Permission.READ | cc.Permission.WRITE, complex(1, -0.0), range(1, 10, 3), slice(1, None, 2)],
        "extensions": [cc.ExtSmall(1), cc.ExtMedium, cc.ExtLarge(cc.ExtSmall), cc.ext_factory],
    }
    # Recursive structures.
    loop = [1]
    loop.append(loop)
    d = {}
    d["self"] = d
    inner = []
    tup = (inner, "t")
    inner.append(tup)
    root = cc.Node("root")
    child = cc.Node("child")
    root.children.append(child)
    child.parent = root
    root.children.append(root)
    values["recursive"] = [loop, d, tup, root, [loop, d]]
    # Many memo entries: 30,000 distinct strings, each referred to twice (BINPUT -> LONG_BINPUT, MEMOIZE,
    # BINGET -> LONG_BINGET; PUT/GET text at protocol 0).
    strings = ["s%d" % i for i in range(30_000)]
    values["many_memo_entries"] = [strings, strings[::-1], [(i,) for i in range(300)]]
    return values


def _deep_list(depth):
    """A list nested `depth` deep ([[[...]]]), hand-assembled (CPython's pickler recurses and cannot write
    it; its unpickler loads it): EMPTY_LIST `depth` times, then APPEND `depth - 1` times."""
    return b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."


def _deep_tuple(depth):
    """((((1,),),),...) nested `depth` deep, with TUPLE1 (no MARKs)."""
    return b"\x80\x02K\x01" + b"\x85" * depth + b"."


def _deep_dict(depth):
    """{1: {1: {...}}} nested `depth` deep with MARK and SETITEMS: `depth` MARKs open at once."""
    return b"\x80\x02" + b"}(K\x01" * depth + b"}" + b"u" * depth + b"."


def generate(directory):
    os.makedirs(directory, exist_ok=True)
    cases = []

    def add(name, data, protocol, encoding="ASCII", buffers=(), extensions=None, refusals=None,
            parse_error=None, large=False):
        with open(os.path.join(directory, name + ".pickle"), "wb") as f:
            f.write(data)
        text, dis_error = _dis(data)
        with open(os.path.join(directory, name + ".dis"), "w", encoding="utf-8") as f:
            f.write(text)
        entries = []
        for i, buffer in enumerate(buffers):
            raw = buffer.raw()
            with open(os.path.join(directory, f"{name}.buf{i}"), "wb") as f:
                f.write(raw)
            entries.append({"file": f"{name}.buf{i}", "readonly": raw.readonly})
        cases.append({"case": name, "protocol": protocol, "encoding": encoding, "buffers": entries,
                      "extensions": extensions, "refusals": refusals or {}, "parse_error": parse_error,
                      "large": large, "dis_error": dis_error, "dis_complete": len(text) < DIS_LIMIT})

    for name, (data, protocol, encoding) in python2_cases().items():
        add(name, data, protocol, encoding)

    registry = {str(code): list(name) for code, name in cc.EXTENSIONS.items()}
    for name, obj in _values().items():
        for protocol in range(6):
            data = pickle.dumps(obj, protocol)
            if name == "extensions":
                # Unresolved, an EXT code is only a number: no GLOBAL can name it at protocols 0 and 1.
                refusals = {"0": "extension", "1": "extension"} if protocol >= 2 else {}
                add(f"extensions_unresolved.p{protocol}", data, protocol, refusals=refusals)
                add(f"extensions_registered.p{protocol}", data, protocol, extensions=registry)
                continue
            add(f"{name}.p{protocol}", data, protocol, large=len(data) > 100_000)

    # Protocol 5 with out-of-band buffers (NEXT_BUFFER, READONLY_BUFFER): numpy arrays, a DataFrame, and bare
    # PickleBuffers, which CPython itself refuses below protocol 5.
    below5 = {str(p): "buffer" for p in range(5)}
    for name, obj in (("oob_numpy", [np.arange(10, dtype=np.float64), np.arange(6, dtype=np.uint8).reshape(2, 3)]),
                      ("oob_dataframe", pd.DataFrame({"x": np.arange(5.0), "y": np.arange(5)})),
                      ("oob_picklebuffers", [pickle.PickleBuffer(b"read-only"), pickle.PickleBuffer(bytearray(b"writable")),
                                             pickle.PickleBuffer(b"")]),
                      ("oob_large_bytes", pickle.PickleBuffer(bytes(range(256)) * (2 * 4096)))):
        buffers = []
        data = pickle.dumps(obj, 5, buffer_callback=buffers.append)
        assert buffers, name
        add(f"{name}.p5", data, 5, buffers=buffers, refusals=below5, large=sum(len(b.raw()) for b in buffers) > 100_000)

    # Large: a million-element list, a 4 MiB bytes and a 2.5 MiB str (slices of the input, frames of their own).
    million = list(range(10 ** 6))
    add("large_list.p4", pickle.dumps(million, 4), 4, large=True)
    payload = bytes(range(256)) * (4 * 4096)
    add("large_bytes.p5", pickle.dumps([payload, payload[:100]], 5), 5, large=True)
    add("large_str.p4", pickle.dumps("\u00e9\u20ac\U0001F600x" * (1 << 18), 4), 4, large=True)

    # Deep: just below the parser's nesting limit, and one level over it (refused by design; CPython loads it).
    add("deep_list.p2", _deep_list(DEPTH_LIMIT - 2), 2, large=True)
    add("deep_list_over_limit.p2", _deep_list(DEPTH_LIMIT + 1), 2, parse_error="limitExceeded", large=True)
    add("deep_tuple.p2", _deep_tuple(100_000), 2, large=True)
    add("deep_dict.p2", _deep_dict(2_000), 2)

    with open(os.path.join(directory, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


# MARK: - Checking conversions


def _float_bits(x):
    return struct.pack("<d", x)


_ATOMS = (int, str, bytes, bool, type(None), complex, range, slice)
_PLAIN = {int, str, bytes, bool, type(None)}


def same(a, b):
    """None if `a` and `b` are equal object graphs (types, values, sharing), else where they differ. Walks
    an explicit stack: the deep cases nest half a million containers."""
    pairs = {}      # id(original object) -> the converted object it corresponds to
    reverse = {}
    keep = []       # keeps every compared object alive, so ids are not reused during the walk
    stack = [(a, b, None)]
    while stack:
        x, y, path = stack.pop()
        difference = _difference(x, y, path, pairs, reverse, keep, stack)
        if difference is not None:
            return f"{_path(path)}: {difference}"
    return None


def _path(path):
    """The text of a path chain: (parent, label) pairs, kept unformatted while nothing differs (formatting
    every path eagerly is quadratic in the nesting depth)."""
    labels = []
    while path is not None:
        path, label = path
        labels.append(label)
    shown = "".join(reversed(labels[:12]))
    return "root" + ("...(%d levels)" % (len(labels) - 12) if len(labels) > 12 else "") + shown


def _difference(x, y, path, pairs, reverse, keep, stack):
    """How `x` and `y` differ, or None; pushes their children, with their paths, onto `stack`."""
    if type(x) is not type(y):
        return f"{type(x).__name__} vs {type(y).__name__}"
    if isinstance(x, float):
        return None if _float_bits(x) == _float_bits(y) else f"{x!r} vs {y!r}"
    if isinstance(x, _ATOMS):
        return None if x == y else f"{x!r} vs {y!r}"
    if isinstance(x, (type, types.FunctionType, types.BuiltinFunctionType, enum.Enum)):
        return None if x is y else f"{x!r} is not {y!r}"
    # Sharing: an object met before must correspond to the same object as then, both ways.
    if id(x) in pairs or id(y) in reverse:
        return None if pairs.get(id(x)) is y and reverse.get(id(y)) is x else "sharing differs"
    pairs[id(x)] = y
    reverse[id(y)] = x
    keep.append((x, y))
    if type(x) is list and set(map(type, x)) <= _PLAIN and len(x) == len(y):
        # A list of ints, strs, bytes, bools and Nones (the million-element list): compared in C.
        return None if x == y and list(map(type, x)) == list(map(type, y)) else "list items differ"
    if type(x) is list:
        # Exact lists first: the half-million-deep list is one list per level.
        if len(x) != len(y):
            return f"{len(x)} vs {len(y)} items"
        # A chain of one-element lists ([[[...]]]) is walked here, each level registered as the steps above
        # would, instead of one stack entry and one call per level.
        depth = 0
        while len(x) == 1 and len(y) == 1 and type(x[0]) is list and type(y[0]) is list:
            nx, ny = x[0], y[0]
            if id(nx) in pairs or id(ny) in reverse or len(nx) != 1 or len(ny) != 1:
                break
            pairs[id(nx)] = ny
            reverse[id(ny)] = nx
            keep.append((nx, ny))
            x, y, depth = nx, ny, depth + 1
        if depth:
            stack.append((x[0], y[0], (path, f"[0] x {depth + 1}")))
            return None
        stack.extend((p, q, (path, f"[{i}]")) for i, (p, q) in enumerate(zip(x, y)))
        return None
    if isinstance(x, (pd.DataFrame, pd.Series, pd.Index)):
        assert_equal = {pd.DataFrame: pd.testing.assert_frame_equal, pd.Series: pd.testing.assert_series_equal}.get(
            type(x), pd.testing.assert_index_equal)
        try:
            assert_equal(x, y, check_exact=True)
        except AssertionError as e:
            return str(e)
        return None
    if isinstance(x, np.ndarray):
        if x.dtype != y.dtype or x.shape != y.shape or x.flags.f_contiguous != y.flags.f_contiguous:
            return f"array {x.dtype} {x.shape} vs {y.dtype} {y.shape}"
        if x.dtype.hasobject:
            stack.extend((p, q, (path, f"[{i}]")) for i, (p, q) in enumerate(zip(x.ravel().tolist(), y.ravel().tolist())))
            return None
        return None if x.tobytes() == y.tobytes() else "array data differs"
    if isinstance(x, np.generic):
        return None if x.dtype == y.dtype and x.tobytes() == y.tobytes() else f"{x!r} vs {y!r}"
    if isinstance(x, np.dtype):
        return None if x == y and x.descr == y.descr and x.metadata == y.metadata else f"{x!r} vs {y!r}"
    if isinstance(x, decimal.Decimal):
        return None if str(x) == str(y) else f"{x!r} vs {y!r}"
    if isinstance(x, pickle.PickleBuffer):
        same_bytes = bytes(x.raw()) == bytes(y.raw()) and x.raw().readonly == y.raw().readonly
        return None if same_bytes else "buffers differ"
    if x is pd.NaT:
        return None
    if isinstance(x, (datetime.date, datetime.time, datetime.timedelta, datetime.tzinfo, uuid.UUID,
                      fractions.Fraction, pd.Timestamp, pd.Timedelta, pd.Period)):
        return None if repr(x) == repr(y) and x == y else f"{x!r} vs {y!r}"
    if isinstance(x, (list, tuple, collections.deque)):
        if len(x) != len(y):
            return f"{len(x)} vs {len(y)} items"
        if isinstance(x, collections.deque) and x.maxlen != y.maxlen:
            return f"maxlen {x.maxlen} vs {y.maxlen}"
        stack.extend((p, q, (path, f"[{i}]")) for i, (p, q) in enumerate(zip(x, y)))
    elif isinstance(x, dict):
        if len(x) != len(y):
            return f"{len(x)} vs {len(y)} entries"
        for i, ((k, v), (k2, v2)) in enumerate(zip(x.items(), y.items())):
            stack.append((k, k2, (path, f" key {i}")))
            stack.append((v, v2, (path, f"[{k!r}]")))
        if isinstance(x, collections.defaultdict):
            stack.append((x.default_factory, y.default_factory, (path, ".default_factory")))
    elif isinstance(x, (set, frozenset)):
        if x != y:
            return f"{x!r} vs {y!r}"
    elif isinstance(x, collections.ChainMap):
        stack.append((x.maps, y.maps, (path, ".maps")))
    elif not hasattr(x, "__dict__"):
        return None if x == y else f"{x!r} vs {y!r}"
    if hasattr(x, "__dict__"):
        stack.append((vars(x), vars(y), (path, ".__dict__")))
    return None


def _read(directory, name):
    with open(os.path.join(directory, name), "rb") as f:
        return f.read()


def _buffers(directory, case):
    """The case's out-of-band buffers as a reader receives them: PickleBuffers over bytes or bytearrays."""
    out = []
    for entry in case["buffers"]:
        data = _read(directory, entry["file"])
        out.append(pickle.PickleBuffer(data if entry["readonly"] else bytearray(data)))
    return out


CONVERTED = re.compile(r"^(.+)\.(to|refused)([0-5])\.(pickle|txt)$")


def _check_case(job):
    """Checks one case's conversions and refusals: a list of (file name, error or None)."""
    directory, case, files = job
    loads = lambda data, **kw: pickle.loads(data, encoding=case["encoding"], buffers=_buffers(directory, case), **kw)  # noqa: E731
    original = loads(_read(directory, case["case"] + ".pickle"))
    results = []
    for fn, kind, protocol in files:
        error = None
        if kind == "to":
            converted = _read(directory, fn)
            error = check_protocol(converted, protocol)
            if error is None:
                try:
                    error = same(original, loads(converted))
                except Exception as e:  # noqa: BLE001 - a conversion that fails to load is the failure
                    error = f"the conversion fails to load: {type(e).__name__}: {e}"
        elif case["refusals"].get(str(protocol)) == "buffer":
            ours = _read(directory, fn).decode()
            for i, buffer in enumerate(_buffers(directory, case)):
                try:
                    pickle.dumps(buffer, protocol)
                    error = f"CPython pickles out-of-band buffer {i} at protocol {protocol}"
                except pickle.PicklingError as e:
                    if str(e) not in ours:
                        error = f"CPython refuses buffer {i} with {str(e)!r}, which the refusal {ours!r} does not say"
        elif case["refusals"].get(str(protocol)) == "extension":
            saved = dict(copyreg._inverted_registry)
            try:
                for code, (module, attr) in saved.items():
                    copyreg.remove_extension(module, attr, code)
                pickle.loads(_read(directory, case["case"] + ".pickle"))
                error = "CPython loads the original without the copyreg registration"
            except ValueError as e:
                if "unregistered extension code" not in str(e):
                    error = f"CPython fails otherwise: {e}"
            finally:
                for code, (module, attr) in saved.items():
                    copyreg.add_extension(module, attr, code)
        else:
            error = f"refused at protocol {protocol}, which the corpus does not expect: {_read(directory, fn).decode()}"
        results.append((fn, error))
    return results


def check(directory):
    """Checks every conversion and refusal in `directory`, one case per task on every core (the large cases
    first, so that no core is left with one at the end), and prints one JSON line per file, in file order."""
    with open(os.path.join(directory, "cases.json")) as f:
        cases = {c["case"]: c for c in json.load(f)}
    files = collections.defaultdict(list)
    for fn in sorted(os.listdir(directory)):
        m = CONVERTED.match(fn)
        if m:
            files[m.group(1)].append((fn, m.group(2), int(m.group(3))))
    size = lambda name: os.path.getsize(os.path.join(directory, name + ".pickle"))  # noqa: E731
    jobs = [(directory, cases[name], group) for name, group in sorted(files.items(), key=lambda item: -size(item[0]))]
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1, maxtasksperchild=8) as pool:
        results = sorted(result for group in pool.imap_unordered(_check_case, jobs) for result in group)
    failed = 0
    for fn, error in results:
        print(json.dumps({"file": fn, "ok": error is None, "error": error}))
        failed += error is not None
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "generate":
        generate(argv[2])
        return 0
    if len(argv) == 3 and argv[1] == "check":
        return check(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
