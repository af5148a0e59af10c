/// A Python value as a plain Swift enum tree: the convenient form for building values, literals and pattern
/// matching on acyclic data.
///
/// The lossless form of a decoded pickle is ``PickleGraph``, which keeps sharing and cycles. Convert with
/// ``PickleGraph/init(_:)`` and ``PickleNode/value()``; a cycle or a depth beyond the conversion limit
/// throws rather than looping or overflowing the stack.
public indirect enum PickleValue: Sendable {
    /// `None`.
    case none
    /// `True` / `False`.
    case bool(Bool)
    /// An `int` that fits in 64 bits.
    case int(Int)
    /// An `int` of any size, as minimal two's-complement little-endian bytes.
    case bigInt(twosComplementLE: [UInt8])
    /// A `float` (bit-exact: `-0.0` and nan payloads are kept).
    case float(Double)
    /// A `str`. (A str with lone surrogates, which `String` cannot hold, is ``rawString(utf8:)``.)
    case string(String)
    /// A `str` as UTF-8 bytes in which lone surrogates are allowed (Python's `surrogatepass`).
    case rawString(utf8: [UInt8])
    /// `bytes`.
    case bytes([UInt8])
    /// `bytearray`.
    case byteArray([UInt8])
    /// `list`.
    case list([PickleValue])
    /// `tuple`.
    case tuple([PickleValue])
    /// `dict`, in insertion order.
    case dict([DictEntry])
    /// `set`.
    case set([PickleValue])
    /// `frozenset`.
    case frozenSet([PickleValue])
    /// A module-level name such as a class or function (never imported).
    case global(GlobalName)
    /// An inert object: how it was constructed and what was done to it.
    case object(ObjectValue)
    /// A protocol 5 out-of-band buffer.
    case buffer(OutOfBandBuffer)

    /// One key/value pair of a ``PickleValue/dict(_:)``.
    public struct DictEntry: Sendable {
        /// The key.
        public var key: PickleValue
        /// The value.
        public var value: PickleValue
        /// Creates a pair.
        public init(_ key: PickleValue, _ value: PickleValue) {
            self.key = key
            self.value = value
        }
    }

    /// An inert object in value form: ``ObjectConstructor`` and ``ObjectOperation`` with values in place of
    /// references.
    public struct ObjectValue: Sendable {
        /// How the object is created.
        public var constructor: Constructor
        /// What is done to it afterwards, in order.
        public var operations: [Operation]

        /// Creates an object value.
        public init(_ constructor: Constructor, operations: [Operation] = []) {
            self.constructor = constructor
            self.operations = operations
        }

        /// See ``ObjectConstructor``.
        public enum Constructor: Sendable {
            case reduce(callable: PickleValue, args: [PickleValue])
            case newObject(cls: PickleValue, args: [PickleValue])
            case newObjectEx(cls: PickleValue, args: [PickleValue], kwargs: [DictEntry])
            case instance(cls: PickleValue)
            case inst(cls: GlobalName, args: [PickleValue])
            case obj(cls: PickleValue, args: [PickleValue])
            case persistent(id: PickleValue, textual: Bool)
            case ext(code: Int)
        }

        /// See ``ObjectOperation``.
        public enum Operation: Sendable {
            case extend([PickleValue])
            case setItem(key: PickleValue, value: PickleValue)
            case add(PickleValue)
            case build(state: PickleValue)
        }
    }
}

// MARK: - Literals

extension PickleValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .none }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .float(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array literal is a Python `list`.
    public init(arrayLiteral elements: PickleValue...) { self = .list(elements) }
    /// A dictionary literal is a Python `dict`, in the literal's order.
    public init(dictionaryLiteral elements: (PickleValue, PickleValue)...) {
        self = .dict(elements.map { DictEntry($0.0, $0.1) })
    }
}
