/// How the unpickler decodes Python 2 byte strings (STRING, BINSTRING, SHORT_BINSTRING): CPython's
/// `encoding` argument, any text codec CPython knows.
///
/// Made from CPython's name of a codec or any of its aliases (``init(pythonName:)``); the four codecs
/// pickles of Python 2 data use most are constants. ASCII, Latin-1 and UTF-8 are decoded here; the
/// single-byte codecs (cp1251, koi8_r, mac_roman, cp437, iso8859_*, ...) through 256-entry tables made from
/// CPython's own; multibyte codecs (shift_jis, euc_jp, gbk, big5, ...), UTF-16, UTF-32 and UTF-7 through
/// the platform's iconv.
///
/// A value is a small number (the codec's place in the codec table), so options copy and compare cheaply.
public struct StringEncoding: Sendable, Hashable, CustomStringConvertible {
    /// 0...3: the built-in codecs below; 4 + i: entry i of ``PythonCodecTable/codecs``.
    @usableFromInline let id: UInt16

    @inlinable init(id: UInt16) { self.id = id }

    /// 7-bit ASCII (CPython's default).
    @inlinable public static var ascii: StringEncoding { StringEncoding(id: 0) }
    /// ISO-8859-1: every byte is the code point of the same value. Right for Python 2 pickles of binary data
    /// such as numpy arrays and datetime objects.
    @inlinable public static var latin1: StringEncoding { StringEncoding(id: 1) }
    /// UTF-8.
    @inlinable public static var utf8: StringEncoding { StringEncoding(id: 2) }
    /// Keep the bytes: the values become `bytes` instead of `str` (CPython's `encoding='bytes'`).
    @inlinable public static var bytes: StringEncoding { StringEncoding(id: 3) }

    /// The codec CPython would use for `pythonName`, found as `codecs.lookup` finds it: the name is
    /// normalized (ASCII letters lowercased; every run of characters other than letters, digits and `.`
    /// becomes one `_`, dropped at either end) and looked up among the `encodings` package's aliases and
    /// modules. So `"Latin-1"`, `"latin_1"`, `"ISO-8859-1"` and `"l1"` are all Latin-1, `"sjis"` is
    /// shift_jis and `"u8"` and `"cp65001"` are UTF-8. `"bytes"`, exactly, keeps the bytes, as CPython's
    /// unpickler.
    /// - Parameter pythonName: a codec name or alias as Python code would pass it.
    /// - Throws: ``PickleError/Code/unknownCodec`` naming the codec when CPython does not know it, when it is
    ///   not a text encoding (`hex`, `base64`, ...), or when this library cannot decode it (no glibc
    ///   converter: `hz`, `iso2022_jp_1`, `iso2022_jp_2004`, `iso2022_jp_ext`; CPython's own `idna`,
    ///   `punycode`, `unicode_escape`, `raw_unicode_escape`). CPython looks the codec up only when the first
    ///   Python 2 string is decoded; this library refuses it before reading.
    public init(pythonName: String) throws {
        if pythonName == "bytes" {
            self = .bytes
            return
        }
        let key = StringEncoding.normalize(pythonName)
        let dotless = String(key.map { $0 == "." ? "_" : $0 })
        guard let index = PythonCodecTable.names[key] ?? PythonCodecTable.names[dotless] else {
            throw PickleError(.unknownCodec, offset: 0, "unknown encoding: \(pythonName)")
        }
        let (name, kind) = PythonCodecTable.codecs[index]
        switch kind {
        case .ascii: self = .ascii
        case .latin1: self = .latin1
        case .utf8: self = .utf8
        case .unsupported(let reason):
            throw PickleError(.unknownCodec, offset: 0, "the codec '\(name)' (from '\(pythonName)') \(reason)")
        case .utf8Sig, .table:
            self.init(id: UInt16(4 + index))
        case .iconv(let converter, _, _, _, _):
            self.init(id: UInt16(4 + index))
            guard CodecDecoder.all[index].iconvAvailable else {
                throw PickleError(.unknownCodec, offset: 0, "the codec '\(name)' (from '\(pythonName)') needs the iconv converter \(converter), which this system's iconv lacks")
            }
        }
    }

    /// CPython's canonical name of the codec (`codecs.lookup(name).name`: `"shift_jis"`, `"iso8859-1"`,
    /// `"utf-8"`), or `"bytes"`.
    public var name: String {
        switch id {
        case 0: "ascii"
        case 1: "iso8859-1"
        case 2: "utf-8"
        case 3: "bytes"
        default: PythonCodecTable.codecs[Int(id) - 4].name
        }
    }

    public var description: String { name }

    /// The decoder of a codec of the table (nil for the four built-in ones).
    var decoder: CodecDecoder? { id >= 4 ? CodecDecoder.all[Int(id) - 4] : nil }

    /// CPython's C-level `_Py_normalize_encoding`, which `codecs.lookup` applies before the `encodings`
    /// package sees the name.
    static func normalize(_ name: String) -> String {
        var out: [UInt8] = []
        var punct = false
        for b in name.utf8 {
            let isLetter = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            if isLetter || (b >= 0x30 && b <= 0x39) || b == 0x2E {
                if punct && !out.isEmpty { out.append(0x5F) }
                out.append(b >= 0x41 && b <= 0x5A ? b + 0x20 : b)
                punct = false
            } else {
                punct = true
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The iconv codecs the fuzz targets choose from: multibyte, multibyte with four-byte sequences,
    /// two-byte units with a byte order mark, stateful.
    static let fuzzingMultibyte: [StringEncoding] =
        ["shift_jis", "gb18030", "utf_16", "iso2022_jp"].compactMap { try? StringEncoding(pythonName: $0) }
}

/// How the codec table says a codec is decoded (written by scripts/generate_codec_table.py).
enum CodecKind: Sendable {
    case ascii, latin1, utf8
    /// UTF-8 after an optional byte order mark.
    case utf8Sig
    /// A single-byte codec: the character of each byte, U+FFFE where CPython cannot decode the byte.
    case table(String)
    /// Through iconv: the converter's name, the bytes of the unit an error covers, the byte order mark
    /// read first, whether every ASCII byte decodes to itself whatever surrounds it, and (hexadecimal) the
    /// bytes that CPython never decodes as the start of a sequence.
    case iconv(String, unitBytes: Int, bom: ByteOrderMark, asciiCompatible: Bool, invalidLeads: String)
    /// A codec CPython knows that this library refuses, and why.
    case unsupported(String)
}

/// The byte order mark a UTF-16 or UTF-32 codec without an explicit order reads first.
enum ByteOrderMark: Sendable {
    case none, utf16, utf32
}
