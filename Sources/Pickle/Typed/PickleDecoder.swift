#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

/// Decodes `Decodable` Swift values from pickles, as `JSONDecoder` does from JSON.
///
/// It reads the decoded graph in place: no intermediate value tree, and no copy of a string or byte payload
/// that the type does not ask for (a field of type ``PickleNode`` or `ArraySlice<UInt8>` shares the graph's
/// bytes; `Data` and `[UInt8]` copy once).
///
/// ```swift
/// struct Event: Decodable { let seq: Int; let msg: String; let ok: Bool }
/// let event = try PickleDecoder().decode(Event.self, from: bytes)
/// ```
///
/// Python's looseness where Swift code expects it:
/// - dicts with `str` keys, and objects' state (a class instance's `__dict__` or `__slots__` state, applied by
///   BUILD, and a dict subclass's items), are keyed containers, so a dataclass or a plain class instance
///   decodes into a struct;
/// - lists, tuples, sets, frozensets, and objects built by appending (`deque`, list subclasses) or from
///   arguments (`namedtuple`) are unkeyed containers, so they decode into arrays and `Set`;
/// - dict keys of any type: `str` keys into `[String: T]`, `int` keys into `[Int: T]`, either into
///   `CodingKeyRepresentable` keys, and any other hashable key (a tuple, a frozenset) through the
///   alternating key-value form Swift's `Dictionary` falls back to;
/// - `None` into `Optional`; `int` into `Double` and `Float` (``decodesIntegersAsFloatingPoint``); `bool`
///   into integer types only with ``BoolDecodingStrategy/pythonIntegers``;
/// - `bytes`, `bytearray` and out-of-band buffers into `Data`, `[UInt8]` and `ArraySlice<UInt8>`;
/// - an object made by calling a class with one argument and nothing applied afterwards (how `enum`
///   members pickle: `Color(1)`) decodes as that argument when a plain value is asked for, so a Swift enum
///   with raw values decodes from a Python enum member.
///
/// Errors are `DecodingError`s with the full coding path; their description names the Python type found
/// and, when decoding from bytes, ends with the byte offset of the value in the pickle.
/// A value that refers to itself (a cycle) cannot become a Swift value and is a `dataCorrupted` error, as is
/// nesting deeper than ``maxDepth`` or shared objects that would expand past ``maxExpandedValues`` values.
public final class PickleDecoder {
    /// How dict keys and attribute names are matched to coding keys.
    public enum KeyDecodingStrategy: Sendable {
        /// The keys as they are in the pickle.
        case useDefaultKeys
        /// `snake_case` keys (Python's convention) into `camelCase` coding keys, as `JSONDecoder`'s strategy
        /// of the same name converts them (leading and trailing underscores kept).
        case convertFromSnakeCase
        /// A function of the coding path, ending in the key as it is in the pickle, to the key to match.
        case custom(@Sendable (_ codingPath: [any CodingKey]) -> any CodingKey)
    }

    /// Whether Python's `bool`, a subclass of `int`, decodes into integer types.
    public enum BoolDecodingStrategy: Sendable {
        /// `True` and `False` decode only into `Bool`, and `Bool` only from them.
        case strict
        /// As in Python: `True`/`False` also decode into integer types as 1 and 0, and the ints 0 and 1 into
        /// `Bool`.
        case pythonIntegers
    }

    /// How `Date` values are read.
    public enum DateDecodingStrategy: Sendable {
        /// From `datetime.datetime`: an aware datetime is its instant; a naive one is the wall time in
        /// `naiveTimeZone`, its fold choosing between two equal wall times (nil: a naive datetime is a
        /// `dataCorrupted` error). An `int` or `float` is seconds since 1970, as `time.time()` and
        /// `datetime.timestamp()` give (a logging record's `created`).
        case pythonDateTime(naiveTimeZone: TimeZone?)
        /// From an `int` or `float` of seconds since 1970.
        case secondsSince1970
        /// From an `int` or `float` of milliseconds since 1970.
        case millisecondsSince1970
        /// `Date`'s own decoding: a number of seconds since 2001-01-01.
        case deferredToDate
        /// A function of the decoder standing at the value.
        case custom(@Sendable (_ decoder: any Decoder) throws -> Date)
    }

    /// Unpickler options (encoding of Python 2 strings, limits) used when decoding from bytes.
    public var unpicklerOptions = UnpicklerOptions()
    /// How keys are matched. Default ``KeyDecodingStrategy/useDefaultKeys``.
    public var keyDecodingStrategy: KeyDecodingStrategy = .useDefaultKeys
    /// Whether `int` decodes into `Double` and `Float` (rounded as Python's `float(int)`). Default true.
    public var decodesIntegersAsFloatingPoint = true
    /// How `bool` and `int` mix. Default ``BoolDecodingStrategy/strict``.
    public var boolDecodingStrategy: BoolDecodingStrategy = .strict
    /// How `Date` is read. Default ``DateDecodingStrategy/pythonDateTime(naiveTimeZone:)`` with UTC, the
    /// zone naive datetimes hold by convention on servers (`datetime.utcnow()`).
    ///
    /// The other standard library values need no strategy: `DateComponents` decodes from a
    /// `datetime.datetime`, `date` or `time` (its fields, the Gregorian calendar, and the zone when it has
    /// one), `Decimal` from a `decimal.Decimal` it holds exactly, an `int` or a `float`, `UUID` from a
    /// `uuid.UUID` or a `str`, and `Duration` from a `datetime.timedelta` or seconds as an `int` or `float`.
    /// The library's own types (``PythonDateTime``, ``PythonDecimal``, ``PythonFraction``, ...) decode
    /// exactly whatever the value holds.
    public var dateDecodingStrategy: DateDecodingStrategy = .pythonDateTime(naiveTimeZone: TimeZone(secondsFromGMT: 0)!)
    /// The deepest nesting of containers decoded (Codable decoding recurses). Default 512.
    public var maxDepth = 512
    /// The most values one decode visits, counting a shared object once per place it is decoded into (a
    /// value type copies it): bounds the memo fan-out of a hostile pickle. Default: at least 2^20, and four
    /// times the graph's node count.
    public var maxExpandedValues = 1 << 20
    /// Contextual information for the types being decoded.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    /// Creates a decoder with the default strategies.
    public init() {}

    /// Decodes a value from the first pickle in `bytes`.
    /// - Parameters:
    ///   - type: the type to decode.
    ///   - bytes: a pickle.
    /// - Throws: ``PickleError`` for malformed pickles; `DecodingError` when the value does not fit `type`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decode(type, from: bytes[...])
    }

    /// Decodes a value from the first pickle in `bytes`.
    /// - Throws: ``PickleError`` for malformed pickles; `DecodingError` when the value does not fit `type`,
    ///   whose description ends with the byte offset in `bytes` of the value it is about.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: ArraySlice<UInt8>) throws -> T {
        let graph = try Unpickler.loads(bytes, options: unpicklerOptions)
        let reader = PickleValueReader(graph: graph, options: settings(for: graph))
        do {
            return try reader.decodeRoot(type, graph.root.ref)
        } catch let error as DecodingError {
            throw located(error, reader, bytes)
        }
    }

    /// Decodes a value from the first pickle in `data`.
    /// - Throws: ``PickleError`` for malformed pickles; `DecodingError` when the value does not fit `type`.
    public func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try decode(type, from: [UInt8](data))
    }

    /// Decodes a value from a decoded pickle.
    /// - Throws: `DecodingError` when the value does not fit `type`.
    public func decode<T: Decodable>(_ type: T.Type, from graph: PickleGraph) throws -> T {
        try decode(type, from: graph.root)
    }

    /// Decodes a value from one value of a decoded pickle.
    /// - Throws: `DecodingError` when the value does not fit `type`.
    public func decode<T: Decodable>(_ type: T.Type, from node: PickleNode) throws -> T {
        let reader = PickleValueReader(graph: node.graph, options: settings(for: node.graph))
        return try reader.decodeRoot(type, node.ref)
    }

    /// `error` with the byte offset of the value it is about added to its description: parsed again, which
    /// numbers the graph's nodes as before, to learn which opcode made each. A value held inline (a small
    /// int, None, a bool) has no node: the offset given is that of the container being decoded.
    private func located(_ error: DecodingError, _ reader: PickleValueReader, _ bytes: ArraySlice<UInt8>) -> DecodingError {
        guard let failure = reader.failure,
              let offsets = PickleParser.nodeOffsets(ofFirstPickleIn: bytes, options: unpicklerOptions) else { return error }
        let place: String
        if failure.value.isNode, failure.value.nodeIndex < offsets.count {
            place = "at byte offset \(offsets[failure.value.nodeIndex])"
        } else if let within = failure.within, within < offsets.count {
            place = "in the \(reader.typeName(.node(within))) at byte offset \(offsets[within])"
        } else {
            return error
        }
        func with(_ context: DecodingError.Context) -> DecodingError.Context {
            DecodingError.Context(codingPath: context.codingPath, debugDescription: "\(context.debugDescription) (\(place) of the pickle)",
                                  underlyingError: context.underlyingError)
        }
        switch error {
        case .typeMismatch(let type, let context): return .typeMismatch(type, with(context))
        case .valueNotFound(let type, let context): return .valueNotFound(type, with(context))
        case .keyNotFound(let key, let context): return .keyNotFound(key, with(context))
        case .dataCorrupted(let context): return .dataCorrupted(with(context))
        @unknown default: return error
        }
    }

    /// The strategies of this decoder, fixed for one decode.
    func settings(for graph: PickleGraph) -> PickleValueReader.Settings {
        PickleValueReader.Settings(
            keys: keyDecodingStrategy, integersAsFloatingPoint: decodesIntegersAsFloatingPoint,
            bools: boolDecodingStrategy, dates: dateDecodingStrategy, maxDepth: maxDepth,
            maxExpandedValues: Swift.max(maxExpandedValues, 4 * graph.nodeCount), userInfo: userInfo)
    }
}
