/// Parsers for the decimal text arguments of protocol 0 opcodes, with CPython 3.11's rules.
enum TextNumbers {
    @inline(__always) static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    /// `int(text)` for memo indices: optional whitespace, sign, decimal digits with single underscores.
    /// - Returns: nil when invalid or out of Int range.
    static func decimalInt(_ text: UnsafeRawBufferPointer) -> Int? {
        var lo = 0, hi = text.count
        while lo < hi && isSpace(text[lo]) { lo += 1 }
        while hi > lo && isSpace(text[hi - 1]) { hi -= 1 }
        guard lo < hi else { return nil }
        var negative = false
        if text[lo] == 0x2B || text[lo] == 0x2D { negative = text[lo] == 0x2D; lo += 1 }
        guard lo < hi else { return nil }
        var value = 0
        var lastWasDigit = false
        for k in lo ..< hi {
            let b = text[k]
            if b == 0x5F { if !lastWasDigit { return nil }; lastWasDigit = false; continue }
            guard b >= 0x30 && b <= 0x39 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(b - 0x30))
            if o1 || o2 { return nil }
            value = s
            lastWasDigit = true
        }
        guard lastWasDigit else { return nil }
        return negative ? -value : value
    }

    /// C's `strtol(text, &end, 0)` as the INT opcode uses it.
    /// - Returns: the value and whether the parse consumed the text up to its end or a NUL byte; nil on
    ///   overflow or when no digits were found.
    static func strtolBase0(_ text: UnsafeRawBufferPointer) -> (value: Int64, complete: Bool)? {
        var k = 0
        let n = text.count
        while k < n && isSpace(text[k]) { k += 1 }
        var negative = false
        if k < n && (text[k] == 0x2B || text[k] == 0x2D) { negative = text[k] == 0x2D; k += 1 }
        var base: UInt64 = 10
        if k < n && text[k] == 0x30 {
            if k + 2 < n, text[k + 1] | 0x20 == 0x78, hexValue(text[k + 2]) != nil {
                base = 16
                k += 2
            } else {
                base = 8
            }
        }
        var magnitude: UInt64 = 0
        var digits = 0
        while k < n {
            guard let d = hexValue(text[k]), UInt64(d) < base else { break }
            let (m, o1) = magnitude.multipliedReportingOverflow(by: base)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            magnitude = s
            digits += 1
            k += 1
        }
        guard digits > 0 else { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return (magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude), k == n || text[k] == 0)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return (Int64(magnitude), k == n || text[k] == 0)
    }

    @inline(__always) static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30 ... 0x39: return b - 0x30
        case 0x61 ... 0x66: return b - 0x61 + 10
        case 0x41 ... 0x46: return b - 0x41 + 10
        default: return nil
        }
    }

    /// CPython's `PyOS_string_to_double` as the FLOAT opcode uses it: no whitespace, no underscores, no hex;
    /// `inf`, `infinity`, `nan` in any case. Text after an embedded NUL is ignored.
    /// - Returns: the value, `.overflow` for finite text too large for a double, or nil when malformed.
    static func parseFloat(_ text: UnsafeRawBufferPointer) -> FloatParse? {
        var end = text.count
        if let nul = text.firstIndex(of: 0) { end = nul }
        guard end > 0 else { return nil }
        var k = 0
        if text[0] == 0x2B || text[0] == 0x2D { k = 1 }
        let word = String(decoding: UnsafeRawBufferPointer(rebasing: text[k ..< end]), as: UTF8.self).lowercased()
        let negative = text[0] == 0x2D
        if word == "inf" || word == "infinity" { return .value(negative ? -.infinity : .infinity) }
        if word == "nan" { return .value(negative ? -Double.nan : .nan) }
        // digits [. digits] [e [sign] digits], at least one mantissa digit
        var mantissaDigits = 0
        var j = k
        while j < end, text[j] >= 0x30 && text[j] <= 0x39 { j += 1; mantissaDigits += 1 }
        if j < end, text[j] == 0x2E {
            j += 1
            while j < end, text[j] >= 0x30 && text[j] <= 0x39 { j += 1; mantissaDigits += 1 }
        }
        guard mantissaDigits > 0 else { return nil }
        if j < end, text[j] | 0x20 == 0x65 {
            j += 1
            if j < end, text[j] == 0x2B || text[j] == 0x2D { j += 1 }
            var expDigits = 0
            while j < end, text[j] >= 0x30 && text[j] <= 0x39 { j += 1; expDigits += 1 }
            guard expDigits > 0 else { return nil }
        }
        guard j == end else { return nil }
        guard let value = Double(String(decoding: UnsafeRawBufferPointer(rebasing: text[0 ..< end]), as: UTF8.self)) else {
            return nil
        }
        if value.isInfinite { return .overflow }
        return .value(value)
    }

    enum FloatParse { case value(Double), overflow }
}
