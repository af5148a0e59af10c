import ArgumentParser
import Pickle
import PickleZstd

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffered writer on a file descriptor (standard output), with write(2) retried on short writes.
final class OutputFile: @unchecked Sendable {  // used from one task at a time (a command's run)
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    func write(_ text: String) { buffer.append(contentsOf: text.utf8); if buffer.count >= 1 << 16 { flush() } }
    func write(_ bytes: some Collection<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    /// A write failed with `EPIPE`: nobody reads the output any more, and later writes are dropped.
    private(set) var readerHasGone = false

    func flush() {
        if readerHasGone { buffer.removeAll(keepingCapacity: true); return }
        buffer.withUnsafeBytes { p in
            var done = 0
            while done < p.count {
                let n = Glibc.write(fd, p.baseAddress! + done, p.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EPIPE { readerHasGone = true }
                    return
                }
                done += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Throws ``ReaderHasGone`` once a write has found the reading end closed.
    func stopIfTheReaderHasGone() throws {
        if readerHasGone { throw ReaderHasGone() }
    }
}

/// Standard output of the commands that print or re-pickle object after object: text collects in blocks
/// of about ``blockSize`` bytes and goes out in one `write(2)` per block, instead of one per object.
///
/// The commands flush at the moments a reader could be left waiting: before they wait for more input (so
/// on an interactive pipe each object's output appears as soon as its pickle is complete), before they
/// report an error, and at the end.
struct ToolOutput {
    /// The size of the blocks written.
    static let blockSize = 1 << 16
    /// Text not yet written; append to it, then call ``flushIfFull()``.
    var bytes: [UInt8] = []
    private let sink: FileDescriptorSink

    init(fileDescriptor: Int32) {
        sink = FileDescriptorSink(fileDescriptor: fileDescriptor)
        bytes.reserveCapacity(ToolOutput.blockSize + 4096)
    }

    mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// Writes the block once it is full.
    @inline(__always)
    mutating func flushIfFull() throws {
        if bytes.count >= ToolOutput.blockSize { try flush() }
    }

    /// Writes everything collected.
    /// - Throws: ``ReaderHasGone`` when the reading end is closed; the sink's error otherwise.
    mutating func flush() throws {
        guard !bytes.isEmpty else { return }
        defer { bytes.removeAll(keepingCapacity: true) }
        do {
            try bytes.withUnsafeBytes { try sink.writeAll($0) }
        } catch {
            if sink.readerHasGone { throw ReaderHasGone() }
            throw error
        }
    }
}

/// The reader of standard output closed its end (`pickletool show big.pkl | head`): the command stops
/// quietly, with exit status 0, as it would had the reader wanted no more.
struct ReaderHasGone: Error {}

/// Reading inputs and reporting errors the same way in every command.
enum ToolIO {
    /// Opens `path` (`-` or nil: standard input) for reading.
    static func open(_ path: String?) throws -> Int32 {
        guard let path, path != "-" else { return 0 }
        let fd = Glibc.open(path, O_RDONLY)
        if fd < 0 { throw ToolFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    /// How much of a regular file one read takes: all of it up to ``wholeFileReadLimit``, else pieces of
    /// ``largeFileChunkCapacity``. A file's bytes are all there, so a large read costs no waiting, and payloads
    /// inside a chunk stay slices of it instead of being copied out of the reader's default 256 KiB pieces into
    /// carries; the chunk's fresh memory is mapped in huge pages where the kernel offers them, so filling it
    /// takes few page faults. The price is memory: up to this much input is held beyond the decoded objects
    /// while they live.
    /// (Measurements: Benchmarks/README.md, "How the figures were reached".)
    static let wholeFileReadLimit = 256 << 20
    static let largeFileChunkCapacity = 64 << 20

    /// The input's chunks as they arrive, decompressed on the fly when the input is a zstd stream.
    static func chunks(_ fd: Int32) -> ZstdDecompressingChunks<FileDescriptorByteStream> {
        ZstdDecompressingChunks(bytes(fd))
    }

    /// The input's raw chunks: large reads from a regular file, whatever arrives from anything else.
    static func bytes(_ fd: Int32) -> FileDescriptorByteStream {
        let stream = FileDescriptorByteStream(fileDescriptor: fd)
        guard let size = stream.regularFileSize else { return stream }
        let capacity = size <= wholeFileReadLimit ? size : largeFileChunkCapacity
        return FileDescriptorByteStream(fileDescriptor: fd, chunkCapacity: max(capacity, stream.chunkCapacity))
    }

    /// The objects of the input read from `fd` (plain or zstd-compressed), as they complete. Use its
    /// `next(beforeWaiting:)` to flush output before the input is waited for.
    static func objects(_ fd: Int32, options: UnpicklerOptions)
        -> StreamingUnpickler<ZstdDecompressingChunks<FileDescriptorByteStream>>.Iterator {
        let size = FileDescriptorByteStream(fileDescriptor: fd).regularFileSize
        return StreamingUnpickler(chunks(fd), options: options, expectedByteCount: size).makeAsyncIterator()
    }

    /// Writes a message to standard error at once.
    static func writeError(_ text: String) {
        let error = OutputFile(fd: 2)
        error.write(text)
        error.flush()
    }
}

/// A one-line failure message for standard error, with a non-zero exit.
struct ToolFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
