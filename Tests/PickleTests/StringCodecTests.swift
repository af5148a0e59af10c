import Foundation
import XCTest
@testable import Pickle

/// Python 2 strings (STRING, BINSTRING, SHORT_BINSTRING) under every kind of codec and error handler,
/// against CPython's `pickle.loads(data, encoding=..., errors=...)`.
final class StringCodecTests: XCTestCase {
    /// One case of Tests/Fixtures/py2_strings.py: a pickle and what CPython made of it.
    struct Case: Decodable {
        let name: String
        let encoding: String
        let errors: String
        let pickle: String
        let repr: String?
        let error: String?
        let start: Int?
        let end: Int?
    }

    static func cases() throws -> [Case] {
        let script = TestPaths.repoRoot.appendingPathComponent("Tests/Fixtures/py2_strings.py").path
        let (status, out, err) = try Python.run([script])
        guard status == 0 else { throw Python.Failure(description: "py2_strings.py failed: \(err)") }
        return try JSONDecoder().decode([Case].self, from: Data(out.utf8))
    }

    // MARK: - Against CPython

    func testEveryCaseDecodesAsCPythonDecodesIt() throws {
        let cases = try Self.cases()
        XCTAssertGreaterThan(cases.count, 2000)
        var codecs = Set<String>()
        for c in cases {
            codecs.insert(c.encoding)
            var options = UnpicklerOptions()
            options.encoding = try StringEncoding(pythonName: c.encoding)
            options.errors = try DecodingErrorPolicy(pythonName: c.errors)
            let bytes = Hex.bytes(c.pickle)
            // Whole, byte by byte and split at every offset: the same outcome every time.
            let whole = Feeding.assertChunkingInvariant(bytes, options: options, everyOffsetLimit: 300)
            _ = whole
            do {
                let graph = try Unpickler.loads(bytes, options: options)
                if let repr = c.repr {
                    XCTAssertEqual(graph.root.description, repr, c.name)
                } else {
                    XCTFail("\(c.name): CPython raised UnicodeDecodeError at \(c.start!)..<\(c.end!), we made \(graph.root)")
                }
            } catch let error as PickleError {
                guard c.repr == nil, let start = c.start, let end = c.end else {
                    XCTFail("\(c.name): CPython made \(c.repr ?? "?"), we threw \(error)")
                    continue
                }
                XCTAssertEqual(error.code, .decodingFailed, c.name)
                let position = end - start == 1 ? "byte 0x" : "bytes in position \(start)-\(end - 1)"
                XCTAssertTrue(error.message.contains(position), "\(c.name): \(error.message) should name \(position)")
                if end - start == 1 {
                    XCTAssertTrue(error.message.contains("in position \(start):"), "\(c.name): \(error.message)")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(codecs.count, 20)
    }

    /// Where glibc's converters still differ from CPython on invalid input, as README lists them: these
    /// fail when glibc (or this library) changes, so the list stays true.
    func testDocumentedGlibcDifferencesStayAsDocumented() throws {
        func decode(_ payload: [UInt8], _ codec: String, _ errors: DecodingErrorPolicy = .strict) throws -> String {
            var options = UnpicklerOptions()
            options.encoding = try StringEncoding(pythonName: codec)
            options.errors = errors
            return try Unpickler.loads([0x55, UInt8(payload.count)] + payload + [0x2E], options: options).root.description
        }
        // CPython: UnicodeDecodeError (DEL is not in JIS X 0208); glibc passes it through.
        XCTAssertEqual(try decode([0x1B, 0x24, 0x42, 0x7F, 0x7F, 0x1B, 0x28, 0x42], "iso2022_jp"), "'\\x7f\\x7f'")
        // CPython: '\x0e'; glibc's UTF-7 refuses control characters outside the direct set.
        XCTAssertThrowsError(try decode([0x41, 0x0E], "utf_7"))
        // CPython: '\\'; glibc's SHIFT_JIS reads a yen sign, which this library puts back.
        XCTAssertEqual(try decode([0x5C, 0x82, 0xA0, 0x7E], "shift_jis"), "'\\\\あ~'")
        // glibc decodes 0x80 alone (GBK: a euro sign); CPython refuses it, and so does this library.
        XCTAssertEqual(try decode([0x80, 0x41], "gbk", .replace), "'\u{FFFD}A'")
    }

    // MARK: - Names

    /// Every name and alias CPython's registry has, and names written the many ways callers write them,
    /// resolve to the codec CPython's `codecs.lookup` finds, or are refused where CPython refuses them.
    func testCodecNamesResolveAsCPythonLooksThemUp() throws {
        let extra = ["Latin-1", " UTF8 ", "ISO_8859-1:1987", "SJIS", "u8", "cp65001", "ISO-8859-15", "l1", "l9",
                     "x-mac-japanese", "ANSI_X3.4-1968", "utf-8-sig", "Shift-JIS", "EUC_JP", "koi8-r", "CP1251",
                     "windows_1252", "macintosh", "utf16", "U32", "nonexistent", "utf-9", "", "  ", "latin+1",
                     "iso8859.1", "mbcs", "ébad"]
        let names = PythonCodecTable.names.keys.sorted() + extra
        let script = """
        import codecs, json, sys
        out = {}
        for n in json.loads(sys.stdin.read()):
            try: out[n] = codecs.lookup(n).name
            except LookupError: out[n] = None
        print(json.dumps(out))
        """
        let input = try JSONEncoder().encode(names)
        let (status, stdout, stderr) = try Python.run(["-c", script], stdin: [UInt8](input))
        XCTAssertEqual(status, 0, stderr)
        let expected = try JSONDecoder().decode([String: String?].self, from: Data(stdout.utf8))
        let refused: Set<String> = ["base64", "bz2", "hex", "quopri", "rot-13", "uu", "zlib", "hz", "iso2022_jp_1",
                                    "iso2022_jp_2004", "iso2022_jp_ext", "idna", "punycode", "raw-unicode-escape",
                                    "unicode-escape", "undefined"]
        for name in names {
            let cpython = expected[name] ?? nil
            do {
                let encoding = try StringEncoding(pythonName: name)
                // charmap without a mapping is Latin-1.
                XCTAssertEqual(encoding.name as String?, cpython == "charmap" ? "iso8859-1" : cpython, "'\(name)'")
            } catch let error as PickleError {
                XCTAssertEqual(error.code, .unknownCodec)
                if let cpython {
                    XCTAssertTrue(refused.contains(cpython), "'\(name)' (CPython: \(cpython)) refused: \(error.message)")
                    XCTAssertTrue(error.message.contains("'\(cpython)'"), error.message)
                } else {
                    XCTAssertEqual(error.message, "unknown encoding: \(name)")
                }
            }
        }
        XCTAssertEqual(try StringEncoding(pythonName: "bytes"), .bytes)
        XCTAssertThrowsError(try StringEncoding(pythonName: "BYTES"))  // CPython's unpickler compares exactly
        XCTAssertEqual(try StringEncoding(pythonName: "Latin-1"), .latin1)
        XCTAssertEqual(try StringEncoding(pythonName: "US-ASCII"), .ascii)
        XCTAssertEqual(try StringEncoding(pythonName: "cp65001"), .utf8)
        XCTAssertEqual(try StringEncoding(pythonName: "sjis").name, "shift_jis")
    }

    func testUnknownNamesAreRefusedNamingThem() {
        XCTAssertThrowsError(try StringEncoding(pythonName: "klingon-8")) { error in
            XCTAssertEqual((error as? PickleError)?.code, .unknownCodec)
            XCTAssertTrue("\(error)".contains("klingon-8"), "\(error)")
        }
        XCTAssertThrowsError(try StringEncoding(pythonName: "hex_codec")) { error in
            XCTAssertTrue("\(error)".contains("not a text encoding"), "\(error)")
        }
        XCTAssertThrowsError(try StringEncoding(pythonName: "hz")) { error in
            XCTAssertTrue("\(error)".contains("glibc"), "\(error)")
        }
        XCTAssertThrowsError(try DecodingErrorPolicy(pythonName: "xmlcharrefreplace")) { error in
            XCTAssertEqual((error as? PickleError)?.code, .unknownCodec)
            XCTAssertTrue("\(error)".contains("xmlcharrefreplace"), "\(error)")
        }
    }

    /// The committed codec table is what scripts/generate_codec_table.py writes from this CPython.
    func testCommittedCodecTableIsWhatTheGeneratorWrites() throws {
        let script = TestPaths.repoRoot.appendingPathComponent("scripts/generate_codec_table.py").path
        let (status, generated, err) = try Python.run([script, "-"])
        XCTAssertEqual(status, 0, err)
        let committed = try String(contentsOf: TestPaths.repoRoot.appendingPathComponent("Sources/Pickle/Reading/PythonCodecTable.swift"), encoding: .utf8)
        XCTAssertTrue(generated == committed, "PythonCodecTable.swift is out of date: run python3 scripts/generate_codec_table.py")
    }

    // MARK: - Errors

    /// A strict failure names the codec, the position in the string, the opcode's offset and, for binary
    /// strings, the stream offset of the bad byte.
    func testStrictFailureSaysWhereTheBadByteIs() throws {
        // PROTO 2, EMPTY_LIST, BINPUT 0, SHORT_BINSTRING 'a\x82 ', APPEND, STOP: the string's bytes start at 7.
        let bytes: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x55, 0x03, 0x61, 0x82, 0x20, 0x61, 0x2E]
        var options = UnpicklerOptions()
        options.encoding = try StringEncoding(pythonName: "shift_jis")
        XCTAssertThrowsError(try Unpickler.loads(bytes, options: options)) { error in
            guard let error = error as? PickleError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code, .decodingFailed)
            XCTAssertEqual(error.offset, 5)
            XCTAssertEqual(error.opcode, .shortBinString)
            XCTAssertEqual(error.message, "'shift_jis' codec can't decode byte 0x82 in position 1: illegal multibyte sequence (the string's bytes start at stream offset 7; the bad byte is at 8)")
        }
        options.errors = .backslashreplace
        XCTAssertEqual(try Unpickler.loads(bytes, options: options).root.description, "['a\\\\x82 ']")
    }

    // MARK: - Concurrency

    /// Parsers on many threads share the codecs' iconv descriptors safely: every result is right.
    func testConcurrentDecodersShareTheConverters() async throws {
        let text = "こんにちは、世界"
        let encoded = try Python.script("import sys; sys.stdout.buffer.write('\(text)'.encode('shift_jis'))")
        let payload = [UInt8](encoded)
        let pickle: [UInt8] = [0x55, UInt8(payload.count)] + payload + [0x2E]
        var options = UnpicklerOptions()
        options.encoding = try StringEncoding(pythonName: "shift_jis")
        let chosen = options
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0 ..< 16 {
                group.addTask {
                    var right = 0
                    for _ in 0 ..< 500 where try Unpickler.loads(pickle, options: chosen).root.string == text { right += 1 }
                    return right
                }
            }
            var total = 0
            for try await right in group { total += right }
            XCTAssertEqual(total, 16 * 500)
        }
    }
}
