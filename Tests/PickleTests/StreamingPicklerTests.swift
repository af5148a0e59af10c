import Foundation
import XCTest
@testable import Pickle

#if canImport(Glibc)
import Glibc
#endif

/// The streaming pickler and its sinks: memo across dumps, frames, large payloads as their own buffers,
/// flushing, failures.
final class StreamingPicklerTests: XCTestCase {
    /// A stream CPython writes with one Pickler across dumps, read as a session and re-written by the
    /// streaming pickler in shared-memo mode, is the same bytes; the independent mode matches separate
    /// `pickle.dumps` calls.
    func testOutputEqualsCPythonInBothRecordModes() async throws {
        for proto in [0, 2, 4, 5] {
            let shared = try StreamTesting.python("""
                import pickle, sys, io
                f = io.BytesIO(); p = pickle.Pickler(f, \(proto)); a = ['shared', 1.5]; d = {'k': a}
                for obj in ([a, a], d, 'text', a, [d, list(range(3000))]): p.dump(obj)
                sys.stdout.buffer.write(f.getvalue())
                """)
            var session = UnpicklerOptions()
            session.memoMode = .session
            let graphs = try Unpickler.loadAll(shared, options: session)
            var pickler = try StreamingPickler(sink: MemorySink(), options: PicklerOptions(protocolVersion: proto))
            for graph in graphs { try pickler.dump(graph) }
            try pickler.flush()
            XCTAssertEqual(pickler.sink.bytes, shared, "protocol \(proto), shared memo")
            XCTAssertEqual(pickler.byteCount, shared.count)

            let independent = try StreamTesting.python("""
                import pickle, sys
                a = ['shared', 1.5]; d = {'k': a}
                for obj in ([a, a], d, 'text', a): sys.stdout.buffer.write(pickle.dumps(obj, \(proto)))
                """)
            var separate = try StreamingPickler(sink: MemorySink(), options: PicklerOptions(protocolVersion: proto), records: .independent)
            for graph in try Unpickler.loadAll(independent) { try separate.dump(graph) }
            try separate.flush()
            XCTAssertEqual(separate.sink.bytes, independent, "protocol \(proto), independent records")
        }
    }

    /// A 300 KiB payload reaches the sink as a slice of the graph's own storage; everything else arrives in
    /// whole frames, and the bytes equal the one-shot pickler's.
    func testLargePayloadsReachTheSinkAsTheirOwnBuffers() throws {
        let payload = [UInt8]((0 ..< 300 * 1024).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let graph = PickleGraph(.list([.string("head"), .bytes(payload), .list((0 ..< 20_000).map { .int($0) }), .string("tail")]))
        let stored = try XCTUnwrap(graph.root[1]?.bytes)
        for proto in [3, 4, 5] {
            var pickler = try StreamingPickler(sink: MemorySink(), options: PicklerOptions(protocolVersion: proto))
            try pickler.dump(graph)
            try pickler.flush()
            let sink = pickler.sink
            XCTAssertEqual(sink.bytes, try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: proto)), "protocol \(proto)")
            let handedOver = try XCTUnwrap(sink.chunks.first { $0.count == payload.count }, "protocol \(proto)")
            handedOver.withUnsafeBytes { given in
                stored.withUnsafeBytes { XCTAssertEqual(given.baseAddress, $0.baseAddress, "not copied") }
            }
            for chunk in sink.chunks where chunk.count != payload.count {
                XCTAssertLessThanOrEqual(chunk.count, 64 * 1024 + 64, "protocol \(proto): frames, never the whole pickle at once")
                if proto >= 4 && chunk.startIndex == 0 && chunk.first != 0x80 {
                    XCTAssertTrue([Opcode.frame.rawValue, Opcode.binBytes.rawValue].contains(chunk.first!), "a chunk begins a frame")
                }
            }
        }
    }

    /// Payloads around the sizes where the pickler changes how it writes them (straight to the output outside
    /// frames from 4 KiB, outside any frame from 64 KiB) and strings and ints between them, at every protocol:
    /// `Pickler.dumps` and the streaming pickler write CPython's bytes, and the streaming pickler never holds
    /// much more than a frame before handing it to the sink, with or without frames.
    func testPayloadsAroundEveryWriteThresholdMatchCPythonAtEveryProtocol() throws {
        for proto in 0 ... 5 {
            let expected = try StreamTesting.python("""
            import pickle, sys
            sizes = [4095, 4096, 4097, 30000, 65535, 65536, 70000]
            obj = [b'x' * 3] + [bytes(range(256)) * (n // 256) + bytes(n % 256) for n in sizes] \\
                + ['s' * n for n in (255, 256, 5000, 65536)] + list(range(-3, 70000, 7)) + [b'tail']
            sys.stdout.buffer.write(pickle.dumps(obj, \(proto)))
            """)
            let graph = try Unpickler.loads(expected)
            let options = PicklerOptions(protocolVersion: proto)
            XCTAssertEqual(try Pickler.dumps(graph, options: options), expected, "protocol \(proto), dumps")
            var pickler = try StreamingPickler(sink: MemorySink(), options: options)
            try pickler.dump(graph)
            let heldAfterDump = pickler.byteCount - pickler.sink.count
            XCTAssertLessThan(heldAfterDump, 2 * 64 * 1024, "protocol \(proto): held back from the sink")
            try pickler.flush()
            XCTAssertEqual(pickler.sink.bytes, expected, "protocol \(proto), streamed")
            XCTAssertGreaterThan(pickler.sink.chunks.count, 4, "protocol \(proto): handed over during the dump")
            for chunk in pickler.sink.chunks where chunk.count < 65536 || chunk.count > 70000 {
                XCTAssertLessThan(chunk.count, 2 * 64 * 1024, "protocol \(proto): a chunk of buffered output")
            }
        }
    }

    /// One huge item written through the pending buffer (a 1 MiB global name, at protocols with and without
    /// frames) is written whole, and the pickler does not keep a buffer of its size for later dumps.
    func testAHugeItemLeavesNoHugeBufferBehind() throws {
        let name = GlobalName(module: String(repeating: "m", count: 1 << 20), name: "f")
        for proto in [2, 4] {
            var pickler = try Pickler(options: PicklerOptions(protocolVersion: proto))
            try pickler.dump(PickleGraph(.list([.global(name), .int(1)])))
            XCTAssertLessThanOrEqual(pickler.pendingCapacity, 1 << 18, "protocol \(proto)")
            let back = try Unpickler.loads(pickler.takeOutput())
            XCTAssertEqual(back.root[0]?.global, name, "protocol \(proto)")
            XCTAssertEqual(back.root[1]?.int, 1, "protocol \(proto)")
        }
    }

    /// A large object streams out while it is being pickled: the sink has most of it before the dump returns.
    func testAnObjectLargerThanAFrameStreamsOutDuringTheDump() throws {
        let graph = PickleGraph(.list((0 ..< 200_000).map { .string("item \($0)") }))
        let whole = try Pickler.dumps(graph)
        var pickler = try StreamingPickler(sink: MemorySink())
        try pickler.dump(graph)
        XCTAssertGreaterThan(pickler.sink.chunks.count, 20)
        XCTAssertGreaterThan(pickler.sink.count, whole.count - 64 * 1024 - 64, "at most one frame waits for the flush")
        try pickler.flush()
        XCTAssertEqual(pickler.sink.bytes, whole)
        var parser = PickleParser()
        var frames: [PickleGraph] = []
        for chunk in pickler.sink.chunks { try parser.feed(chunk, into: &frames) }
        XCTAssertEqual(frames.count, 1)
    }

    /// Small pickles wait for a frame's worth or a flush; after `flush()` a reader has every object.
    func testFlushPutsEveryDumpedObjectOnTheWire() async throws {
        let (readEnd, writeEnd) = try StreamTesting.pipe()
        defer { close(readEnd) }
        var pickler = try StreamingPickler(sink: FileDescriptorSink(fileDescriptor: writeEnd, ownsFileDescriptor: true), records: .independent)
        try pickler.dump(.string("first"))
        try pickler.dump(.list([.int(1), .int(2)]))
        XCTAssertEqual(pickler.sink.bytesWritten, 0, "no flush yet: nothing on the wire")
        try pickler.flush()
        XCTAssertEqual(pickler.sink.bytesWritten, pickler.byteCount)
        var iterator = StreamingUnpickler(fileDescriptor: readEnd).makeAsyncIterator()
        let first = try await iterator.next()
        let second = try await iterator.next()
        XCTAssertEqual(first?.root.description, "'first'")
        XCTAssertEqual(second?.root.description, "[1, 2]")
        pickler.flushesAfterEachDump = true
        try pickler.dump(.none)
        let third = try await iterator.next()
        XCTAssertEqual(third?.root.description, "None")
        try pickler.sink.close()
        let end = try await iterator.next()
        XCTAssertNil(end)
    }

    /// An unpicklable value writes nothing and the pickler goes on; a dead peer is an error, not SIGPIPE.
    func testFailuresLeaveTheStreamWholeOrStopIt() throws {
        var pickler = try StreamingPickler(sink: MemorySink(), options: PicklerOptions(protocolVersion: 0))
        try pickler.dump(.string("before"))
        XCTAssertThrowsError(try pickler.dump(.list([.string("x"), .global(GlobalName(module: "mödule", name: "f"))]))) {
            XCTAssertEqual(($0 as? PickleError)?.code, .unpicklable)
        }
        try pickler.dump(.string("after"))
        try pickler.flush()
        XCTAssertEqual(try Unpickler.loadAll(pickler.sink.bytes).map(\.root.description), ["'before'", "'after'"])

        let (readEnd, writeEnd) = try StreamTesting.pipe()
        close(readEnd)
        var broken = try StreamingPickler(sink: FileDescriptorSink(fileDescriptor: writeEnd, ownsFileDescriptor: true))
        try broken.dump(.string("nobody listens"))
        XCTAssertThrowsError(try broken.flush()) {
            let error = $0 as? PickleError
            XCTAssertEqual(error?.code, .ioFailure)
            XCTAssertTrue(error?.message.contains("Broken pipe") ?? false, "\($0)")
        }
        XCTAssertThrowsError(try broken.dump(.none), "a failed sink stops the pickler")
    }

    /// A dump that fails before reaching the sink takes back its memo entries, so a shared-memo stream stays
    /// right: the object it had memoized is written in full by the next dump, and one CPython Unpickler reads
    /// every pickle.
    func testAFailedDumpTakesBackItsMemoEntries() throws {
        let graph = PickleGraph(.list([.list([.string("b")]), .global(GlobalName(module: "mödule", name: "f"))]))
        let inner = try XCTUnwrap(graph.root[0])
        for proto in [1, 2] {
            var pickler = try StreamingPickler(sink: MemorySink(), options: PicklerOptions(protocolVersion: proto))
            try pickler.dump(.list([.string("first")]))
            XCTAssertThrowsError(try pickler.dump(graph.root))
            try pickler.dump(inner)
            try pickler.dump(inner)
            try pickler.flush()
            let printed = try Python.script("""
                import pickle, sys, io
                u = pickle.Unpickler(io.BytesIO(bytes.fromhex(sys.argv[1])))
                a, b, c = u.load(), u.load(), u.load()
                print(a, b, c, b is c)
                """, [pickler.sink.bytes.map { String(format: "%02x", $0) }.joined()])
            XCTAssertEqual(String(decoding: printed, as: UTF8.self), "['first'] ['b'] ['b'] True\n", "protocol \(proto)")
        }
    }
}
