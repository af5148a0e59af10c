/// One end of a Python `multiprocessing.connection` link (`Listener` / `Client`, and the job systems built
/// on them): length-prefixed messages (a 4-byte big-endian length, or -1 and an 8-byte length for messages
/// over 2 GiB − 1), each object one pickle, and, when both ends hold an `authkey`, Python 3.11's HMAC-MD5
/// challenge and response in both directions.
///
/// ```swift
/// let connection = try MultiprocessingConnection.connect(host: "127.0.0.1", port: 6000, authkey: Array("secret".utf8))
/// try connection.send(["job": 1, "args": [1, 2]])
/// let reply = try connection.recv()       // a PickleGraph, decoded inert: nothing is imported
/// ```
///
/// Reads and writes block the calling thread; give each connection a thread or task of its own. A message
/// is read whole before it is decoded (as Python does), bounded by ``maxMessageBytes``; its buffer grows only
/// as bytes arrive.
///
/// Sendable so that it can be handed to the thread that serves it (`@unchecked`: its settings and socket
/// are unsynchronised, so one thread at a time uses it, as one Python process uses a `Connection`; the
/// listener tests hand accepted connections on this way).
public final class MultiprocessingConnection: @unchecked Sendable {
    /// The largest message ``recvBytes(maxLength:)`` and ``recv()`` accept (default 1 GiB); a longer one is a
    /// ``ConnectionError/Kind/messageTooLong`` error and the connection is closed, as Python closes it.
    public var maxMessageBytes = 1 << 30
    /// How received pickles are decoded (default: Python's own defaults, per-pickle memo).
    public var unpicklerOptions = UnpicklerOptions()
    /// How sent objects are pickled: protocol 4 by default, as `multiprocessing`'s `ForkingPickler` writes.
    public var picklerOptions = PicklerOptions()

    private let socket: ConnectionSocket

    init(socket: ConnectionSocket) { self.socket = socket }

    /// The connection's socket descriptor.
    public var fileDescriptor: Int32 { socket.descriptor }

    /// Connects to a CPython `Listener((host, port), authkey=...)`.
    /// - Parameters:
    ///   - host: the listener's host name or address.
    ///   - port: its TCP port.
    ///   - authkey: the listener's key; nil when it has none.
    /// - Throws: ``ConnectionError`` when the connection or the authentication fails.
    public static func connect(host: String, port: Int, authkey: [UInt8]? = nil) throws -> MultiprocessingConnection {
        try client(ConnectionSocket.connect(host: host, port: port), authkey: authkey)
    }

    /// Connects to a CPython `Listener(path, authkey=...)` on a Unix domain socket.
    public static func connect(unixPath path: String, authkey: [UInt8]? = nil) throws -> MultiprocessingConnection {
        try client(ConnectionSocket.connect(unixPath: path), authkey: authkey)
    }

    private static func client(_ socket: ConnectionSocket, authkey: [UInt8]?) throws -> MultiprocessingConnection {
        let connection = MultiprocessingConnection(socket: socket)
        if let authkey {
            // Client(): answer the listener's challenge, then challenge it.
            try connection.answerChallenge(authkey)
            try connection.deliverChallenge(authkey)
        }
        return connection
    }

    /// Closes the connection.
    public func close() { socket.close() }

    // MARK: - Messages

    /// Sends `value` as one pickle, as `Connection.send(obj)` does.
    /// - Throws: ``PickleError/Code/unpicklable`` for values the protocol cannot express; ``ConnectionError``.
    public func send(_ value: PickleValue) throws { try send(PickleGraph(value)) }

    /// Sends the graph's root as one pickle.
    public func send(_ graph: PickleGraph) throws {
        try sendBytes(Pickler.dumps(graph, options: picklerOptions))
    }

    /// Sends raw bytes as one message, as `Connection.send_bytes(buf)` does (a pickle already made goes
    /// this way unchanged).
    public func sendBytes(_ bytes: some Collection<UInt8>) throws {
        var header: [UInt8]
        if bytes.count > Int(Int32.max) {
            header = [0xFF, 0xFF, 0xFF, 0xFF] + (0 ..< 8).map { UInt8(truncatingIfNeeded: UInt64(bytes.count) >> (8 * (7 - UInt64($0)))) }
        } else {
            header = (0 ..< 4).map { UInt8(truncatingIfNeeded: UInt32(bytes.count) >> (8 * (3 - UInt32($0)))) }
        }
        if bytes.count <= 1 << 14 {
            header.append(contentsOf: bytes)
            try header.withUnsafeBytes { try socket.write($0) }
            return
        }
        try header.withUnsafeBytes { try socket.write($0) }
        if let written = try bytes.withContiguousStorageIfAvailable({ try socket.write(UnsafeRawBufferPointer($0)) }) { return written }
        try Array(bytes).withUnsafeBytes { try socket.write($0) }
    }

    /// Receives one message's bytes, as `Connection.recv_bytes()` does.
    /// - Parameter maxLength: a smaller limit than ``maxMessageBytes`` for this message.
    /// - Throws: ``ConnectionError``: the peer closed the connection (between messages, or inside one, with
    ///   how much of it arrived), or the message is longer than the limit.
    public func recvBytes(maxLength: Int? = nil) throws -> [UInt8] {
        let limit = min(maxLength ?? maxMessageBytes, maxMessageBytes)
        let header = try socket.read(exactly: 4, "a message header")
        var length = Int(Int32(bitPattern: header.reduce(0) { $0 << 8 | UInt32($1) }))
        if length == -1 {
            let long = try socket.read(exactly: 8, "a message's 8-byte length")
            let value = long.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard value <= UInt64(Int.max) else { try refuse("a message of \(value) bytes") }
            length = Int(value)
        }
        guard length >= 0 else { try refuse("a message of length \(length)") }
        guard length <= limit else { try refuse("a message of \(length) bytes, more than the \(limit) allowed") }
        return try socket.read(exactly: length, "a message of \(length) bytes")
    }

    /// Receives one object, as `Connection.recv()` does: the message's pickle decoded inert.
    /// - Throws: ``ConnectionError``; ``PickleError`` for a message that does not begin with a whole pickle.
    public func recv() throws -> PickleGraph {
        // As `Connection.recv()`'s `pickle.loads`: the first pickle, bytes after it ignored.
        try Unpickler.loads(recvBytes(), options: unpicklerOptions)
    }

    private func refuse(_ what: String) throws -> Never {
        close()
        throw ConnectionError(.messageTooLong, "the peer sent \(what); the connection is closed")
    }

    // MARK: - Authentication (Python 3.11)

    private static let challenge = Array("#CHALLENGE#".utf8)
    private static let welcome = Array("#WELCOME#".utf8)
    private static let failure = Array("#FAILURE#".utf8)
    /// The random part of a challenge, in bytes, as Python 3.11 sends it.
    private static let challengeLength = 20

    /// `deliver_challenge`: sends a random challenge and checks the peer's digest of it.
    func deliverChallenge(_ authkey: [UInt8]) throws {
        var generator = SystemRandomNumberGenerator()
        let message = (0 ..< Self.challengeLength).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
        try sendBytes(Self.challenge + message)
        let expected = MD5.hmac(key: authkey, message: message)
        let response = try recvBytes(maxLength: 256)
        // Compared in full whatever differs first: the time taken tells nothing of the digest.
        guard response.count == expected.count, zip(response, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            try? sendBytes(Self.failure)
            close()
            throw ConnectionError(.authentication, "the peer's digest was wrong: it does not hold this authkey")
        }
        try sendBytes(Self.welcome)
    }

    /// `answer_challenge`: answers the peer's challenge and checks that it was welcomed.
    func answerChallenge(_ authkey: [UInt8]) throws {
        let message = try recvBytes(maxLength: 256)
        guard message.starts(with: Self.challenge) else {
            close()
            throw ConnectionError(.authentication, "the peer sent no challenge; it may want no authkey, or speak another version")
        }
        try sendBytes(MD5.hmac(key: authkey, message: message.dropFirst(Self.challenge.count)))
        let response = try recvBytes(maxLength: 256)
        guard response == Self.welcome else {
            close()
            throw ConnectionError(.authentication, "the peer refused our digest: it holds another authkey")
        }
    }
}
