#!/usr/bin/env python3
"""The test corpus of `pickletool scan`, the static pickle safety scanner: benign files it must pass and
malicious files it must flag, in every container it reads.

    python3 Tests/Fixtures/scan_corpus.py OUTDIR

writes OUTDIR/benign/*, OUTDIR/malicious/* and OUTDIR/manifest.json, the same bytes on every run (fixed
seeds, no set of strings, zip entries dated 1980-01-01). manifest.json is a list, one object per file:

    {"file":        path relative to OUTDIR, e.g. "malicious/stack-global-memo-binget-p4.pkl",
     "kind":        "benign" | "malicious",
     "family":      short id of what the file exercises, e.g. "reduce-os-system",
     "description": one sentence,
     "profile":     "data" | "stdlib" | "numpy" | "torch": for a benign file, the most restrictive built-in
                    allow-list profile under which it must be judged safe (data < stdlib < numpy; torch
                    stands apart); for a malicious file, the profile to scan it with: "torch" for
                    checkpoints, otherwise "numpy", the widest, under which it must still be dangerous,
     "container":   "pickle" | "concatenated" | "zip-torch" | "npy" | "npz" | "zstd" | "nested" | "joblib",
     "globals":     every "module.qualname" CPython's Unpickler asks find_class for, in order, written as
                    the stream spells it (before fix_imports maps `__builtin__`, `copy_reg`, `commands` to
                    their Python 3 names); for archives, compressed files and pickles inside bytes values,
                    the globals of the inner pickles, in reading order,
     "dangerous":   (malicious files only) the globals among them that are dangerous, in the same order}

How "globals" is found: a pickle.Unpickler subclass loads each stream, its find_class appending (module,
name) and returning a stand-in class (calling, constructing or setting state on it does nothing), so
loading runs to the end without anything real being reached. joblib files go through the same recorder
built on pickle._Unpickler, reading array data after each NumpyArrayWrapper the way joblib's unpickler
does. Every name is also checked to exist in CPython 3.11 (its module imported, the qualname walked as
find_class walks it), without being called.

Nothing here ever unpickles a malicious file for real, and every payload is harmless even if someone did:
`true` is the only command run, eval'd code is `1+1` or `pass`, files are opened on /dev/null, the tree
removed is /nonexistent-scan-corpus.

Each pickle stream is also parsed with pickletools (dis for one pickle, genops for concatenated streams and
trailing opcodes) so that a broken stream cannot pass for an evasive one. Needs CPython 3.11, the project's oracle (the names
are checked against it; imp.load_source is gone in 3.12), and numpy; the zstd files need `backports.zstd` or
the `zstd` CLI and are skipped with a warning when neither exists.
"""

import _compat_pickle
import codecs
import collections
import ctypes
import datetime
import decimal
import fractions
import functools
import importlib
import io
import json
import marshal
import operator
import os
import pickle
import pickletools
import pkgutil
import pty
import runpy
import shutil
import socket
import struct
import subprocess
import sys
import types
import uuid
import warnings
import webbrowser
import zipfile

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_layout as tl  # noqa: E402  (registers the stand-in torch modules)

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
NUMPY_PICKLE = 'joblib.numpy_pickle'

# The names each profile must accept for the benign files of this corpus (a lower bound: a profile may
# accept more). Protocols 0-2 spell builtins `__builtin__` and copyreg `copy_reg`, and write bytes as
# _codecs.encode(str, 'latin1') (b'' as builtins.bytes()); protocols 0-3 write sets, frozensets and bytearrays as calls.
_BUILTIN_TYPES = ['set', 'frozenset', 'bytes', 'bytearray', 'complex', 'list', 'object']
STDLIB = {f'{m}.{n}' for m in ('builtins', '__builtin__') for n in _BUILTIN_TYPES} | {
    '_codecs.encode', 'copyreg._reconstructor', 'copy_reg._reconstructor',
    'datetime.datetime', 'datetime.date', 'datetime.time', 'datetime.timedelta', 'datetime.timezone',
    'decimal.Decimal', 'fractions.Fraction', 'uuid.UUID',
    'collections.OrderedDict', 'collections.deque', 'collections.Counter', 'collections.defaultdict',
}
NUMPY = STDLIB | {f'numpy.{core}.{name}' for core in ('_core.multiarray', 'core.multiarray') for name in ('_reconstruct', 'scalar')} | {
    'numpy.ndarray', 'numpy.dtype', 'numpy._core.numeric._frombuffer',
}
TORCH = {'collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter'} | {
    'torch.' + name for name in tl.STORAGE_TYPES.values()}
PROFILES = {'data': set(), 'stdlib': STDLIB, 'numpy': NUMPY, 'torch': TORCH}

# Every global of the malicious files that is itself the danger (code execution, processes, files, the
# network, native code, unrestricted imports or attribute access, nested unpickling, callable factories).
DANGEROUS = {
    'os.system', 'posix.system', 'subprocess.Popen', 'subprocess.check_output', 'commands.Popen',
    'builtins.eval', 'builtins.exec', 'builtins.getattr', 'builtins.__import__', '__builtin__.eval',
    '__builtin__.compile', '__builtin__.getattr', '__builtin__.__import__',
    'pkgutil.resolve_name', 'importlib.import_module', 'operator.methodcaller', 'operator.attrgetter',
    'functools.partial', 'random._os.system', 'builtins.eval.__self__.exec', 'pickle.loads', '_pickle.loads',
    'runpy._run_code', 'pty.spawn', 'socket.socket', 'shutil.rmtree', 'webbrowser.open', 'ctypes.CDLL',
    'marshal.loads', 'types.FunctionType', 'types.CodeType', 'io.open', 'codecs.open', 'imp.load_source',
}


# ---------------------------------------------------------------------------------------------------------
# Writing calls without making them


class Call:
    """Pickles as func(*args): pickle writes func by reference (GLOBAL/STACK_GLOBAL) and REDUCE, and nothing
    is called while pickling."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args

    def __call__(self, *args):
        # pickle insists that the first item of a reduce tuple be callable, and a Call is one when it
        # stands for a call's result that is itself called: getattr(os, 'system')('true').
        raise TypeError('a Call is pickled, never made')


class G:
    """A global named by hand, for Asm, where pickle.dumps could not write it (types.FunctionType pickles as
    builtins.function, which does not exist; dotted qualnames)."""

    def __init__(self, module, name):
        self.module, self.name = module, name


SYSTEM = Call(os.system, 'true')  # pickle.dumps writes posix.system('true')
SYSTEM_G = Call(G('posix', 'system'), 'true')  # the same for Asm


class Asm:
    """A pickle written opcode by opcode, for the streams pickle.dumps never writes: memo indirection, INST,
    OBJ, NEWOBJ_EX on a class of our choosing, POP, dotted STACK_GLOBAL names, missing STOP. Values are
    written the way CPython's pickler writes them at this protocol (text opcodes at 0)."""

    def __init__(self, protocol, framed=False):
        self.protocol, self.framed = protocol, framed
        self.body = bytearray()

    def raw(self, *parts):
        for part in parts:
            self.body += part
        return self

    def str(self, s):
        data = s.encode('utf-8', 'surrogatepass')
        if self.protocol == 0:
            return self.raw(pickle.UNICODE, s.encode('raw-unicode-escape'), b'\n')
        if self.protocol >= 4 and len(data) < 256:
            return self.raw(pickle.SHORT_BINUNICODE, bytes([len(data)]), data)
        return self.raw(pickle.BINUNICODE, struct.pack('<I', len(data)), data)

    def glob(self, module, name):
        if self.protocol >= 4:
            return self.str(module).str(name).raw(pickle.STACK_GLOBAL)
        return self.raw(pickle.GLOBAL, f'{module}\n{name}\n'.encode())

    def tuple(self, items):
        if not items:
            return self.raw(pickle.MARK, pickle.TUPLE) if self.protocol == 0 else self.raw(pickle.EMPTY_TUPLE)
        if self.protocol >= 2 and len(items) <= 3:
            for item in items:
                self.value(item)
            return self.raw([pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3][len(items) - 1])
        self.raw(pickle.MARK)
        for item in items:
            self.value(item)
        return self.raw(pickle.TUPLE)

    def value(self, v):
        if isinstance(v, G):
            return self.glob(v.module, v.name)
        if isinstance(v, Call):
            return self.value(v.func).tuple(v.args).raw(pickle.REDUCE)
        if v is None:
            return self.raw(pickle.NONE)
        if isinstance(v, bool):
            if self.protocol >= 2:
                return self.raw(pickle.NEWTRUE if v else pickle.NEWFALSE)
            return self.raw(pickle.TRUE if v else pickle.FALSE)
        if isinstance(v, int):
            if self.protocol == 0:
                return self.raw(b'I%d\n' % v)
            if 0 <= v < 256:
                return self.raw(pickle.BININT1, bytes([v]))
            return self.raw(pickle.BININT, struct.pack('<i', v))
        if isinstance(v, str):
            return self.str(v)
        if isinstance(v, bytes):
            assert self.protocol >= 3, 'bytes before protocol 3 are a _codecs.encode call'
            if len(v) < 256:
                return self.raw(pickle.SHORT_BINBYTES, bytes([len(v)]), v)
            return self.raw(pickle.BINBYTES, struct.pack('<I', len(v)), v)
        if isinstance(v, tuple):
            return self.tuple(v)
        if isinstance(v, list):
            if self.protocol == 0:
                self.raw(pickle.MARK)
                for item in v:
                    self.value(item)
                return self.raw(pickle.LIST)
            self.raw(pickle.EMPTY_LIST)
            if v:
                self.raw(pickle.MARK)
                for item in v:
                    self.value(item)
                self.raw(pickle.APPENDS)
            return self
        if isinstance(v, dict):
            if self.protocol >= 1:
                self.raw(pickle.EMPTY_DICT)
                if not v:
                    return self
            self.raw(pickle.MARK)
            for key, item in v.items():
                self.value(key).value(item)
            return self.raw(pickle.DICT if self.protocol == 0 else pickle.SETITEMS)
        raise TypeError(f'Asm cannot write {v!r}')

    def unterminated(self):
        """The stream without STOP."""
        head = pickle.PROTO + bytes([self.protocol]) if self.protocol >= 2 else b''
        if self.framed:
            head += pickle.FRAME + struct.pack('<Q', len(self.body) + 1)  # the frame holds STOP too
        return head + bytes(self.body)

    def stop(self):
        return self.unterminated() + pickle.STOP


def _binput(i):
    return pickle.BINPUT + bytes([i])


def _binget(i):
    return pickle.BINGET + bytes([i])


def _long_binput(i):
    return pickle.LONG_BINPUT + struct.pack('<I', i)


def _long_binget(i):
    return pickle.LONG_BINGET + struct.pack('<I', i)


# ---------------------------------------------------------------------------------------------------------
# Containers


def npy_bytes(array):
    f = io.BytesIO()
    np.lib.format.write_array(f, array, allow_pickle=True)
    return f.getvalue()


def npz_bytes(arrays, compress):
    """numpy.savez / savez_compressed's layout (one <name>.npy entry per array, written through
    ZipFile.open(..., force_zip64=True)), with a fixed date instead of the current time."""
    f = io.BytesIO()
    with zipfile.ZipFile(f, 'w', compress) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(name + '.npy', date_time=FIXED_DATE)
            info.compress_type = compress
            with archive.open(info, 'w', force_zip64=True) as entry:
                np.lib.format.write_array(entry, array, allow_pickle=True)
    return f.getvalue()


def npy_pickle(data):
    """The pickle an .npy file holds after its header, or None for a dtype without objects (raw data)."""
    f = io.BytesIO(data)
    version = np.lib.format.read_magic(f)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    _, _, dtype = read_header(f)
    return f.read() if dtype.hasobject else None


def torch_checkpoint(obj, extra=()):
    """tl.save's archive of obj, plus extra (name, bytes) entries appended the same aligned way."""
    f = io.BytesIO()
    tl.save(obj, f)
    if extra:
        with zipfile.ZipFile(f, 'a') as archive:
            for name, data in extra:
                tl._aligned(archive, name, data)
    return f.getvalue()


def _zstd_codec():
    """(compress, decompress) functions on bytes, or None when neither backports.zstd nor the zstd CLI exists."""
    try:
        from backports import zstd
        return zstd.compress, zstd.decompress
    except ImportError:
        pass
    if shutil.which('zstd'):
        def run(*flags):
            return lambda data: subprocess.run(['zstd', '-q', *flags], input=data, capture_output=True, check=True).stdout
        return run('-c', '-3'), run('-dc')
    return None


ZSTD = _zstd_codec()


class NumpyArrayWrapper:
    """joblib.numpy_pickle.NumpyArrayWrapper as joblib >= 1.2 pickles it: its attributes are the state."""

    def __init__(self, array):
        self.subclass = type(array)
        self.shape = array.shape
        self.order = 'F' if array.flags.f_contiguous and not array.flags.c_contiguous else 'C'
        self.dtype = array.dtype
        self.allow_mmap = not array.dtype.hasobject
        self.numpy_array_alignment_bytes = 16


NumpyArrayWrapper.__module__ = NUMPY_PICKLE
setattr(tl._module('joblib'), 'numpy_pickle', tl._module(NUMPY_PICKLE))
sys.modules[NUMPY_PICKLE].NumpyArrayWrapper = NumpyArrayWrapper


class _JoblibPickler(pickle._Pickler):
    """joblib.dump's NumpyPickler: each ndarray is pickled as a NumpyArrayWrapper, the frame committed, and
    the array's data written straight into the file after the wrapper's BUILD (one padding-length byte,
    0xff padding to a 16-byte boundary, the raw bytes; an object array as a whole protocol 2 pickle). The
    pickle then goes on. `raw` collects (start, end, whether it is a pickle) for every such region."""

    def __init__(self, file):
        super().__init__(file, protocol=4)
        self.file, self.raw = file, []

    def save(self, obj, save_persistent_id=True):
        if type(obj) is not np.ndarray:
            return super().save(obj, save_persistent_id)
        wrapper = NumpyArrayWrapper(obj)
        super().save(wrapper)
        self.framer.commit_frame(force=True)
        start = self.file.tell()
        if obj.dtype.hasobject:
            pickle.dump(obj, self.file, protocol=2)
        else:
            padding = 16 - (start + 1) % 16
            self.file.write(bytes([padding]) + b'\xff' * padding + obj.tobytes(wrapper.order))
        self.raw.append((start, self.file.tell(), obj.dtype.hasobject))


def joblib_bytes(obj):
    """(file bytes, raw regions) of joblib.dump(obj)'s layout."""
    f = io.BytesIO()
    pickler = _JoblibPickler(f)
    pickler.dump(obj)
    return f.getvalue(), pickler.raw


# ---------------------------------------------------------------------------------------------------------
# Recording the globals, parsing the streams


class _StandIn:
    """What the recorder hands the unpickler for every global: constructing it, calling an instance, setting
    its state or items all succeed and do nothing, so loading continues."""

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        self.args = args
        return self

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _StandIn(*args)

    def __setstate__(self, state):
        self.state = state

    def __setitem__(self, key, value):
        pass

    def append(self, item):
        pass

    def extend(self, items):
        pass


def _resolve(module, name):
    """The object CPython 3.11's find_class would return for (module, name), looked up but never returned to
    an unpickler or called: fix_imports' mapping, then the import, then the dotted walk of protocol 4."""
    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
    module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)  # imp, numpy.core: deprecated, still there in 3.11
        obj = importlib.import_module(module)
    for part in name.split('.'):
        obj = getattr(obj, part)
    return obj


def _find_class(names, module, name):
    names.append(f'{module}.{name}')
    _resolve(module, name)
    return type(name.rpartition('.')[2], (_StandIn,), {'qualified': f'{module}.{name}'})


class _Recorder(pickle.Unpickler):
    def __init__(self, file, names):
        super().__init__(file)
        self.names = names

    def find_class(self, module, name):
        return _find_class(self.names, module, name)

    def persistent_load(self, pid):
        return _StandIn(pid)


def record(data, truncated=False):
    """The globals of the pickles of data, loaded one after another as repeated pickle.load calls would.
    truncated: the last one has no STOP (its opcodes run, then the load fails at the end of the data)."""
    names, f = [], io.BytesIO(data)
    while f.tell() < len(data):
        try:
            _Recorder(f, names).load()
        except (pickle.UnpicklingError, EOFError):
            assert truncated and f.tell() == len(data), 'a load failed before the end of the data'
            return names
    assert not truncated, 'the data ends with a STOP'
    return names


class _JoblibRecorder(pickle._Unpickler):
    """joblib.load's NumpyUnpickler as a recorder: after the BUILD of a NumpyArrayWrapper it reads the array
    from the file (an object array through a nested load, which is recorded too)."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, names):
        super().__init__(file)
        self.file, self.names = file, names

    def find_class(self, module, name):
        return _find_class(self.names, module, name)

    def load_build(self):
        pickle._Unpickler.load_build(self)
        wrapper = self.stack[-1]
        if getattr(wrapper, 'qualified', None) == NUMPY_PICKLE + '.NumpyArrayWrapper':
            state = wrapper.state
            dtype = np.dtype(state['dtype'].args[0])  # the type code numpy.dtype's reduce gives, e.g. 'f4', 'O8'
            if dtype.hasobject:
                _Recorder(self.file, self.names).load()
            else:
                padding = self.file.read(1)[0]
                self.file.read(padding + int(np.prod(state['shape'])) * dtype.itemsize)
            self.stack[-1] = _StandIn()

    dispatch[pickle.BUILD[0]] = load_build


def dis_one(data):
    """pickletools.dis over one whole pickle: it must end exactly at the end of data."""
    f = io.BytesIO(data)
    pickletools.dis(f, out=io.StringIO())
    assert f.tell() == len(data), 'bytes after STOP'


def genops_all(data, truncated=False):
    """pickletools.genops over every pickle of data; truncated: the last one must run to the end of the data
    without a STOP."""
    f = io.BytesIO(data)
    while f.tell() < len(data):
        try:
            for _ in pickletools.genops(f):
                pass
        except ValueError as error:
            assert truncated and 'STOP' in str(error) and f.tell() == len(data), error
            return
    assert not truncated


# ---------------------------------------------------------------------------------------------------------
# The corpus


class Corpus:
    def __init__(self, outdir):
        self.outdir, self.entries = outdir, []

    def add(self, kind, family, name, description, data, container='pickle', inner=(), raw=(), truncated=False):
        """Writes one file, parses and records its pickles, and appends its manifest entry.

        container decides where the pickles are: the whole file ('pickle'), every pickle of the file
        ('concatenated', truncated: the last without STOP), the zip entries named by inner ('zip-torch'),
        the pickles of object-dtype .npy entries ('npy', 'npz'), the decompressed file ('zstd'), the file
        and then the pickles in inner, each a bytes value inside it ('nested'), the joblib layout with raw
        the array regions ('joblib')."""
        if container == 'pickle':
            dis_one(data)
            names = record(data)
        elif container == 'concatenated':
            genops_all(data, truncated)
            names = record(data, truncated)
        elif container == 'nested':
            dis_one(data)
            names = record(data)
            for stream in inner:
                assert stream in data
                dis_one(stream)
                names += record(stream)
        elif container == 'zstd':
            plain = ZSTD[1](data)
            dis_one(plain)
            names = record(plain)
        elif container in ('zip-torch', 'npz'):
            names = []
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                assert all(info.date_time == FIXED_DATE for info in archive.infolist())
                for entry in (inner if container == 'zip-torch' else archive.namelist()):
                    stream = archive.read(entry) if container == 'zip-torch' else npy_pickle(archive.read(entry))
                    if stream is not None:
                        dis_one(stream)
                        names += record(stream)
        elif container == 'npy':
            stream = npy_pickle(data)
            names = []
            if stream is not None:
                dis_one(stream)
                names = record(stream)
        elif container == 'joblib':
            # The opcodes with the array regions cut out are one pickle; object arrays' regions are pickles.
            cut, last = b'', 0
            for start, end, is_pickle in raw:
                cut += data[last:start]
                last = end
                if is_pickle:
                    dis_one(data[start:end])
            dis_one(cut + data[last:])
            names, f = [], io.BytesIO(data)
            _JoblibRecorder(f, names).load()
            assert f.tell() == len(data), 'bytes after STOP'
        else:
            raise ValueError(container)

        dangerous = [n for n in names if n in DANGEROUS]
        if kind == 'malicious':
            profile = 'torch' if container == 'zip-torch' else 'numpy'
        else:
            profile = next(p for p in ('data', 'stdlib', 'numpy', 'torch') if set(names) <= PROFILES[p])
        if kind == 'benign':
            assert not dangerous and set(names) <= PROFILES[profile], (name, names)
        else:
            assert dangerous and not set(dangerous) & PROFILES[profile], (name, names)

        path = os.path.join(kind, name)
        os.makedirs(os.path.join(self.outdir, kind), exist_ok=True)
        with open(os.path.join(self.outdir, path), 'wb') as f:
            f.write(data)
        entry = {'file': path, 'kind': kind, 'family': family, 'description': description, 'profile': profile,
                 'container': container, 'globals': names}
        if kind == 'malicious':
            entry['dangerous'] = dangerous
        self.entries.append(entry)


def benign(corpus):
    add = functools.partial(corpus.add, 'benign')
    rng = np.random.default_rng(20240611)

    # Plain values. Sets hold ints only: a set of strings pickles in hash order, which changes every run.
    scalars = [None, True, False, 0, 1, -1, 255, 256, 65535, -2**31, 2**31 - 1, 2**63, -2**64 + 1, 2**1000,
               -(2**2400 + 12345), 0.0, -0.0, 0.1, 1e308, float('inf'), float('-inf'), float('nan'), '',
               'ascii', 'héllo wörld', '日本語テキスト', '😀 emoji', 'lone \ud800 surrogate', 'x' * 300]
    shared = [1, 2, 3]
    cyclic_list = [0, 'self']
    cyclic_list.append(cyclic_list)
    cyclic_dict = {'name': 'node'}
    cyclic_dict['self'] = cyclic_dict
    containers = {
        'tuple': (1, 'two', 3.0), 'empty': ((), [], {}), 'list': list(range(20)), 'dict': {'a': 1, 2: 'b', (3, 4): [5]},
        'nested': {'layers': [{'w': [[1.0, 2.0], [3.0, 4.0]], 'b': (0.5,)}] * 2, 'deep': [[[[['bottom']]]]]},
        'shared': (shared, shared, {'again': shared}), 'cyclic_list': cyclic_list, 'cyclic_dict': cyclic_dict,
    }
    sets = {'set': {3, 1, 2}, 'frozen': frozenset({10, 20}), 'empty': (set(), frozenset()), 'nested': frozenset({(1, 2), (3, 4)})}
    blobs = {'bytes': b'\x00\x01binary\xff', 'empty': b'', 'long': bytes(range(256)) * 2, 'bytearray': bytearray(b'mutable')}
    for protocol in range(6):
        add('values-scalars', f'values-scalars-p{protocol}.pkl', f'None, bools, small to huge ints, special floats and unicode strings at protocol {protocol}.',
            pickle.dumps(scalars, protocol))
        add('values-containers', f'values-containers-p{protocol}.pkl', f'Tuples, lists, dicts, nesting, shared references and self-referencing list and dict at protocol {protocol}.',
            pickle.dumps(containers, protocol))
        add('values-sets', f'values-sets-p{protocol}.pkl', f'Sets and frozensets of ints at protocol {protocol} (calls to builtins.set/frozenset before protocol 4).',
            pickle.dumps(sets, protocol))
        add('values-bytes', f'values-bytes-p{protocol}.pkl', f'bytes and bytearray at protocol {protocol} (_codecs.encode before protocol 3, builtins.bytearray before 5).',
            pickle.dumps(blobs, protocol))

    tz = datetime.timezone(datetime.timedelta(hours=5, minutes=30), 'IST')
    stdlib = {
        'stdlib-datetime': ('datetime, date, time, timedelta and timezone values', {
            'now': datetime.datetime(2024, 6, 11, 12, 30, 45, 123456), 'aware': datetime.datetime(2024, 1, 1, tzinfo=tz),
            'utc': datetime.datetime(2000, 2, 29, tzinfo=datetime.timezone.utc), 'date': datetime.date(1999, 12, 31),
            'time': datetime.time(23, 59, 59, 999999), 'delta': datetime.timedelta(days=-1, seconds=5, microseconds=7)}),
        'stdlib-numbers': ('Decimal, Fraction and complex values', {
            'decimal': decimal.Decimal('3.14159265358979323846'), 'nan': decimal.Decimal('NaN'), 'fraction': fractions.Fraction(-22, 7),
            'complex': complex(1.5, -2.0)}),
        'stdlib-uuid': ('UUID values', [uuid.UUID('12345678-1234-5678-1234-567812345678'), uuid.UUID(int=0)]),
        'stdlib-collections': ('OrderedDict, deque, Counter and defaultdict(list) (which references builtins.list) values', {
            'ordered': collections.OrderedDict([('b', 1), ('a', 2)]), 'deque': collections.deque([1, 2, 3], maxlen=5),
            'counter': collections.Counter('abracadabra'), 'multimap': collections.defaultdict(list, {'k': [1, 2]})}),
    }
    for family, (what, value) in stdlib.items():
        for protocol in (0, 2, 4):
            add(family, f'{family}-p{protocol}.pkl', f'{what} at protocol {protocol}.', pickle.dumps(value, protocol))

    arrays = {'float32': rng.standard_normal((3, 4)).astype('float32'), 'int64': np.arange(-5, 5, dtype='int64'),
              'bool': np.array([True, False, True]), 'fortran': np.asfortranarray(np.arange(6.0).reshape(2, 3)),
              'zero_d': np.array(2.5)}
    structured = np.array([(1, 2.0, b'ab'), (3, 4.0, b'cd')], dtype=[('id', '<i4'), ('score', '<f8'), ('tag', 'S2')])
    scalars_np = [np.float64(1.5), np.int32(-7), np.bool_(True), np.dtype('float16')]
    for protocol in (2, 4):
        add('numpy-arrays', f'numpy-arrays-p{protocol}.pkl', f'float32, int64, bool, Fortran-order and 0-d numpy arrays at protocol {protocol}.',
            pickle.dumps(arrays, protocol))
        add('numpy-structured', f'numpy-structured-p{protocol}.pkl', f'A structured-dtype numpy array at protocol {protocol}.',
            pickle.dumps(structured, protocol))
        add('numpy-scalars', f'numpy-scalars-p{protocol}.pkl', f'numpy scalars and a dtype at protocol {protocol}.',
            pickle.dumps(scalars_np, protocol))
    add('numpy-protocol5', 'numpy-arrays-p5.pkl', 'numpy arrays at protocol 5, data in-band through numpy._core.numeric._frombuffer.',
        pickle.dumps(arrays, 5))
    # numpy 1.x spelled the module numpy.core.multiarray; a protocol 2 GLOBAL is text, so renaming is exact.
    add('numpy-legacy-names', 'numpy-arrays-legacy-p2.pkl', 'numpy arrays at protocol 2 as numpy 1.x wrote them (numpy.core.multiarray).',
        pickle.dumps(arrays, 2).replace(b'cnumpy._core.multiarray\n', b'cnumpy.core.multiarray\n'))

    add('npy-plain', 'plain.npy', 'An .npy file of a float64 array: raw data, no pickle.', npy_bytes(rng.standard_normal((4, 3))), container='npy')
    for label, compress in (('stored', zipfile.ZIP_STORED), ('compressed', zipfile.ZIP_DEFLATED)):
        add('npz-plain', f'plain-{label}.npz', f'An .npz archive ({label} entries) of plain float32 and int16 arrays: no pickle.',
            npz_bytes({'weights': np.ones((8, 8), 'float32'), 'index': np.arange(10, dtype='int16')}, compress), container='npz')

    state_dict = collections.OrderedDict([
        ('conv.weight', tl.tensor('0', rng.standard_normal((4, 1, 3, 3)).astype('float32'))),
        ('conv.bias', tl.tensor('1', np.zeros(4, 'float32'))),
        ('steps', tl.tensor('2', np.array(1000, 'int64'))),
    ])
    add('torch-state-dict', 'state-dict.pt', 'A PyTorch state dict (OrderedDict of float32 and int64 tensors) in torch.save\'s zip layout.',
        torch_checkpoint(state_dict), container='zip-torch', inner=['archive/data.pkl'])
    params = collections.OrderedDict([('fc.weight', tl.Parameter(tl.tensor('0', np.eye(3, dtype='float32')))),
                                      ('fc.mask', tl.tensor('1', np.array([True, False, True])))])
    add('torch-parameters', 'parameters.pt', 'A checkpoint of a Parameter (torch._utils._rebuild_parameter) and a bool tensor.',
        torch_checkpoint(params), container='zip-torch', inner=['archive/data.pkl'])
    checkpoint = {'model': state_dict, 'epoch': 7, 'lr': 0.001, 'history': [0.9, 0.5, 0.25], 'name': 'resnet-mini'}
    add('torch-checkpoint', 'checkpoint.pt', 'A training checkpoint: a nested state dict with epoch, learning rate and loss history.',
        torch_checkpoint(checkpoint), container='zip-torch', inner=['archive/data.pkl'])

    if ZSTD:
        add('zstd-pickle', 'values.pkl.zst', 'A zstd-compressed protocol 5 pickle of stdlib values.',
            ZSTD[0](pickle.dumps(stdlib['stdlib-collections'][1], 5)), container='zstd')
    add('concatenated', 'stream.pkl', 'Five benign pickles at protocols 0, 1, 2, 4 and 5 back to back in one file, as a log or stream holds them.',
        b''.join(pickle.dumps({'record': i, 'values': list(range(i))}, p) for i, p in enumerate((0, 1, 2, 4, 5))), container='concatenated')


def malicious(corpus):
    add = functools.partial(corpus.add, 'malicious')
    inner = pickle.dumps(SYSTEM, 2)

    add('reduce-os-system', 'os-system-p0.pkl', 'os.system(\'true\') through a protocol 0 text GLOBAL and REDUCE.',
        Asm(0).value(Call(G('os', 'system'), 'true')).stop())
    add('reduce-os-system', 'posix-system-p2.pkl', 'os.system(\'true\') as pickle.dumps writes it at protocol 2: GLOBAL posix system.',
        pickle.dumps(SYSTEM, 2))
    add('reduce-os-system', 'posix-system-p4.pkl', 'os.system(\'true\') at protocol 4: FRAME, STACK_GLOBAL of posix system, MEMOIZE.',
        pickle.dumps(SYSTEM, 4))

    # Before protocol 3 pickle.dumps writes the subprocess module as Python 2's `commands` (fix_imports).
    add('subprocess', 'commands-popen-p2.pkl', 'subprocess.Popen([\'true\']) as pickle.dumps writes it at protocol 2: GLOBAL commands Popen.',
        pickle.dumps(Call(subprocess.Popen, ['true']), 2))
    add('subprocess', 'subprocess-popen-p0.pkl', 'subprocess.Popen([\'true\']) through a protocol 0 text GLOBAL subprocess Popen.',
        Asm(0).value(Call(G('subprocess', 'Popen'), ['true'])).stop())
    add('subprocess', 'subprocess-check-output-p4.pkl', 'subprocess.check_output([\'true\']) at protocol 4.',
        pickle.dumps(Call(subprocess.check_output, ['true']), 4))

    add('builtins-eval', 'eval-p0.pkl', 'eval(\'1+1\') at protocol 0, spelled __builtin__.eval.', pickle.dumps(Call(eval, '1+1'), 0))
    add('builtins-eval', 'eval-p4.pkl', 'eval(\'1+1\') at protocol 4.', pickle.dumps(Call(eval, '1+1'), 4))
    add('builtins-exec', 'exec-p3.pkl', 'exec(\'pass\') at protocol 3.', pickle.dumps(Call(exec, 'pass'), 3))
    add('builtins-compile', 'compile-p1.pkl', 'compile(\'1\', \'<scan-corpus>\', \'eval\') at protocol 1.',
        pickle.dumps(Call(compile, '1', '<scan-corpus>', 'eval'), 1))
    add('builtins-getattr-import', 'getattr-import-p2.pkl', 'getattr(__import__(\'os\'), \'system\')(\'true\') at protocol 2.',
        pickle.dumps(Call(Call(getattr, Call(__import__, 'os'), 'system'), 'true'), 2))

    add('stack-global-plain', 'stack-global-p4.pkl', 'os.system(\'true\') with STACK_GLOBAL taking \'os\' and \'system\' straight from SHORT_BINUNICODE.',
        Asm(4).value(Call(G('os', 'system'), 'true')).stop())
    # STACK_GLOBAL's strings come from the memo through a second memo slot: a scanner that walks back from
    # STACK_GLOBAL and reads the memo as "the argument of the opcode before each PUT" sees the GET's index
    # (an int) instead of the string, so it reads a harmless-looking global such as '0.1'.
    indirect = (Asm(4).str('os').raw(_binput(0), pickle.POP).str('system').raw(_binput(1), pickle.POP)
                .raw(_binget(0), _binput(2), pickle.POP, _binget(1), _binput(3), pickle.POP, _binget(2), _binget(3), pickle.STACK_GLOBAL))
    add('stack-global-memo', 'stack-global-memo-binget-p4.pkl', 'os.system(\'true\'): STACK_GLOBAL\'s strings reach it through BINPUT/BINGET copies of memo entries.',
        indirect.value(('true',)).raw(pickle.REDUCE).stop())
    memoized = (Asm(5, framed=True).str('os').raw(pickle.MEMOIZE, pickle.POP).str('system').raw(pickle.MEMOIZE, pickle.POP)
                .raw(_binget(0), pickle.MEMOIZE, pickle.POP, _binget(1), pickle.MEMOIZE, pickle.POP, _binget(2), _binget(3), pickle.STACK_GLOBAL))
    add('stack-global-memo', 'stack-global-memo-memoize-p5.pkl', 'os.system(\'true\') in a FRAME: STACK_GLOBAL\'s strings reach it through MEMOIZE copies of memo entries.',
        memoized.value(('true',)).raw(pickle.REDUCE).stop())
    long_memo = (Asm(4).str('subprocess').raw(_long_binput(70000), pickle.POP).str('Popen').raw(_long_binput(70001), pickle.POP)
                 .raw(_long_binget(70000), _long_binput(70002), pickle.POP, _long_binget(70001), _long_binput(70003), pickle.POP,
                      _long_binget(70002), _long_binget(70003), pickle.STACK_GLOBAL))
    add('stack-global-memo', 'stack-global-memo-long-binget-p4.pkl', 'subprocess.Popen([\'true\']): STACK_GLOBAL\'s strings reach it through LONG_BINPUT/LONG_BINGET copies at memo keys above 65535.',
        long_memo.value((['true'],)).raw(pickle.REDUCE).stop())

    add('inst-obj', 'inst-os-system-p0.pkl', 'os.system(\'true\') through the INST opcode, which calls whatever its module and name resolve to, class or not.',
        Asm(0).raw(pickle.MARK).value('true').raw(pickle.INST, b'os\nsystem\n').stop())
    add('inst-obj', 'obj-popen-p1.pkl', 'subprocess.Popen([\'true\']) through the OBJ opcode at protocol 1.',
        Asm(1).raw(pickle.MARK).glob('subprocess', 'Popen').value(['true']).raw(pickle.OBJ).stop())

    add('newobj', 'newobj-popen-p2.pkl', 'NEWOBJ of subprocess.Popen: Popen.__new__(Popen, [\'true\']), an instance of a dangerous class.',
        Asm(2).glob('subprocess', 'Popen').value((['true'],)).raw(pickle.NEWOBJ).stop())
    add('newobj', 'newobj-ex-socket-p4.pkl', 'NEWOBJ_EX of socket.socket with empty args and kwargs.',
        Asm(4).glob('socket', 'socket').raw(pickle.EMPTY_TUPLE, pickle.EMPTY_DICT, pickle.NEWOBJ_EX).stop())

    add('pkgutil-resolve-name', 'resolve-name-p2.pkl', 'pkgutil.resolve_name(\'os:system\')(\'true\'): any name, reached without a GLOBAL of it.',
        pickle.dumps(Call(Call(pkgutil.resolve_name, 'os:system'), 'true'), 2))
    add('importlib-getattr', 'import-module-getattr-p3.pkl', 'builtins.getattr(importlib.import_module(\'os\'), \'system\')(\'true\') at protocol 3.',
        pickle.dumps(Call(Call(getattr, Call(importlib.import_module, 'os'), 'system'), 'true'), 3))
    add('operator-gadgets', 'methodcaller-p4.pkl', 'operator.methodcaller(\'system\', \'true\') applied to importlib.import_module(\'os\').',
        pickle.dumps(Call(Call(operator.methodcaller, 'system', 'true'), Call(importlib.import_module, 'os')), 4))
    add('operator-gadgets', 'attrgetter-p2.pkl', 'operator.attrgetter(\'system\')(importlib.import_module(\'os\'))(\'true\') at protocol 2.',
        pickle.dumps(Call(Call(Call(operator.attrgetter, 'system'), Call(importlib.import_module, 'os')), 'true'), 2))
    add('functools-partial', 'partial-object-p2.pkl', 'functools.partial(os.system, \'true\') as pickle.dumps writes it (REDUCE, then BUILD through __setstate__); not called.',
        pickle.dumps(functools.partial(os.system, 'true'), 2))
    add('functools-partial', 'partial-called-p4.pkl', 'functools.partial(os.system, \'true\')() at protocol 4.',
        pickle.dumps(Call(functools.partial(os.system, 'true')), 4))

    # Protocol 4 find_class walks dotted qualnames: random imports os as _os; builtin functions' __self__
    # is the builtins module.
    add('dotted-qualname', 'random-os-system-p4.pkl', 'STACK_GLOBAL of module \'random\', qualname \'_os.system\' (os.system through random\'s import of os), called with \'true\'.',
        Asm(4).value(Call(G('random', '_os.system'), 'true')).stop())
    add('dotted-qualname', 'eval-self-exec-p4.pkl', 'STACK_GLOBAL of module \'builtins\', qualname \'eval.__self__.exec\' (exec), called with \'pass\'.',
        Asm(4).value(Call(G('builtins', 'eval.__self__.exec'), 'pass')).stop())

    add('pop-discarded-call', 'pop-p2.pkl', 'os.system(\'true\') whose result is POPped; the pickle returns an empty dict.',
        Asm(2).raw(pickle.EMPTY_DICT).value(SYSTEM_G).raw(pickle.POP).stop())
    add('pop-discarded-call', 'pop-mark-p4.pkl', 'subprocess.Popen([\'true\']) inside a MARK that POP_MARK discards; the pickle returns None.',
        Asm(4).raw(pickle.MARK).value(Call(G('subprocess', 'Popen'), ['true'])).raw(pickle.POP_MARK, pickle.NONE).stop())

    add('concatenated', 'benign-then-malicious.pkl', 'A benign protocol 4 pickle, then after its STOP a protocol 2 os.system(\'true\') pickle (a second pickle.load runs it).',
        pickle.dumps({'epoch': 1, 'loss': 0.5}, 4) + inner, container='concatenated')
    add('concatenated', 'trailing-opcodes-no-stop.pkl', 'A benign pickle, then protocol 0 opcodes calling os.system(\'true\') with no STOP: a second pickle.load runs the call, then fails.',
        pickle.dumps([1, 2, 3], 2) + Asm(0).value(SYSTEM_G).unterminated(), container='concatenated', truncated=True)

    add('nested-pickle', 'bytes-value-p4.pkl', 'A benign dict whose bytes value is a whole os.system(\'true\') pickle, for the application to load.',
        pickle.dumps({'name': 'model', 'blob': inner}, 4), container='nested', inner=[inner])
    add('pickle-loads', '_pickle-loads-p4.pkl', 'pickle.loads (_pickle.loads) called by REDUCE on a bytes value holding an os.system(\'true\') pickle.',
        pickle.dumps(Call(pickle.loads, inner), 4), container='nested', inner=[inner])

    add('runpy', 'run-code-p2.pkl', 'runpy._run_code(\'pass\', {}): exec of a string.', pickle.dumps(Call(runpy._run_code, 'pass', {}), 2))
    add('pty', 'pty-spawn-p3.pkl', 'pty.spawn([\'true\']).', pickle.dumps(Call(pty.spawn, ['true']), 3))
    add('socket', 'socket-p4.pkl', 'socket.socket(): a network socket.', pickle.dumps(Call(socket.socket), 4))
    add('shutil', 'rmtree-p0.pkl', 'shutil.rmtree(\'/nonexistent-scan-corpus\', True) at protocol 0.',
        pickle.dumps(Call(shutil.rmtree, '/nonexistent-scan-corpus', True), 0))
    add('webbrowser', 'webbrowser-open-p2.pkl', 'webbrowser.open(\'about:blank\').', pickle.dumps(Call(webbrowser.open, 'about:blank'), 2))
    add('ctypes', 'cdll-p4.pkl', 'ctypes.CDLL(None): native code of the running process.', pickle.dumps(Call(ctypes.CDLL, None), 4))
    add('marshal', 'marshal-loads-p3.pkl', 'marshal.loads of marshalled data (here the int 1; code objects in an attack).',
        pickle.dumps(Call(marshal.loads, marshal.dumps(1)), 3))
    add('pickle-loads', 'pickle-loads-p3.pkl', 'pickle.loads called by REDUCE on a bytes value holding an os.system(\'true\') pickle, spelled pickle.loads.',
        Asm(3).value(Call(G('pickle', 'loads'), inner)).stop(), container='nested', inner=[inner])
    code = compile('1+1', '<scan-corpus>', 'eval')
    fields = (code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount, code.co_nlocals, code.co_stacksize, code.co_flags,
              code.co_code, code.co_consts, code.co_names, code.co_varnames, code.co_filename, code.co_name, code.co_qualname,
              code.co_firstlineno, code.co_linetable, code.co_exceptiontable, code.co_freevars, code.co_cellvars)
    assert types.CodeType(*fields) == code  # CPython 3.11's CodeType signature
    add('types-function-code', 'function-code-p4.pkl', 'types.FunctionType(types.CodeType(...), {})(): a function built from bytecode (computing 1+1), then called.',
        Asm(4).value(Call(Call(G('types', 'FunctionType'), Call(G('types', 'CodeType'), *fields), {}))).stop())
    add('file-open', 'io-open-p4.pkl', 'io.open(\'/dev/null\', \'rb\') (builtins.open under another name).', pickle.dumps(Call(io.open, '/dev/null', 'rb'), 4))
    add('file-open', 'codecs-open-p2.pkl', 'codecs.open(\'/dev/null\', \'rb\'): any file, any mode.', pickle.dumps(Call(codecs.open, '/dev/null', 'rb'), 2))

    add('imp-load-source', 'load-source-p2.pkl', 'imp.load_source(\'scan_corpus_empty\', \'/dev/null\'): executes a Python source file (here an empty one).',
        Asm(2).value(Call(G('imp', 'load_source'), 'scan_corpus_empty', '/dev/null')).stop())

    add('build-state', 'build-popen-state-p2.pkl', 'A subprocess.Popen made by copyreg._reconstructor without __init__, its state set by BUILD.',
        Asm(2).value(Call(G('copy_reg', '_reconstructor'), G('subprocess', 'Popen'), G('__builtin__', 'object'), None))
        .value({'args': ['true']}).raw(pickle.BUILD).stop())
    add('build-state', 'build-slotstate-eval-p2.pkl', 'An OrderedDict whose BUILD state (None, {\'x\': eval(\'1+1\')}) calls eval while being built.',
        Asm(2).value(Call(G('collections', 'OrderedDict'))).value((None, {'x': Call(G('__builtin__', 'eval'), '1+1')})).raw(pickle.BUILD).stop())

    rng = np.random.default_rng(7)
    weight = tl.tensor('0', rng.standard_normal((2, 2)).astype('float32'))
    add('torch-data-pkl', 'extra-key.pt', 'A state dict whose data.pkl holds a tensor and, under another key, os.system(\'true\').',
        torch_checkpoint(collections.OrderedDict([('weight', weight), ('hook', SYSTEM)])), container='zip-torch', inner=['archive/data.pkl'])
    add('torch-rebuild-tensor', 'rebuild-tensor-dangerous-storage.pt', 'torch._utils._rebuild_tensor_v2 called on the result of os.system(\'true\') instead of a persistent-id storage.',
        torch_checkpoint({'weight': tl.Tensor(SYSTEM, (1,))}), container='zip-torch', inner=['archive/data.pkl'])
    benign_sd = collections.OrderedDict([('weight', weight)])
    for name, entry, stream, what in (
            ('extra-entry-pkl.pt', 'archive/extra/x.pkl', inner, 'an extra archive/extra/x.pkl entry holding a protocol 2 os.system(\'true\') pickle'),
            ('hidden-entry-proto2.pt', 'archive/.data/serialization_id', inner, 'a protocol 2 os.system(\'true\') pickle in archive/.data/serialization_id (no .pkl suffix)'),
            ('hidden-entry-proto0.pt', 'archive/extra/config', Asm(0).value(SYSTEM_G).stop(), 'a protocol 0 os.system(\'true\') pickle (no PROTO magic) in archive/extra/config')):
        add('torch-extra-entry', name, f'A benign checkpoint with {what}.',
            torch_checkpoint(benign_sd, [(entry, stream)]), container='zip-torch', inner=['archive/data.pkl', entry])

    evil_objects = np.empty(2, dtype=object)
    evil_objects[:] = ['label', SYSTEM]
    add('npy-object', 'object-array.npy', 'An .npy file of an object-dtype array whose pickle calls os.system(\'true\').', npy_bytes(evil_objects), container='npy')
    for label, compress in (('stored', zipfile.ZIP_STORED), ('compressed', zipfile.ZIP_DEFLATED)):
        add('npz-object', f'object-array-{label}.npz', f'An .npz archive ({label}) of a plain array and an object array whose pickle calls os.system(\'true\').',
            npz_bytes({'weights': np.ones(4, 'float32'), 'labels': evil_objects}, compress), container='npz')
    if ZSTD:
        add('zstd-pickle', 'posix-system.pkl.zst', 'A zstd-compressed protocol 4 os.system(\'true\') pickle.', ZSTD[0](pickle.dumps(SYSTEM, 4)), container='zstd')

    data, raw = joblib_bytes(evil_objects)
    add('joblib', 'object-array.joblib', 'joblib.dump of an object array: the wrapper, then an inline protocol 2 pickle of the array calling os.system(\'true\').',
        data, container='joblib', raw=raw)
    data, raw = joblib_bytes({'weights': np.arange(12, dtype='float32'), 'hook': SYSTEM})
    add('joblib', 'call-after-raw-data.joblib', 'joblib.dump of a dict: a float32 array\'s raw bytes inside the pickle, then os.system(\'true\') after them.',
        data, container='joblib', raw=raw)


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: scan_corpus.py OUTDIR')
    outdir = sys.argv[1]
    corpus = Corpus(outdir)
    benign(corpus)
    malicious(corpus)
    if not ZSTD:
        print('warning: neither backports.zstd nor the zstd CLI is available: the zstd entries are skipped', file=sys.stderr)
    with open(os.path.join(outdir, 'manifest.json'), 'w') as f:
        json.dump(corpus.entries, f, indent=1, ensure_ascii=False)
        f.write('\n')

    families = collections.Counter((e['kind'], e['family']) for e in corpus.entries)
    for (kind, family), count in families.items():
        print(f'{kind:9} {family:24} {count:2} file{"s" if count > 1 else ""}')
    total = sum(os.path.getsize(os.path.join(outdir, e['file'])) for e in corpus.entries)
    kinds = collections.Counter(e['kind'] for e in corpus.entries)
    print(f'{kinds["benign"]} benign and {kinds["malicious"]} malicious files, {total / 1024:.0f} KiB, in {outdir}')


if __name__ == '__main__':
    main()
