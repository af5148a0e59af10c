import Benchmark
import Foundation
import Pickle
import PickleZstd

/// Decode and encode of the datasets (made by CPython: `Benchmarks/datasets.py`), whole-buffer against
/// 64 KiB and 1-byte chunks, a stream of a million small pickles with zstd off and on. Time and malloc counts.
///
///     swift package --package-path Benchmarks --scratch-path .build-bench benchmark
///
/// The side-by-side comparison with CPython on the same bytes is `python3 Benchmarks/compare.py`.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        maxDuration: .seconds(4), maxIterations: 10)

    for name in ["dicts", "small_ints", "big_ints", "unicode", "blobs", "bytes_inband", "deep_list"] {
        Benchmark("decode \(name)") { benchmark in
            let data = Datasets.bytes(name)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try Unpickler.loads(data)) }
        }
        Benchmark("encode \(name)") { benchmark in
            let graph = try Unpickler.loads(Datasets.bytes(name))
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: 5))) }
        }
    }

    Benchmark("decode bytes_oob") { benchmark in
        let data = Datasets.bytes("bytes_oob")
        let buffer = OutOfBandBuffer(Datasets.file("bytes_oob.buffer"))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try Unpickler.loads(data, buffers: [buffer])) }
    }

    for chunk in [65_536, 1] {
        Benchmark("decode dicts in \(chunk)-byte chunks") { benchmark in
            let data = Datasets.bytes("dicts")
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try Datasets.decode(data, chunk: chunk)) }
        }
    }

    Benchmark("decode stream of 1M pickles") { benchmark in
        let data = Datasets.bytes("stream")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try Datasets.decode(data, chunk: 65_536)) }
    }

    Benchmark("encode stream of 1M pickles, zstd off") { benchmark in
        let graphs = try Datasets.streamGraphs()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try Datasets.encode(graphs, into: MemorySink()).bytes.count) }
    }

    Benchmark("encode stream of 1M pickles, zstd on") { benchmark in
        let graphs = try Datasets.streamGraphs()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try Datasets.encode(graphs, into: ZstdCompressingSink(MemorySink())).bytesOut) }
    }

    Benchmark("decode stream of 1M pickles, zstd on") { benchmark in
        let compressed = try Datasets.compressedStream()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var decoder = try ZstdDecoder()
            var parser = PickleParser()
            var graphs: [PickleGraph] = []
            var count = 0
            var start = 0
            while start < compressed.count {
                let end = min(compressed.count, start + 65_536)
                try decoder.decompress(compressed[start ..< end]) { piece in try parser.feed(piece, into: &graphs) }
                count += graphs.count
                graphs.removeAll(keepingCapacity: true)
                start = end
            }
            try decoder.finish()
            try parser.finish()
            blackHole(count)
        }
    }
}

/// The dataset files, generated once by `Benchmarks/datasets.py` (CPython) into a cache directory.
enum Datasets {
    static let directory: URL = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swift-pickle-datasets-v1")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("datasets.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, directory.path]
        try! process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "Benchmarks/datasets.py failed")
        return directory
    }()

    static func file(_ name: String) -> [UInt8] {
        [UInt8](try! Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func bytes(_ name: String) -> [UInt8] { file(name + ".pickle") }

    /// Every pickle of `data`, fed to the push parser in chunks of `chunk` bytes.
    static func decode(_ data: [UInt8], chunk: Int) throws -> Int {
        var parser = PickleParser()
        var graphs: [PickleGraph] = []
        var count = 0
        var start = 0
        while start < data.count {
            let end = min(data.count, start + chunk)
            try parser.feed(data[start ..< end], into: &graphs)
            count += graphs.count
            graphs.removeAll(keepingCapacity: true)
            start = end
        }
        try parser.finish()
        return count
    }

    static func streamGraphs() throws -> [PickleGraph] {
        var parser = PickleParser()
        var graphs: [PickleGraph] = []
        try parser.feed(bytes("stream"), into: &graphs)
        try parser.finish()
        return graphs
    }

    /// Writes `graphs` as independent protocol-4 records into `sink`, flushed, and returns the sink.
    static func encode<Sink: PickleSink>(_ graphs: [PickleGraph], into sink: Sink) throws -> Sink {
        var pickler = try StreamingPickler(sink: sink, options: PicklerOptions(protocolVersion: 4), records: .independent)
        for graph in graphs { try pickler.dump(graph) }
        try pickler.flush()
        return pickler.sink
    }

    static func compressedStream() throws -> [UInt8] {
        let sink = try encode(streamGraphs(), into: ZstdCompressingSink(MemorySink()))
        try sink.finish()
        return sink.base.bytes
    }
}
