import Foundation
import XCTest
@testable import Pickle

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
            let options = FuzzFailCaseTests.options(selectedBy: raw.first ?? 0)
            _ = Feeding.assertChunkingInvariant(bytes, options: options)
            for graph in Feeding.run(bytes, chunks: [], options: options).graphs {
                let original = graph.root.description
                for proto in 0 ... PicklerOptions.highestProtocol {
                    guard let pickled = try? Pickler.dumps(graph, options: PicklerOptions(protocolVersion: proto)) else { continue }
                    let reloaded = try Unpickler.loads(pickled).root.description
                    // Protocols 4 and 5 express every node as it is; below, some forms change as in CPython.
                    if proto >= 4 { XCTAssertEqual(reloaded, original, "\(name), protocol \(proto)") }
                }
            }
        }
    }

    /// The options the fuzz targets choose by an input's first byte, as `FuzzInput` in
    /// Fuzz/Sources/FuzzSupport/FuzzInput.swift does (that package depends on this one, so the tests cannot
    /// import it): a failure found under tight limits must be replayed under them.
    static func options(selectedBy selector: UInt8) -> UnpicklerOptions {
        var options = UnpicklerOptions()
        options.encoding = StringEncoding.allCases[Int(selector & 3)]
        options.errors = DecodingErrorPolicy.allCases[Int(selector >> 2 & 3)]
        options.memoMode = selector & 0x10 != 0 ? .session : .perPickle
        if selector & 0x20 != 0 {
            options.limits.maxPayloadBytes = 1 << 12
            options.limits.maxIntegerBytes = 64
            options.limits.maxMemoEntries = 64
            options.limits.maxMemoIndex = 1 << 16
            options.limits.maxStackDepth = 256
            options.limits.maxNestingDepth = 16
            options.limits.maxDecodedBytes = 1 << 14
        }
        options.fixImports = selector & 0x40 == 0
        return options
    }
}
