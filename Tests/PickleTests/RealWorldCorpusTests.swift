import Foundation
import XCTest
@testable import Pickle

/// Pickles this project did not write (Tests/Fixtures/corpus.py, generated at test time by live CPython):
/// Python 2 streams assembled opcode by opcode, numpy and pandas objects at every protocol (protocol 5 with
/// out-of-band buffers too), copyreg extension codes, collections and stdlib values, and large, deep,
/// recursive and memo-heavy structures. For each: the disassembly is pickletools.dis's; the parse is the same
/// whole, one byte at a time and split anywhere; and the conversion to every protocol loads in CPython to an
/// object equal to the original's (or is refused where CPython could not say it either), and is a fixed point.
final class RealWorldCorpusTests: XCTestCase {
    private struct Case: Decodable {
        struct Buffer: Decodable {
            let file: String
            let readonly: Bool
        }

        let `case`: String
        let `protocol`: Int
        let encoding: String
        let buffers: [Buffer]
        let extensions: [String: [String]]?
        let refusals: [String: String]
        let parse_error: String?
        let large: Bool
        let dis_error: String?
        let dis_complete: Bool
    }

    private static let script = TestPaths.repoRoot.appendingPathComponent("Tests/Fixtures/corpus.py").path

    func testCorpusDisassemblesParsesAndConvertsAsCPythonDoes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pickle-corpus-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        defer { try? FileManager.default.removeItem(at: directory) }
        let made = try Python.run([Self.script, "generate", directory.path])
        XCTAssertEqual(made.status, 0, "the corpus generator failed (numpy and pandas are required): \(made.stderr.suffix(2000))")
        guard made.status == 0 else { return }
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: directory.appendingPathComponent("cases.json")))
        XCTAssertGreaterThan(cases.count, 120)

        var converted = 0, refused = 0
        var refusalKinds: Set<String> = []
        for entry in cases {
            let name = entry.case
            let bytes = [UInt8](try Data(contentsOf: directory.appendingPathComponent("\(name).pickle")))
            let buffers = try entry.buffers.map {
                OutOfBandBuffer([UInt8](try Data(contentsOf: directory.appendingPathComponent($0.file))), isReadonly: $0.readonly)
            }
            var options = UnpicklerOptions()
            options.encoding = try XCTUnwrap(StringEncoding(pythonName: entry.encoding), name)
            if let registry = entry.extensions {
                options.extensionRegistry = Dictionary(uniqueKeysWithValues: registry.map { (Int($0.key)!, GlobalName(module: $0.value[0], name: $0.value[1])) })
            }

            // (a) The disassembly is pickletools.dis's, error message included; for the large and deep cases
            // the generator keeps only the head of pickletools' text (see corpus.py's DIS_LIMIT).
            try checkDisassembly(bytes, entry, directory)

            // (c) The same outcome whole, one byte at a time, and split in two (at every offset up to 4 KiB;
            // above, at a sample of offsets: every offset of a megabyte input would be quadratic, so the large
            // and deep cases take the first and last 8 offsets and 12 between, the others the default sample).
            let outcome = Feeding.assertChunkingInvariant(bytes, options: options, buffers: buffers.isEmpty ? nil : buffers, context: name,
                                                          sampledEnds: entry.large ? 8 : 40, sampledMiddle: entry.large ? 12 : 60)
            if let expected = entry.parse_error {
                XCTAssertEqual(outcome.error?.code, PickleError.Code(expected), "\(name): \(String(describing: outcome.error))")
                continue
            }
            XCTAssertNil(outcome.error, name)
            let graph = try Unpickler.loads(bytes, options: options, buffers: buffers.isEmpty ? nil : buffers)

            // (b) Conversion to every protocol, kept out of band at 5; checked by CPython below.
            for version in 0 ... PicklerOptions.highestProtocol {
                var pickling = PicklerOptions(protocolVersion: version)
                if !buffers.isEmpty { pickling.bufferCallback = { _ in false } }
                let expectedRefusal = entry.refusals[String(version)]
                do {
                    let out = try convert(graph, pickling)
                    XCTAssertNil(expectedRefusal, "\(name) at protocol \(version) must be refused (\(expectedRefusal ?? ""))")
                    if !entry.large {
                        XCTAssertEqual(try Pickler.dumps(graph, options: pickling), out, "\(name) at protocol \(version): StreamingPickler and Pickler.dumps differ")
                    }
                    let reread = try Unpickler.loads(out, options: options, buffers: version == 5 && !buffers.isEmpty ? buffers : nil)
                    XCTAssertEqual(try convert(reread, pickling), out, "\(name) at protocol \(version) is not a fixed point")
                    try Data(out).write(to: directory.appendingPathComponent("\(name).to\(version).pickle"))
                    converted += 1
                } catch let error as PickleError {
                    let message = "\(error)"
                    XCTAssertNotNil(expectedRefusal, "\(name) at protocol \(version): \(message)")
                    XCTAssertEqual(error.code, .unpicklable, "\(name) at protocol \(version): \(message)")
                    switch expectedRefusal {
                    case "buffer":
                        XCTAssertTrue(message.contains("PickleBuffer can only pickled with protocol >= 5")
                                      && message.contains("out-of-band buffer 0") && message.contains("protocol \(version)"), "\(name): \(message)")
                    case "extension":
                        XCTAssertTrue(message.contains("extension code 66") && message.contains("protocol \(version)"), "\(name): \(message)")
                    default:
                        break
                    }
                    if let kind = expectedRefusal { refusalKinds.insert(kind) }
                    try Data(message.utf8).write(to: directory.appendingPathComponent("\(name).refused\(version).txt"))
                    refused += 1
                }
            }
        }
        XCTAssertEqual(refusalKinds, ["buffer", "extension"])

        // CPython loads every conversion beside its original, and confirms every refusal is one it shares.
        let result = try Python.run([Self.script, "check", directory.path])
        let failures = result.stdout.split(separator: "\n").filter { $0.contains("\"ok\": false") }
        for failure in failures.prefix(30) { print(failure) }
        XCTAssertEqual(result.status, 0, "\(failures.count) of \(converted + refused) conversions and refusals failed CPython's check: \(result.stderr.suffix(2000))")
        XCTAssertEqual(result.stdout.split(separator: "\n").last.map(String.init), "\(converted + refused) passed, 0 failed")
    }

    // MARK: - Helpers

    /// The conversion through a `StreamingPickler` into memory, as `pickletool convert` writes it.
    private func convert(_ graph: PickleGraph, _ options: PicklerOptions) throws -> [UInt8] {
        var pickler = try StreamingPickler(sink: MemorySink(), options: options, records: .independent)
        try pickler.dump(graph)
        try pickler.flush()
        return Array(pickler.sink.chunks.joined())
    }

    private func checkDisassembly(_ bytes: [UInt8], _ entry: Case, _ directory: URL) throws {
        let expected = try Data(contentsOf: directory.appendingPathComponent("\(entry.case).dis"))
        var disassembler = Disassembler()
        // pickletools' text was cut (corpus.py's DIS_LIMIT): ours stops at its output limit a little further.
        if !entry.dis_complete { disassembler.maxOutputLength = expected.count + 100_000 }
        let result = bytes.withUnsafeBytes { disassembler.disassemble($0, from: 0) }
        let text = Array(result.text.utf8)
        if entry.dis_complete {
            XCTAssertEqual(result.error?.message, entry.dis_error, "\(entry.case): disassembly error")
            if text != [UInt8](expected) { XCTFail("\(entry.case): \(firstDifference(text, [UInt8](expected)))") }
        } else {
            XCTAssertNil(entry.dis_error)
            XCTAssertEqual(result.error?.message.hasPrefix("disassembly exceeds the output limit"), true, entry.case)
            XCTAssertGreaterThanOrEqual(text.count, expected.count, entry.case)
            if !text.starts(with: expected) { XCTFail("\(entry.case): \(firstDifference(Array(text.prefix(expected.count)), [UInt8](expected)))") }
        }
    }

    private func firstDifference(_ got: [UInt8], _ expected: [UInt8]) -> String {
        let a = String(decoding: got, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let b = String(decoding: expected, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0 ..< max(a.count, b.count) {
            let x = i < a.count ? String(a[i]) : "<none>", y = i < b.count ? String(b[i]) : "<none>"
            if !x.utf8.elementsEqual(y.utf8) { return "line \(i + 1):\n  got      \(x.prefix(300).debugDescription)\n  expected \(y.prefix(300).debugDescription)" }
        }
        return "texts differ"
    }

    // MARK: - Refusals the corpus found

    /// EXT1/EXT2/EXT4 exist from protocol 2. An unresolved code written below it used to come out as an EXT
    /// opcode anyway (a pickle CPython's protocol 0/1 reader would still run, but no protocol 0/1 writer makes);
    /// it is refused, naming the code, and a code resolved at read time is written as its global.
    func testUnresolvedExtensionCodeIsRefusedBelowProtocol2() throws {
        for (stream, code) in [([0x80, 0x02, 0x82, 0x42, 0x2E] as [UInt8], 66), ([0x80, 0x02, 0x83, 0x34, 0x12, 0x2E], 0x1234),
                               ([0x80, 0x02, 0x84, 0x78, 0x56, 0x34, 0x12, 0x2E], 0x12345678)] {
            let graph = try Unpickler.loads(stream)
            for version in 0 ... 1 {
                XCTAssertThrowsError(try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: version))) { error in
                    XCTAssertEqual((error as? PickleError)?.code, .unpicklable)
                    XCTAssertTrue("\(error)".contains("extension code \(code) using pickle protocol \(version)"), "\(error)")
                }
            }
            for version in 2 ... 5 {
                let out = try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: version))
                XCTAssertTrue(out.contains(stream[2]), "protocol \(version): the EXT opcode as read")
            }
            var options = UnpicklerOptions()
            options.extensionRegistry = [code: GlobalName(module: "corpus_classes", name: "ExtSmall")]
            let resolved = try Unpickler.loads(stream, options: options)
            XCTAssertEqual(try Pickler.dumps(resolved, options: PicklerOptions(protocolVersion: 0)), Array("ccorpus_classes\nExtSmall\np0\n.".utf8))
        }
    }

    /// Below protocol 5 an out-of-band buffer is refused as CPython refuses a PickleBuffer, with its index
    /// and the protocol; at 5 it stays out of band or goes in band as the callback says.
    func testOutOfBandBufferIsRefusedBelowProtocol5WithItsIndex() throws {
        let stream: [UInt8] = [0x80, 0x05, 0x28, 0x97, 0x97, 0x98, 0x6C, 0x2E]  // [NEXT_BUFFER, NEXT_BUFFER READONLY_BUFFER]
        let buffers = [OutOfBandBuffer([1, 2], isReadonly: false), OutOfBandBuffer([3], isReadonly: true)]
        let graph = try Unpickler.loads(stream, buffers: buffers)
        for version in 0 ... 4 {
            XCTAssertThrowsError(try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: version))) { error in
                XCTAssertEqual((error as? PickleError)?.code, .unpicklable)
                XCTAssertTrue("\(error)".contains("PickleBuffer can only pickled with protocol >= 5: out-of-band buffer 0 (NEXT_BUFFER) can't be written at protocol \(version)"), "\(error)")
            }
        }
        var outOfBand = PicklerOptions(protocolVersion: 5)
        outOfBand.bufferCallback = { _ in false }
        let out = try Pickler.dumps(graph, options: outOfBand)
        XCTAssertEqual(out.filter { $0 == 0x97 }.count, 2, "\(out)")
        XCTAssertEqual(out.filter { $0 == 0x98 }.count, 1, "\(out)")
        XCTAssertEqual(try Pickler.dumps(Unpickler.loads(out, buffers: buffers), options: outOfBand), out)
    }
}
