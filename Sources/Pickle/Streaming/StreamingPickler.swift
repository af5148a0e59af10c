/// Writes many objects, one pickle per ``dump(_:)-(PickleGraph)``, to a chunked output: memory, a pipe or socket, a log
/// file, a compressor.
///
/// ```swift
/// var pickler = try StreamingPickler(sink: FileDescriptorSink(fileDescriptor: socket))
/// try pickler.dump(["event": "start", "id": 1])
/// try pickler.flush()                     // everything dumped so far is now on the wire
/// ```
///
/// - **Output**: the sink receives whole frames (about 64 KiB) as they fill during a dump, so a large object
///   streams out instead of collecting in memory; payloads of 64 KiB or more (bytes, str) go to the sink as
///   their own buffers, slices of the graph, never copied into a frame. The bytes equal CPython's
///   `pickle.dump` of the same objects.
/// - **Flush**: ``flush()`` hands the sink every byte dumped so far and flushes it: a reader on the other end
///   then has every complete object. Small pickles otherwise wait until a frame's worth has collected.
/// - **Records**: ``RecordMode/sharedMemo`` (the default, CPython's `Pickler` semantics) keeps the memo across
///   dumps, so a later pickle refers back to objects of an earlier one; read it with one CPython `Unpickler`
///   calling `load()` repeatedly, or ``MemoMode/session`` here. ``RecordMode/independent`` writes each object
///   as a self-contained pickle; read it with repeated `pickle.load(f)`, or the default mode here.
///
/// If a dump fails before any of its bytes reached the sink, nothing of it is written and the pickler can go
/// on; if the sink fails, or a dump fails after part of its pickle was handed over, every later call throws,
/// because the stream now ends inside a pickle.
public struct StreamingPickler<Sink: PickleSink> {
    /// How successive dumps relate.
    public enum RecordMode: Sendable {
        /// One memo for all dumps (CPython's `Pickler`): compact, and identity is kept across objects, but
        /// every pickle after the first needs the earlier ones to be read.
        case sharedMemo
        /// A fresh memo for every dump: each pickle stands alone, as separate `pickle.dumps` calls write.
        case independent
    }

    /// How successive dumps relate.
    public let records: RecordMode
    /// Flush after every dump (each object is on the wire when ``dump(_:)-(PickleGraph)`` returns).
    public var flushesAfterEachDump = false
    private var pickler: Pickler

    /// Creates a streaming pickler.
    /// - Parameters:
    ///   - sink: where the bytes go.
    ///   - options: protocol (default 4), fix_imports, buffer callback, persistent ids.
    ///   - records: shared memo (default) or independent records.
    /// - Throws: ``PickleError/Code/unpicklable`` for a protocol outside 0...5.
    public init(sink: Sink, options: PicklerOptions = PicklerOptions(), records: RecordMode = .sharedMemo) throws {
        self.records = records
        self.pickler = try Pickler(options: options)
        self.pickler.attach(sink)
    }

    /// The sink, with everything handed to it so far. Call ``flush()`` first to include every dump.
    public var sink: Sink { pickler.sink as! Sink }

    /// The number of bytes produced: handed to the sink, or waiting for the next frame or flush.
    public var byteCount: Int { pickler.drainedCount + pickler.output.count }

    /// Pickles the graph's root as one complete pickle.
    public mutating func dump(_ graph: PickleGraph) throws { try dump(graph.root) }

    /// Pickles a value as one complete pickle.
    public mutating func dump(_ value: PickleValue) throws { try dump(PickleGraph(value).root) }

    /// Pickles `node` (and everything it refers to) as one complete pickle.
    /// - Throws: ``PickleError/Code/unpicklable`` for values the protocol cannot express; the sink's errors.
    public mutating func dump(_ node: PickleNode) throws {
        if records == .independent { pickler.clearMemo() }
        try pickler.dump(node)
        if pickler.output.count >= Pickler.frameSizeTarget { try drain() }
        if flushesAfterEachDump { try flush() }
    }

    /// Hands every dumped byte to the sink and flushes it.
    public mutating func flush() throws {
        try drain()
        do {
            try pickler.flushSink()
        } catch {
            pickler.sinkError = error  // the sink failed: every later call throws
            throw error
        }
    }

    /// Forgets every memo entry, as CPython's `Pickler.clear_memo()`: the next pickle stands alone.
    public mutating func clearMemo() { pickler.clearMemo() }

    /// Continues memo numbering after `count` entries: for appending to a shared-memo stream whose reader's
    /// memo already holds `count` entries (protocol 4's MEMOIZE numbers entries by count).
    package mutating func continueMemoNumbering(after count: Int) { pickler.memoCount = max(pickler.memoCount, count) }

    private mutating func drain() throws {
        if let error = pickler.sinkError { throw error }
        pickler.drain()
        if let error = pickler.sinkError { throw error }
    }
}

extension StreamingPickler where Sink == AppendingFileSink {
    /// Appends to the log file at `path` (created if missing), repairing a torn tail first (see
    /// ``AppendingFileSink``). In ``RecordMode/sharedMemo`` the existing records are read as one session
    /// and the new pickles continue its memo numbering, so a single CPython `Unpickler` reads old and new
    /// records in one pass.
    /// - Throws: ``PickleError/Code/ioFailure``; the parser's error if the file is damaged before its tail.
    public init(appendingTo path: String, options: PicklerOptions = PicklerOptions(), records: RecordMode,
                syncsOnFlush: Bool = false) throws {
        let sink = try AppendingFileSink(path: path, memoMode: records == .sharedMemo ? .session : .perPickle,
                                         syncsOnFlush: syncsOnFlush)
        try self.init(sink: sink, options: options, records: records)
        if records == .sharedMemo { continueMemoNumbering(after: sink.recovery.memoEntryCount) }
    }
}
