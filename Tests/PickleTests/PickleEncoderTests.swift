import Foundation
import XCTest
@testable import Pickle

/// `PickleEncoder` against CPython: the bytes CPython writes for the same Python value at every protocol,
/// loaded by CPython into the expected types; round trips through `PickleDecoder`; the streaming forms.
final class PickleEncoderTests: XCTestCase {
    struct Record: Codable, Equatable {
        var id: Int
        var name: String
        var score: Double
        var nickname: String?
        var tags: [String]
        var limits: [String: Int]
        var active: Bool
    }

    struct Point: Codable, Equatable, Hashable, PickleTupleRepresentable {
        var x: Int, y: Int
        init(x: Int, y: Int) { (self.x, self.y) = (x, y) }
        init(from decoder: any Decoder) throws {
            var items = try decoder.unkeyedContainer()
            (x, y) = (try items.decode(Int.self), try items.decode(Int.self))
        }
        func encode(to encoder: any Encoder) throws {
            var items = encoder.unkeyedContainer()
            try items.encode(x)
            try items.encode(y)
        }
    }

    /// CPython's `pickle.dumps` of the value of `expression`, its strings interned (one object per text, as
    /// the encoder writes them), at each protocol 0...5.
    private func cpythonPickles(_ expression: String) throws -> [[UInt8]] {
        let script = """
        import pickle, sys
        def share(v):
            if isinstance(v, str): return sys.intern(v)
            if isinstance(v, list): return [share(x) for x in v]
            if isinstance(v, tuple): return tuple(share(x) for x in v)
            if isinstance(v, dict): return {share(k): share(x) for k, x in v.items()}
            return v
        value = share(\(expression))
        for p in range(6):
            data = pickle.dumps(value, p)
            sys.stdout.buffer.write(len(data).to_bytes(8, 'little') + data)
        """
        let pieces = Python.lengthPrefixedPieces(try Python.script(script))
        guard pieces.count == 6 else { throw Python.Failure(description: "expected 6 pickles, got \(pieces.count)") }
        return pieces
    }

    private func assertCPythonLoads(_ bytes: [UInt8], as expression: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try Python.assertLoads(bytes, as: expression, file: file, line: line)
    }

    func testRecordsAreTheBytesCPythonWritesAtEveryProtocol() throws {
        let records = [
            Record(id: 1, name: "ada", score: 2.5, nickname: nil, tags: ["x", "β"], limits: ["cpu": 2], active: true),
            Record(id: -70000, name: "bob", score: -0.0, nickname: "b", tags: [], limits: [:], active: false),
        ]
        let python = """
        [{'id': 1, 'name': 'ada', 'score': 2.5, 'tags': ['x', 'β'], 'limits': {'cpu': 2}, 'active': True},
         {'id': -70000, 'name': 'bob', 'score': -0.0, 'nickname': 'b', 'tags': [], 'limits': {}, 'active': False}]
        """
        let expected = try cpythonPickles(python)
        for p in 0 ... 5 {
            let encoder = PickleEncoder()
            encoder.protocolVersion = p
            let bytes = try encoder.encode(records)
            XCTAssertEqual(bytes, expected[p], "protocol \(p)")
            try assertCPythonLoads(bytes, as: python)
            XCTAssertEqual(try PickleDecoder().decode([Record].self, from: bytes), records, "protocol \(p)")
        }
        // Equal strings are written once: many records repeat their keys through the memo.
        let many = (0 ..< 2000).map { Record(id: $0, name: "n\($0)", score: 1, nickname: nil, tags: [], limits: [:], active: true) }
        let bytes = try PickleEncoder().encode(many)
        let key = Array("limits".utf8)
        let occurrences = (0 ... bytes.count - key.count).filter { bytes[$0 ..< $0 + key.count].elementsEqual(key) }.count
        XCTAssertEqual(occurrences, 1)
        XCTAssertEqual(try PickleDecoder().decode([Record].self, from: bytes), many)
    }

    func testEverySwiftShapeBecomesTheExpectedPythonType() throws {
        struct All: Codable, Equatable {
            var tuple: PickleTuple<Int>
            var point: Point
            var set: Set<Int>
            var data: Data
            var array: [UInt8]
            var slice: PickleBytes
            var intKeys: [Int: String]
            var tupleKeys: [Point: Int]
            var big: UInt64
            var small: Int64
            var float: Float
            var nested: [[String?]]
        }
        let value = All(tuple: [1, 2], point: Point(x: 3, y: 4), set: [5], data: Data([0, 255]), array: [1, 2],
                        slice: PickleBytes([9]), intKeys: [7: "seven"], tupleKeys: [Point(x: 1, y: 2): 3],
                        big: .max, small: .min, float: 0.5, nested: [["a", nil], []])
        let python = """
        {'tuple': (1, 2), 'point': (3, 4), 'set': {5}, 'data': b'\\x00\\xff', 'array': b'\\x01\\x02', 'slice': b'\\x09',
         'intKeys': {7: 'seven'}, 'tupleKeys': {(1, 2): 3}, 'big': 2**64 - 1, 'small': -2**63, 'float': 0.5,
         'nested': [['a', None], []]}
        """
        let expected = try cpythonPickles(python)
        for p in 0 ... 5 {
            let encoder = PickleEncoder()
            encoder.protocolVersion = p
            let bytes = try encoder.encode(value)
            try assertCPythonLoads(bytes, as: python)
            XCTAssertEqual(bytes, expected[p], "protocol \(p)")
            XCTAssertEqual(try PickleDecoder().decode(All.self, from: bytes), value, "protocol \(p)")
        }
    }

    func testKeyStrategiesAndSortedDictionaries() throws {
        struct User: Codable, Equatable { var userID: Int; var displayName: String; var myURLValue: String }
        let encoder = PickleEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let bytes = try encoder.encode(User(userID: 1, displayName: "x", myURLValue: "u"))
        try assertCPythonLoads(bytes, as: "{'user_id': 1, 'display_name': 'x', 'my_url_value': 'u'}")
        let decoder = PickleDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        struct SnakeUser: Decodable, Equatable { var userId: Int; var displayName: String }
        XCTAssertEqual(try decoder.decode(SnakeUser.self, from: bytes), SnakeUser(userId: 1, displayName: "x"))

        let custom = PickleEncoder()
        custom.keyEncodingStrategy = .custom { path in AnyKey(stringValue: path.last!.stringValue.uppercased()) }
        try assertCPythonLoads(try custom.encode(User(userID: 1, displayName: "x", myURLValue: "u")),
                               as: "{'USERID': 1, 'DISPLAYNAME': 'x', 'MYURLVALUE': 'u'}")

        let sorted = PickleEncoder()
        sorted.sortsDictionaryKeys = true
        let dictionary = Dictionary(uniqueKeysWithValues: (0 ..< 50).map { ("k\($0)", $0) })
        let expected = try cpythonPickles("dict(sorted({'k%d' % i: i for i in range(50)}.items()))")
        XCTAssertEqual(try sorted.encode(dictionary), expected[5])
        XCTAssertEqual(try sorted.encode([3: "c", 1: "a", 2: "b"]), try cpythonPickles("{1: 'a', 2: 'b', 3: 'c'}")[5])
        // Dictionary keys are data, not coding keys: the key strategy leaves them alone.
        XCTAssertEqual(try PickleDecoder().decode([String: Int].self, from: try encoder.encode(["someKey": 1])), ["someKey": 1])
    }

    func testValuesPythonCannotHoldAreEncodingErrors() throws {
        XCTAssertThrowsError(try PickleEncoder().encode([[1]: "list key"])) { error in
            guard case EncodingError.invalidValue(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(context.debugDescription.contains("unhashable type: 'list'"), context.debugDescription)
        }
        XCTAssertThrowsError(try PickleEncoder().encode(Set([[1: 2]]))) { error in
            guard case EncodingError.invalidValue(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(context.debugDescription.contains("unhashable type: 'dict'"), context.debugDescription)
        }
        let encoder = PickleEncoder()
        encoder.protocolVersion = 6
        XCTAssertThrowsError(try encoder.encode(1)) { error in XCTAssertTrue(error is PickleError, "\(error)") }
    }

    func testNodesAreWrittenAsTheValuesTheyHold() throws {
        struct Envelope: Codable { var kind: String; var body: PickleNode }
        let original = try Python.script("import pickle, sys\nsys.stdout.buffer.write(pickle.dumps({'kind': 'k', 'body': [1, (2, 3), {'a': None}]}, 5))")
        let envelope = try PickleDecoder().decode(Envelope.self, from: [UInt8](original))
        let rewritten = try PickleEncoder().encode(envelope)
        try assertCPythonLoads(rewritten, as: "{'kind': 'k', 'body': [1, (2, 3), {'a': None}]}")
        XCTAssertThrowsError(try JSONEncoder().encode(envelope))
    }

    func testTypedStreamsOneLineEachWay() async throws {
        let records = (0 ..< 300).map { Record(id: $0, name: "r\($0)", score: Double($0) / 4, nickname: $0 % 2 == 0 ? nil : "o",
                                               tags: ["t"], limits: ["n": $0], active: $0 % 3 == 0) }
        for mode in [StreamingPickler<MemorySink>.RecordMode.independent, .sharedMemo] {
            var pickler = try StreamingPickler(sink: MemorySink(), options: PicklerOptions(protocolVersion: 5), records: mode)
            for record in records { try pickler.dump(encodable: record) }
            try pickler.flush()
            let bytes = pickler.sink.chunks.flatMap { $0 }
            var options = UnpicklerOptions()
            if mode == .sharedMemo { options.memoMode = .session }
            for split in [1, 7, bytes.count] {
                let chunks = stride(from: 0, to: bytes.count, by: split).map { Array(bytes[$0 ..< min($0 + split, bytes.count)]) }
                var decoded: [Record] = []
                for try await record in StreamingUnpickler(StreamTesting.sequence(chunks), options: options).decoded(as: Record.self) {
                    decoded.append(record)
                }
                XCTAssertEqual(decoded, records, "\(mode), chunks of \(split)")
            }
        }
        // A record that does not decode ends the sequence with its error, after the ones before it.
        var pickler = try StreamingPickler(sink: MemorySink(), records: .independent)
        try pickler.dump(encodable: records[0])
        try pickler.dump(encodable: ["id": "not a number"])
        try pickler.flush()
        var decoded: [Record] = []
        do {
            for try await record in StreamingUnpickler(StreamTesting.sequence([pickler.sink.chunks.flatMap { $0 }])).decoded(as: Record.self) {
                decoded.append(record)
            }
            XCTFail("no error")
        } catch let error as DecodingError {
            guard case .typeMismatch = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(decoded, [records[0]])
    }
}
