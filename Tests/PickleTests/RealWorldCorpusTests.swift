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
        let tg = Date()
        let made = try Python.run([Self.script, "generate", directory.path])
        print("TIMING generate \(Date().timeIntervalSince(tg))")
        XCTAssertEqual(made.status, 0, "the corpus generator failed (numpy and pandas are required): \(made.stderr.suffix(2000))")
        guard made.status == 0 else { return }
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: directory.appendingPathComponent("cases.json")))
        XCTAssertGreaterThan(cases.count, 120)

        var converted = 0, refused = 0
        var refusalKinds: Set<String> = []
        for entry in cases {
            let tStart = Date()
            defer { let e = Date().timeIntervalSince(tStart); if e > 0.3 { print("TIMING \(entry.case) \(e)") } }
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
            var tm = Date()
            try checkDisassembly(bytes, entry, directory)
            if entry.large { print("TIMING dis \(name) \(Date().timeIntervalSince(tm))"); tm = Date() }

            // (c) The same outcome whole, one byte at a time, and split in two (at every offset up to 4 KiB;
            // above, at a sample of offsets: every offset of a megabyte input would be quadratic).
            let outcome = Feeding.assertChunkingInvariant(bytes, options: options, buffers: buffers.isEmpty ? nil : buffers, context: name)
            if let expected = entry.parse_error {
                XCTAssertEqual(outcome.error?.code, PickleError.Code(expected), "\(name): \(String(describing: outcome.error))")
                continue
            }
            XCTAssertNil(outcome.error, name)
            if entry.large { print("TIMING chunk \(name) \(Date().timeIntervalSince(tm))"); tm = Date() }
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
        let tc = Date()
        let result = try Python.run([Self.script, "check", directory.path])
        print("TIMING check \(Date().timeIntervalSince(tc))")
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
        let result = bytes.withUnsafeBytes { disassembler.disassemble($0, from: 0) }
        let text = Array(result.text.utf8)
        if entry.dis_complete {
            XCTAssertEqual(result.error?.message, entry.dis_error, "\(entry.case): disassembly error")
            if text != [UInt8](expected) { XCTFail("\(entry.case): \(firstDifference(text, [UInt8](expected)))") }
        } else {
            XCTAssertNil(entry.dis_error)
            XCTAssertNil(result.error, entry.case)
            XCTAssertGreaterThan(text.count, expected.count, entry.case)
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
}
