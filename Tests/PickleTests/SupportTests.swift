import Foundation
import XCTest

@testable import Pickle

/// Tests of the support codecs (`PythonText`, `PythonRepr`, `BigIntText`, `FixImports`) against literal
/// expectations for edge cases and against python3 (CPython 3.11), run at test time, for random values.
final class SupportTests: XCTestCase {
    // MARK: - Helpers

    /// Runs `python3 -c script` and returns its standard output split into lines, each split at tabs.
    /// Fails the test when python3 is not CPython 3.11 (the oracle these codecs copy; other versions differ,
    /// e.g. in their Unicode database).
    private func python(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> [[Substring]] {
        let versionCheck = "import sys\nassert sys.version_info[:2] == (3, 11), 'the oracle is CPython 3.11'\n"
        let data = try Python.script(versionCheck + script, file: file, line: line)
        let text = String(decoding: data, as: UTF8.self)
        return text.utf8.split(separator: UInt8(ascii: "\n")).map { lineBytes in
            Substring(lineBytes).split(separator: "\t", omittingEmptySubsequences: false)
        }
    }

    private func hexBytes(_ s: some StringProtocol) -> [UInt8] { Hex.bytes(s) }

    /// Lowercase hexadecimal text of bytes.
    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
    }

    /// Code points from space-separated hexadecimal numbers.
    private func codePoints(_ s: some StringProtocol) -> [UInt32] {
        s.split(separator: " ").compactMap { UInt32($0, radix: 16) }
    }

    /// Code points of a Swift string.
    private func codePoints(of s: String) -> [UInt32] {
        s.unicodeScalars.map(\.value)
    }

    /// Decodes with `PythonText.decodeUTF8SurrogatePass`.
    private func decodeUTF8(_ bytes: [UInt8]) -> [UInt32]? {
        bytes.withUnsafeBytes { PythonText.decodeUTF8SurrogatePass($0) }
    }

    /// Validates with `PythonText.isValidUTF8SurrogatePass`.
    private func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { PythonText.isValidUTF8SurrogatePass($0) }
    }

    /// Decodes with `PythonText.decodeRawUnicodeEscape`.
    private func decodeRUE(_ bytes: [UInt8]) -> [UInt32]? {
        bytes.withUnsafeBytes { PythonText.decodeRawUnicodeEscape($0) }
    }

    /// Decodes with `PythonText.escapeDecode`, mapping the result to bytes or the error message.
    private func escapeDecode(_ bytes: [UInt8]) -> Result<[UInt8], EscapeDecodeError> {
        bytes.withUnsafeBytes { PythonText.escapeDecode($0) }
    }

    /// The Python helper shared by the generated-input scripts: `cps(s)` gives space-separated hex code points.
    private let pythonPrelude = """
        import random, struct, sys, codecs, pickle, warnings
        warnings.simplefilter('ignore')
        random.seed(20240611)
        def cps(s): return ' '.join('%x' % ord(c) for c in s)
        def rand_cp():
            r = random.random()
            if r < 0.4: return random.choice([0x27, 0x22, 0x5c, 0x0a, 0x0d, 0x09, 0, 0x1a, 0x7f, 0x80, 0xa0, 0xad, 0x20, 0x75, 0x55])
            if r < 0.6: return random.randint(0, 0x7f)
            if r < 0.7: return random.randint(0x80, 0xff)
            if r < 0.8: return random.randint(0xd7f0, 0xe010)
            if r < 0.9: return random.randint(0x100, 0xffff)
            return random.randint(0x10000, 0x10ffff)

        """

    // MARK: - PythonRepr.float

    func testFloatReprEdgeCases() {
        let cases: [(Double, String)] = [
            (0.0, "0.0"), (-0.0, "-0.0"), (1.0, "1.0"), (-1.5, "-1.5"), (0.1, "0.1"),
            (1e16, "1e+16"), (1e15, "1000000000000000.0"), (9999999999999998.0, "9999999999999998.0"),
            (1.5e-05, "1.5e-05"), (1e-05, "1e-05"), (0.0001, "0.0001"), (0.00012345, "0.00012345"),
            (1e100, "1e+100"), (Double.leastNonzeroMagnitude, "5e-324"), (123456789012345.0, "123456789012345.0"),
            (1.7976931348623157e308, "1.7976931348623157e+308"), (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (.infinity, "inf"), (-.infinity, "-inf"), (.nan, "nan"), (-Double.nan, "nan"),
            (1.0 / 3.0, "0.3333333333333333"), (2.0 / 3.0, "0.6666666666666666"), (100.0, "100.0"),
            (1.2345678901234567e16, "1.2345678901234568e+16"), (9007199254740993.0, "9007199254740992.0"),
            (-1e-7, "-1e-07"), (1e22, "1e+22"), (123.456, "123.456"),
        ]
        for (value, expected) in cases {
            XCTAssertEqual(PythonRepr.float(value), expected, "repr(\(value))")
        }
    }

    func testFloatReprAgainstPython() throws {
        let rows = try python(pythonPrelude + """
            vals = [random.getrandbits(64) for _ in range(10000)]
            for _ in range(10000):
                s = '%s%se%d' % (random.choice(['', '-']), random.randint(1, 10**random.randint(1, 17)), random.randint(-330, 310))
                vals.append(struct.unpack('<Q', struct.pack('<d', float(s)))[0])
            for v in vals:
                print('%016x\\t%s' % (v, repr(struct.unpack('<d', struct.pack('<Q', v))[0])))
            """)
        XCTAssertEqual(rows.count, 20000)
        var failures = 0
        for row in rows {
            guard row.count == 2, let bits = UInt64(row[0], radix: 16) else {
                XCTFail("bad row \(row)")
                continue
            }
            let got = PythonRepr.float(Double(bitPattern: bits))
            if got != row[1] {
                failures += 1
                if failures <= 10 { XCTFail("repr(float) of bits \(row[0]): expected \(row[1]), got \(got)") }
            }
        }
        XCTAssertEqual(failures, 0)
    }

    // MARK: - PythonRepr.string

    func testStringReprEdgeCases() {
        XCTAssertEqual(PythonRepr.string(""), "''")
        XCTAssertEqual(PythonRepr.string("abc"), "'abc'")
        XCTAssertEqual(PythonRepr.string("it's"), "\"it's\"")
        XCTAssertEqual(PythonRepr.string("say \"hi\""), "'say \"hi\"'")
        XCTAssertEqual(PythonRepr.string("'\""), "'\\'\"'")
        XCTAssertEqual(PythonRepr.string("a\\b\n\r\t\u{0}\u{1f}\u{7f}"), "'a\\\\b\\n\\r\\t\\x00\\x1f\\x7f'")
        XCTAssertEqual(PythonRepr.string("\u{80}\u{a0}\u{a1}\u{ad}\u{e9}"), "'\\x80\\xa0\u{a1}\\xad\u{e9}'")
        XCTAssertEqual(PythonRepr.string("\u{2028}\u{200b}\u{3000}\u{ffff}\u{1234}"), "'\\u2028\\u200b\\u3000\\uffffሴ'")
        XCTAssertEqual(PythonRepr.string("\u{1F600}\u{E0001}\u{10FFFF}\u{F0000}"), "'😀\\U000e0001\\U0010ffff\\U000f0000'")
        XCTAssertEqual(PythonRepr.string(codePoints: [0xD800, 0xDFFF, 0x41]), "'\\ud800\\udfffA'")
        // Unicode 14.0 additions are printable, later ones are not (Python 3.11).
        XCTAssertEqual(PythonRepr.string(codePoints: [0x0870]), "'\u{0870}'")
        XCTAssertEqual(PythonRepr.string(codePoints: [0x1FAE9]), "'\\U0001fae9'")
        XCTAssertFalse(PythonRepr.isPrintable(0x110000))
        XCTAssertEqual(PythonRepr.string(codePoints: [0x110000]), "'\\U00110000'")
    }

    func testIsPrintableForEveryCodePoint() throws {
        let rows = try python("""
            start = None
            for c in range(0x110000):
                np = not chr(c).isprintable()
                if np and start is None: start = c
                if not np and start is not None: print('%x\\t%x' % (start, c - 1)); start = None
            if start is not None: print('%x\\t%x' % (start, 0x10ffff))
            """)
        XCTAssertGreaterThan(rows.count, 600)
        var ranges: [ClosedRange<UInt32>] = []
        for row in rows {
            guard row.count == 2, let a = UInt32(row[0], radix: 16), let b = UInt32(row[1], radix: 16) else {
                XCTFail("bad row \(row)")
                return
            }
            ranges.append(a...b)
        }
        var rangeIndex = 0
        var failures = 0
        for cp: UInt32 in 0...0x10FFFF {
            while rangeIndex < ranges.count && ranges[rangeIndex].upperBound < cp { rangeIndex += 1 }
            let expected = !(rangeIndex < ranges.count && ranges[rangeIndex].contains(cp))
            if PythonRepr.isPrintable(cp) != expected {
                failures += 1
                if failures <= 10 { XCTFail("isprintable(U+\(String(cp, radix: 16))) should be \(expected)") }
            }
        }
        XCTAssertEqual(failures, 0)
    }

    func testStringReprAgainstPython() throws {
        let rows = try python(pythonPrelude + """
            strs = [''.join(chr(rand_cp()) for _ in range(random.randint(0, 12))) for _ in range(5000)]
            strs += [chr(c) for c in range(0, 0x3000)]
            for s in strs:
                print('%s\\t%s' % (cps(s), repr(s).encode('utf-8').hex()))
            """)
        XCTAssertEqual(rows.count, 5000 + 0x3000)
        var failures = 0
        for row in rows {
            guard row.count == 2 else {
                XCTFail("bad row \(row)")
                continue
            }
            let expected = String(decoding: hexBytes(row[1]), as: UTF8.self)
            let got = PythonRepr.string(codePoints: codePoints(row[0]))
            if got != expected {
                failures += 1
                if failures <= 10 { XCTFail("repr of [\(row[0])]: expected \(expected), got \(got)") }
            }
        }
        XCTAssertEqual(failures, 0)
    }

    // MARK: - PythonRepr.bytes / bytearray

    func testBytesReprEdgeCases() {
        XCTAssertEqual(PythonRepr.bytes([]), "b''")
        XCTAssertEqual(PythonRepr.bytearray([]), "bytearray(b'')")
        XCTAssertEqual(PythonRepr.bytes(Array("it's".utf8)), "b\"it's\"")
        XCTAssertEqual(PythonRepr.bytearray(Array("it's".utf8)), "bytearray(b\"it\\'s\")")
        XCTAssertEqual(PythonRepr.bytes(Array("'\"".utf8)), "b'\\'\"'")
        XCTAssertEqual(PythonRepr.bytearray(Array("'\"".utf8)), "bytearray(b'\\'\"')")
        XCTAssertEqual(PythonRepr.bytes([0x09, 0x0A, 0x0D, 0x5C, 0x00, 0x1F, 0x7F, 0x80, 0xFF, 0x20, 0x7E]),
                       "b'\\t\\n\\r\\\\\\x00\\x1f\\x7f\\x80\\xff ~'")
    }

    func testBytesReprAgainstPython() throws {
        let rows = try python(pythonPrelude + """
            def rb(): return random.choice([0x27, 0x22, 0x5c, 10, 13, 9, 0, 0x7f, 0x80, 0xff]) if random.random() < 0.4 else random.randint(0, 255)
            bs = [bytes(rb() for _ in range(random.randint(0, 12))) for _ in range(5000)] + [bytes([i]) for i in range(256)]
            for b in bs:
                print('%s\\t%s\\t%s' % (b.hex(), repr(b).encode().hex(), repr(bytearray(b)).encode().hex()))
            """)
        XCTAssertEqual(rows.count, 5256)
        var failures = 0
        for row in rows {
            guard row.count == 3 else {
                XCTFail("bad row \(row)")
                continue
            }
            let input = hexBytes(row[0])
            let expectedBytes = String(decoding: hexBytes(row[1]), as: UTF8.self)
            let expectedArray = String(decoding: hexBytes(row[2]), as: UTF8.self)
            let gotBytes = PythonRepr.bytes(input)
            let gotArray = PythonRepr.bytearray(input)
            if gotBytes != expectedBytes || gotArray != expectedArray {
                failures += 1
                if failures <= 10 {
                    XCTFail("repr of \(row[0]): expected \(expectedBytes) / \(expectedArray), got \(gotBytes) / \(gotArray)")
                }
            }
        }
        XCTAssertEqual(failures, 0)
    }

    // MARK: - UTF-8 surrogatepass

    func testUTF8SurrogatePassEdgeCases() {
        let valid: [([UInt8], [UInt32])] = [
            ([], []),
            (Array("abcdefghijklmnop".utf8), codePoints(of: "abcdefghijklmnop")),
            ([0xC2, 0x80], [0x80]),
            ([0xDF, 0xBF], [0x7FF]),
            ([0xE0, 0xA0, 0x80], [0x800]),
            ([0xED, 0xA0, 0x80], [0xD800]),
            ([0xED, 0xBF, 0xBF], [0xDFFF]),
            ([0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80], [0xD83D, 0xDE00]),  // a pair stays two code points
            ([0xEF, 0xBF, 0xBF], [0xFFFF]),
            ([0xF0, 0x90, 0x80, 0x80], [0x10000]),
            ([0xF4, 0x8F, 0xBF, 0xBF], [0x10FFFF]),
            (Array("abcdefgh".utf8) + [0xF0, 0x9F, 0x98, 0x80] + Array("ijklmnopq".utf8),
             codePoints(of: "abcdefgh\u{1F600}ijklmnopq")),
        ]
        for (bytes, expected) in valid {
            XCTAssertEqual(decodeUTF8(bytes), expected, "\(bytes)")
            XCTAssertTrue(isValidUTF8(bytes), "\(bytes)")
            XCTAssertEqual(PythonText.encodeUTF8SurrogatePass(expected), bytes)
        }
        let invalid: [[UInt8]] = [
            [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xC2], [0xC2, 0x41], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF],
            [0xED, 0xA0], [0xE1, 0x80], [0xF0, 0x80, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80],
            [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xF0, 0x90, 0x80],
            Array("abcdefgh".utf8) + [0x80], Array("abcdefghijklmno".utf8) + [0xC3],
        ]
        for bytes in invalid {
            XCTAssertNil(decodeUTF8(bytes), "\(bytes)")
            XCTAssertFalse(isValidUTF8(bytes), "\(bytes)")
        }
        XCTAssertEqual(PythonText.encodeUTF8SurrogatePass([0x110000]), [0xEF, 0xBF, 0xBD])
    }

    func testUTF8SurrogatePassAgainstPython() throws {
        let rows = try python(pythonPrelude + """
            def rand_utf8():
                parts = []
                for _ in range(random.randint(0, 6)):
                    r = random.random()
                    if r < 0.5: parts.append(chr(rand_cp()).encode('utf-8', 'surrogatepass'))
                    elif r < 0.8: parts.append(bytes(random.choice([0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90, 0x41]) for _ in range(random.randint(1, 4))))
                    else:
                        b = chr(rand_cp()).encode('utf-8', 'surrogatepass'); parts.append(b[:random.randint(0, len(b))])
                if random.random() < 0.3: parts.append(b'abcdefghijklmnopq'[:random.randint(0, 17)])
                return b''.join(parts)
            for _ in range(10000):
                b = rand_utf8()
                try: d = cps(b.decode('utf-8', 'surrogatepass'))
                except UnicodeDecodeError: d = 'ERR'
                print('%s\\t%s' % (b.hex(), d))
            """)
        XCTAssertEqual(rows.count, 10000)
        var failures = 0
        var errors = 0
        for row in rows {
            guard row.count == 2 else {
                XCTFail("bad row \(row)")
                continue
            }
            let input = hexBytes(row[0])
            let expected: [UInt32]? = row[1] == "ERR" ? nil : codePoints(row[1])
            if expected == nil { errors += 1 }
            let decoded = decodeUTF8(input)
            let valid = isValidUTF8(input)
            var ok = decoded == expected && valid == (expected != nil)
            if let expected, PythonText.encodeUTF8SurrogatePass(expected) != input { ok = false }
            if !ok {
                failures += 1
                if failures <= 10 { XCTFail("utf-8 surrogatepass of \(row[0]): expected \(row[1])") }
            }
        }
        XCTAssertEqual(failures, 0)
        XCTAssertGreaterThan(errors, 100)
        XCTAssertLessThan(errors, 9900)
    }

    // MARK: - raw-unicode-escape

    func testRawUnicodeEscapeEdgeCases() {
        func decode(_ s: String) -> [UInt32]? { decodeRUE(Array(s.utf8)) }
        XCTAssertEqual(decode("\\u0041"), [0x41])
        XCTAssertEqual(decode("\\\\u0041"), codePoints(of: "\\\\u0041"))  // even backslashes: no escape
        XCTAssertEqual(decode("\\\\\\u0041"), codePoints(of: "\\\\A"))
        XCTAssertEqual(decode("\\U0001F600\\uD800\\uabcd"), [0x1F600, 0xD800, 0xABCD])
        XCTAssertEqual(decode("\\U0010ffff"), [0x10FFFF])
        XCTAssertEqual(decode("\\x41\\n\\"), codePoints(of: "\\x41\\n\\"))
        XCTAssertEqual(decode("a\\"), [0x61, 0x5C])
        XCTAssertEqual(decode("\\"), [0x5C])
        XCTAssertEqual(decodeRUE([0xE9, 0xFF, 0x00]), [0xE9, 0xFF, 0x00])
        XCTAssertNil(decode("\\u004"))
        XCTAssertNil(decode("\\u00zz"))
        XCTAssertNil(decode("\\U0000004"))
        XCTAssertNil(decode("\\U00110000"))
        XCTAssertNil(decode("\\Uffffffff"))

        // pickle.dumps('a\\b\n\r\x00\x1a\u1234\U0001f600\ud800\xe9', 0)
        let encoded = PythonText.encodeRawUnicodeEscapeForPickle(
            [0x61, 0x5C, 0x62, 0x0A, 0x0D, 0x00, 0x1A, 0x1234, 0x1F600, 0xD800, 0xE9, 0x7F, 0x85])
        XCTAssertEqual(encoded, Array("a\\u005cb\\u000a\\u000d\\u0000\\u001a\\u1234\\U0001f600\\ud800".utf8) + [0xE9, 0x7F, 0x85])
        XCTAssertEqual(PythonText.encodeRawUnicodeEscapeForPickle([UInt32]()), [])
    }

    func testRawUnicodeEscapeAgainstPython() throws {
        let rows = try python(pythonPrelude + """
            def rand_rue():
                parts = []
                for _ in range(random.randint(0, 6)):
                    r = random.random()
                    if r < 0.3: parts.append(b'\\\\' * random.randint(1, 4))
                    elif r < 0.5: parts.append(random.choice([b'u', b'U']))
                    elif r < 0.8: parts.append(''.join(random.choice('0123456789abcdefABCDEFgx') for _ in range(random.randint(1, 9))).encode())
                    elif r < 0.9: parts.append(('\\\\U%08x' % random.choice([0x10ffff, 0x110000, 0xffffffff, 0x1f600, random.randint(0, 0x10ffff)])).encode())
                    else: parts.append(bytes(random.randint(0, 255) for _ in range(2)))
                return b''.join(parts)
            for _ in range(5000):
                b = rand_rue()
                try: d = cps(b.decode('raw-unicode-escape'))
                except UnicodeDecodeError: d = 'ERR'
                print('D\\t%s\\t%s' % (b.hex(), d))
            for _ in range(5000):
                s = ''.join(chr(rand_cp()) for _ in range(random.randint(0, 8)))
                p = pickle.dumps(s, 0)
                assert p[:1] == b'V' and p.endswith(b'\\np0\\n.')
                print('E\\t%s\\t%s' % (cps(s), p[1:-5].hex()))
            """)
        XCTAssertEqual(rows.count, 10000)
        var failures = 0
        for row in rows {
            guard row.count == 3 else {
                XCTFail("bad row \(row)")
                continue
            }
            if row[0] == "D" {
                let expected: [UInt32]? = row[2] == "ERR" ? nil : codePoints(row[2])
                if decodeRUE(hexBytes(row[1])) != expected {
                    failures += 1
                    if failures <= 10 { XCTFail("raw-unicode-escape decode of \(row[1]): expected \(row[2])") }
                }
            } else {
                let input = codePoints(row[1])
                let encoded = PythonText.encodeRawUnicodeEscapeForPickle(input)
                if hex(encoded) != row[2] || decodeRUE(encoded) != input {
                    failures += 1
                    if failures <= 10 { XCTFail("pickle UNICODE encode of [\(row[1])]: expected \(row[2]), got \(hex(encoded))") }
                }
            }
        }
        XCTAssertEqual(failures, 0)
    }

    // MARK: - escape_decode

    func testEscapeDecodeEdgeCases() {
        func decode(_ s: String) -> Result<[UInt8], EscapeDecodeError> { escapeDecode(Array(s.utf8)) }
        XCTAssertEqual(decode("a\\n\\t\\r\\\\\\'\\\"\\a\\b\\f\\v"), .success(Array("a\n\t\r\\'\"\u{7}\u{8}\u{c}\u{b}".utf8)))
        XCTAssertEqual(decode("\\0\\12\\141\\1411\\777\\400\\8"), .success([0, 0x0A, 0x61, 0x61, 0x31, 0xFF, 0x00, 0x5C, 0x38]))
        XCTAssertEqual(decode("\\x41\\xfF\\x00"), .success([0x41, 0xFF, 0x00]))
        XCTAssertEqual(decode("line\\\nnext"), .success(Array("linenext".utf8)))
        XCTAssertEqual(decode("\\q\\N\\u1234"), .success(Array("\\q\\N\\u1234".utf8)))
        XCTAssertEqual(decode(""), .success([]))
        XCTAssertEqual(decode("ab\\x4"), .failure(EscapeDecodeError(message: "invalid \\x escape at position 2")))
        XCTAssertEqual(decode("\\x4g"), .failure(EscapeDecodeError(message: "invalid \\x escape at position 0")))
        XCTAssertEqual(decode("\\\\\\x"), .failure(EscapeDecodeError(message: "invalid \\x escape at position 2")))
        XCTAssertEqual(decode("ab\\"), .failure(EscapeDecodeError(message: "Trailing \\ in string")))
        XCTAssertEqual(decode("\\"), .failure(EscapeDecodeError(message: "Trailing \\ in string")))
    }

    func testEscapeDecodeAgainstPython() throws {
        let rows = try python(pythonPrelude + """
            def rand_esc():
                parts = []
                for _ in range(random.randint(0, 6)):
                    r = random.random()
                    if r < 0.4: parts.append(b'\\\\' * random.randint(1, 3))
                    elif r < 0.7: parts.append(bytes(random.choice(b'ntr\\\\\\'"abfv01234567x89\\nqN') for _ in range(random.randint(1, 3))))
                    elif r < 0.9: parts.append(''.join(random.choice('0123456789abcdefABCDEFgx') for _ in range(random.randint(1, 4))).encode())
                    else: parts.append(bytes(random.randint(0, 255) for _ in range(2)))
                return b''.join(parts)
            for _ in range(10000):
                b = rand_esc()
                try: d = 'OK ' + codecs.escape_decode(b)[0].hex()
                except ValueError as e: d = 'ERR ' + str(e)
                print('%s\\t%s' % (b.hex(), d))
            """)
        XCTAssertEqual(rows.count, 10000)
        var failures = 0
        for row in rows {
            guard row.count == 2 else {
                XCTFail("bad row \(row)")
                continue
            }
            let got: String
            switch escapeDecode(hexBytes(row[0])) {
            case .success(let bytes): got = "OK " + hex(bytes)
            case .failure(let error): got = "ERR " + error.message
            }
            if got != row[1] {
                failures += 1
                if failures <= 10 { XCTFail("escape_decode of \(row[0]): expected \(row[1]), got \(got)") }
            }
        }
        XCTAssertEqual(failures, 0)
    }

    // MARK: - BigIntText

    func testBigIntEdgeCases() {
        let cases: [(Int64, [UInt8])] = [
            (0, []), (1, [0x01]), (-1, [0xFF]), (127, [0x7F]), (128, [0x80, 0x00]), (-128, [0x80]),
            (-129, [0x7F, 0xFF]), (255, [0xFF, 0x00]), (256, [0x00, 0x01]), (-256, [0x00, 0xFF]),
            (.max, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]), (.min, [0, 0, 0, 0, 0, 0, 0, 0x80]),
        ]
        for (value, bytes) in cases {
            XCTAssertEqual(BigIntText.minimalTwosComplement(value), bytes, "\(value)")
            XCTAssertEqual(BigIntText.int64(fromTwosComplementLE: bytes), value, "\(value)")
            XCTAssertEqual(BigIntText.decimalString(twosComplementLE: bytes), String(value))
            XCTAssertEqual(BigIntText.parseInteger(Array(String(value).utf8), base0: false), bytes)
        }
        // Non-minimal encodings are read by value.
        XCTAssertEqual(BigIntText.int64(fromTwosComplementLE: [0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 1)
        XCTAssertEqual(BigIntText.int64(fromTwosComplementLE: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), -1)
        XCTAssertNil(BigIntText.int64(fromTwosComplementLE: [0, 0, 0, 0, 0, 0, 0, 0x80, 0x00]))  // 2**63
        XCTAssertNil(BigIntText.int64(fromTwosComplementLE: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF]))
        XCTAssertEqual(BigIntText.decimalString(twosComplementLE: [0, 0, 0, 0, 0, 0, 0, 0x80, 0x00]), "9223372036854775808")
        XCTAssertEqual(BigIntText.decimalString(twosComplementLE: [0, 0, 0, 0, 0, 0, 0, 0, 0xFF]), "-18446744073709551616")
        XCTAssertEqual(BigIntText.decimalString(twosComplementLE: [0x00, 0xCA, 0x9A, 0x3B]), "1000000000")
        XCTAssertEqual(BigIntText.twosComplementLE(fromMagnitude: [0, 1], negative: true), [0, 0, 0, 0, 0xFF])  // -(2**32)
        XCTAssertEqual(BigIntText.twosComplementLE(fromMagnitude: [0, 0], negative: true), [])
        XCTAssertEqual(BigIntText.twosComplementLE(fromMagnitude: [0x80], negative: false), [0x80, 0x00])

        func parse(_ s: String, _ base0: Bool) -> [UInt8]? { BigIntText.parseInteger(Array(s.utf8), base0: base0) }
        XCTAssertEqual(parse(" \t+1_000\n", true), [0xE8, 0x03])
        XCTAssertEqual(parse("-0x_FF", true), [0x01, 0xFF])
        XCTAssertEqual(parse("0o17", true), [0x0F])
        XCTAssertEqual(parse("0B101", true), [0x05])
        XCTAssertEqual(parse("00", true), [])
        XCTAssertEqual(parse("0_0", true), [])
        XCTAssertEqual(parse("-0", true), [])
        XCTAssertNil(parse("010", true))
        XCTAssertEqual(parse("010", false), [0x0A])
        XCTAssertNil(parse("0x10", false))
        for bad in ["", " ", "_1", "1_", "1__0", "0x", "0x__1", "0_x1", "- 1", "+-1", "1 2", "0b102", "1\u{0}", "\u{a0}1", "１"] {
            XCTAssertNil(parse(bad, true), bad)
            XCTAssertNil(parse(bad, false), bad)
        }
        XCTAssertNotNil(parse(String(repeating: "9", count: 4300), false))
        XCTAssertNil(parse(String(repeating: "9", count: 4301), false))
        XCTAssertNil(parse(String(repeating: "0", count: 4301), true))
        XCTAssertNotNil(parse("1" + String(repeating: "_0", count: 4299), true))
        XCTAssertNil(parse("1" + String(repeating: "_0", count: 4300), true))
        // Power-of-two bases have no digit limit.
        XCTAssertEqual(parse("0x" + String(repeating: "f", count: 20000), true)?.count, 10001)
    }

    func testBigIntAgainstPython() throws {
        let rows = try python(pythonPrelude + """
            sys.set_int_max_str_digits(0)
            def enc(x):
                if x == 0: return b''
                n = (x.bit_length() >> 3) + 1
                r = x.to_bytes(n, 'little', signed=True)
                if x < 0 and n > 1 and r[-1] == 0xff and (r[-2] & 0x80): r = r[:-1]
                return r
            vals = [random.getrandbits(random.randint(1, 5000)) * random.choice([1, -1]) for _ in range(400)]
            vals += [random.getrandbits(random.randint(1, 70)) * random.choice([1, -1]) for _ in range(1600)]
            for v in vals:
                i64 = str(v) if -2**63 <= v < 2**63 else 'NONE'
                print('V\\t%s\\t%s\\t%s' % (enc(v).hex(), v, i64))
            def fmt(v):
                r = random.random()
                sign = '-' if v < 0 else ''
                if r < 0.5: return str(v)
                if r < 0.65: return sign + random.choice(['0x', '0X']) + format(abs(v), random.choice('xX'))
                if r < 0.8: return sign + random.choice(['0o', '0O']) + format(abs(v), 'o')
                return sign + random.choice(['0b', '0B']) + format(abs(v), 'b')
            def mutate(s):
                s = list(s)
                for _ in range(random.randint(0, 3)):
                    op = random.random(); pos = random.randint(0, len(s))
                    if op < 0.4: s.insert(pos, '_')
                    elif op < 0.55: s.insert(pos, random.choice([' ', '\\t', '\\n', '\\x0b', '\\x0c', '\\r', '\\x00']))
                    elif op < 0.7: s.insert(pos, random.choice('0+-xob'))
                    elif op < 0.8 and s: del s[random.randrange(len(s))]
                    elif op < 0.9: s.insert(0, random.choice([' ', '0', '+', '-', '_']))
                return ''.join(s)
            sys.set_int_max_str_digits(4300)
            for _ in range(2000):
                v = random.getrandbits(random.choice([random.randint(1, 64), random.randint(1, 5000), random.randint(14250, 14300)])) * random.choice([1, -1])
                sys.set_int_max_str_digits(0); s = fmt(v); sys.set_int_max_str_digits(4300)
                if random.random() < 0.7: s = mutate(s)
                out = []
                for base in (0, 10):
                    try: out.append(enc(int(s.encode(), base)).hex())
                    except ValueError: out.append('ERR')
                print('P\\t%s\\t%s\\t%s' % (s.encode().hex(), out[0], out[1]))
            """)
        XCTAssertEqual(rows.count, 4000)
        var failures = 0
        for row in rows {
            guard row.count == 4 else {
                XCTFail("bad row \(row)")
                continue
            }
            let bytes = hexBytes(row[1])
            if row[0] == "V" {
                let decimal = BigIntText.decimalString(twosComplementLE: bytes)
                let i64 = BigIntText.int64(fromTwosComplementLE: bytes).map { String($0) } ?? "NONE"
                let reparsed = BigIntText.parseInteger(Array(row[2].utf8), base0: false)
                let magnitude = BigIntText.magnitude(fromTwosComplementLE: bytes)
                let rebuilt = BigIntText.twosComplementLE(fromMagnitude: magnitude.limbs, negative: magnitude.negative)
                let ok = decimal == row[2] && i64 == row[3] && rebuilt == bytes
                    && (row[2].utf8.count - (row[2].first == "-" ? 1 : 0) > 4300 ? reparsed == nil : reparsed == bytes)
                if !ok {
                    failures += 1
                    if failures <= 10 { XCTFail("int bytes \(row[1]): expected \(row[2].prefix(60)), got \(decimal.prefix(60)) / \(i64)") }
                }
            } else {
                let got0 = BigIntText.parseInteger(bytes, base0: true).map { hex($0) } ?? "ERR"
                let got10 = BigIntText.parseInteger(bytes, base0: false).map { hex($0) } ?? "ERR"
                if got0 != row[2] || got10 != row[3] {
                    failures += 1
                    if failures <= 10 { XCTFail("int(\(row[1].prefix(60))): expected \(row[2].prefix(40)) / \(row[3].prefix(40))") }
                }
            }
        }
        XCTAssertEqual(failures, 0)
    }

    // MARK: - FixImports

    func testFixImportsEdgeCases() {
        XCTAssertTrue(FixImports.toPython3(module: "__builtin__", name: "unicode") == ("builtins", "str"))
        XCTAssertTrue(FixImports.toPython3(module: "__builtin__", name: "len") == ("builtins", "len"))
        XCTAssertTrue(FixImports.toPython3(module: "copy_reg", name: "_reconstructor") == ("copyreg", "_reconstructor"))
        XCTAssertTrue(FixImports.toPython3(module: "exceptions", name: "StandardError") == ("builtins", "Exception"))
        XCTAssertTrue(FixImports.toPython3(module: "mymodule", name: "Thing") == ("mymodule", "Thing"))
        XCTAssertTrue(FixImports.toPython2(module: "builtins", name: "str") == ("__builtin__", "unicode"))
        XCTAssertTrue(FixImports.toPython2(module: "builtins", name: "range") == ("__builtin__", "xrange"))
        XCTAssertTrue(FixImports.toPython2(module: "builtins", name: "len") == ("__builtin__", "len"))
        XCTAssertTrue(FixImports.toPython2(module: "builtins", name: "ConnectionRefusedError") == ("exceptions", "OSError"))
        XCTAssertTrue(FixImports.toPython2(module: "copyreg", name: "_reconstructor") == ("copy_reg", "_reconstructor"))
        XCTAssertTrue(FixImports.toPython2(module: "collections", name: "OrderedDict") == ("collections", "OrderedDict"))
        XCTAssertEqual(FixImports.nameMapping.count, 88)
        XCTAssertEqual(FixImports.importMapping.count, 55)
        XCTAssertEqual(FixImports.reverseNameMapping.count, 112)
        XCTAssertEqual(FixImports.reverseImportMapping.count, 47)
    }

    func testFixImportsAgainstPython() throws {
        let rows = try python("""
            import _compat_pickle as c
            pairs = set(c.NAME_MAPPING) | set(c.NAME_MAPPING.values()) | set(c.REVERSE_NAME_MAPPING) | set(c.REVERSE_NAME_MAPPING.values())
            mods = set(c.IMPORT_MAPPING) | set(c.IMPORT_MAPPING.values()) | set(c.REVERSE_IMPORT_MAPPING) | set(c.REVERSE_IMPORT_MAPPING.values())
            tests = sorted(pairs | {(m, n) for m in mods for n in ('foo', 'str', 'reduce')})
            def py3(m, n):
                if (m, n) in c.NAME_MAPPING: return c.NAME_MAPPING[(m, n)]
                if m in c.IMPORT_MAPPING: return c.IMPORT_MAPPING[m], n
                return m, n
            def py2(m, n):
                if (m, n) in c.REVERSE_NAME_MAPPING: return c.REVERSE_NAME_MAPPING[(m, n)]
                if m in c.REVERSE_IMPORT_MAPPING: return c.REVERSE_IMPORT_MAPPING[m], n
                return m, n
            for m, n in tests:
                print('\\t'.join((m, n) + py3(m, n) + py2(m, n)))
            """)
        XCTAssertGreaterThan(rows.count, 300)
        for row in rows {
            guard row.count == 6 else {
                XCTFail("bad row \(row)")
                continue
            }
            let module = String(row[0])
            let name = String(row[1])
            let three = FixImports.toPython3(module: module, name: name)
            let two = FixImports.toPython2(module: module, name: name)
            XCTAssertTrue(three == (String(row[2]), String(row[3])), "toPython3(\(module), \(name)) = \(three)")
            XCTAssertTrue(two == (String(row[4]), String(row[5])), "toPython2(\(module), \(name)) = \(two)")
        }
    }

    // MARK: - Large reservations

    func testBulkWriteReservationKeepsTheBytesSoFar() {
        let kept = (0 ..< 5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for wanted in [100, 64 * 1024, 3 << 20, 9 << 20 + 5] {
            var bytes = kept
            bytes.reserveCapacityForBulkWrite(wanted)
            XCTAssertEqual(bytes, kept, "reserving \(wanted) bytes")
            XCTAssertGreaterThanOrEqual(bytes.capacity, wanted)
            let before = bytes.capacity
            let tail = (0 ..< max(0, wanted - kept.count)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
            bytes.append(contentsOf: tail)
            XCTAssertEqual(bytes.capacity, before, "the reservation covers the appended bytes")
            XCTAssertTrue(bytes.prefix(kept.count).elementsEqual(kept) && bytes.dropFirst(kept.count).elementsEqual(tail))
        }
        // A shared array is copied, not written through.
        let original = kept
        var copy = original
        copy.reserveCapacityForBulkWrite(4 << 20)
        copy[0] &+= 1
        XCTAssertEqual(original, kept)
    }

    func testMultiMebibytePayloadsSurviveAnySplitWithoutALengthHint() throws {
        // Larger than the bulk-write threshold and than a 2 MiB huge page, so the carry of a split payload
        // takes the advised path as it grows (the parser is not told the input's length).
        let data = [UInt8](try Python.script("import pickle, sys; sys.stdout.buffer.write(pickle.dumps([bytes(range(256)) * 9000, 'é' * 1100000, b'z' * 1048577], 5))"))
        let whole = Feeding.assertChunkingInvariant(data)
        XCTAssertEqual(whole.reprs.count, 1)
        let graph = try Unpickler.loads(data)
        XCTAssertTrue(graph.root[0]!.bytes!.elementsEqual((0 ..< 9000).lazy.flatMap { _ in 0 ... UInt8(255) }))
        XCTAssertEqual(graph.root[1]!.utf8!.count, 2_200_000)
        for chunk in [1 << 16, 1 << 20, 4099, 3_000_000] {
            let (graphs, error) = Feeding.run(data, chunks: Array(stride(from: chunk, to: data.count, by: chunk)))
            XCTAssertNil(error, "chunks of \(chunk)")
            XCTAssertEqual(graphs.map(Feeding.fingerprint), whole.reprs, "chunks of \(chunk)")
        }
    }

    // MARK: - Large blocks

    #if os(Linux)
    /// Buffers of a MiB or more move to mapped blocks, grow by remapping with their contents, and leave their
    /// blocks to the next large buffer when freed, within the limits.
    func testLargeBuffersMoveToMappedBlocksThatAreKeptForReuse() {
        LargeBlocks.releaseKept()
        XCTAssertEqual(LargeBlocks.keptBlocks.count, 0)
        do {
            var buffer = FlatBuffer<UInt64>(capacity: 16)
            // From the object's tail to the C heap, to a mapped block (2.4 MB), then remapped (8 MB).
            for k in 0 ..< UInt64(300_000) { buffer.append(k &* 2_654_435_761) }
            XCTAssertTrue(buffer.indices.allSatisfy { buffer[$0] == UInt64($0) &* 2_654_435_761 })
            for k in UInt64(300_000) ..< 1_000_000 { buffer.append(k &* 2_654_435_761) }
            XCTAssertEqual(buffer.count, 1_000_000)
            XCTAssertTrue(buffer.indices.allSatisfy { buffer[$0] == UInt64($0) &* 2_654_435_761 })
            // A copy shares the storage; making it unique moves it to a block of its own.
            var copy = buffer
            copy.makeUnique()
            copy[0] = 7
            XCTAssertEqual(buffer[0], 0)
            XCTAssertTrue(copy.dropFirst().elementsEqual(buffer.dropFirst()))
        }
        // Both blocks were kept when the buffers were freed; the next large buffer takes one.
        XCTAssertEqual(LargeBlocks.keptBlocks.count, 2)
        XCTAssertGreaterThanOrEqual(LargeBlocks.keptBlocks.byteCount, 16_000_000)
        do {
            var reused = FlatBuffer<UInt8>(capacity: 2 << 20)
            XCTAssertEqual(LargeBlocks.keptBlocks.count, 1)
            reused.append(contentsOf: [1, 2, 3])
            XCTAssertEqual(Array(reused), [1, 2, 3])
        }
        XCTAssertEqual(LargeBlocks.keptBlocks.count, 2)
        // The limits: at most keptCountLimit blocks and keptByteLimit bytes are kept.
        do {
            let many = (0 ..< LargeBlocks.keptCountLimit + 4).map { _ in FlatBuffer<UInt8>(capacity: 3 << 20) }
            XCTAssertEqual(many.count, LargeBlocks.keptCountLimit + 4)
        }
        XCTAssertEqual(LargeBlocks.keptBlocks.count, LargeBlocks.keptCountLimit)
        LargeBlocks.releaseKept()
        do {
            let huge = (0 ..< 3).map { _ in FlatBuffer<UInt8>(capacity: LargeBlocks.keptByteLimit / 2 - 4096) }
            XCTAssertEqual(huge.count, 3)
        }
        XCTAssertEqual(LargeBlocks.keptBlocks.count, 2)
        XCTAssertLessThanOrEqual(LargeBlocks.keptBlocks.byteCount, LargeBlocks.keptByteLimit)
        LargeBlocks.releaseKept()
    }

    /// A graph whose arenas take mapped blocks decodes the same whole, in chunks (its arenas growing by
    /// remapping) and again from kept blocks.
    func testGraphsWithMappedArenasDecodeTheSameEachTime() throws {
        let data = [UInt8](try Python.script("""
            import pickle, sys
            sys.stdout.buffer.write(pickle.dumps([[i, str(i), (i, -i)] for i in range(120_000)], 4))
            """))
        LargeBlocks.releaseKept()
        let first = try Unpickler.loads(data)
        XCTAssertEqual(first.root.count, 120_000)
        XCTAssertEqual(first.root[119_999]?.description, "[119999, '119999', (119999, -119999)]")
        let expected = Feeding.fingerprint(first)
        for chunk in [65536, 1 << 20, 0] {
            let (graphs, error) = Feeding.run(data, chunks: chunk == 0 ? [] : Array(stride(from: chunk, to: data.count, by: chunk)))
            XCTAssertNil(error)
            XCTAssertEqual(graphs.map(Feeding.fingerprint), [expected], "chunks of \(chunk)")
        }
        XCTAssertGreaterThan(LargeBlocks.keptBlocks.count, 0, "the freed graphs' arenas were mapped and kept")
        XCTAssertEqual(Feeding.fingerprint(try Unpickler.loads(data)), expected)
        LargeBlocks.releaseKept()
    }
    #endif
}
