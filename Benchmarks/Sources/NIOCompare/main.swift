import Foundation
import NIOCore
import NIOPosix
import Pickle
import PickleNIO

// `NIOCompare MODE COUNT`: listens on a free loopback port (printed as the first line), accepts one
// connection and receives COUNT pickles on it, then prints {"mode", "count", "seconds"}: the time from the
// first byte to the last object. Modes:
//   nio     a SwiftNIO server with PickleMessageDecoder (plain concatenated pickles)
//   stream  StreamingUnpickler(fileDescriptor:) on the accepted socket (plain concatenated pickles)
//   mp      MultiprocessingListener + MultiprocessingConnection.recv() (length-prefixed messages)

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]), ["nio", "stream", "mp"].contains(arguments[1]) else {
    FileHandle.standardError.write("usage: NIOCompare nio|stream|mp COUNT\n".data(using: .utf8)!)
    exit(64)
}
let mode = arguments[1]

/// A line on standard output, written at once (the driver waits for it).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

func report(_ seconds: Double) {
    say("{\"mode\": \"\(mode)\", \"count\": \(count), \"seconds\": \(seconds)}")
}

/// Counts objects; the clock starts at the first read.
final class Counter: ChannelInboundHandler, @unchecked Sendable {  // runs on its channel's event loop only
    typealias InboundIn = PickleGraph
    let expected: Int
    let done: EventLoopPromise<Double>
    var seen = 0
    var start: DispatchTime?

    init(expected: Int, done: EventLoopPromise<Double>) {
        self.expected = expected
        self.done = done
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        seen += 1
        if seen == expected, let start { done.succeed(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9) }
    }
}

/// Starts the clock at the first bytes, before the decoder sees them.
final class FirstByte: ChannelInboundHandler, @unchecked Sendable {  // runs on its channel's event loop only
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let counter: Counter
    init(_ counter: Counter) { self.counter = counter }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if counter.start == nil { counter.start = .now() }
        context.fireChannelRead(data)
    }
}

/// The stream mode's loop, off the main actor (top-level code is main-actor isolated, and each `next()` would
/// hop to the global executor and back).
nonisolated func receiveStream(_ fd: Int32, count: Int) async throws -> Double {
    var start: DispatchTime?
    var seen = 0
    for try await _ in StreamingUnpickler(FileDescriptorByteStream(fileDescriptor: fd)) {
        if start == nil { start = .now() }
        seen += 1
        if seen == count { break }
    }
    return Double(DispatchTime.now().uptimeNanoseconds - start!.uptimeNanoseconds) / 1e9
}

switch mode {
case "nio":
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let done = group.next().makePromise(of: Double.self)
    let bootstrap = ServerBootstrap(group: group)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let counter = Counter(expected: count, done: done)
                try channel.pipeline.syncOperations.addHandler(FirstByte(counter))
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PickleMessageDecoder()))
                try channel.pipeline.syncOperations.addHandler(counter)
            }
        }
    let server = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
    say(String(server.localAddress!.port!))
    report(try done.futureResult.wait())
    try server.close().wait()
case "stream":
    let listener = try MultiprocessingListener()
    say(String(listener.port!))
    // The accepted socket, read as a plain stream (no framing, no authkey).
    let connection = try listener.accept()
    report(try await receiveStream(connection.fileDescriptor, count: count))
default:
    let listener = try MultiprocessingListener()
    say(String(listener.port!))
    let connection = try listener.accept()
    _ = try connection.recv()
    let start = DispatchTime.now()
    for _ in 1 ..< count { _ = try connection.recv() }
    report(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
}
