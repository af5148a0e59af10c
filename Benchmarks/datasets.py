#!/usr/bin/env python3
"""The benchmark datasets of issue 6, pickled by CPython 3.11 into DIRECTORY (skipped when already there).

    python3 Benchmarks/datasets.py DIRECTORY

Files (protocol 5 unless said):
  dicts.pickle         a list of 1,000,000 dicts {'id': int, 'name': str, 'score': float, 'tags': [str, str]}
  small_ints.pickle    5,000,000 small ints: list(range(5_000_000))
  big_ints.pickle      2,000,000 random 62-bit ints
  unicode.pickle       500,000 mixed-unicode strings (1-, 2-, 3- and 4-byte UTF-8 characters)
  blobs.pickle         200 bytes objects of 1 MiB each
  bytes_inband.pickle  one 100 MiB bytes object, in-band
  bytes_oob.pickle     the same out-of-band (PickleBuffer), its data in bytes_oob.buffer
  deep_list.pickle     a list nested 100,000 deep (written opcode by opcode: CPython's pickler would recurse)
  stream.pickle        1,000,000 small independent protocol-4 pickles, one after another
The Swift benchmarks (Benchmarks/Benchmarks/PickleBenchmarks) run this once and read the files.
"""
import os
import pickle
import random
import sys

DICTS = 1_000_000
STREAM = 1_000_000


def record(i):
    return {'id': i, 'name': f'user{i}', 'score': i * 0.5, 'tags': ['a', 'b']}


def unicode_strings(n):
    """Strings of 1 to 24 code points mixing 1-, 2-, 3- and 4-byte UTF-8 characters."""
    rng = random.Random(7)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.",
        "àáâäæçèéêëìíîïñòóôöøùúûüýÿßÀÉÖÜ",
        "αβγδεζηθικλμνξοπρστυφχψωАБВГДЕЖЗИЙКЛМНОПабвгдежзий",
        "的一是不了人我在有他这为之大来以个中上们日本語中文字漢字かなカナ한국어",
        "😀😃😄😁😆😅🤣😂🙂🙃😉😊🚀🌍🎉🐍🦀🍕",
    ]
    weights = [60, 12, 10, 12, 6]
    chars = [c for pool in pools for c in pool]
    cum, total = [], 0.0
    for pool, w in zip(pools, weights):
        for _ in pool:
            total += w / len(pool)
            cum.append(total)
    return ["".join(rng.choices(chars, cum_weights=cum, k=rng.randint(1, 24))) for _ in range(n)]


def deep_list(depth):
    return b"\x80\x05" + b"]" * depth + b"a" * (depth - 1) + b"."


def main():
    directory = sys.argv[1]
    os.makedirs(directory, exist_ok=True)

    def write(name, make):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            data = make()
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.replace(path + ".tmp", path)

    write("dicts.pickle", lambda: pickle.dumps([record(i) for i in range(DICTS)], 5))
    write("small_ints.pickle", lambda: pickle.dumps(list(range(5_000_000)), 5))
    rng = random.Random(20240601)
    write("big_ints.pickle", lambda: pickle.dumps([rng.getrandbits(62) for _ in range(2_000_000)], 5))
    write("unicode.pickle", lambda: pickle.dumps(unicode_strings(500_000), 5))
    blobs = random.Random(3)
    write("blobs.pickle", lambda: pickle.dumps([blobs.randbytes(1 << 20) for _ in range(200)], 5))
    payload = random.Random(4).randbytes(100 << 20)
    write("bytes_inband.pickle", lambda: pickle.dumps(payload, 5))
    buffers = []
    oob = pickle.dumps(pickle.PickleBuffer(payload), 5, buffer_callback=buffers.append)
    write("bytes_oob.buffer", lambda: bytes(buffers[0].raw()))
    write("bytes_oob.pickle", lambda: oob)
    write("deep_list.pickle", lambda: deep_list(100_000))
    write("stream.pickle", lambda: b"".join(pickle.dumps(record(i), 4) for i in range(STREAM)))


if __name__ == "__main__":
    main()
