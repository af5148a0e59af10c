import Pickle

extension StreamingPickler where Sink == ZstdCompressingSink<AppendingFileSink> {
    /// Appends to a zstd-compressed log file at `path` (created if missing): every `flush()` closes a frame,
    /// so each append adds one or more whole frames, and `zstd -dc` or Python's zstd module followed by
    /// `pickle.load` (or one `Unpickler` for a shared memo) read it.
    ///
    /// Opening it repairs a torn tail, as `AppendingFileSink` does for plain logs, at frame granularity: the
    /// file is cut back to the end of the last complete frame that ends between records, so a writer killed
    /// mid-append loses only the records of its unfinished frame. Damage anywhere else (a frame failing its
    /// checksum, bytes that are not zstd) is refused and the file is left unchanged.
    /// - Throws: `PickleError.Code.ioFailure`; `PickleError.Code.decompressionFailed` or the parser's error if
    ///   the file is damaged before its tail.
    public init(appendingCompressedTo path: String, options: PicklerOptions = PicklerOptions(), records: RecordMode,
                compression: ZstdWriteOptions = ZstdWriteOptions(), syncsOnFlush: Bool = false) throws {
        var frameWise = compression
        frameWise.endsFrameOnFlush = true
        let memoMode: MemoMode = records == .sharedMemo ? .session : .perPickle
        let file = try AppendingFileSink(path: path, syncsOnFlush: syncsOnFlush) { fd in
            try CompressedLogScan.scan(fd, path: path, memoMode: memoMode)
        }
        try self.init(sink: ZstdCompressingSink(file, options: frameWise), options: options, records: records)
        if records == .sharedMemo { continueMemoNumbering(after: file.recovery.memoEntryCount) }
    }
}

/// Finds where the complete records of a compressed log end: the last frame end at a pickle boundary.
enum CompressedLogScan {
    static func scan(_ fd: Int32, path: String, memoMode: MemoMode) throws -> LogRecovery {
        var decoder = try ZstdDecoder()
        var parser = AppendingFileSink.scanningParser(memoMode: memoMode)
        var graphs: [PickleGraph] = []
        var length = 0
        var kept = (offset: 0, records: 0, memoEntries: 0)
        while true {
            let chunk = try AppendingFileSink.readChunk(fd, at: length, path: path)
            if chunk.isEmpty { break }
            length += chunk.count
            do {
                try decoder.decompress(chunk[...], { piece in
                    try parser.feed(piece, into: &graphs)
                    graphs.removeAll(keepingCapacity: true)
                }, frameEnded: { offset in
                    if parser.isAtPickleBoundary {
                        kept = (offset, parser.completedCount, parser.memoEntryCount)
                    }
                })
            } catch let error as PickleError {
                throw AppendingFileSink.damagedLogError(error, path: path)
            }
        }
        var tear: PickleError?
        do {
            try decoder.finish()
            if kept.offset != length {
                tear = PickleError(.truncated, offset: kept.offset, "the last frame ends inside a record")
            }
        } catch let error as PickleError {
            tear = error
        }
        guard let tear else {
            return LogRecovery(completeRecords: kept.records, validLength: length, tornTail: nil, memoEntryCount: kept.memoEntries)
        }
        let report = PickleError(tear.code, offset: kept.offset,
                                 "torn tail: \(length - kept.offset) bytes of an unfinished frame after \(kept.records) complete records (\(tear.message))")
        return LogRecovery(completeRecords: kept.records, validLength: kept.offset, tornTail: report,
                           memoEntryCount: kept.memoEntries, removedByteCount: length - kept.offset)
    }
}
