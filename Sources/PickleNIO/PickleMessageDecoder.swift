import NIOCore
import Pickle

/// Decodes a stream of pickles arriving on a channel: each completed pickle goes up the pipeline as a
/// `PickleGraph` the moment the read holding its STOP byte arrives.
///
/// The bytes of every read are handed to one push parser (`PickleParser`) and leave the
/// channel's buffer at once: nothing is accumulated or scanned twice, whatever the reads' sizes. The parser's
/// own limits (`UnpicklerLimits`) bound what a peer can make it hold; `ByteToMessageHandler`'s
/// `maximumBufferSize` cannot, since the bytes never wait in its buffer.
///
/// ```swift
/// try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PickleMessageDecoder()))
/// ```
///
/// Pickles completed before a malformed byte are passed on before the error is fired (a `PickleError`
/// with its offset in the whole stream); the parser then stays failed. A stream that ends inside a pickle is
/// an error at EOF (``decodeLast(context:buffer:seenEOF:)``), naming where the torn pickle began.
public struct PickleMessageDecoder: ByteToMessageDecoder {
    public typealias InboundOut = PickleGraph

    private var parser: PickleParser
    private var decoded: [PickleGraph] = []

    /// A decoder for independent pickles (`MemoMode.perPickle`), or, with `options.memoMode =
    /// .session`, for pickles one `Pickler` wrote across dumps.
    /// - Parameters:
    ///   - options: encoding, memo mode, limits.
    ///   - hooks: `find_class`/`persistent_load` counterparts, such as
    ///     `UnpicklerHooks.rejecting(outside:)`.
    public init(options: UnpicklerOptions = UnpicklerOptions(), hooks: UnpicklerHooks = UnpicklerHooks()) {
        parser = PickleParser(options: options, hooks: hooks)
    }

    /// The bytes decoded so far: the stream offset the next read starts at.
    public var offset: Int { parser.offset }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try feed(&buffer) { context.fireChannelRead(NIOAny($0)) }
        return .needMoreData
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        _ = try decode(context: context, buffer: &buffer)
        if seenEOF { try parser.finish() }
        return .needMoreData
    }

    /// Feeds the buffer's readable bytes to the parser (consuming them) and calls `each` with every pickle
    /// they complete, in order; the pickles completed before a failure are handed over before it is thrown.
    mutating func feed(_ buffer: inout ByteBuffer, _ each: (PickleGraph) throws -> Void) throws {
        guard buffer.readableBytes > 0 else { return }
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        var failure: (any Error)?
        do {
            try parser.feed(bytes, into: &decoded)
        } catch {
            failure = error
        }
        let ready = decoded
        decoded.removeAll(keepingCapacity: true)
        for graph in ready { try each(graph) }
        if let failure { throw failure }
    }

    /// Declares the end of the stream: an error if it ends inside a pickle.
    mutating func finish() throws { try parser.finish() }
}

/// ``PickleMessageDecoder`` with each pickle decoded into a `Decodable` value by `PickleDecoder`
/// (dataclasses, dicts, stdlib types, numpy arrays as `NDArrayView`): a message that does not
/// decode as `Value` is an error, fired after the values before it.
///
/// ```swift
/// struct Job: Decodable { let id: Int; let args: [Double] }
/// try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TypedPickleMessageDecoder<Job>()))
/// ```
public struct TypedPickleMessageDecoder<Value: Decodable>: ByteToMessageDecoder {
    public typealias InboundOut = Value

    private var pickles: PickleMessageDecoder
    private let decoder: PickleDecoder

    /// - Parameters:
    ///   - decoder: how values are decoded (key strategy, dates, ...).
    ///   - options: encoding, memo mode, limits.
    ///   - hooks: as ``PickleMessageDecoder/init(options:hooks:)``.
    public init(decoder: PickleDecoder = PickleDecoder(), options: UnpicklerOptions = UnpicklerOptions(), hooks: UnpicklerHooks = UnpicklerHooks()) {
        pickles = PickleMessageDecoder(options: options, hooks: hooks)
        self.decoder = decoder
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let decoder = self.decoder
        try pickles.feed(&buffer) { context.fireChannelRead(NIOAny(try decoder.decode(Value.self, from: $0))) }
        return .needMoreData
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        _ = try decode(context: context, buffer: &buffer)
        if seenEOF { try pickles.finish() }
        return .needMoreData
    }
}
