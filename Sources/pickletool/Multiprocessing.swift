import ArgumentParser
import Foundation
import Pickle

/// Where a `multiprocessing.connection` peer is: a TCP port or a Unix socket path.
struct ConnectionAddress: ParsableArguments {
    @Option(help: "The TCP host.") var host: String = "127.0.0.1"
    @Option(help: "The TCP port.") var port: Int = 6000
    @Option(help: "A Unix domain socket path, instead of a TCP address.") var unix: String?
    @Option(help: "The shared authkey (as Python's authkey=b'...'); none when left out.") var authkey: String?

    var key: [UInt8]? { authkey.map { Array($0.utf8) } }

    func validate() throws {
        guard (0 ... 65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    }
}

/// `pickletool mp-listen`: a `multiprocessing.connection.Listener` that prints what its clients send.
struct MultiprocessingListen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mp-listen",
        abstract: "Accept Python multiprocessing.connection clients (Client(address, authkey=...)) and print each object they send, one line each, until stopped.",
        discussion: "Every client is served at once, each on a thread of its own; a message that is not a pickle is printed as bytes. --port 0 picks a free port; the address is printed on standard error. A client with the wrong authkey is refused, as CPython's Listener refuses it.")

    @OptionGroup var address: ConnectionAddress
    @Option(help: "Stop after this many clients have disconnected (default: never).") var clients: Int?
    @Option(help: "The largest message accepted, in bytes.") var maxMessageBytes: Int = 1 << 30

    func run() throws {
        let listener = try address.unix.map { try MultiprocessingListener(unixPath: $0, authkey: address.key) }
            ?? MultiprocessingListener(host: address.host, port: address.port, authkey: address.key)
        ToolIO.writeError("pickletool mp-listen: listening on \(address.unix ?? "\(address.host):\(listener.port ?? 0)")\n")
        let printer = LinePrinter()
        let finished = DispatchSemaphore(value: 0)
        var started = 0
        while clients.map({ started < $0 }) ?? true {
            let connection: MultiprocessingConnection
            do {
                connection = try listener.accept()
            } catch let error as ConnectionError where error.kind == .authentication {
                ToolIO.writeError("pickletool mp-listen: a client was refused: \(error)\n")
                continue
            }
            started += 1
            let client = started
            connection.maxMessageBytes = maxMessageBytes
            let thread = Thread {
                Self.serve(connection, client: client, printer)
                finished.signal()
            }
            thread.start()
        }
        for _ in 0 ..< started { finished.wait() }
        listener.close()
    }

    /// Prints every message of one client until it closes the connection.
    private static func serve(_ connection: MultiprocessingConnection, client: Int, _ printer: LinePrinter) {
        defer { connection.close() }
        while true {
            let message: [UInt8]
            do {
                message = try connection.recvBytes()
            } catch let error as ConnectionError where error.kind == .closed && error.message == "the peer closed the connection" {
                return
            } catch {
                ToolIO.writeError("pickletool mp-listen: client \(client): \(error)\n")
                return
            }
            if let graph = try? Unpickler.loads(message) {
                printer.print(graph.root.description)
            } else {
                printer.print(PickleGraph(.bytes(message)).root.description)
            }
        }
    }
}

/// Lines from several threads, each written whole and at once.
private final class LinePrinter: @unchecked Sendable {  // every use holds the lock
    private let lock = NSLock()
    private let out = OutputFile(fd: 1)

    func print(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        out.write(line + "\n")
        out.flush()
    }
}

/// `pickletool mp-send`: sends the pickles of a file or standard input to a `multiprocessing.connection`
/// listener, one message each.
struct MultiprocessingSend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mp-send",
        abstract: "Send each pickle of a file or standard input, as it is, as one message to a Python multiprocessing.connection Listener (what its Connection.recv() returns).",
        discussion: "Each pickle goes out as soon as its last byte has been read, so a pipe's pickles are sent as they come. Prints how many were sent on standard error.")

    @OptionGroup var address: ConnectionAddress
    @Argument(help: "The input file; `-` or nothing for standard input.") var input: String?

    func run() async throws {
        let connection = try address.unix.map { try MultiprocessingConnection.connect(unixPath: $0, authkey: address.key) }
            ?? MultiprocessingConnection.connect(host: address.host, port: address.port, authkey: address.key)
        defer { connection.close() }
        let fd = try ToolIO.open(input)
        defer { if fd != 0 { close(fd) } }
        // The parser halts after each pickle: its bytes, from the last one's end to this one's, go out whole.
        var parser = PickleParser()
        parser.haltsAfterPickle = true
        var unsent: [UInt8] = []
        var sentThrough = 0, count = 0
        for try await chunk in FileDescriptorByteStream(fileDescriptor: fd) {
            unsent.append(contentsOf: chunk)
            var rest = chunk[...]
            while !rest.isEmpty {
                var completed: [PickleGraph] = []
                let before = parser.offset
                try parser.feed(rest, into: &completed)
                rest = rest.dropFirst(parser.offset - before)
                guard !completed.isEmpty else { break }
                let end = parser.lastCompleteOffset
                try connection.sendBytes(unsent[..<(end - sentThrough)])
                unsent.removeFirst(end - sentThrough)
                sentThrough = end
                count += 1
            }
        }
        try parser.finish()
        ToolIO.writeError("pickletool mp-send: sent \(count) pickle\(count == 1 ? "" : "s")\n")
    }
}
