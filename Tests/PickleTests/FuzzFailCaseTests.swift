import Foundation
import XCTest
@_spi(Fuzzing) @testable import Pickle

/// Replays every input the fuzzers ever failed on (Fuzz/FailCases, named `<Target>-<what>`): each must now
/// decode the same in every chunking, re-pickle at every protocol, and round-trip exactly at protocols 4 and 5.
final class FuzzFailCaseTests: XCTestCase {
    func testEveryFuzzFailCaseNowPasses() throws {
        let directory = TestPaths.repoRoot.appendingPathComponent("Fuzz/FailCases")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasPrefix(".") }.sorted()
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let raw = [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
            // The targets' leading bytes: the option selector, and for FuzzChunked the chunk pattern.
            let bytes = Array(raw.dropFirst(name.hasPrefix("FuzzChunked") ? 2 : 1))
            let options = UnpicklerOptions.fuzzing(selector: raw.first ?? 0)  // as the fuzz targets chose them
            _ = Feeding.assertChunkingInvariant(bytes, options: options)
            for graph in Feeding.run(bytes, chunks: [], options: options).graphs {
                let original = graph.root.description
                for proto in 0 ... PicklerOptions.highestProtocol {
                    // As FuzzRoundTrip writes and reads: fix_imports the same both ways, Python 2 strings as latin1.
                    var writing = PicklerOptions(protocolVersion: proto)
                    writing.fixImports = options.fixImports
                    guard let pickled = try? Pickler.dumps(graph, options: writing) else { continue }
                    var reading = UnpicklerOptions()
                    reading.encoding = .latin1
                    reading.fixImports = options.fixImports
                    let reloaded = try Unpickler.loads(pickled, options: reading).root.description
                    // Protocols 4 and 5 express every node as it is; below, some forms change as in CPython.
                    if proto >= 4 { XCTAssertEqual(reloaded, original, "\(name), protocol \(proto)") }
                }
            }
        }
    }
}
