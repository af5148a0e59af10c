import CZstd
import Pickle

/// A push decompressor for streams of zstd frames: compressed chunks in (any size, split anywhere),
/// decompressed chunks out as soon as zstd produces them. Concatenated frames and skippable frames are
/// read in sequence, as `zstd -d` reads them.
///
/// A frame's output is held until the frame has ended and its checksum has been verified (frames up to
/// ``ZstdReadOptions/maxHeldFrameBytes``; larger ones stream), so a damaged frame yields nothing, whatever the
/// chunking. Memory is bounded by the frame window (``ZstdReadOptions/maxWindowLog``) plus the held frame.
/// Errors are `PickleError.Code.decompressionFailed` naming the compressed offset of the frame where they
/// happened; every earlier frame has already been handed out.
public struct ZstdDecoder {
    /// The limits in force.
    public let options: ZstdReadOptions
    /// Compressed bytes consumed so far.
    public private(set) var compressedOffset = 0
    /// Decompressed bytes produced so far.
    public private(set) var decompressedCount = 0
    /// Complete frames decoded so far.
    public private(set) var completedFrames = 0
    /// The compressed offset where the current (or next) frame begins.
    public private(set) var frameStart = 0
    private let context: DecompressionContext
    private var inFrame = false
    // The current frame's output, held until the frame ends (see ZstdReadOptions.maxHeldFrameBytes).
    private var held: [[UInt8]] = []
    private var heldBytes = 0
    private var streamingFrame = false
    private var failure: PickleError?

    /// Creates a decoder.
    /// - Throws: `PickleError.Code.decompressionFailed` for options zstd rejects.
    public init(options: ZstdReadOptions = ZstdReadOptions()) throws {
        self.options = options
        self.context = try DecompressionContext(options)
    }

    /// Whether the input so far ends exactly at a frame boundary.
    public var isAtFrameBoundary: Bool { !inFrame }

    /// Decompresses the next compressed chunk, calling `emit` with each decompressed piece (fresh arrays the
    /// receiver may keep).
    public mutating func decompress(_ chunk: ArraySlice<UInt8>, _ emit: ([UInt8]) throws -> Void) throws {
        try decompress(chunk, emit, frameEnded: { _ in })
    }

    /// Decompresses the next compressed chunk, calling `emit` with each decompressed piece and `frameEnded`
    /// with the compressed offset just past each frame that ends (after its pieces).
    public mutating func decompress(_ chunk: ArraySlice<UInt8>, _ emit: ([UInt8]) throws -> Void,
                                    frameEnded: (_ compressedOffset: Int) throws -> Void) throws {
        if let failure { throw failure }
        let outputSize = ZSTD_DStreamOutSize()
        try chunk.withUnsafeBytes { input in
            var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            while source.pos < source.size || inFrame {
                var result = 0
                var produced = 0
                let startPos = source.pos
                let piece = [UInt8](unsafeUninitializedCapacity: outputSize) { out, count in
                    var target = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                    result = ZSTD_decompressStream(context.pointer, &target, &source)
                    produced = target.pos
                    count = target.pos
                }
                compressedOffset += source.pos - startPos
                if ZSTD_isError(result) != 0 {
                    throw fail(PickleError(.decompressionFailed, offset: frameStart,
                        "zstd frame starting at offset \(frameStart) is damaged: \(zstdErrorText(result)) (detected at compressed offset \(compressedOffset))"))
                }
                do {
                    try hand(piece, produced, emit)
                    if result == 0 {
                        // A frame ended, verified and fully flushed; the next byte, if any, begins another.
                        if inFrame || source.pos > startPos { completedFrames += 1 }
                        try releaseHeld(emit)
                        streamingFrame = false
                        if source.pos > startPos || produced > 0 { try frameEnded(compressedOffset) }
                    }
                } catch let error as PickleError {
                    throw fail(error)
                }
                if result == 0 {
                    inFrame = false
                    frameStart = compressedOffset
                } else {
                    inFrame = true
                    // More input is needed and zstd has produced all it can from this chunk.
                    if source.pos == source.size && produced < outputSize { break }
                }
            }
        }
    }

    /// Counts, limits and holds or hands on one decompressed piece (compacted: see
    /// `compactedIfMostlyEmpty`).
    private mutating func hand(_ piece: [UInt8], _ produced: Int, _ emit: ([UInt8]) throws -> Void) throws {
        guard produced > 0 else { return }
        decompressedCount += produced
        if let limit = options.maxDecompressedBytes, decompressedCount > limit {
            throw PickleError(.decompressionFailed, offset: frameStart,
                              "the zstd frame starting at offset \(frameStart) decompresses past the limit of \(limit) bytes (maxDecompressedBytes)")
        }
        let compact = piece.compactedIfMostlyEmpty()
        if streamingFrame {
            try emit(compact)
            return
        }
        held.append(compact)
        heldBytes += produced
        if heldBytes > options.maxHeldFrameBytes {
            // Too large to hold: hand on what is held and stream the rest of this frame.
            streamingFrame = true
            try releaseHeld(emit)
        }
    }

    /// Declares the end of the compressed input.
    /// - Throws: `PickleError.Code.decompressionFailed` if it ended inside a frame (a truncated frame).
    public mutating func finish() throws {
        if let failure { throw failure }
        if inFrame {
            throw fail(PickleError(.decompressionFailed, offset: frameStart,
                "truncated zstd frame: the input ended \(compressedOffset - frameStart) bytes into the frame starting at offset \(frameStart), after \(completedFrames) complete frame\(completedFrames == 1 ? "" : "s")"))
        }
    }

    private mutating func releaseHeld(_ emit: ([UInt8]) throws -> Void) throws {
        let pieces = held
        held = []
        heldBytes = 0
        for piece in pieces { try emit(piece) }
    }

    /// Records the failure; output held for the damaged frame is dropped.
    private mutating func fail(_ error: PickleError) -> PickleError {
        held = []
        heldBytes = 0
        failure = error
        return error
    }

    /// Whether a stream beginning with `prefix` is zstd, or `nil` if more bytes are needed to tell.
    ///
    /// A zstd frame's magic number `28 B5 2F FD` begins no pickle (MARK followed by 0xB5 is invalid). A
    /// skippable frame's magic `5? 2A 4D 18` can begin a plain pickle (`V*M\x18...` at protocol 0), so a stream
    /// that starts with one counts as zstd only if a zstd frame follows the skippable frame (which must end
    /// within its first 64 KiB) or the stream ends there.
    /// - Parameters:
    ///   - prefix: the stream's first bytes.
    ///   - isWholeStream: `prefix` is all there is.
    public static func isCompressed(_ prefix: some Collection<UInt8>, isWholeStream: Bool = true) -> Bool? {
        let head = Array(prefix.prefix(64 * 1024 + 12))
        guard head.count >= 4 else { return isWholeStream ? false : nil }
        if head[0 ..< 4].elementsEqual([0x28, 0xB5, 0x2F, 0xFD]) { return true }
        guard head[0] & 0xF0 == 0x50 && head[1] == 0x2A && head[2] == 0x4D && head[3] == 0x18 else { return false }
        guard head.count >= 8 else { return isWholeStream ? false : nil }
        let size = head[4 ..< 8].reversed().reduce(0) { $0 << 8 | Int($1) }
        guard size <= 64 * 1024 else { return false }
        let next = 8 + size
        if head.count >= next + 4 { return isCompressed(head[next...], isWholeStream: isWholeStream) }
        if isWholeStream { return head.count == next }
        return nil
    }
}
