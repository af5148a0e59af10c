import Foundation
import XCTest
@testable import Pickle

/// `PickleDecoder` against pickles CPython writes at test time: every strategy, Python's containers and
/// classes into Swift types, and hostile shapes (type confusion, cycles, fan-out, depth) as clear
/// `DecodingError`s.
final class PickleDecoderTests: XCTestCase {
    private func pickles(_ expression: String, protocols: ClosedRange<Int> = 0 ... 5, setup: String = "") throws -> [(Int, [UInt8])] {
        try Python.pickles(of: expression, protocols: protocols, setup: setup)
    }

    private func decodeEveryWay<T: Decodable & Equatable>(_ type: T.Type, _ bytes: [UInt8], _ decoder: PickleDecoder = PickleDecoder(),
                                                         file: StaticString = #filePath, line: UInt = #line) throws -> T {
        try decoder.decodeEveryWay(type, bytes, file: file, line: line)
    }

    struct Record: Decodable, Equatable {
        let id: Int
        let name: String
        let score: Double
        let nickname: String?
        let tags: [String]
        let limits: [String: Int]
        let active: Bool
    }

    func testDictRecordsDecodeIntoStructsAtEveryProtocol() throws {
        let expected = Record(id: 7, name: "ada", score: 2, nickname: nil, tags: ["a", "β"], limits: ["x": 1], active: true)
        for (p, bytes) in try pickles("{'id': 7, 'name': 'ada', 'score': 2, 'nickname': None, 'tags': ['a', 'β'], 'limits': {'x': 1}, 'active': True, 'extra': 1.5}") {
            XCTAssertEqual(try decodeEveryWay(Record.self, bytes), expected, "protocol \(p)")
        }
        let many = try pickles("[{'id': i, 'name': 'n%d' % i, 'score': i / 2, 'nickname': 'k' if i % 2 else None, 'tags': [], 'limits': {}, 'active': i % 3 == 0} for i in range(3000)]", protocols: 5 ... 5)
        let records = try PickleDecoder().decode([Record].self, from: many[0].1)
        XCTAssertEqual(records.count, 3000)
        XCTAssertEqual(records[2999], Record(id: 2999, name: "n2999", score: 1499.5, nickname: "k", tags: [], limits: [:], active: false))
    }

    struct Point: Decodable, Equatable { let x: Int; let y: [Int] }

    struct Optionals: Decodable, Equatable {
        let a: Int?, b: String?, c: Double?, d: Bool?, e: UInt8?
    }

    /// Keys are found whatever order they are asked for in (a lookup starts after the last match and wraps
    /// round); optional scalars are nil when missing or None; an object's state gathered from several
    /// operations takes the last value of a repeated key, as CPython's `__dict__` ends up.
    func testKeysAreFoundInAnyOrderAndOptionalsAreNilWhenMissingOrNone() throws {
        struct Reversed: Decodable, Equatable {
            let z: Int, y: String, x: Double
            enum CodingKeys: String, CodingKey { case z, y, x }
        }
        for (p, bytes) in try pickles("{'x': 1.5, 'y': 'why', 'z': 3}") {
            XCTAssertEqual(try decodeEveryWay(Reversed.self, bytes), Reversed(z: 3, y: "why", x: 1.5), "protocol \(p)")
        }
        for (p, bytes) in try pickles("[{'a': 1, 'b': 'x', 'c': 2, 'd': True, 'e': 255}, {'e': None, 'c': None, 'a': None}, {}]") {
            XCTAssertEqual(try decodeEveryWay([Optionals].self, bytes), [Optionals(a: 1, b: "x", c: 2, d: true, e: 255),
                                                                           Optionals(a: nil, b: nil, c: nil, d: nil, e: nil),
                                                                           Optionals(a: nil, b: nil, c: nil, d: nil, e: nil)], "protocol \(p)")
        }
        // A present value of the wrong type is an error, not nil.
        let wrong = try pickles("{'a': 'seven'}", protocols: 5 ... 5)[0].1
        XCTAssertThrowsError(try PickleDecoder().decode(Optionals.self, from: wrong)) { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["a"])
        }
        // A dict subclass whose items are set and whose state is then built: the later value of 'x' wins.
        let setup = """
        class Both(dict):
            def __reduce__(self): return (Both, (), {'x': 2, 'y': [5]}, None, iter([('x', 1)]))
        Both.__module__ = 'fixture_objects'; f.Both = Both
        """
        for (p, bytes) in try pickles("Both()", protocols: 2 ... 5, setup: setup) {
            XCTAssertEqual(try decodeEveryWay(Point.self, bytes), Point(x: 2, y: [5]), "protocol \(p)")
        }
    }

    func testClassInstancesDecodeFromTheirStateAtEveryProtocol() throws {
        let setup = """
        @dataclasses.dataclass
        class Point:
            x: int
            y: list
        Point.__module__ = 'fixture_objects'; f.Point = Point
        class Slotted:
            __slots__ = ('x', 'y')
            def __init__(self): self.x = 1; self.y = [2]
            def __getstate__(self): return (None, {'x': self.x, 'y': self.y})
        Slotted.__module__ = 'fixture_objects'; f.Slotted = Slotted
        """
        for (p, bytes) in try pickles("[Point(1, [2]), Slotted()]", setup: setup) {
            XCTAssertEqual(try decodeEveryWay([Point].self, bytes), [Point(x: 1, y: [2]), Point(x: 1, y: [2])], "protocol \(p)")
        }
        // A dict subclass's items (OrderedDict: REDUCE, then SETITEMS).
        for (p, bytes) in try pickles("collections.OrderedDict([('x', 3), ('y', [4])])") {
            XCTAssertEqual(try decodeEveryWay(Point.self, bytes), Point(x: 3, y: [4]), "protocol \(p)")
        }
    }

    func testSequencesSetsAndObjectsMadeOfItemsDecodeIntoArraysAndSets() throws {
        for (p, bytes) in try pickles("((1, 2), {3, 4}, frozenset({5}), collections.deque([6, 7]), [8])") {
            struct All: Decodable, Equatable { let a: [Int]; let b: Set<Int>; let c: Set<Int>; let d: [Int]; let e: [Int]
                init(from decoder: any Decoder) throws {
                    var c = try decoder.unkeyedContainer()
                    (a, b, self.c, d, e) = (try c.decode([Int].self), try c.decode(Set<Int>.self), try c.decode(Set<Int>.self), try c.decode([Int].self), try c.decode([Int].self))
                    XCTAssertTrue(c.isAtEnd)
                }
                init(a: [Int], b: Set<Int>, c: Set<Int>, d: [Int], e: [Int]) { (self.a, self.b, self.c, self.d, self.e) = (a, b, c, d, e) }
            }
            XCTAssertEqual(try decodeEveryWay(All.self, bytes), All(a: [1, 2], b: [3, 4], c: [5], d: [6, 7], e: [8]), "protocol \(p)")
        }
        // namedtuple: a call of the class with the fields as arguments.
        struct Pair: Decodable, Equatable { let a: Int; let b: String
            init(a: Int, b: String) { (self.a, self.b) = (a, b) }
            init(from decoder: any Decoder) throws { var c = try decoder.unkeyedContainer(); a = try c.decode(Int.self); b = try c.decode(String.self) }
        }
        for (p, bytes) in try pickles("f.Pair(1, 'x')", setup: "Pair = collections.namedtuple('Pair', 'a b', module='fixture_objects'); f.Pair = Pair") {
            XCTAssertEqual(try decodeEveryWay(Pair.self, bytes), Pair(a: 1, b: "x"), "protocol \(p)")
        }
    }

    enum Color: String, Decodable, CodingKeyRepresentable, Hashable { case red, green }
    struct TupleKey: Decodable, Hashable { let a: Int; let b: Int
        init(a: Int, b: Int) { (self.a, self.b) = (a, b) }
        init(from decoder: any Decoder) throws { var c = try decoder.unkeyedContainer(); a = try c.decode(Int.self); b = try c.decode(Int.self) }
    }

    func testDictKeysOfAnyHashableTypeDecode() throws {
        for (p, bytes) in try pickles("{1: 'one', -2: 'minus two', 2**40: 'big'}") {
            XCTAssertEqual(try decodeEveryWay([Int: String].self, bytes), [1: "one", -2: "minus two", 1 << 40: "big"], "protocol \(p)")
        }
        for (p, bytes) in try pickles("{'red': 1, 'green': 2}") {
            XCTAssertEqual(try decodeEveryWay([Color: Int].self, bytes), [.red: 1, .green: 2], "protocol \(p)")
        }
        for (p, bytes) in try pickles("{(1, 2): 'a', (3, 4): 'b'}") {
            XCTAssertEqual(try decodeEveryWay([TupleKey: String].self, bytes), [TupleKey(a: 1, b: 2): "a", TupleKey(a: 3, b: 4): "b"], "protocol \(p)")
        }
    }

    func testBytesDecodeIntoDataAndArraysAndLargeOnesStaySlicesOfTheInput() throws {
        struct Blob: Decodable, Equatable { let data: Data; let array: [UInt8]; let slice: PickleBytes }
        for (p, bytes) in try pickles("{'data': b'\\x00\\xff', 'array': bytearray(b'ab'), 'slice': b'xyz'}") {
            XCTAssertEqual(try decodeEveryWay(Blob.self, bytes), Blob(data: Data([0, 255]), array: [97, 98], slice: PickleBytes([120, 121, 122])), "protocol \(p)")
        }
        let large = try pickles("{'payload': bytes(range(256)) * 4096}", protocols: 5 ... 5)[0].1
        struct Large: Decodable { let payload: PickleBytes }
        let decoded = try PickleDecoder().decode(Large.self, from: large)
        XCTAssertEqual(decoded.payload.count, 1 << 20)
        large.withUnsafeBufferPointer { input in
            decoded.payload.slice.withUnsafeBufferPointer { payload in
                XCTAssertTrue(payload.baseAddress! >= input.baseAddress! && payload.baseAddress! < input.baseAddress! + input.count, "the payload is a slice of the input, not a copy")
            }
        }
        // Out-of-band buffers (protocol 5) into Data.
        let oob = try Python.script("import pickle, sys\nbufs = []\nd = pickle.dumps(pickle.PickleBuffer(b'oob!'), 5, buffer_callback=bufs.append)\nsys.stdout.buffer.write(d)")
        let graph = try Unpickler.loads([UInt8](oob), buffers: [OutOfBandBuffer(Array("oob!".utf8))])
        XCTAssertEqual(try PickleDecoder().decode(Data.self, from: graph), Data("oob!".utf8))
    }

    func testNumbersFollowTheStrategies() throws {
        let bytes = try pickles("[1, True, 0, 2**64 - 1, -2**63, 1.5]", protocols: 2 ... 2)[0].1
        XCTAssertEqual(try PickleDecoder().decode([Double].self, from: try pickles("[1, 2.5]", protocols: 2 ... 2)[0].1), [1.0, 2.5])
        let strict = PickleDecoder()
        XCTAssertThrowsError(try strict.decode([Int].self, from: bytes)) { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.intValue), [1])
            XCTAssertTrue(context.debugDescription.contains("bool"), context.debugDescription)
        }
        let python = PickleDecoder()
        python.boolDecodingStrategy = .pythonIntegers
        struct Mixed: Decodable, Equatable { let one: Int; let yes: Int; let no: Bool; let max: UInt64; let min: Int64; let half: Float
            init(from decoder: any Decoder) throws {
                var c = try decoder.unkeyedContainer()
                (one, yes, no, max, min, half) = (try c.decode(Int.self), try c.decode(Int.self), try c.decode(Bool.self), try c.decode(UInt64.self), try c.decode(Int64.self), try c.decode(Float.self))
            }
        }
        let mixed = try python.decode(Mixed.self, from: bytes)
        XCTAssertEqual([mixed.one, mixed.yes], [1, 1])
        XCTAssertEqual(mixed.no, false)
        XCTAssertEqual(mixed.max, .max)
        XCTAssertEqual(mixed.min, .min)
        XCTAssertEqual(mixed.half, 1.5)
        let noFloats = PickleDecoder()
        noFloats.decodesIntegersAsFloatingPoint = false
        XCTAssertThrowsError(try noFloats.decode(Double.self, from: try pickles("3", protocols: 2 ... 2)[0].1))
        XCTAssertThrowsError(try PickleDecoder().decode(Int8.self, from: try pickles("300", protocols: 2 ... 2)[0].1)) { error in
            XCTAssertTrue("\(error)".contains("does not fit in Int8"), "\(error)")
        }
    }

    func testKeyStrategiesConvertPythonNames() throws {
        struct User: Decodable, Equatable { let userId: Int; let displayName: String; let _private: Int }
        let bytes = try pickles("{'user_id': 1, 'display_name': 'x', '_private': 2}", protocols: 4 ... 4)[0].1
        let snake = PickleDecoder()
        snake.keyDecodingStrategy = .convertFromSnakeCase
        XCTAssertEqual(try snake.decode(User.self, from: bytes), User(userId: 1, displayName: "x", _private: 2))
        XCTAssertThrowsError(try PickleDecoder().decode(User.self, from: bytes)) { error in
            guard case DecodingError.keyNotFound(let key, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(key.stringValue, "userId")
        }
        let custom = PickleDecoder()
        custom.keyDecodingStrategy = .custom { path in AnyKey(stringValue: KeyConversion.fromSnakeCase(path.last!.stringValue)) }
        XCTAssertEqual(try custom.decode(User.self, from: bytes), User(userId: 1, displayName: "x", _private: 2))
        XCTAssertEqual(KeyConversion.fromSnakeCase("__a_b_c__"), "__aBC__")
    }

    func testEnumMembersDecodeByValue() throws {
        enum Level: Int, Decodable { case low = 1, high = 2 }
        enum Mood: String, Decodable { case happy, sad }
        let setup = "class Level(enum.IntEnum):\n    low = 1\n    high = 2\nclass Mood(enum.Enum):\n    happy = 'happy'\n    sad = 'sad'\nLevel.__module__ = Mood.__module__ = 'fixture_objects'; f.Level = Level; f.Mood = Mood"
        for (p, bytes) in try pickles("[f.Level.high, f.Mood.sad]", setup: setup) {
            struct Both: Decodable, Equatable { let level: Level; let mood: Mood
                init(level: Level, mood: Mood) { (self.level, self.mood) = (level, mood) }
                init(from decoder: any Decoder) throws { var c = try decoder.unkeyedContainer(); level = try c.decode(Level.self); mood = try c.decode(Mood.self) } }
            XCTAssertEqual(try decodeEveryWay(Both.self, bytes), Both(level: .high, mood: .sad), "protocol \(p)")
        }
    }

    func testPickleNodeFieldsKeepAnyValueUndecoded() throws {
        struct Envelope: Decodable { let kind: String; let body: PickleNode }
        let bytes = try pickles("{'kind': 'k', 'body': {'deep': [1, {2, 3}]}}", protocols: 5 ... 5)[0].1
        let envelope = try PickleDecoder().decode(Envelope.self, from: bytes)
        XCTAssertEqual(envelope.body.description, "{'deep': [1, {2, 3}]}")
        XCTAssertThrowsError(try JSONDecoder().decode(PickleNode.self, from: Data("1".utf8)))
    }

    func testErrorsNameThePathAndThePythonTypeFound() throws {
        let bytes = try pickles("{'id': 'seven', 'name': 'x', 'score': 1.0, 'nickname': None, 'tags': ['a', 3], 'limits': {}, 'active': True}", protocols: 5 ... 5)[0].1
        XCTAssertThrowsError(try PickleDecoder().decode(Record.self, from: bytes)) { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["id"])
            XCTAssertTrue(context.debugDescription.contains("a Python str, 'seven'"), context.debugDescription)
            // SHORT_BINUNICODE 'seven' is where the value is.
            let offset = bytes.indices.first { bytes[$0...].starts(with: [0x8C, 5] + Array("seven".utf8)) }!
            XCTAssertTrue(context.debugDescription.hasSuffix("(at byte offset \(offset) of the pickle)"), context.debugDescription)
        }
        struct Tags: Decodable { let tags: [String] }
        XCTAssertThrowsError(try PickleDecoder().decode(Tags.self, from: bytes)) { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["tags", "Index 1"])
            XCTAssertTrue(context.debugDescription.contains("a Python int"), context.debugDescription)
            // A small int has no node of its own: the list being decoded (its EMPTY_LIST after 'tags') is named.
            let key = bytes.indices.first { bytes[$0...].starts(with: Array("tags".utf8)) }!
            let list = bytes[key...].firstIndex(of: 0x5D)!
            XCTAssertTrue(context.debugDescription.hasSuffix("(in the list at byte offset \(list) of the pickle)"), context.debugDescription)
        }
        struct Name: Decodable { let nickname: String }
        XCTAssertThrowsError(try PickleDecoder().decode(Name.self, from: bytes)) { error in
            guard case DecodingError.valueNotFound(_, let context) = error else { return XCTFail("\(error)") }
            // PROTO and FRAME (11 bytes), then the dict's EMPTY_DICT.
            XCTAssertEqual(bytes[11], 0x7D)
            XCTAssertTrue(context.debugDescription.hasSuffix("(in the dict at byte offset 11 of the pickle)"), context.debugDescription)
        }
        // From a slice, offsets count from the slice's start; from a graph there are none to give.
        let padded = [0xAA, 0xBB] + bytes
        XCTAssertThrowsError(try PickleDecoder().decode(Name.self, from: padded[2...])) { error in
            XCTAssertTrue("\(error)".contains("(in the dict at byte offset 11 of the pickle)"), "\(error)")
        }
        XCTAssertThrowsError(try PickleDecoder().decode(Name.self, from: Unpickler.loads(bytes))) { error in
            XCTAssertFalse("\(error)".contains("byte offset"), "\(error)")
        }
        XCTAssertThrowsError(try PickleDecoder().decode([Int].self, from: try pickles("{'a': 1}", protocols: 5 ... 5)[0].1)) { error in
            guard case DecodingError.typeMismatch = error else { return XCTFail("\(error)") }
        }
    }

    indirect enum Tree: Decodable, Equatable {
        case leaf(Int)
        case node([Tree])
        init(from decoder: any Decoder) throws {
            if (try? decoder.unkeyedContainer()) != nil { self = .node(try [Tree](from: decoder)); return }
            self = .leaf(try decoder.singleValueContainer().decode(Int.self))
        }
    }

    func testCyclesFanOutAndDepthAreClearErrorsNotTraps() throws {
        // A list that contains itself.
        let cycle = try pickles("(lambda l: (l.append(l), l)[1])([1])", protocols: 2 ... 2)[0].1
        XCTAssertThrowsError(try PickleDecoder().decode(Tree.self, from: cycle)) { error in
            guard case DecodingError.dataCorrupted(let context) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(context.debugDescription.contains("contains itself"), context.debugDescription)
            XCTAssertEqual(context.codingPath.count, 1)
        }
        // A list holding one list twice, that one holding another twice, 60 levels: 2^60 values if expanded.
        let fanOut = try pickles("(lambda: [l := [1]] and [l := [l, l] for _ in range(60)] and l)()", protocols: 4 ... 4)[0].1
        XCTAssertLessThan(fanOut.count, 2000)
        XCTAssertThrowsError(try PickleDecoder().decode(Tree.self, from: fanOut)) { error in
            XCTAssertTrue("\(error)".contains("expand past"), "\(error)")
        }
        // Nested 600 deep: bounded by maxDepth before the recursion of Codable gets deep.
        let deep = try pickles("(lambda: [l := []] and [l := [l] for _ in range(600)] and l)()", protocols: 4 ... 4, setup: "import sys; sys.setrecursionlimit(10000)")[0].1
        XCTAssertThrowsError(try PickleDecoder().decode(Tree.self, from: deep)) { error in
            XCTAssertTrue("\(error)".contains("deeper than 512"), "\(error)")
        }
        // A huge container decodes (shared items are copied, within the budget).
        let wide = try pickles("[[1, 2]] * 200000", protocols: 4 ... 4)[0].1
        XCTAssertEqual(try PickleDecoder().decode([[Int]].self, from: wide).count, 200_000)
        // Type confusion: a global, a bytes object and an inert object where numbers or strings are expected.
        for (expression, type) in [("collections.OrderedDict", Int.self as any Decodable.Type), ("b'ab'", String.self), ("f.Plain()", [Int].self)] as [(String, any Decodable.Type)] {
            let bytes = try pickles(expression, protocols: 3 ... 3, setup: "class Plain: pass\nPlain.__module__ = 'fixture_objects'; f.Plain = Plain")[0].1
            XCTAssertThrowsError(try PickleDecoder().decode(type, from: bytes), expression) { error in
                XCTAssertTrue(error is DecodingError, "\(expression): \(error)")
            }
        }
    }
}
