import Foundation
import XCTest
@testable import Pickle

/// The command-line tool, run as a user runs it: exit codes, one-line errors with offsets, streaming output,
/// and conversions that live CPython reads back.
final class PickleToolTests: XCTestCase {
    /// `pickletool`, built beside this test bundle by `swift build --build-tests`.
    private var tool: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pickletool")
    }

    private func runTool(_ arguments: [String], stdin: [UInt8]) throws -> (status: Int32, stdout: [UInt8], stderr: String) {
        let (status, out, err) = try Subprocess.run(tool, arguments, stdin: stdin)
        return (status, [UInt8](out), String(decoding: err, as: UTF8.self))
    }

    func testShowPrintsEveryObjectThenTheErrorWithItsOffset() throws {
        let stream = try [UInt8](Python.script("import pickle, sys; sys.stdout.buffer.write(pickle.dumps([1, 'a'], 2) + pickle.dumps({'k': b'v'}, 5))"))
        let ok = try runTool(["show", "-"], stdin: stream)
        XCTAssertEqual(ok.status, 0)
        XCTAssertEqual(String(decoding: ok.stdout, as: UTF8.self), "[1, 'a']\n{'k': b'v'}\n")
        let broken = try runTool(["show"], stdin: stream + [0x4B])
        XCTAssertNotEqual(broken.status, 0)
        XCTAssertEqual(String(decoding: broken.stdout, as: UTF8.self), "[1, 'a']\n{'k': b'v'}\n", "objects before the error are written")
        let lines = broken.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, broken.stderr)
        XCTAssertTrue(broken.stderr.contains("offset \(stream.count)") && broken.stderr.contains("truncated"), broken.stderr)
    }

    func testDecodeOptionsTakeAnyCPythonCodecAndErrorHandler() throws {
        // SHORT_BINSTRING of 'Привет' in KOI8-R, then STOP.
        let stream: [UInt8] = [0x55, 6, 0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4, 0x2E]
        let koi8 = try runTool(["show", "--encoding", "KOI8-R"], stdin: stream)
        XCTAssertEqual(koi8.status, 0, koi8.stderr)
        XCTAssertEqual(String(decoding: koi8.stdout, as: UTF8.self), "'Привет'\n")
        let escaped = try runTool(["show", "--errors", "backslashreplace"], stdin: stream)
        XCTAssertEqual(String(decoding: escaped.stdout, as: UTF8.self), "'\\\\xf0\\\\xd2\\\\xc9\\\\xd7\\\\xc5\\\\xd4'\n")
        let unknown = try runTool(["show", "--encoding", "klingon"], stdin: stream)
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("unknown encoding: klingon"), unknown.stderr)
        let strict = try runTool(["show"], stdin: stream)
        XCTAssertNotEqual(strict.status, 0)
        XCTAssertTrue(strict.stderr.contains("'ascii' codec can't decode byte 0xf0 in position 0"), strict.stderr)
    }

    func testDisMatchesPickletoolsForEveryPickleInTheStream() throws {
        let script = """
            import pickle, pickletools, io, sys
            parts = [pickle.dumps(x, p) for x, p in [([1, 2.5, 'x'], 0), ({'a': (True, None)}, 2), (b'\\x00' * 3, 5)]]
            data = b''.join(parts)
            out = io.StringIO(); f = io.BytesIO(data)
            for _ in parts: pickletools.dis(f, out)
            sys.stdout.write(data.hex() + '\\n' + out.getvalue())
            """
        let output = String(decoding: try Python.script(script), as: UTF8.self)
        let newline = output.firstIndex(of: "\n")!
        let hex = output[..<newline]
        let stream = stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
        let result = try runTool(["dis"], stdin: stream)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(String(decoding: result.stdout, as: UTF8.self), String(output[output.index(after: newline)...]))
    }

    /// `convert --session` keeps identity across pickles written by one CPython Pickler.
    func testConvertSessionKeepsSharedObjectsAcrossPickles() throws {
        let stream = try [UInt8](Python.script("""
            import pickle, io, sys
            f = io.BytesIO(); p = pickle.Pickler(f, 2); x = ['shared', {'n': 1}]
            p.dump(x); p.dump([x, x]); sys.stdout.buffer.write(f.getvalue())
            """))
        for version in [0, 2, 4, 5] {
            let converted = try runTool(["convert", "--session", "--protocol", String(version)], stdin: stream)
            XCTAssertEqual(converted.status, 0, converted.stderr)
            let check = try Python.run(["-c", """
                import pickle, sys, io
                u = pickle.Unpickler(io.BytesIO(sys.stdin.buffer.read()))
                a = u.load(); b = u.load()
                assert a == ['shared', {'n': 1}], a
                assert b[0] is a and b[1] is a, b
                print('ok')
                """], stdin: converted.stdout)
            XCTAssertEqual(check.stdout, "ok\n", "protocol \(version): \(check.stderr)")
        }
        // Without --session the second pickle's memo reference has nothing to refer to.
        let plain = try runTool(["convert"], stdin: stream)
        XCTAssertNotEqual(plain.status, 0)
        XCTAssertTrue(plain.stderr.contains("memo"), plain.stderr)
    }

    func testConvertWritesOnePicklePerInputAtTheRequestedProtocol() throws {
        let stream = try [UInt8](Python.script("import pickle, sys; sys.stdout.buffer.write(b''.join(pickle.dumps(v, 4) for v in [{1, 2}, 'é', 2**70]))"))
        let converted = try runTool(["convert", "--protocol", "0"], stdin: stream)
        XCTAssertEqual(converted.status, 0, converted.stderr)
        let expected = try [UInt8](Python.script("import pickle, sys; sys.stdout.buffer.write(b''.join(pickle.dumps(v, 0) for v in [{1, 2}, 'é', 2**70]))"))
        XCTAssertEqual(converted.stdout, expected)
        let bad = try runTool(["convert", "--protocol", "9"], stdin: stream)
        XCTAssertNotEqual(bad.status, 0)
    }

    /// `verify`: exit 0 and the count for an intact stream; for a damaged one, exit 1, the complete pickles
    /// before the damage, the offset and the reason; a truncated stream names where the unfinished pickle began.
    func testVerifyCountsCompletePicklesAndSaysWhereAndWhyAStreamIsDamaged() throws {
        let stream = try [UInt8](Python.script("import pickle, sys; sys.stdout.buffer.write(b''.join(pickle.dumps(v, p) for v, p in [([1, 2], 4), ('x', 2), ({'a': (1,)}, 5)]))"))
        let intact = try runTool(["verify"], stdin: stream)
        XCTAssertEqual(intact.status, 0, intact.stderr)
        XCTAssertEqual(String(decoding: intact.stdout, as: UTF8.self), "intact: 3 pickles, \(stream.count) bytes\n")
        let empty = try runTool(["verify", "-"], stdin: [])
        XCTAssertEqual(String(decoding: empty.stdout, as: UTF8.self), "intact: 0 pickles, 0 bytes\n")

        let secondEnd = try Unpickler.loadAll(stream).prefix(2).reduce(0) { total, graph in total + (try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: total == 0 ? 4 : 2))).count }
        for cut in [secondEnd + 1, stream.count - 1] {
            let torn = try runTool(["verify"], stdin: Array(stream[..<cut]))
            XCTAssertEqual(torn.status, 1)
            let report = String(decoding: torn.stdout, as: UTF8.self)
            XCTAssertTrue(report.hasPrefix("damaged: 2 complete pickles before the damage; at offset "), report)
            XCTAssertTrue(report.contains("the unfinished pickle began at offset \(secondEnd), after 2 complete pickles"), report)
        }
        var garbled = stream
        garbled[secondEnd + 11] = 0xFF  // the first opcode after PROTO and FRAME
        let damaged = try runTool(["verify"], stdin: garbled)
        XCTAssertEqual(damaged.status, 1)
        XCTAssertTrue(String(decoding: damaged.stdout, as: UTF8.self).hasPrefix("damaged: 2 complete pickles before the damage; at offset \(secondEnd + 11): invalid load key '\\xff': not an opcode"),
                      String(decoding: damaged.stdout, as: UTF8.self))
    }

    /// Every reading command takes zstd-compressed input as it takes plain; `convert --zstd` writes frames the
    /// CLI reads; `compress`/`decompress` agree with `zstd`.
    func testCommandsReadCompressedInputAndWriteIt() throws {
        let stream = try [UInt8](Python.script("import pickle, sys; sys.stdout.buffer.write(b''.join(pickle.dumps(v, p) for v, p in [([1, 'a'], 2), ({'k': b'v' * 500}, 4), ('z', 5)]))"))
        let compressed = try [UInt8](Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"), ["zstd", "-q", "-c"], stdin: stream).stdout)
        XCTAssertNotEqual(compressed, stream)
        for command in [["show"], ["dis"], ["convert", "--protocol", "2"], ["verify"]] {
            let plain = try runTool(command, stdin: stream)
            let fromZstd = try runTool(command, stdin: compressed)
            XCTAssertEqual(plain.status, 0, plain.stderr)
            XCTAssertEqual(fromZstd.status, 0, fromZstd.stderr)
            if command == ["verify"] {
                XCTAssertEqual(String(decoding: fromZstd.stdout, as: UTF8.self), "intact: 3 pickles, \(stream.count) bytes\n")
            } else {
                XCTAssertEqual(fromZstd.stdout, plain.stdout, "\(command)")
            }
        }
        let converted = try runTool(["convert", "--zstd", "--level", "9", "--protocol", "4"], stdin: stream)
        XCTAssertEqual(converted.status, 0, converted.stderr)
        let viaCLI = try [UInt8](Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"), ["zstd", "-dc"], stdin: converted.stdout).stdout)
        XCTAssertEqual(viaCLI, try runTool(["convert", "--protocol", "4"], stdin: stream).stdout)

        let ours = try runTool(["compress", "--level", "19"], stdin: stream)
        XCTAssertEqual(try [UInt8](Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"), ["zstd", "-dc"], stdin: ours.stdout).stdout), stream)
        XCTAssertEqual(try runTool(["decompress"], stdin: compressed + compressed).stdout, stream + stream)
        let truncated = try runTool(["verify"], stdin: Array(compressed.dropLast(2)))
        XCTAssertEqual(truncated.status, 1)
        XCTAssertTrue(String(decoding: truncated.stdout, as: UTF8.self).contains("truncated zstd frame"), String(decoding: truncated.stdout, as: UTF8.self))
    }
}
