/// Where a ``StreamingPickler`` puts its bytes: memory, a file descriptor (pipe, socket), a log file, a
/// compressor.
///
/// The pickler hands over whole frames (about 64 KiB) as they fill, and every payload of 64 KiB or more as
/// its own buffer, a slice of the graph's storage, never copied into a frame. A sink may keep the slices it
/// is given: arrays are immutable values, so keeping one costs no copy.
public protocol PickleSink {
    /// Takes the next bytes of the stream, in order.
    /// - Throws: an error (typically ``PickleError/Code/ioFailure``) if the bytes cannot be delivered; the
    ///   pickler then stops and rethrows it.
    mutating func write(_ bytes: ArraySlice<UInt8>) throws

    /// Pushes everything written so far to its destination: after `flush()` returns, a reader on the other
    /// end can read every byte written before it.
    mutating func flush() throws
}

/// A sink that collects the stream in memory, keeping each handed-over chunk as it is (zero copy).
public struct MemorySink: PickleSink, Sendable {
    /// The chunks written, in order.
    public private(set) var chunks: [ArraySlice<UInt8>] = []
    /// The total number of bytes written.
    public private(set) var count = 0

    /// Creates an empty sink.
    public init() {}

    public mutating func write(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        chunks.append(bytes)
        count += bytes.count
    }

    public mutating func flush() {}

    /// Every byte written, as one array (concatenated on each call).
    public var bytes: [UInt8] {
        var all: [UInt8] = []
        all.reserveCapacity(count)
        for chunk in chunks { all.append(contentsOf: chunk) }
        return all
    }

    /// Forgets the chunks written so far (after the caller has taken ``bytes`` or ``chunks``).
    public mutating func removeAll() {
        chunks.removeAll()
        count = 0
    }
}
