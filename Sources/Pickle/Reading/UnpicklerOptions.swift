/// What happens to bytes the ``StringEncoding`` cannot decode: CPython's `errors` argument, with the semantics
/// of CPython's error handlers. Each decoder reports undecodable input in units (a byte for single-byte
/// codecs, an invalid or truncated sequence for multibyte ones, a code unit for UTF-16 and UTF-32), and the
/// policy decides what a unit becomes.
public enum DecodingErrorPolicy: String, Sendable, CaseIterable {
    /// Fail with ``PickleError/Code/decodingFailed`` naming the codec and the position (CPython's default).
    case strict
    /// Replace each undecodable unit with U+FFFD.
    case replace
    /// Drop undecodable units.
    case ignore
    /// Map each undecodable byte `b` (0x80 and above) to the lone surrogate U+DC00+b, as CPython: lossless,
    /// and kept in the string's UTF-8 as the surrogate's three-byte form, as every lone surrogate this library
    /// reads. A unit that starts with a byte below 0x80 fails as `strict` does.
    case surrogateescape
    /// Replace each undecodable byte with the text `\xNN` (lowercase hexadecimal).
    case backslashreplace
    /// For UTF-8, UTF-16 and UTF-32: decode an encoded lone surrogate as that surrogate. Anything else, and
    /// every error of other codecs, fails as `strict` does.
    case surrogatepass

    /// Parses CPython's name of an error handler (`'strict'`, `'replace'`, ...).
    /// - Throws: ``PickleError/Code/unknownCodec`` for a name CPython does not know for decoding.
    public init(pythonName: String) throws {
        guard let policy = DecodingErrorPolicy(rawValue: pythonName) else {
            throw PickleError(.unknownCodec, offset: 0, "unknown error handler name '\(pythonName)' (known for decoding: strict, replace, ignore, surrogateescape, backslashreplace, surrogatepass)")
        }
        self = policy
    }
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

/// Bounds that keep hostile input from exhausting memory, time or the stack. Each is checked before the
/// memory it guards is allocated, and exceeding one throws ``PickleError/Code/limitExceeded`` naming the
/// offset, the opcode and the limit.
///
/// The defaults let every pickle CPython writes through on a machine that could hold it (a 100,000-deep
/// list, a tuple of ten million items, a payload of gigabytes), and stop the classic attacks: a BINBYTES8 or
/// FRAME declaring 2^63 bytes, ten million MARKs, a LONG4 of a gigabyte, containers nested a million deep,
/// memo indexes far apart. Lower them for services that know their inputs are small.
public struct UnpicklerLimits: Sendable, Equatable {
    /// The largest single payload (str, bytes, bytearray, frame) in bytes. Default 1 TiB: a declared length
    /// is never allocated ahead of the bytes that arrive, so this only refuses absurd declarations early.
    public var maxPayloadBytes: Int = 1 << 40
    /// The largest binary integer (LONG1, LONG4) in bytes. Default 16 MiB, an int of about 40 million decimal
    /// digits; CPython writes larger ones only for deliberately huge numbers. (Text integers are bounded by
    /// ``maxIntDigits``.)
    public var maxIntegerBytes: Int = 1 << 24
    /// The deepest nesting of containers (lists, tuples, dicts, sets, objects) in one pickle, and the most
    /// MARKs open at once. Default 500,000: five times the 100,000-deep list CPython loads, half the
    /// million-deep structures that are only ever attacks. Nothing in this library recurses, so the limit
    /// protects the caller's own recursive code. Depth is measured when the pickle completes, and only for
    /// pickles with more containers than the limit (fewer cannot nest deeper): by one sequential sweep of
    /// the graph when its containers precede their container children (how CPython writes lists, dicts and
    /// sets; about 5% of the decoding time of such a graph), else by a depth-first walk (about 13%).
    public var maxNestingDepth: Int = 500_000
    /// The most memo entries in one memo. Default 2^26.
    public var maxMemoEntries: Int = 1 << 26
    /// The largest memo index a PUT may use. Default 2^32 (far indexes are stored sparsely).
    public var maxMemoIndex: Int = 1 << 32
    /// The most values and MARKs on the unpickler stack at once. Default 2^26.
    public var maxStackDepth: Int = 1 << 26
    /// The most bytes one pickle may decode into, counting every payload's bytes plus 16 bytes for every
    /// value pushed (about what the graph and stack hold). In ``MemoMode/session`` it counts everything since
    /// the stream began, since the memo keeps it all alive, including copies of earlier objects. Default
    /// 16 GiB.
    public var maxDecodedBytes: Int = 1 << 34
    /// The most decimal digits of a text integer (CPython 3.11's `sys.int_max_str_digits`).
    public var maxIntDigits: Int = 4300

    /// The default limits: generous enough for every legitimate pickle CPython writes.
    @inlinable public init() {}
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
    public var extensionRegistry: [Int: GlobalName] {
        get { registry?.entries ?? [:] }
        set { registry = newValue.isEmpty ? nil : ExtensionRegistry(newValue) }
    }

    /// The registry, nil while it is empty (nearly always). Options without one hold no reference: making,
    /// comparing and destroying the default options that every `Unpickler.loads` call passes no longer makes
    /// and releases an empty dictionary (~20 of the ~1,880 instructions of decoding a 5-byte pickle).
    @usableFromInline var registry: ExtensionRegistry?

    /// The default options (CPython's defaults).
    ///
    /// Inlinable, as are the limits' defaults: a caller that passes the default options makes them with a few
    /// stores instead of a call into the library (~15 instructions per `Unpickler.loads`).
    @inlinable public init() {}

    /// Whether `other` is equal to these options, neither having an extension registry (a cheap check, not
    /// `==`: two equal registries compare unequal here).
    @inline(__always)  // compared in place: called, the parser's options were first copied to the stack
    func isPlainlyEqual(to other: UnpicklerOptions) -> Bool {
        encoding == other.encoding && errors == other.errors && fixImports == other.fixImports
            && memoMode == other.memoMode && limits == other.limits && registry == nil && other.registry == nil
    }

    /// The global an extension code names, if the registry has it.
    func extensionGlobal(_ code: Int) -> GlobalName? { registry?.entries[code] }
}

/// A non-empty extension registry, never changed once made (setting the option makes a new one), so options
/// values share it freely.
@usableFromInline final class ExtensionRegistry: Sendable {
    let entries: [Int: GlobalName]
    init(_ entries: [Int: GlobalName]) { self.entries = entries }
}
