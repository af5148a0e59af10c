// Text codecs that Python's pickle format depends on, reproduced byte for byte from CPython 3.11:
// UTF-8 with the `surrogatepass` error handler, `raw-unicode-escape`, and `codecs.escape_decode`.

/// The error `PythonText.escapeDecode(_:)` reports, carrying CPython's exact `ValueError` message.
struct EscapeDecodeError: Error, Equatable, Sendable {
    /// The message CPython's `codecs.escape_decode` raises, e.g. `invalid \x escape at position 3`.
    let message: String
}

/// Namespace for the text codecs of CPython that pickle streams use.
///
/// Python strings are sequences of code points that may include lone surrogates (U+D800...U+DFFF), which a
/// Swift `String` cannot hold, so these functions work on arrays of `UInt32` code points.
enum PythonText {
    // MARK: - UTF-8 with surrogatepass

    /// Decodes `bytes` like Python's `bytes.decode('utf-8', 'surrogatepass')`.
    ///
    /// Encoded surrogates (`ED A0..BF 80..BF`) decode to lone surrogate code points; an encoded surrogate pair
    /// stays two code points, as in CPython. Overlong forms, values above U+10FFFF, stray continuation bytes
    /// and truncated sequences are invalid.
    /// - Returns: The code points, or `nil` when CPython would raise `UnicodeDecodeError`.
    static func decodeUTF8SurrogatePass(_ bytes: UnsafeRawBufferPointer) -> [UInt32]? {
        var result: [UInt32] = []
        result.reserveCapacity(bytes.count)
        let n = bytes.count
        var i = 0
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 {
                result.append(UInt32(b0))
                i += 1
                continue
            }
            guard let (scalar, length) = decodeMultiByte(bytes, at: i, lead: b0) else { return nil }
            result.append(scalar)
            i += length
        }
        return result
    }

    /// Whether `bytes` is valid for `bytes.decode('utf-8', 'surrogatepass')` (see
    /// ``decodeUTF8SurrogatePass(_:)``), without building the decoded code points.
    ///
    /// Runs of ASCII are checked eight bytes at a time.
    static func isValidUTF8SurrogatePass(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let n = bytes.count
        var i = 0
        while i < n {
            // ASCII fast path: eight bytes per step.
            while i &+ 8 <= n {
                let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { break }
                i &+= 8
            }
            guard i < n else { return true }
            let b0 = bytes[i]
            if b0 < 0x80 {
                i &+= 1
                continue
            }
            guard let (_, length) = decodeMultiByte(bytes, at: i, lead: b0) else { return false }
            i &+= length
        }
        return true
    }

    /// Decodes the multi-byte UTF-8 sequence (surrogates allowed) whose lead byte `lead` is at `i`.
    /// - Returns: The code point and the sequence length, or `nil` for an invalid or truncated sequence.
    @inline(__always)
    private static func decodeMultiByte(
        _ bytes: UnsafeRawBufferPointer, at i: Int, lead b0: UInt8
    ) -> (UInt32, Int)? {
        let n = bytes.count
        @inline(__always) func cont(_ k: Int) -> UInt32? {
            guard i + k < n else { return nil }
            let b = bytes[i + k]
            return b & 0xC0 == 0x80 ? UInt32(b & 0x3F) : nil
        }
        switch b0 {
        case 0xC2...0xDF:
            guard let c1 = cont(1) else { return nil }
            return ((UInt32(b0 & 0x1F) << 6) | c1, 2)
        case 0xE0...0xEF:
            guard let c1 = cont(1), let c2 = cont(2) else { return nil }
            // E0 needs A0..BF (no overlongs); ED A0..BF (surrogates) is allowed by surrogatepass.
            if b0 == 0xE0 && c1 < 0x20 { return nil }
            return ((UInt32(b0 & 0x0F) << 12) | (c1 << 6) | c2, 3)
        case 0xF0...0xF4:
            guard let c1 = cont(1), let c2 = cont(2), let c3 = cont(3) else { return nil }
            if b0 == 0xF0 && c1 < 0x10 { return nil }   // overlong
            if b0 == 0xF4 && c1 >= 0x10 { return nil }  // above U+10FFFF
            return ((UInt32(b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4)
        default:
            return nil
        }
    }

    /// Encodes code points like Python's `str.encode('utf-8', 'surrogatepass')`: surrogates become their
    /// three-byte form.
    ///
    /// Values above U+10FFFF cannot occur in a Python string; they are written as U+FFFD instead of trapping.
    static func encodeUTF8SurrogatePass(_ codePoints: some Sequence<UInt32>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(codePoints.underestimatedCount)
        for cp in codePoints {
            appendUTF8(cp, to: &out)
        }
        return out
    }

    /// Appends the UTF-8 form of one code point (surrogates allowed, out-of-range values as U+FFFD).
    @inline(__always)
    private static func appendUTF8(_ cp: UInt32, to out: inout [UInt8]) {
        switch cp {
        case 0..<0x80:
            out.append(UInt8(cp))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (cp >> 6)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (cp >> 12)))
            out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        case 0x10000...0x10FFFF:
            out.append(UInt8(0xF0 | (cp >> 18)))
            out.append(UInt8(0x80 | ((cp >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        default:
            out.append(contentsOf: [0xEF, 0xBF, 0xBD])
        }
    }

    // MARK: - raw-unicode-escape

    /// The value of an ASCII hexadecimal digit, or `nil`.
    @inline(__always)
    private static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c &- UInt8(ascii: "A") &+ 10)
        default: return nil
        }
    }

    /// Decodes `bytes` like Python's `bytes.decode('raw-unicode-escape')` (the argument of the UNICODE opcode).
    ///
    /// `\uXXXX` and `\UXXXXXXXX` decode to code points (lone surrogates included). A backslash followed by any
    /// other byte is kept together with that byte, so `\\u0041` stays six characters while `\\\u0041` gives a
    /// backslash pair then `A`. A lone trailing backslash is kept. Every other byte maps to the code point of
    /// the same value.
    /// - Returns: The code points, or `nil` for a truncated or non-hex `\u`/`\U` escape or a `\U` escape above
    ///   U+10FFFF (where CPython raises `UnicodeDecodeError`).
    static func decodeRawUnicodeEscape(_ bytes: UnsafeRawBufferPointer) -> [UInt32]? {
        var out: [UInt32] = []
        out.reserveCapacity(bytes.count)
        let n = bytes.count
        var i = 0
        while i < n {
            let c = bytes[i]
            i += 1
            if c != UInt8(ascii: "\\") || i >= n {
                out.append(UInt32(c))
                continue
            }
            let e = bytes[i]
            i += 1
            let count: Int
            if e == UInt8(ascii: "u") {
                count = 4
            } else if e == UInt8(ascii: "U") {
                count = 8
            } else {
                out.append(UInt32(UInt8(ascii: "\\")))
                out.append(UInt32(e))
                continue
            }
            var ch: UInt32 = 0
            for _ in 0..<count {
                guard i < n, let v = hexValue(bytes[i]) else { return nil }
                ch = (ch << 4) | v
                i += 1
            }
            if ch > 0x10FFFF { return nil }
            out.append(ch)
        }
        return out
    }

    /// Lowercase hexadecimal digits, as CPython's `Py_hexdigits`.
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Encodes code points the way CPython's pickler writes the UNICODE opcode argument at protocol 0.
    ///
    /// This is `raw-unicode-escape` plus escaping of `\`, `\n`, `\r`, NUL and `\x1a` as `\u005c`, `\u000a`,
    /// `\u000d`, `\u0000` and `\u001a`: code points from U+10000 become `\UXXXXXXXX`, U+0100...U+FFFF become
    /// `\uXXXX` (lowercase hex), everything else below U+0100 is written as the raw byte.
    static func encodeRawUnicodeEscapeForPickle(_ codePoints: some Sequence<UInt32>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(codePoints.underestimatedCount)
        for ch in codePoints {
            if ch >= 0x10000 {
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "U"))
                for shift in stride(from: 28, through: 0, by: -4) {
                    out.append(hexDigits[Int((ch >> UInt32(shift)) & 0xF)])
                }
            } else if ch >= 0x100 || ch == 0x5C || ch == 0 || ch == 0x0A || ch == 0x0D || ch == 0x1A {
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "u"))
                for shift in stride(from: 12, through: 0, by: -4) {
                    out.append(hexDigits[Int((ch >> UInt32(shift)) & 0xF)])
                }
            } else {
                out.append(UInt8(ch))
            }
        }
        return out
    }

    // MARK: - escape_decode

    /// Decodes `bytes` like CPython's `codecs.escape_decode` (used by the STRING opcode on the text between
    /// the quotes).
    ///
    /// Recognised escapes: `\<newline>` (dropped), `\\`, `\'`, `\"`, `\a`, `\b`, `\f`, `\n`, `\r`, `\t`, `\v`,
    /// octal `\o`, `\oo`, `\ooo` (values above 0o377 keep their low 8 bits, as CPython does) and `\xHH`. Any
    /// other escape is kept literally, backslash included.
    /// - Returns: The bytes, or the error with CPython's message: `invalid \x escape at position N` (N is the
    ///   offset of the backslash) or `Trailing \ in string`.
    static func escapeDecode(_ bytes: UnsafeRawBufferPointer) -> Result<[UInt8], EscapeDecodeError> {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        let n = bytes.count
        var i = 0
        while i < n {
            let c = bytes[i]
            if c != UInt8(ascii: "\\") {
                out.append(c)
                i += 1
                continue
            }
            i += 1
            if i == n {
                return .failure(EscapeDecodeError(message: "Trailing \\ in string"))
            }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\n"): break
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "'"): out.append(0x27)
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = UInt32(e - UInt8(ascii: "0"))
                var digits = 1
                while digits < 3, i < n, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "7") {
                    value = (value << 3) + UInt32(bytes[i] - UInt8(ascii: "0"))
                    i += 1
                    digits += 1
                }
                out.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x"):
                if i + 1 < n, let d1 = hexValue(bytes[i]), let d2 = hexValue(bytes[i + 1]) {
                    out.append(UInt8((d1 << 4) | d2))
                    i += 2
                } else {
                    return .failure(EscapeDecodeError(message: "invalid \\x escape at position \(i - 2)"))
                }
            default:
                out.append(0x5C)
                i -= 1  // the byte after the backslash is read again as an ordinary byte
            }
        }
        return .success(out)
    }
}
