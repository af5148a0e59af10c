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
print(len(inputs), 'seeds per target')
