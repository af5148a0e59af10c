import Foundation
import XCTest
@testable import Pickle

/// Paths and helpers shared by the test cases.
enum TestPaths {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let fixtures = testsDirectory.appendingPathComponent("Fixtures")
    static let repoRoot = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()
    static let oracle = repoRoot.appendingPathComponent("Tests/Fixtures/oracle.py")
}

/// One CPython-generated fixture from manifest.json.
struct Fixture: Decodable {
    let name: String
    let `protocol`: Int
    let file: String
    let repr: String?
    let dis: String?
    let builtin_only: Bool
    let cyclic: Bool

    var bytes: [UInt8] { [UInt8](try! Data(contentsOf: TestPaths.fixtures.appendingPathComponent(file))) }

    static let all: [Fixture] = {
        let data = try! Data(contentsOf: TestPaths.fixtures.appendingPathComponent("manifest.json"))
        return try! JSONDecoder().decode([Fixture].self, from: data)
    }()
}

/// One hostile input from hostile/manifest.json, with what CPython 3.11 said about it.
struct HostileCase: Decodable {
    let name: String
    let file: String
    let cpython_error: String
    var bytes: [UInt8] { [UInt8](try! Data(contentsOf: TestPaths.fixtures.appendingPathComponent("hostile").appendingPathComponent(file))) }

    static let all: [HostileCase] = {
        let data = try! Data(contentsOf: TestPaths.fixtures.appendingPathComponent("hostile/manifest.json"))
        return try! JSONDecoder().decode([HostileCase].self, from: data)
    }()
}

/// The outcome of feeding a stream: the pickles completed and the error, if any.
struct FeedOutcome: Equatable {
    var reprs: [String]
    var error: PickleError?
    var errorOffset: Int?

    static func == (a: FeedOutcome, b: FeedOutcome) -> Bool {
        a.reprs == b.reprs && a.error?.code == b.error?.code && a.errorOffset == b.errorOffset
    }
}

enum Feeding {
    /// Feeds `bytes` in the given chunks, then finishes; collects every pickle and the error.
    static func run(_ bytes: [UInt8], chunks boundaries: [Int], options: UnpicklerOptions = UnpicklerOptions(),
                    buffers: [OutOfBandBuffer]? = nil) -> (graphs: [PickleGraph], error: PickleError?) {
        var parser = PickleParser(options: options, buffers: buffers)
        var out: [PickleGraph] = []
        var start = 0
        do {
            for end in boundaries + [bytes.count] where end >= start {
                try parser.feed(bytes[start ..< end], into: &out)
                start = end
            }
            try parser.finish()
            return (out, nil)
        } catch let error as PickleError {
            return (out, error)
        } catch {
            XCTFail("unexpected error type \(error)")
            return (out, nil)
        }
    }

    static func outcome(_ bytes: [UInt8], chunks: [Int], options: UnpicklerOptions = UnpicklerOptions(),
                        buffers: [OutOfBandBuffer]? = nil, describe: Bool = false) -> FeedOutcome {
        let (graphs, error) = run(bytes, chunks: chunks, options: options, buffers: buffers)
        let texts = graphs.map { describe ? $0.root.description : fingerprint($0) }
        return FeedOutcome(reprs: texts, error: error, errorOffset: error?.offset)
    }

    /// A structural summary of a graph's arena: equal for equal decodings, cheap to compute.
    static func fingerprint(_ g: PickleGraph) -> String {
        let t = g.t
        var h = Hasher()
        h.combine(g.rootRef)
        for n in t.nodes { h.combine(n.kind.rawValue); h.combine(n.a); h.combine(n.b); h.combine(n.external); h.combine(n.readonly) }
        func combine<E: Hashable>(_ buffer: FlatBuffer<E>) {
            h.combine(buffer.count)
            for element in buffer { h.combine(element) }
        }
        combine(t.heap)
        for s in t.slices { h.combine(s.count); s.withUnsafeBytes { h.combine(bytes: $0) } }
        combine(t.tupleItems)
        combine(t.listItems)
        h.combine(t.sequences.count)
        t.sequences.forEach(combine)
        combine(t.dictItems)
        h.combine(t.dicts.count)
        t.dicts.forEach(combine)
        h.combine(t.globals)
        h.combine(t.objects.count)
        for o in t.objects { h.combine(o.constructor); h.combine(o.operations) }
        return "\(t.nodes.count):\(h.finalize())"
    }

    /// Whole, one byte at a time, and split in two at every offset (every offset up to `everyOffsetLimit`
    /// bytes; above it a sample: the first and last `sampledEnds` offsets and `sampledMiddle` spread between,
    /// because every offset of a large input is quadratic), each compared with the whole-buffer outcome.
    /// - Parameters:
    ///   - buffers: the out-of-band buffers of a protocol 5 pickle, given to every parse.
    ///   - context: names the input in failure messages (a test that checks many inputs in one loop).
    static func assertChunkingInvariant(_ bytes: [UInt8], options: UnpicklerOptions = UnpicklerOptions(),
                                        buffers: [OutOfBandBuffer]? = nil, context: String = "",
                                        everyOffsetLimit: Int = 4096, sampledEnds: Int = 40, sampledMiddle: Int = 60,
                                        file: StaticString = #filePath, line: UInt = #line) -> FeedOutcome {
        let prefix = context.isEmpty ? "" : context + ": "
        let whole = outcome(bytes, chunks: [], options: options, buffers: buffers)
        XCTAssertEqual(outcome(bytes, chunks: [], options: options, buffers: buffers, describe: true).reprs.count, whole.reprs.count,
                       "\(prefix)describing the pickles changed their number", file: file, line: line)
        let byteByByte = outcome(bytes, chunks: Array(0 ..< bytes.count), options: options, buffers: buffers)
        XCTAssertEqual(byteByByte, whole, "\(prefix)one byte at a time differs from whole", file: file, line: line)
        var offsets: [Int]
        if bytes.count <= everyOffsetLimit {
            offsets = Array(0 ... bytes.count)
        } else {
            offsets = Array(0 ..< sampledEnds) + Array((bytes.count - sampledEnds) ... bytes.count)
            offsets += stride(from: sampledEnds, to: bytes.count - sampledEnds, by: max(1, (bytes.count - 2 * sampledEnds) / max(1, sampledMiddle)))
        }
        for split in offsets {
            let parts = outcome(bytes, chunks: [split], options: options, buffers: buffers)
            if parts != whole {
                XCTFail("\(prefix)split at \(split) differs from whole: \(parts) vs \(whole)", file: file, line: line)
                break
            }
        }
        return whole
    }
}

/// Runs python3 (CPython 3.11, the oracle) with the fixtures directory on PYTHONPATH. Standard input and
/// output go through temporary files, so no amount of output can deadlock a pipe.
enum Python {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    @discardableResult
    static func run(_ arguments: [String], stdin: [UInt8] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        let (status, out, err) = try runRaw(arguments, stdin: stdin)
        return (status, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    /// Runs `python3 -c script arguments...` and returns its standard output; a non-zero exit fails the test.
    static func script(_ script: String, _ arguments: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> Data {
        let (status, out, err) = try runRaw(["-c", script] + arguments, stdin: [])
        guard status == 0 else {
            let message = "python3 exited with status \(status): \(String(decoding: err, as: UTF8.self).suffix(2000))"
            XCTFail(message, file: file, line: line)
            throw Failure(description: message)
        }
        return out
    }

    /// The pieces of a script's output written as `len(piece).to_bytes(8, 'little') + piece`, in order.
    static func lengthPrefixedPieces(_ output: Data) -> [[UInt8]] {
        var data = [UInt8](output)[...]
        var pieces: [[UInt8]] = []
        while data.count >= 8 {
            let count = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            pieces.append(Array(data.dropFirst(8).prefix(count)))
            data = data.dropFirst(8 + count)
        }
        return pieces
    }

    private static func runRaw(_ arguments: [String], stdin: [UInt8]) throws -> (Int32, Data, Data) {
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = TestPaths.repoRoot.appendingPathComponent("Tests/Fixtures").path
        do {
            return try Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + arguments, stdin: stdin, environment: environment)
        } catch {
            throw Failure(description: "python3 (CPython 3.11, the oracle) must be installed: \(error)")
        }
    }
}

/// Runs a program with standard input and output through temporary files, so no amount of output can
/// deadlock a pipe.
enum Subprocess {
    static func run(_ executable: URL, _ arguments: [String], stdin: [UInt8],
                    environment: [String: String]? = nil) throws -> (status: Int32, stdout: Data, stderr: Data) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pickle-python-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inURL = directory.appendingPathComponent("in"), outURL = directory.appendingPathComponent("out"),
            errURL = directory.appendingPathComponent("err")
        try Data(stdin).write(to: inURL)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = try FileHandle(forReadingFrom: inURL)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, try Data(contentsOf: outURL), try Data(contentsOf: errURL))
    }
}

/// Bytes from hexadecimal text (either case); other characters are skipped.
enum Hex {
    static func bytes(_ text: some StringProtocol) -> [UInt8] {
        var out: [UInt8] = []
        var high: UInt8?
        for c in text.utf8 {
            guard let v = TextNumbers.hexValue(c) else { continue }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }
}

extension Python {
    /// `pickle.dumps(<expression>, protocol)` by CPython, for each protocol given. The expression may use
    /// the modules imported here and fixture_objects' classes; `setup` runs first.
    static func pickles(of expression: String, protocols: ClosedRange<Int> = 0 ... 5, setup: String = "") throws -> [(Int, [UInt8])] {
        let script = """
        import pickle, sys, collections, dataclasses, enum, datetime, decimal, uuid, fractions, pathlib, ipaddress, zoneinfo
        import fixture_objects as f
        \(setup)
        value = \(expression)
        out = sys.stdout.buffer
        for p in range(\(protocols.lowerBound), \(protocols.upperBound + 1)):
            data = pickle.dumps(value, p)
            out.write(len(data).to_bytes(8, 'little') + data)
        """
        let pieces = lengthPrefixedPieces(try Python.script(script))
        guard pieces.count == protocols.count else { throw Failure(description: "expected \(protocols.count) pickles, got \(pieces.count)") }
        return Array(zip(protocols, pieces))
    }
}

extension PickleDecoder {
    /// Decodes `bytes` fed whole, one byte at a time and split at every offset: each graph decodes equal.
    func decodeEveryWay<T: Decodable & Equatable>(_ type: T.Type, _ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> T {
        let whole = try decode(type, from: bytes)
        _ = Feeding.assertChunkingInvariant(bytes, file: file, line: line)
        for chunks in [Array(0 ..< bytes.count), [bytes.count / 2]] {
            let (graphs, error) = Feeding.run(bytes, chunks: chunks)
            XCTAssertNil(error, file: file, line: line)
            XCTAssertEqual(try decode(type, from: graphs[0]), whole, file: file, line: line)
        }
        return whole
    }
}

extension Python {
    /// Whether CPython loads `bytes` into a value equal to `expression`'s, with the same type at every level
    /// (`True` is not `1`, a tuple not a list, a datetime not a date); the mismatch, if any, in the failure
    /// message. The standard library's value modules are imported for the expression; `setup` runs first.
    static func assertLoads(_ bytes: [UInt8], as expression: String, setup: String = "", file: StaticString = #filePath, line: UInt = #line) throws {
        let script = """
        import pickle, sys, datetime, decimal, uuid, fractions, pathlib, ipaddress, zoneinfo, collections
        \(setup)
        def shape(v):
            if isinstance(v, (list, tuple)): return (type(v).__name__, [shape(x) for x in v])
            if isinstance(v, (set, frozenset)): return (type(v).__name__, sorted(map(repr, v)))
            if isinstance(v, dict): return ('dict', [(shape(k), shape(x)) for k, x in v.items()])
            return (type(v).__name__, v)
        loaded = pickle.loads(sys.stdin.buffer.read())
        expected = \(expression)
        if shape(loaded) != shape(expected):
            print('loaded', repr(loaded), 'expected', repr(expected)); sys.exit(1)
        """
        let result = try run(["-c", script], stdin: bytes)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr, file: file, line: line)
    }
}
