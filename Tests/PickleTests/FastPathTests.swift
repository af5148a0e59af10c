import Foundation
import Synchronization
import XCTest
@testable import Pickle

/// The decoder's shortcuts (the small-dict arena and its key-shape cache, the one-load LONG1, the stack and
/// memo buffers that check copy-on-write on entry) give exactly what CPython gives, fed whole, one byte at a
/// time and split at every offset.
final class FastPathTests: XCTestCase {
    /// Runs `script`, which prints pickles as hex lines, and checks each against CPython's repr of it (the
    /// second hex line of each pair is `repr(pickle.loads(...))` in UTF-8).
    private func assertMatchesCPython(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let output = String(decoding: try Python.script(script), as: UTF8.self)
        let lines = output.split(separator: "\n")
        XCTAssertFalse(lines.isEmpty, file: file, line: line)
        XCTAssertEqual(lines.count % 2, 0, file: file, line: line)
        for k in stride(from: 0, to: lines.count, by: 2) {
            let bytes = hexBytes(lines[k])
            let expected = String(decoding: hexBytes(lines[k + 1]), as: UTF8.self)
            XCTAssertEqual(try Unpickler.loads(bytes).root.description, expected, file: file, line: line)
            let outcome = Feeding.assertChunkingInvariant(bytes, everyOffsetLimit: 600, file: file, line: line)
            XCTAssertNil(outcome.error, file: file, line: line)
        }
    }

    private func hexBytes(_ text: Substring) -> [UInt8] {
        var out: [UInt8] = []
        var i = text.startIndex
        while i < text.endIndex {
            let j = text.index(i, offsetBy: 2)
            out.append(UInt8(text[i ..< j], radix: 16)!)
            i = j
        }
        return out
    }

    /// Records with memoized keys take the key-shape shortcut; a dict whose keys repeat (by reference, by
    /// value, or as 1 / True / 1.0) must not, and keeps the first position with the last value.
    func testSmallDictsAndTheirKeyShapeCacheAgreeWithCPython() throws {
        try assertMatchesCPython("""
            import pickle, struct
            def emit(data):
                print(data.hex()); print(repr(pickle.loads(data)).encode().hex())
            records = [{'id': i, 'name': f'user{i}', 'tags': ['a', 'b']} for i in range(5)]
            emit(pickle.dumps(records, 5))
            emit(pickle.dumps([{1: 'a', True: 'b', 1.0: 'c', 2: 'd'}, {(1, 2): 1, (1.0, 2): 2}], 2))
            # Hand-written: a record shape, then a dict repeating that shape's first key by reference, then the
            # same two keys again, then a dict whose equal keys are different objects.
            k = lambda s: b'\\x8c' + bytes([len(s)]) + s.encode() + b'\\x94'
            body = (b'\\x80\\x04]\\x94(' +
                    b'}\\x94(' + k('x') + b'K\\x01' + k('y') + b'K\\x02u' +         # memo 2 'x', 3 'y'
                    b'}\\x94(h\\x02K\\x03h\\x02K\\x04u' +                           # {'x': 4}
                    b'}\\x94(h\\x02K\\x05h\\x03K\\x06u' +                           # {'x': 5, 'y': 6}
                    b'}\\x94(h\\x02K\\x07h\\x03K\\x08u' +                           # the cached shape again
                    b'}\\x94(' + k('x') + b'K\\x09' + k('x') + b'K\\x0au' +         # equal, not identical
                    b'}\\x94(h\\x03K\\x0bh\\x02K\\x0cu' +                           # same keys, other order
                    b'e.')
            emit(body)
            # A dict filled in several SETITEMS batches with other dicts filled between them (it leaves the
            # flat arena), and one past the linear-scan size.
            emit(pickle.dumps({i: {'v': i} for i in range(2500)}, 4))
            emit(pickle.dumps([{f'k{j}': j for j in range(40)}, {j % 7: j for j in range(30)}], 4))
            """)
    }

    /// LONG1 of 0 to 8 bytes is read with one masked load; lengths, signs, non-minimal encodings and a LONG1
    /// too close to the end of the input for that load all decode as CPython decodes them.
    func testLong1OfEveryLengthAgreesWithCPython() throws {
        try assertMatchesCPython("""
            import pickle
            def emit(data):
                print(data.hex()); print(repr(pickle.loads(data)).encode().hex())
            values = [0, 1, -1, 127, 128, -128, -129, 255, 256, -256, 2**31, -2**31 - 1, 2**60, -2**60 - 1,
                      2**62 + 12345, -2**63, 2**63 - 1, 2**63, -2**63 - 1, 2**64 + 5]
            values += [s * (2**b + d) for b in range(0, 66, 7) for d in (-1, 0, 1) for s in (1, -1)]
            emit(pickle.dumps(values, 2))
            for n in range(0, 10):
                for fill in (0x00, 0x7f, 0x80, 0xff):
                    emit(b'\\x80\\x02\\x8a' + bytes([n]) + bytes([fill] * n) + b'.')   # ends right after it
                    emit(b'\\x80\\x02]\\x8a' + bytes([n]) + bytes([fill] * n) + b'a]\\x8a\\x00a.')
            emit(b'\\x80\\x02\\x8a\\x08\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x85.')  # non-minimal 1
            """)
    }

    /// SHORT_BINUNICODE's fast path (ASCII checked while it is copied, anything else validated as UTF-8 with
    /// surrogates allowed) decodes what CPython decodes, at every length on both sides of the 16-byte loop and
    /// with the odd byte anywhere; what CPython rejects fails with `decodingFailed` at the opcode.
    func testShortStringsOfEveryLengthAndByteAgreeWithCPython() throws {
        try assertMatchesCPython("""
            import pickle
            def emit(data):
                print(data.hex()); print(repr(pickle.loads(data)).encode().hex())
            for n in list(range(0, 40)) + [255]:
                text = ''.join(chr(97 + k % 26) for k in range(n))
                emit(pickle.dumps([text, text + 'é', text + '\\U0001F40D', '\\ud800' + text], 4))
                for odd in ('é', '\\x7f', '漢', '\\udfff'):
                    for at in {0, n // 2, n}:
                        s = (text[:at] + odd + text[at:]).encode('utf-8', 'surrogatepass')
                        s = s[:-3] if len(s) > 255 else s  # the text is ASCII where it is cut
                        emit(b'\\x80\\x04\\x8c' + bytes([len(s)]) + s + b'.')
            """)
        let invalid: [[UInt8]] = [[0xFF], [0x61, 0x80], [0xC3], [0x61, 0x62, 0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80, 0x80],
                                  Array(repeating: 0x61, count: 20) + [0xC0, 0xAF]].map { [0x80, 0x04, 0x8C, UInt8($0.count)] + $0 + [0x2E] }
        let verdicts = String(decoding: try Python.script("""
            import pickle, sys
            for data in sys.argv[1:]:
                try:
                    pickle.loads(bytes.fromhex(data)); print('loaded')
                except UnicodeDecodeError:
                    print('invalid')
            """, invalid.map { $0.map { String(format: "%02x", $0) }.joined() }), as: UTF8.self)
        XCTAssertEqual(verdicts.split(separator: "\n"), Array(repeating: "invalid", count: invalid.count))
        for bytes in invalid {
            let outcome = Feeding.assertChunkingInvariant(bytes)
            XCTAssertEqual(outcome.error?.code, .decodingFailed)
            XCTAssertEqual(outcome.errorOffset, 2)
        }
    }

    /// The parser is a value: a copy taken in the middle of a pickle continues on its own stack and memo
    /// (each overwrites a slot the other still uses).
    func testACopiedParserKeepsItsOwnStackAndMemo() throws {
        // PROTO 2, MARK, 'a' MEMOIZE (0), 1 MEMOIZE (1).
        let start: [UInt8] = [0x80, 0x02, 0x28, 0x8C, 0x01, 0x61, 0x94, 0x4B, 0x01, 0x94]
        var first = PickleParser()
        var outFirst: [PickleGraph] = [], outSecond: [PickleGraph] = []
        try first.feed(start, into: &outFirst)
        var second = first
        try second.feed([0x30, 0x4B, 0x09, 0x94], into: &outSecond)        // POP, 9, MEMOIZE (2)
        try first.feed([0x4B, 0x05, 0x94, 0x68, 0x02, 0x74, 0x2E], into: &outFirst)  // 5, MEMOIZE (2), GET 2, TUPLE
        try second.feed([0x68, 0x02, 0x6C, 0x2E], into: &outSecond)        // GET 2, LIST
        XCTAssertEqual(outFirst.map { $0.root.description }, ["('a', 1, 5, 5)"])
        XCTAssertEqual(outSecond.map { $0.root.description }, ["['a', 9, 9]"])
        try first.finish()
        try second.finish()
    }

    /// The pickler is a value too: a copy taken after a dump keeps its own memo table (a flat buffer the two
    /// share until one of them dumps). Each copy then pickles a second graph; their memos differ, and each
    /// output must be what one pickler doing those dumps alone writes.
    func testACopiedPicklerKeepsItsOwnMemo() throws {
        let shared = PickleGraph(.list([.string("a"), .string("b")]))
        let other = PickleGraph(.list([.string("c"), .string("d"), .string("e"), .string("f")]))
        var first = try Pickler(options: PicklerOptions(protocolVersion: 4))
        try first.dump(shared)
        let prefix = first.takeOutput()
        var second = first
        try second.dump(other)   // refills its table for another graph
        try first.dump(shared)   // all memo hits, in a table the copy must not have touched
        try second.dump(shared)  // finds the first dump's entries (moved to its identity memo)
        var alone = try Pickler(options: PicklerOptions(protocolVersion: 4))
        try alone.dump(shared)
        XCTAssertEqual(alone.takeOutput(), prefix)
        try alone.dump(shared)
        XCTAssertEqual(first.output, alone.takeOutput())
        var aloneSecond = try Pickler(options: PicklerOptions(protocolVersion: 4))
        try aloneSecond.dump(shared)
        _ = aloneSecond.takeOutput()
        try aloneSecond.dump(other)
        try aloneSecond.dump(shared)
        XCTAssertEqual(second.output, aloneSecond.output)
        XCTAssertNotEqual(first.output, second.output)
    }

    /// `Pickler.dumps` reuses one pickler from call to call (and from a call that threw): each call must write
    /// what a fresh `Pickler` writes, with no memo entry (a global, an interned name) left from the call before,
    /// and the pooled pickler must keep nothing of the caller's (graph, callbacks) once the call returns.
    func testOneShotDumpsWriteWhatAFreshPicklerWritesEveryCall() throws {
        let f = PickleValue.global(GlobalName(module: "collections", name: "OrderedDict"))
        let graphs = [
            PickleGraph(.list([f, f, .string("x"), .tuple([.int(1), f])])),
            PickleGraph(.list([f, .string("y"), .global(GlobalName(module: "mödule", name: "g"))])),  // throws below 3
            PickleGraph(.list([.string("x"), f])),
        ]
        var failures = 0
        for proto in [0, 2, 4, 5] {
            let options = PicklerOptions(protocolVersion: proto)
            for graph in graphs + graphs.reversed() + graphs {
                var fresh = try Pickler(options: options)
                let expected = Result { try fresh.dump(graph); return fresh.output }
                let oneShot = Result { try Pickler.dumps(graph, options: options) }
                switch (expected, oneShot) {
                case let (.success(a), .success(b)): XCTAssertEqual(b, a, "protocol \(proto)")
                case (.failure, .failure): failures += 1
                default: XCTFail("protocol \(proto): fresh \(expected), one-shot \(oneShot)")
                }
            }
        }
        XCTAssertEqual(failures, 6)  // the non-ASCII name, three times at each of protocols 0 and 2

        final class Token: Sendable {}
        weak var token: Token?
        weak var graph: PickleGraph?
        try {
            let held = Token()
            token = held
            var options = PicklerOptions(protocolVersion: 5)
            options.bufferCallback = { _ in withExtendedLifetime(held) { false } }
            let g = PickleGraph(.list([.buffer(OutOfBandBuffer([1, 2, 3])), f]))
            graph = g
            XCTAssertEqual(try Pickler.dumps(g, options: options).count, 48)  // as CPython's
        }()
        XCTAssertNil(token, "the pooled pickler kept the caller's callback")
        XCTAssertNil(graph, "the pooled pickler kept the caller's graph")
    }

    /// A parser copied in the middle of a pickle continues as a value: each copy writes only its own payload
    /// heap, item arenas, key-shape scratch, and lists, sets and dicts that live in buffers of their own (the
    /// builder grows none of them in place while a copy shares it). Pairs of CPython pickles that agree up to
    /// some byte and differ after it are split there; each copy must decode what its whole pickle decodes to.
    func testACopiedParserKeepsItsOwnArenasAndContainers() throws {
        let output = String(decoding: try Python.script("""
            import pickle
            # Each pair pickles to the same length (protocol 4 frames declare it) and differs in its last items.
            # A dict or set of 1020 items lives in a buffer of its own, grown to room for 1024 by its first batch
            # of 1000; its second batch then writes in place.
            pairs = [
                # small strings (the heap), small lists (the list arena), records (the dict arena, key shapes)
                ([{'x': 0}] + [f'w{i}' for i in range(30)] + [[1, 2], 'tail-a', {'a': 1, 'b': 2}, {'a': 3, 'b': 4}],
                 [{'x': 0}] + [f'w{i}' for i in range(30)] + [[3, 4], 'tail-b', {'a': 5, 'b': 6}, {'b': 7, 'a': 8}]),
                ([[i] for i in range(1500)], [[i] for i in range(1300)] + [[i + 20_000] for i in range(1300, 1500)]),
                ({i: i for i in range(1020)}, {**{i: i for i in range(1000)}, **{i + 10_000: i for i in range(1000, 1020)}}),
                # small ints iterate in order, and 10000... land after them in the hash table
                (set(range(1020)), set(range(1000)) | set(range(10_000, 10_020))),
            ]
            for a, b in pairs:
                assert all(len(pickle.dumps(a, p)) == len(pickle.dumps(b, p)) for p in (2, 4))
                for proto in (2, 4):
                    print(pickle.dumps(a, proto).hex(), pickle.dumps(b, proto).hex())
            """), as: UTF8.self)
        let lines = output.split(separator: "\n")
        XCTAssertEqual(lines.count, 8)
        for line in lines {
            let fields = line.split(separator: " ").map { hexBytes($0) }
            let (first, second) = (fields[0], fields[1])
            let expected = try [first, second].map { try Unpickler.loads($0).root.description }
            XCTAssertNotEqual(expected[0], expected[1])
            let common = zip(first, second).prefix(while: { $0 == $1 }).count
            XCTAssertGreaterThan(common, 100)
            // The copy stops halfway, or just before its STOP (every change made, none yet taken into a
            // graph); the original then runs to its end; then the copy finishes. Were the two to share
            // storage, the original's writes would land on the copy's half-built containers.
            for pause in [common + (second.count - common) / 2, second.count - 1] {
                var parser = PickleParser()
                var outFirst: [PickleGraph] = [], outSecond: [PickleGraph] = []
                try parser.feed(first[..<common], into: &outFirst)
                var copy = parser
                try copy.feed(second[common ..< pause], into: &outSecond)
                try parser.feed(first[common...], into: &outFirst)
                try copy.feed(second[pause...], into: &outSecond)
                try parser.finish()
                try copy.finish()
                XCTAssertEqual(outFirst.map { $0.root.description }, [expected[0]])
                XCTAssertEqual(outSecond.map { $0.root.description }, [expected[1]])
            }
        }
    }

    /// A graph's ``PickleGraph/id`` is assigned when first read (decoding does not take a number): it is
    /// never 0, stays the same on every read, differs between graphs, and threads that read one graph's id
    /// for the first time at once all get the same number.
    func testGraphIDsAreAssignedOnFirstReadUniqueAndStable() throws {
        let graphs = try (0 ..< 64).map { _ in try Unpickler.loads([0x80, 0x04, 0x4B, 0x07, 0x2E]) }
        let racing = Array(graphs[32...])
        let seen = Mutex([[UInt64]](repeating: [], count: racing.count))
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for (k, graph) in racing.enumerated() { let id = graph.id; seen.withLock { $0[k].append(id) } }
        }
        let raced = seen.withLock { $0 }
        for (k, graph) in racing.enumerated() {
            XCTAssertEqual(Set(raced[k]), [graph.id], "threads reading graph \(k)'s id at once disagreed")
        }
        let ids = graphs.map(\.id)
        XCTAssertFalse(ids.contains(0))
        XCTAssertEqual(graphs.map(\.id), ids, "an id changed between reads")
        XCTAssertEqual(Set(ids).count, graphs.count, "two graphs share an id")
    }

    /// The smallest graphs' arenas share slabs: a stream of tiny pickles fills one slab after another, every
    /// graph is CPython's (fed whole, one byte at a time and split at sampled offsets), a graph kept after its
    /// neighbours and its parser are gone still reads right, and a parser copied between pickles writes its
    /// own slab, not the one the original goes on writing.
    func testSmallGraphsShareSlabsAndOutliveTheirNeighbours() throws {
        let output = String(decoding: try Python.script("""
            import pickle
            shapes = [None, 7, 'x', b'y' * 600, [1.5], {'k': 'v'}, (1, 'two'), 's' * 300, 2 ** 70, {'id': 1, 'tags': ['a', 'b']}]
            objects = [shapes[i % len(shapes)] if i % 3 else [i, str(i)] for i in range(300)]
            others = [[str(i), -i] for i in range(150)]  # what a copy of the parser decodes instead of objects[150:]
            print(b''.join(pickle.dumps(o, i % 6) for i, o in enumerate(objects)).hex())
            print(b''.join(pickle.dumps(o, 4) for o in others).hex())
            for o in objects + others:
                print(repr(o).encode().hex())
            """), as: UTF8.self)
        let lines = output.split(separator: "\n")
        let bytes = hexBytes(lines[0])
        let otherBytes = hexBytes(lines[1])
        let reprs = lines.dropFirst(2).map { String(decoding: hexBytes($0), as: UTF8.self) }
        XCTAssertEqual(reprs.count, 450)
        let expected = Array(reprs[..<300]), others = Array(reprs[300...])

        var graphs = try Unpickler.loadAll(bytes)
        XCTAssertEqual(graphs.map { $0.root.description }, expected)
        let slabs = graphs.compactMap { $0.t.arena }.map(ObjectIdentifier.init)
        XCTAssertEqual(slabs.count, 300)
        XCTAssertEqual(slabs[0], slabs[1], "two tiny graphs in one slab")
        XCTAssertGreaterThan(Set(slabs).count, 1, "300 graphs fill more than one 4 KiB slab")
        XCTAssertLessThan(Set(slabs).count, 60, "the slabs hold several graphs each")

        // One graph kept; its neighbours in the slab and the parser are gone.
        let kept = graphs[151]
        graphs.removeAll()
        XCTAssertEqual(kept.root.description, expected[151])

        XCTAssertNil(Feeding.assertChunkingInvariant(bytes).error)

        // A copy made between pickles decodes other pickles while the original goes on with the rest: were
        // they to write one slab at one offset, the original would overwrite the copy's graphs.
        var parser = PickleParser()
        var first: [PickleGraph] = []
        var split = 0
        while first.count < 150 {  // feed pickle by pickle up to the 150th STOP
            split += 1
            try parser.feed(bytes[(split - 1) ..< split], into: &first)
        }
        var copy = parser
        var fromParser: [PickleGraph] = [], fromCopy: [PickleGraph] = []
        try copy.feed(otherBytes, into: &fromCopy)
        try parser.feed(bytes[split...], into: &fromParser)
        try parser.finish()
        try copy.finish()
        XCTAssertEqual(first.map { $0.root.description }, Array(expected[..<150]))
        XCTAssertEqual(fromParser.map { $0.root.description }, Array(expected[150...]))
        XCTAssertEqual(fromCopy.map { $0.root.description }, others)
        let parserSlabs = Set(fromParser.compactMap { $0.t.arena }.map(ObjectIdentifier.init))
        let copySlabs = Set(fromCopy.compactMap { $0.t.arena }.map(ObjectIdentifier.init))
        XCTAssertTrue(parserSlabs.isDisjoint(with: copySlabs), "a copy and its original wrote one slab")
    }

    /// A stream of small pickles around large ones: a small graph's arenas are copied into one block and the
    /// parser keeps its own; a large graph takes them, and the parser starts over with small ones. Every graph
    /// must be CPython's, fed whole, one byte at a time and split anywhere, and a graph taken early must not
    /// change when the parser goes on to the next pickles.
    func testSmallAndLargeGraphsInOneStreamKeepTheirOwnTables() throws {
        let output = String(decoding: try Python.script("""
            import pickle
            small = lambda i: {'id': i, 'name': f'user{i}', 'tags': ['a', ('b', i)], 'blob': b'x' * (i % 3)}
            large = lambda n: [small(i) for i in range(n)] + ['s' * 600, b'y' * 700]   # arenas over 64 KiB
            objects = [small(1), large(4000), small(2), small(3), large(3000), large(10), small(4)]
            data = b''.join(pickle.dumps(o, p) for o, p in zip(objects, [4, 5, 2, 4, 3, 5, 1]))
            print(data.hex())
            for o in objects:
                print(repr(o).encode().hex())
            """), as: UTF8.self)
        let lines = output.split(separator: "\n")
        let bytes = hexBytes(lines[0])
        let expected = lines.dropFirst().map { String(decoding: hexBytes($0), as: UTF8.self) }
        let graphs = try Unpickler.loadAll(bytes)
        XCTAssertEqual(graphs.map { $0.root.description }, expected)
        let outcome = Feeding.assertChunkingInvariant(bytes, everyOffsetLimit: 600)
        XCTAssertNil(outcome.error)
        XCTAssertEqual(outcome.reprs.count, expected.count)
    }

    /// A parser told of a large input reserves its arenas only once the pickle outgrows a handful of nodes: a
    /// pickle that is one large payload leaves them as small as they were, one of many objects gets the
    /// reservation in one step, and a reservation no pickle made is dropped with its pickle, so it cannot
    /// size a later one. The decodings agree with CPython fed whole, one byte at a time and split at
    /// sampled offsets.
    func testArenasReservedForALargeInputOnlyWhenThePickleNeedsThem() throws {
        let output = String(decoding: try Python.script("""
            import pickle
            objects = [b'z' * (1 << 20), [i + 0.5 for i in range(20000)], {'a': [1.5, 2.5]}, [i + 0.25 for i in range(100)]]
            for o in objects:
                print(pickle.dumps(o, 5).hex())
                print(repr(o).encode().hex())
            """), as: UTF8.self)
        let lines = output.split(separator: "\n")
        XCTAssertEqual(lines.count, 8)
        let pickles = stride(from: 0, to: lines.count, by: 2).map { hexBytes(lines[$0]) }
        let reprs = stride(from: 1, to: lines.count, by: 2).map { String(decoding: hexBytes(lines[$0]), as: UTF8.self) }
        var parser = PickleParser()
        var out: [PickleGraph] = []
        func capacities(_ t: GraphTables) -> [Int] {
            [t.nodes.capacity, t.heap.capacity, t.listItems.capacity, t.tupleItems.capacity, t.dictItems.capacity]
        }

        // One 1 MiB payload announced as 100 MiB of input: a slice of the input, and no arena allocated for it.
        parser.reserve(forInputSize: 100 << 20)
        try parser.feed(pickles[0], into: &out)
        XCTAssertEqual(out.last?.root.description, reprs[0])
        XCTAssertEqual(out.last.map { capacities($0.t) }, [1, 0, 0, 0, 0])  // compacted: its one node
        XCTAssertTrue(capacities(parser.builder.t).allSatisfy { $0 <= 16 }, "\(capacities(parser.builder.t))")

        // 20,000 floats (20,001 nodes) announced as 1 MiB: past 16 nodes the node arena grows once, to the
        // reservation (131,072 nodes), instead of doubling; the graph takes it.
        parser.reserve(forInputSize: 1 << 20)
        try parser.feed(pickles[1], into: &out)
        XCTAssertEqual(out.last?.root.description, reprs[1])
        XCTAssertEqual(out.last?.t.nodes.capacity, (1 << 20) / 8)

        // A reservation the pickle did not make (five nodes) is dropped: the next pickle's 101 nodes grow the
        // arena by doubling from 16, not to 131,072.
        try parser.finish()
        parser = PickleParser()
        parser.reserve(forInputSize: 1 << 20)
        try parser.feed(pickles[2], into: &out)
        try parser.feed(pickles[3], into: &out)
        XCTAssertEqual(out.suffix(2).map { $0.root.description }, Array(reprs[2...]))
        XCTAssertEqual(out.last?.t.nodes.capacity, 101)  // compacted: the builder's arena stayed small
        XCTAssertLessThan(parser.builder.t.nodes.capacity, 1024)
        try parser.finish()

        for (bytes, expected) in zip(pickles, reprs) {
            XCTAssertEqual(try Unpickler.loads(bytes).root.description, expected)
            if bytes.count < 100_000 { XCTAssertNil(Feeding.assertChunkingInvariant(bytes).error) }
        }
    }

    /// Runs of plain scalars are encoded in bulk; the bytes equal CPython's at every protocol, including where
    /// frames (and, streaming, drains to the sink) fall in the middle of a run and where a run meets a value
    /// of another kind.
    func testScalarRunsEncodeExactlyAsCPython() throws {
        let output = String(decoding: try Python.script("""
            import pickle
            values = [0, 1, 255, 256, 65535, 65536, -1, -2**31, 2**31 - 1, 2**31, -2**31 - 1, 2**60, -2**60 - 1,
                      2**62 + 7, -2**63, 2**63 - 1, 2**63, 2**64 + 1, 0.5, -0.0, float('inf'), None, True, False]
            mixed = values + ['text', values[:3], b'bytes'] + values
            long_run = [i * 7919 - 2**33 if i % 3 else i for i in range(40_000)] + [1.5] * 9000 + ['end'] + list(range(300))
            for obj in (values, mixed, long_run, {i: float(i) for i in range(3000)}):
                for proto in range(0, 6):
                    print(proto, pickle.dumps(obj, proto).hex())
            """), as: UTF8.self)
        var checked = 0
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            let proto = Int(parts[0])!
            let expected = hexBytes(parts[1])
            let graph = try Unpickler.loads(expected)
            let options = PicklerOptions(protocolVersion: proto)
            let written = try Pickler.dumps(graph, options: options)
            XCTAssertTrue(written == expected, "protocol \(proto): \(written.count) bytes differ from CPython's \(expected.count)")
            var streaming = try StreamingPickler(sink: MemorySink(), options: options)
            try streaming.dump(graph)
            try streaming.flush()
            XCTAssertTrue(Array(streaming.sink.chunks.joined()) == expected, "protocol \(proto), streamed")
            checked += 1
        }
        XCTAssertEqual(checked, 24)
    }

    /// A node keeps its count in 32 bits; a longer payload or container goes to its own array. With the limit
    /// lowered to 3, the payloads, tuples and lists of a session stream (the second pickle copies the first's
    /// objects through the memo) take those paths and decode and re-encode exactly as with the normal limit,
    /// fed whole, one byte at a time and split at every offset.
    func testPayloadsAndContainersPastTheNodeCountLimitKeepTheirOwnArrays() throws {
        let hex = String(decoding: try Python.script("""
            import io, pickle, sys
            f = io.BytesIO()
            p = pickle.Pickler(f, 4)
            t = (1, 2, 3, 4, 5)
            lst = list(range(10))
            p.dump([t, 'a string longer than three', b'a bytes payload', 2**100, lst, {'k': t}, (t, t)])
            p.dump([t, lst, 'another string'])
            sys.stdout.write(f.getvalue().hex())
            """), as: UTF8.self)
        let bytes = hexBytes(Substring(hex))
        var session = UnpicklerOptions()
        session.memoMode = .session
        func decode(_ chunks: [[UInt8]], limit: Int?) throws -> [PickleGraph] {
            var parser = PickleParser(options: session)
            if let limit { parser.builder.countLimit = limit }
            var graphs: [PickleGraph] = []
            for chunk in chunks { try parser.feed(chunk, into: &graphs) }
            try parser.finish()
            return graphs
        }
        let expected = try decode([bytes], limit: nil)
        XCTAssertEqual(expected.map(\.root.description), [
            "[(1, 2, 3, 4, 5), 'a string longer than three', b'a bytes payload', 1267650600228229401496703205376, "
                + "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], {'k': (1, 2, 3, 4, 5)}, ((1, 2, 3, 4, 5), (1, 2, 3, 4, 5))]",
            "[(1, 2, 3, 4, 5), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'another string']",
        ])
        let expectedPickles = try expected.map { try Pickler.dumps($0) }
        for chunks in StreamTesting.chunkings(of: bytes) {
            let graphs = try decode(chunks, limit: 3)
            XCTAssertEqual(graphs.map(\.root.description), expected.map(\.root.description), "\(chunks.count) chunks")
            XCTAssertEqual(try graphs.map { try Pickler.dumps($0) }, expectedPickles, "\(chunks.count) chunks")
            XCTAssertFalse(graphs[0].root.node!.external, "the 7-item root list has its own array")
            for graph in graphs {
                let t = graph.t
                XCTAssertTrue(t.nodes.allSatisfy { $0.b <= 3 }, "no node keeps a count above the limit")
                XCTAssertTrue(t.nodes.contains { $0.kind == .tuple && $0.external }, "a 5-tuple has its own array")
                XCTAssertEqual(t.tupleElements(graph.root.elements![0].node!).count, 5)
            }
        }
    }

}
