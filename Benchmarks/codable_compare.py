#!/usr/bin/env python3
"""PickleDecoder against JSONDecoder and CPython on the same 100,000 records.

Each record is a dataclass with ints, strings, a float, an optional, a list, a nested dataclass and an
aware datetime. CPython pickles them (protocol 5) and writes the same records as JSON (the datetime as ISO
8601 text); the Swift side decodes the pickle with PickleDecoder and the JSON with JSONDecoder (dates
`.iso8601`) into the same Codable structs, and CPython's pickle.loads rebuilds the dataclasses from the same
pickle. Rounds alternate; the medians and their ratios
are printed.

    python3 Benchmarks/codable_compare.py [--rounds N] [--records N] [--no-build]
"""
import argparse, dataclasses, datetime, json, os, pickle, statistics, subprocess, sys, tempfile, time

MODULE = '''
import dataclasses, datetime, typing

@dataclasses.dataclass
class Address:
    street: str
    city: str
    zip: int

@dataclasses.dataclass
class Record:
    id: int
    name: str
    email: str
    score: float
    nickname: typing.Optional[str]
    tags: list
    address: Address
    created: datetime.datetime
'''

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--rounds', type=int, default=9)
    parser.add_argument('--records', type=int, default=100_000)
    parser.add_argument('--no-build', action='store_true')
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    scratch = os.path.join(root, '.build-bench')
    if not args.no_build:
        subprocess.run(['swift', 'build', '-c', 'release', '--package-path', os.path.join(root, 'Benchmarks'),
                        '--scratch-path', scratch, '--product', 'CodableCompare'], check=True)
    tool = os.path.join(scratch, 'release', 'CodableCompare')

    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, 'bench_records.py'), 'w') as f:
            f.write(MODULE)
        sys.path.insert(0, work)
        import bench_records as m
        cities = ['Berlin', 'Lagos', 'Lima', 'Osaka', 'Perth']
        records = [m.Record(id=i, name=f'user{i}', email=f'user{i}@example.org', score=i * 0.5 + 0.25,
                            nickname=None if i % 3 else f'nick{i}', tags=['a', 'b'] if i % 2 else ['c'],
                            address=m.Address(street=f'{i} Main St', city=cities[i % 5], zip=10000 + i % 90000),
                            created=datetime.datetime.fromtimestamp(1_700_000_000 + 37 * i, datetime.timezone.utc))
                   for i in range(args.records)]
        data = pickle.dumps(records, 5)
        pkl, js = os.path.join(work, 'records.pkl'), os.path.join(work, 'records.json')
        with open(pkl, 'wb') as f:
            f.write(data)
        with open(js, 'w') as f:
            json.dump([dataclasses.asdict(r) for r in records], f,
                      default=lambda d: d.strftime('%Y-%m-%dT%H:%M:%SZ'))

        swift_pickle, swift_json, cpython = [], [], []
        for _ in range(args.rounds):
            out = subprocess.run([tool, pkl, js, '1'], check=True, capture_output=True, text=True).stdout.split()
            swift_pickle.append(float(out[1]))
            swift_json.append(float(out[3]))
            start = time.perf_counter()
            pickle.loads(data)
            cpython.append((time.perf_counter() - start) * 1000)

    p, j, c = (statistics.median(x) for x in (swift_pickle, swift_json, cpython))
    print(f'{args.records:,} records, {len(data):,} pickle bytes, medians of {args.rounds} alternating rounds')
    print(f'  PickleDecoder        {p:8.1f} ms')
    print(f'  JSONDecoder          {j:8.1f} ms   ({j / p:.2f}x PickleDecoder\'s time)')
    print(f'  CPython pickle.loads {c:8.1f} ms   ({c / p:.2f}x PickleDecoder\'s time)')

if __name__ == '__main__':
    main()
