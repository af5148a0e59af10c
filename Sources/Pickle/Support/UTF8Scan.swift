/// Small UTF-8 scanners for decoding Python 2 strings with `encoding='utf-8'`.
enum UTF8Scan {
    /// Whether every byte is below 0x80, eight bytes at a time.
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var k = 0
        let n = bytes.count
        while k + 8 <= n {
            if bytes.loadUnaligned(fromByteOffset: k, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            k += 8
        }
        while k < n {
            if bytes[k] >= 0x80 { return false }
            k += 1
        }
        return true
    }

    /// Strict UTF-8 (surrogates rejected), as Python's `'utf-8'` codec.
    static func isValidStrict(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var k = 0
        while k < bytes.count {
            guard let (_, length) = decodeOne(bytes, k) else { return false }
            k += length
        }
        return true
    }

    /// Decodes one scalar at `k` with strict UTF-8 rules (no overlongs, no surrogates, at most U+10FFFF).
    static func decodeOne(_ bytes: UnsafeRawBufferPointer, _ k: Int) -> (UInt32, Int)? {
        let n = bytes.count
        let b0 = bytes[k]
        if b0 < 0x80 { return (UInt32(b0), 1) }
        let length: Int, minimum: UInt32
        var scalar: UInt32
        switch b0 {
        case 0xC2 ... 0xDF: length = 2; minimum = 0x80; scalar = UInt32(b0 & 0x1F)
        case 0xE0 ... 0xEF: length = 3; minimum = 0x800; scalar = UInt32(b0 & 0x0F)
        case 0xF0 ... 0xF4: length = 4; minimum = 0x10000; scalar = UInt32(b0 & 0x07)
        default: return nil
        }
        guard k + length <= n else { return nil }
        for j in 1 ..< length {
            let b = bytes[k + j]
            guard b & 0xC0 == 0x80 else { return nil }
            scalar = scalar << 6 | UInt32(b & 0x3F)
        }
        guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800 ... 0xDFFF).contains(scalar) else { return nil }
        return (scalar, length)
    }
}
