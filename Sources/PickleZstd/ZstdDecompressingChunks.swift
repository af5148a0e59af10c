import Pickle

/// The decompressing stage in front of a `StreamingUnpickler`: an `AsyncSequence` of decompressed chunks
/// made from an `AsyncSequence` of compressed ones, decompressed chunk by chunk with bounded memory.
///
/// ```swift
/// let chunks = ZstdDecompressingChunks(FileDescriptorByteStream(fileDescriptor: socket))
/// for try await graph in StreamingUnpickler(chunks) { ... }
/// ```
///
/// By default it is transparent: if the stream does not begin with a zstd (or skippable) frame's magic
/// number it passes the bytes through untouched, so one reader takes plain and compressed streams alike.
/// Backpressure carries through: a compressed chunk is read only when every decompressed piece of the
/// previous one has been taken.
public struct ZstdDecompressingChunks<Base: AsyncSequence>: AsyncSequence where Base.Element: PickleInputChunk {
    public typealias Element = ArraySlice<UInt8>

    private let base: Base
    private let options: ZstdReadOptions
    private let passesPlainInputThrough: Bool

    /// Wraps `base`.
    /// - Parameters:
    ///   - base: the compressed (or, when `passesPlainInputThrough`, possibly plain) chunks.
    ///   - options: decompression limits.
    ///   - passesPlainInputThrough: hand on a stream that does not start with a zstd magic number as it is
    ///     (default); when false, such a stream is an error.
    public init(_ base: Base, options: ZstdReadOptions = ZstdReadOptions(), passesPlainInputThrough: Bool = true) {
        self.base = base
        self.options = options
        self.passesPlainInputThrough = passesPlainInputThrough
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(upstream: base.makeAsyncIterator(), options: options, passesPlainInputThrough: passesPlainInputThrough)
    }

    /// Reads compressed chunks only as decompressed ones are taken.
    public struct Iterator: AsyncIteratorProtocol {
        private enum Mode { case undecided, plain, compressed }
        private var upstream: Base.AsyncIterator
        private let options: ZstdReadOptions
        private let passesPlainInputThrough: Bool
        private var mode = Mode.undecided
        private var decoder: ZstdDecoder?
        private var head: [UInt8] = []
        private var pending = HandOffQueue<[UInt8]>()
        private var ended = false
        private var pendingError: (any Error)?

        init(upstream: Base.AsyncIterator, options: ZstdReadOptions, passesPlainInputThrough: Bool) {
            self.upstream = upstream
            self.options = options
            self.passesPlainInputThrough = passesPlainInputThrough
        }

        /// The compressed bytes consumed so far (for compressed input).
        public var compressedOffset: Int? { decoder?.compressedOffset }

        public mutating func next() async throws -> ArraySlice<UInt8>? {
            try await next { try await $0.next() }
        }

        /// The next decompressed piece, pulling compressed chunks from upstream with `pull`.
        @inline(__always)
        private mutating func next(pull: (inout Base.AsyncIterator) async throws -> Base.Element?) async throws -> ArraySlice<UInt8>? {
            while true {
                if let piece = pending.popFirst() { return piece[...] }
                if let error = pendingError {
                    pendingError = nil
                    ended = true
                    throw error
                }
                if ended { return nil }
                guard let chunk = try await pull(&upstream) else {
                    ended = true
                    switch mode {
                    case .undecided:
                        try decide()
                        if mode == .compressed { continue }
                        return head.isEmpty ? nil : head[...]
                    case .plain:
                        return nil
                    case .compressed:
                        do { try decoder!.finish() } catch { pendingError = error }
                        continue
                    }
                }
                let bytes = chunk.pickleBytes
                switch mode {
                case .plain:
                    return bytes
                case .compressed:
                    try feed(bytes)
                case .undecided:
                    // A first chunk that alone shows plain input is passed on as it is (not copied into `head`).
                    if head.isEmpty && passesPlainInputThrough && ZstdDecoder.isCompressed(bytes, isWholeStream: false) == false {
                        mode = .plain
                        return bytes
                    }
                    head += bytes
                    guard ZstdDecoder.isCompressed(head, isWholeStream: false) != nil else { continue }
                    try decide()
                    if mode == .plain {
                        let first = head
                        head = []
                        return first[...]
                    }
                }
            }
        }

        /// Chooses plain or compressed from the first bytes, and decompresses them if compressed.
        private mutating func decide() throws {
            if ZstdDecoder.isCompressed(head, isWholeStream: ended) ?? false {
                mode = .compressed
                decoder = try ZstdDecoder(options: options)
                let first = head
                head = []
                try feed(first[...])
                if ended && pendingError == nil {
                    do { try decoder!.finish() } catch { pendingError = error }
                }
            } else if passesPlainInputThrough || head.isEmpty {
                mode = .plain
            } else {
                throw PickleError(.decompressionFailed, offset: 0, "not a zstd stream: it does not begin with a zstd frame's magic number")
            }
        }

        /// Decompresses `bytes` into ``pending``; an error waits until the pieces decompressed before it are
        /// taken, so every object completed before damage reaches the unpickler.
        private mutating func feed(_ bytes: ArraySlice<UInt8>) throws {
            var pieces: [[UInt8]] = []
            defer { pending.items += pieces }
            do {
                try decoder!.decompress(bytes) { pieces.append($0) }
            } catch {
                pendingError = error
            }
        }
    }
}

extension ZstdDecompressingChunks.Iterator: WaitSignallingIterator where Base.AsyncIterator: WaitSignallingIterator {
    /// The next decompressed piece; `beforeWaiting` runs when the upstream has no compressed bytes ready
    /// (pieces already decompressed are handed out without it).
    /// - Throws: as ``next()``, and what `beforeWaiting` throws.
    public mutating func next(beforeWaiting: () throws -> Void) async throws -> ArraySlice<UInt8>? {
        try await next { try await $0.next(beforeWaiting: beforeWaiting) }
    }
}
