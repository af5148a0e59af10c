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

    // MARK: - Streams of many small pickles

    /// The objects of the stream tests: small pickles at several protocols, with text that takes the
    /// direct repr (ASCII, quotes, escapes) and text and objects that take the general one.
    private func smallPickleStream(count: Int = 60) throws -> [UInt8] {
        try [UInt8](Python.script("""
            import pickle, sys, collections
            values = [{'id': i, 'name': f'user{i}', 'score': i * 0.5, 'tags': ['a', "b'", 'c"\\'\\\\\\n']} for i in range(\(count))]
            values += [(1,), (), frozenset(), {3}, b'\\x00\\'"', bytearray(b'x'), 'é\\u2028', 2**70, -7, 1e300,
                       collections.OrderedDict(a=1), [[[]]], None, True]
            sys.stdout.buffer.write(b''.join(pickle.dumps(v, i % 6) for i, v in enumerate(values)))
            """))
    }

    /// Runs the tool with standard input written by a Python feeder in pieces of `piece` bytes, pausing
    /// after each, so the tool reads the input as it arrives in those pieces.
    private func runToolFed(_ arguments: [String], stdin: [UInt8], piece: Int) throws -> (status: Int32, stdout: [UInt8], stderr: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pickletool-fed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("input")
        try Data(stdin).write(to: input)
        let feeder = directory.appendingPathComponent("feed.py")
        try Data("""
            import sys, time
            data = open(sys.argv[1], 'rb').read()
            for i in range(0, len(data), \(piece)):
                sys.stdout.buffer.write(data[i:i + \(piece)]); sys.stdout.flush(); time.sleep(0.0002)
            """.utf8).write(to: feeder)
        let command = "python3 \(feeder.path) \(input.path) | \(tool.path) \(arguments.joined(separator: " "))"
        let (status, out, err) = try Subprocess.run(URL(fileURLWithPath: "/bin/sh"), ["-c", command], stdin: [])
        return (status, [UInt8](out), String(decoding: err, as: UTF8.self))
    }

    /// `show`, `dis`, `convert` and `convert --zstd` print the same bytes whether the input arrives whole (a file),
    /// through a pipe one byte at a time, or in odd pieces; and `show` prints what CPython's repr prints.
    func testStreamOutputIsTheSameWhateverTheInputChunking() throws {
        let stream = try smallPickleStream()
        let expectedShow = try [UInt8](Python.script("""
            import pickle, sys, io
            f = io.BytesIO(sys.stdin.buffer.read()); out = []
            while f.tell() < len(f.getbuffer()): out.append(repr(pickle.load(f)))
            sys.stdout.write('\\n'.join(out) + '\\n')
            """.replacingOccurrences(of: "sys.stdin.buffer.read()", with: "bytes.fromhex('\(stream.map { String(format: "%02x", $0) }.joined())')")))
        for command in [["show"], ["dis"], ["convert", "--protocol", "2"], ["convert", "--zstd"]] {
            let whole = try runTool(command, stdin: stream)
            XCTAssertEqual(whole.status, 0, whole.stderr)
            if command == ["show"] { XCTAssertEqual(String(decoding: whole.stdout, as: UTF8.self), String(decoding: expectedShow, as: UTF8.self)) }
            for piece in [1, 7, 4093] {
                let fed = try runToolFed(command, stdin: stream, piece: piece)
                XCTAssertEqual(fed.status, 0, fed.stderr)
                if command == ["convert", "--zstd"] {
                    // Frames end at different places; the content is the same.
                    let a = try runTool(["decompress"], stdin: fed.stdout).stdout, b = try runTool(["decompress"], stdin: whole.stdout).stdout
                    XCTAssertEqual(a, b, "\(command) in pieces of \(piece)")
                } else {
                    XCTAssertEqual(fed.stdout, whole.stdout, "\(command) in pieces of \(piece)")
                }
            }
        }
    }

    /// Feeding a pipe one pickle at a time, each object's output can be read before the next pickle is
    /// written: the tool flushes before it waits for more input (`convert --zstd` ends a frame there). `dis`
    /// prints each opcode once its bytes are in, so half a pickle shows its first lines.
    func testEachObjectsOutputIsFlushedBeforeTheToolWaitsForInput() throws {
        let pickles = try (0 ..< 3).map { i in try [UInt8](Python.script("import pickle, sys; sys.stdout.buffer.write(pickle.dumps({'n': \(i)}, 4))")) }
        for command in [["show"], ["dis"], ["convert", "--protocol", "4"], ["convert", "--zstd"]] {
            let process = Process()
            process.executableURL = tool
            process.arguments = command
            let input = Pipe(), output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            let fd = output.fileHandleForReading.fileDescriptor
            for (i, pickle) in pickles.enumerated() {
                input.fileHandleForWriting.write(Data(pickle))
                var received: [UInt8] = []
                var complete = false
                let deadline = Date().addingTimeInterval(20)
                while !complete && Date() < deadline {
                    var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    guard poll(&ready, 1, 200) == 1 else { continue }
                    var buffer = [UInt8](repeating: 0, count: 65536)
                    let n = read(fd, &buffer, buffer.count)
                    if n <= 0 { break }
                    received += buffer[..<n]
                    switch command.count == 1 ? command[0] : command.count == 2 ? "zstd" : "convert" {
                    case "show": complete = received.last == 0x0A
                    case "dis": complete = String(decoding: received, as: UTF8.self).hasSuffix("highest protocol among opcodes = 4\n")
                    case "convert": complete = received.last == 0x2E  // STOP
                    default: complete = (try? runTool(["decompress"], stdin: received))?.stdout.last == 0x2E
                    }
                }
                XCTAssertTrue(complete, "\(command): object \(i)'s output had not arrived while the tool waited for input (\(received))")
                if command == ["show"] { XCTAssertEqual(String(decoding: received, as: UTF8.self), "{'n': \(i)}\n") }
            }
            input.fileHandleForWriting.closeFile()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "\(command)")
        }
    }

    /// A reader that stops reading (`| head`) ends `show` and `convert` quietly: exit status 0, nothing on
    /// standard error.
    func testClosedStandardOutputEndsTheToolQuietly() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pickletool-epipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("input").path
        _ = try Python.script("import pickle, sys; open(sys.argv[1], 'wb').write(b''.join(pickle.dumps({'id': i, 'tags': ['a'] * 5}, 4) for i in range(200000)))", [input])
        for command in ["show", "dis", "convert", "convert --zstd --level 1"] {
            let script = "\(tool.path) \(command) \(input) 2> \(directory.path)/err | head -c 100 > /dev/null; echo ${PIPESTATUS[0]}; cat \(directory.path)/err"
            let (_, out, _) = try Subprocess.run(URL(fileURLWithPath: "/bin/bash"), ["-c", script], stdin: [])
            XCTAssertEqual(String(decoding: out, as: UTF8.self), "0\n", command)
        }
    }

    /// An error after some objects: every earlier object's output is written (whatever the chunking), then
    /// one line on standard error with the offset, and a non-zero exit.
    func testErrorAfterSomeObjectsWritesTheEarlierObjectsThenTheErrorWithItsOffset() throws {
        let stream = try smallPickleStream(count: 3)
        let damaged = stream + [0x80, 0x04, 0xFF]
        for command in [["show"], ["convert", "--protocol", "5"]] {
            let good = try runTool(command, stdin: stream)
            for piece in [0, 1, 5] {
                let result = piece == 0 ? try runTool(command, stdin: damaged) : try runToolFed(command, stdin: damaged, piece: piece)
                XCTAssertNotEqual(result.status, 0)
                XCTAssertEqual(result.stdout, good.stdout, "\(command), pieces of \(piece)")
                XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
                XCTAssertTrue(result.stderr.contains("offset \(stream.count + 2)"), result.stderr)
            }
        }
        // `dis` prints the lines pickletools prints before it raises: here the PROTO line.
        let good = try runTool(["dis"], stdin: stream)
        let protoLine = Array(String(format: "%5d: \\x80 PROTO      4\n", stream.count).utf8)
        for piece in [0, 1, 5] {
            let result = piece == 0 ? try runTool(["dis"], stdin: damaged) : try runToolFed(["dis"], stdin: damaged, piece: piece)
            XCTAssertNotEqual(result.status, 0)
            XCTAssertEqual(String(decoding: result.stdout, as: UTF8.self), String(decoding: good.stdout + protoLine, as: UTF8.self), "pieces of \(piece)")
            XCTAssertEqual(result.stderr, "Error: offset \(stream.count + 2): at position \(stream.count + 2), opcode b'\\xff' unknown\n")
        }
        // Half a pickle: the lines of its complete opcodes, then pickletools' error for the cut.
        let cut = Array(stream.prefix(stream.count - 3))
        let expected = try Python.script("""
            import pickletools, io, sys
            data = bytes.fromhex(sys.argv[1]); f = io.BytesIO(data); out = io.StringIO()
            try:
                while f.tell() < len(data): pickletools.dis(f, out)
            except ValueError as e: err = str(e)
            sys.stdout.write(out.getvalue() + '|' + err)
            """, [cut.map { String(format: "%02x", $0) }.joined()])
        let parts = String(decoding: expected, as: UTF8.self).split(separator: "|", omittingEmptySubsequences: false)
        for piece in [0, 1, 3] {
            let result = piece == 0 ? try runTool(["dis"], stdin: cut) : try runToolFed(["dis"], stdin: cut, piece: piece)
            XCTAssertEqual(String(decoding: result.stdout, as: UTF8.self), String(parts[0]), "pieces of \(piece)")
            XCTAssertTrue(result.stderr.contains(parts[1]), "\(result.stderr) vs \(parts[1])")
        }
    }

    /// `tensors` lists a checkpoint's tensors and a pickle's numpy arrays, as a table and as JSON.
    func testTensorsListsACheckpointAndAPickleOfArrays() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpoint = directory.appendingPathComponent("m.pt").path, arrays = directory.appendingPathComponent("a.pkl").path
        try Python.script("""
        import collections, pickle, numpy as np, torch_layout as t
        w = t.tensor('0', np.arange(12, dtype='float32').reshape(3, 4))
        t.save({'model': collections.OrderedDict([('weight', t.Parameter(w)), ('bias', t.tensor('1', np.zeros(3, 'float16')))])}, \(StdlibText.quoted(checkpoint)))
        pickle.dump({'a': np.arange(1000, dtype='<f8'), 'b': [np.float32(2)]}, open(\(StdlibText.quoted(arrays)), 'wb'), 5)
        """)
        let table = try runTool(["tensors", checkpoint], stdin: [])
        XCTAssertEqual(table.status, 0, table.stderr)
        let lines = String(decoding: table.stdout, as: UTF8.self).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines[1].prefix(5), ["model.weight", "float32", "(3,", "4)", "48"])
        XCTAssertEqual(lines[2].prefix(4), ["model.bias", "float16", "(3,)", "6"])
        XCTAssertEqual(lines[3], ["2", "tensors,", "54", "bytes"])
        let json = try runTool(["tensors", "--json", checkpoint], stdin: [])
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout)) as? [[String: Any]])
        XCTAssertEqual(parsed.map { $0["name"] as? String }, ["model.weight", "model.bias"])
        XCTAssertEqual(parsed[0]["shape"] as? [Int], [3, 4])
        let offset = try XCTUnwrap(parsed[0]["offset"] as? Int)
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: checkpoint)))
        XCTAssertEqual(Array(file[offset + 4 ..< offset + 8]), [0, 0, 0x80, 0x3F], "the second element, 1.0, where the offset says")
        let listed = try runTool(["tensors", "--json", arrays], stdin: [])
        let items = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(listed.stdout)) as? [[String: Any]])
        XCTAssertEqual(items.map { $0["name"] as? String }, ["a", "b.0"])
        XCTAssertEqual(items.map { $0["bytes"] as? Int }, [8000, 4])
        XCTAssertTrue(items[1]["offset"] is NSNull, "a small array's bytes are copied, so it has no offset")
        let bad = try runTool(["tensors", "/dev/null"], stdin: [])
        XCTAssertNotEqual(bad.status, 0)
    }

    /// `.npz` archives (stored and deflated) and `.npy` files list by header and convert to safetensors
    /// files that the reference implementation loads as numpy's arrays: big-endian and Fortran order
    /// included, a stored array's offset where its elements lie.
    func testNumpyFilesListAndConvertToSafetensors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("npz-tool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        try Python.script("""
        import numpy as np
        arrays = dict(w=np.arange(12, dtype='<f4').reshape(3, 4), f=np.asfortranarray(np.arange(6, dtype='>i8').reshape(2, 3)), b=np.array([True, False]))
        np.savez(\(StdlibText.quoted(path("s.npz"))), **arrays)
        np.savez_compressed(\(StdlibText.quoted(path("c.npz"))), **arrays)
        np.save(\(StdlibText.quoted(path("one.npy"))), np.arange(5, dtype='>u2'))
        """)
        for archive in ["s.npz", "c.npz"] {
            let listed = try runTool(["tensors", "--json", path(archive)], stdin: [])
            XCTAssertEqual(listed.status, 0, listed.stderr)
            let items = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(listed.stdout)) as? [[String: Any]])
            XCTAssertEqual(items.map { $0["name"] as? String }, ["w", "f", "b"], archive)
            XCTAssertEqual(items.map { $0["bytes"] as? Int }, [48, 48, 2], archive)
            XCTAssertEqual(items.map { $0["shape"] as? [Int] }, [[3, 4], [2, 3], [2]], archive)
            if archive == "s.npz" {
                let offset = try XCTUnwrap(items[0]["offset"] as? Int)
                let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path(archive))))
                XCTAssertEqual(Array(file[offset + 4 ..< offset + 8]), [0, 0, 0x80, 0x3F], "the second element, 1.0, where the offset says")
            } else {
                XCTAssertTrue(items.allSatisfy { $0["offset"] is NSNull }, "deflated arrays are not in the file as they are")
            }
            let converted = try runTool(["safetensors", path(archive), path(archive + ".safetensors")], stdin: [])
            XCTAssertEqual(converted.status, 0, converted.stderr)
            try Python.script("""
            import numpy as np
            from safetensors.numpy import load_file
            d = load_file(\(StdlibText.quoted(path(archive + ".safetensors"))))
            assert sorted(d) == ['b', 'f', 'w'], sorted(d)
            assert (d['w'] == np.arange(12).reshape(3, 4)).all() and d['w'].dtype == np.float32
            assert (d['f'] == np.arange(6).reshape(2, 3)).all() and d['f'].dtype == np.int64
            assert d['b'].tolist() == [True, False]
            """)
        }
        let one = try runTool(["tensors", "--json", path("one.npy")], stdin: [])
        XCTAssertEqual(one.status, 0, one.stderr)
        let row = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(one.stdout)) as? [[String: Any]])?.first)
        XCTAssertEqual(row["dtype"] as? String, "uint16")
        XCTAssertEqual(row["offset"] as? Int, try Data(contentsOf: URL(fileURLWithPath: path("one.npy"))).count - 10, "the elements end the file")
        XCTAssertEqual(try runTool(["safetensors", path("one.npy"), path("one.safetensors")], stdin: []).status, 0)
        try Python.script("""
        from safetensors.numpy import load_file
        assert load_file(\(StdlibText.quoted(path("one.safetensors"))))['array'].tolist() == [0, 1, 2, 3, 4]
        """)
    }
}
