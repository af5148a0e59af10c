import Foundation
import NIOCore
import NIOEmbedded
import NIOPosix
import Pickle
import PickleNIO
import XCTest

/// The NIO codecs: the decoder fed every chunking on an embedded channel, and a real TCP server on loopback
/// with CPython clients writing pickles (one Pickler across dumps, independent dumps, one byte at a time,
/// large writes); the encoder read back by CPython.
final class PickleCodecTests: XCTestCase {
    /// `python3 -c script arguments...`, its standard output; a failure fails the test.
    private static func python(_ script: String, _ arguments: [String] = []) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let failure = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "python3", code: Int(process.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: String(decoding: failure, as: UTF8.self)])
        }
        return data
    }

    /// Three pickles from CPython, where each ends, and the repr of each object.
    private func stream() throws -> (bytes: [UInt8], ends: [Int], reprs: [String]) {
        let output = try Self.python("""
        import json, pickle, sys
        objects = [{'id': 1, 'tags': ['a', 'b']}, b'x' * 70000, ('end', None, 2.5)]
        pickles = [pickle.dumps(o, 4) for o in objects]
        ends = [sum(map(len, pickles[:k + 1])) for k in range(len(pickles))]
        head = json.dumps({'ends': ends, 'reprs': [repr(o) for o in objects]}).encode()
        sys.stdout.buffer.write(len(head).to_bytes(8, 'little') + head + b''.join(pickles))
        """)
        let bytes = [UInt8](output)
        let headLength = bytes[..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        struct Head: Decodable { let ends: [Int]; let reprs: [String] }
        let head = try JSONDecoder().decode(Head.self, from: Data(bytes[8 ..< 8 + headLength]))
        return (Array(bytes[(8 + headLength)...]), head.ends, head.reprs)
    }

    /// A CPython client writing pickles to the server at `port`, as `mode` says, in a task of its own.
    private static func client(mode: String, port: Int) -> Task<Data, any Error> {
        Task.detached {
            try python("""
                import pickle, socket, sys, time
                mode, port = sys.argv[1], int(sys.argv[2])
                objects = [{'seq': i, 'msg': 'hello %d' % i, 'shared': ['x'] * 3} for i in range(50)] + [b'\\xff' * 3_000_000]
                s = socket.create_connection(('127.0.0.1', port))
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if mode == 'pickler':
                    f = s.makefile('wb')
                    p = pickle.Pickler(f, 4)
                    for o in objects: p.dump(o); f.flush()
                    f.close()
                elif mode == 'bytewise':
                    for b in b''.join(pickle.dumps(o, 2) for o in objects[:5]):
                        s.sendall(bytes([b]))
                elif mode == 'large':
                    s.sendall(b''.join(pickle.dumps(o, 5) for o in objects))
                else:
                    for o in objects: s.sendall(pickle.dumps(o))
                s.close()
                """, [mode, String(port)])
        }
    }

    private func decode(_ bytes: [UInt8], chunks boundaries: [Int], options: UnpicklerOptions = UnpicklerOptions()) throws -> (reprs: [String], error: (any Error)?) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PickleMessageDecoder(options: options)))
        var reprs: [String] = []
        var failure: (any Error)?
        var start = 0
        do {
            for end in boundaries + [bytes.count] where end >= start {
                var buffer = channel.allocator.buffer(capacity: end - start)
                buffer.writeBytes(bytes[start ..< end])
                try channel.writeInbound(buffer)
                while let graph = try channel.readInbound(as: PickleGraph.self) { reprs.append(graph.root.description) }
                start = end
            }
        } catch {
            failure = error
        }
        while let graph = try? channel.readInbound(as: PickleGraph.self) { reprs.append(graph.root.description) }
        do {
            _ = try channel.finish()
        } catch {
            failure = failure ?? error
        }
        while let graph = try? channel.readInbound(as: PickleGraph.self) { reprs.append(graph.root.description) }
        return (reprs, failure)
    }

    /// Whole, one byte at a time, and split at every offset: the same objects, each as its STOP arrives.
    func testTheDecoderGivesEveryPickleWhateverTheChunking() throws {
        let (bytes, ends, reprs) = try stream()
        XCTAssertEqual(reprs.count, 3)
        let whole = try decode(bytes, chunks: [])
        XCTAssertNil(whole.error)
        XCTAssertEqual(whole.reprs.count, 3)
        XCTAssertEqual(whole.reprs[0], reprs[0])
        XCTAssertEqual(whole.reprs[2], reprs[2])
        XCTAssertEqual(try decode(bytes, chunks: Array(0 ..< bytes.count)).reprs, whole.reprs)
        for split in stride(from: 0, through: bytes.count, by: bytes.count > 4096 ? 97 : 1) {
            XCTAssertEqual(try decode(bytes, chunks: [split]).reprs, whole.reprs, "split at \(split)")
        }
        // Each object goes up as soon as its last byte has arrived.
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(PickleMessageDecoder()))
        let firstEnd = ends[0]
        var buffer = channel.allocator.buffer(capacity: firstEnd)
        buffer.writeBytes(bytes[..<firstEnd])
        try channel.writeInbound(buffer)
        XCTAssertEqual(try channel.readInbound(as: PickleGraph.self)?.root.description, reprs[0])
        _ = try? channel.finish()
    }

    /// Damage: the objects before it are passed on, then the error with its stream offset; a pickle torn at
    /// EOF is an error naming where it began.
    func testDamageAndATornPickleAreErrorsAfterTheObjectsBeforeThem() throws {
        let (bytes, ends, reprs) = try stream()
        let firstEnd = ends[0]
        var damaged = bytes
        damaged[firstEnd] = 0xFF
        for chunks in [[], Array(0 ..< damaged.count)] {
            let outcome = try decode(damaged, chunks: chunks)
            XCTAssertEqual(outcome.reprs, [reprs[0]])
            let error = try XCTUnwrap(outcome.error as? PickleError)
            XCTAssertEqual(error.offset, firstEnd)
        }
        let torn = try decode(Array(bytes.dropLast(3)), chunks: [])
        XCTAssertEqual(torn.reprs.count, 2)
        let error = try XCTUnwrap(torn.error as? PickleError)
        XCTAssertTrue(error.message.contains("the unfinished pickle began at offset"), error.message)
    }

    /// A real TCP server on loopback (NIOAsyncChannel), CPython clients: one Pickler across dumps (read in
    /// session mode), independent dumps, one byte a write, and one large write.
    func testATCPServerReadsCPythonClientsWhateverTheyWrite() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        for (mode, memo) in [("pickler", MemoMode.session), ("dumps", .perPickle), ("bytewise", .perPickle), ("large", .perPickle)] {
            var options = UnpicklerOptions()
            options.memoMode = memo
            let server = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PickleMessageDecoder(options: options)))
                    return try NIOAsyncChannel<PickleGraph, Never>(wrappingChannelSynchronously: channel)
                }
            }
            let port = try XCTUnwrap(server.channel.localAddress?.port)
            let client = Self.client(mode: mode, port: port)
            var reprs: [String] = []
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    try await connection.executeThenClose { inbound, _ in
                        for try await graph in inbound { reprs.append(graph.root.description) }
                    }
                    break
                }
            }
            _ = try await client.value
            let expected = mode == "bytewise" ? 5 : 51
            XCTAssertEqual(reprs.count, expected, mode)
            XCTAssertEqual(reprs.first, "{'seq': 0, 'msg': 'hello 0', 'shared': ['x', 'x', 'x']}", mode)
            if expected == 51 { XCTAssertTrue(reprs.last?.hasPrefix("b'\\xff\\xff") ?? false, mode) }
        }
    }

    /// The encoder's bytes, read back by CPython: independent pickles by repeated `pickle.load`, a shared
    /// memo by one `Unpickler`; both equal CPython's own bytes for the same objects.
    func testTheEncoderWritesWhatCPythonReadsBack() throws {
        let values: [PickleValue] = [["id": 1, "tags": ["a", "b"]], .bytes(Array(repeating: 7, count: 100_000)), nil]
        for (records, reader) in [(PickleMessageEncoder.RecordMode.independent, "independent"), (.sharedMemo, "shared")] {
            let channel = EmbeddedChannel(handler: MessageToByteHandler(try PickleMessageEncoder(protocol: 4, records: records)))
            var written: [UInt8] = []
            for value in values {
                try channel.writeOutbound(PickleGraph(value))
                while var buffer = try channel.readOutbound(as: ByteBuffer.self) { written += buffer.readBytes(length: buffer.readableBytes) ?? [] }
            }
            _ = try channel.finish()
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("encoded-\(UUID().uuidString)").path
            try Data(written).write(to: URL(fileURLWithPath: file))
            defer { try? FileManager.default.removeItem(atPath: file) }
            let out = try Self.python("""
            import io, pickle, sys
            data = open(sys.argv[1], 'rb').read()
            objects = [{"id": 1, "tags": ["a", "b"]}, bytes([7]) * 100000, None]
            f = io.BytesIO(data)
            if sys.argv[2] == 'shared':
                u = pickle.Unpickler(f)
                got = [u.load() for _ in objects]
                g = io.BytesIO(); p = pickle.Pickler(g, 4); [p.dump(o) for o in objects]; expected = g.getvalue()
            else:
                got = [pickle.load(f) for _ in objects]
                expected = b''.join(pickle.dumps(o, 4) for o in objects)
            assert got == objects and f.read() == b'', got
            print(data == expected)
            """, [file, reader])
            XCTAssertEqual(String(decoding: out, as: UTF8.self), "True\n", reader)
        }
    }

    /// The typed decoder: CPython dataclasses and dicts arrive as Swift values; one that does not fit is an
    /// error after the values before it.
    func testTheTypedDecoderGivesSwiftValues() throws {
        struct Job: Decodable, Equatable {
            let id: Int
            let args: [Double]
            let owner: String?
        }
        let bytes = [UInt8](try Self.python("""
        import dataclasses, pickle, sys
        @dataclasses.dataclass
        class Job:
            id: int
            args: list
            owner: str = None
        sys.modules['__main__'].Job = Job
        out = [pickle.dumps(Job(1, [0.5, 2.0], 'ann'), 4), pickle.dumps({'id': 2, 'args': []}, 2), pickle.dumps({'id': 'three'}, 4)]
        sys.stdout.buffer.write(b''.join(out))
        """))
        for boundaries in [[], Array(0 ..< bytes.count)] {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(TypedPickleMessageDecoder<Job>()))
            var jobs: [Job] = []
            var failure: (any Error)?
            var start = 0
            for end in boundaries + [bytes.count] where end >= start && failure == nil {
                var buffer = channel.allocator.buffer(capacity: end - start)
                buffer.writeBytes(bytes[start ..< end])
                do { try channel.writeInbound(buffer) } catch { failure = error }
                while let job = try? channel.readInbound(as: Job.self) { jobs.append(job) }
                start = end
            }
            XCTAssertEqual(jobs, [Job(id: 1, args: [0.5, 2.0], owner: "ann"), Job(id: 2, args: [], owner: nil)])
            XCTAssertTrue(failure is DecodingError, "\(String(describing: failure))")
            _ = try? channel.finish()
        }
    }
}
