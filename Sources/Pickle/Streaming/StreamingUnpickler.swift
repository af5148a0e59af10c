/// Decodes a stream of pickles as its bytes arrive: an `AsyncSequence` of the completed objects.
///
/// Give it any `AsyncSequence` of byte chunks (`[UInt8]`, `ArraySlice<UInt8>`, `Data`), or a file
/// descriptor (a regular file, a pipe, a socket, standard input):
///
/// ```swift
/// for try await graph in StreamingUnpickler(fileDescriptor: socket) {
///     print(graph.root)        // Python repr of each object, the moment its STOP byte arrives
/// }
/// ```
///
/// - **Latency**: each object is emitted as soon as the chunk holding its STOP byte has been fed; nothing
///   waits for a buffer to fill.
/// - **Backpressure**: the next chunk is requested from the upstream sequence only when the consumer asks for
///   an object and every object decoded so far has been handed out.
/// - **Memory**: the parser holds the object being decoded and the unread rest of one chunk; a finished
///   object is owned by the consumer alone (per-pickle memo mode). In ``MemoMode/session`` the memo keeps
///   earlier objects alive, as CPython's does.
/// - **Errors**: every object completed before a malformed byte is delivered first; then the sequence throws
///   the ``PickleError``, whose offset is the position in the whole stream. A stream that ends inside a
///   pickle throws ``PickleError/Code/truncated`` or ``PickleError/Code/endOfInput`` naming where the
///   unfinished pickle began. Errors of the upstream sequence (I/O) are rethrown after the objects decoded
///   before them.
/// - **Cancellation**: when the consuming task is cancelled, the next request throws `CancellationError`
///   without reading further (the file descriptor reader also abandons a read that is waiting for data).
///
/// The default memo mode, ``MemoMode/perPickle``, reads files of independent pickles (one `pickle.dump` per
/// object) correctly at every protocol. A stream written by one `Pickler` across many `dump` calls needs
/// ``MemoMode/session``; read in the default mode, its references to earlier pickles fail with
/// ``PickleError/Code/missingMemoEntry`` and a message saying so.
public struct StreamingUnpickler<Chunks: AsyncSequence>: AsyncSequence where Chunks.Element: PickleInputChunk {
    public typealias Element = PickleGraph

    private let chunks: Chunks
    private let options: UnpicklerOptions
    private let hooks: UnpicklerHooks
    private let buffers: [OutOfBandBuffer]?
    private let expectedByteCount: Int?

    /// Creates a streaming unpickler over a sequence of byte chunks.
    /// - Parameters:
    ///   - chunks: the stream's bytes, in chunks of any size split anywhere.
    ///   - options: encoding, memo mode, limits.
    ///   - hooks: `find_class`/`persistent_load` counterparts.
    ///   - buffers: out-of-band buffers for NEXT_BUFFER (protocol 5), consumed in order across the stream.
    ///   - expectedByteCount: the stream's length, when known (a regular file): lets the first pickle size its
    ///     arenas at once instead of growing them.
    public init(_ chunks: Chunks, options: UnpicklerOptions = UnpicklerOptions(), hooks: UnpicklerHooks = UnpicklerHooks(),
                buffers: [OutOfBandBuffer]? = nil, expectedByteCount: Int? = nil) {
        self.chunks = chunks
        self.options = options
        self.hooks = hooks
        self.buffers = buffers
        self.expectedByteCount = expectedByteCount
    }

    public func makeAsyncIterator() -> Iterator {
        var parser = PickleParser(options: options, hooks: hooks, buffers: buffers)
        if let expectedByteCount { parser.reserve(forInputSize: expectedByteCount) }
        parser.haltsAfterPickle = true
        return Iterator(upstream: chunks.makeAsyncIterator(), parser: parser)
    }

    /// Pulls chunks from upstream only when every decoded object has been handed out.
    ///
    /// The parser halts after each pickle: a chunk holding many pickles is decoded one pickle per `next()`,
    /// resuming where the last one stopped (no byte is scanned twice), so only the object being handed out
    /// is alive, not every object of a large chunk at once (a stream of a million small pickles read from a
    /// file in one chunk would otherwise hold all of them).
    ///
    /// `next()` is inlinable, so a consumer's loop is specialized for its chunk type.
    public struct Iterator: AsyncIteratorProtocol {
        @usableFromInline var upstream: Chunks.AsyncIterator
        @usableFromInline var parser: PickleParser
        @usableFromInline var ready: [PickleGraph] = []
        /// The part of the last chunk not yet fed (the parser halted after a pickle inside it).
        @usableFromInline var unread: ArraySlice<UInt8> = []
        @usableFromInline var pendingError: (any Error)?
        @usableFromInline var finished = false

        init(upstream: Chunks.AsyncIterator, parser: PickleParser) {
            self.upstream = upstream
            self.parser = parser
        }

        /// The stream offset of the next byte to be decoded (everything before it has been fed).
        public var offset: Int { parser.offset }
        /// How many objects have been decoded so far.
        public var completedCount: Int { parser.completedCount }

        /// The next completed object, `nil` at a clean end of the stream.
        /// - Throws: ``PickleError`` for malformed or truncated input, after every object completed before the
        ///   damage; the upstream sequence's errors; `CancellationError` when the task is cancelled.
        @inlinable
        public mutating func next() async throws -> PickleGraph? {
            try await next { try await $0.next() }
        }

        /// The next object, pulling chunks with `pull` when the unread bytes hold no complete pickle.
        @inlinable @inline(__always)
        mutating func next(pull: (inout Chunks.AsyncIterator) async throws -> Chunks.Element?) async throws -> PickleGraph? {
            while true {
                if !unread.isEmpty {
                    let before = parser.offset
                    do {
                        try parser.feed(unread, into: &ready)
                    } catch {
                        pendingError = error
                        unread = []
                    }
                    unread = unread.dropFirst(parser.offset - before)
                    if let graph = ready.popLast() { return graph }
                }
                if let error = pendingError {
                    pendingError = nil
                    finished = true
                    throw error
                }
                if finished { return nil }
                try Task.checkCancellation()
                let chunk: Chunks.Element?
                do {
                    chunk = try await pull(&upstream)
                } catch {
                    finished = true
                    throw error
                }
                guard let chunk else {
                    finished = true
                    try parser.finish()
                    return nil
                }
                unread = chunk.pickleBytes
            }
        }
    }
}

extension StreamingUnpickler.Iterator: WaitSignallingIterator where Chunks.AsyncIterator: WaitSignallingIterator {
    /// The next completed object; `beforeWaiting` runs only when the bytes already read hold no complete
    /// pickle and the upstream has none ready, just before waiting for more.
    /// - Throws: as ``next()``, and what `beforeWaiting` throws.
    @inlinable
    public mutating func next(beforeWaiting: () throws -> Void) async throws -> PickleGraph? {
        try await next { try await $0.next(beforeWaiting: beforeWaiting) }
    }
}

extension StreamingUnpickler where Chunks == FileDescriptorByteStream {
    /// Creates a streaming unpickler that reads a file descriptor: a regular file, a pipe, a socket, standard
    /// input. The descriptor is not closed. See ``FileDescriptorByteStream`` for how it reads.
    public init(fileDescriptor: Int32, options: UnpicklerOptions = UnpicklerOptions(), hooks: UnpicklerHooks = UnpicklerHooks(),
                buffers: [OutOfBandBuffer]? = nil) {
        let stream = FileDescriptorByteStream(fileDescriptor: fileDescriptor)
        self.init(stream, options: options, hooks: hooks, buffers: buffers, expectedByteCount: stream.regularFileSize)
    }
}
