#!/usr/bin/env python3
"""Compare swift-pickle with CPython's C pickle module on the same pickle files.

    python3 Benchmarks/compare.py [--quick] [--no-build] [--repeat N] [--keep DIR]
                                  [--streaming-only | --no-streaming | --zstd-only] [--no-zstd]
                                  [--stream-rounds R] [--no-tensors]
    python3 Benchmarks/compare.py --tool-streams-only [--quick] [--repeat N] [--tool-stream-objects N]
    python3 Benchmarks/compare.py --tensors-only [--repeat N] [--keep DIR]

Builds Benchmarks' PickleCompare in release mode (scratch path .build-bench), generates the datasets into
a temporary directory, then times, on the same bytes:

  * CPython ``pickle.loads`` / ``pickle.dumps(obj, protocol=5)``, timeit-style (``timeit.Timer.repeat`` with
    ``number=1``: the garbage collector is disabled during timing, and the result is freed inside the timed
    statement), in a fresh interpreter;
  * ``PickleCompare decode`` (``Unpickler.loads``) and ``PickleCompare encode`` (``Pickler.dumps``), where
    each timed run likewise includes releasing its result;
  * ``PickleCompare decode --chunk 65536`` and ``--chunk 1`` (push parser fed 64 KiB / 1 byte at a time).

Streaming section (also alone with ``--streaming-only``): a stream of 1,000,000 independent small pickles
(``pickle.dumps({'id': i, ...}, 4)`` concatenated) is piped with ``cat`` into

  * ``PickleCompare stream`` (``StreamingUnpickler(fileDescriptor: 0)``, an AsyncSequence of graphs),
  * ``PickleCompare stream --sync`` (blocking read(2) + ``PickleParser.feed``: the synchronous baseline),
  * a CPython reader calling ``pickle.load(sys.stdin.buffer)`` until EOFError,

in alternating rounds (throughput, objects/s); then the same file 10 times over (``cat F F ... F``, 10M
objects) into each reader once, comparing peak RSS (``ru_maxrss``) with the 1M stream and an empty one; and
the whole-buffer vs ``--chunk 65536`` / ``--chunk 1`` decode of the 100k-dicts dataset, as ratios.

zstd section (also alone with ``--zstd-only``; ``--no-zstd`` skips it; needs the ``zstd`` CLI): the 1M-object
stream at level 3, the 100k-dicts pickle at level 3 and a 25k-object stream at level 19, each
  * compressed: ``PickleCompare zstd-encode`` (pickle only / pickle + ``ZstdCompressingSink`` / the sink alone on
    the plain bytes, alternating in one process) vs ``zstd -L -c F > /dev/null`` (default and
    ``--single-thread``); the sizes; CPython ``pickle.dump`` per object ``| zstd -L`` end to end;
  * decompressed: ``PickleCompare zstd-decode`` (``StreamingUnpickler(ZstdDecompressingChunks(...))`` / the plain
    file without zstd / decompression alone) vs ``zstd -dc F > /dev/null``; ``zstd -dc F | python3`` reading
    with ``pickle.load`` end to end.
The headline ratio is the zstd layer's added time (pickle + zstd minus pickle only) over the CLI's time.

Tool-streams section (alone with ``--tool-streams-only``): streams of 1,000,000 small independent pickles
(events `{'seq': i, 'msg': 'event %d' % i, 'ok': True}` at protocol 5, dicts, logging-like records, ints) are given to ``pickletool show`` and ``pickletool convert`` and to the
equivalent CPython loop (``pickle.load(f)`` until EOFError, printing ``repr`` / ``pickle.dump(obj, out, 5)``),
from the file and through a pipe, whole process, alternating; with write(2) counts (``strace -c -f``). (Peak RSS
is not reported: a child's ``ru_maxrss`` starts from this script's own size at fork; use ``/usr/bin/time -v``.)

Checkpoint section (alone with ``--tensors-only``; ``--no-tensors`` skips it): ``tensors_compare.py``'s
1 GiB and 16 MiB PyTorch checkpoints, ``pickletool tensors`` on each and ``pickletool safetensors`` of the
large one against ``cp`` of the same file.

Runs alternate: each measurement is split into rounds, and every round runs the CPython worker and then the
Swift binary, so slow drifts of the machine (frequency, noisy neighbours) hit both sides alike. The median
over all rounds' samples is reported. Ratios are CPython time / Swift time: > 1 means Swift is faster.
"""

import argparse
import gc
import json
import os
import pickle
import platform
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit

import tensors_compare

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCRATCH = os.path.join(ROOT, ".build-bench")
BINARY = os.path.join(SCRATCH, "release", "PickleCompare")
PROTOCOL = 5


# ---------------------------------------------------------------------------------------------------------
# Worker mode: time CPython in a fresh interpreter (invoked as `compare.py --worker loads|dumps FILE N W`).

class ChunkList:
    """A file whose write keeps each chunk it is given (the counterpart of Swift's MemorySink)."""
    __slots__ = ("chunks", "write")

    def __init__(self):
        self.chunks = []
        self.write = self.chunks.append


def buffer_path(path):
    """The out-of-band buffer file of a dataset (`X.pkl` -> `X.buffer`), if it has one."""
    candidate = os.path.splitext(path)[0] + ".buffer"
    return candidate if os.path.exists(candidate) else None


def size_of(obj):
    """What both sides report as a sanity check: the root's length, or a buffer's byte count."""
    if hasattr(obj, "dtype") and hasattr(obj, "nbytes"):  # a numpy array: its element bytes
        return obj.nbytes
    try:
        return len(obj)
    except TypeError:
        return memoryview(obj).nbytes


INNER_CALLS = 20000


def inner_calls(path):
    """Calls per timed sample: a pickle of a few bytes decodes below the clock's resolution, so its samples
    time INNER_CALLS calls each (both sides) and report the time per call. 20,000 calls take a few ms: with
    2,000 (under half a millisecond a sample) the ratios of (g) ranged over 1.1-2.0 in runs of one hour on
    this shared VM."""
    return INNER_CALLS if os.path.getsize(path) < 4096 else 1


def read_dataset(path):
    """A dataset's pickle bytes, and its out-of-band buffers (a list of one `PickleBuffer`, or None)."""
    with open(path, "rb") as f:
        data = f.read()
    buffers = None
    if buffer_path(path):
        with open(buffer_path(path), "rb") as f:
            buffers = [pickle.PickleBuffer(f.read())]
    return data, buffers


def worker(mode, path, repeats, warmup):
    # Out-of-band datasets: the buffer is handed to loads, and dumps hands it to buffer_callback (zero copy
    # both ways, as PickleCompare --buffer does).
    data, buffers = read_dataset(path)
    callback = [].append if buffers else None
    namespace = {"loads": pickle.loads, "dumps": pickle.dumps, "Pickler": pickle.Pickler, "ChunkList": ChunkList,
                 "data": data, "buffers": buffers, "callback": callback, "P": PROTOCOL}
    try:
        if mode == "loads":
            stmt = "loads(data, buffers=buffers)"
            count = size_of(pickle.loads(data, buffers=buffers))
        elif mode == "dumps":
            namespace["obj"] = obj = pickle.loads(data, buffers=buffers)
            stmt = "dumps(obj, P, buffer_callback=callback)"
            count = len(pickle.dumps(obj, PROTOCOL, buffer_callback=callback))
        else:  # "dump": into a writer that keeps each chunk (C Pickler writes payloads >= 64 KiB straight through)
            namespace["obj"] = obj = pickle.loads(data, buffers=buffers)
            stmt = "Pickler(ChunkList(), P, buffer_callback=callback).dump(obj)"
            writer = ChunkList()
            pickle.Pickler(writer, PROTOCOL, buffer_callback=callback).dump(obj)
            # In-band buffers (a numpy array at protocol 5) reach write() as PickleBuffer objects.
            count = sum(memoryview(c).nbytes for c in writer.chunks)
    except RecursionError:
        # The C pickler recurses: a 100,000-deep list cannot be pickled (the unpickler is iterative).
        print(json.dumps({"mode": mode, "error": "RecursionError"}))
        return
    timer = timeit.Timer(stmt, globals=namespace)  # timeit disables gc while timing
    if warmup:
        timer.repeat(repeat=warmup, number=1)
    n = inner_calls(path)
    samples = [round(s * 1e9 / n) for s in timer.repeat(repeat=repeats, number=n)]
    print(json.dumps({"mode": mode, "samples_ns": samples, "count": count}))


# ---------------------------------------------------------------------------------------------------------
# Streaming: the CPython reader (run as `python3 -c STREAM_READER`, kept minimal so its RSS is the
# interpreter's plus what pickle.load holds) and the stream file.

STREAM_READER = r"""
import os, pickle, resource, stat, sys, time
kind = os.fstat(0).st_mode
kind = "pipe" if stat.S_ISFIFO(kind) else "file" if stat.S_ISREG(kind) else "other"
f = sys.stdin.buffer
load = pickle.load
objects = 0
root_count_sum = 0
t0 = time.perf_counter_ns()
try:
    while True:
        obj = load(f)
        objects += 1
        root_count_sum += len(obj)
except EOFError:
    pass
t1 = time.perf_counter_ns()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print('{"stdin": "%s", "elapsed_ns": %d, "objects": %d, "max_rss_kib": %d, "root_count_sum": %d}'
      % (kind, t1 - t0, objects, rss, root_count_sum))
"""

STREAM_OBJECTS = 1_000_000
STREAM_REPEATS = 10     # the long stream: the 1M file piped this many times in a row


def stream_record(i):
    return {'id': i, 'name': f'user{i}', 'score': i * 0.5, 'tags': ['a', 'b']}


def generate_stream(path, n=STREAM_OBJECTS):
    """n independent protocol-4 pickles, concatenated (what n `pickle.dump` calls on one file write)."""
    t0 = time.perf_counter()
    dumps = pickle.dumps
    with open(path, "wb") as f:
        for start in range(0, n, 100_000):
            f.write(b"".join(dumps(stream_record(i), 4) for i in range(start, min(n, start + 100_000))))
    print(f"  generated stream of {n:,} pickles: {human_size(os.path.getsize(path))} "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------------
# Datasets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets as issue_datasets  # noqa: E402  (Benchmarks/datasets.py: the datasets of issue 6)


def dataset_dicts(n=1_000_000):
    return [issue_datasets.record(i) for i in range(n)]


def dataset_range(n=5_000_000):
    return list(range(n))


def dataset_bigints(n=2_000_000):
    rng = random.Random(20240601)
    return [rng.getrandbits(62) for _ in range(n)]


def dataset_unicode(n=500_000):
    return issue_datasets.unicode_strings(n)


def dataset_blobs():
    rng = random.Random(3)
    return [rng.randbytes(1 << 20) for _ in range(200)]


def dataset_bytes(size=100 * 1024 * 1024):
    return random.Random(3).randbytes(size)


class Pickled:
    """A dataset made as pickle bytes (and an out-of-band buffer) rather than as an object to pickle."""
    def __init__(self, data, buffer=None):
        self.data, self.buffer = data, buffer


def dataset_bytes_oob():
    buffers = []
    data = pickle.dumps(pickle.PickleBuffer(dataset_bytes()), PROTOCOL, buffer_callback=buffers.append)
    return Pickled(data, bytes(buffers[0].raw()))


def dataset_numpy():
    import numpy as np
    return np.frombuffer(dataset_bytes(), dtype="<f4")


def dataset_numpy_oob():
    buffers = []
    data = pickle.dumps(dataset_numpy(), PROTOCOL, buffer_callback=buffers.append)
    return Pickled(data, bytes(buffers[0].raw()))


def dataset_record():
    return issue_datasets.record(7)


def dataset_kib():
    return random.Random(5).randbytes(1024)


def dataset_deep_list():
    # Written opcode by opcode (CPython's pickler recurses and cannot write it).
    return Pickled(issue_datasets.deep_list(100_000))


DATASETS = [
    # key, label, factory, chunk-1 test
    ("dicts", "(a) 1M dicts", dataset_dicts, True),
    ("range", "(b) 5M small ints", dataset_range, True),
    ("bigints", "(c) 2M random 62-bit ints", dataset_bigints, False),
    ("unicode", "(d) 500k mixed-unicode str", dataset_unicode, False),
    ("blobs", "(e) 200 × 1 MiB bytes", dataset_blobs, False),
    ("bytes", "(f) 100 MiB bytes (in-band)", dataset_bytes, False),
    ("bytes_oob", "(g) 100 MiB bytes (out-of-band)", dataset_bytes_oob, False),
    ("deep", "(h) list nested 100,000 deep", dataset_deep_list, False),
    # Not one of issue 6's datasets: what one call costs on a message-sized pickle (per-call overhead).
    ("record", "(i) one record, one call each", dataset_record, False),
    # Not one of issue 6's either: the other side of its zero-copy check, "decoding 100 MiB of bytes from a
    # contiguous buffer costs the same as decoding 1 KiB" ((f) against this).
    ("kib", "(j) 1 KiB bytes, one call each", dataset_kib, False),
    # A numpy array of the same 100 MiB: decoded in the time of (f) and (g), its elements a slice of the input
    # or the buffer.
    ("numpy", "(k) 100 MiB float32 numpy array (in-band)", dataset_numpy, False),
    ("numpy_oob", "(l) 100 MiB float32 numpy array (out-of-band)", dataset_numpy_oob, False),
]

# Smaller copies of (a) and (b) for the linearity check of 1-byte feeding.
SMALL = [
    ("dicts10", "(a) 10k dicts", lambda: dataset_dicts(10_000)),
    ("dicts100", "(a) 100k dicts", lambda: dataset_dicts(100_000)),
    ("range10", "(b) list(range(100k))", lambda: dataset_range(100_000)),
]


def generate(directory):
    files = {}
    for key, label, factory, *_ in DATASETS + SMALL:
        t0 = time.perf_counter()
        obj = factory()
        made = obj if isinstance(obj, Pickled) else Pickled(pickle.dumps(obj, protocol=PROTOCOL))
        del obj
        data = made.data
        path = os.path.join(directory, key + ".pkl")
        with open(path, "wb") as f:
            f.write(data)
        if made.buffer is not None:
            with open(buffer_path(path) or os.path.splitext(path)[0] + ".buffer", "wb") as f:
                f.write(made.buffer)
        del made
        files[key] = path
        print(f"  generated {label}: {human_size(len(data))} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        del data
        gc.collect()
    return files


# ---------------------------------------------------------------------------------------------------------
# Running

def run_json(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {shlex.join(argv)}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def python_round(mode, path, repeats, warmup):
    return run_json([sys.executable, os.path.abspath(__file__), "--worker", mode, path, str(repeats), str(warmup)])


def swift_round(args, path, repeats, warmup):
    extra = ["--buffer", buffer_path(path)] if buffer_path(path) else []
    if inner_calls(path) > 1:
        extra += ["--inner", str(inner_calls(path))]
    return run_json([BINARY, args[0], path] + args[1:] + extra + ["--repeat", str(repeats), "--warmup", str(warmup)])


def measure_pair(py_mode, swift_args, path, rounds, per_round, extra_swift=None):
    """Alternates CPython and Swift rounds; returns (python samples, swift samples, last swift json, CPython's
    count). The python samples are None when CPython cannot do it (RecursionError)."""
    py, sw = [], []
    last = None
    py_count = None
    for r in range(rounds):
        result = python_round(py_mode, path, per_round, 1) if py is not None else None
        if result is None or "error" in result:
            py = None
        else:
            py += result["samples_ns"]
            py_count = result["count"]
        argv = swift_args + (extra_swift if (extra_swift and r == 0) else [])
        last = swift_round(argv, path, per_round, 1)
        sw += swift_samples(last, per_round)
    return py, sw, last, py_count


def swift_samples(result, per_round):
    return result["samples_ns"]


def measure_swift(swift_args, path, rounds, per_round):
    sw = []
    for _ in range(rounds):
        sw += swift_samples(swift_round(swift_args, path, per_round, 1), per_round)
    return sw


def stream_round(argv, files):
    """Runs `cat FILES | argv` (the reader sees a pipe) and returns the reader's JSON line.

    The pipeline is run by /bin/sh, which forks the reader: spawned straight from this script, the reader's
    `ru_maxrss` would start at *this* process's peak RSS (Linux carries the high-water mark of the forked
    address space across execve), tens of MiB that the reader never used.
    """
    command = f"set -o pipefail 2>/dev/null; cat {shlex.join(files)} | {shlex.join(argv)}"
    proc = subprocess.run(["/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh", "-c", command],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): cat {shlex.join(files)} | {shlex.join(argv[:2])} ...\n"
                 f"{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["stdin"] != "pipe":
        sys.exit(f"{shlex.join(argv)} saw {result['stdin']} on standard input, not a pipe")
    return result


STREAM_READERS = [
    # key, label, argv
    ("py", "CPython `pickle.load(sys.stdin.buffer)` loop", [sys.executable, "-c", STREAM_READER]),
    ("swift", "Swift `StreamingUnpickler(fileDescriptor: 0)`", [BINARY, "stream"]),
    ("sync", "Swift `PickleParser`, blocking read(2) loop (`stream --sync`)", [BINARY, "stream", "--sync"]),
    # The same StreamingUnpickler with one glibc malloc arena: isolates the cost of the decoding task hopping
    # between cooperative-pool threads (each thread allocates from its own arena; see the README).
    ("arena1", "Swift `StreamingUnpickler`, `MALLOC_ARENA_MAX=1`", ["env", "MALLOC_ARENA_MAX=1", BINARY, "stream"]),
]


def measure_streaming(directory, rounds, chunk_rounds, chunk_per_round, chunk_per_round_bytewise, notes,
                      keep_stream=False):
    """The streaming section; returns a dict of results for print_streaming(). With keep_stream the 1M-object
    stream file is left in `directory` for the zstd section."""
    stream_path = os.path.join(directory, "stream-1m.pkl")
    generate_stream(stream_path)
    dicts_path = os.path.join(directory, "dicts100.pkl")
    if not os.path.exists(dicts_path):
        with open(dicts_path, "wb") as f:
            f.write(pickle.dumps(dataset_dicts(100_000), protocol=PROTOCOL))
    stream_size = os.path.getsize(stream_path)
    expected = {"objects": STREAM_OBJECTS, "root_count_sum": 4 * STREAM_OBJECTS}

    def check(key, result, factor=1):
        for field, value in expected.items():
            if result[field] != value * factor:
                notes.append(f"streaming, {key}: {field} = {result[field]}, expected {value * factor}")

    out = {"size": stream_size, "rounds": rounds, "readers": {}, "rss_empty": {}, "long": {}}
    print(f"timing streaming throughput, {rounds} alternating rounds ...", file=sys.stderr)
    samples = {key: [] for key, _, _ in STREAM_READERS}
    rss = {key: [] for key, _, _ in STREAM_READERS}
    for _ in range(rounds):
        for key, _, argv in STREAM_READERS:
            result = stream_round(argv, [stream_path])
            check(key, result)
            samples[key].append(result["elapsed_ns"])
            rss[key].append(result["max_rss_kib"])
    for key, _, argv in STREAM_READERS:
        out["readers"][key] = {"median": median(samples[key]), "samples": samples[key], "rss": max(rss[key])}
        out["rss_empty"][key] = stream_round(argv, ["/dev/null"])["max_rss_kib"]

    print(f"piping the stream {STREAM_REPEATS} times over into each reader ...", file=sys.stderr)
    for key, _, argv in STREAM_READERS:
        if key == "sync":
            continue
        result = stream_round(argv, [stream_path] * STREAM_REPEATS)
        check(key, result, STREAM_REPEATS)
        out["long"][key] = {"elapsed": result["elapsed_ns"], "rss": result["max_rss_kib"]}

    print("timing whole-buffer vs chunked decode of (a) 100k dicts ...", file=sys.stderr)
    whole, chunk64, hinted, chunk1 = [], [], [], []
    for _ in range(chunk_rounds):
        whole += measure_swift(["decode"], dicts_path, 1, chunk_per_round)
        chunk64 += measure_swift(["decode", "--chunk", "65536"], dicts_path, 1, chunk_per_round)
        hinted += measure_swift(["decode", "--chunk", "65536", "--hint"], dicts_path, 1, chunk_per_round)
        chunk1 += measure_swift(["decode", "--chunk", "1"], dicts_path, 1, chunk_per_round_bytewise)
    out["chunked"] = {"size": os.path.getsize(dicts_path), "whole": median(whole), "chunk64": median(chunk64),
                      "hinted": median(hinted), "chunk1": median(chunk1),
                      "n": (len(whole), len(chunk64), len(chunk1))}
    if not keep_stream:
        os.remove(stream_path)
    return out


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def print_streaming(s):
    n = STREAM_OBJECTS
    readers = s["readers"]
    py = readers["py"]["median"]
    print(f"Streaming: {n:,} independent pickles (`pickle.dumps(record, 4)` concatenated, "
          f"{human_size(s['size'])}) piped with `cat` into each reader; "
          f"{s['rounds']} alternating rounds, medians:")
    print()
    print("| reader | time (median) | objects/s | MiB/s | vs CPython (CPython time / this) |")
    print("|---|---:|---:|---:|---:|")
    for key, label, _ in STREAM_READERS:
        t = readers[key]["median"]
        print(f"| {label} | {ms(t)} | {n / (t / 1e9) / 1e6:.2f} M | {s['size'] / (t / 1e9) / 2**20:.0f} "
              f"| {'–' if key == 'py' else f'**{ratio(py, t)}**'} |")
    sw, sy, sa = readers["swift"]["median"], readers["sync"]["median"], readers["arena1"]["median"]
    print()
    print(f"Time is measured inside each reader, from before its first read to end of file (no process "
          f"start-up). StreamingUnpickler / sync loop: {ratio(sw, sy)} (with `MALLOC_ARENA_MAX=1`: "
          f"{ratio(sa, sy)}); per object: StreamingUnpickler {sw / n:.0f} ns, with one arena {sa / n:.0f} ns, "
          f"sync loop {sy / n:.0f} ns, CPython {py / n:.0f} ns.")
    print()
    long_n = n * STREAM_REPEATS
    print(f"Peak RSS (`ru_maxrss`) of the readers: empty stream, the {n // 1_000_000}M stream (max over the "
          f"rounds), and the same file piped {STREAM_REPEATS} times over ({long_n // 1_000_000}M objects, "
          f"{human_size(s['size'] * STREAM_REPEATS)}, one run):")
    print()
    print(f"| reader | empty stream | {n // 1_000_000}M objects | {long_n // 1_000_000}M objects "
          f"| growth 1M → {long_n // 1_000_000}M | under 64 MiB | {long_n // 1_000_000}M time, objects/s |")
    print("|---|---:|---:|---:|---:|:---:|---:|")
    for key, label, _ in STREAM_READERS:
        if key not in s["long"]:
            continue
        r1, r10 = readers[key]["rss"], s["long"][key]["rss"]
        t10 = s["long"][key]["elapsed"]
        print(f"| {label} | {mib(s['rss_empty'][key])} | {mib(r1)} | {mib(r10)} | {r10 - r1:+,d} KiB "
              f"| {'yes' if max(r1, r10) < 64 * 1024 else 'NO'} | {t10 / 1e9:.2f} s, {long_n / (t10 / 1e9) / 1e6:.2f} M |")
    c = s["chunked"]
    r64, rh, r1 = c["chunk64"] / c["whole"], c["hinted"] / c["whole"], c["chunk1"] / c["whole"]
    print()
    print(f"Push parser fed in chunks vs whole-buffer decode, (a) 100k dicts ({human_size(c['size'])}), "
          f"alternating, medians of {c['n'][0]}/{c['n'][1]}/{c['n'][2]} samples:")
    print()
    print("| dataset | whole buffer | 64 KiB chunks | 64 KiB / whole (target ≤ 1.05) | 1-byte chunks "
          "| 1-byte / whole (target ≤ 3) | 64 KiB + size hint | hinted / whole |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| (a) 100k dicts | {ms(c['whole'])} | {ms(c['chunk64'])} | **{r64:.3f}** "
          f"{'ok' if r64 <= 1.05 else 'OVER'} | {ms(c['chunk1'])} | **{r1:.2f}** {'ok' if r1 <= 3 else 'OVER'} "
          f"| {ms(c['hinted'])} | {rh:.3f} |")
    print()
    print("`--chunk N`: a bare `PickleParser` fed N bytes per `feed` call; it does not know the input length, so "
          "its arenas grow ahead of the input (reserved for 16x the bytes so far at 256 KiB, 4 MiB, ...), while `loads` "
          "sizes them from the input length. `64 KiB + size hint`: the same chunks through "
          "`StreamingUnpickler(chunks, expectedByteCount:)` (`--chunk 65536 --hint`), which sizes them as `loads` does.")


# ---------------------------------------------------------------------------------------------------------
# zstd: the PickleZstd layer against the zstd CLI (also alone with `--zstd-only`; `--no-zstd` skips it).

# The CPython writer of the compression pipeline (`python3 -c PY_ZSTD_WRITER FILE PROTOCOL | zstd -L`): loads
# every pickle of FILE (not timed), then `pickle.dump`s each object to standard output. It reports the
# CLOCK_MONOTONIC time before its first dump on standard error and leaves with os._exit, which closes the pipe
# at once (no interpreter teardown before zstd sees end of file); the pipeline's time runs from that instant to
# zstd's exit, as seen by compare.py on the same clock.
PY_ZSTD_WRITER = r"""
import gc, os, pickle, sys, time
path, protocol = sys.argv[1], int(sys.argv[2])
objects = []
gc.disable()
with open(path, "rb") as f:
    try:
        while True:
            objects.append(pickle.load(f))
    except EOFError:
        pass
gc.enable()
out = sys.stdout.buffer
dump = pickle.dump
t0 = time.monotonic_ns()
for obj in objects:
    dump(obj, out, protocol)
out.flush()
t1 = time.monotonic_ns()
os.write(2, ('{"start_ns": %d, "dump_ns": %d, "objects": %d}\n' % (t0, t1 - t0, len(objects))).encode())
os._exit(0)
"""

ZSTD_HIGH_OBJECTS = 25_000   # the level-19 stream: 25k of the small pickles (level 19 compresses ~2 MB/s)


def zstd_cases(directory, stream_path, dicts_path, quick):
    """(key, label, plain file, protocol, level, encode rounds, repeats per encode process, decode repeats)."""
    rounds = 2 if quick else 3
    small = os.path.join(directory, f"stream-{ZSTD_HIGH_OBJECTS // 1000}k.pkl")
    if not os.path.exists(small):
        generate_stream(small, ZSTD_HIGH_OBJECTS)
    return [
        {"key": "stream", "label": f"{STREAM_OBJECTS // 1_000_000}M small pickles", "path": stream_path,
         "protocol": 4, "level": 3, "rounds": rounds, "enc_repeat": 4, "enc_warmup": 1, "dec_repeat": 3,
         "objects": STREAM_OBJECTS, "root_sum": 4 * STREAM_OBJECTS},
        {"key": "dicts", "label": "(a) 100k dicts, one pickle", "path": dicts_path,
         "protocol": PROTOCOL, "level": 3, "rounds": rounds, "enc_repeat": 7, "enc_warmup": 2, "dec_repeat": 7,
         "objects": 1, "root_sum": 100_000},
        {"key": "stream19", "label": f"{ZSTD_HIGH_OBJECTS // 1000}k small pickles", "path": small,
         "protocol": 4, "level": 19, "rounds": rounds, "enc_repeat": 1, "enc_warmup": 0, "dec_repeat": 5,
         "objects": ZSTD_HIGH_OBJECTS, "root_sum": 4 * ZSTD_HIGH_OBJECTS},
    ]


def timed_process(argv, stdin_path=None):
    """Runs argv with standard output to /dev/null; returns (wall ns, user+system CPU ns) from os.wait4."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        t0 = time.perf_counter_ns()
        proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        t1 = time.perf_counter_ns()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read()
        proc.stderr.close()
    finally:
        if stdin_path:
            stdin.close()
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {shlex.join(argv)}\n{err.decode(errors='replace')}")
    return t1 - t0, round((usage.ru_utime + usage.ru_stime) * 1e9)


def output_size(argv):
    """The number of bytes argv writes to standard output."""
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {shlex.join(argv)}\n{proc.stderr.decode(errors='replace')}")
    return len(proc.stdout)


def swift_zstd_encode(case, extra, stdout=subprocess.DEVNULL):
    """Runs `PickleCompare zstd-encode` (standard output to `stdout`); returns its JSON (standard error)."""
    argv = [BINARY, "zstd-encode", case["path"], "--level", str(case["level"]), "--protocol",
            str(case["protocol"])] + extra
    proc = subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {shlex.join(argv)}\n{proc.stderr}")
    return json.loads(proc.stderr.strip().splitlines()[-1])


def writer_pipeline(writer_argv, level):
    """`WRITER | zstd -LEVEL -c > /dev/null`: the time from the writer's reported start (`start_ns` or
    `last_start_ns` in the JSON it writes on standard error, CLOCK_MONOTONIC) to zstd's exit."""
    writer = subprocess.Popen(writer_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    compressor = subprocess.Popen(["zstd", f"-{level}", "-c"], stdin=writer.stdout, stdout=subprocess.DEVNULL)
    writer.stdout.close()
    compressor.wait()
    end = time.monotonic_ns()
    err = writer.stderr.read().decode(errors="replace")
    writer.wait()
    if writer.returncode != 0 or compressor.returncode != 0:
        sys.exit(f"pipeline failed ({writer.returncode}, {compressor.returncode}): {shlex.join(writer_argv[:3])} "
                 f"... | zstd -{level}\n{err}")
    result = json.loads(err.strip().splitlines()[-1])
    return end - result.get("start_ns", result.get("last_start_ns")), result


def reader_pipeline(compressed, reader_argv):
    """`zstd -dc COMPRESSED | READER` (run by bash, as stream_round does); returns the reader's JSON line."""
    command = f"set -o pipefail; zstd -dc {shlex.quote(compressed)} | {shlex.join(reader_argv)}"
    proc = subprocess.run(["/bin/bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): zstd -dc ... | {shlex.join(reader_argv[:2])} ...\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def paired_differences(a, b):
    return [x - y for x, y in zip(a, b)]


def measure_zstd(directory, stream_path, dicts_path, quick, notes):
    """The zstd section: for each case, compression then decompression, rounds alternating every command."""
    if shutil.which("zstd") is None:
        notes.append("zstd section skipped: no `zstd` on PATH")
        return None
    if not os.path.exists(stream_path):
        generate_stream(stream_path)
    if not os.path.exists(dicts_path):
        with open(dicts_path, "wb") as f:
            f.write(pickle.dumps(dataset_dicts(), protocol=PROTOCOL))
    cli_version = subprocess.run(["zstd", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    results = []
    for case in zstd_cases(directory, stream_path, dicts_path, quick):
        path, level, label = case["path"], case["level"], case["label"]
        print(f"zstd: {label}, level {level} ...", file=sys.stderr)
        r = {"case": case, "plain_size": os.path.getsize(path)}
        compressed = os.path.join(directory, case["key"] + f".{level}.zst")

        # Our compressed output, checked with the CLI: it must decompress to the plain file (so our pickles
        # equal CPython's and both compressors see the same bytes); it is also the decompression input.
        with open(compressed, "wb") as out:
            one = swift_zstd_encode(case, ["--only", "zstd", "--repeat", "1", "--warmup", "0"], stdout=out)
        with open(path, "rb") as f:
            plain = f.read()
        roundtrip = subprocess.run(["zstd", "-dc", compressed], stdout=subprocess.PIPE).stdout
        r["roundtrip"] = roundtrip == plain
        if not r["roundtrip"]:
            notes.append(f"zstd, {label}: `zstd -dc` of our output differs from the plain file")
        del plain, roundtrip
        r["size_ours"] = os.path.getsize(compressed)
        if r["size_ours"] != one["zstd_bytes"]:
            notes.append(f"zstd, {label}: sink reported {one['zstd_bytes']} bytes, file has {r['size_ours']}")
        r["size_cli"] = output_size(["zstd", f"-{level}", "-c", path])
        r["size_cli_single"] = output_size(["zstd", f"-{level}", "--single-thread", "-c", path])

        enc = {k: [] for k in ("pickle", "zstd", "compress", "paired", "insitu", "cli", "cli_cpu", "cli1",
                               "cli1_cpu", "py_pipe", "sw_pipe")}
        dec = {k: [] for k in ("zstd", "plain", "decompress", "paired", "src_zstd", "src_plain", "src_paired",
                               "cli", "cli_cpu", "cli1", "cli1_cpu", "py_pipe", "sw_pipe")}
        reps = case["enc_repeat"]
        for _ in range(case["rounds"]):
            # Compression: ours (pickle only / pickle + zstd / zstd alone, alternating in one process), the CLI
            # (default: one worker thread + asynchronous I/O; and --single-thread), and the two pipelines.
            j = swift_zstd_encode(case, ["--repeat", str(reps), "--warmup", str(case["enc_warmup"])])
            enc["pickle"] += j["pickle_samples_ns"]
            enc["zstd"] += j["zstd_samples_ns"]
            enc["compress"] += j["compress_samples_ns"]
            enc["paired"] += paired_differences(j["zstd_samples_ns"], j["pickle_samples_ns"])
            # In situ: the time spent inside the compressing sink during the pickle + zstd runs, minus the time
            # inside the plain FileDescriptorSink (writes to /dev/null) during the pickle-only runs.
            enc["insitu"] += paired_differences(j["zstd_sink_samples_ns"], j["pickle_sink_samples_ns"])
            for _ in range(reps):
                wall, cpu = timed_process(["zstd", f"-{level}", "-c", path])
                enc["cli"].append(wall)
                enc["cli_cpu"].append(cpu)
                wall, cpu = timed_process(["zstd", f"-{level}", "--single-thread", "-c", path])
                enc["cli1"].append(wall)
                enc["cli1_cpu"].append(cpu)
            t, info = writer_pipeline([sys.executable, "-c", PY_ZSTD_WRITER, path, str(case["protocol"])], level)
            if info["objects"] != case["objects"]:
                notes.append(f"zstd, {label}: CPython writer dumped {info['objects']} objects")
            enc["py_pipe"].append(t)
            t, _ = writer_pipeline([BINARY, "zstd-encode", path, "--protocol", str(case["protocol"]),
                                    "--only", "pickle", "--repeat", "1", "--warmup", "0"], level)
            enc["sw_pipe"].append(t)

            # Decompression: ours (zstd + unpickle / plain unpickle / zstd alone, alternating in one process),
            # the CLI (default, and --no-asyncio), and the pipelines into CPython's and our readers.
            argv = [BINARY, "zstd-decode", "--plain", path, "--repeat", str(case["dec_repeat"]), "--warmup", "0"]
            j = run_json_stdin(argv, compressed)
            for key in ("zstd", "plain"):
                if j[f"{key}_objects"] != case["objects"] or j[f"{key}_root_count_sum"] != case["root_sum"]:
                    notes.append(f"zstd, {label}: {key} decode gave {j[f'{key}_objects']} objects")
            dec["zstd"] += j["zstd_samples_ns"]
            dec["plain"] += j["plain_samples_ns"]
            dec["decompress"] += j["decompress_samples_ns"]
            dec["paired"] += paired_differences(j["zstd_samples_ns"], j["plain_samples_ns"])
            # In situ: the time spent inside the chunk source's next(): reading the compressed file and
            # decompressing, vs reading the plain file.
            dec["src_zstd"] += j["zstd_source_samples_ns"]
            dec["src_plain"] += j["plain_source_samples_ns"]
            dec["src_paired"] += paired_differences(j["zstd_source_samples_ns"], j["plain_source_samples_ns"])
            for _ in range(case["dec_repeat"]):
                wall, cpu = timed_process(["zstd", "-dc", compressed])
                dec["cli"].append(wall)
                dec["cli_cpu"].append(cpu)
                wall, cpu = timed_process(["zstd", "-dc", "--no-asyncio", compressed])
                dec["cli1"].append(wall)
                dec["cli1_cpu"].append(cpu)
            for key, argv in (("py_pipe", [sys.executable, "-c", STREAM_READER]), ("sw_pipe", [BINARY, "stream"])):
                res = reader_pipeline(compressed, argv)
                if res["objects"] != case["objects"] or res["root_count_sum"] != case["root_sum"]:
                    notes.append(f"zstd, {label}: {key} read {res['objects']} objects")
                dec[key].append(res["elapsed_ns"])
        r["enc"] = {k: median(v) for k, v in enc.items()}
        r["dec"] = {k: median(v) for k, v in dec.items()}
        r["n"] = {"enc": len(enc["zstd"]), "cli": len(enc["cli"]), "pipe": len(enc["py_pipe"]),
                  "dec": len(dec["zstd"]), "dcli": len(dec["cli"])}
        results.append(r)
        os.remove(compressed)
    return {"cases": results, "cli": cli_version}


def run_json_stdin(argv, stdin_path):
    with open(stdin_path, "rb") as f:
        proc = subprocess.run(argv, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {shlex.join(argv)} < {stdin_path}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_zstd(z):
    cases = z["cases"]
    print(f"zstd: `PickleZstd` against the zstd CLI ({z['cli'].split(',')[0].strip('* ')}) on the same bytes; "
          "medians. Our side is timed inside `PickleCompare` (no process start-up, input already in memory), "
          "the CLI from spawn to exit (reading the plain or compressed file from the page cache, writing to "
          "/dev/null).")
    print()
    print("Compression (`PickleCompare zstd-encode`: `StreamingPickler(records: .independent)` into "
          "`FileDescriptorSink(1)` → /dev/null, with and without `ZstdCompressingSink` in between):")
    print()
    print("| data | level | plain size | Swift pickle only | Swift pickle + zstd | zstd layer added (paired) "
          "| layer in situ | layer alone | CLI `zstd -L -c F` wall (CPU) | CLI `--single-thread` wall (CPU) "
          "| **added / CLI** (target ≤ 1.10) | in situ / CLI | alone / CLI |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in cases:
        c, e = r["case"], r["enc"]
        added = e["paired"]
        print(f"| {c['label']} | {c['level']} | {human_size(r['plain_size'])} | {ms(e['pickle'])} | {ms(e['zstd'])} "
              f"| {ms(added)} | {ms(e['insitu'])} | {ms(e['compress'])} | {ms(e['cli'])} ({ms(e['cli_cpu'])}) "
              f"| {ms(e['cli1'])} ({ms(e['cli1_cpu'])}) | **{added / e['cli']:.2f}** "
              f"{'ok' if added / e['cli'] <= 1.10 else 'OVER'} | {e['insitu'] / e['cli']:.2f} "
              f"| {e['compress'] / e['cli']:.2f} |")
    print()
    print("*added (paired)*: median over repetitions of (pickle + zstd run) − (pickle-only run next to it, same "
          "process). *in situ*: median of the time spent inside `ZstdCompressingSink.write`/`flush`/`finish` "
          "during the pickle + zstd runs, minus the time inside the plain sink during the pickle-only runs "
          "(clock read around each sink call, one per ~64 KiB frame). *alone*: the same sink compressing the "
          "plain file's bytes from memory in 64 KiB slices, no pickling. The CLI is timed from spawn to exit.")
    print()
    print("Compressed sizes (ours: one frame, checksum, no content size in the header; the CLI knows the file "
          "size and writes it; its default `-T1` compresses in jobs, `--single-thread` in one stream as we do):")
    print()
    print("| data | level | plain | ours | CLI default | CLI `--single-thread` | ours / CLI default "
          "| ours / CLI single | `zstd -dc` of ours = plain |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|:---:|")
    for r in cases:
        c = r["case"]
        print(f"| {c['label']} | {c['level']} | {r['plain_size']:,} | {r['size_ours']:,} | {r['size_cli']:,} "
              f"| {r['size_cli_single']:,} | {r['size_ours'] / r['size_cli']:.4f} "
              f"| {r['size_ours'] / r['size_cli_single']:.4f} | {'yes' if r['roundtrip'] else 'NO'} |")
    print()
    print("Compression end to end, from the first dump to the last compressed byte: CPython "
          "`pickle.dump(obj, sys.stdout.buffer, P)` per object piped into `zstd -L` (two processes, two cores), "
          "ours in one process (pickle + zstd above), and our pickles piped into `zstd -L` "
          "(`zstd-encode --only pickle | zstd -L`):")
    print()
    print("| data | level | CPython `dump` loop \\| `zstd -L` | Swift in-process | CPython / Swift in-process "
          "| Swift \\| `zstd -L` | CPython / Swift piped |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in cases:
        c, e = r["case"], r["enc"]
        print(f"| {c['label']} | {c['level']} | {ms(e['py_pipe'])} | {ms(e['zstd'])} | **{ratio(e['py_pipe'], e['zstd'])}** "
              f"| {ms(e['sw_pipe'])} | {ratio(e['py_pipe'], e['sw_pipe'])} |")
    print()
    print("Decompression (`PickleCompare zstd-decode < COMPRESSED`: "
          "`StreamingUnpickler(ZstdDecompressingChunks(FileDescriptorByteStream(0)))`, vs "
          "`StreamingUnpickler(FileDescriptorByteStream(fd))` on the plain file, vs `ZstdDecompressingChunks` "
          "alone; COMPRESSED is our output above):")
    print()
    print("| data | level | Swift plain unpickle | Swift zstd + unpickle | zstd layer added (paired) "
          "| source in situ: zstd (read + decompress) / plain (read) | in situ added | layer alone (decompress only) "
          "| CLI `zstd -dc F` wall (CPU) | CLI `--no-asyncio` wall (CPU) | **added / CLI** | in situ added / CLI "
          "| alone / CLI |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in cases:
        c, d = r["case"], r["dec"]
        added = d["paired"]
        print(f"| {c['label']} | {c['level']} | {ms(d['plain'])} | {ms(d['zstd'])} | {ms(added)} "
              f"| {ms(d['src_zstd'])} / {ms(d['src_plain'])} | {ms(d['src_paired'])} | {ms(d['decompress'])} "
              f"| {ms(d['cli'])} ({ms(d['cli_cpu'])}) | {ms(d['cli1'])} ({ms(d['cli1_cpu'])}) "
              f"| **{added / d['cli']:.2f}** | {d['src_paired'] / d['cli']:.2f} | {d['decompress'] / d['cli']:.2f} |")
    print()
    print("*source in situ*: time spent inside the chunk source's `next()` during the unpickling runs: "
          "`ZstdDecompressingChunks` (reading the compressed file and decompressing) vs `FileDescriptorByteStream` "
          "(reading the plain file); *in situ added* is their paired difference: negative when decompressing "
          "costs less than reading the larger plain file.")
    print()
    print("Decompression end to end (each reader timed from before its first read to end of stream): "
          "`zstd -dc F | python3` reading with `pickle.load(sys.stdin.buffer)` until EOFError, ours in one "
          "process (zstd + unpickle above), and `zstd -dc F | PickleCompare stream`:")
    print()
    print("| data | level | CPython `zstd -dc` \\| `pickle.load` loop | Swift in-process | CPython / Swift in-process "
          "| Swift `zstd -dc` \\| `StreamingUnpickler` | CPython / Swift piped |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in cases:
        c, d = r["case"], r["dec"]
        print(f"| {c['label']} | {c['level']} | {ms(d['py_pipe'])} | {ms(d['zstd'])} | **{ratio(d['py_pipe'], d['zstd'])}** "
              f"| {ms(d['sw_pipe'])} | {ratio(d['py_pipe'], d['sw_pipe'])} |")
    print()
    ns = [r["n"] for r in cases]
    print("Samples per cell (compression: ours / each CLI / each pipeline; decompression: ours / each CLI / each "
          "pipeline): " + "; ".join(f"{r['case']['label']} L{r['case']['level']}: {n['enc']}/{n['cli']}/{n['pipe']}, "
                                   f"{n['dec']}/{n['dcli']}/{n['pipe']}" for r, n in zip(cases, ns)) + ". "
          "'added (paired)' is the median of the per-repetition differences (zstd run minus the plain run next to "
          "it in the same process).")


def median(xs):
    return statistics.median(xs)


def human_size(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def ms(ns):
    if ns < 0:
        return "-" + ms(-ns)
    v = ns / 1e6
    if v >= 100:
        return f"{v:.0f} ms"
    if v >= 10:
        return f"{v:.1f} ms"
    if v >= 0.1:
        return f"{v:.2f} ms"
    return f"{ns / 1e3:.1f} µs"


def ratio(a, b):
    r = a / b
    return f"{r:.2f}×" if r < 100 else f"{r:.0f}×"


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        cpu = platform.processor() or "unknown"
    try:
        nproc = subprocess.run(["nproc"], stdout=subprocess.PIPE, text=True).stdout.strip()
    except OSError:
        nproc = str(os.cpu_count())
    try:
        swift = subprocess.run(["swift", "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        swift = "unknown"
    return cpu, nproc, swift


CONVERT_SCRIPT = "import pickle, sys\nsys.stdout.buffer.write(pickle.dumps(pickle.load(open(sys.argv[1], 'rb')), 5))"


def measure_convert(files, rounds):
    """Whole process, file to /dev/null: `pickletool convert FILE` against the same job in a CPython script,
    alternating, `rounds` samples each. Returns rows of (label, size, python median, pickletool median); the
    python median is None when the script fails (RecursionError on the deep list). Out-of-band datasets are
    left out: a file converter has no buffers to hand to NEXT_BUFFER."""
    tool = os.path.join(ROOT, ".build", "release", "pickletool")
    rows = []
    for key, label, *_ in DATASETS:
        path = files[key]
        if buffer_path(path):
            continue
        py, sw = [], []
        for _ in range(rounds):
            for argv, sink in (([sys.executable, "-c", CONVERT_SCRIPT, path], py), ([tool, "convert", path], sw)):
                if sink is None:
                    continue
                t0 = time.perf_counter_ns()
                done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                elapsed = time.perf_counter_ns() - t0
                if done.returncode != 0:
                    if sink is sw:
                        sys.exit(f"pickletool convert {path} failed ({done.returncode})")
                    py = None
                    continue
                sink.append(elapsed)
        rows.append((label, os.path.getsize(path), median(py) if py else None, median(sw)))
    return rows


def print_convert(rows):
    print("Whole process, `pickletool convert FILE > /dev/null` against `python3 -c 'pickle.dumps(pickle.load(f), 5)'`:")
    print()
    print("| dataset | pickle size | CPython script | pickletool convert | ratio |")
    print("|---|---:|---:|---:|---:|")
    for label, size, py, sw in rows:
        if py is None:
            print(f"| {label} | {human_size(size)} | RecursionError | {ms(sw)} | – |")
        else:
            print(f"| {label} | {human_size(size)} | {ms(py)} | {ms(sw)} | **{py / sw:.2f}×** |")



# ---------------------------------------------------------------------------------------------------------
# Tool streams: pickletool show/convert against the equivalent CPython loop, whole process, same bytes.

TOOL_STREAM_SHOW = """import pickle, sys
f = sys.stdin.buffer if sys.argv[1] == '-' else open(sys.argv[1], 'rb')
w, load = sys.stdout.write, pickle.load
try:
    while True:
        w(repr(load(f)) + '\\n')
except EOFError:
    pass
"""

TOOL_STREAM_CONVERT = """import pickle, sys
f = sys.stdin.buffer if sys.argv[1] == '-' else open(sys.argv[1], 'rb')
out, load, dump = sys.stdout.buffer, pickle.load, pickle.dump
try:
    while True:
        dump(load(f), out, 5)
except EOFError:
    pass
"""


def tool_stream_datasets(directory, n):
    """Streams of n small independent pickles, as n `pickle.dump(obj, f)` calls write them."""
    made = []
    for name, make, protocol in (("events", lambda i: {'seq': i, 'msg': 'event %d' % i, 'ok': True}, 5),
                                 ("dicts", stream_record, 4),
                                 ("log records", lambda i: {'name': 'app.db', 'levelno': 20, 'msg': f'query {i} done',
                                                            'args': None, 'created': 1.7e9 + i / 1000}, 4),
                                 ("ints", lambda i: i * 7919, 2)):
        path = os.path.join(directory, f"tool-stream-{name.replace(' ', '-')}.pkl")
        dumps = pickle.dumps
        with open(path, "wb") as f:
            for start in range(0, n, 100_000):
                f.write(b"".join(dumps(make(i), protocol) for i in range(start, min(n, start + 100_000))))
        made.append((name, path))
    return made


def run_process(argv, stdin_path=None, piped=False):
    """Runs argv with stdout to /dev/null: (wall ns, peak RSS KiB, exit status). With `piped`, the input
    file is fed through `cat` and a pipe (the tool then reads a pipe, not a file)."""
    t0 = time.perf_counter_ns()
    if piped:
        cat = subprocess.Popen(["cat", stdin_path], stdout=subprocess.PIPE)
        proc = subprocess.Popen(argv + ["-"], stdin=cat.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cat.stdout.close()
    else:
        proc = subprocess.Popen(argv + [stdin_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter_ns() - t0
    if piped:
        cat.wait()
    return elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def count_writes(argv, path):
    """write(2)/send(2) calls of the whole process (strace -c -f), or None without strace."""
    if shutil.which("strace") is None:
        return None
    with tempfile.NamedTemporaryFile(mode="r", suffix=".strace") as log:
        subprocess.run(["strace", "-f", "-c", "-o", log.name] + argv + [path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        total = 0
        for line in log:
            fields = line.split()
            if fields and fields[-1] in ("write", "writev", "sendto", "sendmsg"):
                total += int(fields[3] if len(fields) >= 6 else fields[3])
        return total


def measure_tool_streams(directory, n, rounds):
    tool = os.path.join(ROOT, ".build", "release", "pickletool")
    rows = []
    for name, path in tool_stream_datasets(directory, n):
        for command, script in (("show", TOOL_STREAM_SHOW), ("convert", TOOL_STREAM_CONVERT)):
            for piped in (False, True):
                py_argv = [sys.executable, "-c", script]
                sw_argv = [tool, command] + (["--protocol", "5"] if command == "convert" else [])
                py, sw, py_rss, sw_rss = [], [], [], []
                for _ in range(rounds):
                    for argv, times, rss in ((py_argv, py, py_rss), (sw_argv, sw, sw_rss)):
                        elapsed, peak, status = run_process(argv, path, piped)
                        if status != 0:
                            sys.exit(f"{shlex.join(argv)} on {path} failed ({status})")
                        times.append(elapsed)
                        rss.append(peak)
                writes = None if piped else (count_writes(py_argv, path), count_writes(sw_argv, path))
                rows.append({"dataset": name, "size": os.path.getsize(path), "command": command,
                             "input": "pipe" if piped else "file", "py": median(py), "sw": median(sw),
                             "py_rss": max(py_rss), "sw_rss": max(sw_rss), "writes": writes})
                print(f"  {name} {command} {'pipe' if piped else 'file'}: {py[-1] / sw[-1]:.2f}×", file=sys.stderr)
    return rows


def print_tool_streams(rows, n):
    print(f"Streams of {n:,} small pickles, whole process, output to /dev/null: `pickletool show|convert` against "
          "the CPython loop (`while True: pickle.load(f)` and print repr / `pickle.dump(obj, out, 5)`), same bytes "
          "(ratio = CPython time / pickletool time):")
    print()
    print("| stream | size | command | input | CPython loop | pickletool | ratio | write calls (CPython / pickletool) |")
    print("|---|---:|---|---|---:|---:|---:|---:|")
    for r in rows:
        writes = "–" if not r["writes"] or None in r["writes"] else f"{r['writes'][0]:,} / {r['writes'][1]:,}"
        print(f"| {r['dataset']} | {human_size(r['size'])} | {r['command']} | {r['input']} | {ms(r['py'])} | "
              f"{ms(r['sw'])} | **{r['py'] / r['sw']:.2f}×** | {writes} |")


def run_tool_streams(opts, command):
    if not opts.no_build:
        argv = ["swift", "build", "-c", "release", "--package-path", ROOT, "--product", "pickletool"]
        print(f"building: {shlex.join(argv)}", file=sys.stderr)
        subprocess.run(argv, check=True, stdout=sys.stderr)
    started = time.perf_counter()
    rounds = opts.repeat or (3 if opts.quick else 5)
    with tempfile.TemporaryDirectory(prefix="pickle-tool-streams-") as directory:
        rows = measure_tool_streams(opts.keep or directory, opts.tool_stream_objects, rounds)
    cpu, nproc, swift = machine()
    print()
    print(f"Machine: {cpu}, nproc = {nproc}; {swift}; Python {platform.python_version()}")
    print(f"Command: `{command}` ({rounds} alternating rounds, medians; wall time {time.perf_counter() - started:.0f} s)")
    print()
    print_tool_streams(rows, opts.tool_stream_objects)


def build():
    argv = ["swift", "build", "-c", "release", "--package-path", ROOT, "--product", "pickletool"]
    print(f"building: {shlex.join(argv)}", file=sys.stderr)
    subprocess.run(argv, check=True, stdout=sys.stderr)
    argv = ["swift", "build", "-c", "release", "--package-path", HERE, "--scratch-path", SCRATCH,
            "--product", "PickleCompare"]
    print(f"building: {shlex.join(argv)}", file=sys.stderr)
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=sys.stderr)
    print(f"  built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (whole run well under 3 minutes)")
    parser.add_argument("--no-build", action="store_true", help="use the existing PickleCompare binary")
    parser.add_argument("--repeat", type=int, help="samples per measurement (default 15, --quick 6)")
    parser.add_argument("--keep", metavar="DIR", help="write the datasets to DIR and keep them")
    section = parser.add_mutually_exclusive_group()
    section.add_argument("--streaming-only", action="store_true", help="run only the streaming section")
    section.add_argument("--no-streaming", action="store_true", help="skip the streaming section")
    section.add_argument("--zstd-only", action="store_true", help="run only the zstd section")
    section.add_argument("--tool-streams-only", action="store_true",
                         help="run only pickletool show/convert on streams of many small pickles against the CPython loop")
    parser.add_argument("--tool-stream-objects", type=int, default=1_000_000, metavar="N",
                        help="pickles per stream in the tool-streams section (default 1,000,000)")
    section.add_argument("--tensors-only", action="store_true",
                         help="run only the checkpoint section (tensors_compare.py: pickletool tensors and safetensors against cp)")
    parser.add_argument("--no-tensors", action="store_true", help="skip the checkpoint section")
    parser.add_argument("--no-zstd", action="store_true", help="skip the zstd section")
    parser.add_argument("--stream-rounds", type=int, metavar="R",
                        help="alternating rounds of the 1M-object stream (default 7, --quick 3)")
    opts = parser.parse_args()
    if opts.zstd_only and opts.no_zstd:
        parser.error("--zstd-only and --no-zstd exclude each other")
    only_section = opts.streaming_only or opts.zstd_only
    run_streaming = not opts.no_streaming and not opts.zstd_only
    run_zstd = not opts.no_zstd and not opts.streaming_only

    command = shlex.join(["python3", os.path.relpath(os.path.abspath(__file__))] + sys.argv[1:])
    if opts.tool_streams_only:
        run_tool_streams(opts, command)
        return
    if opts.tensors_only:
        if not opts.no_build:
            subprocess.run(["swift", "build", "-c", "release", "--package-path", ROOT, "--product", "pickletool"], check=True, stdout=sys.stderr)
        print("\n".join(tensors_compare.measure(os.path.join(ROOT, ".build", "release", "pickletool"), opts.repeat or 7, opts.keep)))
        return
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    if not opts.no_build:
        build()
    if not os.path.exists(BINARY):
        sys.exit(f"{BINARY} is missing: run without --no-build")

    rounds = 3
    total = opts.repeat or (6 if opts.quick else 15)
    per_round = max(1, -(-total // rounds))
    # 1-byte feeding is slow (tens of ns per byte): fewer samples are enough for a ratio.
    per_round_bytewise = max(1, per_round // 2) if opts.quick else per_round
    stream_rounds = opts.stream_rounds or (3 if opts.quick else 7)

    tmp = None
    if opts.keep:
        os.makedirs(opts.keep, exist_ok=True)
        directory = opts.keep
    else:
        tmp = tempfile.TemporaryDirectory(prefix="pickle-compare-")
        directory = tmp.name
    rows = []
    linear = []
    notes = []
    streaming = None
    zstd = None
    convert = None
    tensors = None
    try:
        if not only_section:
            print(f"generating datasets in {directory}", file=sys.stderr)
            files = generate(directory)
        else:
            files = {}
        for key, label, _, bytewise in (DATASETS if not only_section else []):
            path = files[key]
            size = os.path.getsize(path)
            print(f"timing {label} ...", file=sys.stderr)
            swift_out = os.path.join(directory, key + ".swift.pkl")
            py_loads, sw_decode, dec, py_count = measure_pair("loads", ["decode"], path, rounds, per_round)
            if dec["root_count"] != py_count:
                notes.append(f"{label}: Swift decoded {dec['root_count']} items, CPython {py_count}")
            py_dumps, sw_encode, _, py_dump_size = measure_pair(
                "dumps", ["encode", "--protocol", str(PROTOCOL)], path, rounds, per_round,
                extra_swift=["--out", swift_out])
            identical = check_encoding(path, swift_out)
            os.remove(swift_out)
            py_dump, sw_sink, _, _ = measure_pair("dump", ["encode", "--protocol", str(PROTOCOL), "--sink"], path,
                                                  rounds, per_round)
            chunk64 = measure_swift(["decode", "--chunk", "65536"], path, rounds, per_round)
            chunk1 = measure_swift(["decode", "--chunk", "1"], path, rounds, per_round_bytewise) if bytewise else None
            row = {
                "label": label, "size": size,
                "py_loads": median(py_loads), "sw_decode": median(sw_decode),
                "py_dumps": median(py_dumps) if py_dumps else None, "sw_encode": median(sw_encode),
                "py_dump": median(py_dump) if py_dump else None, "sw_sink": median(sw_sink),
                "chunk64": median(chunk64), "chunk1": median(chunk1) if chunk1 else None,
                "identical": identical,
            }
            if key in ("bytes", "numpy"):
                # The zero-copy checks, (f) against (j) and (k) against (f): timed like (j), INNER_CALLS calls a sample (one call is below
                # the clock's resolution, and a lone call finds its few cache lines cold).
                row["sw_decode_inner"] = median(measure_swift(["decode", "--inner", str(INNER_CALLS)], path, rounds,
                                                              per_round))
            rows.append(row)

        for key, label, _ in (SMALL if not only_section else []):
            path = files[key]
            whole = measure_swift(["decode"], path, rounds, per_round)
            bytewise = measure_swift(["decode", "--chunk", "1"], path, rounds, per_round)
            linear.append({"label": label, "size": os.path.getsize(path), "whole": median(whole),
                           "chunk1": median(bytewise)})
        convert = measure_convert(files, 3 if opts.quick else 5) if not only_section else None
        if run_streaming:
            streaming = measure_streaming(directory, stream_rounds, rounds, per_round, per_round_bytewise, notes,
                                          keep_stream=run_zstd)
        if run_zstd:
            zstd_started = time.perf_counter()
            zstd = measure_zstd(directory, os.path.join(directory, "stream-1m.pkl"),
                                os.path.join(directory, "dicts100.pkl"), opts.quick, notes)
            if zstd:
                zstd["elapsed"] = time.perf_counter() - zstd_started
        if not only_section and not opts.no_tensors:
            print("timing the checkpoint section ...", file=sys.stderr)
            tensors = tensors_compare.measure(os.path.join(ROOT, ".build", "release", "pickletool"), 3 if opts.quick else 7)
    finally:
        if tmp is not None:
            tmp.cleanup()

    cpu, nproc, swift = machine()
    elapsed = time.perf_counter() - started

    print()
    print(f"Machine: {cpu}, nproc = {nproc}; {swift}; Python {platform.python_version()} "
          f"({platform.python_implementation()}, C `_pickle`)")
    if opts.zstd_only:
        samples = f"zstd section only, {2 if opts.quick else 3} alternating rounds"
    elif opts.streaming_only:
        samples = (f"{stream_rounds} alternating rounds per stream reader; chunk table: {total} samples "
                   f"per cell in {rounds} rounds")
    else:
        samples = f"{total} samples per cell in {rounds} alternating rounds"
    print(f"Command: `{command}` ({samples}; wall time {elapsed:.0f} s; 1-minute load average "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after)")
    print()
    if rows:
        print_main(rows, linear)
    if convert:
        print()
        print_convert(convert)
    if streaming:
        if rows:
            print()
        print_streaming(streaming)
    if zstd:
        if rows or streaming:
            print()
        print(f"(zstd section: {zstd['elapsed']:.0f} s)")
        print()
        print_zstd(zstd)
    if tensors:
        print()
        print("\n".join(tensors))
    for note in notes:
        print(f"\nWARNING: {note}")


def nesting_depth(obj):
    depth = 0
    while isinstance(obj, list):
        depth += 1
        obj = obj[0] if obj else None
    return depth


def check_encoding(path, swift_out):
    """'yes' when Swift's encoding is `pickle.dumps(pickle.loads(data), 5)` byte for byte (out-of-band buffers
    passed the same way); for a graph CPython cannot pickle (RecursionError), 'reloads' when CPython loads
    Swift's encoding back to a list as deep as the original."""
    data, buffers = read_dataset(path)
    with open(swift_out, "rb") as f:
        ours = f.read()
    obj = pickle.loads(data, buffers=buffers)
    try:
        expected = pickle.dumps(obj, PROTOCOL, buffer_callback=[].append if buffers else None)
    except RecursionError:
        return "reloads" if nesting_depth(pickle.loads(ours)) == nesting_depth(obj) else "NO"
    return "yes" if ours == expected else "NO"


def print_main(rows, linear):
    print("| dataset | pickle size | CPython loads | Swift decode | loads ratio | CPython dumps | Swift encode "
          "| dumps ratio | same bytes | CPython dump, chunk list | Swift encode, MemorySink | dump ratio "
          "| Swift decode, 64 KiB chunks | Swift decode, 1-byte chunks |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|")
    for r in rows:
        c64 = f"{ms(r['chunk64'])} ({ratio(r['chunk64'], r['sw_decode'])})"
        c1 = f"{ms(r['chunk1'])} ({ratio(r['chunk1'], r['sw_decode'])})" if r["chunk1"] else "–"
        def versus(py, sw):
            return f"**{ratio(py, sw)}**" if py is not None else "–"

        def cpython(ns):
            return ms(ns) if ns is not None else "RecursionError"
        print(f"| {r['label']} | {human_size(r['size'])} | {ms(r['py_loads'])} | {ms(r['sw_decode'])} "
              f"| {versus(r['py_loads'], r['sw_decode'])} | {cpython(r['py_dumps'])} | {ms(r['sw_encode'])} "
              f"| {versus(r['py_dumps'], r['sw_encode'])} | {r['identical']} "
              f"| {cpython(r['py_dump'])} | {ms(r['sw_sink'])} | {versus(r['py_dump'], r['sw_sink'])} "
              f"| {c64} | {c1} |")
    print()
    print("Times are medians. loads/dumps ratio = CPython median / Swift median (> 1: Swift is faster). "
          "Chunk columns: Swift push-parser median, and in parentheses its ratio to Swift whole-buffer "
          "decoding (1.00× = no overhead). 'same bytes': Swift's encoding equals "
          "`pickle.dumps(pickle.loads(data), 5)` ('reloads': CPython cannot pickle the value, and loads Swift's "
          "encoding back to a list as deep). dumps/encode produce one contiguous buffer; dump/MemorySink "
          "hand the pickle to a writer in chunks, payloads of 64 KiB or more as they are (zero copy on both "
          "sides: CPython's C Pickler passes such bytes objects straight to `write`).")
    by_key = {r["label"][:3]: r for r in rows}
    if "(f)" in by_key and "(j)" in by_key:
        f, j = by_key["(f)"], by_key["(j)"]
        print()
        print(f"Zero copy: Swift decodes (f), 100 MiB of bytes, in {ms(f['sw_decode_inner'])} a call and (j), "
              f"1 KiB, in {ms(j['sw_decode'])}, both timed {INNER_CALLS:,} calls a sample: (f) / (j) = "
              f"{f['sw_decode_inner'] / j['sw_decode']:.2f} (CPython {f['py_loads'] / j['py_loads']:,.0f}, "
              f"a copy).")
    if "(f)" in by_key and "(k)" in by_key:
        f, k = by_key["(f)"], by_key["(k)"]
        print(f"A numpy array of the same 100 MiB, (k), decodes in {ms(k['sw_decode_inner'])} a call: (k) / (f) = "
              f"{k['sw_decode_inner'] / f['sw_decode_inner']:.2f} (CPython {k['py_loads'] / f['py_loads']:.2f}); "
              f"its elements are a slice of the input (`NDArrayView(graph.root).bytes`).")
    print()
    print("1-byte feeding, linearity check (the ratio and ns per input byte should not grow with size):")
    print()
    print("| dataset | pickle size | Swift decode | 1-byte chunks | ratio | 1-byte ns/input byte |")
    print("|---|---:|---:|---:|---:|---:|")
    # Each family's smaller copies, then its full dataset.
    big = {"(a) 100k dicts": rows[0], "(b) list(range(100k))": rows[1]}
    for small in linear:
        full = big.get(small["label"])
        shown = [small]
        if full:
            shown.append({"label": full["label"], "size": full["size"], "whole": full["sw_decode"],
                          "chunk1": full["chunk1"]})
        for r in shown:
            print(f"| {r['label']} | {human_size(r['size'])} | {ms(r['whole'])} | {ms(r['chunk1'])} "
                  f"| {ratio(r['chunk1'], r['whole'])} | {r['chunk1'] / r['size']:.1f} |")


if __name__ == "__main__":
    main()
