#!/usr/bin/env python3
"""pickletool on PyTorch checkpoints: listing is independent of the file's size, conversion runs near `cp`.

Makes two checkpoints in torch.save's layout (Tests/Fixtures/torch_layout.py; no torch needed), a small one
(16 tensors of 1 MiB) and a large one (256 tensors of 4 MiB, 1 GiB), then times, whole process, in
alternating rounds with the files in the page cache (GNU time for each command's peak RSS):

  * `pickletool tensors` on each (the archive is mapped, only data.pkl and the directory are read): time and
    peak RSS of the large one against the small one;
  * `pickletool safetensors` of the large one against `cp` of the same file, on the same file system.

    python3 Benchmarks/tensors_compare.py [--rounds N] [--no-build] [--keep DIR]

`python3 Benchmarks/compare.py` runs the same section after its tables (`--tensors-only`: only it).
"""
import argparse, collections, os, shutil, statistics, subprocess, sys, tempfile, time


def timed(argv):
    """Wall time (s) and peak RSS (MiB) of a command: the time measured here, the RSS by GNU time (a fresh
    process, so its RSS is its own, not this interpreter's)."""
    start = time.perf_counter()
    result = subprocess.run(['/usr/bin/time', '-f', '%M', *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f'{argv} failed: {result.stderr}')
    return elapsed, int(result.stderr.strip().splitlines()[-1]) / 1024


def measure(tool, rounds, keep=None):
    """Makes the checkpoints (in `keep`, or a temporary directory), times them, and returns the report's lines."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(root, 'Tests', 'Fixtures'))
    import numpy as np
    import torch_layout as t

    work = keep or tempfile.mkdtemp(prefix='tensors-bench-')
    os.makedirs(work, exist_ok=True)
    try:
        paths = {}
        for label, count, elements in [('small', 16, 1 << 18), ('large', 256, 1 << 20)]:
            path = os.path.join(work, label + '.pt')
            if not os.path.exists(path):
                sd = collections.OrderedDict()
                for i in range(count):
                    sd[f'layers.{i}.weight'] = t.tensor(str(i), np.full(elements, i, dtype='float32'))
                t.save(sd, path)
            paths[label] = path
        sizes = {label: os.path.getsize(path) for label, path in paths.items()}
        out = os.path.join(work, 'large.safetensors')
        copy = os.path.join(work, 'large.copy')
        for path in paths.values():
            with open(path, 'rb') as f:
                while f.read(1 << 24):
                    pass
        results = collections.defaultdict(list)
        for _ in range(rounds):
            for label, path in paths.items():
                results['tensors ' + label].append(timed([tool, 'tensors', path]))
            results['safetensors large'].append(timed([tool, 'safetensors', paths['large'], out]))
            results['cp large'].append(timed(['cp', paths['large'], copy]))
        medians = {k: (statistics.median(x for x, _ in v), statistics.median(r for _, r in v)) for k, v in results.items()}
        s, l = medians['tensors small'], medians['tensors large']
        c, w = medians['cp large'], medians['safetensors large']
        return [
            f'Checkpoints: small {sizes["small"] / 2**20:.0f} MiB (16 tensors), large {sizes["large"] / 2**20:.0f} MiB (256 tensors); '
            f'medians of {rounds} alternating rounds, whole process, files in the page cache',
            '',
            '| command | small | large | large / small |',
            '|---|---:|---:|---:|',
            f'| `pickletool tensors`, time | {s[0] * 1000:.1f} ms | {l[0] * 1000:.1f} ms | {l[0] / s[0]:.2f}x |',
            f'| `pickletool tensors`, peak RSS | {s[1]:.1f} MiB | {l[1]:.1f} MiB | {l[1] / s[1]:.2f}x |',
            '',
            f'1 GiB checkpoint: `pickletool safetensors` {w[0] * 1000:.0f} ms (peak RSS {w[1]:.0f} MiB), `cp` {c[0] * 1000:.0f} ms: '
            f'{w[0] / c[0]:.2f}x the time of copying the file',
        ]
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--no-build', action='store_true')
    parser.add_argument('--keep', help='a directory to write the checkpoints into (kept)')
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not args.no_build:
        subprocess.run(['swift', 'build', '-c', 'release', '--package-path', root, '--product', 'pickletool'], check=True, stdout=sys.stderr)
    print('\n'.join(measure(os.path.join(root, '.build', 'release', 'pickletool'), args.rounds, args.keep)))


if __name__ == '__main__':
    main()
