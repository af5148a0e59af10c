#!/usr/bin/env python3
"""Conversion fidelity, judged by CPython: loading a converted pickle runs the same Python code as loading
the original.

  python3 Tests/Fixtures/recipes.py originals DIR
      Writes DIR/<case>.pickle for every case (CPython's dumps of recipe_classes objects at protocols 0-5,
      and pickles written byte by byte: classic INST/OBJ instances, dotted and empty global names), and
      DIR/cases.json: [{"case", "protocol", "refusals": [protocols the converter must refuse],
      "parse_error": null or the error the reader must raise}].

      The one normalisation conversion makes: protocol 0 has no APPENDS, so one extend() call of n items
      (APPENDS on an object) becomes n calls of one item each (APPEND); check expects exactly that.

  python3 Tests/Fixtures/recipes.py check DIR
      For every DIR/<case>.to<N>.pickle (the Swift side's conversion of <case> to protocol N), loads the
      original and the conversion with CALLS emptied before each, and compares what happened: the events
      the classes logged, and the objects built (types, state, sharing), or the exception's type and
      message when the original fails to load. The conversion must also be a well-formed protocol-N
      pickle. Prints one JSON object per line, then "N passed, M failed"; exit status 1 if any failed.
"""

import json
import os
import pickle
import re
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import recipe_classes as rc  # noqa: E402
from oracle import check_protocol  # noqa: E402

M = b"recipe_classes"


def _objects():
    """The objects CPython pickles at every protocol (cyclic container subclasses only at 2 and above:
    below 2, copyreg._reduce_ex puts the container's own items in its constructor arguments, and a cycle
    through them recurses without end)."""
    shared = rc.Plain(7)
    return {
        "plain": [rc.Plain(1), shared, shared],
        "keyword_only_new": rc.KeywordOnlyNew(1, 2, flag=True),
        "noisy_new": rc.NoisyNew(5),
        "set_state": rc.WithSetState(3),
        "slotted": rc.Slotted(1, [2]),
        "logging_list": rc.LoggingList([1, "two", [shared]]),
        "logging_dict": rc.LoggingDict(a=1, b=[2]),
        "reduced_by_factory": rc.ReducedByFactory(0, ["p", 1]),
        "reduced_with_newobj": rc.ReducedWithNewObj("tag"),
        "nested_class": [rc.Outer.Inner(3), rc.Outer.Inner],
    }


def _cyclic_objects():
    return {"logging_list_cycle": _logging_list(), "logging_dict_cycle": _logging_dict()}


def _logging_list():
    items = rc.LoggingList([1, "two"])
    items.append(items)
    return items


def _logging_dict():
    d = rc.LoggingDict(a=1)
    d["self"] = d
    return d


def _classic(name, args, state):
    """A Python 2 classic-class instance as pickle.py wrote it: INST at protocol 0, OBJ at 1 and 2."""
    cls = M + b"\n" + name.encode() + b"\n"
    p0 = b"(" + b"".join(b"I%d\n" % a for a in args) + b"i" + cls + b"p0\n"
    p1 = b"(c" + cls + b"q\x00" + b"".join(b"K%c" % a for a in args) + b"oq\x01"
    if state:
        p0 += b"(dp1\nS'k'\np2\nI1\nsb"
        p1 += b"}q\x02U\x01kq\x03K\x01sb"
    return {0: p0 + b".", 1: p1 + b".", 2: b"\x80\x02" + p1 + b"."}


def originals(directory):
    os.makedirs(directory, exist_ok=True)
    cases = []

    def add(name, data, protocol, refusals=(), parse_error=None):
        with open(os.path.join(directory, name + ".pickle"), "wb") as f:
            f.write(data)
        cases.append({"case": name, "protocol": protocol, "refusals": list(refusals), "parse_error": parse_error})

    for name, obj in _objects().items():
        for protocol in range(6):
            add(f"{name}.p{protocol}", pickle.dumps(obj, protocol), protocol)
    for name, obj in _cyclic_objects().items():
        for protocol in range(2, 6):
            add(f"{name}.p{protocol}", pickle.dumps(obj, protocol), protocol)

    for name, args in (("InitNeedsArgument", ()), ("InitNeedsArgument", (5,)), ("WithInitArgs", ()),
                       ("WithInitArgs", (1, 2)), ("Plain", ())):
        for state in (False, True):
            for protocol, data in _classic(name, args, state).items():
                tag = "_".join(str(a) for a in args) or "noargs"
                add(f"classic_{name}_{tag}_{'state' if state else 'nostate'}.p{protocol}", data, protocol)

    # A dotted name below protocol 4 is one attribute name (CPython 3.11 fails to find it); at protocol 4
    # and above, an attribute path. Converting the first to protocol 4+ would make it resolve.
    dotted = M + b"\nOuter.Inner\n"
    add("dotted_global.p0", b"c" + dotted + b".", 0, refusals=[4, 5])
    add("dotted_global.p2", b"\x80\x02c" + dotted + b".", 2, refusals=[4, 5])
    add("dotted_inst.p0", b"(i" + dotted + b".", 0, refusals=[4, 5])
    add("dotted_global.p4", b"\x80\x04c" + dotted + b".", 4)
    add("dotted_stack_global.p4", b"\x80\x04\x8c\x0erecipe_classes\x8c\x0bOuter.Inner\x93.", 4)
    add("dotted_stack_global_unframed.p3", b"\x80\x03\x8c\x0erecipe_classes\x8c\x0bOuter.Inner\x93.", 3, refusals=[4, 5])
    add("empty_module.p4", b"\x80\x04\x8c\x00\x8c\x05Outer\x93.", 4, parse_error="invalidArgument")

    with open(os.path.join(directory, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


def describe(obj):
    """A canonical, comparable description of an object graph: types, values, state and sharing."""
    seen = {}

    def walk(o):
        if isinstance(o, (int, float, str, bytes, bool, type(None))):
            return repr(o)
        if isinstance(o, type):
            return f"class {o.__module__}.{o.__qualname__}"
        key = id(o)
        if key in seen:
            return f"<ref {seen[key]}>"
        seen[key] = len(seen)
        kind = f"{type(o).__module__}.{type(o).__qualname__}"
        parts = []
        if isinstance(o, (list, tuple)):
            parts.append(("items", [walk(x) for x in o]))
        if isinstance(o, dict):
            parts.append(("items", [(walk(k), walk(v)) for k, v in o.items()]))
        if hasattr(o, "__dict__"):
            parts.append(("dict", [(k, walk(v)) for k, v in sorted(vars(o).items())]))
        for slot in getattr(type(o), "__slots__", ()):
            if hasattr(o, slot):
                parts.append((slot, walk(getattr(o, slot))))
        return (kind, parts)

    return walk(obj)


def split_extends(trace):
    """The trace a protocol 0 conversion must give: each extend() of n items as n extend() calls of one."""
    calls = []
    for event in trace["calls"]:
        if event[0] == repr("LoggingList.extend"):
            calls += [[event[0], item] for item in event[1:]]
        else:
            calls.append(event)
    return {"calls": calls, "result": trace["result"]}


def load_trace(data):
    rc.CALLS.clear()
    try:
        result = ("ok", describe(pickle.loads(data)))
    except Exception as e:  # noqa: BLE001 - the failure itself is what is compared
        result = ("error", f"{type(e).__name__}: {e}")
    return {"calls": [list(map(repr, event)) for event in rc.CALLS], "result": result}


CONVERTED = re.compile(r"^(.+)\.to([0-5])\.pickle$")


def check(directory):
    passed = failed = 0
    for fn in sorted(os.listdir(directory)):
        m = CONVERTED.match(fn)
        if not m:
            continue
        case, protocol = m.group(1), int(m.group(2))
        with open(os.path.join(directory, case + ".pickle"), "rb") as f:
            original = f.read()
        with open(os.path.join(directory, fn), "rb") as f:
            converted = f.read()
        error = check_protocol(converted, protocol)
        if error is None:
            want, got = load_trace(original), load_trace(converted)
            if protocol == 0:
                want = split_extends(want)
            if want != got:
                error = f"loading the original gave {json.dumps(want)}, the conversion {json.dumps(got)}"
        print(json.dumps({"file": fn, "ok": error is None, "error": error}))
        if error is None:
            passed += 1
        else:
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "originals":
        originals(argv[2])
        return 0
    if len(argv) == 3 and argv[1] == "check":
        return check(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
