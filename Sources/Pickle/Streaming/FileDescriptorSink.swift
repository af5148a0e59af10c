#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sink that writes straight to a file descriptor: a pipe, a socket, a file, standard output.
///
/// Each `write` goes to the descriptor at once (no buffering here: the pickler already hands over whole
/// frames), retried on short writes, `EINTR` and, for non-blocking descriptors, `EAGAIN`. A peer that has
/// gone away gives ``PickleError/Code/ioFailure`` ("broken pipe") and sets ``readerHasGone``, never a
/// `SIGPIPE` that kills the process.
///
/// How `SIGPIPE` is kept away is decided once, when the sink is made: a socket is written with
/// `send(MSG_NOSIGNAL)`; anything else with plain `write(2)` if the process ignores `SIGPIPE` (a tool that
/// ignores it at start pays nothing per write), else with `SIGPIPE` blocked around each write (four more
/// system calls per write, and a pending `SIGPIPE` the write raised consumed).
///
/// Use one sink from one task at a time (it is `Sendable` so it can be handed to the task that writes).
public final class FileDescriptorSink: PickleSink, @unchecked Sendable {
    /// The descriptor written to.
    public let fileDescriptor: Int32
    /// Whether the sink closes the descriptor when it is closed or released.
    public let ownsFileDescriptor: Bool
    /// How many bytes have been written.
    public private(set) var bytesWritten = 0
    /// Whether a write failed because the reading end has gone (`EPIPE`, or `ECONNRESET` on a socket): a
    /// consumer such as `head` that stopped reading, which a command-line tool treats as a quiet end.
    public private(set) var readerHasGone = false
    private let writeMode: WriteMode
    private var isClosed = false

    /// How each write keeps `SIGPIPE` away, chosen in `init`.
    private enum WriteMode {
        /// `send(MSG_NOSIGNAL)` (Linux sockets).
        case socket
        /// Plain `write(2)`: `SIGPIPE` is ignored by the process, or cannot arise (Darwin's `F_SETNOSIGPIPE`).
        case plain
        /// `write(2)` with `SIGPIPE` blocked on the thread for the call.
        case blockingSIGPIPE
    }

    /// Creates a sink on an open descriptor.
    /// - Parameters:
    ///   - fileDescriptor: where to write.
    ///   - ownsFileDescriptor: close the descriptor in ``close()`` or when the sink is released.
    public init(fileDescriptor: Int32, ownsFileDescriptor: Bool = false) {
        self.fileDescriptor = fileDescriptor
        self.ownsFileDescriptor = ownsFileDescriptor
        #if canImport(Darwin)
        _ = fcntl(fileDescriptor, F_SETNOSIGPIPE, 1)  // Darwin: no SIGPIPE for this descriptor at all
        writeMode = .plain
        #elseif os(Linux)
        var info = stat()
        if fstat(fileDescriptor, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK {
            writeMode = .socket
        } else {
            writeMode = processIgnoresSIGPIPE() ? .plain : .blockingSIGPIPE
        }
        #else
        writeMode = .blockingSIGPIPE
        #endif
    }

    deinit {
        if ownsFileDescriptor && !isClosed { POSIX.close(fileDescriptor) }
    }

    public func write(_ bytes: ArraySlice<UInt8>) throws {
        try bytes.withUnsafeBytes { try writeAll($0) }
    }

    /// Writes raw bytes (for callers that frame their own data).
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard !isClosed else { throw PickleError(.ioFailure, offset: bytesWritten, "write to a closed sink") }
        var done = 0
        while done < bytes.count {
            let n = writeOnce(bytes.baseAddress! + done, bytes.count - done)
            if n > 0 {
                done += n
                bytesWritten += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                var target = pollfd(fd: fileDescriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&target, 1, -1)
                continue
            }
            if n < 0 && (errno == EPIPE || errno == ECONNRESET) { readerHasGone = true }
            throw PickleError(.ioFailure, offset: bytesWritten,
                              "write to file descriptor \(fileDescriptor) failed: \(String(cString: strerror(n < 0 ? errno : EIO)))")
        }
    }

    /// Nothing is buffered here: every byte is already with the descriptor.
    public func flush() throws {}

    /// Closes the descriptor if the sink owns it. Later writes fail.
    public func close() throws {
        guard !isClosed else { return }
        isClosed = true
        if ownsFileDescriptor && POSIX.close(fileDescriptor) != 0 {
            throw PickleError(.ioFailure, offset: bytesWritten, "close failed: \(String(cString: strerror(errno)))")
        }
    }

    /// One write in the way chosen in `init`.
    private func writeOnce(_ pointer: UnsafeRawPointer, _ count: Int) -> Int {
        switch writeMode {
        case .plain:
            return POSIX.write(fileDescriptor, pointer, count)
        case .socket:
            #if os(Linux)
            return send(fileDescriptor, pointer, count, Int32(MSG_NOSIGNAL))
            #else
            return POSIX.write(fileDescriptor, pointer, count)
            #endif
        case .blockingSIGPIPE:
            return writeWithoutSIGPIPE(fileDescriptor, pointer, count)
        }
    }
}

#if os(Linux)
/// Whether `SIGPIPE`'s disposition is "ignore" (`SIG_IGN`), so that a write to a closed pipe only fails with
/// `EPIPE`. `SIG_IGN` is the handler value 1, a C macro Swift does not import: the handler pointer is
/// compared as a bit pattern (an absent handler, `SIG_DFL`, is 0).
func processIgnoresSIGPIPE() -> Bool {
    var current = sigaction()
    guard sigaction(SIGPIPE, nil, &current) == 0 else { return false }
    return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == 1
}
#endif

/// `write(2)` with `SIGPIPE` blocked on this thread; a `SIGPIPE` the write raised is consumed, so a closed pipe
/// is reported as `EPIPE` instead of killing the process.
func writeWithoutSIGPIPE(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    var block = sigset_t()
    var previous = sigset_t()
    sigemptyset(&block)
    sigaddset(&block, SIGPIPE)
    var pendingBefore = sigset_t()
    sigpending(&pendingBefore)
    let alreadyPending = sigismember(&pendingBefore, SIGPIPE) == 1
    pthread_sigmask(SIG_BLOCK, &block, &previous)
    let n = write(fd, pointer, count)
    let savedErrno = errno
    #if os(Linux)
    if n < 0 && savedErrno == EPIPE && !alreadyPending {
        var zero = timespec(tv_sec: 0, tv_nsec: 0)
        _ = sigtimedwait(&block, nil, &zero)
    }
    #endif
    pthread_sigmask(SIG_SETMASK, &previous, nil)
    errno = savedErrno
    return n
}
