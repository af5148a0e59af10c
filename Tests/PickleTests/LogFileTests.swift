import Foundation
import XCTest
@testable import Pickle

#if canImport(Glibc)
import Glibc
#endif

/// Logs of many objects in one file: appends across restarts in both record modes, read back by CPython the
/// way each mode needs, and torn tails cut at every offset of the last record.
final class LogFileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pickle-logs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func records(_ first: Int, _ count: Int) -> [PickleValue] {
        (first ..< first + count).map { k in
            .dict([.init(.string("id"), .int(k)), .init(.string("name"), .string("record \(k)")),
                   .init(.string("tags"), .list([.string("a"), .string("a")]))])
        }
    }

    private func expectedReprs(_ count: Int) -> [String] {
        (0 ..< count).map { "{'id': \($0), 'name': 'record \($0)', 'tags': ['a', 'a']}" }
    }

    /// Three processes' worth of appends (each a fresh pickler on the reopened file); CPython reads the
    /// independent log with repeated `pickle.load(f)` and the shared-memo log with one Unpickler's repeated
    /// `load()`.
    func testAppendsAcrossRestartsInBothModesReadByCPython() throws {
        for (mode, reader) in [(StreamingPickler<AppendingFileSink>.RecordMode.independent, "load(f)"),
                               (.sharedMemo, "u.load()")] {
            for proto in [2, 4, 5] {
                let path = directory.appendingPathComponent("log-\(mode)-\(proto).pickle").path
                var written = 0, nextID = 0
                for (run, count) in [3, 1, 4].enumerated() {
                    var log = try StreamingPickler(appendingTo: path, options: PicklerOptions(protocolVersion: proto), records: mode)
                    XCTAssertEqual(log.sink.recovery.completeRecords, written, "run \(run)")
                    XCTAssertNil(log.sink.recovery.tornTail)
                    // The same list object twice in one session: a memo reference across records.
                    let shared = PickleGraph(.list([.string("again")]))
                    for value in records(nextID, count) { try log.dump(value) }
                    nextID += count
                    if mode == .sharedMemo { try log.dump(shared); try log.dump(shared) }
                    try log.flush()
                    try log.sink.close()
                    written += count + (mode == .sharedMemo ? 2 : 0)
                }
                let printed = try Python.script("""
                    import pickle, sys
                    out = []
                    with open(sys.argv[1], 'rb') as f:
                        u = pickle.Unpickler(f); load = pickle.load
                        while True:
                            try: out.append(repr(\(reader)))
                            except EOFError: break
                    print('\\n'.join(out))
                    """, [path])
                var expected: [String] = []
                var k = 0
                for count in [3, 1, 4] {
                    expected += (k ..< k + count).map { "{'id': \($0), 'name': 'record \($0)', 'tags': ['a', 'a']}" }
                    if mode == .sharedMemo { expected += ["['again']", "['again']"] }
                    k += count
                }
                XCTAssertEqual(String(decoding: printed, as: UTF8.self).split(separator: "\n").map(String.init), expected, "\(mode) protocol \(proto)")
            }
        }
    }

    /// The file is cut at every offset inside its last record (a writer killed mid-append): readers deliver
    /// every complete record and report the tear and where it began; the next append cuts the tear first, so
    /// CPython then reads every complete record plus the new one.
    func testATornTailLosesOnlyTheUnfinishedRecordAndTheNextAppendRepairsIt() async throws {
        for mode in [StreamingPickler<AppendingFileSink>.RecordMode.independent, .sharedMemo] {
            let intact = directory.appendingPathComponent("intact-\(mode).pickle").path
            var log = try StreamingPickler(appendingTo: intact, records: mode)
            var ends: [Int] = []
            for value in records(0, 4) {
                try log.dump(value)
                try log.flush()
                ends.append(log.byteCount)
            }
            try log.sink.close()
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: intact)))
            XCTAssertEqual(bytes.count, ends[3])
            var options = UnpicklerOptions()
            options.memoMode = mode == .sharedMemo ? .session : .perPickle

            var repaired: [String] = []
            for cut in ends[2] + 1 ..< ends[3] {
                let torn = Array(bytes[..<cut])
                // Readers: three records, then the tear with the offset where the fourth began.
                for chunking in [[torn], torn.map { [$0] }] {
                    let result = try await StreamTesting.decode(chunking, options: options)
                    XCTAssertEqual(result.graphs.map(\.root.description), expectedReprs(3), "cut at \(cut)")
                    let error = try XCTUnwrap(result.error as? PickleError, "cut at \(cut)")
                    XCTAssertTrue(error.message.contains("began at offset \(ends[2])"), error.message)
                }
                // The next append repairs, then adds its record after the complete ones.
                let path = directory.appendingPathComponent("torn-\(mode)-\(cut).pickle").path
                try Data(torn).write(to: URL(fileURLWithPath: path))
                var appender = try StreamingPickler(appendingTo: path, records: mode)
                let recovery = appender.sink.recovery
                XCTAssertEqual(recovery.completeRecords, 3)
                XCTAssertEqual(recovery.validLength, ends[2])
                XCTAssertEqual(recovery.removedByteCount, cut - ends[2])
                XCTAssertEqual(recovery.tornTail?.offset, ends[2])
                try appender.dump(.string("after repair"))
                try appender.flush()
                try appender.sink.close()
                repaired.append(path)
            }
            let reader = mode == .sharedMemo ? "u.load()" : "pickle.load(f)"
            let printed = try Python.script("""
                import pickle, sys
                for path in sys.argv[1:]:
                    out = []
                    with open(path, 'rb') as f:
                        u = pickle.Unpickler(f)
                        while True:
                            try: out.append(repr(\(reader)))
                            except EOFError: break
                    print(' | '.join(out))
                """, repaired)
            let lines = String(decoding: printed, as: UTF8.self).split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.count, repaired.count)
            let expected = (expectedReprs(3) + ["'after repair'"]).joined(separator: " | ")
            for (line, path) in zip(lines, repaired) { XCTAssertEqual(line, expected, path) }
        }
    }

    /// Damage before the tail is not a tear: appending is refused and the file is left as it was.
    func testDamageBeforeTheTailIsRefusedAndNothingChanges() throws {
        let path = directory.appendingPathComponent("damaged.pickle").path
        var log = try StreamingPickler(appendingTo: path, records: .independent)
        for value in records(0, 3) { try log.dump(value) }
        try log.flush()
        try log.sink.close()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] = 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try StreamingPickler(appendingTo: path, records: .independent)) {
            let error = $0 as? PickleError
            XCTAssertNotNil(error)
            XCTAssertTrue(error?.message.contains("left unchanged") ?? false, "\($0)")
        }
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), bytes)
    }
}
