import NIOCore
import Pickle

/// Decodes a stream of pickles arriving on a channel: each completed pickle goes up the pipeline as a
/// ``Pickle/PickleGraph`` the moment the read holding its STOP byte arrives.
///
/// The bytes of every read are handed to one push parser (``Pickle/PickleParser``) and leave the
/// channel's buffer at once: nothing is accumulated or scanned twice, whatever the reads' sizes. The parser's
/// own limits (``Pickle/UnpicklerLimits``) bound what a peer can make it hold; `ByteToMessageHandler`'s
/// `maximumBufferSize` cannot, since the bytes never wait in its buffer.
///
/// ```swift
/// try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PickleMessageDecoder()))
/// ```
///
/// Pickles completed before a malformed byte are passed on before the error is fired (a ``Pickle/PickleError``
/// with its offset in the whole stream); the parser then stays failed. A stream that ends inside a pickle is
/// an error at EOF (``decodeLast(context:buffer:seenEOF:)``), naming where the torn pickle began.
public struct PickleMessageDecoder: ByteToMessageDecoder {
    public typealias InboundOut = PickleGraph

    private var parser: PickleParser
    private var decoded: [PickleGraph] = []

    /// A decoder for independent pickles (``Pickle/MemoMode/perPickle``), or, with `options.memoMode =
    /// .session`, for pickles one `Pickler` wrote across dumps.
    /// - Parameters:
    ///   - options: encoding, memo mode, limits.
    ///   - hooks: `find_class`/`persistent_load` counterparts, such as
    ///     ``Pickle/UnpicklerHooks/rejecting(outside:)``.
    public init(options: UnpicklerOptions = UnpicklerOptions(), hooks: UnpicklerHooks = UnpicklerHooks()) {
        parser = PickleParser(options: options, hooks: hooks)
    }

    /// The bytes decoded so far: the stream offset the next read starts at.
    public var offset: Int { parser.offset }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes > 0 else { return .needMoreData }
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        defer { passOn(context) }
        try parser.feed(bytes, into: &decoded)
        return .needMoreData
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        _ = try decode(context: context, buffer: &buffer)
        if seenEOF { try parser.finish() }
        return .needMoreData
    }

    /// Fires the pickles completed so far, in order (also when the feed that completed them then failed).
    private mutating func passOn(_ context: ChannelHandlerContext) {
        guard !decoded.isEmpty else { return }
        let ready = decoded
        decoded.removeAll(keepingCapacity: true)
        for graph in ready { context.fireChannelRead(wrapInboundOut(graph)) }
    }
}
