#!/usr/bin/env python3
"""CPython oracle for the swift-pickle tests.

  python3 Tests/Fixtures/oracle.py verify MANIFEST_IN DIR
      DIR holds files <name>.p<N>.pickle written by the Swift side
      (re-encodings of the catalog fixtures listed in MANIFEST_IN, normally
      Tests/PickleTests/Fixtures/manifest.json).  Each file is loaded with
      CPython's pickle.loads and compared with fixture_objects.catalog()'s
      object of that name using structurally_equal.  The file must also be
      a well-formed protocol-N pickle: PROTO N first when N >= 2, no opcode
      newer than protocol N, nothing after STOP.  Prints one JSON object
      per line, {"file": ..., "ok": bool, "error": str|null}, then
      "N passed, M failed".  Exit status 1 if any failed, 2 on bad usage.

  python3 Tests/Fixtures/oracle.py loads FILE
      Prints repr(pickle.loads(FILE's bytes)); on error prints
      "<ExceptionClass>: <message>" and exits 1.

  python3 Tests/Fixtures/oracle.py dumps PROTOCOL
      Reads a Python expression from stdin, evaluates it, and writes
      pickle.dumps(value, PROTOCOL) to stdout.  The expression may use
      builtins, nan/inf, the modules collections, datetime, decimal,
      fractions, math, uuid, numpy (as np, if installed) and every public
      name of fixture_objects.
"""

import json
import os
import pickle
import pickletools
import re
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

FILE_RE = re.compile(r"^([a-z0-9_]+)\.p([0-9]+)\.pickle$")


def _describe(exc):
    return f"{type(exc).__name__}: {exc}"


def check_protocol(data, protocol):
    """Return None if data is a well-formed protocol-`protocol` pickle,
    else a description of the problem."""
    try:
        ops = list(pickletools.genops(data))
    except Exception as e:
        return f"malformed pickle: {_describe(e)}"
    if not ops:
        return "empty pickle"
    first, arg, _ = ops[0]
    if protocol >= 2:
        if first.name != "PROTO" or arg != protocol:
            return f"protocol {protocol} pickle does not start with PROTO {protocol}"
    for op, arg, pos in ops:
        if op.proto > protocol:
            return (f"opcode {op.name} at {pos} needs protocol {op.proto}, "
                    f"pickle is protocol {protocol}")
        if op.name == "PROTO" and (pos != 0 or arg != protocol):
            return f"PROTO {arg} at {pos} in a protocol {protocol} pickle"
    stop_pos = ops[-1][2]
    if stop_pos + 1 != len(data):
        return f"{len(data) - stop_pos - 1} bytes after STOP"
    return None


def verify(manifest_path, directory):
    import fixture_objects as fo

    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    known = {e["name"] for e in manifest}
    catalog = dict(fo.catalog())
    passed = failed = 0
    for fn in sorted(os.listdir(directory)):
        if not fn.endswith(".pickle"):
            continue
        error = None
        m = FILE_RE.match(fn)
        if m is None:
            error = "file name is not <name>.p<N>.pickle"
        else:
            name, protocol = m.group(1), int(m.group(2))
            if name not in known:
                error = f"no fixture named {name!r} in the manifest"
            elif name not in catalog:
                error = (f"fixture {name!r} is not in this catalog() "
                         "(numpy not installed?)")
            elif protocol > pickle.HIGHEST_PROTOCOL:
                error = f"protocol {protocol} > {pickle.HIGHEST_PROTOCOL}"
        if error is None:
            with open(os.path.join(directory, fn), "rb") as f:
                data = f.read()
            try:
                loaded = pickle.loads(data)
            except Exception as e:
                error = f"pickle.loads failed: {_describe(e)}"
            else:
                try:
                    same = fo.structurally_equal(catalog[name], loaded)
                except Exception as e:
                    same = False
                    error = f"comparison failed: {_describe(e)}"
                if not same and error is None:
                    error = "not structurally equal to the catalog object: " \
                            + _short_repr(loaded)
            if error is None:
                error = check_protocol(data, protocol)
        if error is None:
            passed += 1
        else:
            failed += 1
        print(json.dumps({"file": fn, "ok": error is None, "error": error}),
              flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


def _short_repr(obj, limit=300):
    try:
        r = repr(obj)
    except Exception as e:
        return f"<repr failed: {type(e).__name__}>"
    return r if len(r) <= limit else r[:limit] + "..."


def loads(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        obj = pickle.loads(data)
    except Exception as e:
        print(_describe(e))
        return 1
    print(repr(obj))
    return 0


def dumps(protocol_text):
    import collections
    import datetime
    import decimal
    import fractions
    import math
    import uuid
    import fixture_objects as fo

    namespace = {name: getattr(fo, name) for name in fo.__all__}
    namespace.update(collections=collections, datetime=datetime,
                     decimal=decimal, fractions=fractions, math=math,
                     uuid=uuid, pickle=pickle, nan=float("nan"),
                     inf=float("inf"))
    try:
        import numpy
        namespace.update(np=numpy, numpy=numpy)
    except ImportError:
        pass
    source = sys.stdin.read()
    value = eval(source, namespace)
    data = pickle.dumps(value, int(protocol_text))
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


USAGE = """usage: oracle.py verify MANIFEST_IN DIR
       oracle.py loads FILE
       oracle.py dumps PROTOCOL   (expression on stdin)"""


def main(argv):
    if len(argv) == 4 and argv[1] == "verify":
        return verify(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "loads":
        return loads(argv[2])
    if len(argv) == 3 and argv[1] == "dumps":
        return dumps(argv[2])
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
