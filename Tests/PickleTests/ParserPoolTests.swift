import Foundation
import Synchronization
import XCTest
@testable import Pickle

/// One-shot decoding reuses parsers (``ParserPool``): every call must behave as if its parser were new,
/// whatever the calls before it did or failed to do, on any thread.
final class ParserPoolTests: XCTestCase {
    /// A reused parser is reset field by field. This list is the parser's stored properties: a new one must be
    /// reset by `PickleParser.reuse` (or be as new after every clean pickle) before it is added here.
    func testEveryStoredPropertyOfTheParserIsAccountedForByReuse() {
        let expected = [
            "options", "hooks", "offset", "completedCount", "lastCompleteOffset", "carry", "carryScanned",
            "carryNewlines", "carryLength", "carryLengthIsExact", "announcedInputEnd", "copyToken", "builder",
            "stack", "marks", "memo", "proto", "frameEnd", "decodedBytes", "budget", "grantedBudget", "inPickle",
            "controlChanged", "anticipatedSize", "buffers", "nextBufferIndex", "generation", "sessionGraphs",
            "importMaps", "failure", "hasFailed", "haltsAfterPickle", "decodesOneShot", "oneShotGraph", "recordedNodeOffsets", "recordsNodeOffsets",
            // Set only on parsers made for one scan (`PickleParser.trace`), which are never pooled; the raw region
            // is cleared by the opcode loop as soon as it is skipped.
            "structureEvents", "pendingRawRegion", "readsJoblibArrays",
            "memoEntryCountAtLastComplete",
        ]
        let actual = Mirror(reflecting: PickleParser()).children.compactMap(\.label)
        XCTAssertEqual(actual, expected, "PickleParser's stored properties changed: check PickleParser.reuse")
    }

    /// Calls with every kind of outcome, interleaved: each result equals that of a parser made for it.
    func testLoadsAfterErrorsOtherOptionsAndBuffersBehavesAsNew() throws {
        let record = try Python.script("import pickle, sys; sys.stdout.buffer.write(pickle.dumps({'a': [1, 'x' * 40], 'b': 2.5}, 4))")
        let latin = try Python.script("import pickle, sys; sys.stdout.buffer.write(b'U\\x03\\xe9t\\xe9.')")  // SHORT_BINSTRING 'été' in latin-1
        let buffered = try Python.script("""
            import pickle, sys
            sys.stdout.buffer.write(pickle.dumps(pickle.PickleBuffer(bytearray(b'xyz')), 5, buffer_callback=lambda b: False))
            """)
        var latin1 = UnpicklerOptions()
        latin1.encoding = .latin1
        var session = UnpicklerOptions()
        session.memoMode = .session
        let expectedRecord = try PickleParser.decodeFresh(Array(record))
        for round in 0 ..< 3 {
            XCTAssertEqual(try Unpickler.loads(Array(record)).root.description, expectedRecord, "round \(round)")
            // Truncated, then garbage: errors name the same offsets as a new parser's.
            XCTAssertThrowsError(try Unpickler.loads(Array(record.prefix(10)))) { error in
                XCTAssertEqual((error as? PickleError)?.code, .truncated)
            }
            XCTAssertThrowsError(try Unpickler.loads([0x80, 0x04, 0xFF])) { error in
                XCTAssertEqual((error as? PickleError)?.offset, 2)
            }
            XCTAssertEqual(try Unpickler.loads(Array(record)).root.description, expectedRecord)
            XCTAssertThrowsError(try Unpickler.loads(Array(latin)))   // ASCII by default, as CPython
            XCTAssertEqual(try Unpickler.loads(Array(latin), options: latin1).root.string, "été")
            XCTAssertThrowsError(try Unpickler.loads(Array(latin)))   // the options do not stay with the parser
            XCTAssertEqual(try Unpickler.loads(Array(record), options: session).root.description, expectedRecord)
            for payload: [UInt8] in [[1, 2, 3], [4, 5]] {  // each call starts at its own first buffer
                XCTAssertEqual(try Unpickler.loads(Array(buffered), buffers: [OutOfBandBuffer(payload, isReadonly: false)]).root.bytes,
                               payload[...])
            }
            XCTAssertThrowsError(try Unpickler.loads(Array(buffered)))  // no buffers this time
            XCTAssertEqual(try Unpickler.loads(Array(record) + [0x2E, 0xFF]).root.description, expectedRecord)  // trailing bytes ignored
            let rejecting = UnpicklerHooks(findClass: { _ in throw PickleError(.rejected, offset: 0, "no") })
            let global: [UInt8] = [0x80, 0x02, 0x63] + Array("os\nsystem\n".utf8) + [0x2E]
            XCTAssertThrowsError(try Unpickler.loads(global, hooks: rejecting))
            XCTAssertEqual(try Unpickler.loads(global).root.global, GlobalName(module: "os", name: "system"))
        }
    }

    /// Once `loads` returns and the caller lets go of the graph, nothing the caller handed in is still held:
    /// not its hook closures, not its out-of-band buffers (which may be hundreds of MiB, and are lent to the
    /// parser without a retain of its own), though the parser that used them waits in the pool.
    func testAPooledParserKeepsNothingOfTheCallersAfterTheCall() throws {
        let buffered = try Python.script("""
            import pickle, sys
            sys.stdout.buffer.write(pickle.dumps(pickle.PickleBuffer(bytearray(b'xyz')), 5, buffer_callback=lambda b: False))
            """)
        final class Token: Sendable {}
        weak var token: Token?
        var payload = [UInt8](repeating: 7, count: 4096)
        let storage = payload.withUnsafeBufferPointer { $0.baseAddress }
        for _ in 0 ..< 3 {  // the second and third calls reuse a pooled parser
            try {
                let held = Token()
                token = held
                let hooks = UnpicklerHooks(findClass: { _ in withExtendedLifetime(held) { nil } })
                let graph = try Unpickler.loads(Array(buffered), hooks: hooks, buffers: [OutOfBandBuffer(payload, isReadonly: false)])
                let bytes = try XCTUnwrap(graph.root.bytes)
                XCTAssertEqual(bytes.withUnsafeBufferPointer { $0.baseAddress }, storage, "the graph shares the buffer")
            }()
            XCTAssertNil(token, "a pooled parser kept the caller's hooks")
            payload[0] &+= 1  // copies the storage only if something else still holds it
            XCTAssertEqual(payload.withUnsafeBufferPointer { $0.baseAddress }, storage, "a pooled parser kept the caller's buffers")
            // Without options and hooks (the other pool, whose parsers are lent the buffers the same way).
            try {
                let graph = try Unpickler.loads(Array(buffered), buffers: [OutOfBandBuffer(payload, isReadonly: false)])
                XCTAssertEqual(try XCTUnwrap(graph.root.bytes).withUnsafeBufferPointer { $0.baseAddress }, storage)
            }()
            payload[0] &+= 1
            XCTAssertEqual(payload.withUnsafeBufferPointer { $0.baseAddress }, storage, "a default-options parser kept the caller's buffers")
        }
    }

    /// A pooled parser starts each pickle with the limits of the call that took it: after a call with the
    /// default limits, a call with tight ones fails exactly where a new parser fails (fed whole, one byte at a
    /// time and split at every offset), and the default limits hold again after it, in either order.
    func testAPooledParserAppliesEachCallsLimitsFromTheFirstOpcode() throws {
        let bytes = Array(try Python.script("import pickle, sys; sys.stdout.buffer.write(pickle.dumps([list(range(60)), b'x' * 300], 4))"))
        var tightStack = UnpicklerOptions()
        tightStack.limits.maxStackDepth = 40
        var tightSize = UnpicklerOptions()
        tightSize.limits.maxDecodedBytes = 200
        let expected = try PickleParser.decodeFresh(bytes)
        for tight in [tightStack, tightSize] {
            let fresh = Feeding.assertChunkingInvariant(bytes, options: tight)
            let freshError = try XCTUnwrap(fresh.error, "the tight limits must stop this pickle")
            for _ in 0 ..< 3 {
                XCTAssertEqual(try Unpickler.loads(bytes).root.description, expected)
                XCTAssertThrowsError(try Unpickler.loads(bytes, options: tight)) { error in
                    let pooled = error as? PickleError
                    XCTAssertEqual(pooled?.code, freshError.code)
                    XCTAssertEqual(pooled?.offset, fresh.errorOffset)
                }
                XCTAssertEqual(try Unpickler.loads(bytes).root.description, expected)
            }
        }
    }

    /// Many threads decoding at once each get a parser of their own.
    func testConcurrentLoadsDecodeIndependently() throws {
        let pickles = try (0 ..< 8).map { i in
            Array(try Python.script("import pickle, sys; sys.stdout.buffer.write(pickle.dumps({'id': \(i), 'tags': ['t\(i)'] * \(i)}, 4))"))
        }
        let expected = try pickles.map { try PickleParser.decodeFresh($0) }
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for k in 0 ..< 2000 {
                let i = (worker + k) % pickles.count
                if (try? Unpickler.loads(pickles[i]).root.description) != expected[i] { failures.withLock { $0 += 1 } }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
    }

    /// One-shot encoding reuses its work list and memo table (``Pickler/dumps(_:options:)``): after small,
    /// large, cyclic and failed dumps, on one thread or many, every result is CPython's bytes.
    /// A one-shot pickler is lent the caller's graph and options (no retains of its own) and forgets them
    /// before it goes back to the pool: the graph and the options' closures live exactly as long as the caller
    /// keeps them, however many calls used them.
    func testAPooledPicklerKeepsNothingOfTheCallersAfterTheCall() throws {
        final class Token: Sendable {}
        weak var weakGraph: PickleGraph?
        weak var token: Token?
        for _ in 0 ..< 3 {  // the second and third calls reuse a pooled pickler
            try {
                let graph = try Unpickler.loads([0x80, 0x05, 0x97, 0x2E], buffers: [OutOfBandBuffer([1, 2, 3])])
                weakGraph = graph
                let held = Token()
                token = held
                var options = PicklerOptions(protocolVersion: 5)
                options.bufferCallback = { _ in withExtendedLifetime(held) { false } }
                for _ in 0 ..< 2 {  // the graph and the closure are intact after a call that was lent them
                    XCTAssertEqual(try Pickler.dumps(graph, options: options), [0x80, 0x05, 0x97, 0x98, 0x2E])
                }
                XCTAssertNotNil(weakGraph)
            }()
            XCTAssertNil(weakGraph, "a pooled pickler kept the caller's graph")
            XCTAssertNil(token, "a pooled pickler kept the caller's buffer callback")
        }
    }

    func testDumpsAfterLargeCyclicAndFailedDumpsGivesCPythonsBytes() throws {
        let sources = [
            "{'id': 7, 'name': 'user7', 'score': 3.5, 'tags': ['a', 'b']}",
            "[str(i) for i in range(70000)]",  // a memo table larger than the one kept
            "(lambda a: (a.append(a), {'x': a, 'y': [a, a]})[1])([])",  // a cycle and shared references
        ]
        let pickles = try sources.map { source in
            Array(try Python.script("import pickle, sys; sys.stdout.buffer.write(pickle.dumps(\(source), 5))"))
        }
        let graphs = try pickles.map { try Unpickler.loads($0) }
        let buffered = try Unpickler.loads([0x80, 0x05, 0x97, 0x2E], buffers: [OutOfBandBuffer([1, 2, 3])])
        let failing = PicklerOptions(protocolVersion: 4)  // a PickleBuffer needs protocol 5, as in CPython
        for round in 0 ..< 3 {
            for (graph, expected) in zip(graphs, pickles) {
                XCTAssertEqual(try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: 5)), expected, "round \(round)")
                XCTAssertThrowsError(try Pickler.dumps(buffered, options: failing))
            }
        }
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for k in 0 ..< 300 {
                let i = (worker + k) % 2 == 0 ? 0 : 2
                if (try? Pickler.dumps(graphs[i], options: PicklerOptions(protocolVersion: 5))) != pickles[i] {
                    failures.withLock { $0 += 1 }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
    }
}

private extension PickleParser {
    /// The repr of the one pickle in `bytes`, decoded by a parser made for it.
    static func decodeFresh(_ bytes: [UInt8]) throws -> String {
        var parser = PickleParser()
        var out: [PickleGraph] = []
        try parser.feed(bytes, into: &out)
        try parser.finish()
        return out[0].root.description
    }
}
