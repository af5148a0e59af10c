#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A log file of pickles that survives process restarts and writers killed mid-append.
///
/// Opening it takes an exclusive `flock` for the sink's lifetime (two appenders never interleave), reads
/// the existing file once with the parser, and then:
/// - keeps every complete pickle;
/// - if the file ends inside a pickle (the previous writer died during an append: a *torn tail*), cuts the
///   file back to the end of the last complete pickle before writing anything, so the new records follow
///   complete ones and no complete record is ever lost; ``recovery`` says what was cut and where;
/// - if the file is damaged anywhere else (bytes that no pickle writer produces), refuses to append and
///   changes nothing, since cutting there would destroy complete records after the damage.
///
/// Opening reads the whole log once, at the parser's speed. In session mode the scan keeps every record
/// (the memo may refer to any of them), so opening a shared-memo log takes memory in proportion to it, as
/// reading it with one CPython `Unpickler` does.
///
/// Use it through ``StreamingPickler/init(appendingTo:options:records:syncsOnFlush:)``, which also continues a shared
/// memo's numbering (``LogRecovery/memoEntryCount``) so CPython's one-`Unpickler` reader stays right.
public final class AppendingFileSink: PickleSink, @unchecked Sendable {
    /// The file's path.
    public let path: String
    /// What opening found and repaired.
    public let recovery: LogRecovery
    /// Whether ``flush()`` also calls `fsync`, so flushed records survive a machine crash, not only a
    /// process crash.
    public let syncsOnFlush: Bool
    private let output: FileDescriptorSink

    /// Opens (creating if needed) the log at `path` for appending, repairing a torn tail.
    /// - Parameters:
    ///   - path: the file.
    ///   - memoMode: how the existing records were written: ``MemoMode/perPickle`` for independent records,
    ///     ``MemoMode/session`` for one shared memo (its references across records are checked too).
    ///   - syncsOnFlush: `fsync` on every flush.
    /// - Throws: ``PickleError/Code/ioFailure`` if the file cannot be opened, locked, read or cut;
    ///   the parser's error if the file is damaged before its tail.
    public convenience init(path: String, memoMode: MemoMode = .perPickle, syncsOnFlush: Bool = false) throws {
        try self.init(path: path, syncsOnFlush: syncsOnFlush) { fd in
            try AppendingFileSink.scan(fd, path: path, memoMode: memoMode)
        }
    }

    /// Opens the log with another way of finding where its complete records end (a compressed log's frames).
    package init(path: String, syncsOnFlush: Bool, scan: (Int32) throws -> LogRecovery) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PickleError(.ioFailure, offset: 0, "cannot open \(path): \(POSIX.errorText)") }
        var recovered: LogRecovery
        do {
            guard flock(fd, LOCK_EX) == 0 else { throw PickleError(.ioFailure, offset: 0, "cannot lock \(path): \(POSIX.errorText)") }
            recovered = try scan(fd)
            if recovered.removedByteCount > 0 {
                guard ftruncate(fd, off_t(recovered.validLength)) == 0 else {
                    throw PickleError(.ioFailure, offset: recovered.validLength, "cannot cut the torn tail of \(path): \(POSIX.errorText)")
                }
                _ = fsync(fd)
            }
        } catch {
            POSIX.close(fd)
            throw error
        }
        self.path = path
        self.recovery = recovered
        self.syncsOnFlush = syncsOnFlush
        self.output = FileDescriptorSink(fileDescriptor: fd, ownsFileDescriptor: true)
    }

    public func write(_ bytes: ArraySlice<UInt8>) throws { try output.write(bytes) }

    public func flush() throws {
        if syncsOnFlush && fsync(output.fileDescriptor) != 0 {
            throw PickleError(.ioFailure, offset: recovery.validLength + output.bytesWritten, "fsync of \(path) failed: \(POSIX.errorText)")
        }
    }

    /// Releases the lock and closes the file.
    public func close() throws { try output.close() }

    /// The parser a log scan uses: the log's memo mode, and Latin-1 for Python 2 strings so scanning never
    /// fails on text.
    package static func scanningParser(memoMode: MemoMode) -> PickleParser {
        var options = UnpicklerOptions()
        options.memoMode = memoMode
        options.encoding = .latin1
        return PickleParser(options: options)
    }

    /// The next chunk of the file at `offset` (empty at its end).
    package static func readChunk(_ fd: Int32, at offset: Int, path: String) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: 1 << 20) { buffer, count in
            count = 0
            while true {
                let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
                if n >= 0 { count = n; return }
                if errno != EINTR { throw PickleError(.ioFailure, offset: offset, "cannot read \(path): \(POSIX.errorText)") }
            }
        }
    }

    /// The error for damage before a log's tail: the file is refused and left as it is.
    package static func damagedLogError(_ error: PickleError, path: String) -> PickleError {
        PickleError(error.code, offset: error.offset, opcode: error.opcode,
                    "\(path) is damaged before its tail, so it was left unchanged: \(error.message)")
    }

    /// Reads the whole file with the parser: where the complete records end and what follows them.
    private static func scan(_ fd: Int32, path: String, memoMode: MemoMode) throws -> LogRecovery {
        var parser = scanningParser(memoMode: memoMode)
        var graphs: [PickleGraph] = []
        var length = 0
        while true {
            let chunk = try readChunk(fd, at: length, path: path)
            if chunk.isEmpty { break }
            length += chunk.count
            do {
                try parser.feed(chunk, into: &graphs)
            } catch let error as PickleError {
                throw damagedLogError(error, path: path)
            }
            graphs.removeAll(keepingCapacity: true)
        }
        do {
            try parser.finish()
            return LogRecovery(completeRecords: parser.completedCount, validLength: length, tornTail: nil,
                               memoEntryCount: parser.memoEntryCount)
        } catch let error as PickleError {
            // Only running out of input lands here: everything fed parsed. The unfinished record is a torn tail.
            let valid = parser.lastCompleteOffset
            let tear = PickleError(error.code, offset: valid, opcode: error.opcode,
                                   "torn tail: \(length - valid) bytes of an unfinished pickle after \(parser.completedCount) complete ones (\(error.message))")
            return LogRecovery(completeRecords: parser.completedCount, validLength: valid, tornTail: tear,
                               memoEntryCount: parser.memoEntryCountAtLastComplete, removedByteCount: length - valid)
        }
    }
}

/// What opening a log found: how much of it is intact, and the torn tail that was cut off, if any.
public struct LogRecovery: Sendable {
    /// The number of complete pickles in the file (kept).
    public let completeRecords: Int
    /// The file's length after the repair: the end of the last complete pickle.
    public let validLength: Int
    /// The tear that was cut off, with the offset where the unfinished record began; `nil` if the file ended
    /// cleanly.
    public let tornTail: PickleError?
    /// In session mode, the memo's size after the complete records: appended pickles number their memo
    /// entries from here.
    public let memoEntryCount: Int
    /// How many bytes of torn tail were removed (0 without a tear).
    public let removedByteCount: Int

    package init(completeRecords: Int, validLength: Int, tornTail: PickleError?, memoEntryCount: Int, removedByteCount: Int = 0) {
        self.completeRecords = completeRecords
        self.validLength = validLength
        self.tornTail = tornTail
        self.memoEntryCount = memoEntryCount
        self.removedByteCount = removedByteCount
    }
}
