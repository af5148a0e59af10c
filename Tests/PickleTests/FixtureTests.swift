import Foundation
import XCTest
@testable import Pickle

/// Every CPython fixture: decoded (whole, byte by byte, split everywhere), compared with CPython's repr,
/// re-encoded at its own protocol and compared byte for byte with CPython's output.
final class FixtureTests: XCTestCase {
    func testEveryFixtureDecodesTheSameWhateverTheChunking() {
        for fixture in Fixture.all {
            let outcome = Feeding.assertChunkingInvariant(fixture.bytes, everyOffsetLimit: 2048)
            XCTAssertNil(outcome.error, "\(fixture.file): \(String(describing: outcome.error))")
            XCTAssertEqual(outcome.reprs.count, 1, fixture.file)
        }
    }

    func testReprOfBuiltinFixturesEqualsCPythonRepr() throws {
        var compared = 0
        for fixture in Fixture.all where fixture.builtin_only && !fixture.cyclic {
            guard let expected = fixture.repr else { continue }
            let graph = try Unpickler.loads(fixture.bytes)
            XCTAssertEqual(graph.root.description, expected, fixture.file)
            compared += 1
        }
        XCTAssertGreaterThan(compared, 500)
    }

    func testReencodingAtTheSameProtocolIsByteIdenticalToCPython() throws {
        var identical = 0, different: [String] = []
        for fixture in Fixture.all {
            let bytes = fixture.bytes
            let graph = try Unpickler.loads(bytes)
            let again = try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: fixture.protocol))
            if again == bytes { identical += 1 } else { different.append(fixture.file) }
        }
        print("byte-identical re-encodings: \(identical) of \(Fixture.all.count)")
        if !different.isEmpty { print("differing: \(different.joined(separator: " "))") }
        XCTAssertEqual(different, [], "re-encodings that differ from CPython's bytes")
    }
}
