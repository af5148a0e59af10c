import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The chunks of a file descriptor (regular file, pipe, socket, terminal) as an `AsyncSequence`, read with
/// blocking `read(2)` calls on a private serial queue so the cooperative thread pool never blocks.
///
/// - One read is in flight at a time, and only when the consumer asks for the next chunk (backpressure).
///   When bytes are already waiting, the read happens on the caller's thread; only a read that would wait
///   goes to the queue.
/// - A chunk is whatever the descriptor has ready, up to ``chunkCapacity``: a read returns as soon as any
///   bytes arrive, so a slow writer's bytes are passed on at once; when more is already buffered (`FIONREAD`),
///   it keeps reading to fill the chunk, so fast streams go in large chunks.
/// - Pipes are enlarged to 1 MiB (`F_SETPIPE_SZ`, Linux) so the writer rarely waits for the reader.
/// - Cancelling the consuming task abandons a read that is waiting for data: the waiting `poll(2)` also
///   watches a private wake-up pipe.
///
/// The descriptor is not closed by the stream; the caller owns it.
public struct FileDescriptorByteStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    /// The descriptor read.
    public let fileDescriptor: Int32
    /// The most bytes one chunk holds.
    public let chunkCapacity: Int

    /// Creates the stream.
    /// - Parameters:
    ///   - fileDescriptor: an open descriptor, blocking or non-blocking.
    ///   - chunkCapacity: the most bytes per chunk (default 256 KiB).
    public init(fileDescriptor: Int32, chunkCapacity: Int = 256 * 1024) {
        self.fileDescriptor = fileDescriptor
        self.chunkCapacity = Swift.max(1, chunkCapacity)
    }

    /// The number of bytes from the descriptor's position to the end, if it is a regular file.
    public var regularFileSize: Int? {
        var info = stat()
        guard fstat(fileDescriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let position = lseek(fileDescriptor, 0, SEEK_CUR)
        return Swift.max(0, Int(info.st_size) - Swift.max(0, Int(position)))
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(reader: ChunkReader(fileDescriptor: fileDescriptor, chunkCapacity: chunkCapacity))
    }

    /// Reads the next chunk when asked.
    public struct Iterator: WaitSignallingIterator {
        let reader: ChunkReader

        /// The next chunk, `nil` at end of file.
        /// - Throws: ``PickleError/Code/ioFailure`` when `read(2)` fails; `CancellationError` when the task is
        ///   cancelled while waiting.
        public mutating func next() async throws -> [UInt8]? {
            try await next(beforeWaiting: {})
        }

        /// The next chunk, `nil` at end of file; `beforeWaiting` runs first when no byte is ready yet.
        /// - Throws: as ``next()``, and what `beforeWaiting` throws.
        public mutating func next(beforeWaiting: () throws -> Void) async throws -> [UInt8]? {
            let reader = self.reader
            // Bytes already waiting (a fast writer, a regular file): read them on this thread, with no hop
            // to the reading queue and back (which would also move the decoding between threads).
            if let ready = try reader.readChunkIfReady() { return ready }
            try beforeWaiting()
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8]?, any Error>) in
                    reader.queue.async { continuation.resume(with: Result { try reader.readChunk() }) }
                }
            } onCancel: {
                reader.wake()
            }
        }
    }
}

/// The state of one reading. One iterator, so one read at a time: on the caller's thread when bytes are
/// waiting, otherwise on the serial queue (the continuation orders the two). Cancellation writes the wake-up
/// pipe from any thread; the byte stays, so every later read of this iterator ends with `CancellationError`.
final class ChunkReader: @unchecked Sendable {
    let queue = DispatchQueue(label: "swift-pickle.fd-reader")
    private let fd: Int32
    private let chunkCapacity: Int
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1
    private var offset = 0
    private var atEnd = false
    /// The stream offset of a regular file's end when the reader was made (`nil` for other descriptors):
    /// chunks are sized to what is left, so the last one needs no compacting copy.
    private let regularFileEnd: Int?

    init(fileDescriptor: Int32, chunkCapacity: Int) {
        self.fd = fileDescriptor
        self.chunkCapacity = chunkCapacity
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            wakeRead = ends[0]
            wakeWrite = ends[1]
            _ = fcntl(wakeRead, F_SETFD, FD_CLOEXEC)
            _ = fcntl(wakeWrite, F_SETFD, FD_CLOEXEC)
        }
        var info = stat()
        let described = fstat(fd, &info) == 0
        if described && (info.st_mode & S_IFMT) == S_IFREG {
            let position = lseek(fd, 0, SEEK_CUR)
            regularFileEnd = Swift.max(0, Int(info.st_size) - Swift.max(0, Int(position)))
        } else {
            regularFileEnd = nil
        }
        #if os(Linux)
        if described && (info.st_mode & S_IFMT) == S_IFIFO {
            _ = fcntl(fd, 1031 /* F_SETPIPE_SZ */, 1 << 20)
        }
        #endif
    }

    /// The capacity of the next chunk: ``chunkCapacity``, or less when a regular file has less left (at least
    /// 64 KiB, should the file have grown since).
    private var nextChunkCapacity: Int {
        guard let end = regularFileEnd else { return chunkCapacity }
        return Swift.min(chunkCapacity, Swift.max(end - offset, 64 * 1024))
    }

    deinit {
        if wakeRead >= 0 { close(wakeRead) }
        if wakeWrite >= 0 { close(wakeWrite) }
    }

    /// Makes a waiting (or the next) read give up with `CancellationError`.
    func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// A chunk if reading would not block (bytes are ready, or end of file), else `nil`.
    func readChunkIfReady() throws -> [UInt8]?? {
        if atEnd { return .some(nil) }
        var target = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&target, 1, 0) == 1 else { return nil }
        try Task.checkCancellation()
        return .some(try readChunk(knownReady: true))
    }

    /// One chunk: blocks until some bytes are ready, then takes everything ready up to the capacity.
    /// - Parameter knownReady: a `poll` just said bytes are waiting, so the first read need not wait.
    func readChunk(knownReady: Bool = false) throws -> [UInt8]? {
        if atEnd { return nil }
        var filled = 0
        let chunk = try [UInt8](unsafeUninitializedCapacity: nextChunkCapacity) { buffer, initialized in
            let base = UnsafeMutableRawPointer(buffer.baseAddress!)
            defer { initialized = filled }
            #if os(Linux)
            // A large chunk is fresh memory that read(2) fills in one copy: huge pages where available.
            if buffer.count >= LargeReservation.threshold { LargeReservation.advise(base, byteCount: buffer.count) }
            #endif
            var mayBlock = !knownReady
            while filled == 0 {
                if mayBlock { try waitForInput() }
                mayBlock = true
                let n = read(fd, base, buffer.count)
                if n > 0 { filled = n; break }
                if n == 0 { atEnd = true; return }
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                throw ioError("read")
            }
            // More already buffered in a pipe or socket: take it now, without waiting.
            while filled < buffer.count {
                var ready: Int32 = 0
                guard ioctl(fd, UInt(FIONREAD), &ready) == 0, ready > 0 else { break }
                let n = read(fd, base + filled, Swift.min(Int(ready), buffer.count - filled))
                if n <= 0 { break }
                filled += n
            }
        }
        offset += filled
        if filled == 0 { return nil }
        return chunk.compactedIfMostlyEmpty()
    }

    /// Waits until the descriptor is readable (or at end of file), or the wake-up pipe says stop.
    private func waitForInput() throws {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        while true {
            let n = poll(&fds, wakeRead >= 0 ? 2 : 1, -1)
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("poll")
            }
            if fds[1].revents != 0 { throw CancellationError() }
            return
        }
    }

    private func ioError(_ call: String) -> PickleError {
        PickleError(.ioFailure, offset: offset, "\(call) failed on file descriptor \(fd): \(String(cString: strerror(errno)))")
    }
}
