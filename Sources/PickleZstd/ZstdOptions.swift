/// How the compressing sink writes zstd frames.
public struct ZstdWriteOptions: Sendable {
    /// The compression level, 1 (fastest) to 19 (smallest; 20–22 need much memory). Default 3, the `zstd`
    /// CLI's default.
    public var level: Int32 = 3
    /// Write a 32-bit content checksum at the end of every frame (on by default, as the `zstd` CLI): readers
    /// then detect corruption.
    public var checksum = true
    /// Whether every ``ZstdCompressingSink/flush()`` closes the current frame (default): a reader at the other
    /// end of a socket, or a log reader, can then decode everything flushed so far (readers verify a frame before
    /// handing on its content), and a log torn later loses only the frame being written. When false, a flush
    /// only pushes zstd's buffered bytes out inside one long frame: slightly smaller output for files read as
    /// a whole, but a reader sees the content only when the frame ends (or passes
    /// ``ZstdReadOptions/maxHeldFrameBytes``).
    public var endsFrameOnFlush = true

    /// Compression worker threads: 1 (default, as the `zstd` CLI) compresses on a thread of its own, in
    /// parallel with the pickler; 0 compresses in the caller's thread. Output differs from the single-threaded
    /// format by well under 1 %. If the system's libzstd was built without threads, 0 is used.
    public var workers: Int32 = 1

    /// The defaults: level 3, checksums, one frame per flush.
    public init(level: Int32 = 3) {
        self.level = level
    }
}

/// Limits of the decompressing stage: they bound memory whatever the compressed input claims.
public struct ZstdReadOptions: Sendable {
    /// The largest back-reference window a frame may need, as a power of two (zstd's `windowLogMax`).
    /// Default 27 (128 MiB), zstd's own default; decompression memory is about this window.
    public var maxWindowLog: Int32 = 27
    /// The most bytes the whole stream may decompress to; `nil` (default) for no limit beyond the
    /// unpickler's own. Set it to stop decompression bombs early with a clear error.
    public var maxDecompressedBytes: Int?

    /// A frame whose content is at most this many bytes is handed on only once it has ended and its checksum
    /// has been verified, so damage inside it never yields objects. A larger frame (one `zstd -c` of a big
    /// file) is handed on as it decodes, to keep memory bounded; its checksum is still checked at its end.
    /// Default 1 MiB: every frame a flush-per-record writer produces is verified, and a one-frame file streams
    /// after its first MiB (holding more delays the unpickler and lets the held pieces go cold in the cache).
    public var maxHeldFrameBytes = 1 << 20

    /// The defaults.
    public init() {}
}
