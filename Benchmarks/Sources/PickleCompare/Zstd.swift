// The zstd modes of PickleCompare: the cost of the PickleZstd layer, for comparison with the zstd CLI
// (see compare.py --zstd-only).
//
//   PickleCompare zstd-encode FILE [--level N] [--protocol P] [--repeat R] [--warmup W] [--only VARIANT]
//                             [--batch BYTES]
//   PickleCompare zstd-decode [--plain FILE] [--no-zstd] [--repeat R] [--warmup W] [--max-held BYTES] < STREAM
//
// zstd-encode loads FILE (a stream of pickles) with `Unpickler.loadAll` (not timed), then times, alternating
// within one process (the order of the variants rotates each repetition):
//   * "pickle":   every graph through `StreamingPickler(sink: FileDescriptorSink(fileDescriptor: 1),
//                 records: .independent)`, flushed at the end (the no-zstd baseline);
//   * "zstd":     the same through `ZstdCompressingSink(FileDescriptorSink(fileDescriptor: 1), level N)`,
//                 `flush()` + `finish()` at the end (one frame);
//   * "compress": FILE's own bytes, 64 KiB slices (the size of the pickler's frames), written to the same
//                 compressing sink and finished: the zstd layer alone.
// Each variant writes its whole output to standard output (redirect it to /dev/null, a file or a pipe), so
// the JSON line goes to standard error. `--only VARIANT` runs one variant (e.g. `--only zstd --repeat 1
// --warmup 0 > out.zst` keeps one compressed output). Standard output is closed after the last run, before the
// graphs are released, so a reader at the other end of a pipe sees end of file at once.
// Each pickling run also reports the time spent inside its sink (`*_sink_samples_ns`, "in situ"): two clock
// reads around each sink call, one call per ~64 KiB frame. `--batch BYTES` (an experiment) collects the
// pickler's frames into BYTES-sized batches before the compressing sink, so pickling and compressing take turns
// less often.
//
// zstd-decode reads standard input (a zstd stream; with --no-zstd, a plain one) and times, per repetition:
//   * "zstd":       `StreamingUnpickler(ZstdDecompressingChunks(FileDescriptorByteStream(fileDescriptor: 0)))`,
//                   counting the objects (with --no-zstd: `StreamingUnpickler(FileDescriptorByteStream(0))`);
//   * "plain":      with `--plain FILE`, `StreamingUnpickler(FileDescriptorByteStream(fd of FILE))`, the
//                   no-zstd baseline on the uncompressed bytes;
//   * "decompress": `ZstdDecompressingChunks(FileDescriptorByteStream(fileDescriptor: 0))` alone, counting
//                   bytes (the zstd layer alone, as `zstd -dc > /dev/null`).
// Standard input is rewound (lseek) between runs, so more than one run needs a regular file there; on a pipe
// only one "zstd" run is made. No size hint is given to the unpickler on either input (a compressed stream's
// decompressed size is unknown), so the two unpickling variants do the same work. The unpickling runs also
// report the time spent inside their chunk source's `next()` (`*_source_samples_ns`: reading, and for "zstd"
// decompressing). `--max-held BYTES` sets `ZstdReadOptions.maxHeldFrameBytes` (default 8 MiB; 0 hands every
// piece on as it is decompressed, before the frame's checksum is verified).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Pickle
import PickleZstd

struct ZstdArguments {
    var mode = ""
    var file = ""
    var level: Int32 = 3
    var protocolVersion = 4
    var repeats = 5
    var warmup = 1
    var only: String? = nil
    var plain: String? = nil
    var noZstd = false
    var batch: Int? = nil
    var maxHeld: Int? = nil
}

func parseZstdArguments(_ arguments: [String]) -> ZstdArguments {
    var args = ZstdArguments()
    var rest = arguments
    args.mode = rest.removeFirst()
    if args.mode == "zstd-encode" {
        guard let file = rest.first, !file.hasPrefix("--") else { usage() }
        args.file = file
        rest.removeFirst()
    }
    func intValue(_ flag: String, min: Int, max: Int = Int.max) -> Int {
        guard !rest.isEmpty, let value = Int(rest.removeFirst()), value >= min, value <= max else {
            fail("\(flag) needs an integer in \(min)...\(max)")
        }
        return value
    }
    func stringValue(_ flag: String) -> String {
        guard !rest.isEmpty else { fail("\(flag) needs a value") }
        return rest.removeFirst()
    }
    while !rest.isEmpty {
        let flag = rest.removeFirst()
        switch (args.mode, flag) {
        case (_, "--repeat"): args.repeats = intValue(flag, min: 1)
        case (_, "--warmup"): args.warmup = intValue(flag, min: 0)
        case ("zstd-encode", "--level"): args.level = Int32(intValue(flag, min: -7, max: 22))
        case ("zstd-encode", "--batch"): args.batch = intValue(flag, min: 1)
        case ("zstd-encode", "--protocol"): args.protocolVersion = intValue(flag, min: 0, max: 5)
        case ("zstd-encode", "--only"):
            let variant = stringValue(flag)
            guard ["pickle", "zstd", "compress"].contains(variant) else { fail("--only takes pickle, zstd or compress") }
            args.only = variant
        case ("zstd-decode", "--plain"): args.plain = stringValue(flag)
        case ("zstd-decode", "--no-zstd"): args.noZstd = true
        case ("zstd-decode", "--max-held"): args.maxHeld = intValue(flag, min: 0)
        default: usage()
        }
    }
    return args
}

/// Prints one JSON line on file descriptor `fd` (standard error when standard output carries the data).
func printJSON(_ fields: [String], to fd: Int32) {
    var line = "{" + fields.joined(separator: ",") + "}\n"
    line.withUTF8 { buffer in
        var done = 0
        while done < buffer.count {
            let n = write(fd, buffer.baseAddress! + done, buffer.count - done)
            if n <= 0 { if n < 0 && errno == EINTR { continue }; break }
            done += n
        }
    }
}

func medianOf(_ samples: [UInt64]) -> UInt64 {
    let s = samples.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func samplesJSON(_ name: String, _ samples: [UInt64]) -> [String] {
    guard !samples.isEmpty else { return [] }
    return ["\"\(name)_median_ns\":\(medianOf(samples))",
            "\"\(name)_samples_ns\":[" + samples.map(String.init).joined(separator: ",") + "]"]
}

// MARK: - In-situ timing

/// A sink that adds up the time spent inside its base sink's `write` and `flush`: in the pickle + zstd run,
/// the compressing sink's own time (compression and writing the compressed bytes) while the pickler runs
/// around it. Two clock reads per call (one call per ~64 KiB frame): noise-free next to the run's total.
final class TimingSink<Base: PickleSink>: PickleSink {
    var base: Base
    var elapsed: UInt64 = 0

    init(_ base: Base) { self.base = base }

    func write(_ bytes: ArraySlice<UInt8>) throws {
        let t0 = nowNanoseconds()
        defer { elapsed += nowNanoseconds() - t0 }
        try base.write(bytes)
    }

    func flush() throws {
        let t0 = nowNanoseconds()
        defer { elapsed += nowNanoseconds() - t0 }
        try base.flush()
    }
}

/// The time spent inside an upstream `next()`, shared between the timing sequence's iterator and the caller.
final class ElapsedBox {
    var elapsed: UInt64 = 0
}

/// An `AsyncSequence` that adds up the time its base spends in `next()`: the chunk source's own time (reading,
/// and for `ZstdDecompressingChunks` decompressing) while the unpickler runs around it.
struct TimingChunks<Base: AsyncSequence>: AsyncSequence {
    typealias Element = Base.Element
    let base: Base
    let box: ElapsedBox

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let box: ElapsedBox

        mutating func next() async throws -> Base.Element? {
            let t0 = nowNanoseconds()
            defer { box.elapsed += nowNanoseconds() - t0 }
            return try await base.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), box: box) }
}

// MARK: - zstd-encode

/// The pickler's frame size: the compress-only variant feeds the compressor slices of this size, as the
/// pickler does.
let compressSliceSize = 64 * 1024

/// The result of one timed encoding run: bytes in and out of the last sink stage, and the time spent inside
/// the sink (in situ).
struct EncodeRun {
    var bytesIn = 0
    var bytesOut = 0
    var sinkTime: UInt64 = 0
}

@inline(never)
func pickleAll(_ graphs: [PickleGraph], _ options: PicklerOptions) throws -> EncodeRun {
    let base = FileDescriptorSink(fileDescriptor: 1)
    let timing = TimingSink(base)
    var pickler = try StreamingPickler(sink: timing, options: options, records: .independent)
    for graph in graphs { try pickler.dump(graph) }
    try pickler.flush()
    return EncodeRun(bytesIn: base.bytesWritten, bytesOut: base.bytesWritten, sinkTime: timing.elapsed)
}

@inline(never)
func pickleAndCompressAll(_ graphs: [PickleGraph], _ options: PicklerOptions, level: Int32) throws -> EncodeRun {
    let sink = try ZstdCompressingSink(FileDescriptorSink(fileDescriptor: 1), options: ZstdWriteOptions(level: level))
    let timing = TimingSink(sink)
    var pickler = try StreamingPickler(sink: timing, options: options, records: .independent)
    for graph in graphs { try pickler.dump(graph) }
    try pickler.flush()  // hands the last bytes to the sink (and, with the default options, ends the frame)
    let t0 = nowNanoseconds()
    try sink.finish()    // ends the frame if still open: one frame in all
    return EncodeRun(bytesIn: sink.bytesIn, bytesOut: sink.bytesOut, sinkTime: timing.elapsed + nowNanoseconds() - t0)
}

/// Collects the pickler's frames into batches of `capacity` bytes before handing them to `base` (the
/// `--batch` experiment: fewer, larger compressor calls, so pickling and compressing take turns less often).
final class BatchingSink<Base: PickleSink>: PickleSink {
    var base: Base
    private var buffer: [UInt8] = []
    private let capacity: Int

    init(_ base: Base, capacity: Int) {
        self.base = base
        self.capacity = capacity
        buffer.reserveCapacity(capacity)
    }

    func write(_ bytes: ArraySlice<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { try drain() }
    }

    func flush() throws {
        try drain()
        try base.flush()
    }

    private func drain() throws {
        guard !buffer.isEmpty else { return }
        try base.write(buffer[...])
        buffer.removeAll(keepingCapacity: true)
    }
}

@inline(never)
func pickleBatchedAndCompressAll(_ graphs: [PickleGraph], _ options: PicklerOptions, level: Int32,
                                 batch: Int) throws -> EncodeRun {
    let sink = try ZstdCompressingSink(FileDescriptorSink(fileDescriptor: 1), options: ZstdWriteOptions(level: level))
    let timing = TimingSink(sink)
    var pickler = try StreamingPickler(sink: BatchingSink(timing, capacity: batch), options: options, records: .independent)
    for graph in graphs { try pickler.dump(graph) }
    try pickler.flush()
    let t0 = nowNanoseconds()
    try sink.finish()
    return EncodeRun(bytesIn: sink.bytesIn, bytesOut: sink.bytesOut, sinkTime: timing.elapsed + nowNanoseconds() - t0)
}

@inline(never)
func compressAll(_ bytes: [UInt8], level: Int32) throws -> EncodeRun {
    let sink = try ZstdCompressingSink(FileDescriptorSink(fileDescriptor: 1), options: ZstdWriteOptions(level: level))
    var i = 0
    let n = bytes.count
    while i < n {
        let j = n - i > compressSliceSize ? i + compressSliceSize : n
        try sink.write(bytes[i ..< j])
        i = j
    }
    try sink.finish()
    return EncodeRun(bytesIn: sink.bytesIn, bytesOut: sink.bytesOut)
}

func runZstdEncode(_ args: ZstdArguments) throws {
    let input = readFile(args.file)
    let loadStart = nowNanoseconds()
    let graphs = try Unpickler.loadAll(input)
    let loadTime = nowNanoseconds() - loadStart
    let options = PicklerOptions(protocolVersion: args.protocolVersion)
    let variants = args.only.map { [$0] } ?? ["pickle", "zstd", "compress"]

    var samples: [String: [UInt64]] = [:]
    var last: [String: EncodeRun] = [:]
    var lastStart: UInt64 = 0
    for round in 0 ..< args.warmup + args.repeats {
        // Rotate the order, so no variant always runs first (after the load) or last.
        for k in 0 ..< variants.count {
            let variant = variants[(k + round) % variants.count]
            let t0 = nowNanoseconds()
            let run: EncodeRun
            switch variant {
            case "pickle": run = try pickleAll(graphs, options)
            case "zstd" where args.batch != nil:
                run = try pickleBatchedAndCompressAll(graphs, options, level: args.level, batch: args.batch!)
            case "zstd": run = try pickleAndCompressAll(graphs, options, level: args.level)
            default: run = try compressAll(input, level: args.level)
            }
            let t1 = nowNanoseconds()
            lastStart = t0
            last[variant] = run
            if round >= args.warmup {
                samples[variant, default: []].append(t1 - t0)
                if variant != "compress" { samples[variant + "_sink", default: []].append(run.sinkTime) }
            }
        }
    }
    close(1)  // the reader of a pipe sees end of file now, not after the graphs are freed

    var fields = [
        "\"mode\":\"zstd-encode\"",
        "\"level\":\(args.level)",
        "\"protocol\":\(args.protocolVersion)",
        "\"objects\":\(graphs.count)",
        "\"input_bytes\":\(input.count)",
        "\"load_ns\":\(loadTime)",
        "\"repeat\":\(args.repeats)",
        "\"batch\":\(args.batch ?? 0)",
        "\"last_start_ns\":\(lastStart)",
    ]
    if let run = last["pickle"] { fields.append("\"pickle_bytes\":\(run.bytesOut)") }
    if let run = last["zstd"] { fields += ["\"zstd_bytes_in\":\(run.bytesIn)", "\"zstd_bytes\":\(run.bytesOut)"] }
    if let run = last["compress"] { fields += ["\"compress_bytes_in\":\(run.bytesIn)", "\"compress_bytes\":\(run.bytesOut)"] }
    for name in ["pickle", "zstd", "compress", "pickle_sink", "zstd_sink"] { fields += samplesJSON(name, samples[name] ?? []) }
    printJSON(fields, to: 2)
}

// MARK: - zstd-decode

struct DecodeCount {
    var objects = 0
    var bytes = 0
    var rootCountSum = 0
    /// Time spent inside the chunk source's `next()` (reading; for compressed input, also decompressing).
    var sourceTime: UInt64 = 0
}

@inline(never)
func unpickleCompressed(_ fd: Int32, _ options: ZstdReadOptions) async throws -> DecodeCount {
    try await unpickleCounting(ZstdDecompressingChunks(FileDescriptorByteStream(fileDescriptor: fd), options: options))
}

@inline(never)
func unpicklePlain(_ fd: Int32) async throws -> DecodeCount {
    try await unpickleCounting(FileDescriptorByteStream(fileDescriptor: fd))
}

/// Unpickles every object of `source`, counting objects and bytes, and timing the source's own `next()`.
func unpickleCounting<Source: AsyncSequence>(_ source: Source) async throws -> DecodeCount where Source.Element: PickleInputChunk {
    var count = DecodeCount()
    let box = ElapsedBox()
    var iterator = StreamingUnpickler(TimingChunks(base: source, box: box)).makeAsyncIterator()
    while let graph = try await iterator.next() {
        count.objects += 1
        count.rootCountSum &+= summary(graph)
    }
    count.bytes = iterator.offset
    count.sourceTime = box.elapsed
    return count
}

@inline(never)
func decompressOnly(_ fd: Int32, _ options: ZstdReadOptions) async throws -> DecodeCount {
    var count = DecodeCount()
    for try await piece in ZstdDecompressingChunks(FileDescriptorByteStream(fileDescriptor: fd), options: options) {
        count.bytes += piece.count
        count.rootCountSum &+= Int(piece.last ?? 0)
    }
    return count
}

func runZstdDecode(_ args: ZstdArguments) async throws {
    let seekable = standardInputKind() == "file"
    var variants = ["zstd"]
    if seekable {
        if args.plain != nil { variants.append("plain") }
        if !args.noZstd { variants.append("decompress") }
    }
    let rounds = seekable ? args.warmup + args.repeats : 1
    let warmup = seekable ? args.warmup : 0
    var readOptions = ZstdReadOptions()
    if let maxHeld = args.maxHeld { readOptions.maxHeldFrameBytes = maxHeld }
    var plainFD: Int32 = -1
    if let plain = args.plain, seekable {
        plainFD = open(plain, O_RDONLY)
        if plainFD < 0 { fail("cannot open \(plain)") }
    }

    var samples: [String: [UInt64]] = [:]
    var counts: [String: DecodeCount] = [:]
    var firstStart: UInt64 = 0
    for round in 0 ..< rounds {
        for k in 0 ..< variants.count {
            let variant = variants[(k + round) % variants.count]
            let fd: Int32 = variant == "plain" ? plainFD : 0
            if seekable && lseek(fd, 0, SEEK_SET) != 0 { fail("cannot rewind the input") }
            let t0 = nowNanoseconds()
            let count: DecodeCount
            switch variant {
            case "zstd": count = args.noZstd ? try await unpicklePlain(0) : try await unpickleCompressed(0, readOptions)
            case "plain": count = try await unpicklePlain(fd)
            default: count = try await decompressOnly(0, readOptions)
            }
            let t1 = nowNanoseconds()
            if firstStart == 0 { firstStart = t0 }
            sink &+= count.rootCountSum
            counts[variant] = count
            if round >= warmup {
                samples[variant, default: []].append(t1 - t0)
                if variant != "decompress" { samples[variant + "_source", default: []].append(count.sourceTime) }
            }
        }
    }
    if plainFD >= 0 { close(plainFD) }

    var fields = [
        "\"mode\":\"zstd-decode\"",
        "\"input\":\"\(args.noZstd ? "plain" : "zstd")\"",
        "\"stdin\":\"\(standardInputKind())\"",
        "\"repeat\":\(rounds - warmup)",
        "\"max_held_frame_bytes\":\(readOptions.maxHeldFrameBytes)",
        "\"first_start_ns\":\(firstStart)",
        "\"max_rss_kib\":\(peakRSSKiB())",
    ]
    for variant in ["zstd", "plain", "decompress"] {
        guard let count = counts[variant] else { continue }
        if variant != "decompress" {
            fields.append("\"\(variant)_objects\":\(count.objects)")
            fields.append("\"\(variant)_root_count_sum\":\(count.rootCountSum)")
        }
        fields.append("\"\(variant)_bytes\":\(count.bytes)")
    }
    for name in ["zstd", "plain", "decompress", "zstd_source", "plain_source"] {
        fields += samplesJSON(name, samples[name] ?? [])
    }
    printJSON(fields, to: 1)
}
