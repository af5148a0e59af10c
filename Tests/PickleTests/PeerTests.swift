import Foundation
import XCTest
@testable import Pickle

#if canImport(Glibc)
import Glibc
#endif

/// Real peers on the other side (CPython 3.11, loopback only): a slow writer on a pipe, TCP sockets in both
/// directions, and Python's logging handlers talking to `pickletool logserver`.
final class PeerTests: XCTestCase {
    /// Objects CPython writes in the peer scripts, and their reprs.
    private static let objects = """
        objects = [list(range(5)), {'a': b'x' * 70000, 'n': None}, 'ü' * 3, (1.5, True, -2**70), {1, 2}, [[]] * 3]
        """

    /// CPython writes each pickle into a pipe a few bytes at a time (mid-opcode) with pauses, and writes the
    /// next object only after the reader has acknowledged this one: an object held back would hang the test.
    func testCPythonWritingSlowlyIntoAPipeGetsEachObjectBeforeTheNext() async throws {
        let peer = try Peer.python("""
            import pickle, sys, time
            \(PeerTests.objects)
            for proto in (2, 4, 5):
                for obj in objects:
                    data = pickle.dumps(obj, proto)
                    step = max(3, len(data) // 7)
                    for i in range(0, len(data), step):
                        sys.stdout.buffer.write(data[i:i + step]); sys.stdout.buffer.flush(); time.sleep(0.001)
                    assert sys.stdin.readline() == 'got it\\n'
                    sys.stderr.write(repr(obj) + '\\n')
            """)
        let peerInput = peer.stdin
        let reprs = try await StreamTesting.withTimeout(60) {
            var reprs: [String] = []
            for try await graph in StreamingUnpickler(fileDescriptor: peer.stdout) {
                reprs.append(graph.root.description)
                try Peer.write(Array("got it\n".utf8), to: peerInput)
            }
            return reprs
        }
        let status = peer.wait()
        XCTAssertEqual(status, 0, peer.errorText)
        XCTAssertEqual(reprs.count, 18)
        XCTAssertEqual(reprs.joined(separator: "\n") + "\n", peer.errorText)
    }

    /// Swift reads what `pickle.dump(obj, sock.makefile('wb'))` writes to a TCP socket.
    func testSwiftReadsPicklesCPythonWritesToATCPSocket() async throws {
        let listener = try Sockets.listen()
        defer { close(listener.fd) }
        let peer = try Peer.python("""
            import pickle, socket, sys
            \(PeerTests.objects)
            s = socket.create_connection(('127.0.0.1', \(listener.port)))
            f = s.makefile('wb')
            for proto in (0, 3, 5):
                for obj in objects:
                    pickle.dump(obj, f, proto); f.flush()
                    sys.stderr.write(repr(obj) + '\\n')
            f.close(); s.close()
            """)
        let connection = accept(listener.fd, nil, nil)
        XCTAssertGreaterThanOrEqual(connection, 0)
        defer { close(connection) }
        let reprs = try await StreamTesting.withTimeout(60) {
            var reprs: [String] = []
            for try await graph in StreamingUnpickler(fileDescriptor: connection) { reprs.append(graph.root.description) }
            return reprs
        }
        XCTAssertEqual(peer.wait(), 0, peer.errorText)
        XCTAssertEqual(reprs.joined(separator: "\n") + "\n", peer.errorText)
    }

    /// CPython reads, with one Unpickler, what `StreamingPickler` writes to a TCP socket: shared memo across
    /// dumps, a payload handed over as its own buffer, flushes in between.
    func testCPythonReadsWhatStreamingPicklerWritesToATCPSocket() throws {
        let peer = try Peer.python("""
            import pickle, socket, sys
            s = socket.create_server(('127.0.0.1', 0))
            print(s.getsockname()[1], flush=True)
            c, _ = s.accept()
            u = pickle.Unpickler(c.makefile('rb'))
            out = []
            while True:
                try: obj = u.load()
                except EOFError: break
                out.append(obj)
            assert out[2] is out[0], 'shared memo keeps identity across dumps'
            print('\\n'.join(repr(o) if not isinstance(o, bytes) else 'bytes %d %d' % (len(o), sum(o)) for o in out))
            """)
        let portLine = try XCTUnwrap(peer.readLine())
        let socket = try Sockets.connect(port: try XCTUnwrap(UInt16(portLine)))
        let payload = [UInt8]((0 ..< 200_000).map { UInt8(truncatingIfNeeded: $0) })
        let shared = PickleGraph(.list([.string("shared"), .float(0.5)]))
        var pickler = try StreamingPickler(sink: FileDescriptorSink(fileDescriptor: socket, ownsFileDescriptor: true),
                                           options: PicklerOptions(protocolVersion: 5))
        try pickler.dump(shared)
        try pickler.dump(.dict([.init(.string("n"), .int(1 << 40))]))
        try pickler.flush()
        try pickler.dump(shared)
        try pickler.dump(.bytes(payload))
        try pickler.flush()
        try pickler.sink.close()
        XCTAssertEqual(peer.wait(), 0, peer.errorText)
        let sum = payload.reduce(0) { $0 + Int($1) }
        XCTAssertEqual(peer.outputText, "['shared', 0.5]\n{'n': 1099511627776}\n['shared', 0.5]\nbytes 200000 \(sum)\n")
    }

    /// Python's logging SocketHandler (TCP) and DatagramHandler (UDP) send records to `pickletool logserver`,
    /// which prints one line per record as it arrives.
    func testLoggingHandlersSendToTheLogServer() throws {
        let server = try Peer(executable: PeerTests.tool, ["logserver", "--port", "0"])
        defer { server.terminate() }
        let banner = try XCTUnwrap(server.readErrorLine())
        let port = try XCTUnwrap(banner.split(separator: ":").last?.split(separator: " ").first.map(String.init))
        let client = try Peer.python("""
            import logging, logging.handlers
            log = logging.getLogger('app.db'); log.setLevel(logging.DEBUG); log.propagate = False
            tcp = logging.handlers.SocketHandler('127.0.0.1', \(port))
            log.addHandler(tcp)
            log.info('connected to %s', 'db1')
            log.warning('slow query: %d ms', 1500)
            try:
                {}['missing']
            except KeyError:
                log.exception('lookup failed')
            log.removeHandler(tcp); tcp.close()
            udp = logging.handlers.DatagramHandler('127.0.0.1', \(port))
            log.addHandler(udp)
            log.error('über datagram')
            udp.close()
            """)
        XCTAssertEqual(client.wait(), 0, client.errorText)
        var lines: [String] = []
        // Four records, the traceback lines after the third (the datagram may come before them).
        while lines.filter({ !$0.hasPrefix("    ") }).count < 4 || !lines.contains("    KeyError: 'missing'"),
              let line = server.readLine() {
            lines.append(line)
        }
        let records = lines.filter { !$0.hasPrefix("    ") }
        let pattern = try NSRegularExpression(pattern: #"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} "#)
        for line in records {
            XCTAssertNotNil(pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), line)
        }
        // TCP records keep their order; the UDP datagram may be served before them.
        let messages = records.map { String($0.split(separator: " ", maxSplits: 2)[2]) }
        XCTAssertEqual(messages.filter { !$0.contains("datagram") },
                       ["INFO app.db: connected to db1", "WARNING app.db: slow query: 1500 ms", "ERROR app.db: lookup failed"])
        XCTAssertTrue(messages.contains("ERROR app.db: über datagram"), "\(messages)")
        XCTAssertTrue(lines.contains("    KeyError: 'missing'"), "the traceback follows its record: \(lines)")
    }

    /// `pickletool show -` prints and flushes each object's line before CPython writes the next object.
    func testShowStreamsOneLinePerObjectAsItArrives() throws {
        let writer = try Peer.python("""
            import pickle, sys
            \(PeerTests.objects)
            for obj in objects:
                data = pickle.dumps(obj, 4)
                sys.stdout.buffer.write(data[:5]); sys.stdout.buffer.flush()
                sys.stdout.buffer.write(data[5:]); sys.stdout.buffer.flush()
                assert sys.stdin.readline() == 'next\\n'
                sys.stderr.write(repr(obj) + '\\n')
            """)
        let show = try Peer(executable: PeerTests.tool, ["show", "-"], stdin: writer.stdout)
        var lines: [String] = []
        for _ in 0 ..< 6 {
            guard let line = show.readLine() else { break }
            lines.append(line)
            try Peer.write(Array("next\n".utf8), to: writer.stdin)
        }
        XCTAssertEqual(writer.wait(), 0, writer.errorText)
        XCTAssertEqual(show.wait(), 0, show.errorText)
        XCTAssertEqual(lines.joined(separator: "\n") + "\n", writer.errorText)
    }

    static var tool: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pickletool")
    }
}

/// A child process with pipes on standard input, output and error. Standard output is read line by line or
/// to the end; standard error is collected by a thread all along, so a talkative child never blocks on it.
final class Peer: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe(), output = Pipe(), errors = Pipe()
    private var outputBuffer: [UInt8] = []
    private let errorLines = StreamTesting.Box<[String]>([])
    private let errorsDone = DispatchSemaphore(value: 0)

    /// The write end of the child's standard input, and the read end of its standard output.
    var stdin: Int32 { input.fileHandleForWriting.fileDescriptor }
    var stdout: Int32 { output.fileHandleForReading.fileDescriptor }

    init(executable: URL, _ arguments: [String], stdin: Int32? = nil) throws {
        process.executableURL = executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment
        if let stdin { process.standardInput = FileHandle(fileDescriptor: stdin, closeOnDealloc: false) } else { process.standardInput = input }
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // A watchdog: a test that waits for a peer that never answers fails instead of hanging the suite.
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { [process] in
            if process.isRunning { process.terminate() }
        }
        let errorFD = errors.fileHandleForReading.fileDescriptor
        Thread { [errorLines, errorsDone] in
            var buffer: [UInt8] = []
            while let line = Peer.readLine(errorFD, &buffer) { errorLines.value.append(line) }
            if !buffer.isEmpty { errorLines.value.append(String(decoding: buffer, as: UTF8.self)) }
            errorsDone.signal()
        }.start()
    }

    static func python(_ script: String) throws -> Peer {
        try Peer(executable: URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script])
    }

    static func write(_ bytes: [UInt8], to fd: Int32) throws {
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if written != bytes.count { throw Python.Failure(description: "write to peer failed") }
    }

    /// The next line of standard output (without its newline), `nil` at its end.
    func readLine() -> String? { Peer.readLine(output.fileHandleForReading.fileDescriptor, &outputBuffer) }

    /// The next line of standard error, waiting for it (up to 30 s).
    func readErrorLine() -> String? {
        for _ in 0 ..< 3000 {
            if let first = errorLines.value.first { return first }
            usleep(10_000)
        }
        return nil
    }

    private static func readLine(_ fd: Int32, _ buffer: inout [UInt8]) -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return nil }
            buffer += chunk[..<n]
        }
    }

    /// Closes the child's standard input, waits for it to exit, and collects the rest of its output.
    func wait() -> Int32 {
        try? input.fileHandleForWriting.close()
        outputBuffer += [UInt8](output.fileHandleForReading.readDataToEndOfFile())
        errorsDone.wait()
        process.waitUntilExit()
        return process.terminationStatus
    }

    func terminate() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    var outputText: String { String(decoding: outputBuffer, as: UTF8.self) }
    var errorText: String { errorLines.value.map { $0 + "\n" }.joined() }
}

/// Loopback TCP sockets for the peer tests.
enum Sockets {
    static func listen() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && Glibc.listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard fd >= 0, bound else { throw Python.Failure(description: "cannot listen on loopback: \(String(cString: strerror(errno)))") }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    static func connect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard fd >= 0, connected else { throw Python.Failure(description: "cannot connect to port \(port): \(String(cString: strerror(errno)))") }
        return fd
    }
}
