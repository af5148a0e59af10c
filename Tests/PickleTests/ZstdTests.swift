import Foundation
import XCTest
@testable import Pickle
import PickleZstd

#if canImport(Glibc)
import Glibc
#endif

/// The zstd framing layer: our frames read by the `zstd` CLI and CPython, theirs read here, every chunking,
/// a frame per flush, and damage reported with offsets after everything decoded before it.
final class ZstdTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pickle-zstd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private let values: [PickleValue] = [
        .list([.int(1), .string("two"), .float(3.5)]),
        .dict([.init(.string("blob"), .bytes([UInt8](repeating: 7, count: 100_000))), .init(.string("n"), .none)]),
        .string(String(repeating: "ü", count: 5000)),
        .tuple([.bool(true), .int(-1 << 40)]),
    ]

    private func reprs() -> [String] { values.map { PickleGraph($0).root.description } }

    /// Decodes (possibly compressed) chunks through the decompressing stage and the unpickler.
    private func decode(_ chunks: [[UInt8]], options: ZstdReadOptions = ZstdReadOptions()) async -> (reprs: [String], error: PickleError?) {
        var out: [String] = []
        do {
            for try await graph in StreamingUnpickler(ZstdDecompressingChunks(StreamTesting.sequence(chunks), options: options)) {
                out.append(graph.root.description)
            }
            return (out, nil)
        } catch {
            return (out, error as? PickleError)
        }
    }

    private func run(_ command: String) throws -> [UInt8] {
        let (status, out, err) = try Subprocess.run(URL(fileURLWithPath: "/bin/sh"), ["-c", command], stdin: [])
        guard status == 0 else { throw Python.Failure(description: "\(command): \(String(decoding: err, as: UTF8.self))") }
        return [UInt8](out)
    }

    /// `StreamingPickler` → zstd (a frame per flush) → file; `zstd -dc` of it loads in CPython, and the frames
    /// are standard (the CLI lists them).
    func testOurFramesDecompressWithTheCLIAndLoadInCPython() throws {
        let sink = try ZstdCompressingSink(MemorySink())
        var pickler = try StreamingPickler(sink: sink, records: .independent)
        for value in values {
            try pickler.dump(value)
            try pickler.flush()
        }
        let path = directory.appendingPathComponent("out.pickle.zst").path
        try Data(sink.base.bytes).write(to: URL(fileURLWithPath: path))
        let printed = try Python.script("""
            import pickle, subprocess, sys, io
            raw = subprocess.run(['zstd', '-dc', sys.argv[1]], check=True, capture_output=True).stdout
            f = io.BytesIO(raw); out = []
            while f.tell() < len(raw): out.append(repr(pickle.load(f)))
            print('\\n'.join(out))
            """, [path])
        XCTAssertEqual(String(decoding: printed, as: UTF8.self), reprs().joined(separator: "\n") + "\n")
        let listing = String(decoding: try run("zstd -lv '\(path)'"), as: UTF8.self)
        XCTAssertTrue(listing.contains("# Zstandard Frames: 4"), listing)
        XCTAssertTrue(listing.contains("Check: XXH64"), listing)
    }

    /// Streams compressed by the `zstd` CLI (several concatenated frames, a skippable frame between them) and
    /// by Python's zstd module decode here, fed whole, one byte at a time and split at many offsets.
    func testStreamsCompressedByTheCLIAndByPythonDecodeInAnyChunking() async throws {
        let plain = try [UInt8](Python.script("""
            import pickle, sys
            sys.stdout.buffer.write(b''.join(pickle.dumps(v, p) for v, p in [([1, 'two', 3.5], 2), ({'k': b'x' * 3000}, 4), ('ü' * 50, 5)]))
            """))
        let expected = try Unpickler.loadAll(plain).map(\.root.description)
        let plainPath = directory.appendingPathComponent("plain.pickle").path
        try Data(plain).write(to: URL(fileURLWithPath: plainPath))
        let cli = try run("zstd -q -19 -c '\(plainPath)'; printf '\\120\\052\\115\\030\\003\\000\\000\\000abc'; zstd -q -1 --no-check -c '\(plainPath)'")
        let python = try [UInt8](Python.script("""
            import sys
            from backports import zstd
            data = open(sys.argv[1], 'rb').read()
            sys.stdout.buffer.write(zstd.compress(data[:40]) + zstd.compress(data[40:], level=7))
            """, [plainPath]))
        for (name, compressed, copies) in [("zstd CLI", cli, 2), ("Python zstd", python, 1)] {
            XCTAssertEqual(ZstdDecoder.isCompressed(compressed), true, name)
            let want = Array(repeating: expected, count: copies).flatMap { $0 }
            let whole = await decode([compressed])
            XCTAssertNil(whole.error, name)
            XCTAssertEqual(whole.reprs, want, name)
            let bytes = await decode(compressed.map { [$0] })
            XCTAssertEqual(bytes.reprs, want, "\(name), one byte at a time")
            XCTAssertNil(bytes.error, name)
            for split in stride(from: 0, through: compressed.count, by: max(1, compressed.count / 97)) {
                let parts = await decode([Array(compressed[..<split]), Array(compressed[split...])])
                XCTAssertEqual(parts.reprs, want, "\(name), split at \(split)")
            }
        }
        // Plain input passes through the same stage untouched, even a pickle that begins with a skippable
        // frame's magic number (`V*M\x18...`, protocol 0).
        let passthrough = await decode([plain])
        XCTAssertEqual(passthrough.reprs, expected)
        // ... and a first chunk that shows plain input by itself is handed on as it is, not copied.
        var pieces = ZstdDecompressingChunks(StreamTesting.sequence([plain])).makeAsyncIterator()
        let first = try await pieces.next()
        XCTAssertEqual(first.map(Array.init), plain)
        XCTAssertEqual(first?.withUnsafeBufferPointer { $0.baseAddress }, plain.withUnsafeBufferPointer { $0.baseAddress })
        let lookalike = try [UInt8](Python.script("import pickle, sys; sys.stdout.buffer.write(pickle.dumps('*M\\x18' + 'x' * 40, 0))"))
        XCTAssertEqual(Array(lookalike.prefix(4)), [0x56, 0x2A, 0x4D, 0x18])
        for chunking in [[lookalike], lookalike.map { [$0] }] {
            let read = await decode(chunking)
            XCTAssertNil(read.error)
            XCTAssertEqual(read.reprs, ["'*M\\x18" + String(repeating: "x", count: 40) + "'"])
        }
    }

    /// A flush closes a frame: the reader at the other end of a pipe decodes each object before the next is
    /// written.
    func testEachFlushEndsAFrameSoTheReaderHasEverythingFlushed() async throws {
        let (readEnd, writeEnd) = try StreamTesting.pipe()
        defer { close(readEnd) }
        let sink = try ZstdCompressingSink(FileDescriptorSink(fileDescriptor: writeEnd, ownsFileDescriptor: true))
        var pickler = try StreamingPickler(sink: sink, options: PicklerOptions(protocolVersion: 5), records: .independent)
        var iterator = StreamingUnpickler(ZstdDecompressingChunks(FileDescriptorByteStream(fileDescriptor: readEnd))).makeAsyncIterator()
        for (value, repr) in zip(values, reprs()) {
            try pickler.dump(value)
            try pickler.flush()
            let received = try await iterator.next()
            XCTAssertEqual(received?.root.description, repr)
        }
        try sink.finish()
        try sink.base.close()
        let end = try await iterator.next()
        XCTAssertNil(end)
    }

    /// Corrupt bytes, a wrong checksum, garbage after the last frame and a truncated frame: every object of the
    /// frames before the damage comes first, then a `decompressionFailed` error naming the damaged frame's offset.
    /// A frame's content is held until its checksum is verified, so the damaged frame yields nothing.
    func testDamageIsReportedWithTheFrameOffsetAfterEverythingBeforeIt() async throws {
        var frames: [[UInt8]] = []
        for value in values {
            let sink = try ZstdCompressingSink(MemorySink())
            var pickler = try StreamingPickler(sink: sink)
            try pickler.dump(value)
            try pickler.flush()
            frames.append(sink.base.bytes)
        }
        let good = frames.flatMap { $0 }
        let secondStart = frames[0].count
        let third = frames[0].count + frames[1].count

        var badChecksum = good
        badChecksum[third - 1] ^= 0xFF  // the second frame's checksum
        var corrupt = good
        corrupt[secondStart + frames[1].count / 2] ^= 0x55
        let truncated = Array(good[..<(third - 3)])
        let garbage = good + [0x80, 0x04, 0x4E, 0x2E]
        for (name, input, before, frameOffset) in [("checksum", badChecksum, 1, secondStart), ("corrupt", corrupt, 1, secondStart),
                                                   ("truncated", truncated, 1, secondStart), ("garbage", garbage, 4, good.count)] {
            for chunking in [[input], input.map { [$0] }] {
                let result = await decode(chunking)
                XCTAssertEqual(result.reprs, Array(reprs().prefix(before)), name)
                XCTAssertEqual(result.error?.code, .decompressionFailed, name)
                XCTAssertEqual(result.error?.offset, frameOffset, "\(name): \(String(describing: result.error))")
            }
        }
    }

    /// A few kilobytes that inflate to a gigabyte, shaped as a pickle whose BINBYTES8 payload is the whole
    /// gigabyte: the decompression limit stops it with a clear error, and so does the unpickler's payload limit;
    /// memory never follows the inflation. Zeros without a pickle header stop at the first byte.
    func testADecompressionBombStopsAtTheConfiguredLimits() async throws {
        let header = "\\200\\004\\216\\000\\312\\232\\073\\000\\000\\000\\000"  // PROTO 4, BINBYTES8 of 10^9 bytes
        let bomb = try run("{ printf '\(header)'; head -c 1000000000 /dev/zero; } | zstd -q -1 -c")
        XCTAssertLessThan(bomb.count, 100_000)
        var limited = ZstdReadOptions()
        limited.maxDecompressedBytes = 16 << 20
        let stopped = await decode([bomb], options: limited)
        XCTAssertEqual(stopped.error?.code, .decompressionFailed)
        XCTAssertEqual(stopped.error?.offset, 0)
        XCTAssertTrue(stopped.error?.message.contains("past the limit of 16777216 bytes") ?? false, "\(String(describing: stopped.error))")

        var small = UnpicklerOptions()
        small.limits.maxPayloadBytes = 1 << 20
        var graphs = 0
        do {
            for try await _ in StreamingUnpickler(ZstdDecompressingChunks(StreamTesting.sequence([bomb])), options: small) { graphs += 1 }
            XCTFail("the payload limit must stop the bomb")
        } catch let error as PickleError {
            XCTAssertEqual(error.code, .limitExceeded)
            XCTAssertEqual(error.offset, 2)
        }
        XCTAssertEqual(graphs, 0)

        let zeros = try run("head -c 100000000 /dev/zero | zstd -q -1 -c")
        let rejected = await decode([zeros])
        XCTAssertEqual(rejected.error?.code, .invalidOpcode)
        XCTAssertEqual(rejected.error?.offset, 0)
    }

    // MARK: - Compressed logs

    private func logRecords(_ first: Int, _ count: Int) -> [PickleValue] {
        (first ..< first + count).map { .dict([.init(.string("id"), .int($0)), .init(.string("text"), .string(String(repeating: "log line \($0) ", count: 20)))]) }
    }

    private func logRepr(_ k: Int) -> String {
        "{'id': \(k), 'text': '\(String(repeating: "log line \(k) ", count: 20))'}"
    }

    /// Reads a compressed log with `zstd -dc` and CPython: repeated `pickle.load` or one Unpickler.
    private func cpythonReads(_ paths: [String], sharedMemo: Bool) throws -> [String] {
        let printed = try Python.script("""
            import pickle, subprocess, sys, io
            for path in sys.argv[1:]:
                raw = subprocess.run(['zstd', '-dc', path], check=True, capture_output=True).stdout
                f = io.BytesIO(raw); u = pickle.Unpickler(f); out = []
                while f.tell() < len(raw): out.append(repr(u.load() if \(sharedMemo ? "True" : "False") else pickle.load(f)))
                print(' | '.join(out))
            """, paths)
        return String(decoding: printed, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// Three appends (each a fresh pickler on the reopened file, one frame per flush) in both record modes;
    /// CPython reads the whole log after `zstd -dc`.
    func testCompressedLogsAppendAcrossRestartsAndCPythonReadsThem() throws {
        for mode in [StreamingPickler<ZstdCompressingSink<AppendingFileSink>>.RecordMode.independent, .sharedMemo] {
            let path = directory.appendingPathComponent("log-\(mode).pickle.zst").path
            var next = 0
            for (run, count) in [2, 3, 1].enumerated() {
                var log = try StreamingPickler(appendingCompressedTo: path, options: PicklerOptions(protocolVersion: 4), records: mode)
                XCTAssertEqual(log.sink.base.recovery.completeRecords, next, "run \(run)")
                XCTAssertNil(log.sink.base.recovery.tornTail)
                for value in logRecords(next, count) {
                    try log.dump(value)
                    try log.flush()
                }
                try log.sink.base.close()
                next += count
            }
            XCTAssertEqual(try cpythonReads([path], sharedMemo: mode == .sharedMemo), [(0 ..< 6).map(logRepr).joined(separator: " | ")])
        }
    }

    /// The compressed log is cut at every offset inside its last frame: readers deliver every record of the
    /// complete frames and report the torn frame with its offset; the next append cuts it off first, so CPython
    /// reads the complete records and the new one.
    func testATornCompressedTailLosesOnlyItsFrameAndTheNextAppendRepairsIt() async throws {
        for mode in [StreamingPickler<ZstdCompressingSink<AppendingFileSink>>.RecordMode.independent, .sharedMemo] {
            let intact = directory.appendingPathComponent("intact-\(mode).pickle.zst").path
            var log = try StreamingPickler(appendingCompressedTo: intact, records: mode)
            var frameEnds: [Int] = []
            for value in logRecords(0, 4) {
                try log.dump(value)
                try log.flush()
                frameEnds.append(log.sink.bytesOut)
            }
            try log.sink.base.close()
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: intact)))
            XCTAssertEqual(bytes.count, frameEnds[3])
            var options = UnpicklerOptions()
            options.memoMode = mode == .sharedMemo ? .session : .perPickle
            var repaired: [String] = []
            for cut in frameEnds[2] + 1 ..< frameEnds[3] {
                let torn = Array(bytes[..<cut])
                var reprs: [String] = []
                do {
                    for try await graph in StreamingUnpickler(ZstdDecompressingChunks(StreamTesting.sequence([torn])), options: options) {
                        reprs.append(graph.root.description)
                    }
                    XCTFail("cut at \(cut): the tear must be reported")
                } catch let error as PickleError {
                    XCTAssertEqual(error.code, .decompressionFailed)
                    XCTAssertEqual(error.offset, frameEnds[2], "cut at \(cut)")
                }
                XCTAssertEqual(reprs, (0 ..< 3).map(logRepr), "cut at \(cut)")

                let path = directory.appendingPathComponent("torn-\(mode)-\(cut).pickle.zst").path
                try Data(torn).write(to: URL(fileURLWithPath: path))
                var appender = try StreamingPickler(appendingCompressedTo: path, records: mode)
                let recovery = appender.sink.base.recovery
                XCTAssertEqual(recovery.completeRecords, 3)
                XCTAssertEqual(recovery.validLength, frameEnds[2])
                XCTAssertEqual(recovery.tornTail?.offset, frameEnds[2])
                XCTAssertEqual(recovery.removedByteCount, cut - frameEnds[2])
                try appender.dump(logRecords(9, 1)[0])
                try appender.flush()
                try appender.sink.base.close()
                repaired.append(path)
            }
            let expected = ((0 ..< 3).map(logRepr) + [logRepr(9)]).joined(separator: " | ")
            XCTAssertEqual(try cpythonReads(repaired, sharedMemo: mode == .sharedMemo), Array(repeating: expected, count: repaired.count))
        }
    }
}
