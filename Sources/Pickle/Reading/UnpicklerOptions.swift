/// How the unpickler decodes Python 2 byte strings (STRING, BINSTRING, SHORT_BINSTRING): CPython's
/// `encoding` argument.
public enum StringEncoding: String, Sendable, CaseIterable {
    /// 7-bit ASCII (CPython's default).
    case ascii
    /// ISO-8859-1: every byte is the code point of the same value. Right for Python 2 pickles of binary data
    /// such as numpy arrays and datetime objects.
    case latin1
    /// UTF-8.
    case utf8
    /// Keep the bytes: the values become `bytes` instead of `str`.
    case bytes

    /// Parses the names CPython accepts for these codecs (`'ASCII'`, `'latin-1'`, `'utf8'`, `'bytes'`, ...).
    public init?(pythonName: String) {
        switch String(pythonName.lowercased().map { $0 == "_" ? "-" : $0 }) {
        case "ascii", "us-ascii", "646": self = .ascii
        case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1", "8859", "cp819", "latin": self = .latin1
        case "utf8", "utf-8", "u8", "utf": self = .utf8
        case "bytes": self = .bytes
        default: return nil
        }
    }
}

/// What happens to bytes the ``StringEncoding`` cannot decode: CPython's `errors` argument.
public enum DecodingErrorPolicy: String, Sendable, CaseIterable {
    /// Fail with ``PickleError/Code/decodingFailed`` (CPython's default).
    case strict
    /// Replace each undecodable byte with U+FFFD.
    case replace
    /// Drop undecodable bytes.
    case ignore
    /// Map each undecodable byte `b` to the lone surrogate U+DC00+b (lossless: re-encodable).
    case surrogateescape
}

/// Whether the memo lives for one pickle or for the whole stream.
public enum MemoMode: Sendable {
    /// A fresh memo for every pickle: right for files of independent pickles written by separate
    /// `pickle.dump` calls or picklers. The default, because the other mode silently aliases objects when the
    /// pickles were independent (protocol 4's MEMOIZE numbers entries by count).
    case perPickle
    /// One memo for the stream, as one CPython `Unpickler` instance calling `load()` repeatedly: right for
    /// streams written by one `Pickler` across many `dump` calls.
    case session
}

/// Bounds that keep hostile input from exhausting memory. Every limit is checked before anything is allocated.
public struct UnpicklerLimits: Sendable, Equatable {
    /// The largest single payload (str, bytes, bytearray, big integer, frame) in bytes.
    public var maxPayloadBytes: Int = 1 << 40
    /// The most memo entries in one memo.
    public var maxMemoEntries: Int = 1 << 26
    /// The largest memo index a PUT may use.
    public var maxMemoIndex: Int = 1 << 32
    /// The most values and MARKs on the unpickler stack at once.
    public var maxStackDepth: Int = 1 << 26
    /// The most decimal digits of a text integer (CPython 3.11's `sys.int_max_str_digits`).
    public var maxIntDigits: Int = 4300

    /// The default limits: generous enough for every legitimate pickle CPython writes.
    public init() {}
}

/// Options of the unpickler: CPython's `Unpickler` arguments plus the memo mode and limits.
public struct UnpicklerOptions: Sendable {
    /// How Python 2 byte strings are decoded. Default `.ascii`, as CPython.
    public var encoding: StringEncoding = .ascii
    /// What to do with undecodable bytes. Default `.strict`, as CPython.
    public var errors: DecodingErrorPolicy = .strict
    /// Map Python 2 module and class names to Python 3 ones when the stream's protocol is below 3.
    public var fixImports = true
    /// Whether the memo survives from one pickle to the next.
    public var memoMode: MemoMode = .perPickle
    /// Resource limits.
    public var limits = UnpicklerLimits()
    /// The copyreg extension registry for EXT1/EXT2/EXT4: code -> global. Codes not in it stay inert.
    public var extensionRegistry: [Int: GlobalName] = [:]

    /// The default options (CPython's defaults).
    public init() {}
}
