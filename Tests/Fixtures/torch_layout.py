"""Checkpoint archives in the exact layout torch.save writes, made without torch.

torch.save (PyTorch >= 1.6) writes a zip archive, every entry stored (ZIP_STORED): <folder>/data.pkl (a
protocol 2 pickle whose storages are persistent ids ('storage', torch.<Type>Storage, key, location, numel)),
<folder>/byteorder, one <folder>/data/<key> record per storage whose data starts at a multiple of 64 bytes
(padded with an 'FB' extra field), and <folder>/version. Tensors pickle as
torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict()) and parameters
as torch._utils._rebuild_parameter(tensor, requires_grad, OrderedDict()).

The torch names are stand-ins registered in sys.modules, so that pickle writes the same GLOBAL opcodes.
"""
import collections, io, pickle, struct, sys, types, zipfile
import numpy as np


def _module(name):
    module = sys.modules.get(name)
    if module is None:
        module = types.ModuleType(name)
        sys.modules[name] = module
    return module


torch = _module('torch')
torch._utils = _module('torch._utils')

STORAGE_TYPES = {
    'float32': 'FloatStorage', 'float64': 'DoubleStorage', 'float16': 'HalfStorage', 'int8': 'CharStorage',
    'uint8': 'ByteStorage', 'int16': 'ShortStorage', 'int32': 'IntStorage', 'int64': 'LongStorage',
    'bool': 'BoolStorage', 'complex64': 'ComplexFloatStorage', 'complex128': 'ComplexDoubleStorage',
}
for _name in list(STORAGE_TYPES.values()) + ['BFloat16Storage']:
    _cls = type(_name, (), {})
    _cls.__module__ = 'torch'
    setattr(torch, _name, _cls)


def _stand_in(name):
    def function(*args):
        raise RuntimeError('a stand-in for torch._utils.' + name)
    function.__module__ = 'torch._utils'
    function.__name__ = function.__qualname__ = name
    setattr(torch._utils, name, function)
    return function


_rebuild_tensor_v2 = _stand_in('_rebuild_tensor_v2')
_rebuild_parameter = _stand_in('_rebuild_parameter')


class Storage:
    """A storage: the bytes of `data` (a 1-d array) as record data/<key>."""

    def __init__(self, key, data, type_name=None, numel=None):
        self.key = key
        self.data = data
        self.type_name = type_name or STORAGE_TYPES[data.dtype.name]
        self.numel = len(data) if numel is None else numel


class Tensor:
    def __init__(self, storage, size, stride=None, offset=0, requires_grad=False):
        self.storage, self.size, self.offset, self.requires_grad = storage, tuple(size), offset, requires_grad
        if stride is None:
            stride, step = [], 1
            for n in reversed(self.size):
                stride.insert(0, step)
                step *= n
        self.stride = tuple(stride)

    def __reduce__(self):
        return (_rebuild_tensor_v2, (self.storage, self.offset, self.size, self.stride, self.requires_grad, collections.OrderedDict()))


class Parameter:
    def __init__(self, tensor, requires_grad=True):
        self.tensor, self.requires_grad = tensor, requires_grad

    def __reduce__(self):
        return (_rebuild_parameter, (self.tensor, self.requires_grad, collections.OrderedDict()))


def tensor(key, array, **options):
    """A contiguous tensor of `array` with its own storage."""
    return Tensor(Storage(key, np.ascontiguousarray(array).reshape(-1)), array.shape, **options)


class _Pickler(pickle.Pickler):
    def __init__(self, file):
        super().__init__(file, protocol=2)
        self.storages = {}

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            self.storages.setdefault(obj.key, obj)
            return ('storage', getattr(torch, obj.type_name), obj.key, 'cpu', obj.numel)
        return None


def _aligned(archive, name, data, alignment=64, compress=zipfile.ZIP_STORED):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = compress
    header = 30 + len(name.encode())
    offset = archive.fp.tell()
    padding = (-(offset + header + 4)) % alignment
    info.extra = struct.pack('<HH', 0x4246, padding) + b'Z' * padding
    archive.writestr(info, data)


def save(obj, path, folder='archive', byteorder='little', compress_records=False):
    buffer = io.BytesIO()
    pickler = _Pickler(buffer)
    pickler.dump(obj)
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as archive:
        _aligned(archive, folder + '/data.pkl', buffer.getvalue())
        _aligned(archive, folder + '/byteorder', byteorder.encode())
        for key, storage in pickler.storages.items():
            data = storage.data.astype(storage.data.dtype.newbyteorder('>' if byteorder == 'big' else '<')).tobytes()
            _aligned(archive, folder + '/data/' + key, data,
                     compress=zipfile.ZIP_DEFLATED if compress_records else zipfile.ZIP_STORED)
        _aligned(archive, folder + '/version', b'3\n')
