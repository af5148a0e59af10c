#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What went wrong on a `multiprocessing.connection` link.
public struct ConnectionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A kind of failure.
    public enum Kind: String, Sendable {
        /// The peer closed the connection (between messages, or inside one: ``ConnectionError/message`` says).
        case closed
        /// The peer's authentication failed or was refused.
        case authentication
        /// A message longer than the limit the reader set.
        case messageTooLong
        /// A system call failed (connect, bind, read, write).
        case io
    }

    /// What kind.
    public let kind: Kind
    /// A sentence saying what happened.
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func system(_ what: String) -> ConnectionError { ConnectionError(.io, "\(what): \(String(cString: strerror(errno)))") }
}

/// A connected stream socket's descriptor, owned: reads of exact lengths and whole writes, retried on
/// `EINTR`, closed once. Reads go through a buffer of 64 KiB, so many small messages cost one `recv` call
/// rather than two each.
final class ConnectionSocket {
    let descriptor: Int32
    private var isClosed = false
    private var buffered: [UInt8] = []
    private var bufferedStart = 0
    private static let bufferSize = 1 << 16

    init(descriptor: Int32) {
        self.descriptor = descriptor
        var one: Int32 = 1
        // Messages are written whole, header and all: nothing is gained by delaying them.
        _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close() }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        _ = POSIX.close(descriptor)
    }

    /// Writes every byte, or throws.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = send(descriptor, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw ConnectionError.system("cannot write to the connection")
            }
            done += n
        }
    }

    /// Reads exactly `count` bytes. The buffer grows only as bytes arrive (at most 1 MiB a read), so a peer
    /// that announces a huge message and sends little costs what it sent.
    /// - Throws: ``ConnectionError/Kind/closed`` if the peer closes first: `what` names what was being read.
    func read(exactly count: Int, _ what: @autoclosure () -> String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let take = min(buffered.count - bufferedStart, count - bytes.count)
            if take > 0 {
                bytes.append(contentsOf: buffered[bufferedStart ..< bufferedStart + take])
                bufferedStart += take
            }
            if bytes.count == count { return bytes }
            // The buffer is empty: a small rest is one read of whatever is there (the surplus kept for the
            // next messages); a large one is read straight into the message.
            if count - bytes.count < Self.bufferSize / 2 {
                try refill(what(), have: bytes.count, of: count)
                continue
            }
            bytes.reserveCapacity(min(count, 1 << 20))
            var piece = [UInt8](repeating: 0, count: min(count - bytes.count, 1 << 20))
            while bytes.count < count {
                let want = min(piece.count, count - bytes.count)
                let n = piece.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, want, 0) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ConnectionError.system("cannot read from the connection")
                }
                if n == 0 { throw closed(what(), have: bytes.count, of: count) }
                bytes.append(contentsOf: piece[..<n])
            }
            return bytes
        }
    }

    /// Reads whatever is there, up to the buffer's size, into the empty buffer.
    private func refill(_ what: String, have: Int, of count: Int) throws {
        buffered = [UInt8](repeating: 0, count: Self.bufferSize)
        bufferedStart = 0
        var n: Int
        repeat { n = buffered.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, Self.bufferSize, 0) } } while n < 0 && errno == EINTR
        buffered.removeSubrange(max(n, 0)...)
        if n < 0 { throw ConnectionError.system("cannot read from the connection") }
        if n == 0 { throw closed(what, have: have, of: count) }
    }

    private func closed(_ what: String, have: Int, of count: Int) -> ConnectionError {
        if have == 0 && what.hasPrefix("a message header") { return ConnectionError(.closed, "the peer closed the connection") }
        return ConnectionError(.closed, "the peer closed the connection inside \(what): \(have) of \(count) bytes arrived")
    }

    /// A connected socket to `host:port` (any address `getaddrinfo` gives, tried in order).
    static func connect(host: String, port: Int) throws -> ConnectionSocket {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw ConnectionError(.io, "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(first) }
        var failure = ConnectionError(.io, "no address for \(host)")
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            guard fd >= 0 else { failure = .system("cannot create a socket"); continue }
            if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return ConnectionSocket(descriptor: fd) }
            failure = .system("cannot connect to \(host):\(port)")
            _ = POSIX.close(fd)
        }
        throw failure
    }

    /// A connected socket to the Unix domain socket at `path`.
    static func connect(unixPath path: String) throws -> ConnectionSocket {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ConnectionError.system("cannot create a socket") }
        var address = try unixAddress(path)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard status == 0 else {
            let error = ConnectionError.system("cannot connect to \(path)")
            _ = POSIX.close(fd)
            throw error
        }
        return ConnectionSocket(descriptor: fd)
    }

    static func unixAddress(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ConnectionError(.io, "the socket path \(path) is longer than the system allows")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return address
    }
}
