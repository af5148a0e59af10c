import NIOCore
import Pickle

/// Writes each outbound `PickleGraph` as a pickle into the channel's buffer, with the memo modes of
/// `StreamingPickler`: independent pickles (each one stands alone, as `pickle.dumps` writes them,
/// read by repeated `pickle.load`) or one shared memo (as one CPython `Pickler` across `dump` calls, read by
/// one `Unpickler`'s repeated `load()`, or ``PickleMessageDecoder`` in `MemoMode.session`).
///
/// ```swift
/// try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(PickleMessageEncoder(protocol: 5)))
/// ```
///
/// The encoder keeps the memo between writes, so it belongs to one channel: make one per connection. Its
/// bytes equal CPython's `pickle.dumps` (independent) or `Pickler.dump` (shared memo) of the same objects.
public final class PickleMessageEncoder: MessageToByteEncoder {
    public typealias OutboundIn = PickleGraph

    /// The bytes of one write, collected from the pickler.
    private final class Collected: PickleSink {
        var chunks: [ArraySlice<UInt8>] = []
        func write(_ bytes: ArraySlice<UInt8>) { chunks.append(bytes) }
        func flush() {}
    }

    private let collected = Collected()
    private var pickler: StreamingPickler<Collected>

    /// - Parameters:
    ///   - version: the pickle protocol, 0 to 5 (default 4, CPython's default).
    ///   - records: `.independent` (default) or `.sharedMemo`.
    /// - Throws: `PickleError.Code.unpicklable` for a protocol outside 0...5.
    public init(protocol version: Int = 4, records: RecordMode = .independent) throws {
        pickler = try StreamingPickler(sink: collected, options: PicklerOptions(protocolVersion: version),
                                       records: records == .independent ? .independent : .sharedMemo)
    }

    /// How successive writes relate: `StreamingPickler.RecordMode`.
    public typealias RecordMode = StreamingPickler<MemorySink>.RecordMode

    public func encode(data: PickleGraph, out: inout ByteBuffer) throws {
        try pickler.dump(data)
        try pickler.flush()
        for chunk in collected.chunks { out.writeBytes(chunk) }
        collected.chunks.removeAll(keepingCapacity: true)
    }
}
