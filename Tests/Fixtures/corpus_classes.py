"""Classes of the real-world corpus (Tests/Fixtures/corpus.py): importable by name, so that CPython can load
the corpus pickles and their conversions, and comparable by value, so that two loads can be compared.

Importing this module registers the copyreg extension codes the corpus uses (EXTENSIONS), as a program that
pickles with `copyreg.add_extension` must do before loading too.
"""

import collections
import copyreg
import enum


class Classic:
    """Stands for a Python 2 classic class: its pickles were INST at protocol 0 and OBJ at 1 and 2, with the
    instance dict as BUILD state. `__init__` takes arguments, so INST/OBJ with arguments call it."""

    def __init__(self, *args):
        self.args = args

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    __hash__ = None


class ClassicNoInit:
    """A classic instance built without arguments: `_instantiate` calls `cls()` here (no `__getinitargs__`
    and no arguments: `cls.__new__(cls)`), then BUILD sets the dict."""

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    __hash__ = None


class NewStyle:
    """A Python 2 new-style instance: copy_reg._reconstructor at protocols 0 and 1, NEWOBJ at 2."""

    def __init__(self, value=None):
        self.value = value

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    __hash__ = None


class Node:
    """A node that can refer to itself (recursive object graphs)."""

    def __init__(self, name):
        self.name = name
        self.children = []
        self.parent = None


class ExtSmall:
    """Registered with a one-byte extension code: EXT1 at protocols 2-5."""

    def __init__(self, value=0):
        self.value = value

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    __hash__ = None


class ExtMedium(ExtSmall):
    """Registered with a two-byte extension code: EXT2."""


class ExtLarge(ExtSmall):
    """Registered with a four-byte extension code: EXT4."""


def ext_factory(*args):
    """A registered function: REDUCE of an EXT-coded callable."""
    return ("made", args)


EXTENSIONS = {
    0x42: ("corpus_classes", "ExtSmall"),
    0x1234: ("corpus_classes", "ExtMedium"),
    0x12345678: ("corpus_classes", "ExtLarge"),
    0x7F: ("corpus_classes", "ext_factory"),
}

for _code, (_module, _name) in EXTENSIONS.items():
    if copyreg._extension_registry.get((_module, _name)) != _code:
        copyreg.add_extension(_module, _name, _code)


Point = collections.namedtuple("Point", "x y")


class Color(enum.Enum):
    RED = 1
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 10


class Permission(enum.Flag):
    READ = 1
    WRITE = 2
    EXECUTE = 4
