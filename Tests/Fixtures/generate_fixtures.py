#!/usr/bin/env python3
"""Generate the swift-pickle test fixtures with CPython as the oracle.

Usage:  python3 Tests/Fixtures/generate_fixtures.py [OUTDIR]

OUTDIR defaults to Tests/PickleTests/Fixtures (relative to the repository
root, found from this script's path).  It writes:

  OUTDIR/manifest.json          one entry per (catalog object, protocol):
      {"name", "protocol", "file", "repr", "dis", "builtin_only", "cyclic"}
      repr: repr(obj), or null if longer than 2000 chars or it contains
            "object at 0x".
      dis:  pickletools.dis(data) (with positions), or null if longer than
            65536 bytes as UTF-8.
      builtin_only: the graph holds only None/bool/int/float/str/bytes/
            bytearray/tuple/list/dict/set/frozenset and is not cyclic, i.e.
            a Swift repr is expected to equal "repr".
      cyclic: some object in the graph is reachable from itself (through
            container items, instance __dict__s or slots).
  OUTDIR/pickles/<name>.p<N>.pickle   pickle.dumps(obj, N), C pickler
  OUTDIR/hostile/manifest.json  one entry per hostile input:
      {"name", "file", "cpython_error", "source", "note"}
  OUTDIR/hostile/<case>.pickle

"cpython_error" is "<ExceptionClass>: <message>" from the C pickle.loads
(encoding='ASCII'), or "ok: <repr>" when CPython loads the input.

The output is deterministic: the script re-executes itself with
PYTHONHASHSEED=0 (set iteration order of str elements depends on it), and
every catalog object is built without randomness.
"""

import ast
import io
import json
import os
import pickle
import pickletools
import re
import struct
import subprocess
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUTDIR = os.path.join(REPO_ROOT, "Tests", "PickleTests", "Fixtures")

MAX_REPR = 2000
# "dis" is null when pickletools.dis output is longer than this many UTF-8
# bytes (only the 64 KiB+ strings/bytes and the largest dicts/lists hit it);
# this keeps OUTDIR under 8 MB.
MAX_DIS = 65536
BUILTIN_TYPES = (type(None), bool, int, float, str, bytes, bytearray,
                 tuple, list, dict, set, frozenset)


def _reexec_with_fixed_hash_seed():
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        os.execve(sys.executable,
                  [sys.executable, os.path.abspath(__file__)] + sys.argv[1:],
                  env)


# --------------------------------------------------------------------------
# Catalog fixtures
# --------------------------------------------------------------------------

def _children(o):
    """Objects directly reachable from o for the cycle check: container
    items, and the __dict__ and __slots__ values of instances.  Classes,
    modules and functions are leaves."""
    if isinstance(o, (type, types.ModuleType, types.FunctionType,
                      types.BuiltinFunctionType)):
        return []
    out = []
    if isinstance(o, (list, tuple, set, frozenset)):
        out += list(o)
    elif isinstance(o, dict):
        out += [x for kv in o.items() for x in kv]
    if type(o) in BUILTIN_TYPES:
        return out
    d = getattr(o, "__dict__", None)
    if isinstance(d, dict):
        out += list(d.values())
    for cls in type(o).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if isinstance(slot, str) and slot not in ("__dict__",
                                                      "__weakref__"):
                v = getattr(o, slot, _END)
                if v is not _END:
                    out.append(v)
    return out


def graph_info(obj):
    """Return (builtin_only, cyclic) for the object graph of obj.

    builtin_only: every object reachable through containers has one of the
    exact types in BUILTIN_TYPES.  cyclic: some object is reachable from
    itself (through containers, instance __dict__s or slots)."""
    builtin_only = True
    cyclic = False
    done = set()
    on_path = set()
    stack = [(obj, None)]          # iterative DFS: (object, child iterator)
    while stack:
        o, it = stack[-1]
        if it is None:
            if type(o) not in BUILTIN_TYPES:
                builtin_only = False
            on_path.add(id(o))
            it = iter(_children(o))
            stack[-1] = (o, it)
        child = next(it, _END)
        if child is _END:
            on_path.discard(id(o))
            done.add(id(o))
            stack.pop()
            continue
        if id(child) in on_path:
            cyclic = True
            continue
        if id(child) in done:
            continue
        stack.append((child, None))
    return builtin_only, cyclic


_END = object()


def safe_repr(obj):
    try:
        r = repr(obj)
    except Exception:
        return None
    if len(r) > MAX_REPR or "object at 0x" in r:
        return None
    return r


def dis_text(data):
    out = io.StringIO()
    pickletools.dis(data, out=out)
    return out.getvalue()


def generate_catalog(outdir, fo):
    pickles_dir = os.path.join(outdir, "pickles")
    os.makedirs(pickles_dir, exist_ok=True)
    for fn in os.listdir(pickles_dir):
        if fn.endswith(".pickle"):
            os.remove(os.path.join(pickles_dir, fn))

    entries = []
    skipped = []
    for name, obj in fo.catalog():
        r = safe_repr(obj)
        builtin_only, cyclic = graph_info(obj)
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            try:
                data = pickle.dumps(obj, proto)
            except Exception as e:       # e.g. slots at p0/1, PickleBuffer
                skipped.append(f"{name} p{proto}: {type(e).__name__}: {e}")
                continue
            # Every fixture must round-trip through CPython itself, or the
            # oracle could never accept a Swift re-encoding of it.
            back = pickle.loads(data)
            if not fo.structurally_equal(obj, back):
                raise SystemExit(f"fixture {name} p{proto} does not round-trip"
                                 " in CPython")
            dis = dis_text(data)
            rel = f"pickles/{name}.p{proto}.pickle"
            with open(os.path.join(outdir, rel), "wb") as f:
                f.write(data)
            entries.append({
                "name": name,
                "protocol": proto,
                "file": rel,
                "repr": r,
                "dis": dis if len(dis.encode("utf-8")) <= MAX_DIS else None,
                "builtin_only": builtin_only and not cyclic,
                "cyclic": cyclic,
            })
    write_json(os.path.join(outdir, "manifest.json"), entries)
    return entries, skipped


def write_json(path, value):
    text = json.dumps(value, indent=1, ensure_ascii=False)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
        f.write("\n")


# --------------------------------------------------------------------------
# Hostile inputs
# --------------------------------------------------------------------------

# Test methods of Lib/test/pickletester.py whose bytes literals are complete
# (possibly malformed) pickles.
PICKLETESTER_TESTS = [
    "test_bad_stack",
    "test_bad_mark",
    "test_truncated_data",
    "test_badly_escaped_string",
    "test_badly_quoted_string",
    "test_correctly_quoted_string",
    "test_negative_32b_binbytes",
    "test_negative_32b_binunicode",
    "test_large_32b_binbytes8",
    "test_large_32b_bytearray8",
    "test_large_32b_binunicode8",
    "test_negative_put",
    "test_negative_32b_binput",
    "test_misc_get",
    "test_get",
    "test_binget",
    "test_long_binget",
    "test_dup",
    "test_bad_reduce",
    "test_bad_newobj",
    "test_bad_newobj_ex",
    "test_constants",
    "test_empty_bytestring",
    "test_short_binbytes",
    "test_binbytes",
    "test_short_binunicode",
    "test_binbytes8",
    "test_binunicode8",
    "test_bytearray8",
    "test_frame_readline",
    "test_load_python2_str_as_bytes",
    "test_load_python2_unicode_as_str",
]

# Module-level constants of pickletester.py (Python 2 pickles).
PICKLETESTER_CONSTANTS = ["DATA_SET", "DATA_XRANGE", "DATA_COOKIE",
                          "DATA_SET2", "DATA_UEERR"]


def pickletester_source():
    import test
    path = os.path.join(os.path.dirname(test.__file__), "pickletester.py")
    with open(path, encoding="utf-8") as f:
        return f.read(), path


# Names the tests give to pickle inputs; bytes constants assigned to them
# (directly or inside a list) are inputs, other constants are expected values.
_INPUT_NAMES = {"badpickles", "goodpickles", "dumped", "pickled", "data",
                "pickle0", "pickle1", "pickle2"}


def _input_constants(fn):
    """bytes constants of a test function that are unpickler inputs: the
    first argument of self.loads(...), the second of
    self.check_unpickling_error(...), or anything assigned to a name in
    _INPUT_NAMES.  Sorted by source position."""
    roots = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "loads" and node.args:
                roots.append(node.args[0])
            elif node.func.attr == "check_unpickling_error" and \
                    len(node.args) > 1:
                roots.append(node.args[1])
        elif isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id in _INPUT_NAMES
                   for t in node.targets):
                roots.append(node.value)
    found = {}

    def add(n):
        if isinstance(n, ast.Constant) and isinstance(n.value, bytes):
            found[(n.lineno, n.col_offset)] = n

    for root in roots:
        if isinstance(root, (ast.List, ast.Tuple)):
            for elt in root.elts:
                if isinstance(elt, ast.Tuple) and elt.elts:   # (input, expected)
                    add(elt.elts[0])
                else:
                    add(elt)
        else:
            add(root)      # calls and concatenations are skipped
    return [found[k] for k in sorted(found)]


def extract_pickletester_cases():
    src, _ = pickletester_source()
    tree = ast.parse(src)
    funcs = {}
    consts = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in PICKLETESTER_TESTS:
            funcs.setdefault(node.name, node)
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and
                isinstance(node.targets[0], ast.Name)):
            consts[node.targets[0].id] = node.value
    missing = [t for t in PICKLETESTER_TESTS if t not in funcs]
    if missing:
        print(f"warning: not in pickletester.py: {missing}", file=sys.stderr)

    cases = []
    for test_name in PICKLETESTER_TESTS:
        fn = funcs.get(test_name)
        if fn is None:
            continue
        found = _input_constants(fn)
        seen = set()
        idx = 0
        base = test_name[len("test_"):]
        for n in found:
            if n.value in seen:
                continue
            seen.add(n.value)
            cases.append((f"{base}_{idx:02d}", n.value,
                          f"pickletester.{test_name}", None))
            idx += 1
    for cname in PICKLETESTER_CONSTANTS:
        if cname in consts:
            value = ast.literal_eval(consts[cname])
            cases.append((cname.lower(), value, f"pickletester.{cname}",
                          "Python 2 pickle"))
    if "exception_pickle" in consts:
        template = ast.literal_eval(consts["exception_pickle"])
        for exc in (b"ArithmeticError", b"StandardError", b"IOError"):
            cases.append((f"py2_exception_{exc.decode().lower()}",
                          template.replace(b"?", exc),
                          "pickletester.exception_pickle",
                          "Python 2 exception, mapped by fix_imports"))
    # test_maxint64 and test_load_long_python2_str_as_bytes build their data.
    maxint64 = str((1 << 63) - 1).encode("ascii")
    cases.append(("maxint64", b"I" + maxint64 + b"\n.",
                  "pickletester.test_maxint64", None))
    cases.append(("maxint64_junk", b"I" + maxint64 + b"JUNK\n.",
                  "pickletester.test_maxint64", None))
    cases.append(("long_python2_binstring_300",
                  b"T" + struct.pack("<I", 300) + b"x" * 300 + b".",
                  "pickletester.test_load_long_python2_str_as_bytes", None))
    # test_compat_unpickle (the test concatenates some of these).
    compat = [
        ("compat_xrange", b"\x80\x02c__builtin__\nxrange\nK\x01K\x07K\x01\x87R."),
        ("compat_reduce", b"\x80\x02c__builtin__\nreduce\n."),
        ("compat_whichdb", b"\x80\x02cwhichdb\nwhichdb\n."),
        ("compat_exception",
         b"\x80\x02cexceptions\nException\nU\x03ugh\x85R."),
        ("compat_standarderror",
         b"\x80\x02cexceptions\nStandardError\nU\x03ugh\x85R."),
        ("compat_userdict",
         b"\x80\x02(cUserDict\nUserDict\no}U\x04data}K\x01K\x02ssb."),
        ("compat_iterableuserdict",
         b"\x80\x02(cUserDict\nIterableUserDict\no}U\x04data}K\x01K\x02ssb."),
    ]
    for name, data in compat:
        cases.append((name, data, "pickletester.test_compat_unpickle", None))
    return cases


def q(n):
    return struct.pack("<Q", n)


def i4(n):
    return struct.pack("<i", n)


def own_cases():
    P4 = b"\x80\x04"
    P5 = b"\x80\x05"
    Z7 = b"\x00" * 7
    c = []

    def add(name, data, note):
        c.append((name, data, "own", note))

    # Huge declared lengths.
    add("own_binbytes8_2_63_m1", P4 + b"\x8e" + q(2**63 - 1) + b"abc.",
        "BINBYTES8 declaring sys.maxsize bytes, 3 present")
    add("own_binbytes8_2_63", P4 + b"\x8e" + q(2**63) + b"abc.",
        "BINBYTES8 length > sys.maxsize")
    add("own_binbytes8_2_64_m1", P4 + b"\x8e" + q(2**64 - 1) + b"abc.",
        "BINBYTES8 length 2**64-1")
    add("own_binunicode8_2_63_m1", P4 + b"\x8d" + q(2**63 - 1) + b"abc.",
        "BINUNICODE8 declaring sys.maxsize bytes")
    add("own_bytearray8_2_63_m1", P5 + b"\x96" + q(2**63 - 1) + b"abc.",
        "BYTEARRAY8 declaring sys.maxsize bytes")
    add("own_frame_2_63_m1", P4 + b"\x95" + q(2**63 - 1) + b"N.",
        "FRAME declaring sys.maxsize bytes")
    add("own_frame_2_63", P4 + b"\x95" + q(2**63) + b"N.",
        "FRAME length > sys.maxsize")
    add("own_frame_2_64_m1", P4 + b"\x95" + q(2**64 - 1) + b"N.",
        "FRAME length 2**64-1")
    add("own_binunicode_2_32_m1", b"X\xff\xff\xff\xffabc.",
        "BINUNICODE length 2**32-1, 3 bytes of data")
    add("own_binbytes_2_32_m1", b"\x80\x03B\xff\xff\xff\xffabc.",
        "BINBYTES length 2**32-1, 3 bytes of data (C 3.11 allocates the "
        "declared length first; MemoryError where 4 GiB cannot be reserved)")
    add("own_binstring_negative", b"T\x00\x00\x00\x80abc.",
        "BINSTRING with 'negative' int4 length (C 3.11 reads it unsigned)")
    add("own_long4_negative", b"\x80\x02\x8b" + i4(-1) + b".",
        "LONG4 with a negative length")
    add("own_long4_huge", b"\x80\x02\x8b" + i4(2**31 - 1) + b"\x01\x02.",
        "LONG4 declaring 2**31-1 bytes")
    add("own_long1_truncated", b"\x80\x02\x8a\x05\x01.", "LONG1 short data")
    add("own_long1_zero_len", b"\x80\x02\x8a\x00.", "LONG1 of length 0 is 0")
    # Opcodes and EOF.
    add("own_opcode_ff", b"\xff", "unknown opcode 0xff")
    add("own_opcode_ff_after_proto", P4 + b"\xff.", "unknown opcode 0xff")
    add("own_opcode_00", b"\x00.", "unknown opcode 0x00")
    add("own_empty", b"", "empty input")
    add("own_none_no_stop", b"N", "EOF at an opcode boundary")
    add("own_proto_only", b"\x80", "EOF inside PROTO's argument")
    add("own_proto4_no_stop", P4, "EOF after PROTO")
    add("own_proto_6", b"\x80\x06N.", "unsupported protocol 6")
    add("own_proto_255", b"\x80\xffN.", "unsupported protocol 255")
    add("own_stop_empty_stack", b".", "STOP on an empty stack")
    add("own_mark_stop", b"(.", "MARK on top at STOP")
    add("own_stop_ignores_stack", b"NK\x05.", "STOP ignores items below top")
    add("own_stop_ignores_mark", b"(K\x01.", "STOP ignores an open MARK")
    add("own_trailing_garbage", b"N.garbage", "bytes after STOP are ignored")
    add("own_many_marks", b"(" * 100000 + b"N.", "100000 open MARKs")
    # Memo.
    add("own_get_missing", b"g5\n.", "GET of a missing memo index")
    add("own_binget_missing", b"h\x05.", "BINGET of a missing memo index")
    add("own_long_binget_missing", b"j\x05\x00\x00\x00.",
        "LONG_BINGET of a missing memo index")
    add("own_get_other_index", b"Np1\ng2\n.", "GET of an index never PUT")
    add("own_get_negative", b"g-1\n.", "GET with a negative index")
    add("own_get_not_int", b"gabc\n.", "GET with a non-integer index")
    add("own_put_negative", b"Np-1\n.", "PUT with a negative index")
    add("own_put_huge", b"Np99999999999999999999\n.", "PUT index > ssize_t")
    add("own_long_binput_ffffffff", b"Nr\xff\xff\xff\xff.",
        "LONG_BINPUT 0xffffffff: C 3.11 tries to grow a dense memo array "
        "(MemoryError, measured with a 16 GiB address-space limit)")
    add("own_put_empty_stack", b"p0\n.", "PUT on an empty stack")
    add("own_memoize_mark", b"N(\x94.", "MEMOIZE with a MARK on top")
    add("own_memoize_sparse", b"Nq\x05\x88\x94h\x01.",
        "MEMOIZE uses len(memo), not the highest index")
    add("own_memoize_overwrite", b"Nq\x01\x88\x94\x89\x94h\x01.",
        "two MEMOIZEs write the same index")
    add("own_put_overwrite", b"K\x01p0\nK\x02p0\n0g0\n.",
        "PUT to an existing index overwrites")
    # Stack/mark semantics.
    add("own_pop_mark_removes_mark", b"K\x01(0.", "POP of a MARK removes it")
    add("own_dup", b"(K\x012t.", "DUP")
    add("own_dict_odd", b"(K\x01d.", "odd number of items for DICT")
    add("own_setitems_odd", b"}(K\x01u.", "odd number of items for SETITEMS")
    add("own_setitem_on_list", b"]K\x01aK\x00K\x02s.",
        "SETITEM on a list with an in-range index")
    add("own_setitem_on_list_oob", b"]K\x00K\x01s.",
        "SETITEM on an empty list")
    add("own_append_on_int", b"K\x01K\x02a.", "APPEND to an int")
    add("own_appends_empty_on_none", b"N(e.",
        "empty APPENDS batch on None (C skips the call)")
    add("own_additems_on_list", b"](K\x01\x90.", "ADDITEMS on a list")
    add("own_frozenset_unhashable", b"(]\x91.", "FROZENSET of a list")
    add("own_dict_unhashable_key", b"(]K\x01d.", "DICT with a list key")
    add("own_build_nondict_state", b"cbuiltins\nobject\n)\x81K\x01b.",
        "BUILD with an int state on an object without __setstate__")
    add("own_build_empty_dict_on_object", b"cbuiltins\nobject\n)\x81}b.",
        "BUILD {} on object(): C needs __dict__")
    add("own_build_slot_state_not_dict", b"cbuiltins\nobject\n)\x81NK\x01\x86b.",
        "BUILD (None, 1)")
    add("own_reduce_list_args", b"cbuiltins\nint\n]R.",
        "REDUCE with a list as args")
    add("own_reduce_not_callable", b"K\x01)R.", "REDUCE on an int")
    add("own_newobj_ex_kwargs_not_dict", b"cbuiltins\nint\n)]\x92.",
        "NEWOBJ_EX with a list as kwargs")
    add("own_inst", b"(ibuiltins\nlist\n.", "INST with no args")
    add("own_obj", b"(cbuiltins\nlist\no.", "OBJ with no args")
    add("own_inst_empty_lines", b"(i\n\n.", "INST with empty names")
    add("own_tuple_empty_mark", b"(t.", "TUPLE of an empty MARK")
    # Globals.
    add("own_global_missing_module", b"cno_such_module_xyz\nattr\n.",
        "GLOBAL of a missing module")
    add("own_global_missing_attr", b"cbuiltins\nno_such_attr\n.",
        "GLOBAL of a missing attribute")
    add("own_global_non_utf8", b"cbuiltins\n\xff\n.", "GLOBAL name not UTF-8")
    add("own_global_crlf", b"cbuiltins\r\nlen\r\n.",
        "GLOBAL lines ending in CRLF")
    add("own_global_empty_module", b"c\nlen\n.", "GLOBAL with an empty module")
    add("own_global_dotted_p2", b"\x80\x02cbuiltins\nstr.join\n.",
        "dotted GLOBAL name at protocol 2")
    add("own_global_dotted_p4", P4 + b"cbuiltins\nstr.join\n.",
        "dotted GLOBAL name at protocol 4")
    add("own_global_builtin_p3", b"\x80\x03c__builtin__\nlen\n.",
        "Python 2 module name with a protocol-3 stream (no fix_imports)")
    add("own_global_builtin_p2", b"\x80\x02c__builtin__\nlen\n.",
        "Python 2 module name with a protocol-2 stream (fix_imports)")
    add("own_stack_global_not_str", b"K\x01K\x02\x93.",
        "STACK_GLOBAL with int arguments")
    add("own_stack_global_ok", P4 + b"\x8c\x08builtins\x8c\x03len\x93.",
        "STACK_GLOBAL builtins.len")
    # Persistent ids.
    add("own_persid_no_loader", b"Pabc\n.", "PERSID without persistent_load")
    add("own_persid_non_ascii", b"P\xff\n.", "PERSID not ASCII")
    add("own_binpersid_no_loader", b"K\x01Q.", "BINPERSID without a loader")
    # Extensions.
    add("own_ext1_unregistered", b"\x82\x01.", "EXT1 code 1 not registered")
    add("own_ext1_zero", b"\x82\x00.", "EXT1 code 0")
    add("own_ext4_negative", b"\x84\xff\xff\xff\xff.", "EXT4 code -1")
    # Text numbers.
    add("own_int_octal", b"I010\n.", "INT is base 0 in C 3.11 (-> 8)")
    add("own_int_hex", b"I0x1f\n.", "INT base 0 hex")
    add("own_int_plus_zero", b"I+0\n.", "2-char INT 0 is a bool in C")
    add("own_int_nul_junk", b"I1\x00junk\n.", "text after NUL ignored")
    add("own_int_empty", b"I\n.", "INT with an empty line")
    add("own_int_spaces", b"I 1 \n.", "INT with spaces")
    add("own_int_underscore", b"I1_000\n.", "INT with an underscore")
    add("own_int_junk", b"I12abc\n.", "INT with junk")
    add("own_long_suffix", b"L42L\n.", "LONG with an L suffix")
    add("own_long_double_suffix", b"L42LL\n.", "LONG with LL")
    add("own_long_hex", b"L0x10L\n.", "LONG base 0 hex")
    add("own_float_overflow", b"F1e500\n.", "FLOAT out of range")
    add("own_float_inf", b"Finf\n.", "FLOAT inf")
    add("own_float_nan", b"Fnan\n.", "FLOAT nan")
    add("own_float_space", b"F 1.5\n.", "FLOAT with a space")
    add("own_float_junk", b"F1.5abc\n.", "FLOAT with junk")
    add("own_float_underscore", b"F1_0\n.", "FLOAT with an underscore")
    # Text strings.
    add("own_string_non_ascii", b"S'\xe9'\n.", "STRING with a non-ASCII byte")
    add("own_string_hex_escape", b"S'\\x41'\n.", "STRING with \\x41")
    add("own_string_bad_hex", b"S'\\x4'\n.", "STRING with a bad \\x escape")
    add("own_string_inner_quote", b"S'a'b'\n.", "only first/last quote checked")
    add("own_string_crlf", b"S'a'\r\n.", "STRING ending in CRLF")
    add("own_string_mixed_quotes", b"S'a\"\n.", "STRING with mismatched quotes")
    add("own_short_binstring_non_ascii", b"U\x01\xe9.",
        "SHORT_BINSTRING non-ASCII with encoding ASCII")
    add("own_unicode_escape", b"V\\u00e9\n.", "UNICODE raw-unicode-escape")
    add("own_unicode_truncated_escape", b"V\\u00\n.", "truncated \\u escape")
    add("own_unicode_surrogate", b"V\\ud800\n.", "UNICODE lone surrogate")
    add("own_unicode_cr", b"Vabc\r\n.", "UNICODE keeps a trailing CR")
    add("own_unicode_big_escape", b"V\\U0001f600\n.", "UNICODE \\U escape")
    add("own_unicode_bad_big_escape", b"V\\U00110000\n.",
        "UNICODE \\U escape out of range")
    add("own_binunicode_invalid_utf8", b"X\x01\x00\x00\x00\xff.",
        "BINUNICODE invalid UTF-8")
    add("own_binunicode_surrogate", b"X\x03\x00\x00\x00\xed\xa0\x80.",
        "BINUNICODE lone surrogate (surrogatepass)")
    add("own_short_binunicode_overlong", P4 + b"\x8c\x02\xc0\x80.",
        "SHORT_BINUNICODE overlong NUL")
    add("own_short_binunicode_truncated_seq", P4 + b"\x8c\x01\xe2.",
        "SHORT_BINUNICODE truncated multi-byte sequence")
    # Frames.
    add("own_frame_zero", P4 + b"\x95" + q(0) + b"N.", "FRAME of length 0")
    add("own_frame_exact", P4 + b"\x95" + q(2) + b"N.", "FRAME exactly to end")
    add("own_frame_straddle", P4 + b"\x95" + q(1) + b"K\x05.",
        "BININT1 straddles the end of a frame (C 3.11 accepts; Python and "
        "newer C reject)")
    add("own_frame_nested",
        P4 + b"\x95" + q(14) + b"K\x01" + b"\x95" + q(2) + b"K\x02" + b".",
        "FRAME starting inside an unfinished frame (C 3.11 accepts)")
    add("own_frame_truncated", P4 + b"\x95" + q(5) + b"N.",
        "FRAME longer than the input")
    add("own_frame_at_p2", b"\x80\x02\x95" + q(2) + b"N.",
        "FRAME inside a protocol-2 stream")
    # Protocol 5 buffers.
    add("own_next_buffer_no_buffers", P5 + b"\x97.",
        "NEXT_BUFFER without a buffers argument")
    add("own_readonly_buffer_non_buffer", P5 + b"K\x01\x98.",
        "READONLY_BUFFER on an int")
    add("own_readonly_buffer_empty_stack", P5 + b"\x98.",
        "READONLY_BUFFER on an empty stack")
    add("own_bytearray8_readonly", P5 + b"\x96" + q(3) + b"abc\x98.",
        "READONLY_BUFFER on a bytearray gives a read-only memoryview")
    # Deep nesting (a recursive loader or a recursive deinit can overflow).
    add("own_deep_list_100000",
        b"\x80\x02" + b"]" * 100001 + b"a" * 100000 + b".",
        "list nested 100000 deep")
    add("own_deep_tuple_100000", b"\x80\x02)" + b"\x85" * 100000 + b".",
        "tuple nested 100000 deep")
    add("own_deep_dict_20000",
        b"\x80\x02" + b"}K\x00" * 20000 + b"}" + b"s" * 20000 + b".",
        "dict nested 20000 deep")
    return c


# Runs in a child process with a 16 GiB address-space limit, so inputs that
# make CPython allocate a huge memo (LONG_BINPUT 0xffffffff: 32 GiB) fail
# with MemoryError on every machine instead of allocating.  Inputs that make
# C 3.11 allocate a declared 4 GiB length before reading (BINBYTES 2**32-1)
# get "pickle data was truncated" on a machine that can reserve 4 GiB.  Reads a JSON list of hex strings, prints a JSON list of results.
_CHILD = r"""
import json, pickle, re, sys, warnings
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (16 << 30, 16 << 30))
except Exception:
    pass
sys.setrecursionlimit(1000)
warnings.simplefilter("ignore")
ADDR = re.compile(r" at 0x[0-9a-fA-F]+")
out = []
for h in json.load(sys.stdin):
    data = bytes.fromhex(h)
    try:
        obj = pickle.loads(data, encoding="ASCII")
    except BaseException as e:
        out.append(f"{type(e).__name__}: {e}")
        continue
    try:
        r = repr(obj)
    except BaseException as e:
        r = f"<repr failed: {type(e).__name__}>"
    r = ADDR.sub(" at 0x...", r)
    if len(r) > 2000:
        r = r[:2000] + "..."
    out.append("ok: " + r)
    del obj
json.dump(out, sys.stdout)
"""


def cpython_results(datas):
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([sys.executable, "-c", _CHILD],
                       input=json.dumps([d.hex() for d in datas]).encode(),
                       capture_output=True, env=env, cwd=HERE, check=True)
    results = json.loads(p.stdout)
    assert len(results) == len(datas)
    return results


def generate_hostile(outdir):
    hostile_dir = os.path.join(outdir, "hostile")
    os.makedirs(hostile_dir, exist_ok=True)
    for fn in os.listdir(hostile_dir):
        if fn.endswith(".pickle"):
            os.remove(os.path.join(hostile_dir, fn))
    cases = extract_pickletester_cases() + own_cases()
    names = [c[0] for c in cases]
    dupes = {n for n in names if names.count(n) > 1}
    assert not dupes, dupes
    assert all(re.fullmatch(r"[a-z0-9_]+", n) for n in names)
    results = cpython_results([c[1] for c in cases])
    entries = []
    for (name, data, source, note), result in zip(cases, results):
        rel = f"{name}.pickle"
        with open(os.path.join(hostile_dir, rel), "wb") as f:
            f.write(data)
        entries.append({"name": name, "file": rel, "cpython_error": result,
                        "source": source, "note": note})
    write_json(os.path.join(hostile_dir, "manifest.json"), entries)
    return entries


def dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for fn in files:
            total += os.path.getsize(os.path.join(root, fn))
    return total


def main():
    _reexec_with_fixed_hash_seed()
    sys.dont_write_bytecode = True
    outdir = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTDIR
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    import numpy  # noqa: F401  (the catalog's numpy fixtures need it)
    import fixture_objects as fo
    os.makedirs(outdir, exist_ok=True)
    entries, skipped = generate_catalog(outdir, fo)
    hostile = generate_hostile(outdir)
    names = {e["name"] for e in entries}
    print(f"{len(names)} catalog objects, {len(entries)} pickles "
          f"({len(skipped)} protocol/object pairs skipped)")
    for s in skipped:
        print(f"  skipped {s}")
    print(f"{len(hostile)} hostile inputs")
    size = dir_size(outdir)
    print(f"total size of {outdir}: {size} bytes")
    if size > 8 * 1024 * 1024:
        raise SystemExit("fixtures exceed 8 MB")


if __name__ == "__main__":
    main()
