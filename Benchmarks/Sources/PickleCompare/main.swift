// PickleCompare: times swift-pickle on a pickle file, for comparison with CPython (see compare.py).
//
//   PickleCompare decode FILE [--repeat N] [--warmup W] [--chunk SIZE [--hint]] [--buffer BUF]
//   PickleCompare encode FILE --protocol P [--repeat N] [--warmup W] [--out FILE] [--sink] [--buffer BUF]
//   PickleCompare stream [--sync]     (reads concatenated pickles from standard input)
//   PickleCompare zstd-encode FILE [--level N] [--protocol P] [--repeat R] [--warmup W] [--only VARIANT] > OUT
//   PickleCompare zstd-decode [--plain FILE] [--no-zstd] [--repeat R] [--warmup W] < STREAM
//   (the zstd modes are described in Zstd.swift)
//
// `--chunk SIZE` feeds a bare `PickleParser` SIZE bytes at a time; with `--hint` the same chunks go through
// `StreamingUnpickler(chunks, expectedByteCount: file size)`, which sizes the arenas up front as `loads` does.
// `--inner N`: each sample times N calls and reports the time per call (for pickles of a few bytes, where
// one call is below the clock's resolution); compare.py passes the same N to CPython's timeit `number`.
// `--buffer BUF`: the file's out-of-band buffer (protocol 5, NEXT_BUFFER), read into memory and handed to the
// decoder; encode then writes every buffer out of band again (`bufferCallback` returning false), as CPython's
// `pickle.dumps(obj, 5, buffer_callback=buffers.append)`.
//
// decode/encode print one JSON line: {"mode":…, "median_ns":…, "min_ns":…, "max_ns":…, …, "samples_ns":[…]}.
// stream reads standard input through `StreamingUnpickler(fileDescriptor: 0)` once, counting the objects, and
// prints {"mode":"stream", "stdin":"pipe"|"file"|"other", "elapsed_ns":…, "objects":…, "bytes":…, "max_rss_kib":…,
// "root_count_sum":…}.
// `stream --sync` does the same without the AsyncSequence: blocking 256 KiB read(2)s on the calling thread
// fed straight to a `PickleParser` (the synchronous baseline for the AsyncSequence's overhead).
//
// Each timed run covers the work *and* the release of its result, as CPython's timeit does (there the
// result of `pickle.loads(data)` is freed when the statement ends, inside the timed loop): the graph (or
// the encoded bytes) is created and dropped inside `decodeOnce`/`encodeOnce`, before the clock is read.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Pickle

// MARK: - Arguments

struct Arguments {
    var mode = ""
    var file = ""
    var repeats = 15
    var warmup = 1
    var chunk: Int? = nil
    var protocolVersion = 5
    var out: String? = nil
    var sync = false
    var hint = false
    var toSink = false
    var buffer: String? = nil
    var inner = 1
}

func printError(_ text: String) {
    var text = text
    text.withUTF8 { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
}

func usage() -> Never {
    let text = """
    usage: PickleCompare decode FILE [--repeat N] [--warmup W] [--chunk SIZE [--hint]] [--buffer BUF]
           PickleCompare encode FILE [--protocol P] [--repeat N] [--warmup W] [--out FILE] [--sink] [--buffer BUF]
           PickleCompare stream [--sync] < PICKLES
           PickleCompare zstd-encode FILE [--level N] [--protocol P] [--repeat R] [--warmup W]
                                          [--only pickle|zstd|compress] [--batch BYTES] > OUT
                                          (the JSON line goes to standard error)
           PickleCompare zstd-decode [--plain FILE] [--no-zstd] [--repeat R] [--warmup W] [--max-held BYTES]
                                     < STREAM

    """
    printError(text)
    exit(2)
}

func fail(_ message: String) -> Never {
    printError("PickleCompare: \(message)\n")
    exit(1)
}

func parseArguments() -> Arguments {
    var args = Arguments()
    var rest = Array(CommandLine.arguments.dropFirst())
    if rest.first == "stream" {
        args.mode = "stream"
        switch rest.dropFirst() {
        case []: break
        case ["--sync"]: args.sync = true
        default: usage()
        }
        return args
    }
    guard rest.count >= 2 else { usage() }
    args.mode = rest.removeFirst()
    args.file = rest.removeFirst()
    guard args.mode == "decode" || args.mode == "encode" else { usage() }
    func intValue(_ flag: String, min: Int) -> Int {
        guard !rest.isEmpty, let value = Int(rest.removeFirst()), value >= min else {
            fail("\(flag) needs an integer >= \(min)")
        }
        return value
    }
    while !rest.isEmpty {
        let flag = rest.removeFirst()
        switch flag {
        case "--repeat": args.repeats = intValue(flag, min: 1)
        case "--warmup": args.warmup = intValue(flag, min: 0)
        case "--chunk": args.chunk = intValue(flag, min: 1)
        case "--hint": args.hint = true
        case "--sink": args.toSink = true
        case "--protocol": args.protocolVersion = intValue(flag, min: 0)
        case "--out":
            guard !rest.isEmpty else { fail("--out needs a file name") }
            args.out = rest.removeFirst()
        case "--inner": args.inner = intValue(flag, min: 1)
        case "--buffer":
            guard !rest.isEmpty else { fail("--buffer needs a file name") }
            args.buffer = rest.removeFirst()
        default: usage()
        }
    }
    if args.mode == "encode" && args.chunk != nil { fail("--chunk applies to decode only") }
    if args.toSink && args.mode != "encode" { fail("--sink applies to encode only") }
    if args.hint && args.chunk == nil { fail("--hint needs --chunk") }
    if args.hint && args.buffer != nil { fail("--hint and --buffer exclude each other") }
    return args
}

// MARK: - Files and clock

func readFile(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { fail("cannot open \(path)") }
    defer { fclose(f) }
    fseek(f, 0, SEEK_END)
    let size = ftell(f)
    fseek(f, 0, SEEK_SET)
    guard size >= 0 else { fail("cannot size \(path)") }
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
        count = fread(buffer.baseAddress, 1, size, f)
    }
    guard bytes.count == size else { fail("short read of \(path)") }
    return bytes
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    guard let f = fopen(path, "wb") else { fail("cannot create \(path)") }
    defer { fclose(f) }
    let written = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, f) }
    guard written == bytes.count else { fail("short write to \(path)") }
}

@inline(__always)
func nowNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Something the optimizer cannot see through, so the timed work is never discarded.
nonisolated(unsafe) var sink = 0

// MARK: - Timed bodies

/// A small summary of a decoded graph, read before it is released (also a sanity check printed in the JSON):
/// the root's item count, or its byte count for a buffer.
@inline(__always)
func summary(_ graph: PickleGraph) -> Int {
    graph.root.count ?? graph.root.bytes?.count ?? (try? NDArrayView(graph.root))?.bytes.count ?? -1
}

/// Decodes `bytes` with the one-shot API; the graph is released before returning. Returns its node count
/// (a stored count: the timed call does no more with the result than CPython's `loads(data)` does; the
/// root's item count for the report comes from one untimed decode).
@inline(never)
func decodeOnce(_ bytes: [UInt8], _ buffers: [OutOfBandBuffer]?) throws -> Int {
    let graph = try Unpickler.loads(bytes, buffers: buffers)
    return graph.nodeCount
}

/// Decodes `bytes` through the push parser in chunks of `chunk` bytes; the graph is released before returning.
@inline(never)
func decodeChunked(_ bytes: [UInt8], chunk: Int, _ buffers: [OutOfBandBuffer]?) throws -> Int {
    var parser = PickleParser(buffers: buffers)
    var out: [PickleGraph] = []
    var i = 0
    let n = bytes.count
    while i < n {
        let j = n - i > chunk ? i + chunk : n
        try parser.feed(bytes[i ..< j], into: &out)
        i = j
    }
    try parser.finish()
    guard out.count == 1 else { fail("expected one pickle, got \(out.count)") }
    return summary(out[0])
}

/// `bytes` in slices of `chunk` bytes, as an `AsyncSequence` that never suspends.
struct SliceChunks: AsyncSequence, Sendable {
    typealias Element = ArraySlice<UInt8>
    let bytes: [UInt8]
    let chunk: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let bytes: [UInt8]
        let chunk: Int
        var position = 0

        mutating func next() async -> ArraySlice<UInt8>? {
            let n = bytes.count
            guard position < n else { return nil }
            let end = n - position > chunk ? position + chunk : n
            defer { position = end }
            return bytes[position ..< end]
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes, chunk: chunk) }
}

/// Decodes `bytes` in chunks of `chunk` bytes through `StreamingUnpickler` told the input length up front
/// (`expectedByteCount`), so its arenas are sized once as `loads` sizes them; the graph is released before
/// returning.
@inline(never)
func decodeChunkedHinted(_ bytes: [UInt8], chunk: Int) async throws -> Int {
    var iterator = StreamingUnpickler(SliceChunks(bytes: bytes, chunk: chunk), expectedByteCount: bytes.count)
        .makeAsyncIterator()
    guard let graph = try await iterator.next() else { fail("expected one pickle, got none") }
    guard try await iterator.next() == nil else { fail("expected one pickle, got more") }
    return summary(graph)
}

/// Encodes `graph`; the output bytes are released before returning.
@inline(never)
func encodeOnce(_ graph: PickleGraph, _ options: PicklerOptions) throws -> Int {
    let bytes = try Pickler.dumps(graph, options: options)
    return bytes.count
}

/// Encodes `graph` with a ``StreamingPickler`` into a ``MemorySink``, which keeps the chunks it is handed:
/// frames, and payloads of 64 KiB or more as slices of the graph (zero copy). The counterpart of CPython's
/// `Pickler(file, 5).dump(obj)` with a `file.write` that keeps each chunk. Released before returning.
@inline(never)
func encodeToSinkOnce(_ graph: PickleGraph, _ options: PicklerOptions) throws -> Int {
    var pickler = try StreamingPickler(sink: MemorySink(), options: options, records: .independent)
    try pickler.dump(graph)
    try pickler.flush()
    return pickler.sink.count
}

// MARK: - Streaming

/// Peak resident set size of this process (`ru_maxrss`: KiB on Linux, bytes on macOS; reported in KiB).
func peakRSSKiB() -> Int {
    var usage = rusage()
    #if canImport(Darwin)
    getrusage(RUSAGE_SELF, &usage)
    return Int(usage.ru_maxrss) / 1024
    #else
    getrusage(RUSAGE_SELF.rawValue, &usage)  // Glibc imports RUSAGE_SELF as an enum case
    return Int(usage.ru_maxrss)
    #endif
}

/// What standard input is: "pipe", "file" (regular file) or "other".
func standardInputKind() -> String {
    var info = stat()
    guard fstat(0, &info) == 0 else { return "other" }
    switch info.st_mode & S_IFMT {
    case S_IFIFO: return "pipe"
    case S_IFREG: return "file"
    default: return "other"
    }
}

/// Reads standard input through `StreamingUnpickler(fileDescriptor: 0)` until end of file. Timed from
/// before the first read to the end of the stream; each object is dropped as soon as it has been counted,
/// as a streaming consumer would.
func runStream() async throws {
    let t0 = nowNanoseconds()
    var iterator = StreamingUnpickler(fileDescriptor: 0).makeAsyncIterator()
    var objects = 0
    var rootCountSum = 0
    while let graph = try await iterator.next() {
        objects += 1
        rootCountSum &+= summary(graph)
    }
    let t1 = nowNanoseconds()
    printStreamResult(elapsed: t1 - t0, objects: objects, bytes: iterator.offset, rootCountSum: rootCountSum,
                      sync: false)
}

/// The synchronous baseline: blocking reads of standard input on this thread, fed to a `PickleParser`.
func runStreamSync() throws {
    let t0 = nowNanoseconds()
    #if os(Linux)
    var info = stat()
    if fstat(0, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO {
        _ = fcntl(0, 1031 /* F_SETPIPE_SZ */, 1 << 20)  // as FileDescriptorByteStream does
    }
    #endif
    var parser = PickleParser()
    var ready: [PickleGraph] = []
    var buffer = [UInt8](repeating: 0, count: 256 * 1024)
    var objects = 0
    var rootCountSum = 0
    while true {
        let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            fail("read failed on standard input")
        }
        if n == 0 { break }
        try parser.feed(buffer[0 ..< n], into: &ready)
        for graph in ready {
            objects += 1
            rootCountSum &+= summary(graph)
        }
        ready.removeAll(keepingCapacity: true)
    }
    try parser.finish()
    let t1 = nowNanoseconds()
    printStreamResult(elapsed: t1 - t0, objects: objects, bytes: parser.offset, rootCountSum: rootCountSum,
                      sync: true)
}

func printStreamResult(elapsed: UInt64, objects: Int, bytes: Int, rootCountSum: Int, sync: Bool) {
    sink &+= rootCountSum
    let fields = [
        "\"mode\":\"stream\"",
        "\"sync\":\(sync)",
        "\"stdin\":\"\(standardInputKind())\"",
        "\"elapsed_ns\":\(elapsed)",
        "\"objects\":\(objects)",
        "\"bytes\":\(bytes)",
        "\"max_rss_kib\":\(peakRSSKiB())",
        "\"root_count_sum\":\(rootCountSum)",
    ]
    print("{" + fields.joined(separator: ",") + "}")
}

// MARK: - Timing loops

/// Runs `body` `args.warmup` times, then `args.repeats` samples of `args.inner` calls each, appending the
/// time per call of each sample to `times`; returns the last call's result.
///
/// Synchronous on purpose: the loop of a synchronous body must not be an `async` function calling an `async`
/// closure, which costs two executor switches per call (about 2,000 instructions, more than a small
/// `Unpickler.loads` itself).
func timeCalls(_ args: Arguments, into times: inout [UInt64], _ body: () throws -> Int) rethrows -> Int {
    var result = 0
    for _ in 0 ..< args.warmup { sink &+= try body() }
    for _ in 0 ..< args.repeats {
        let t0 = nowNanoseconds()
        for _ in 0 ..< args.inner { result = try body() }
        let t1 = nowNanoseconds()
        times.append((t1 - t0) / UInt64(args.inner))
        sink &+= result
    }
    return result
}

/// ``timeCalls(_:into:_:)`` for an `async` body (the `--hint` decode through `StreamingUnpickler`).
@MainActor
func timeCallsAsync(_ args: Arguments, into times: inout [UInt64], _ body: () async throws -> Int) async rethrows -> Int {
    var result = 0
    for _ in 0 ..< args.warmup { sink &+= try await body() }
    for _ in 0 ..< args.repeats {
        let t0 = nowNanoseconds()
        for _ in 0 ..< args.inner { result = try await body() }
        let t1 = nowNanoseconds()
        times.append((t1 - t0) / UInt64(args.inner))
        sink &+= result
    }
    return result
}

// MARK: - Main

/// Main-actor isolated, so the synchronous bodies run on the main thread (and its malloc arena) as they did
/// before this file had an async entry point; only the `--hint` body hops to the cooperative pool.
@MainActor
func run(_ args: Arguments) async throws {
    let input = readFile(args.file)
    let buffers = args.buffer.map { [OutOfBandBuffer(readFile($0))] }
    var times: [UInt64] = []
    times.reserveCapacity(args.repeats)
    var result = 0

    switch args.mode {
    case "decode":
        if let chunk = args.chunk, args.hint {
            result = try await timeCallsAsync(args, into: &times) { try await decodeChunkedHinted(input, chunk: chunk) }
        } else if let chunk = args.chunk {
            result = try timeCalls(args, into: &times) { try decodeChunked(input, chunk: chunk, buffers) }
        } else {
            sink &+= try timeCalls(args, into: &times) { try decodeOnce(input, buffers) }
            result = summary(try Unpickler.loads(input, buffers: buffers))
        }
    default:  // encode
        let graph = try Unpickler.loads(input, buffers: buffers)
        var options = PicklerOptions(protocolVersion: args.protocolVersion)
        if buffers != nil { options.bufferCallback = { _ in false } }
        let encode = args.toSink ? encodeToSinkOnce : encodeOnce
        result = try timeCalls(args, into: &times) { try encode(graph, options) }
        if let out = args.out {
            writeFile(out, try Pickler.dumps(graph, options: options))
        }
    }

    let samples = times
    times.sort()
    let median = times.count % 2 == 1
        ? times[times.count / 2]
        : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
    var fields = [
        "\"mode\":\"\(args.mode)\"",
        "\"bytes\":\(input.count)",
        "\"repeat\":\(args.repeats)",
        "\"median_ns\":\(median)",
        "\"min_ns\":\(times.first!)",
        "\"max_ns\":\(times.last!)",
    ]
    if let chunk = args.chunk { fields.append("\"chunk\":\(chunk)") }
    if args.hint { fields.append("\"hint\":true") }
    if args.mode == "encode" {
        fields.append("\"protocol\":\(args.protocolVersion)")
        fields.append("\"output_bytes\":\(result)")
    } else {
        fields.append("\"root_count\":\(result)")
    }
    fields.append("\"samples_ns\":[" + samples.map(String.init).joined(separator: ",") + "]")
    print("{" + fields.joined(separator: ",") + "}")
}

let commandLine = Array(CommandLine.arguments.dropFirst())
do {
    if let mode = commandLine.first, mode == "zstd-encode" || mode == "zstd-decode" {
        let zstdArguments = parseZstdArguments(commandLine)
        if mode == "zstd-encode" { try runZstdEncode(zstdArguments) } else { try await runZstdDecode(zstdArguments) }
        exit(0)
    }
    let arguments = parseArguments()
    if arguments.mode == "stream" {
        if arguments.sync { try runStreamSync() } else { try await runStream() }
    } else {
        try await run(arguments)
    }
} catch {
    fail("\(error)")
}
