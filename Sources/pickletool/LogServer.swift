import ArgumentParser
import Pickle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Receives records from Python's `logging.handlers.SocketHandler` (TCP) and `DatagramHandler` (UDP) and
/// prints one line per record.
///
/// Both handlers send each record as a 4-byte big-endian length and then a pickle (protocol 1) of the
/// record's `__dict__`, with `msg` already formatted and `args` cleared. One `poll(2)` loop serves the TCP
/// listener, every TCP client and the UDP socket on the same port, so the server needs no threads; a client
/// that sends something else is dropped with a message on standard error, and the server goes on.
struct LogServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logserver",
        abstract: "Print the records Python's logging SocketHandler (TCP) or DatagramHandler (UDP) sends, one line each, until stopped.",
        discussion: "Each line: time, level, logger name and message. --port 0 picks a free port; the port is printed on standard error.")

    @Option(help: "The TCP and UDP port to listen on (0: any free port).") var port: Int = 9020
    @Option(help: "The address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "The largest record accepted, in bytes.") var maxRecordBytes: Int = 16 << 20

    func validate() throws {
        guard (0 ... 65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    }

    func run() throws {
        var server = try LogReceiver(host: host, port: UInt16(port), maxRecordBytes: maxRecordBytes)
        ToolIO.writeError("pickletool logserver: listening on \(host):\(server.port) (tcp and udp)\n")
        try server.serve(OutputFile(fd: 1))
    }
}

/// The sockets and per-client buffers of the log server.
struct LogReceiver {
    private let listener: Int32
    private let datagrams: Int32
    let port: UInt16
    private let maxRecordBytes: Int
    private var clients: [Int32: [UInt8]] = [:]

    init(host: String, port requested: UInt16, maxRecordBytes: Int) throws {
        self.maxRecordBytes = maxRecordBytes
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw ToolFailure("not an IPv4 address: \(host)") }
        let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard tcp >= 0 else { throw ToolFailure("cannot create a TCP socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        address.sin_port = requested.bigEndian
        try LogReceiver.bind(tcp, &address, "tcp")
        guard listen(tcp, 64) == 0 else { throw ToolFailure("listen failed: \(String(cString: strerror(errno)))") }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(tcp, $0, &length) } }
        let chosen = UInt16(bigEndian: bound.sin_port)
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        address.sin_port = chosen.bigEndian
        do {
            try LogReceiver.bind(udp, &address, "udp")
        } catch {
            close(tcp)
            if udp >= 0 { close(udp) }
            throw error
        }
        listener = tcp
        datagrams = udp
        port = chosen
    }

    private static func bind(_ fd: Int32, _ address: inout sockaddr_in, _ kind: String) throws {
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, result == 0 else {
            throw ToolFailure("cannot listen on \(kind) port \(UInt16(bigEndian: address.sin_port)): \(String(cString: strerror(errno)))")
        }
    }

    /// Serves until the process is stopped.
    mutating func serve(_ out: OutputFile) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: datagrams, events: Int16(POLLIN), revents: 0)]
            fds += clients.keys.sorted().map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                throw ToolFailure("poll failed: \(String(cString: strerror(errno)))")
            }
            if fds[0].revents != 0 {
                let client = accept(listener, nil, nil)
                if client >= 0 { clients[client] = [] }
            }
            if fds[1].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { recv(datagrams, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    var datagram = Array(buffer[..<n])
                    do { try takeRecords(from: &datagram, out) } catch { report("udp datagram", error) }
                }
            }
            for entry in fds.dropFirst(2) where entry.revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if n <= 0 {
                    drop(entry.fd, reason: n < 0 ? String(cString: strerror(errno)) : nil)
                    continue
                }
                clients[entry.fd, default: []].append(contentsOf: buffer[..<n])
                do {
                    try takeRecords(from: &clients[entry.fd, default: []], out)
                } catch {
                    report("tcp client", error)
                    drop(entry.fd, reason: nil)
                }
            }
        }
    }

    private mutating func drop(_ fd: Int32, reason: String?) {
        if let reason { ToolIO.writeError("pickletool logserver: client dropped: \(reason)\n") }
        close(fd)
        clients[fd] = nil
    }

    private func report(_ source: String, _ error: any Error) {
        ToolIO.writeError("pickletool logserver: bad record from \(source): \(error)\n")
    }

    /// Prints every complete length-prefixed record at the front of `pending` and removes it.
    private func takeRecords(from pending: inout [UInt8], _ out: OutputFile) throws {
        var start = 0
        defer { if start > 0 { pending.removeSubrange(..<start) } }
        while pending.count - start >= 4 {
            let length = pending[start ..< start + 4].reduce(0) { $0 << 8 | Int($1) }
            guard length <= maxRecordBytes else { throw ToolFailure("a record of \(length) bytes exceeds --max-record-bytes \(maxRecordBytes)") }
            guard pending.count - start - 4 >= length else { return }
            let record = try Unpickler.loads(pending[start + 4 ..< start + 4 + length])
            out.write(LogReceiver.line(for: record.root))
            out.flush()
            start += 4 + length
        }
    }

    /// `2026-11-24 22:51:20,123 INFO app.db: message`, plus the traceback text when the record has one.
    static func line(for record: PickleNode) -> String {
        func text(_ key: String) -> String? {
            guard let node = record[key] else { return nil }
            return node.string ?? (node.kind == .none ? nil : node.description)
        }
        var time = "-"
        if let created = record["created"]?.double ?? record["created"]?.int.map(Double.init) {
            var seconds = time_t(created.rounded(.down))
            var parts = tm()
            localtime_r(&seconds, &parts)
            var formatted = [CChar](repeating: 0, count: 32)
            let count = strftime(&formatted, formatted.count, "%Y-%m-%d %H:%M:%S", &parts)
            let millis = Int((created - created.rounded(.down)) * 1000)
            time = String(decoding: formatted[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                + "," + String(repeating: "0", count: 3 - String(millis).count) + String(millis)
        }
        var line = "\(time) \(text("levelname") ?? "-") \(text("name") ?? "-"): \(text("msg") ?? "")\n"
        if let traceback = text("exc_text"), !traceback.isEmpty {
            line += traceback.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n") + "\n"
        }
        return line
    }
}
