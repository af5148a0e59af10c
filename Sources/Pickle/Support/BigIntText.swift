// Arbitrary-size integers as minimal two's-complement little-endian bytes (the LONG1/LONG4 payload), and their
// conversion to and from Python's decimal/prefixed integer text.

/// Namespace for converting arbitrary-size integers, held as two's-complement little-endian bytes, to and from
/// Python integer text.
///
/// The minimal form is what `pickle.encode_long` writes: the shortest byte string for which
/// `int.from_bytes(b, 'little', signed=True)` gives the value; zero is the empty array.
enum BigIntText {
    /// CPython 3.11's default `sys.int_max_str_digits`: longest digit string `int()` accepts in a base that is not
    /// a power of two.
    static let maxStringDigits = 4300

    // MARK: - Byte form helpers

    /// Splits two's-complement little-endian bytes into a sign and a little-endian magnitude in 32-bit limbs
    /// (without high zero limbs). Any length is accepted, minimal or not; the empty array is zero.
    static func magnitude(fromTwosComplementLE bytes: some Collection<UInt8>) -> (limbs: [UInt32], negative: Bool) {
        let array = Array(bytes)
        guard let last = array.last else { return ([], false) }
        let negative = last & 0x80 != 0
        var limbs = [UInt32](repeating: 0, count: (array.count + 3) / 4)
        for (i, byte) in array.enumerated() {
            limbs[i >> 2] |= UInt32(negative ? ~byte : byte) << UInt32((i & 3) * 8)
        }
        if negative {
            // Bits beyond the input are sign bits (all ones), which the complement above turned into zeros.
            // magnitude = ~x + 1.
            var carry: UInt64 = 1
            for i in limbs.indices where carry != 0 {
                let sum = UInt64(limbs[i]) + carry
                limbs[i] = UInt32(truncatingIfNeeded: sum)
                carry = sum >> 32
            }
            if carry != 0 { limbs.append(UInt32(carry)) }
        }
        while let top = limbs.last, top == 0 { limbs.removeLast() }
        return (limbs, negative)
    }

    /// The minimal two's-complement little-endian bytes of the integer with little-endian 32-bit magnitude
    /// `magnitudeLE` and the given sign. A zero magnitude gives the empty array whatever the sign.
    static func twosComplementLE(fromMagnitude magnitudeLE: [UInt32], negative: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(magnitudeLE.count * 4 + 1)
        for limb in magnitudeLE {
            bytes.append(UInt8(truncatingIfNeeded: limb))
            bytes.append(UInt8(truncatingIfNeeded: limb >> 8))
            bytes.append(UInt8(truncatingIfNeeded: limb >> 16))
            bytes.append(UInt8(truncatingIfNeeded: limb >> 24))
        }
        while let top = bytes.last, top == 0 { bytes.removeLast() }
        if bytes.isEmpty { return [] }
        if negative {
            // Two's complement: ~m + 1, with one extra byte so the sign bit has room.
            bytes.append(0)
            var carry = true
            for i in bytes.indices {
                let inverted = ~bytes[i]
                if carry {
                    let (sum, overflow) = inverted.addingReportingOverflow(1)
                    bytes[i] = sum
                    carry = overflow
                } else {
                    bytes[i] = inverted
                }
            }
            // Drop redundant 0xFF sign bytes.
            while bytes.count > 1, bytes[bytes.count - 1] == 0xFF, bytes[bytes.count - 2] & 0x80 != 0 {
                bytes.removeLast()
            }
        } else if let top = bytes.last, top & 0x80 != 0 {
            bytes.append(0)
        }
        return bytes
    }

    /// The minimal two's-complement little-endian bytes of `value` (`[]` for zero, `[0xFF]` for -1).
    static func minimalTwosComplement(_ value: Int64) -> [UInt8] {
        if value == 0 { return [] }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8)
        var v = value
        for _ in 0..<8 {
            bytes.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
        while bytes.count > 1 {
            let top = bytes[bytes.count - 1]
            let signOfNext = bytes[bytes.count - 2] & 0x80 != 0
            if (top == 0 && !signOfNext) || (top == 0xFF && signOfNext) {
                bytes.removeLast()
            } else {
                break
            }
        }
        return bytes
    }

    /// The value of two's-complement little-endian bytes (minimal or not; empty is zero) as an `Int64`, or
    /// `nil` when it does not fit.
    static func int64(fromTwosComplementLE bytes: some Collection<UInt8>) -> Int64? {
        var value: UInt64 = 0
        var index = 0
        var last: UInt8 = 0
        for byte in bytes {
            if index < 8 {
                value |= UInt64(byte) << UInt64(index * 8)
            } else {
                // Bytes beyond the eighth must be pure sign extension of the value so far.
                let signExtension: UInt8 = value >> 63 != 0 ? 0xFF : 0x00
                if byte != signExtension { return nil }
            }
            last = byte
            index += 1
        }
        if index == 0 { return 0 }
        if index < 8 && last & 0x80 != 0 {
            // Sign-extend a short negative value.
            value |= UInt64.max << UInt64(index * 8)
        }
        return Int64(bitPattern: value)
    }

    // MARK: - Decimal text

    /// The base-10 text of the integer held as two's-complement little-endian bytes, with `-` for negatives
    /// (Python's `str(int)` without the `int_max_str_digits` limit). Quadratic in the length.
    static func decimalString(twosComplementLE bytes: some Collection<UInt8>) -> String {
        let (limbs32, negative) = magnitude(fromTwosComplementLE: bytes)
        if limbs32.isEmpty { return "0" }
        // 64-bit limbs, divided repeatedly by 10^19 to give base-10^19 chunks, least significant first.
        var limbs: [UInt64] = []
        limbs.reserveCapacity((limbs32.count + 1) / 2)
        var k = 0
        while k < limbs32.count {
            let low = UInt64(limbs32[k])
            let high = k + 1 < limbs32.count ? UInt64(limbs32[k + 1]) : 0
            limbs.append(high << 32 | low)
            k += 2
        }
        while let top = limbs.last, top == 0 { limbs.removeLast() }
        let divisor: UInt64 = 10_000_000_000_000_000_000
        var chunks: [UInt64] = []
        chunks.reserveCapacity(limbs.count * 64 / 63 + 1)
        limbs.withUnsafeMutableBufferPointer { buffer in
            var count = buffer.count
            while count > 0 {
                var remainder: UInt64 = 0
                var i = count - 1
                while i >= 0 {
                    // remainder < divisor, so the quotient fits in 64 bits.
                    let (quotient, r) = divisor.dividingFullWidth((high: remainder, low: buffer[i]))
                    buffer[i] = quotient
                    remainder = r
                    i -= 1
                }
                chunks.append(remainder)
                while count > 0 && buffer[count - 1] == 0 { count -= 1 }
            }
        }
        var utf8: [UInt8] = []
        utf8.reserveCapacity(chunks.count * 19 + 1)
        if negative { utf8.append(UInt8(ascii: "-")) }
        var digits = [UInt8](repeating: 0, count: 19)
        for (position, chunk) in chunks.reversed().enumerated() {
            var c = chunk
            for j in stride(from: 18, through: 0, by: -1) {
                digits[j] = UInt8(ascii: "0") + UInt8(c % 10)
                c /= 10
            }
            if position == 0 {
                // The most significant chunk is non-zero; drop its leading zeros.
                let first = digits.firstIndex { $0 != UInt8(ascii: "0") } ?? 18
                utf8.append(contentsOf: digits[first...])
            } else {
                utf8.append(contentsOf: digits)
            }
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    // MARK: - Parsing

    /// Whether `c` is ASCII whitespace as CPython's `Py_ISSPACE` (space, `\t`, `\n`, `\v`, `\f`, `\r`).
    @inline(__always)
    private static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || (c >= 0x09 && c <= 0x0D)
    }

    /// The value of `c` as a digit in bases up to 36, or 99 when it is not a digit (CPython's `_PyLong_DigitValue`).
    @inline(__always)
    private static func digitValue(_ c: UInt8) -> UInt32 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(c - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(c - UInt8(ascii: "A")) + 10
        default: return 99
        }
    }

    /// Parses Python integer text into minimal two's-complement little-endian bytes.
    ///
    /// With `base0` true this is CPython 3.11's `int(text, 0)`: optional `0x`/`0o`/`0b` prefix (either case, one
    /// `_` may follow it), and a non-zero decimal number may not start with `0`. With `base0` false it is
    /// `int(text)` (base 10, leading zeros allowed). Both allow surrounding ASCII whitespace, one sign, and single
    /// `_` separators between digits; the text is taken as bytes, so any non-ASCII byte or NUL is invalid (as for
    /// `int(b'...')`). More than 4300 digits in base 10 is rejected, like CPython's default
    /// `sys.int_max_str_digits`; power-of-two bases have no limit.
    /// - Returns: The bytes, or `nil` where CPython raises `ValueError`.
    static func parseInteger(_ text: some Collection<UInt8>, base0: Bool) -> [UInt8]? {
        let s = Array(text)
        let n = s.count
        @inline(__always) func at(_ i: Int) -> UInt8 { i < n ? s[i] : 0 }
        var i = 0
        while i < n && isSpace(s[i]) { i += 1 }
        var negative = false
        if at(i) == UInt8(ascii: "+") {
            i += 1
        } else if at(i) == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        var base: UInt32 = 10
        var errorIfNonzero = false
        if base0 {
            if at(i) != UInt8(ascii: "0") {
                base = 10
            } else {
                switch at(i + 1) {
                case UInt8(ascii: "x"), UInt8(ascii: "X"): base = 16
                case UInt8(ascii: "o"), UInt8(ascii: "O"): base = 8
                case UInt8(ascii: "b"), UInt8(ascii: "B"): base = 2
                default:
                    errorIfNonzero = true
                    base = 10
                }
            }
            if base != 10 {
                i += 2
                if at(i) == UInt8(ascii: "_") { i += 1 }
            }
        }
        if at(i) == UInt8(ascii: "_") { return nil }
        // Scan digits with single underscores between them.
        let start = i
        var digitCount = 0
        var previousWasUnderscore = false
        while i < n {
            let c = s[i]
            if c == UInt8(ascii: "_") {
                if previousWasUnderscore { return nil }
                previousWasUnderscore = true
            } else if digitValue(c) < base {
                digitCount += 1
                previousWasUnderscore = false
            } else {
                break
            }
            i += 1
        }
        if previousWasUnderscore { return nil }
        let end = i
        if base == 10 && digitCount > maxStringDigits { return nil }
        if end == start { return nil }
        while i < n && isSpace(s[i]) { i += 1 }
        if i != n { return nil }

        let limbs: [UInt32]
        if base == 10 {
            limbs = decimalMagnitude(s[start..<end], digitCount: digitCount)
        } else {
            limbs = binaryMagnitude(s[start..<end], bitsPerDigit: base == 16 ? 4 : base == 8 ? 3 : 1)
        }
        if errorIfNonzero && !limbs.isEmpty { return nil }
        return twosComplementLE(fromMagnitude: limbs, negative: negative)
    }

    /// The little-endian 32-bit magnitude of validated decimal digits (with `_` separators), without high zero
    /// limbs. Works on 64-bit limbs and 19-digit chunks; quadratic in the length.
    private static func decimalMagnitude(_ text: ArraySlice<UInt8>, digitCount: Int) -> [UInt32] {
        var limbs: [UInt64] = []
        limbs.reserveCapacity(digitCount / 19 + 2)
        /// limbs = limbs * multiplier + addend.
        func multiplyAdd(_ multiplier: UInt64, _ addend: UInt64) {
            var carry = addend
            for k in limbs.indices {
                let (high, low) = limbs[k].multipliedFullWidth(by: multiplier)
                let (sum, overflow) = low.addingReportingOverflow(carry)
                limbs[k] = sum
                carry = high &+ (overflow ? 1 : 0)  // high <= multiplier - 1, so no overflow
            }
            if carry != 0 { limbs.append(carry) }
        }
        var chunk: UInt64 = 0
        var chunkDigits = 0
        var multiplier: UInt64 = 1
        for c in text where c != UInt8(ascii: "_") {
            chunk = chunk &* 10 &+ UInt64(c &- UInt8(ascii: "0"))
            multiplier &*= 10
            chunkDigits += 1
            if chunkDigits == 19 {
                multiplyAdd(multiplier, chunk)
                chunk = 0
                chunkDigits = 0
                multiplier = 1
            }
        }
        if chunkDigits > 0 { multiplyAdd(multiplier, chunk) }
        var result: [UInt32] = []
        result.reserveCapacity(limbs.count * 2)
        for limb in limbs {
            result.append(UInt32(truncatingIfNeeded: limb))
            result.append(UInt32(truncatingIfNeeded: limb >> 32))
        }
        while let top = result.last, top == 0 { result.removeLast() }
        return result
    }

    /// The little-endian 32-bit magnitude of validated digits (with `_` separators) in base 2, 8 or 16, without
    /// high zero limbs. Linear in the length of the text.
    private static func binaryMagnitude(_ text: ArraySlice<UInt8>, bitsPerDigit: Int) -> [UInt32] {
        var limbs: [UInt32] = []
        limbs.reserveCapacity(text.count * bitsPerDigit / 32 + 2)
        var accumulator: UInt64 = 0
        var accumulatedBits = 0
        // Least significant digit first.
        for c in text.reversed() where c != UInt8(ascii: "_") {
            accumulator |= UInt64(digitValue(c)) << UInt64(accumulatedBits)
            accumulatedBits += bitsPerDigit
            if accumulatedBits >= 32 {
                limbs.append(UInt32(truncatingIfNeeded: accumulator))
                accumulator >>= 32
                accumulatedBits -= 32
            }
        }
        if accumulatedBits > 0 { limbs.append(UInt32(truncatingIfNeeded: accumulator)) }
        while let top = limbs.last, top == 0 { limbs.removeLast() }
        return limbs
    }
}
