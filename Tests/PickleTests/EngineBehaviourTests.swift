import Foundation
import XCTest
@testable import Pickle

/// Memo modes, out-of-band buffers, zero copy, hooks, deep graphs, errors and limits.
final class EngineBehaviourTests: XCTestCase {
    // MARK: - Memo

    /// CPython: `p = Pickler(f, 2); p.dump(x); p.dump(x)` writes the second pickle as a memo reference.
    func testSessionModeSharesObjectsAcrossPicklesAndPerPickleModeRefuses() throws {
        let stream = try python("""
            import pickle, io, sys
            f = io.BytesIO(); p = pickle.Pickler(f, 4); x = [1, 'two']
            p.dump(x); p.dump(x); sys.stdout.buffer.write(f.getvalue())
            """)
        var session = UnpicklerOptions()
        session.memoMode = .session
        for split in [[], Array(0 ..< stream.count)] {
            let (graphs, error) = Feeding.run(stream, chunks: split, options: session)
            XCTAssertNil(error)
            XCTAssertEqual(graphs.count, 2)
            XCTAssertEqual(graphs[1].root.description, "[1, 'two']")
            XCTAssertTrue(graphs[0].root.isSameObject(as: graphs[1].root), "the second load is the same object (a is b)")
        }
        // The default, per-pickle mode never aliases: it reports the dangling memo reference instead.
        let (graphs, error) = Feeding.run(stream, chunks: [])
        XCTAssertEqual(graphs.count, 1)
        XCTAssertEqual(error?.code, .missingMemoEntry)
        XCTAssertEqual(error?.offset, stream.count - 3)
    }

    /// Independent protocol 4 pickles (separate dumps) in one file: per-pickle mode reads each correctly.
    func testIndependentProtocol4PicklesReadCorrectlyInTheDefaultMode() throws {
        let stream = try python("""
            import pickle, sys
            sys.stdout.buffer.write(pickle.dumps(['a', 'b'], 4) + pickle.dumps(['c', ['c']], 4))
            """)
        let graphs = try Unpickler.loadAll(stream)
        XCTAssertEqual(graphs.map { $0.root.description }, ["['a', 'b']", "['c', ['c']]"])
    }

    /// MEMOIZE stores at the entry count, not the highest index (CPython's memo_len).
    func testMemoizeUsesTheEntryCount() throws {
        XCTAssertEqual(try Unpickler.loads(Array("Nq\u{05}".utf8) + [0x88, 0x94] + Array("h\u{01}.".utf8)).root.description, "True")
        XCTAssertEqual(try Unpickler.loads(Array("Nq\u{01}".utf8) + [0x88, 0x94, 0x89, 0x94] + Array("h\u{01}.".utf8)).root.description, "False")
    }

    // MARK: - Out-of-band buffers and zero copy

    func testOutOfBandBuffersAreHandedThroughWithoutCopying() throws {
        let payload = [UInt8](repeating: 7, count: 1 << 20)
        let stream: [UInt8] = [0x80, 0x05, 0x97, 0x98, 0x2E]
        let graph = try Unpickler.loads(stream, buffers: [OutOfBandBuffer(payload)])
        let bytes = try XCTUnwrap(graph.root.bytes)
        XCTAssertTrue(graph.root.isReadonlyBuffer)
        payload.withUnsafeBytes { original in
            bytes.withUnsafeBytes { XCTAssertEqual($0.baseAddress, original.baseAddress, "the buffer is the caller's memory") }
        }
        XCTAssertThrowsError(try Unpickler.loads(stream)) { XCTAssertEqual(($0 as? PickleError)?.code, .missingBuffer) }
        XCTAssertThrowsError(try Unpickler.loads([0x80, 0x05, 0x97, 0x97, 0x86, 0x2E], buffers: [OutOfBandBuffer([1])])) {
            XCTAssertEqual(($0 as? PickleError)?.code, .missingBuffer)
        }
        // Re-pickled out of band when the callback says so, in band otherwise (as CPython).
        var options = PicklerOptions(protocolVersion: 5)
        options.bufferCallback = { _ in false }
        XCTAssertEqual(try Pickler.dumps(graph, options: options), stream)
        let inBand = try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: 5))
        XCTAssertEqual(Array(inBand.prefix(3)), [0x80, 0x05, Opcode.binBytes8.rawValue == inBand[2] ? inBand[2] : Opcode.binBytes.rawValue])
        XCTAssertEqual(try Unpickler.loads(inBand).root.bytes.map(Array.init), payload)
        options.bufferCallback = { _ in true }  // a true result keeps the buffer in band, as CPython's
        XCTAssertEqual(try Pickler.dumps(graph, options: options), inBand)
    }

    /// A graph keeps the caller's buffer array instead of a copy (NEXT_BUFFER indexes it across the stream):
    /// pickles with several buffers each, one after another, buffers supplied before and during the stream,
    /// at every chunking; each graph names its own buffers, re-pickles to CPython's bytes, and keeps them
    /// after the parser's array has grown.
    /// A small graph's arenas are borrowed regions of one block its tables hold once, and its rare tables
    /// (globals, long payloads, ...) sit behind one shared reference: a copy of the tables that is changed
    /// must leave the graph as it was, and a run of items taken from the graph must keep its memory alive
    /// after the graph is gone.
    func testCompactedTablesAreValuesAndRunsOutliveTheirGraph() throws {
        let data = try python("""
            import pickle, sys, collections
            value = [(1, 'two'), {'k': [3.5, None]}, collections.OrderedDict, b'x' * 600, frozenset({7})]
            sys.stdout.buffer.write(pickle.dumps(value, 5))
            """)
        let expected = "[(1, 'two'), {'k': [3.5, None]}, collections.OrderedDict, b'\(String(repeating: "x", count: 600))', frozenset({7})]"
        for boundaries in [[], Array(1 ..< data.count)] + (1 ..< data.count).map({ [$0] }) {
            var graphs: [PickleGraph] = []
            var parser = PickleParser()
            var start = 0
            for end in boundaries + [data.count] {
                try parser.feed(data[start ..< end], into: &graphs)
                start = end
            }
            try parser.finish()
            XCTAssertEqual(graphs.count, 1)
            var graph: PickleGraph? = graphs.removeFirst()
            XCTAssertNotNil(graph!.t.arena, "a small graph is compacted")
            XCTAssertEqual(graph!.root.description, expected)

            var copy = graph!.t
            copy.globals.append(GlobalName(module: "m", name: "n"))
            copy.slices[0] = [1, 2, 3][...]
            // Arenas follow FlatBuffer's contract: a writer makes a buffer unique first; growing moves it.
            copy.nodes.makeUnique()
            copy.nodes[0] = Node(kind: .int64, a: 42)
            copy.heap.append(7)
            copy.tupleItems.append(.none)
            copy.listItems.makeUnique()
            copy.listItems[0] = .none
            XCTAssertNotNil(copy.nodes.storageOwner, "the copy's nodes moved to storage of their own")
            XCTAssertNil(graph!.t.nodes.storageOwner, "the graph's nodes are still a region of its arena")
            XCTAssertEqual(graph!.root.description, expected, "chunks \(boundaries)")
            XCTAssertEqual(graph!.t.globals.count, 1)
            XCTAssertEqual(copy.globals.count, 2)

            let listNode = graph!.t.nodes[graph!.rootRef.nodeIndex]
            let tupleNode = graph!.t.nodes[graph!.t.elements(of: listNode).first!.nodeIndex]
            let run = graph!.t.tupleElements(tupleNode)
            let outer = graph!.t.elements(of: listNode)
            graph = nil
            copy = GraphTables()
            XCTAssertEqual(Array(run).count, 2)
            XCTAssertEqual(run[run.startIndex], PickleRef.inlineInt(1))
            XCTAssertEqual(outer.count, 5)
        }
    }

    func testGraphsOfAStreamKeepTheirOwnOutOfBandBuffers() throws {
        let stream = try python("""
            import pickle, sys
            b = lambda data, ro: pickle.PickleBuffer(bytes(data) if ro else bytearray(data))
            first = pickle.dumps([b(b'ab', True), b(b'cde', False)], 5, buffer_callback=lambda _: False)
            second = pickle.dumps({'x': b(b'fghi', True), 'y': [b(b'j', False)]}, 5, buffer_callback=lambda _: False)
            sys.stdout.buffer.write(first + second)
            """)
        let payloads: [[UInt8]] = [Array("ab".utf8), Array("cde".utf8), Array("fghi".utf8), Array("j".utf8)]
        let buffers = payloads.enumerated().map { OutOfBandBuffer($1, isReadonly: $0 % 2 == 0) }
        var probe = PickleParser(buffers: buffers)
        probe.haltsAfterPickle = true
        var first: [PickleGraph] = []
        try probe.feed(stream[...], into: &first)
        let firstEnd = probe.offset  // where the second pickle begins
        XCTAssertEqual(first.count, 1)
        var chunkings: [[Int]] = [[], Array(1 ..< stream.count)]
        chunkings += (1 ..< stream.count).map { [$0] }
        for boundaries in chunkings {
            // Two buffers up front, the other two supplied once the first pickle is in.
            var parser = PickleParser(buffers: Array(buffers.prefix(2)))
            var graphs: [PickleGraph] = []
            var start = 0
            for end in Set(boundaries + [firstEnd, stream.count]).sorted() {
                try parser.feed(stream[start ..< end], into: &graphs)
                if end == firstEnd { parser.supplyBuffers(Array(buffers.suffix(2))) }
                start = end
            }
            try parser.finish()
            XCTAssertEqual(graphs.count, 2, "chunks \(boundaries)")
            guard graphs.count == 2 else { continue }
            XCTAssertEqual(graphs[0].root.description, "[PickleBuffer(b'ab'), PickleBuffer(b'cde')]")
            XCTAssertEqual(graphs[1].root.description, "{'x': PickleBuffer(b'fghi'), 'y': [PickleBuffer(b'j')]}")
            XCTAssertEqual(graphs[0].root[1]?.isReadonlyBuffer, false)
            XCTAssertEqual(graphs[1].root["x"]?.isReadonlyBuffer, true)
            var options = PicklerOptions(protocolVersion: 5)
            options.bufferCallback = { _ in false }
            XCTAssertEqual(try graphs.flatMap { try Pickler.dumps($0, options: options) }, Array(stream))
        }
    }

    func testLargePayloadsAreSlicesOfTheInput() throws {
        let data = try python("import pickle, sys; sys.stdout.buffer.write(pickle.dumps([b'x' * 100000, 'y' * 5000], 5))")
        let graph = try Unpickler.loads(data)
        data.withUnsafeBytes { input in
            let range = UnsafeRawPointer(input.baseAddress!) ..< UnsafeRawPointer(input.baseAddress! + input.count)
            graph.root[0]!.bytes!.withUnsafeBytes { XCTAssertTrue(range.contains($0.baseAddress!), "bytes payload is a slice of the input") }
            graph.root[1]!.utf8!.withUnsafeBytes { XCTAssertTrue(range.contains($0.baseAddress!), "str payload is a slice of the input") }
        }
    }

    // MARK: - Hooks

    func testFindClassHookCanRejectOrReplaceGlobals() throws {
        let data = try python("import pickle, sys, collections; sys.stdout.buffer.write(pickle.dumps([collections.OrderedDict, len], 2))")
        let reject = UnpicklerHooks(findClass: { name in
            if name.module == "builtins" { throw PickleError(.rejected, offset: 0, "\(name) is forbidden") }
            return nil
        })
        XCTAssertThrowsError(try Unpickler.loads(data, hooks: reject)) { error in
            let e = error as? PickleError
            XCTAssertEqual(e?.code, .rejected)
            XCTAssertEqual(e?.opcode, .global)
            XCTAssertTrue(e?.message.contains("builtins.len") ?? false, "\(String(describing: e))")
        }
        let replace = UnpicklerHooks(findClass: { .string($0.description) })
        XCTAssertEqual(try Unpickler.loads(data, hooks: replace).root.description, "['collections.OrderedDict', 'builtins.len']")
        // Fix_imports applied before the hook: protocol 2 writes __builtin__.len.
        XCTAssertTrue(data.starts(with: [0x80, 0x02]))
    }

    /// CPython: after `copyreg.add_extension(module, name, code)`, pickling that global writes EXT1, EXT2 or
    /// EXT4 (by the code's size), and an unpickler maps the code back through the registry.
    func testExtensionCodesResolveThroughTheRegistryOption() throws {
        let data = try python("""
            import copyreg, pickle, sys, collections, fractions, decimal
            copyreg.add_extension('collections', 'OrderedDict', 240)
            copyreg.add_extension('fractions', 'Fraction', 0x1234)
            copyreg.add_extension('decimal', 'Decimal', 0x123456)
            sys.stdout.buffer.write(pickle.dumps([collections.OrderedDict, fractions.Fraction, decimal.Decimal], 2))
            """)
        for (op, code) in [(Opcode.ext1, 240), (.ext2, 0x1234), (.ext4, 0x123456)] as [(Opcode, Int)] {
            XCTAssertTrue(data.contains(op.rawValue), "CPython wrote no \(op) for code \(code)")
        }
        var options = UnpicklerOptions()
        options.extensionRegistry = [240: GlobalName(module: "collections", name: "OrderedDict"),
                                     0x1234: GlobalName(module: "fractions", name: "Fraction"),
                                     0x123456: GlobalName(module: "decimal", name: "Decimal")]
        XCTAssertEqual(options.extensionRegistry.count, 3)
        let globals = try python("import pickle, sys, collections, fractions, decimal; "
                                 + "sys.stdout.buffer.write(pickle.dumps([collections.OrderedDict, fractions.Fraction, decimal.Decimal], 2))")
        let expected = try Unpickler.loads(globals).root.description
        XCTAssertEqual(try Unpickler.loads(data, options: options).root.description, expected)
        _ = Feeding.assertChunkingInvariant(data, options: options)
        XCTAssertEqual(Feeding.outcome(data, chunks: [], options: options, describe: true).reprs, [expected])
        // Without the registry the codes stay inert, also in a pooled parser that last decoded with it.
        let inert = try Unpickler.loads(data)
        XCTAssertNotEqual(inert.root.description, expected)
        XCTAssertEqual(inert.root[0]?.kind, .object)
        // Emptying the registry is the default again.
        options.extensionRegistry = [:]
        XCTAssertTrue(options.extensionRegistry.isEmpty)
        XCTAssertEqual(try Unpickler.loads(data, options: options).root.description, inert.root.description)
    }

    func testPersistentIdsStayInertOrGoThroughTheHook() throws {
        let data: [UInt8] = Array("(Pabc\n".utf8) + [0x4B, 0x05, 0x51, 0x6C, 0x2E]  // [persid 'abc', binpersid 5]
        let inert = try Unpickler.loads(data)
        XCTAssertEqual(inert.root.description, "[persistent_load('abc'), persistent_load(5)]")
        XCTAssertEqual(try Pickler.dumps(inert, options: PicklerOptions(protocolVersion: 0)), Array("(lp0\nPabc\naP5\na.".utf8))
        let hooks = UnpicklerHooks(persistentLoad: { id in if case .string(let s) = id { return .string(s.uppercased()) }; return .int(-1) })
        XCTAssertEqual(try Unpickler.loads(data, hooks: hooks).root.description, "['ABC', -1]")
    }

    /// The pickler's persistent-id hook writes what CPython's `Pickler.persistent_id` writes.
    func testPersistentIDHookMatchesCPython() throws {
        for version in 0 ... 5 {
            let expected = try python("""
                import pickle, io, sys
                class P(pickle.Pickler):
                    def persistent_id(self, obj):
                        if isinstance(obj, str) and obj.startswith('ext:'):
                            return obj[4:] if \(version) == 0 else ('ref', obj[4:], 7)
                        return None
                f = io.BytesIO(); P(f, \(version)).dump(['ext:alpha', 'plain', {'k': 'ext:beta'}]); sys.stdout.buffer.write(f.getvalue())
                """)
            var options = PicklerOptions(protocolVersion: version)
            options.persistentID = { node in
                guard let text = node.string, text.hasPrefix("ext:") else { return nil }
                let name = String(text.dropFirst(4))
                return version == 0 ? .string(name) : .tuple([.string("ref"), .string(name), .int(7)])
            }
            let value: PickleValue = ["ext:alpha", "plain", ["k": "ext:beta"]]
            XCTAssertEqual(try Pickler.dumps(PickleGraph(value), options: options), expected, "protocol \(version)")
        }
    }

    // MARK: - Depth

    /// A 1,000,000-deep list loads (with the nesting limit raised past it), prints, re-pickles, reloads and
    /// frees without recursion.
    func testMillionDeepListNeverOverflowsTheStack() throws {
        let depth = 1_000_000
        var data: [UInt8] = [0x80, 0x02]
        data += [UInt8](repeating: Opcode.emptyList.rawValue, count: depth)
        data += [UInt8](repeating: Opcode.append.rawValue, count: depth - 1)
        data.append(Opcode.stop.rawValue)
        var options = UnpicklerOptions()
        options.limits.maxNestingDepth = .max
        XCTAssertThrowsError(try Unpickler.loads(data)) { XCTAssertEqual(($0 as? PickleError)?.code, .limitExceeded) }
        var graph: PickleGraph? = try Unpickler.loads(data, options: options)
        let text = graph!.root.description
        XCTAssertTrue(text.hasPrefix("[[[[") && text.hasSuffix("]]]]"))
        XCTAssertEqual(text.count, 2 * depth)
        let again = try Pickler.dumps(graph!, options: PicklerOptions(protocolVersion: 4))
        let reloaded = try Unpickler.loads(again, options: options)
        XCTAssertEqual(reloaded.nodeCount, depth)
        XCTAssertThrowsError(try reloaded.root.value()) { XCTAssertEqual(($0 as? PickleError)?.code, .limitExceeded) }
        graph = nil
        XCTAssertNil(graph)
        let dis = Disassembler.disassembleAll(Array(data.prefix(2 + 1000)) + [0x2E])
        XCTAssertNotNil(dis.error)
    }

    func testCyclesRoundTripWithIdentity() throws {
        let data = try python("import pickle, sys; l = []; d = {'self': l}; l.append(d); l.append(l); sys.stdout.buffer.write(pickle.dumps(l, 5))")
        let graph = try Unpickler.loads(data)
        XCTAssertEqual(graph.root.description, "[{'self': [...]}, [...]]")
        XCTAssertTrue(graph.root[1]!.isSameObject(as: graph.root))
        XCTAssertTrue(graph.root[0]!["self"]!.isSameObject(as: graph.root))
        XCTAssertEqual(try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: 5)), data)
        XCTAssertThrowsError(try graph.root.value())
    }

    // MARK: - Errors

    func testEndOfInputIsDistinctFromTruncation() {
        XCTAssertEqual(Feeding.outcome([0x4E], chunks: []).error?.code, .endOfInput)          // N
        XCTAssertEqual(Feeding.outcome([0x80, 0x04], chunks: []).error?.code, .endOfInput)
        XCTAssertEqual(Feeding.outcome([0x80], chunks: []).error?.code, .truncated)
        XCTAssertEqual(Feeding.outcome(Array("I0".utf8), chunks: []).error?.code, .truncated)
        let error = Feeding.outcome([0x4B, 0x01, 0x2E, 0x4B], chunks: []).error
        XCTAssertEqual(error?.code, .truncated)
        XCTAssertEqual(error?.offset, 3)
        XCTAssertEqual(error?.opcode, .binInt1)
    }

    func testHugeDeclaredLengthsAllocateNothing() {
        for header: [UInt8] in [[0x8E], [0x96], [0x8D], [0x95]] {  // BINBYTES8, BYTEARRAY8, BINUNICODE8, FRAME
            let data = [0x80, 0x04] + header + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F] + [0x4E, 0x2E]
            let outcome = Feeding.assertChunkingInvariant(data)
            XCTAssertEqual(outcome.error?.code, .limitExceeded, "\(header)")
            XCTAssertEqual(outcome.error?.offset, 2)
        }
        // Within the limit but absent: waits for bytes, allocating only what arrives, then reports truncation.
        var parser = PickleParser()
        var out: [PickleGraph] = []
        XCTAssertNoThrow(try parser.feed([0x80, 0x04, 0x8E, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3], into: &out))
        XCTAssertThrowsError(try parser.finish()) { XCTAssertEqual(($0 as? PickleError)?.code, .truncated) }
    }

    func testObjectsBeforeAnErrorAreDelivered() {
        let data: [UInt8] = [0x4B, 0x01, 0x2E, 0x4B, 0x02, 0x2E, 0xFF]
        let outcome = Feeding.assertChunkingInvariant(data)
        XCTAssertEqual(outcome.reprs.count, 2)
        XCTAssertEqual(outcome.error?.code, .invalidOpcode)
        XCTAssertEqual(outcome.error?.offset, 6)
    }

    func testLoadsIgnoresBytesAfterStopAndLoadAllReadsEveryPickle() throws {
        XCTAssertEqual(try Unpickler.loads([0x4B, 0x01, 0x2E] + Array("garbage".utf8)).root.int, 1)
        XCTAssertEqual(try Unpickler.loadAll([0x4B, 0x01, 0x2E, 0x4B, 0x02, 0x2E]).map { $0.root.int }, [1, 2])
    }

    // MARK: - Python 2 strings

    func testPython2StringsFollowTheEncodingOption() throws {
        let data = Array("U\u{03}".utf8) + [0x61, 0xE9, 0x62, 0x2E]  // SHORT_BINSTRING b'a\xe9b'
        XCTAssertThrowsError(try Unpickler.loads(data)) { XCTAssertEqual(($0 as? PickleError)?.code, .decodingFailed) }
        for (encoding, expected) in [(StringEncoding.latin1, "'aéb'"), (.bytes, "b'a\\xe9b'")] {
            var options = UnpicklerOptions()
            options.encoding = encoding
            XCTAssertEqual(try Unpickler.loads(data, options: options).root.description, expected)
        }
        var replace = UnpicklerOptions()
        replace.errors = .replace
        XCTAssertEqual(try Unpickler.loads(data, options: replace).root.description, "'a\u{FFFD}b'")
        var escape = UnpicklerOptions()
        escape.errors = .surrogateescape
        XCTAssertEqual(try Unpickler.loads(data, options: escape).root.description, "'a\\udce9b'")
    }

    func testValueTreesBuildGraphsAndPickleLikeCPython() throws {
        let value: PickleValue = ["a": [1, 2.5, "x"], "b": .tuple([true, nil]), "c": .bytes([0, 255])]
        let expected = try python("import pickle, sys; sys.stdout.buffer.write(pickle.dumps({'a': [1, 2.5, 'x'], 'b': (True, None), 'c': b'\\x00\\xff'}, 5))")
        XCTAssertEqual(try Pickler.dumps(value, protocol: 5), expected)
        XCTAssertEqual(PickleGraph(value).root["a"]?[2]?.string, "x")
    }

    // MARK: - Keys

    /// Duplicate keys in a hand-made stream: Python's equality decides (1 == True == 1.0), the last value
    /// wins at the first key's position; small dicts scan, large ones (over 16 keys) use a hash index.
    func testDuplicateDictKeysAndSetElementsFollowPythonEquality() throws {
        for count in [3, 40] {
            var data: [UInt8] = [0x80, 0x02, Opcode.emptyDict.rawValue, Opcode.mark.rawValue]
            for i in 0 ..< count { data += [Opcode.binInt1.rawValue, UInt8(i), Opcode.binInt1.rawValue, UInt8(i)] }
            data += [Opcode.newTrue.rawValue, Opcode.binInt1.rawValue, 99]                              // True: 99
            data += [Opcode.binFloat.rawValue, 0x40, 0, 0, 0, 0, 0, 0, 0, Opcode.binInt1.rawValue, 98]  // 2.0: 98
            data += [Opcode.binInt1.rawValue, 1, Opcode.binInt1.rawValue, 2, Opcode.tuple2.rawValue, Opcode.none.rawValue]
            data += [Opcode.binInt1.rawValue, 1, Opcode.binInt1.rawValue, 2, Opcode.tuple2.rawValue, Opcode.newTrue.rawValue]
            data += [Opcode.shortBinBytes.rawValue, 1, 0x61, Opcode.none.rawValue, Opcode.shortBinUnicode.rawValue, 1, 0x61, Opcode.none.rawValue]
            data += [Opcode.setItems.rawValue, Opcode.stop.rawValue]
            let expected = try Python.run([TestPaths.oracle.path, "loads", "/dev/stdin"], stdin: data)
            XCTAssertEqual(expected.status, 0, expected.stderr)
            let outcome = Feeding.assertChunkingInvariant(data)
            XCTAssertEqual(try Unpickler.loads(data).root.description + "\n", expected.stdout, "\(count) keys")
            XCTAssertNil(outcome.error)
        }
        // A frozenset with equal elements keeps one; a list key is unhashable, as in Python.
        let set: [UInt8] = [0x80, 0x04, 0x28, 0x4B, 0x01, 0x88, 0x47, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x91, 0x2E]
        XCTAssertEqual(try Unpickler.loads(set).root.description, "frozenset({1})")
        XCTAssertThrowsError(try Unpickler.loads([0x7D, 0x5D, 0x4E, 0x73, 0x2E])) { XCTAssertEqual(($0 as? PickleError)?.code, .typeMismatch) }
    }

    func testOrderedDictPrintsAsPythonPrintsIt() throws {
        for version in 0 ... 5 {
            let data = try python("import pickle, sys, collections; sys.stdout.buffer.write(pickle.dumps(collections.OrderedDict([('b', 1), ('a', [2])]), \(version)))")
            let graph = try Unpickler.loads(data)
            XCTAssertEqual(graph.root.description, "OrderedDict([('b', 1), ('a', [2])])", "protocol \(version)")
            XCTAssertEqual(graph.root["a"]?[0]?.int, 2)
            XCTAssertEqual(try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: version)), data)
        }
    }

    // MARK: - Helpers

    private func python(_ script: String) throws -> [UInt8] {
        [UInt8](try Python.script(script))
    }
}
