#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Accepts `multiprocessing.connection.Client(address, authkey=...)` peers, as CPython's `Listener` does:
/// with an `authkey`, each accepted peer is challenged, then answers the peer's challenge; a peer with
/// another key is refused (`#FAILURE#`, as Python's listener answers) and `accept()` throws.
///
/// ```swift
/// let listener = try MultiprocessingListener(port: 6000, authkey: Array("secret".utf8))
/// let connection = try listener.accept()
/// while let graph = try? connection.recv() { print(graph.root) }
/// ```
public final class MultiprocessingListener {
    private let socket: ConnectionSocket
    private let authkey: [UInt8]?
    private let unixPath: String?

    /// The port listened on (the one the system chose when 0 was asked for); nil for a Unix socket.
    public let port: Int?

    /// Listens on `host:port` (IPv4; port 0 lets the system choose: see ``port``).
    /// - Throws: ``ConnectionError`` when the address cannot be bound.
    public init(host: String = "127.0.0.1", port: Int = 0, authkey: [UInt8]? = nil, backlog: Int32 = 16) throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ConnectionError.system("cannot create a socket") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            _ = POSIX.close(fd)
            throw ConnectionError(.io, "\(host) is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, backlog) == 0 else {
            let error = ConnectionError.system("cannot listen on \(host):\(port)")
            _ = POSIX.close(fd)
            throw error
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.socket = ConnectionSocket(descriptor: fd)
        self.authkey = authkey
        self.unixPath = nil
    }

    /// Listens on a Unix domain socket at `path` (which must not exist; it is removed on ``close()``).
    public init(unixPath path: String, authkey: [UInt8]? = nil, backlog: Int32 = 16) throws {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ConnectionError.system("cannot create a socket") }
        var address = try ConnectionSocket.unixAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, backlog) == 0 else {
            let error = ConnectionError.system("cannot listen on \(path)")
            _ = POSIX.close(fd)
            throw error
        }
        self.socket = ConnectionSocket(descriptor: fd)
        self.authkey = authkey
        self.unixPath = path
        self.port = nil
    }

    deinit { close() }

    /// Waits for the next peer and authenticates it (when the listener has an authkey).
    /// - Throws: ``ConnectionError``: a failed accept, or a peer that failed authentication (its connection
    ///   is closed; the listener goes on accepting).
    public func accept() throws -> MultiprocessingConnection {
        var fd: Int32
        repeat { fd = Glibc.accept(socket.descriptor, nil, nil) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw ConnectionError.system("cannot accept a connection") }
        let connection = MultiprocessingConnection(socket: ConnectionSocket(descriptor: fd))
        if let authkey {
            // Listener.accept(): challenge the peer, then answer its challenge.
            try connection.deliverChallenge(authkey)
            try connection.answerChallenge(authkey)
        }
        return connection
    }

    /// Stops listening (and removes the Unix socket's file).
    public func close() {
        socket.close()
        if let unixPath { _ = unlink(unixPath) }
    }
}
