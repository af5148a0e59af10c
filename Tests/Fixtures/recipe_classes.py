"""Classes that notice how they are rebuilt, for the conversion-fidelity test.

Every hook CPython's unpickler can call (``__new__``, ``__init__``, ``__setstate__``, ``__getinitargs__``'s
effect through ``_instantiate``, ``append``/``extend``/``__setitem__`` of container subclasses, and module
level factories named by ``__reduce_ex__``) appends an event to ``CALLS``. Loading a pickle and loading its
conversion must leave the same events and build the same objects: that is what "conversion never changes
which Python code runs" means, checked by recipes.py.
"""

import copyreg

CALLS = []


def log(*event):
    CALLS.append(event)


class Described:
    """A repr without addresses: events that log objects compare equal across loads."""

    def __repr__(self):
        state = getattr(self, "__dict__", {})
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in sorted(state.items()))})"


class Plain(Described):
    """No hooks: protocols 0-1 write copyreg._reconstructor(cls, object, None), 2+ write NEWOBJ."""

    def __init__(self, a=1):
        self.a = a


class KeywordOnlyNew(Described):
    """A __new__ that needs a keyword-only argument: object.__new__(cls) works, cls.__new__(cls) fails."""

    def __new__(cls, *args, flag):
        log("KeywordOnlyNew.__new__", cls.__name__, args, flag)
        return super().__new__(cls)

    def __init__(self, *args, flag):
        self.args = args
        self.flag = flag

    def __getnewargs_ex__(self):
        return (self.args, {"flag": self.flag})


class NoisyNew(Described):
    """A __new__ without required arguments that logs: called by NEWOBJ, never by _reconstructor."""

    def __new__(cls, *args):
        log("NoisyNew.__new__", cls.__name__, args)
        return super().__new__(cls)

    def __init__(self, value=0):
        self.value = value

    def __getnewargs__(self):
        return (self.value,)


class InitNeedsArgument(Described):
    """pickletester's classic class D: __init__ takes an argument, and INST without arguments must not call it."""

    def __init__(self, arg):
        log("InitNeedsArgument.__init__", arg)
        self.arg = arg


class WithInitArgs(Described):
    """pickletester's classic class E: __getinitargs__ makes INST/OBJ call the class, so __init__ runs."""

    def __init__(self, *args):
        log("WithInitArgs.__init__", args)
        self.args = args

    def __getinitargs__(self):
        return self.args


class WithSetState(Described):
    """BUILD calls __setstate__ with the state as the stream has it."""

    def __init__(self, n=0):
        self.n = n

    def __getstate__(self):
        return {"n": self.n, "extra": [self.n, "x"]}

    def __setstate__(self, state):
        log("WithSetState.__setstate__", repr(state))
        self.n = state["n"]
        self.extra = state["extra"]


class Slotted:
    """State as (None, slots) through the default BUILD."""

    __slots__ = ("x", "y")

    def __init__(self, x=0, y=0):
        self.x = x
        self.y = y

    def __getstate__(self):
        return (None, {"x": self.x, "y": self.y})


class LoggingList(list):
    """A list subclass: the unpickler calls append/extend on it."""

    def append(self, item):
        log("LoggingList.append", repr(item))
        super().append(item)

    def extend(self, items):
        items = list(items)
        log("LoggingList.extend", *("<self>" if item is self else repr(item) for item in items))
        super().extend(items)


class LoggingDict(dict):
    """A dict subclass: the unpickler calls __setitem__ on it."""

    def __setitem__(self, key, value):
        log("LoggingDict.__setitem__", repr(key), repr(value))
        super().__setitem__(key, value)


def make_reduced(protocol, payload):
    log("make_reduced", protocol, repr(payload))
    return ReducedByFactory(protocol, payload)


class ReducedByFactory(Described):
    """A __reduce_ex__ that notices the protocol and names a module-level factory, with state and items."""

    def __init__(self, protocol, payload):
        self.protocol = protocol
        self.payload = payload

    def __reduce_ex__(self, protocol):
        return (make_reduced, (protocol, self.payload), {"seen": protocol})

    def __setstate__(self, state):
        log("ReducedByFactory.__setstate__", repr(state))
        self.seen = state["seen"]


class ReducedWithNewObj(Described):
    """A __reduce_ex__ that returns copyreg.__newobj__ at every protocol, so protocols 0-1 carry it as REDUCE."""

    def __new__(cls, *args):
        log("ReducedWithNewObj.__new__", cls.__name__, args)
        return super().__new__(cls)

    def __init__(self, tag="t"):
        self.tag = tag

    def __reduce_ex__(self, protocol):
        return (copyreg.__newobj__, (type(self), self.tag), {"tag": self.tag})


class Outer:
    """Holds a nested class: protocols 4+ name it 'Outer.Inner', 2-3 write getattr(Outer, 'Inner')."""

    class Inner(Described):
        def __init__(self, v=0):
            self.v = v
