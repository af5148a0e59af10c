#!/usr/bin/env python3
"""Compare swift-pickle with CPython's C pickle module on the same pickle files.

    python3 Benchmarks/compare.py [--quick] [--no-build] [--repeat N] [--keep DIR]
                                  [--streaming-only | --no-streaming] [--stream-rounds R]

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
import statistics
import subprocess
import sys
import tempfile
import time
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCRATCH = os.path.join(ROOT, ".build-bench")
BINARY = os.path.join(SCRATCH, "release", "PickleCompare")
PROTOCOL = 5


# ---------------------------------------------------------------------------------------------------------
# Worker mode: time CPython in a fresh interpreter (invoked as `compare.py --worker loads|dumps FILE N W`).

def worker(mode, path, repeats, warmup):
    with open(path, "rb") as f:
        data = f.read()
    if mode == "loads":
        namespace = {"loads": pickle.loads, "data": data}
        stmt = "loads(data)"
        count = len(pickle.loads(data))
    else:
        obj = pickle.loads(data)
        namespace = {"dumps": pickle.dumps, "obj": obj, "P": PROTOCOL}
        stmt = "dumps(obj, P)"
        count = len(pickle.dumps(obj, PROTOCOL))
    timer = timeit.Timer(stmt, globals=namespace)  # timeit disables gc while timing
    if warmup:
        timer.repeat(repeat=warmup, number=1)
    samples = [round(s * 1e9) for s in timer.repeat(repeat=repeats, number=1)]
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

def dataset_dicts(n=100_000):
    return [{'id': i, 'name': f'user{i}', 'score': i * 0.5, 'tags': ['a', 'b']} for i in range(n)]


def dataset_range(n=1_000_000):
    return list(range(n))


def dataset_bigints(n=1_000_000):
    rng = random.Random(20240601)
    return [rng.getrandbits(62) for _ in range(n)]


def dataset_unicode(n=500_000):
    """Strings of 1 to 24 code points mixing 1-, 2-, 3- and 4-byte UTF-8 characters."""
    rng = random.Random(7)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.",    # ASCII
        "àáâäæçèéêëìíîïñòóôöøùúûüýÿßÀÉÖÜ",                                      # Latin-1 (2 bytes)
        "αβγδεζηθικλμνξοπρστυφχψωАБВГДЕЖЗИЙКЛМНОПабвгдежзий",                    # Greek, Cyrillic (2 bytes)
        "的一是不了人我在有他这为之大来以个中上们日本語中文字漢字かなカナ한국어",      # CJK (3 bytes)
        "😀😃😄😁😆😅🤣😂🙂🙃😉😊🚀🌍🎉🐍🦀🍕",                                     # emoji (4 bytes)
    ]
    weights = [60, 12, 10, 12, 6]
    chars = [c for pool in pools for c in pool]
    char_weights = [w / len(pool) for pool, w in zip(pools, weights) for _ in pool]
    cum = []
    total = 0.0
    for w in char_weights:
        total += w
        cum.append(total)
    out = []
    choices = rng.choices
    randint = rng.randint
    for _ in range(n):
        out.append("".join(choices(chars, cum_weights=cum, k=randint(1, 24))))
    return out


def dataset_bytes(size=100 * 1024 * 1024):
    return random.Random(3).randbytes(size)


DATASETS = [
    # key, label, factory, chunk-1 test
    ("dicts", "(a) 100k dicts", dataset_dicts, True),
    ("range", "(b) list(range(1M))", dataset_range, True),
    ("bigints", "(c) 1M random 62-bit ints", dataset_bigints, False),
    ("unicode", "(d) 500k mixed-unicode str", dataset_unicode, False),
    ("bytes", "(e) 100 MiB bytes (in-band)", dataset_bytes, False),
]

# Smaller copies of (a) and (b) for the linearity check of 1-byte feeding.
SMALL = [
    ("dicts10", "(a) 10k dicts", lambda: dataset_dicts(10_000)),
    ("range10", "(b) list(range(100k))", lambda: dataset_range(100_000)),
]


def generate(directory):
    files = {}
    for key, label, factory, *_ in DATASETS + SMALL:
        t0 = time.perf_counter()
        obj = factory()
        data = pickle.dumps(obj, protocol=PROTOCOL)
        del obj
        path = os.path.join(directory, key + ".pkl")
        with open(path, "wb") as f:
            f.write(data)
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
    return run_json([BINARY, args[0], path] + args[1:] + ["--repeat", str(repeats), "--warmup", str(warmup)])


def measure_pair(py_mode, swift_args, path, rounds, per_round, extra_swift=None):
    """Alternates CPython and Swift rounds; returns (python samples, swift samples, last swift json)."""
    py, sw = [], []
    last = None
    for r in range(rounds):
        result = python_round(py_mode, path, per_round, 1)
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


def measure_streaming(directory, rounds, chunk_rounds, chunk_per_round, chunk_per_round_bytewise, notes):
    """The streaming section; returns a dict of results for print_streaming()."""
    stream_path = os.path.join(directory, "stream-1m.pkl")
    generate_stream(stream_path)
    dicts_path = os.path.join(directory, "dicts.pkl")
    if not os.path.exists(dicts_path):
        with open(dicts_path, "wb") as f:
            f.write(pickle.dumps(dataset_dicts(), protocol=PROTOCOL))
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
          "its arenas grow ahead of the input (reserved for 16x the bytes so far at 256 KiB, 2 MiB, ...), while `loads` "
          "sizes them from the input length. `64 KiB + size hint`: the same chunks through "
          "`StreamingUnpickler(chunks, expectedByteCount:)` (`--chunk 65536 --hint`), which sizes them as `loads` does.")


def median(xs):
    return statistics.median(xs)


def human_size(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def ms(ns):
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


def build():
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
    parser.add_argument("--stream-rounds", type=int, metavar="R",
                        help="alternating rounds of the 1M-object stream (default 7, --quick 3)")
    opts = parser.parse_args()

    command = shlex.join(["python3", os.path.relpath(os.path.abspath(__file__))] + sys.argv[1:])
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
    try:
        if not opts.streaming_only:
            print(f"generating datasets in {directory}", file=sys.stderr)
            files = generate(directory)
        else:
            files = {}
        for key, label, _, bytewise in (DATASETS if not opts.streaming_only else []):
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
            with open(path, "rb") as f:
                expected = pickle.dumps(pickle.loads(f.read()), PROTOCOL)
            with open(swift_out, "rb") as f:
                identical = f.read() == expected
            del expected
            os.remove(swift_out)
            chunk64 = measure_swift(["decode", "--chunk", "65536"], path, rounds, per_round)
            chunk1 = measure_swift(["decode", "--chunk", "1"], path, rounds, per_round_bytewise) if bytewise else None
            row = {
                "label": label, "size": size,
                "py_loads": median(py_loads), "sw_decode": median(sw_decode),
                "py_dumps": median(py_dumps), "sw_encode": median(sw_encode),
                "chunk64": median(chunk64), "chunk1": median(chunk1) if chunk1 else None,
                "identical": identical,
            }
            rows.append(row)

        for key, label, _ in (SMALL if not opts.streaming_only else []):
            path = files[key]
            whole = measure_swift(["decode"], path, rounds, per_round)
            bytewise = measure_swift(["decode", "--chunk", "1"], path, rounds, per_round)
            linear.append({"label": label, "size": os.path.getsize(path), "whole": median(whole),
                           "chunk1": median(bytewise)})
        if not opts.no_streaming:
            streaming = measure_streaming(directory, stream_rounds, rounds, per_round, per_round_bytewise, notes)
    finally:
        if tmp is not None:
            tmp.cleanup()

    cpu, nproc, swift = machine()
    elapsed = time.perf_counter() - started

    print()
    print(f"Machine: {cpu}, nproc = {nproc}; {swift}; Python {platform.python_version()} "
          f"({platform.python_implementation()}, C `_pickle`)")
    if opts.streaming_only:
        samples = (f"{stream_rounds} alternating rounds per stream reader; chunk table: {total} samples "
                   f"per cell in {rounds} rounds")
    else:
        samples = f"{total} samples per cell in {rounds} alternating rounds"
    print(f"Command: `{command}` ({samples}; wall time {elapsed:.0f} s; 1-minute load average "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after)")
    print()
    if rows:
        print_main(rows, linear)
    if streaming:
        if rows:
            print()
        print_streaming(streaming)
    for note in notes:
        print(f"\nWARNING: {note}")


def print_main(rows, linear):
    print("| dataset | pickle size | CPython loads | Swift decode | loads ratio | CPython dumps | Swift encode "
          "| dumps ratio | same bytes | Swift decode, 64 KiB chunks | Swift decode, 1-byte chunks |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|")
    for r in rows:
        c64 = f"{ms(r['chunk64'])} ({ratio(r['chunk64'], r['sw_decode'])})"
        c1 = f"{ms(r['chunk1'])} ({ratio(r['chunk1'], r['sw_decode'])})" if r["chunk1"] else "–"
        print(f"| {r['label']} | {human_size(r['size'])} | {ms(r['py_loads'])} | {ms(r['sw_decode'])} "
              f"| **{ratio(r['py_loads'], r['sw_decode'])}** | {ms(r['py_dumps'])} | {ms(r['sw_encode'])} "
              f"| **{ratio(r['py_dumps'], r['sw_encode'])}** | {'yes' if r['identical'] else 'NO'} "
              f"| {c64} | {c1} |")
    print()
    print("Times are medians. loads/dumps ratio = CPython median / Swift median (> 1: Swift is faster). "
          "Chunk columns: Swift push-parser median, and in parentheses its ratio to Swift whole-buffer "
          "decoding (1.00× = no overhead). 'same bytes': Swift's encoding equals "
          "`pickle.dumps(pickle.loads(data), 5)`.")
    print()
    print("1-byte feeding, linearity check (the ratio and ns per input byte should not grow with size):")
    print()
    print("| dataset | pickle size | Swift decode | 1-byte chunks | ratio | 1-byte ns/input byte |")
    print("|---|---:|---:|---:|---:|---:|")
    big = {"(a) 10k dicts": rows[0], "(b) list(range(100k))": rows[1]}
    for small in linear:
        full = big[small["label"]]
        for r in (small, {"label": full["label"], "size": full["size"], "whole": full["sw_decode"],
                          "chunk1": full["chunk1"]}):
            print(f"| {r['label']} | {human_size(r['size'])} | {ms(r['whole'])} | {ms(r['chunk1'])} "
                  f"| {ratio(r['chunk1'], r['whole'])} | {r['chunk1'] / r['size']:.1f} |")


if __name__ == "__main__":
    main()
