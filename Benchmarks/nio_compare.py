#!/usr/bin/env python3
"""Messages per second received over loopback TCP: PickleNIO's decoder, StreamingUnpickler on the socket,
MultiprocessingConnection.recv(), and CPython's multiprocessing.connection receiving the same messages.

    python3 Benchmarks/nio_compare.py [--messages N] [--rounds R] [--no-build]

Builds Benchmarks' NIOCompare (release, scratch path .build-bench) unless --no-build. The messages are N small
records ({'seq', 'msg', 'ok', 'tags'}, pickled independently at protocol 4, as Connection.send writes them). A
sender process connects to each receiver and writes every message as fast as the socket takes them: the plain
concatenated pickles to the NIO server and to StreamingUnpickler, the length-prefixed messages of
multiprocessing.connection to MultiprocessingConnection and to CPython's Connection.recv() loop. Each receiver
times the first byte to the last object; the medians of R alternating rounds are reported, and the ratio of
each to CPython (above 1: faster than CPython).
"""
import argparse, json, os, pickle, socket, statistics, struct, subprocess, sys, threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, '.build-bench', 'release', 'NIOCompare')

CPYTHON_RECEIVER = r'''
import json, sys, time
from multiprocessing.connection import Listener
count = int(sys.argv[1])
with Listener(('127.0.0.1', 0)) as listener:
    print(listener.address[1], flush=True)
    with listener.accept() as c:
        c.recv()
        start = time.perf_counter()
        for _ in range(count - 1):
            c.recv()
        print(json.dumps({'mode': 'cpython', 'count': count, 'seconds': time.perf_counter() - start}), flush=True)
'''


def messages(count):
    return [pickle.dumps({'seq': i, 'msg': 'event %d happened' % i, 'ok': i % 3 == 0, 'tags': ['a', 'b']}, 4) for i in range(count)]


def send(port, payload):
    with socket.create_connection(('127.0.0.1', port)) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass


def run(command, payload):
    receiver = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    port = int(receiver.stdout.readline())
    sender = threading.Thread(target=send, args=(port, payload))
    sender.start()
    result = json.loads(receiver.stdout.readline())
    receiver.wait()
    sender.join()
    return result['seconds']


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--messages', type=int, default=200_000)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--no-build', action='store_true')
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(['swift', 'build', '-c', 'release', '--package-path', os.path.join(ROOT, 'Benchmarks'), '--scratch-path',
                        os.path.join(ROOT, '.build-bench'), '--product', 'NIOCompare'], check=True, cwd=ROOT)
    records = messages(args.messages)
    plain = b''.join(records)
    framed = b''.join(struct.pack('!i', len(r)) + r for r in records)
    receivers = {
        'PickleNIO (PickleMessageDecoder, NIO server)': ([BINARY, 'nio', str(args.messages)], plain),
        'StreamingUnpickler on the socket': ([BINARY, 'stream', str(args.messages)], plain),
        'MultiprocessingConnection.recv()': ([BINARY, 'mp', str(args.messages)], framed),
        'CPython multiprocessing.connection recv()': ([sys.executable, '-c', CPYTHON_RECEIVER, str(args.messages)], framed),
    }
    times = {name: [] for name in receivers}
    for _ in range(args.rounds):
        for name, (command, payload) in receivers.items():
            times[name].append(run(command, payload))
    cpython = statistics.median(times['CPython multiprocessing.connection recv()'])
    print(f'{args.messages} messages of {len(plain) / args.messages:.0f} bytes on average, loopback TCP, medians of {args.rounds} alternating rounds\n')
    print('| receiver | messages/s | time | vs CPython |')
    print('|---|---:|---:|---:|')
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f'| {name} | {args.messages / median:,.0f} | {median * 1000:.0f} ms | {cpython / median:.2f}x |')


if __name__ == '__main__':
    main()
