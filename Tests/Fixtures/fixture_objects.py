"""Test objects for the swift-pickle fixtures.

This module is imported by ``generate_fixtures.py`` (which writes the pickles
under ``Tests/PickleTests/Fixtures``) and by ``oracle.py`` (which loads the
pickles that the Swift side writes and compares them with ``catalog()``).
Every class lives at module top level so that pickles refer to it as
``fixture_objects.<Name>`` and CPython can import it again; run with
``PYTHONPATH=Tests/Fixtures``.

Public API:
  catalog()                -> list of (name, object), names unique, [a-z0-9_]+
  structurally_equal(a, b) -> deep comparison (nan, -0.0, cycles, sharing)
"""

import collections
import datetime
import decimal
import enum
import fractions
import io
import pickle
import reprlib
import struct
import threading
import uuid

__all__ = [
    "Plain", "Slotted", "SlottedWithDict", "WithState", "FiveParts",
    "TaggedList", "TaggedDict", "PlainListSub", "PlainDictSub",
    "WithReduceEx", "WithNewArgs", "WithNewArgsEx", "Color", "Level", "Perm",
    "Point", "Point3", "Node", "Key", "HNode",
    "catalog", "structurally_equal",
]

_MISSING = object()

# --------------------------------------------------------------------------
# Equality helpers
# --------------------------------------------------------------------------

_eq_state = threading.local()


def _coinductive_eq(a, b, compare):
    """Evaluate ``compare()`` for the pair (a, b), treating a pair that is
    already being compared further up the call stack as equal.  This makes
    ``__eq__`` terminate on cyclic object graphs (``o.me = o``)."""
    if a is b:
        return True
    active = getattr(_eq_state, "active", None)
    if active is None:
        active = _eq_state.active = set()
    key = (id(a), id(b))
    if key in active:
        return True
    active.add(key)
    try:
        return bool(compare())
    finally:
        active.discard(key)


class _StateEq:
    """Mixin: equality by exact type and ``__dict__``, cycle-safe."""

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return _coinductive_eq(self, other,
                               lambda: self.__dict__ == other.__dict__)

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    @reprlib.recursive_repr()
    def __repr__(self):
        items = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({items})"


# --------------------------------------------------------------------------
# Classes
# --------------------------------------------------------------------------

class Plain(_StateEq):
    """A plain class whose state is its ``__dict__``."""

    def __init__(self, a=None, b=None, **extra):
        self.a = a
        self.b = b
        self.__dict__.update(extra)


class Slotted:
    """A class with ``__slots__`` and no ``__dict__`` (p2+: state is
    ``(None, {slot: value})``; p0/p1 cannot pickle it)."""

    __slots__ = ("x", "y")

    def __init__(self, x=_MISSING, y=_MISSING):
        if x is not _MISSING:
            self.x = x
        if y is not _MISSING:
            self.y = y

    def _slot_values(self):
        out = {}
        for cls in type(self).__mro__:
            for name in getattr(cls, "__slots__", ()):
                out[name] = getattr(self, name, _MISSING)
        return out

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return _coinductive_eq(
            self, other,
            lambda: (self._slot_values() == other._slot_values() and
                     getattr(self, "__dict__", None) ==
                     getattr(other, "__dict__", None)))

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    @reprlib.recursive_repr()
    def __repr__(self):
        parts = [f"{k}={v!r}" for k, v in self._slot_values().items()
                 if v is not _MISSING]
        d = getattr(self, "__dict__", None)
        if d:
            parts.append(f"__dict__={d!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class SlottedWithDict(Slotted):
    """Subclass of a slotted class without ``__slots__``: it has both slots
    and a ``__dict__``, so p2+ state is ``({...}, {slot: value})``."""


class WithState:
    """Custom ``__getstate__``/``__setstate__`` with a non-dict state."""

    def __init__(self, name, values):
        self.name = name
        self.values = list(values)
        self._cache = {"derived": len(self.values)}   # not pickled

    def __getstate__(self):
        return (self.name, tuple(self.values))

    def __setstate__(self, state):
        self.name, values = state
        self.values = list(values)
        self._cache = {"derived": len(self.values)}

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return _coinductive_eq(
            self, other,
            lambda: (self.name, self.values) == (other.name, other.values))

    __hash__ = None

    def __repr__(self):
        return f"WithState({self.name!r}, {self.values!r})"


class FiveParts:
    """``__reduce__`` returns all five parts: callable, args, state,
    listitems iterator (APPEND(S) -> ``extend``/``append``) and dictitems
    iterator (SETITEM(S) -> ``__setitem__``)."""

    def __init__(self, name):
        self.name = name
        self.items = []
        self.mapping = {}
        self.extra = None

    def append(self, item):
        self.items.append(item)

    def extend(self, items):
        self.items.extend(items)

    def __setitem__(self, key, value):
        self.mapping[key] = value

    def __reduce__(self):
        return (FiveParts, (self.name,), {"extra": self.extra},
                iter(self.items), iter(self.mapping.items()))

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return _coinductive_eq(self, other,
                               lambda: self.__dict__ == other.__dict__)

    __hash__ = None

    @reprlib.recursive_repr()
    def __repr__(self):
        return (f"FiveParts({self.name!r}, items={self.items!r}, "
                f"mapping={self.mapping!r}, extra={self.extra!r})")


class TaggedList(list):
    """A list subclass with an attribute and a custom ``__reduce__``
    (callable, args, state, listitems, None)."""

    def __init__(self, *args, tag=None):
        super().__init__(*args)
        self.tag = tag

    def __reduce__(self):
        return (TaggedList, (), {"tag": self.tag}, iter(self), None)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return _coinductive_eq(
            self, other,
            lambda: list.__eq__(self, other) and
            self.__dict__ == other.__dict__)

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    @reprlib.recursive_repr()
    def __repr__(self):
        return f"TaggedList({list.__repr__(self)}, tag={self.tag!r})"


class TaggedDict(dict):
    """A dict subclass with an attribute and a custom ``__reduce__``
    (callable, args, state, None, dictitems)."""

    def __init__(self, *args, label=None, **kw):
        super().__init__(*args, **kw)
        self.label = label

    def __reduce__(self):
        return (TaggedDict, (), {"label": self.label}, None,
                iter(self.items()))

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return _coinductive_eq(
            self, other,
            lambda: dict.__eq__(self, other) and
            self.__dict__ == other.__dict__)

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    @reprlib.recursive_repr()
    def __repr__(self):
        return f"TaggedDict({dict.__repr__(self)}, label={self.label!r})"


class PlainListSub(list):
    """A list subclass with an attribute and the *default* reduction
    (p2+: copyreg.__newobj__ -> NEWOBJ, state, listitems)."""

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return _coinductive_eq(
            self, other,
            lambda: list.__eq__(self, other) and
            self.__dict__ == other.__dict__)

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    @reprlib.recursive_repr()
    def __repr__(self):
        return f"PlainListSub({list.__repr__(self)}, {self.__dict__!r})"


class PlainDictSub(dict):
    """A dict subclass with an attribute and the default reduction."""

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return _coinductive_eq(
            self, other,
            lambda: dict.__eq__(self, other) and
            self.__dict__ == other.__dict__)

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    @reprlib.recursive_repr()
    def __repr__(self):
        return f"PlainDictSub({dict.__repr__(self)}, {self.__dict__!r})"


def _rebuild_with_reduce_ex(value):
    """Module-level reconstructor used by ``WithReduceEx`` at p0/p1."""
    return WithReduceEx(value)


class WithReduceEx(_StateEq):
    """``__reduce_ex__`` that depends on the protocol: p0/p1 call a module
    level function; p2+ use ``copyreg.__newobj__`` (-> NEWOBJ) plus a state
    dict (-> BUILD)."""

    def __init__(self, value):
        self.value = value

    def __reduce_ex__(self, protocol):
        import copyreg
        if protocol >= 2:
            return (copyreg.__newobj__, (type(self),), dict(self.__dict__))
        return (_rebuild_with_reduce_ex, (self.value,))


class WithNewArgs(_StateEq):
    """``__new__`` needs arguments, supplied by ``__getnewargs__``
    (p2+: NEWOBJ with a non-empty args tuple)."""

    def __new__(cls, x, y):
        self = super().__new__(cls)
        self.x = x
        self.y = y
        return self

    def __getnewargs__(self):
        return (self.x, self.y)


class WithNewArgsEx(_StateEq):
    """``__new__`` with a keyword-only argument, supplied by
    ``__getnewargs_ex__`` (p4+: NEWOBJ_EX; p2/p3: functools.partial REDUCE)."""

    def __new__(cls, a, *, key):
        self = super().__new__(cls)
        self.a = a
        self.key = key
        return self

    def __getnewargs_ex__(self):
        return ((self.a,), {"key": self.key})


class Color(enum.Enum):
    RED = 1
    GREEN = 2
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 1000


class Perm(enum.IntFlag):
    R = 4
    W = 2
    X = 1


Point = collections.namedtuple("Point", ["x", "y"])
Point3 = collections.namedtuple("Point3", "x y z", defaults=(0,))


class Node(_StateEq):
    """Graph node used for cycles through objects (``o.me = o``)."""

    def __init__(self, label):
        self.label = label
        self.me = None
        self.children = []


class Key:
    """Hashable value object, usable in sets and as dict keys.  The hash
    depends only on an int, so set order does not depend on the hash seed."""

    def __init__(self, k):
        self.k = k

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.k == other.k

    def __hash__(self):
        return hash(self.k)

    def __repr__(self):
        return f"Key({self.k!r})"


class HNode:
    """Hashable node for a cycle through a set/frozenset: ``n.s = {n}``.
    The hash is a constant: when unpickling, the node is added to the set
    before BUILD has restored its attributes."""

    def __init__(self, label):
        self.label = label
        self.s = None

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return _coinductive_eq(self, other,
                               lambda: self.__dict__ == other.__dict__)

    def __hash__(self):
        return 0

    @reprlib.recursive_repr()
    def __repr__(self):
        return f"HNode({self.label!r}, s={self.s!r})"


# --------------------------------------------------------------------------
# Catalog
# --------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _ascii_str(n):
    return (_LETTERS * (n // len(_LETTERS) + 1))[:n]


def _pattern_bytes(n):
    # Mostly printable ASCII, with every byte value present once per 1024
    # bytes, so the p0-p2 latin-1 path and escaping are exercised without
    # making the fixtures huge.
    block = bytes(range(256)) + (_LETTERS.encode() * 13)[:768]
    return (block * (n // len(block) + 1))[:n]


def _int_catalog():
    ints = [
        ("int_0", 0), ("int_1", 1), ("int_255", 255), ("int_256", 256),
        ("int_65535", 65535), ("int_65536", 65536), ("int_m1", -1),
        ("int_m256", -256),
        ("int_m2_31", -2**31), ("int_2_31_m1", 2**31 - 1),
        ("int_2_31", 2**31), ("int_m2_31_m1", -2**31 - 1),
        ("int_2_32", 2**32),
        ("int_2_63_m1", 2**63 - 1), ("int_2_63", 2**63),
        ("int_m2_63", -2**63), ("int_m2_63_m1", -2**63 - 1),
        ("int_2_64", 2**64), ("int_2_64_m1", 2**64 - 1),
        # LONG1 holds at most 255 bytes of two's complement; 2**2039 - 1 is
        # the largest positive value that fits, 2**2039 needs 256 (LONG4).
        ("int_long1_255_bytes", 2**2039 - 1),
        ("int_long1_255_bytes_neg", -2**2039),
        ("int_long4_256_bytes", 2**2039),
        ("int_long4_256_bytes_neg", -2**2039 - 1),
        ("int_3000_bits", 2**2999 + 0x123456789ABCDEF),
        ("int_3000_bits_neg", -(2**2999) - 987654321),
        ("bool_true", True), ("bool_false", False), ("none", None),
    ]
    return ints


def _float_catalog():
    return [
        ("float_0", 0.0), ("float_neg_0", -0.0), ("float_1_5", 1.5),
        ("float_neg_1_5", -1.5), ("float_1e100", 1e100),
        ("float_5e_324", 5e-324), ("float_inf", float("inf")),
        ("float_neg_inf", float("-inf")), ("float_nan", float("nan")),
        ("float_1e16", 1e16), ("float_1e15", 1e15), ("float_0_1", 0.1),
        ("float_123456789_125", 123456789.125), ("float_1e_5", 1e-5),
        ("float_1e_4", 1e-4), ("float_max", 1.7976931348623157e308),
        ("float_min_normal", 2.2250738585072014e-308),
        ("float_100", 100.0), ("float_1e22", 1e22),
        ("float_2_53", 9007199254740992.0),
    ]


def _str_catalog():
    return [
        ("str_empty", ""), ("str_a", "a"),
        ("str_255", _ascii_str(255)), ("str_256", _ascii_str(256)),
        # UTF-8 byte length (not char count) decides SHORT_BINUNICODE.
        ("str_255_utf8_bytes", "\u00e9" * 127 + "a"),
        ("str_256_utf8_bytes", "\u00e9" * 128),
        ("str_65535", _ascii_str(65535)), ("str_65536", _ascii_str(65536)),
        ("str_70000", _ascii_str(70000)),
        # 32768 chars but 65536 UTF-8 bytes: the large-object frame rule
        # counts encoded bytes.
        ("str_e_acute_32768", "\u00e9" * 32768),
        ("str_hello_accent", "h\u00e9llo"),
        ("str_cjk", "\u65e5\u672c\u8a9e"),
        ("str_emoji", "\U0001f600"),
        ("str_latin1_all", "".join(map(chr, range(256)))),
        ("str_u0100", "\u0100"),
        ("str_lone_surrogate", "\ud800"),
        ("str_surrogate_inside", "a\udfffb"),
        ("str_surrogate_pair_chars", "\ud83d\ude00"),   # two lone halves
        ("str_backslash", "\\"), ("str_newline", "\n"), ("str_cr", "\r"),
        ("str_crlf", "\r\n"), ("str_nul", "\x00"), ("str_ctrl_z", "\x1a"),
        ("str_escapes_mixed", "a\\b\nc\rd\x00e\x1af\\u0041\\U0001F600g"),
        ("str_backslash_u", "\\u1234"),
        ("str_quote_chars", "it's \"quoted\""),
        ("str_del_and_c1", "\x7f\x80\x9f\xa0\xff"),
    ]


def _bytes_catalog():
    return [
        ("bytes_empty", b""), ("bytes_00ff", b"\x00\xff"),
        ("bytes_hello", b"hello"),
        ("bytes_255", _pattern_bytes(255)), ("bytes_256", bytes(range(256))),
        ("bytes_65535", _pattern_bytes(65535)),
        ("bytes_65536", _pattern_bytes(65536)),
        ("bytes_100000", _pattern_bytes(100000)),
        ("bytearray_empty", bytearray()),
        ("bytearray_small", bytearray(b"abc\x00\xff")),
        ("bytearray_70000", bytearray(_pattern_bytes(70000))),
        ("picklebuffer_bytes", pickle.PickleBuffer(b"read-only buffer")),
        ("picklebuffer_bytearray",
         pickle.PickleBuffer(bytearray(b"writable buffer"))),
    ]


def _container_catalog():
    out = [
        ("tuple_0", ()), ("tuple_1", (1,)), ("tuple_2", (1, 2)),
        ("tuple_3", (1, 2, 3)), ("tuple_4", (1, 2, 3, 4)),
        ("tuple_nested_empty", ((), ((),), ())),
        ("list_empty", []), ("list_1", [1]),
        ("list_mixed", [1, "a", 2.5, None, True, False, b"x", -7, 2**70]),
    ]
    for n in (999, 1000, 1001, 2500):
        out.append((f"list_{n}", list(range(n))))
    out += [
        ("dict_empty", {}), ("dict_1", {"a": 1}),
        ("dict_2", {"a": 1, "b": [2, 3]}),
        ("dict_1000", {i: -i for i in range(1000)}),
        ("dict_1001", {f"k{i}": i for i in range(1001)}),
        ("set_empty", set()), ("set_123", {1, 2, 3}),
        ("set_1000", set(range(1000))), ("set_1001", set(range(1001))),
        ("set_str", {"apple", "banana", "cherry"}),
        ("set_mixed", {1, "one", (1, 2), None, 2.5, b"b", frozenset({3})}),
        ("frozenset_empty", frozenset()), ("frozenset_12", frozenset({1, 2})),
        ("frozenset_1001", frozenset(range(1001))),
        ("dict_mixed_keys", {
            1: "int", (1, 2): "tuple", frozenset({1, 2}): "frozenset",
            b"k": "bytes", None: "none", 2.5: "float", "s": "str",
            -3: "negative", (): "empty tuple", "": "empty str",
        }),
        ("dict_insertion_order", {"z": 1, "a": 2, "m": 3, 10: 4, 2: 5}),
        ("nested_containers", {
            "list": [1, (2, 3), {"inner": {4, 5}}, [], [[], [[]]]],
            "tuple": ((1,), (2, (3, (4,)))),
            "frozen": frozenset({(1, 2), (3, 4)}),
            "dicts": [{"a": {}}, {"b": {"c": {"d": None}}}],
            "empty": ((), [], {}, set(), frozenset(), "", b""),
        }),
        ("list_of_tuples", [(i, str(i)) for i in range(20)]),
        ("tuple_of_lists", ([1], [2, 3], [])),
    ]
    deep = []
    cur = deep
    for i in range(50):
        nxt = [i]
        cur.append(nxt)
        cur = nxt
    out.append(("nested_list_depth_50", deep))
    return out


def _sharing_and_cycles():
    out = []
    s = "shared"
    out.append(("shared_str", [s, s]))
    s300 = _ascii_str(300)
    out.append(("shared_long_str", [s300, (s300,), {"k": s300}]))
    lst = [1]
    out.append(("shared_list", [lst, lst, (lst,)]))
    d = {"x": 1}
    out.append(("shared_dict", {"first": d, "second": d}))
    t = (1, 2)
    out.append(("shared_tuple", [t, t, [t]]))
    b = b"shared bytes"
    out.append(("shared_bytes", [b, b]))
    ba = bytearray(b"shared bytearray")
    out.append(("shared_bytearray", [ba, ba]))
    fs = frozenset({1, 2})
    out.append(("shared_frozenset", [fs, {"k": fs}, fs]))
    st = {7, 8}
    out.append(("shared_set", (st, st)))

    self_list = []
    self_list.append(self_list)
    out.append(("cycle_list", self_list))

    self_list2 = [1, 2]
    self_list2.insert(1, self_list2)
    out.append(("cycle_list_middle", self_list2))

    self_dict = {}
    self_dict["self"] = self_dict
    out.append(("cycle_dict", self_dict))

    l1 = []
    t1 = (l1,)
    l1.append(t1)
    out.append(("cycle_list_tuple", l1))

    l2 = []
    t2 = (l2,)
    l2.append(t2)
    out.append(("cycle_tuple_list", t2))     # recursive tuple: POP/POP_MARK

    l3 = []
    t3 = (1, 2, 3, 4, l3)                    # MARK...TUPLE recursive tuple
    l3.append(t3)
    out.append(("cycle_tuple4_list", t3))

    d2 = {}
    t4 = (d2, "x")
    d2["t"] = t4
    out.append(("cycle_tuple_dict", t4))

    n = Node("self")
    n.me = n
    out.append(("cycle_object", n))

    parent = Node("parent")
    c1 = Node("c1")
    c2 = Node("c2")
    c1.me = parent
    c2.me = parent
    parent.children = [c1, c2, c1]
    out.append(("cycle_object_tree", parent))

    hn = HNode("h")
    hn.s = {hn}
    out.append(("cycle_through_set", hn))

    hf = HNode("f")
    hf.s = frozenset({hf})
    out.append(("cycle_through_frozenset", hf))
    return out


def _instances():
    out = []
    out.append(("plain_instance", Plain(1, "two", c=[3.0])))
    out.append(("plain_instance_nested", Plain(Plain(1), {"k": Plain(b=2)})))
    out.append(("plain_instance_empty_dict", Plain.__new__(Plain)))
    out.append(("list_of_plain_instances",
                [Plain(i, str(i)) for i in range(5)]))
    out.append(("slotted", Slotted(1, "y")))
    out.append(("slotted_partial", Slotted(x=[1, 2])))
    sd = SlottedWithDict(1, 2)
    sd.extra = "dict attr"
    out.append(("slotted_with_dict", sd))
    out.append(("with_state", WithState("ws", [1, 2, 3])))
    fp = FiveParts("five")
    fp.extend([1, "two", 3.0])
    fp["k1"] = "v1"
    fp[2] = (2,)
    fp.extra = {"nested": [1]}
    out.append(("five_parts", fp))
    fp1 = FiveParts("one-each")
    fp1.append("only")
    fp1["only"] = 1
    out.append(("five_parts_single_items", fp1))
    out.append(("five_parts_empty", FiveParts("empty")))
    out.append(("tagged_list", TaggedList([1, 2, 3], tag="tag")))
    out.append(("tagged_dict", TaggedDict({"a": 1, "b": 2}, label="lbl")))
    pls = PlainListSub([1, 2])
    pls.attr = "list attr"
    out.append(("list_subclass_default_reduce", pls))
    pds = PlainDictSub({"a": 1})
    pds.attr = "dict attr"
    out.append(("dict_subclass_default_reduce", pds))
    out.append(("with_reduce_ex", WithReduceEx([1, 2])))
    out.append(("with_newargs", WithNewArgs(1, "y")))
    out.append(("with_newargs_ex", WithNewArgsEx("a", key=42)))
    out.append(("enum_color_red", Color.RED))
    out.append(("enum_color_blue", Color.BLUE))
    out.append(("enum_list", [Color.RED, Color.GREEN, Color.RED]))
    out.append(("intenum_high", Level.HIGH))
    out.append(("intflag_rw", Perm.R | Perm.W))
    out.append(("namedtuple_point", Point(1, 2)))
    out.append(("namedtuple_nested", Point3(Point(1, 2), [Point(3, 4)])))
    out.append(("key_set", {Key(1), Key(2), Key(3)}))
    out.append(("key_dict", {Key(1): "one", Key(2): "two"}))
    out.append(("bare_object", object()))
    return out


def _numpy_catalog():
    """numpy arrays; empty if numpy is not installed (the fixtures are
    generated with numpy, so the oracle then reports those as missing)."""
    try:
        import numpy as np
    except ImportError:
        return []
    return [
        ("numpy_int64_1d", np.arange(10, dtype=np.int64)),
        ("numpy_float64_2d", np.arange(12, dtype=np.float64).reshape(3, 4)
         / 4),
        ("numpy_0d", np.array(3.5)),
        ("numpy_bool", np.array([True, False, True])),
        ("numpy_fortran", np.asfortranarray(
            np.arange(6, dtype=np.int32).reshape(2, 3))),
        ("numpy_structured", np.array([(1, 2.5), (3, -1.0)],
                                      dtype=[("a", "<i4"), ("b", "<f8")])),
        ("numpy_scalar_float64", np.float64(2.25)),
    ]


def _stdlib():
    utc = datetime.timezone.utc
    ist = datetime.timezone(datetime.timedelta(hours=5, minutes=30), "IST")
    dd = collections.defaultdict(list)
    dd["a"].append(1)
    dd["b"].extend([2, 3])
    out = [
        ("date", datetime.date(2024, 2, 29)),
        ("time", datetime.time(13, 14, 15, 161718)),
        ("time_utc", datetime.time(1, 2, 3, tzinfo=utc)),
        ("datetime_naive", datetime.datetime(2001, 2, 3, 4, 5, 6, 789)),
        ("datetime_utc", datetime.datetime(2021, 12, 31, 23, 59, 59,
                                           tzinfo=utc)),
        ("datetime_ist", datetime.datetime(1999, 1, 1, tzinfo=ist)),
        ("timedelta", datetime.timedelta(days=-1, seconds=5,
                                         microseconds=7)),
        ("decimal_3_14", decimal.Decimal("3.14")),
        ("decimal_nan", decimal.Decimal("-NaN")),
        ("fraction_3_4", fractions.Fraction(3, 4)),
        ("ordered_dict", collections.OrderedDict([("b", 1), ("a", 2)])),
        ("deque", collections.deque([1, 2, 3])),
        ("deque_maxlen", collections.deque([1, 2], maxlen=5)),
        ("counter", collections.Counter("abracadabra")),
        ("defaultdict_list", dd),
        ("complex_1_2", complex(1, 2)),
        ("range_10", range(10)),
        ("range_step", range(1, 20, 3)),
        ("slice", slice(1, None, 2)),
        ("ellipsis", ...),
        ("notimplemented", NotImplemented),
        ("type_none", type(None)),
        ("builtin_len", len),
        ("builtin_int", int),
        ("class_ordereddict", collections.OrderedDict),
        ("class_fixture_plain", Plain),
        ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ]
    return out


def _records():
    return [{"id": i, "name": f"user{i}", "score": i * 0.5, "tags": ["a", "b"]}
            for i in range(100)]


def catalog():
    """Return a fresh list of (name, object) pairs.  Deterministic."""
    out = []
    out += _int_catalog()
    out += _float_catalog()
    out += _str_catalog()
    out += _bytes_catalog()
    out += _container_catalog()
    out += _sharing_and_cycles()
    out += _instances()
    out += _stdlib()
    out += _numpy_catalog()
    out.append(("records_100", _records()))
    names = [n for n, _ in out]
    assert len(names) == len(set(names)), "duplicate catalog names"
    import re
    assert all(re.fullmatch(r"[a-z0-9_]+", n) for n in names), names
    return out


# --------------------------------------------------------------------------
# Structural equality
# --------------------------------------------------------------------------

_sorting = set()   # ids of sets whose elements are being sorted


def _canonical_dumps(obj):
    f = io.BytesIO()
    _CanonicalPickler(f, 4).dump(obj)
    return f.getvalue()


class _CanonicalPickler(pickle._Pickler):
    """Pure-Python protocol-4 pickler that writes set and frozenset
    elements in a canonical order (sorted by their own canonical pickle),
    so that equal sets with different iteration orders pickle identically.
    Everything else -- memo sharing, cycles, float bits -- is as in
    ``pickle.dumps(obj, 4)``."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_str(self, obj):
        # str is compared by value: its identity is not preserved even by
        # CPython's own round trip (BUILD interns attribute names, so a value
        # that was the same object as an attribute name comes back as a
        # different object).  So str is never memoized here.
        encoded = obj.encode("utf-8", "surrogatepass")
        self.write(pickle.BINUNICODE8 + struct.pack("<Q", len(encoded)) +
                   encoded)

    dispatch[str] = save_str

    def _sorted_items(self, obj):
        if id(obj) in _sorting:          # element refers back to this set
            return list(obj)
        _sorting.add(id(obj))
        try:
            keyed = []
            for item in obj:
                try:
                    k = _canonical_dumps(item)
                except Exception:
                    k = repr(item).encode("utf-8", "surrogatepass")
                keyed.append((k, item))
            keyed.sort(key=lambda kv: kv[0])
            return [item for _, item in keyed]
        finally:
            _sorting.discard(id(obj))

    def save_set(self, obj):
        write = self.write
        write(pickle.EMPTY_SET)
        self.memoize(obj)
        items = self._sorted_items(obj)
        for i in range(0, len(items), self._BATCHSIZE):
            write(pickle.MARK)
            for item in items[i:i + self._BATCHSIZE]:
                self.save(item)
            write(pickle.ADDITEMS)

    dispatch[set] = save_set

    def save_frozenset(self, obj):
        write = self.write
        write(pickle.MARK)
        for item in self._sorted_items(obj):
            self.save(item)
        if id(obj) in self.memo:
            write(pickle.POP_MARK + self.get(self.memo[id(obj)][0]))
            return
        write(pickle.FROZENSET)
        self.memoize(obj)

    dispatch[frozenset] = save_frozenset


def _unwrap(x):
    """A PickleBuffer is pickled in-band as bytes (read-only) or bytearray
    (writable); compare it as such."""
    if isinstance(x, pickle.PickleBuffer):
        m = memoryview(x)
        return bytes(m) if m.readonly else bytearray(m)
    return x


def structurally_equal(a, b):
    """Deep, identity-shape-aware equality.

    Two values are equal when their canonical protocol-4 pickles are equal:
    this distinguishes -0.0 from 0.0, True from 1, 1 from 1.0, compares nan
    bit patterns, handles cycles, and requires the same sharing structure
    (if a[0] is a[1] then b[0] is b[1]) for every memoizable object except
    str, which is compared by value (see _CanonicalPickler.save_str).  Sets
    and frozensets are compared independently of iteration order.
    Falls back to ``==`` only when neither value can be pickled."""
    a = _unwrap(a)
    b = _unwrap(b)
    try:
        if pickle.dumps(a, 4) == pickle.dumps(b, 4):
            return True
    except Exception:
        pass
    try:
        ca = _canonical_dumps(a)
    except Exception:
        ca = None
    try:
        cb = _canonical_dumps(b)
    except Exception:
        cb = None
    if ca is not None or cb is not None:
        return ca == cb
    try:
        return bool(a == b)
    except Exception:
        return False
