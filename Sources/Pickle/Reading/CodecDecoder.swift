/// Decoding Python 2 byte strings with any codec of the table, and CPython's error handlers.
///
/// Every decoder finds undecodable input as a unit (a half-open byte range and CPython's reason) and hands it
/// to ``TextDecoding/handle(_:_:_:_:surrogate:out:)``, which applies the error policy exactly as CPython's
/// handlers do and says where decoding resumes. Output is UTF-8, lone surrogates in their three-byte form
/// (how this library keeps every Python string).

/// An undecodable unit under `strict` (or a handler that gives up as strict does): what CPython's
/// `UnicodeDecodeError` says.
struct CodecFailure: Error {
    /// The codec's canonical name.
    let codec: String
    /// The unit: bytes `start ..< end` of the string.
    let start: Int
    let end: Int
    /// The unit's bytes (at most a few).
    let bytes: [UInt8]
    /// CPython's reason (`illegal multibyte sequence`, `character maps to <undefined>`, ...).
    let reason: String

    /// CPython's message: `'koi8-r' codec can't decode byte 0x98 in position 3: ...`.
    var message: String {
        let what = end - start == 1
            ? "byte 0x\(Self.hex(bytes.first ?? 0)) in position \(start)"
            : "bytes in position \(start)-\(end - 1)"
        return "'\(codec)' codec can't decode \(what): \(reason)"
    }

    static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }
}

enum TextDecoding {
    /// One undecodable unit: bytes `start ..< end` and CPython's reason.
    struct Unit {
        let start: Int
        let end: Int
        let reason: StaticString
    }

    // MARK: - Error handlers

    /// Applies `errors` to `unit`, appending what replaces it to `out`.
    /// - Parameter surrogate: for surrogatepass, the lone surrogate encoded at an index and its length in
    ///   bytes, if one is (nil for codecs surrogatepass does not apply to).
    /// - Returns: the index decoding resumes at.
    /// - Throws: the failure, under `strict` and when a handler gives up as CPython's does.
    static func handle(_ unit: Unit, _ bytes: UnsafeRawBufferPointer, _ errors: DecodingErrorPolicy, _ codec: String,
                       surrogate: ((Int) -> (UInt32, Int)?)? = nil, out: inout [UInt8]) throws(CodecFailure) -> Int {
        switch errors {
        case .strict:
            break
        case .replace:
            out.append(contentsOf: [0xEF, 0xBF, 0xBD] as [UInt8])
            return unit.end
        case .ignore:
            return unit.end
        case .backslashreplace:
            for k in unit.start ..< unit.end {
                let text = CodecFailure.hex(bytes[k])
                out.append(0x5C)
                out.append(0x78)
                out.append(contentsOf: text.utf8)
            }
            return unit.end
        case .surrogateescape:
            // CPython escapes up to four bytes of the unit from its start while they are 0x80 or above, and
            // resumes after them; a unit starting below 0x80 is an error.
            var k = unit.start
            while k < unit.end && k - unit.start < 4 && bytes[k] >= 0x80 {
                appendUTF8(0xDC00 + UInt32(bytes[k]), to: &out)
                k += 1
            }
            if k > unit.start { return k }
        case .surrogatepass:
            if let surrogate, let (point, length) = surrogate(unit.start) {
                appendUTF8(point, to: &out)
                return unit.start + length
            }
        }
        throw failure(unit, bytes, codec)
    }

    static func failure(_ unit: Unit, _ bytes: UnsafeRawBufferPointer, _ codec: String) -> CodecFailure {
        CodecFailure(codec: codec, start: unit.start, end: unit.end,
                     bytes: Array(bytes[unit.start ..< min(unit.end, unit.start + 8)]), reason: "\(unit.reason)")
    }

    /// Appends the UTF-8 form of a code point (a lone surrogate as its three-byte form).
    @inline(__always)
    static func appendUTF8(_ point: UInt32, to out: inout [UInt8]) {
        switch point {
        case 0 ..< 0x80:
            out.append(UInt8(point))
        case 0x80 ..< 0x800:
            out.append(UInt8(0xC0 | point >> 6))
            out.append(UInt8(0x80 | point & 0x3F))
        case 0x800 ..< 0x10000:
            out.append(UInt8(0xE0 | point >> 12))
            out.append(UInt8(0x80 | point >> 6 & 0x3F))
            out.append(UInt8(0x80 | point & 0x3F))
        default:
            out.append(UInt8(0xF0 | point >> 18))
            out.append(UInt8(0x80 | point >> 12 & 0x3F))
            out.append(UInt8(0x80 | point >> 6 & 0x3F))
            out.append(UInt8(0x80 | point & 0x3F))
        }
    }

    // MARK: - Built-in codecs

    /// ASCII: each byte of 0x80 or above is a unit.
    static func decodeASCII(_ bytes: UnsafeRawBufferPointer, _ errors: DecodingErrorPolicy) throws(CodecFailure) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var k = 0
        while k < bytes.count {
            let b = bytes[k]
            if b < 0x80 {
                out.append(b)
                k += 1
            } else {
                k = try handle(Unit(start: k, end: k + 1, reason: "ordinal not in range(128)"), bytes, errors, "ascii", out: &out)
            }
        }
        return out
    }

    /// Latin-1: never fails.
    static func decodeLatin1(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { appendUTF8(UInt32(b), to: &out) }
        return out
    }

    /// UTF-8 as CPython's decoder: a unit is an invalid start byte, or a valid start byte with the
    /// continuation bytes that are still valid before the one that is not (the maximal invalid
    /// subsequence), or the valid prefix that the input ends inside.
    /// - Parameter codec: the name errors report (`utf-8` or `utf-8-sig`).
    static func decodeUTF8(_ bytes: UnsafeRawBufferPointer, from start: Int, _ errors: DecodingErrorPolicy,
                           _ codec: String) throws(CodecFailure) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count - start)
        let n = bytes.count
        var k = start
        while k < n {
            let b0 = bytes[k]
            if b0 < 0x80 {
                out.append(b0)
                k += 1
                continue
            }
            let length: Int, low: UInt8, high: UInt8
            switch b0 {
            case 0xC2 ... 0xDF: length = 2; low = 0x80; high = 0xBF
            case 0xE0: length = 3; low = 0xA0; high = 0xBF
            case 0xED: length = 3; low = 0x80; high = 0x9F
            case 0xE1 ... 0xEF: length = 3; low = 0x80; high = 0xBF
            case 0xF0: length = 4; low = 0x90; high = 0xBF
            case 0xF1 ... 0xF3: length = 4; low = 0x80; high = 0xBF
            case 0xF4: length = 4; low = 0x80; high = 0x8F
            default:
                k = try handle(Unit(start: k, end: k + 1, reason: "invalid start byte"), bytes, errors, codec,
                               surrogate: surrogateUTF8(bytes), out: &out)
                continue
            }
            var valid = 1
            while valid < length && k + valid < n {
                let b = bytes[k + valid]
                let (lo, hi) = valid == 1 ? (low, high) : (UInt8(0x80), UInt8(0xBF))
                guard b >= lo && b <= hi else { break }
                valid += 1
            }
            if valid == length {
                for j in 0 ..< length { out.append(bytes[k + j]) }
                k += length
            } else if k + valid == n {
                k = try handle(Unit(start: k, end: n, reason: "unexpected end of data"), bytes, errors, codec,
                               surrogate: surrogateUTF8(bytes), out: &out)
            } else {
                k = try handle(Unit(start: k, end: k + valid, reason: "invalid continuation byte"), bytes, errors, codec,
                               surrogate: surrogateUTF8(bytes), out: &out)
            }
        }
        return out
    }

    /// surrogatepass for UTF-8: `ED A0...BF 80...BF` at an index is a lone surrogate.
    static func surrogateUTF8(_ bytes: UnsafeRawBufferPointer) -> (Int) -> (UInt32, Int)? {
        { k in
            guard k + 3 <= bytes.count, bytes[k] == 0xED, (0xA0 ... 0xBF).contains(bytes[k + 1]),
                  (0x80 ... 0xBF).contains(bytes[k + 2]) else { return nil }
            return (0xD000 | UInt32(bytes[k + 1] & 0x3F) << 6 | UInt32(bytes[k + 2] & 0x3F), 3)
        }
    }
}

// MARK: - Codecs of the table

/// The decoder of one codec of ``PythonCodecTable``: made once per process for every codec, shared by all
/// parsers (immutable apart from the iconv pools, which lock).
final class CodecDecoder: Sendable {
    /// One decoder per entry of ``PythonCodecTable/codecs``, in the same order.
    static let all: [CodecDecoder] = PythonCodecTable.codecs.map { CodecDecoder(name: $0.name, kind: $0.kind) }

    /// CPython's canonical name, which errors report.
    let name: String
    let mode: Mode
    /// For ``Mode/table``: for each byte, its character's UTF-8 bytes (low three bytes) and their count (high
    /// byte); 0 where CPython cannot decode the byte. Empty for the other modes.
    private let table: [UInt32]
    /// For ``Mode/table``: every byte below 0x80 decodes to itself.
    private let tableIsASCIIIdentity: Bool
    /// For ``Mode/iconv``: the converter and what decoding through it needs.
    private let iconv: IconvCodec?

    /// How the codec decodes. The data of each mode is kept in stored properties rather than in payloads of
    /// this enum: Swift keeps an enum's case in spare bits of its payload's pointers, which LeakSanitizer
    /// then cannot follow, so the fuzz targets reported the arrays of every iconv codec as leaked.
    enum Mode: Sendable {
        case utf8Sig
        case table
        case iconv
        case unsupported
    }

    /// An iconv codec: `pool` converts it (for UTF-16 and UTF-32 read with a byte order mark, the
    /// little-endian form, and `bigEndian` the other).
    struct IconvCodec: Sendable {
        let pool: IconvPool
        let bigEndian: IconvPool?
        let unitBytes: Int
        let bom: ByteOrderMark
        let asciiCompatible: Bool
        /// Bytes CPython never decodes at the start of a sequence (for each byte, whether it is one), which
        /// glibc may decode alone, so they are checked here.
        let invalidLeads: [Bool]
    }

    init(name: String, kind: CodecKind) {
        self.name = name
        var table: [UInt32] = []
        var identity = false
        var iconv: IconvCodec?
        switch kind {
        case .ascii, .latin1, .utf8, .unsupported:
            mode = .unsupported  // the built-in codecs have their own decoders
        case .utf8Sig:
            mode = .utf8Sig
        case .table(let characters):
            mode = .table
            table = [UInt32](repeating: 0, count: 256)
            identity = true
            for (b, scalar) in characters.unicodeScalars.enumerated() where b < 256 {
                if b < 0x80 && scalar.value != UInt32(b) { identity = false }
                if scalar.value == 0xFFFE { continue }
                var utf8: [UInt8] = []
                TextDecoding.appendUTF8(scalar.value, to: &utf8)
                var packed = UInt32(utf8.count) << 24
                for (j, u) in utf8.enumerated() { packed |= UInt32(u) << (8 * UInt32(j)) }
                table[b] = packed
            }
        case .iconv(let converter, let unitBytes, let bom, let asciiCompatible, let leadsHex):
            mode = .iconv
            let other = bom == .none ? nil : IconvPool(converter: String(converter.dropLast(2)) + "BE")
            var leads = [Bool](repeating: false, count: 256)
            let digits = Array(leadsHex.utf8).map { Int($0 >= 0x61 ? $0 - 0x61 + 10 : $0 - 0x30) }
            for j in stride(from: 0, to: digits.count - 1, by: 2) { leads[digits[j] << 4 | digits[j + 1]] = true }
            iconv = IconvCodec(pool: IconvPool(converter: converter, asciiCompatible: asciiCompatible), bigEndian: other,
                               unitBytes: unitBytes, bom: bom, asciiCompatible: asciiCompatible, invalidLeads: leads)
        }
        self.table = table
        self.tableIsASCIIIdentity = identity
        self.iconv = iconv
    }

    /// Whether the system's iconv has this codec's converter (always true for the other kinds).
    var iconvAvailable: Bool {
        guard let iconv else { return true }
        return iconv.pool.isAvailable && (iconv.bigEndian?.isAvailable ?? true)
    }

    /// Whether `bytes` that are all ASCII decode to themselves.
    var decodesASCIIAsItself: Bool {
        switch mode {
        case .utf8Sig: true
        case .table: tableIsASCIIIdentity
        case .iconv: iconv?.asciiCompatible ?? false
        case .unsupported: false
        }
    }

    /// Decodes `bytes` to UTF-8 under `errors`.
    func decode(_ bytes: UnsafeRawBufferPointer, _ errors: DecodingErrorPolicy) throws(CodecFailure) -> [UInt8] {
        switch mode {
        case .utf8Sig:
            let hasBOM = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
            // CPython decodes what follows the mark: positions in errors count from there.
            let rest = UnsafeRawBufferPointer(rebasing: bytes[(hasBOM ? 3 : 0)...])
            return try TextDecoding.decodeUTF8(rest, from: 0, errors, name)
        case .table:
            return try decodeTable(bytes, table, errors)
        case .iconv:
            guard let iconv else { throw CodecFailure(codec: name, start: 0, end: 0, bytes: [], reason: "not supported") }
            return try decodeIconv(bytes, iconv.pool, iconv.bigEndian, iconv.unitBytes, iconv.bom, iconv.invalidLeads, errors)
        case .unsupported:
            throw CodecFailure(codec: name, start: 0, end: 0, bytes: [], reason: "not supported")
        }
    }

    // MARK: - Single-byte codecs

    private func decodeTable(_ bytes: UnsafeRawBufferPointer, _ table: [UInt32], _ errors: DecodingErrorPolicy) throws(CodecFailure) -> [UInt8] {
        let n = bytes.count
        // Fast path: three bytes of output at most per input byte, plus a word of slack for the unaligned
        // four-byte stores.
        var failed = false
        let fast = [UInt8](unsafeUninitializedCapacity: n * 3 + 4) { out, count in
            table.withUnsafeBufferPointer { t in
                var w = 0
                for k in 0 ..< n {
                    let e = t[Int(bytes[k])]
                    if e == 0 { failed = true; break }
                    UnsafeMutableRawPointer(out.baseAddress! + w).storeBytes(of: e.littleEndian, as: UInt32.self)
                    w &+= Int(e >> 24)
                }
                count = failed ? 0 : w
            }
        }
        if !failed { return fast }
        var out: [UInt8] = []
        out.reserveCapacity(n * 3)
        var k = 0
        while k < n {
            let e = table[Int(bytes[k])]
            if e != 0 {
                for j in 0 ..< Int(e >> 24) { out.append(UInt8(truncatingIfNeeded: e >> (8 * UInt32(j)))) }
                k += 1
            } else {
                k = try TextDecoding.handle(.init(start: k, end: k + 1, reason: "character maps to <undefined>"),
                                            bytes, errors, name, out: &out)
            }
        }
        return out
    }

    // MARK: - iconv codecs

    private func decodeIconv(_ bytes: UnsafeRawBufferPointer, _ littleEndian: IconvPool, _ bigEndianPool: IconvPool?,
                             _ unitBytes: Int, _ bom: ByteOrderMark, _ invalidLeads: [Bool],
                             _ errors: DecodingErrorPolicy) throws(CodecFailure) -> [UInt8] {
        var pool = littleEndian
        var start = 0
        var bigEndian = name.hasSuffix("-be")
        switch bom {
        case .none: break
        case .utf16:
            if bytes.count >= 2 && bytes[0] == 0xFF && bytes[1] == 0xFE { start = 2 }
            if bytes.count >= 2 && bytes[0] == 0xFE && bytes[1] == 0xFF { start = 2; bigEndian = true }
        case .utf32:
            if bytes.count >= 4 && bytes[0] == 0xFF && bytes[1] == 0xFE && bytes[2] == 0 && bytes[3] == 0 { start = 4 }
            if bytes.count >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0xFE && bytes[3] == 0xFF {
                start = 4
                bigEndian = true
            }
        }
        if bigEndian, let bigEndianPool { pool = bigEndianPool }
        let name = self.name
        let surrogate: ((Int) -> (UInt32, Int)?)? = unitBytes == 1 ? nil : { k in
            guard k + unitBytes <= bytes.count else { return nil }
            var value: UInt32 = 0
            for j in 0 ..< unitBytes {
                let b = UInt32(bytes[bigEndian ? k + j : k + unitBytes - 1 - j])
                value = value << 8 | b
            }
            return (0xD800 ... 0xDFFF).contains(value) ? (value, unitBytes) : nil
        }
        let (invalid, incomplete): (StaticString, StaticString) = unitBytes == 1
            ? ("illegal multibyte sequence", "incomplete multibyte sequence")
            : ("illegal encoding", "truncated data")
        let result = try pool.withDescriptor { d, fixups throws(CodecFailure) -> [UInt8] in
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count * 2)
            var k = start
            // glibc is given the input up to the next byte CPython never starts a sequence with: if the
            // conversion ends cleanly there, that byte starts a sequence, and is an error; if it ends inside a
            // sequence, the byte continues it, and conversion goes on past it.
            var scanFrom = start
            while k < bytes.count {
                var limit = scanFrom
                while limit < bytes.count && !invalidLeads[Int(bytes[limit])] { limit += 1 }
                let view = UnsafeRawBufferPointer(rebasing: bytes[0 ..< limit])
                switch IconvPool.convert(d, view, from: k, into: &out) {
                case .done:
                    guard limit < bytes.count else { k = bytes.count; break }
                    let unit = TextDecoding.Unit(start: limit, end: limit + 1, reason: invalid)
                    k = try TextDecoding.handle(unit, bytes, errors, name, surrogate: surrogate, out: &out)
                    scanFrom = k
                case .invalid(let p):
                    let unit = TextDecoding.Unit(start: p, end: min(bytes.count, p + unitBytes), reason: invalid)
                    k = try TextDecoding.handle(unit, bytes, errors, name, surrogate: surrogate, out: &out)
                    scanFrom = max(scanFrom, k)
                case .incomplete(let p):
                    if limit < bytes.count {
                        k = p
                        scanFrom = limit + 1
                        continue
                    }
                    let unit = TextDecoding.Unit(start: p, end: bytes.count, reason: incomplete)
                    k = try TextDecoding.handle(unit, bytes, errors, name, surrogate: surrogate, out: &out)
                    scanFrom = max(scanFrom, k)
                }
            }
            if !fixups.isEmpty { IconvPool.apply(fixups, to: &out) }
            return out
        }
        guard let result else {
            throw CodecFailure(codec: name, start: 0, end: 0, bytes: [], reason: "no iconv converter \(pool.converter)")
        }
        return result
    }
}
