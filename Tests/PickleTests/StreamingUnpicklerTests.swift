import Foundation
import XCTest
@testable import Pickle

#if canImport(Glibc)
import Glibc
#endif

/// The async streaming unpickler: every chunking, latency, backpressure, errors mid-stream, cancellation,
/// file descriptors and memo modes.
final class StreamingUnpicklerTests: XCTestCase {
    /// Twelve CPython fixtures of every protocol, one after another, with their CPython reprs.
    private lazy var stream: (bytes: [UInt8], reprs: [String], ends: [Int]) = {
        let picked = Fixture.all.filter { $0.builtin_only && !$0.cyclic && $0.repr != nil }
            .enumerated().filter { $0.offset % 97 == 0 }.map(\.element).prefix(12)
        var bytes: [UInt8] = []
        var ends: [Int] = []
        for fixture in picked {
            bytes += fixture.bytes
            ends.append(bytes.count)
        }
        return (bytes, picked.map { $0.repr! }, ends)
    }()

    func testEveryChunkingOfAStreamYieldsTheSameObjects() async throws {
        let (bytes, reprs, _) = stream
        XCTAssertEqual(Set(Fixture.all.filter { $0.builtin_only }.map(\.protocol)).count, 6)
        XCTAssertGreaterThan(bytes.count, 200)
        let whole = try await StreamTesting.decode([bytes])
        XCTAssertEqual(whole.graphs.map(\.root.description), reprs)
        XCTAssertNil(whole.error)
        let oneByte = try await StreamTesting.decode(bytes.map { [$0] })
        XCTAssertEqual(oneByte.graphs.map(\.root.description), reprs)
        XCTAssertNil(oneByte.error)
        for split in 0 ... bytes.count {
            let parts = try await StreamTesting.decode([Array(bytes[..<split]), Array(bytes[split...])])
            XCTAssertEqual(parts.graphs.map(\.root.description), reprs, "split at \(split)")
            XCTAssertNil(parts.error, "split at \(split)")
        }
    }

    /// A pickle of several megabytes fed in 64 KiB chunks and one byte at a time (the arenas grow ahead of the
    /// input, and split payloads pass through the carry buffer) decodes to the same graph as whole.
    func testALargePickleDecodesTheSameInAnyChunking() throws {
        let bytes = try StreamTesting.python("""
            import pickle, sys
            data = [{'id': i, 'name': 'n%d' % i, 'blob': ('x%d' % i) * (i % 300), 'pair': (i, -i)} for i in range(40000)]
            sys.stdout.buffer.write(pickle.dumps(data, 4) + pickle.dumps(data[:3], 2))
            """)
        XCTAssertGreaterThan(bytes.count, 3_000_000)
        let whole = Feeding.outcome(bytes, chunks: [])
        XCTAssertEqual(whole.reprs.count, 2)
        XCTAssertNil(whole.error)
        XCTAssertEqual(Feeding.outcome(bytes, chunks: Array(stride(from: 65536, to: bytes.count, by: 65536))), whole)
        XCTAssertEqual(Feeding.outcome(bytes, chunks: Array(0 ..< bytes.count)), whole)
    }

    /// A protocol-0 text argument of a megabyte arriving one byte at a time is scanned once (linear), not
    /// rescanned on every byte.
    func testALongTextLineFedByteByByteIsScannedOnce() throws {
        let bytes = Array("V".utf8) + [UInt8](repeating: 0x78, count: 1 << 20) + Array("\np0\n.".utf8)
        let outcome = Feeding.outcome(bytes, chunks: Array(0 ..< bytes.count), describe: true)
        XCTAssertNil(outcome.error)
        XCTAssertEqual(outcome.reprs.first?.count, (1 << 20) + 2)
    }

    func testSlicesAndDataChunksAreAccepted() async throws {
        let (bytes, reprs, _) = stream
        let slices = stride(from: 0, to: bytes.count, by: 7).map { bytes[$0 ..< min($0 + 7, bytes.count)] }
        var decoded: [String] = []
        for try await graph in StreamingUnpickler(StreamTesting.sequence(slices)) { decoded.append(graph.root.description) }
        XCTAssertEqual(decoded, reprs)
        decoded = []
        let data = stride(from: 0, to: bytes.count, by: 5).map { Data(bytes[$0 ..< min($0 + 5, bytes.count)]) }
        for try await graph in StreamingUnpickler(StreamTesting.sequence(data)) { decoded.append(graph.root.description) }
        XCTAssertEqual(decoded, reprs)
    }

    /// The chunk holding a STOP yields its object at once: the test withholds every later byte until the
    /// object has arrived, so holding it back would hang (and fail on the timeout).
    func testEachObjectIsEmittedAsSoonAsItsStopArrives() async throws {
        let (bytes, reprs, ends) = stream
        let decoded = try await StreamTesting.withTimeout {
            let (chunks, input) = AsyncStream.makeStream(of: [UInt8].self)
            var iterator = StreamingUnpickler(chunks).makeAsyncIterator()
            var decoded: [String] = []
            var start = 0
            for end in ends {
                // Everything up to and including this pickle's STOP, in two pieces split mid-pickle; nothing
                // after it until the object has come out.
                let middle = (start + end) / 2
                input.yield(Array(bytes[start ..< middle]))
                input.yield(Array(bytes[middle ..< end]))
                decoded.append(try await iterator.next()?.root.description ?? "nil")
                start = end
            }
            input.finish()
            let last = try await iterator.next()
            XCTAssertNil(last)
            return decoded
        }
        XCTAssertEqual(decoded, reprs)
    }

    /// Upstream chunks are requested only when the consumer wants an object and none is decoded yet.
    func testReadsNoFurtherAheadThanTheConsumerAsks() async throws {
        let (bytes, _, ends) = stream
        let chunks = zip([0] + ends.dropLast(), ends).map { Array(bytes[$0 ..< $1]) }
        let counter = StreamTesting.CountingChunks(chunks: chunks)
        var iterator = StreamingUnpickler(counter).makeAsyncIterator()
        for k in 1 ... 5 {
            _ = try await iterator.next()
            XCTAssertEqual(counter.requests.value, k, "one chunk per object: nothing read ahead")
        }
    }

    func testObjectsBeforeAnErrorComeFirstThenTheErrorWithItsStreamOffset() async throws {
        let (bytes, reprs, ends) = stream
        let damaged = Array(bytes[..<ends[2]]) + [0x80, 0x02, 0xFF] + Array(bytes[ends[2]...])
        for chunking in StreamTesting.chunkings(of: damaged) {
            let result = try await StreamTesting.decode(chunking)
            XCTAssertEqual(result.graphs.map(\.root.description), Array(reprs.prefix(3)))
            let error = try XCTUnwrap(result.error as? PickleError)
            XCTAssertEqual(error.code, .invalidOpcode)
            XCTAssertEqual(error.offset, ends[2] + 2, "the offset counts from the start of the stream")
        }
    }

    func testAStreamEndingInsideAPickleSaysWhereThatPickleBegan() async throws {
        let (bytes, reprs, ends) = stream
        for cut in [ends[3] + 1, ends[3] + 3, ends[4] - 1] {
            let torn = Array(bytes[..<cut])
            for chunking in StreamTesting.chunkings(of: torn) {
                let result = try await StreamTesting.decode(chunking)
                XCTAssertEqual(result.graphs.map(\.root.description), Array(reprs.prefix(4)))
                let error = try XCTUnwrap(result.error as? PickleError, "cut at \(cut)")
                XCTAssertTrue([.truncated, .endOfInput].contains(error.code))
                XCTAssertTrue(error.message.contains("the unfinished pickle began at offset \(ends[3]), after 4 complete pickles"), error.message)
            }
        }
    }

    func testUpstreamErrorsArriveAfterTheObjectsDecodedBeforeThem() async throws {
        let (bytes, reprs, ends) = stream
        struct Broken: Error {}
        let (chunks, input) = AsyncThrowingStream.makeStream(of: [UInt8].self)
        input.yield(Array(bytes[..<(ends[1] + 2)]))
        input.finish(throwing: Broken())
        var decoded: [String] = []
        do {
            for try await graph in StreamingUnpickler(chunks) { decoded.append(graph.root.description) }
            XCTFail("the upstream error must be rethrown")
        } catch is Broken {}
        XCTAssertEqual(decoded, Array(reprs.prefix(2)))
    }

    func testFileDescriptorsOfFilesAndPipes() async throws {
        let (bytes, reprs, _) = stream
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stream-\(UUID().uuidString).pickle").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(FileDescriptorByteStream(fileDescriptor: fd).regularFileSize, bytes.count)
        var decoded: [String] = []
        for try await graph in StreamingUnpickler(fileDescriptor: fd) { decoded.append(graph.root.description) }
        XCTAssertEqual(decoded, reprs)

        // A regular file is read in chunks sized to what it has left (no oversized last chunk), and bytes
        // appended after the stream was made are still read.
        let file = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(file, 0)
        defer { close(file) }
        let appender = open(path, O_WRONLY | O_APPEND)
        defer { close(appender) }
        var sizes: [Int] = []
        var read: [UInt8] = []
        let more = [UInt8](repeating: 0x4E, count: 50_000)
        for try await chunk in FileDescriptorByteStream(fileDescriptor: file, chunkCapacity: 1 << 20) {
            if sizes.isEmpty { _ = more.withUnsafeBytes { write(appender, $0.baseAddress, $0.count) } }
            sizes.append(chunk.count)
            XCTAssertLessThanOrEqual(chunk.capacity, max(chunk.count, 64 * 1024) + 64)
            read += chunk
        }
        XCTAssertEqual(sizes, [bytes.count, more.count])
        XCTAssertEqual(read, bytes + more)

        // A pipe written from another thread in small pieces.
        let (readEnd, writeEnd) = try StreamTesting.pipe()
        defer { close(readEnd) }
        let writer = Thread {
            for start in stride(from: 0, to: bytes.count, by: 3) {
                let piece = Array(bytes[start ..< min(start + 3, bytes.count)])
                _ = piece.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
            }
            close(writeEnd)
        }
        writer.start()
        decoded = []
        for try await graph in StreamingUnpickler(fileDescriptor: readEnd) { decoded.append(graph.root.description) }
        XCTAssertEqual(decoded, reprs)
    }

    /// A read waiting on a silent pipe gives up when the consuming task is cancelled.
    func testCancellingTheConsumerStopsAReadWaitingForData() async throws {
        let (readEnd, writeEnd) = try StreamTesting.pipe()
        defer { close(readEnd); close(writeEnd) }
        let first: [UInt8] = [0x80, 0x04, 0x4B, 0x07, 0x2E]  // 7
        _ = first.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
        let received = StreamTesting.Box<[String]>([])
        let consumer = Task {
            for try await graph in StreamingUnpickler(fileDescriptor: readEnd) { received.value.append(graph.root.description) }
        }
        while received.value.isEmpty { try await Task.sleep(nanoseconds: 1_000_000) }
        let started = Date()
        consumer.cancel()
        let result = await consumer.result
        XCTAssertThrowsError(try result.get()) { XCTAssertTrue($0 is CancellationError, "\($0)") }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(received.value, ["7"])
    }

    /// A file of independent protocol-4 pickles (separate `pickle.dumps`): the default mode reads each right,
    /// where one CPython Unpickler (a session memo) aliases objects. A stream written by one Pickler across
    /// dumps needs the session mode; the default mode says so instead of guessing.
    func testDefaultModeReadsIndependentPicklesAndExplainsSharedMemoStreams() async throws {
        let independent = try StreamTesting.python("""
            import pickle, sys
            a = ['x']; b = ['y']
            sys.stdout.buffer.write(pickle.dumps([a, a], 4) + pickle.dumps([b, b, 'z'], 4))
            """)
        let read = try await StreamTesting.decode(independent.map { [$0] })
        XCTAssertNil(read.error)
        XCTAssertEqual(read.graphs.map(\.root.description), ["[['x'], ['x']]", "[['y'], ['y'], 'z']"])

        let shared = try StreamTesting.python("""
            import pickle, sys, io
            f = io.BytesIO(); p = pickle.Pickler(f, 4); a = ['x']
            p.dump([a, 1]); p.dump([a, 2]); sys.stdout.buffer.write(f.getvalue())
            """)
        let strict = try await StreamTesting.decode([shared])
        XCTAssertEqual(strict.graphs.count, 1)
        let error = try XCTUnwrap(strict.error as? PickleError)
        XCTAssertEqual(error.code, .missingMemoEntry)
        XCTAssertTrue(error.message.contains("MemoMode.session"), error.message)

        var session = UnpicklerOptions()
        session.memoMode = .session
        var graphs: [PickleGraph] = []
        for try await graph in StreamingUnpickler(StreamTesting.sequence(shared.map { [$0] }), options: session) { graphs.append(graph) }
        XCTAssertEqual(graphs.map(\.root.description), ["[['x'], 1]", "[['x'], 2]"])
        XCTAssertTrue(graphs[0].root.elements![0].isSameObject(as: graphs[1].root.elements![0]))
    }

    /// `expectedByteCount` (a regular file's size) lets a payload split across chunks be reserved whole at
    /// once. It is a hint: exact, too small, too large or zero, every chunking gives the same objects, and a
    /// stream cut inside a payload still fails at the payload's offset after the complete pickles.
    func testTheAnnouncedLengthIsOnlyAHint() async throws {
        let payload = (0 ..< 1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let first = try Pickler.dumps(.bytes(payload), protocol: 5)
        let second = try Pickler.dumps(.list([.bytes(Array(payload.reversed())), .string("end")]), protocol: 3)
        let bytes = first + second
        func decode(_ chunks: [[UInt8]], hint: Int?) async -> (payloads: [[UInt8]], error: PickleError?) {
            var payloads: [[UInt8]] = []
            do {
                for try await graph in StreamingUnpickler(StreamTesting.sequence(chunks), expectedByteCount: hint) {
                    let root = graph.root
                    payloads.append(Array(root.bytes ?? root.elements?.first?.bytes ?? []))
                }
                return (payloads, nil)
            } catch {
                return (payloads, error as? PickleError)
            }
        }
        for hint in [nil, bytes.count, bytes.count / 2, bytes.count * 2, 0] {
            for chunks in StreamTesting.chunkings(of: bytes) {
                let result = await decode(chunks, hint: hint)
                XCTAssertNil(result.error, "hint \(String(describing: hint)), \(chunks.count) chunks")
                XCTAssertEqual(result.payloads, [payload, payload.reversed()], "hint \(String(describing: hint)), \(chunks.count) chunks")
            }
        }
        // Cut 100 bytes into the second pickle's payload, announcing the whole length.
        let cut = Array(bytes[..<(first.count + 100)])
        for chunks in StreamTesting.chunkings(of: cut) {
            let result = await decode(chunks, hint: bytes.count)
            XCTAssertEqual(result.payloads, [payload], "\(chunks.count) chunks")
            XCTAssertEqual(result.error?.code, .truncated, "\(chunks.count) chunks")
            XCTAssertLessThan(result.error?.offset ?? .max, first.count + 100)
            XCTAssertGreaterThanOrEqual(result.error?.offset ?? -1, first.count)
        }
    }
}

/// Helpers for driving streaming readers in tests.
enum StreamTesting {
    final class Box<Value>: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: Value
        init(_ value: Value) { stored = value }
        var value: Value {
            get { lock.lock(); defer { lock.unlock() }; return stored }
            set { lock.lock(); stored = newValue; lock.unlock() }
        }
    }

    /// A finished async sequence of the given chunks.
    static func sequence<Chunk: Sendable>(_ chunks: [Chunk]) -> AsyncStream<Chunk> {
        AsyncStream { continuation in
            for chunk in chunks { continuation.yield(chunk) }
            continuation.finish()
        }
    }

    /// Decodes the chunks through a ``StreamingUnpickler``: the objects, and the error that ended it.
    static func decode(_ chunks: [[UInt8]], options: UnpicklerOptions = UnpicklerOptions()) async throws -> (graphs: [PickleGraph], error: (any Error)?) {
        var graphs: [PickleGraph] = []
        do {
            for try await graph in StreamingUnpickler(sequence(chunks), options: options) { graphs.append(graph) }
            return (graphs, nil)
        } catch {
            return (graphs, error)
        }
    }

    /// Whole, one byte at a time, and split in two at every offset.
    static func chunkings(of bytes: [UInt8]) -> [[[UInt8]]] {
        [[bytes], bytes.map { [$0] }] + (0 ... bytes.count).map { [Array(bytes[..<$0]), Array(bytes[$0...])] }
    }

    /// Fails if `body` takes longer than `seconds`.
    static func withTimeout<T: Sendable>(_ seconds: Double = 10, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                return nil
            }
            guard let first = try await group.next(), let value = first else {
                group.cancelAll()
                throw Python.Failure(description: "timed out after \(seconds) s")
            }
            group.cancelAll()
            return value
        }
    }

    static func pipe() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard Glibc.pipe(&ends) == 0 else { throw Python.Failure(description: "pipe failed") }
        return (ends[0], ends[1])
    }

    /// Runs a python3 script and returns its standard output.
    static func python(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        [UInt8](try Python.script(script, file: file, line: line))
    }

    /// An async sequence of chunks that counts how many were requested.
    struct CountingChunks: AsyncSequence, Sendable {
        typealias Element = [UInt8]
        let chunks: [[UInt8]]
        let requests = Box(0)

        struct Iterator: AsyncIteratorProtocol {
            let chunks: [[UInt8]]
            let requests: Box<Int>
            var index = 0
            mutating func next() async -> [UInt8]? {
                requests.value += 1
                guard index < chunks.count else { return nil }
                index += 1
                return chunks[index - 1]
            }
        }

        func makeAsyncIterator() -> Iterator { Iterator(chunks: chunks, requests: requests) }
    }
}
