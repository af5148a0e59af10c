"""Writes the seed corpus for every fuzz target from the CPython fixtures (Tests/PickleTests/Fixtures).

Each seed is a fixture or a hostile case with the targets' leading bytes: the option selector (see
Sources/FuzzSupport/FuzzInput.swift), for FuzzChunked also a chunk pattern, and for FuzzZstd compressed.
"""
import os, subprocess, sys, glob

out = sys.argv[1] if len(sys.argv) > 1 else 'seeds'
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'Tests', 'PickleTests', 'Fixtures')
files = sorted(glob.glob(os.path.join(root, 'pickles', '*.pickle')))[::3] + sorted(glob.glob(os.path.join(root, 'hostile', '*')))[::2]
inputs = []
for path in files:
    if os.path.isfile(path) and os.path.getsize(path) <= 1 << 16:
        with open(path, 'rb') as f:
            inputs.append(f.read())
# Python 2 strings in many codecs (Tests/Fixtures/py2_strings.py), so selectors with bit 7 (an iconv codec)
# meet multibyte text from the start.
py2 = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'Tests', 'Fixtures', 'py2_strings.py')],
                     capture_output=True, check=True).stdout
import json
inputs += [bytes.fromhex(c['pickle']) for c in json.loads(py2)[::40]]
targets = {
    'FuzzUnpickle': lambda k, b: bytes([k % 256]) + b,
    'FuzzRoundTrip': lambda k, b: bytes([k % 256 & ~0x20]) + b,
    'FuzzChunked': lambda k, b: bytes([k % 256, (k * 37) % 256]) + b,
    'FuzzZstd': lambda k, b: bytes([0]) + subprocess.run(['zstd', '-q', '-c', '-3'], input=b, capture_output=True, check=True).stdout,
}
for name, make in targets.items():
    directory = os.path.join(out, name)
    os.makedirs(directory, exist_ok=True)
    chosen = inputs if name != 'FuzzZstd' else inputs[::4]
    for k, data in enumerate(chosen):
        with open(os.path.join(directory, '%04d' % k), 'wb') as f:
            f.write(make(k, data))
# Archives for FuzzArchives: .npy files, .npz files stored and deflated, checkpoints in torch.save's layout.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'Tests', 'Fixtures'))
import io, collections, tempfile
import numpy as np
import torch_layout
archives = []
for a in [np.arange(6, dtype='<f4').reshape(2, 3), np.zeros(3, [('x', '<i2'), ('y', '>f8', (2,))]), np.array(['ab', 'c']),
          np.array([1, None], dtype=object)]:
    f = io.BytesIO(); np.save(f, a); archives.append(f.getvalue())
with tempfile.TemporaryDirectory() as work:
    for k, save in enumerate([np.savez, np.savez_compressed]):
        path = os.path.join(work, '%d.npz' % k)
        save(path, w=np.arange(40, dtype='<i8') % 5, names=np.array(['x', 'yz']))
        archives.append(open(path, 'rb').read())
    path = os.path.join(work, 'model.pt')
    torch_layout.save(collections.OrderedDict([('w', torch_layout.tensor('0', np.arange(4, dtype='<f4'))),
                                               ('b', torch_layout.tensor('1', np.arange(3, dtype='<i8')))]), path)
    archives.append(open(path, 'rb').read())
directory = os.path.join(out, 'FuzzArchives')
os.makedirs(directory, exist_ok=True)
for k, data in enumerate(archives):
    with open(os.path.join(directory, '%04d' % k), 'wb') as f:
        f.write(data)
# FuzzScan: the scanner's corpus (benign and malicious pickles, checkpoints, .npy/.npz, joblib), then the
# pickle seeds.
with tempfile.TemporaryDirectory() as work:
    subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'Tests', 'Fixtures', 'scan_corpus.py'), work],
                   check=True, capture_output=True)
    scanned = [open(os.path.join(work, e['file']), 'rb').read() for e in json.load(open(os.path.join(work, 'manifest.json')))]
directory = os.path.join(out, 'FuzzScan')
os.makedirs(directory, exist_ok=True)
for k, data in enumerate(scanned + inputs[::2]):
    with open(os.path.join(directory, '%04d' % k), 'wb') as f:
        f.write(data)
print(len(inputs), 'seeds per pickle target,', len(archives), 'archives,', len(scanned), 'scan corpus files')
