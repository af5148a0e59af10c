import Foundation
import XCTest
@testable import Pickle

/// `multiprocessing.connection` with live CPython peers on loopback: CPython's `Client` against our listener
/// and our client against CPython's `Listener`, with and without an authkey, a wrong key refused in both
/// directions, objects and raw bytes both ways, a peer that dies inside a message, and lengths that lie.
final class MultiprocessingConnectionTests: XCTestCase {
    /// A CPython process running `script`, its standard output read line by line.
    private final class Peer {
        let process = Process()
        private let output = Pipe(), errors = Pipe()

        init(_ script: String, _ arguments: [String] = []) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script] + arguments
            process.standardOutput = output
            process.standardError = errors
            try process.run()
        }

        /// The next line the peer prints.
        func line() -> String {
            var bytes: [UInt8] = []
            while let byte = try? output.fileHandleForReading.read(upToCount: 1), let first = byte.first, first != 0x0A { bytes.append(first) }
            return String(decoding: bytes, as: UTF8.self)
        }

        /// Waits for the peer to exit; its status and what it printed to stderr.
        func finish() -> (status: Int32, stderr: String) {
            let text = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: text, as: UTF8.self))
        }
    }

    private let key = Array("secret".utf8)

    /// CPython's `Client` sends objects and bytes to our listener and reads our reply; the objects arrive
    /// as CPython pickled them, and the stream's end between messages is a clean `closed`.
    func testCPythonClientsTalkToOurListener() throws {
        for authkey in [key, nil] {
            let listener = try MultiprocessingListener(authkey: authkey)
            let peer = try Peer("""
            import sys
            from multiprocessing.connection import Client
            c = Client(('127.0.0.1', int(sys.argv[1])), authkey=sys.argv[2].encode() or None)
            c.send({'job': 1, 'args': [1, 2.5, 'x'], 'blob': b'\\x00' * 10})
            c.send_bytes(b'raw bytes')
            print(repr(c.recv()), flush=True)
            print(c.recv_bytes().decode(), flush=True)
            c.send(b'\\xab' * 3_000_000)
            c.close()
            """, [String(listener.port!), authkey.map { String(decoding: $0, as: UTF8.self) } ?? ""])
            let connection = try listener.accept()
            XCTAssertEqual(try connection.recv().root.description, "{'job': 1, 'args': [1, 2.5, 'x'], 'blob': b'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'}")
            XCTAssertEqual(try connection.recvBytes(), Array("raw bytes".utf8))
            try connection.send(["ok", 2, nil])
            try connection.sendBytes(Array("done".utf8))
            XCTAssertEqual(peer.line(), "['ok', 2, None]")
            XCTAssertEqual(peer.line(), "done")
            XCTAssertEqual(try connection.recv().root.bytes?.count, 3_000_000)
            XCTAssertThrowsError(try connection.recv()) { error in
                XCTAssertEqual((error as? ConnectionError)?.kind, .closed)
                XCTAssertEqual("\(error)", "the peer closed the connection")
            }
            let (status, stderr) = peer.finish()
            XCTAssertEqual(status, 0, stderr)
            listener.close()
        }
    }

    /// Our client against CPython's `Listener` over TCP and a Unix socket: objects and bytes both ways.
    func testOurClientTalksToACPythonListener() throws {
        let socketPath = FileManager.default.temporaryDirectory.appendingPathComponent("mp-\(UUID().uuidString.prefix(8))").path
        for address in ["tcp", socketPath] {
            let peer = try Peer("""
            import sys
            from multiprocessing.connection import Listener
            address = ('127.0.0.1', 0) if sys.argv[1] == 'tcp' else sys.argv[1]
            with Listener(address, authkey=b'secret') as listener:
                print(listener.address[1] if sys.argv[1] == 'tcp' else 0, flush=True)
                with listener.accept() as c:
                    obj = c.recv()
                    c.send(('echo', obj))
                    c.send_bytes(c.recv_bytes()[::-1])
            """, [address])
            let port = Int(peer.line()) ?? -1
            let connection = address == "tcp" ? try MultiprocessingConnection.connect(host: "127.0.0.1", port: port, authkey: key)
                                              : try MultiprocessingConnection.connect(unixPath: address, authkey: key)
            try connection.send(["when": 3, "what": ["a", "b"]])
            XCTAssertEqual(try connection.recv().root.description, "('echo', {'when': 3, 'what': ['a', 'b']})")
            try connection.sendBytes(Array("abc".utf8))
            XCTAssertEqual(try connection.recvBytes(), Array("cba".utf8))
            connection.close()
            let (status, stderr) = peer.finish()
            XCTAssertEqual(status, 0, stderr)
        }
    }

    /// A wrong authkey is refused in both directions, as CPython refuses it.
    func testAWrongAuthkeyIsRefusedBothWays() throws {
        let listener = try MultiprocessingListener(authkey: key)
        let client = try Peer("""
        import sys
        from multiprocessing.connection import Client, AuthenticationError
        try:
            Client(('127.0.0.1', int(sys.argv[1])), authkey=b'wrong')
        except AuthenticationError as e:
            print('refused:', e, flush=True)
        """, [String(listener.port!)])
        XCTAssertThrowsError(try listener.accept()) { error in
            XCTAssertEqual((error as? ConnectionError)?.kind, .authentication)
            XCTAssertTrue("\(error)".contains("does not hold this authkey"), "\(error)")
        }
        XCTAssertEqual(client.line(), "refused: digest sent was rejected")
        XCTAssertEqual(client.finish().status, 0)

        let server = try Peer("""
        from multiprocessing.connection import Listener, AuthenticationError
        with Listener(('127.0.0.1', 0), authkey=b'secret') as listener:
            print(listener.address[1], flush=True)
            try:
                listener.accept()
            except AuthenticationError as e:
                print('refused:', e, flush=True)
        """)
        let port = Int(server.line()) ?? -1
        XCTAssertThrowsError(try MultiprocessingConnection.connect(host: "127.0.0.1", port: port, authkey: Array("wrong".utf8))) { error in
            XCTAssertEqual((error as? ConnectionError)?.kind, .authentication)
        }
        XCTAssertEqual(server.line(), "refused: digest received was wrong")
        XCTAssertEqual(server.finish().status, 0)
    }

    /// A peer that dies inside a message, a length over the limit and the 8-byte length form, each sent by
    /// CPython as raw bytes on the socket.
    func testTornMessagesAndLyingLengthsAreClearErrors() throws {
        let cases: [(String, (MultiprocessingConnection) throws -> Void)] = [
            // A 1000-byte message of which 10 bytes arrive.
            ("struct.pack('!i', 1000) + b'x' * 10", { connection in
                XCTAssertThrowsError(try connection.recvBytes()) { error in
                    XCTAssertEqual("\(error)", "the peer closed the connection inside a message of 1000 bytes: 10 of 1000 bytes arrived")
                }
            }),
            // 2 GiB announced, more than the limit: refused before anything is allocated.
            ("struct.pack('!i', 0x7fffffff)", { connection in
                connection.maxMessageBytes = 1 << 20
                XCTAssertThrowsError(try connection.recvBytes()) { error in
                    XCTAssertEqual((error as? ConnectionError)?.kind, .messageTooLong)
                }
            }),
            // The long form, as Python sends messages of 2 GiB and more, here for five bytes.
            ("struct.pack('!i', -1) + struct.pack('!Q', 5) + b'hello'", { connection in
                XCTAssertEqual(try connection.recvBytes(), Array("hello".utf8))
            }),
            // A message that is not one whole pickle.
            ("struct.pack('!i', 3) + b'\\x80\\x04K'", { connection in
                XCTAssertThrowsError(try connection.recv()) { XCTAssertTrue($0 is PickleError, "\($0)") }
            }),
        ]
        for (bytes, check) in cases {
            let listener = try MultiprocessingListener()
            let peer = try Peer("""
            import socket, struct, sys
            s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
            s.sendall(\(bytes))
            s.close()
            """, [String(listener.port!)])
            let connection = try listener.accept()
            try check(connection)
            XCTAssertEqual(peer.finish().status, 0)
            listener.close()
        }
    }

    /// HMAC-MD5 as Python's hmac module computes it, keys longer than a block included.
    func testHMACMD5AgreesWithPython() throws {
        let output = try Python.script("""
        import hmac
        for key, message in [(b'', b''), (b'secret', b'challenge bytes'), (b'k' * 100, bytes(range(256)) * 3)]:
            print(hmac.new(key, message, 'md5').hexdigest())
        """)
        let expected = String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
        let cases: [([UInt8], [UInt8])] = [([], []), (Array("secret".utf8), Array("challenge bytes".utf8)),
                                           (Array(repeating: 0x6B, count: 100), Array((0 ... 255).map { UInt8($0) }) + (0 ... 255).map { UInt8($0) } + (0 ... 255).map { UInt8($0) })]
        XCTAssertEqual(cases.map { MD5.hmac(key: $0.0, message: $0.1).map { String(format: "%02x", $0) }.joined() }, expected)
    }

    /// `pickletool mp-listen` prints what CPython clients send (two at once, with an authkey), and
    /// `pickletool mp-send` sends a file's pickles, unchanged, to a CPython listener.
    func testTheToolListensForAndSendsToCPythonPeers() throws {
        let tool = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pickletool")
        let listen = Process()
        listen.executableURL = tool
        listen.arguments = ["mp-listen", "--port", "0", "--authkey", "secret", "--clients", "2"]
        let out = Pipe(), err = Pipe()
        listen.standardOutput = out
        listen.standardError = err
        try listen.run()
        var banner: [UInt8] = []
        while let byte = try err.fileHandleForReading.read(upToCount: 1)?.first, byte != 0x0A { banner.append(byte) }
        let port = String(decoding: banner, as: UTF8.self).split(separator: ":").last.map(String.init) ?? ""
        XCTAssertTrue(String(decoding: banner, as: UTF8.self).hasPrefix("pickletool mp-listen: listening on 127.0.0.1:"))
        let senders = try (0 ..< 2).map { index in
            try Peer("""
            import sys
            from multiprocessing.connection import Client
            c = Client(('127.0.0.1', int(sys.argv[1])), authkey=b'secret')
            for i in range(3): c.send({'client': int(sys.argv[2]), 'seq': i})
            c.send_bytes(b'not a pickle')
            c.close()
            """, [port, String(index)])
        }
        for sender in senders { XCTAssertEqual(sender.finish().status, 0) }
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        listen.waitUntilExit()
        XCTAssertEqual(listen.terminationStatus, 0)
        let lines = printed.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.filter { $0.hasPrefix("{'client': 0") }, (0 ..< 3).map { "{'client': 0, 'seq': \($0)}" })
        XCTAssertEqual(lines.filter { $0.hasPrefix("{'client': 1") }, (0 ..< 3).map { "{'client': 1, 'seq': \($0)}" })
        XCTAssertEqual(lines.filter { $0 == "b'not a pickle'" }.count, 2)

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mp-send-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let pickles = try Python.script("""
        import pickle, sys
        sys.stdout.buffer.write(b''.join(pickle.dumps(o, p) for p, o in [(0, {'a': 1}), (2, [1, 2]), (5, b'x' * 100000), (4, 'end')]))
        """)
        try pickles.write(to: URL(fileURLWithPath: file))
        let server = try Peer("""
        from multiprocessing.connection import Listener
        with Listener(('127.0.0.1', 0), authkey=b'secret') as listener:
            print(listener.address[1], flush=True)
            with listener.accept() as c:
                for _ in range(4):
                    o = c.recv()
                    print(repr(o) if not isinstance(o, bytes) else len(o), flush=True)
        """)
        let serverPort = server.line()
        let (status, _, stderr) = try Subprocess.run(tool, ["mp-send", "--port", serverPort, "--authkey", "secret", file], stdin: [])
        XCTAssertEqual(status, 0, String(decoding: stderr, as: UTF8.self))
        XCTAssertEqual(String(decoding: stderr, as: UTF8.self), "pickletool mp-send: sent 4 pickles\n")
        XCTAssertEqual((0 ..< 4).map { _ in server.line() }, ["{'a': 1}", "[1, 2]", "100000", "'end'"])
        XCTAssertEqual(server.finish().status, 0)
    }
}
