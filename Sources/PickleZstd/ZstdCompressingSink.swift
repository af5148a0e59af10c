import CZstd
import Pickle

/// A sink that compresses into standard zstd frames and hands the compressed bytes to another sink:
/// `StreamingPickler` → zstd → file, pipe, socket or log.
///
/// ```swift
/// let sink = try ZstdCompressingSink(FileDescriptorSink(fileDescriptor: socket))
/// var pickler = try StreamingPickler(sink: sink)
/// try pickler.dump(record)
/// try pickler.flush()        // closes a frame: the reader can decode everything so far
/// ```
///
/// The output is what `zstd -c` writes (one or more frames, checksummed by default), so `zstd -d`, Python's
/// zstd modules and ``ZstdDecoder`` read it. Call ``finish()`` (or a final flush) before dropping the sink:
/// bytes not yet flushed are still inside the compressor.
public final class ZstdCompressingSink<Base: PickleSink>: PickleSink {
    /// The sink receiving compressed bytes.
    public private(set) var base: Base
    /// The options in force.
    public let options: ZstdWriteOptions
    /// Uncompressed bytes taken so far.
    public private(set) var bytesIn = 0
    /// Compressed bytes handed to the base sink so far.
    public private(set) var bytesOut = 0
    private let context: CompressionContext
    private var output: [UInt8]
    private var frameOpen = false

    /// Wraps `base`.
    /// - Throws: `PickleError.Code.compressionFailed` for options zstd rejects.
    public init(_ base: Base, options: ZstdWriteOptions = ZstdWriteOptions()) throws {
        self.base = base
        self.options = options
        self.context = try CompressionContext(options)
        self.output = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
    }

    public func write(_ bytes: ArraySlice<UInt8>) throws {
        guard !bytes.isEmpty else { return }
        frameOpen = true
        bytesIn += bytes.count
        try bytes.withUnsafeBytes { try run($0, ZSTD_e_continue) }
    }

    /// Ends the current frame (or, with ``ZstdWriteOptions/endsFrameOnFlush`` off, flushes zstd's buffers),
    /// hands everything to the base sink and flushes it.
    public func flush() throws {
        if frameOpen { try run(UnsafeRawBufferPointer(start: nil, count: 0), options.endsFrameOnFlush ? ZSTD_e_end : ZSTD_e_flush) }
        if options.endsFrameOnFlush { frameOpen = false }
        try base.flush()
    }

    /// Ends the last frame and flushes: the output is then complete.
    public func finish() throws {
        if frameOpen { try run(UnsafeRawBufferPointer(start: nil, count: 0), ZSTD_e_end) }
        frameOpen = false
        try base.flush()
    }

    /// Feeds `input` to the compressor with `directive`, passing every compressed byte on; for a flush or an
    /// end, loops until zstd says nothing is left.
    private func run(_ input: UnsafeRawBufferPointer, _ directive: ZSTD_EndDirective) throws {
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
            let (remaining, produced) = output.withUnsafeMutableBytes { out -> (Int, Int) in
                var target = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                let result = ZSTD_compressStream2(context.pointer, &target, &source, directive)
                return (result, target.pos)
            }
            if ZSTD_isError(remaining) != 0 {
                throw PickleError(.compressionFailed, offset: bytesOut, "zstd compression failed: \(zstdErrorText(remaining))")
            }
            if produced > 0 {
                // The base may keep the slice; then the next write into `output` copies it first (copy on write).
                try base.write(output[..<produced])
                bytesOut += produced
            }
            let inputDone = source.pos == source.size
            if directive == ZSTD_e_continue ? inputDone : (inputDone && remaining == 0) { return }
        }
    }
}
