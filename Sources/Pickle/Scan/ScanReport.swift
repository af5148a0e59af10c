/// A file's verdict, from best to worst: `safe` only when the whole input was read and every finding is
/// informational.
public enum ScanVerdict: String, Sendable, Comparable, CaseIterable, Codable {
    /// Everything the pickles use is allowed by the policy, and nothing about them is odd.
    case safe
    /// Something not allowed or out of the ordinary, not known to be dangerous (an unknown class, a
    /// redefined memo index, a discarded call).
    case suspicious
    /// The scan could not finish (a malformed pickle, a budget hit): never safe.
    case error
    /// A dangerous callable, a call of a call's result, or a global mutated in place.
    case dangerous

    private var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (lhs: ScanVerdict, rhs: ScanVerdict) -> Bool { lhs.rank < rhs.rank }
}

/// One thing the scanner found.
public struct ScanFinding: Sendable, Hashable, Codable {
    /// What kind of thing.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// A global referenced but not called: importing its module runs the module's code.
        case global
        /// A global called (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ, or a copyreg reconstructor).
        case call
        /// A call whose callable is the result of another call (`getattr(module, name)(...)`).
        case indirectCall
        /// State applied to an object (`__setstate__` or its `__dict__`) made by a global the policy
        /// does not allow.
        case build
        /// A global changed in place (BUILD, SETITEM or APPEND on a class, a module or a shared object).
        case mutation
        /// An allowed call whose arguments break the policy's constraint.
        case argumentConstraint
        /// A persistent id: what it loads is the loader's `persistent_load`.
        case persistentID
        /// A copyreg extension code (EXT1/2/4): what it names is the loader's registry.
        case extensionCode
        /// A call whose result nothing keeps (POPped, or left on the stack): made for its side effect.
        case unusedCall
        /// A PROTO that does not open its pickle.
        case protoInsidePickle
        /// A FRAME below protocol 4.
        case frameBelowProtocol4
        /// A memo index stored twice: later GETs see the second value.
        case memoIndexRedefined
        /// More than one pickle in one input: most loaders read only the first.
        case severalPickles
        /// Bytes after the last pickle that are not a pickle.
        case trailingBytes
        /// A graph whose shared references expand to far more values than it has (memo fan-out).
        case expansion
        /// A pickle found inside a value (bytes holding a pickle) and scanned too.
        case nestedPickle
        /// Input that could not be read to its end: the scan of that part could not finish.
        case unreadable
        /// A limit of the scan was reached before the end.
        case budget
    }

    /// What kind of thing.
    public var kind: Kind
    /// How bad it is: `safe` for a finding that is only information.
    public var severity: ScanVerdict
    /// Where in the input: empty for the input itself, else the path to the stream scanned (`archive/data.pkl`,
    /// `zstd`, `pickle 2`, `bytes at 120`, joined by ` > `).
    public var location: String
    /// The byte offset of the opcode (or the place) in the stream the location names.
    public var offset: Int
    /// The same place as an offset in the file scanned, when the stream lies in it as it is (the file
    /// itself, a stored zip entry); nil inside deflated, decompressed or embedded data.
    public var fileOffset: Int?
    /// The global involved, `module.name`, when there is one.
    public var global: String?
    /// The call, as Python would show it, when there is one.
    public var call: String?
    /// A sentence saying what was found and why it matters.
    public var message: String

    public init(kind: Kind, severity: ScanVerdict, location: String, offset: Int, global: String? = nil, call: String? = nil, message: String) {
        self.kind = kind
        self.severity = severity
        self.location = location
        self.offset = offset
        self.global = global
        self.call = call
        self.message = message
    }
}

/// How a global is used in a pickle.
public enum GlobalUse: String, Sendable, Hashable, Codable, CaseIterable {
    /// Pushed on the stack (GLOBAL, STACK_GLOBAL), nothing more.
    case referenced
    /// Called, or instantiated.
    case called
    /// Called, and the result called in turn (or used as a class).
    case resultCalled
    /// The class or callable of an object that state was applied to (BUILD).
    case buildTarget
    /// Changed in place by BUILD, SETITEM or APPEND.
    case mutated
    /// The storage type of a persistent id.
    case persistentIDType
}

/// A global a pickle references, where first, and how it is used.
public struct ScannedGlobal: Sendable, Hashable, Codable {
    /// `module.name`.
    public var name: String
    /// The location of the stream, as in ``ScanFinding/location``.
    public var location: String
    /// The offset of its first GLOBAL, STACK_GLOBAL or INST opcode.
    public var offset: Int
    /// How it is used, in ``GlobalUse`` order.
    public var uses: [GlobalUse]
    /// Whether the policy allows it.
    public var isAllowed: Bool
}

/// What scanning one input found.
public struct ScanReport: Sendable, Codable {
    /// The worst severity among the findings (`safe` when there are none above information).
    public var verdict: ScanVerdict
    /// The policy scanned under.
    public var policy: String
    /// Every finding, in input order.
    public var findings: [ScanFinding]
    /// Every global referenced, in input order.
    public var globals: [ScannedGlobal]
    /// How many pickles were scanned, nested and contained ones included.
    public var pickleCount: Int
    /// The input's size in bytes.
    public var byteCount: Int
    /// What the input was read as: `pickle`, `zip`, `npy`, `zstd`.
    public var container: String
}
