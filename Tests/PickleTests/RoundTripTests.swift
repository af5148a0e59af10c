import Foundation
import XCTest
@testable import Pickle

/// Our encodings fed back to live CPython: every fixture object re-pickled at every protocol and reloaded by
/// `python3`, which compares it with the original object (values, sharing and cycles).
final class RoundTripTests: XCTestCase {
    func testCPythonRebuildsEveryFixtureFromOurEncodingAtEveryProtocol() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pickle-roundtrip-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Source: each catalog object's highest-protocol fixture.
        var source: [String: Fixture] = [:]
        for fixture in Fixture.all where (source[fixture.name]?.protocol ?? -1) < fixture.protocol { source[fixture.name] = fixture }
        var written = 0
        for (name, fixture) in source.sorted(by: { $0.key < $1.key }) {
            let graph = try Unpickler.loads(fixture.bytes)
            for version in 0 ... 5 {
                // CPython itself cannot pickle these at the protocol, so there is no expected object to compare.
                if !Fixture.all.contains(where: { $0.name == name && $0.protocol == version }) { continue }
                let bytes = try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: version))
                try Data(bytes).write(to: directory.appendingPathComponent("\(name).p\(version).pickle"))
                written += 1
            }
        }
        let result = try Python.run([TestPaths.oracle.path, "verify", TestPaths.fixtures.appendingPathComponent("manifest.json").path, directory.path])
        let failures = result.stdout.split(separator: "\n").filter { $0.contains("\"ok\": false") }
        for failure in failures.prefix(20) { print(failure) }
        print(result.stdout.split(separator: "\n").last ?? "")
        XCTAssertEqual(result.status, 0, "CPython could not rebuild \(failures.count) of \(written) encodings: \(result.stderr.suffix(2000))")
        XCTAssertGreaterThan(written, 1000)
    }

    /// A dict subclass whose state holds a list holding the object, pickled at protocol 0: CPython writes the
    /// object twice (the second time from a fresh state dict) and keeps the inner copy. Re-pickled at every
    /// protocol, the reader must build that copy from a complete state, not from the state still being
    /// written (found by the differential test: the object came back empty).
    func testReconstructorCycleThroughItsOwnStateSurvivesReencoding() throws {
        let make = "import pickle, sys, fixture_objects as f\nd = f.PlainDictSub(); l = [d]; d['k'] = l\nsys.stdout.buffer.write(pickle.dumps([{None: d}], 0))"
        let graph = try Unpickler.loads([UInt8](try Python.script(make)))
        for proto in 0 ... PicklerOptions.highestProtocol {
            let bytes = try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: proto))
            let check = "import pickle, sys, fixture_objects as f\nx = pickle.loads(sys.stdin.buffer.read())\nd = x[0][None]\nprint(type(d).__name__, list(d), d['k'][0] is d)"
            let (status, out, err) = try Python.run(["-c", check], stdin: bytes)
            XCTAssertEqual(status, 0, err)
            XCTAssertEqual(out, "PlainDictSub ['k'] True\n", "protocol \(proto)")
        }
    }

    /// p5 -> p0 -> p5 and p5 -> p1 -> p5 keep the re-encoding identical for every fixture, except that
    /// protocol 0, which has no APPENDS, writes an object's APPENDS of several items as one APPEND per item:
    /// read back, those are calls of one item each, and stay so.
    func testConversionBetweenProtocolsPreservesTheGraph() throws {
        func roundTrip(_ bytes: [UInt8], through version: Int) throws -> [UInt8] {
            let low = try Pickler.dumps(try Unpickler.loads(bytes), options: PicklerOptions(protocolVersion: version))
            return try Pickler.dumps(try Unpickler.loads(low), options: PicklerOptions(protocolVersion: 5))
        }
        var split = 0
        for fixture in Fixture.all where fixture.protocol == 5 {
            XCTAssertEqual(try roundTrip(fixture.bytes, through: 1), fixture.bytes, fixture.file)
            let graph = try Unpickler.loads(fixture.bytes)
            let groupsOfSeveral = (0 ..< graph.t.objects.count).contains { k in
                graph.t.objects[k].operations.contains { if case .extend(let items) = $0 { items.count > 1 } else { false } }
            }
            let back = try roundTrip(fixture.bytes, through: 0)
            if groupsOfSeveral {
                split += 1
                XCTAssertNotEqual(back, fixture.bytes, fixture.file)
                XCTAssertEqual(try roundTrip(back, through: 0), back, fixture.file)
            } else {
                XCTAssertEqual(back, fixture.bytes, fixture.file)
            }
        }
        XCTAssertGreaterThan(split, 0)
    }
}
