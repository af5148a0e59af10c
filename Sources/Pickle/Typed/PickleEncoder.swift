#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

/// Encodes `Encodable` Swift values as pickles, as `JSONEncoder` does JSON.
///
/// ```swift
/// struct Event: Codable { let seq: Int; let msg: String; let tags: [String] }
/// let bytes = try PickleEncoder().encode(Event(seq: 1, msg: "start", tags: []))
/// // pickle.loads(bytes) == {'seq': 1, 'msg': 'start', 'tags': []}
/// ```
///
/// What each Swift value becomes in Python:
/// - a keyed container (a struct's properties, a `[String: T]`) is a `dict` with `str` keys; a dictionary with
///   integer keys has `int` keys, one with `CodingKeyRepresentable` keys their string (or integer) value, and
///   one with other keys the keys encoded as values (a ``PickleTupleRepresentable`` key as a tuple);
/// - an unkeyed container (an array) is a `list`, a `Set` a `set`, and a type conforming to
///   ``PickleTupleRepresentable`` (``PickleTuple`` among them) a `tuple`;
/// - `String` is `str`, integers are `int` (any width), `Double` and `Float` are `float`, `Bool` is `bool`,
///   `nil` is `None`;
/// - `Data`, `[UInt8]` and ``PickleBytes`` are `bytes`; a ``PickleNode`` is written as the value it holds;
/// - `Date` is a `datetime.datetime` (``dateEncodingStrategy``), `Decimal` a `decimal.Decimal`, `UUID` a
///   `uuid.UUID`, `Duration` a `datetime.timedelta`, and the library's standard library types
///   (``PythonDateTime``, ``PythonFraction``, ...) what they stand for.
///
/// The bytes are those CPython's pickler writes for the same Python value at the same protocol, where equal
/// strings are one object (as Python's interned keys are): each distinct string is written once and then
/// referred to through the memo. Dictionaries keep their iteration order, which for Swift's `Dictionary` is
/// arbitrary; set ``sortsDictionaryKeys`` for a stable order.
public final class PickleEncoder {
    /// How coding keys become dict keys.
    public enum KeyEncodingStrategy: Sendable {
        /// The keys as the type names them.
        case useDefaultKeys
        /// `camelCase` keys into Python's `snake_case`, as `JSONEncoder`'s strategy of the same name converts
        /// them (`userID` -> `user_id`, `displayName` -> `display_name`).
        case convertToSnakeCase
        /// A function of the coding path, ending in the key the type names, to the key to write.
        case custom(@Sendable (_ codingPath: [any CodingKey]) -> any CodingKey)
    }

    /// How `Date` values are written.
    public enum DateEncodingStrategy: Sendable {
        /// An aware `datetime.datetime` in UTC (`tzinfo=datetime.timezone.utc`), rounded to the microsecond
        /// (half to even, as `datetime.fromtimestamp`).
        case pythonDateTime
        /// A `float` of seconds since 1970, as `time.time()` gives.
        case secondsSince1970
        /// A `float` of milliseconds since 1970.
        case millisecondsSince1970
        /// `Date`'s own encoding: a `float` of seconds since 2001-01-01.
        case deferredToDate
        /// A function that encodes the date with the encoder given.
        case custom(@Sendable (_ date: Date, _ encoder: any Encoder) throws -> Void)
    }

    /// The pickler's options: protocol, `fix_imports`, buffer callback, persistent ids.
    public var picklerOptions = PicklerOptions(protocolVersion: 5)
    /// The protocol written, 0 to 5. Default 5.
    public var protocolVersion: Int {
        get { picklerOptions.protocolVersion }
        set { picklerOptions.protocolVersion = newValue }
    }
    /// How keys are written. Default ``KeyEncodingStrategy/useDefaultKeys``.
    public var keyEncodingStrategy: KeyEncodingStrategy = .useDefaultKeys
    /// Whether a `Dictionary`'s entries are written in the order of their keys (strings by their UTF-8 bytes,
    /// integers by value) rather than in the dictionary's own order. Default false.
    public var sortsDictionaryKeys = false
    /// How `Date` is written. Default ``DateEncodingStrategy/pythonDateTime``.
    ///
    /// The other Foundation values need no strategy: `Decimal` is written as `decimal.Decimal`, `UUID` as
    /// `uuid.UUID`, `Duration` as `datetime.timedelta` (rounded to the microsecond), and `DateComponents` as
    /// a `datetime.date` (year, month and day), `datetime.time` (hour and no day) or `datetime.datetime`
    /// (both), aware when it has a time zone. The library's own types (``PythonDateTime``,
    /// ``PythonDecimal``, ...) are written as CPython pickles them.
    public var dateEncodingStrategy: DateEncodingStrategy = .pythonDateTime
    /// Contextual information for the types being encoded.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    /// Creates an encoder writing protocol 5.
    public init() {}

    /// A pickle of `value`.
    /// - Throws: `EncodingError.invalidValue` for a value Python cannot hold (a dictionary key that is a
    ///   list or dict); ``PickleError`` for a protocol outside 0...5.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try Pickler.dumps(encodeGraph(value), options: picklerOptions)
    }

    /// The value as a graph, to inspect, combine with other graphs or dump with a ``StreamingPickler``.
    /// - Throws: `EncodingError.invalidValue` for a value Python cannot hold.
    public func encodeGraph<T: Encodable>(_ value: T) throws -> PickleGraph {
        let writer = PickleValueWriter(settings: PickleValueWriter.Settings(
            keys: keyEncodingStrategy, sortsDictionaryKeys: sortsDictionaryKeys, dates: dateEncodingStrategy, userInfo: userInfo))
        return try writer.encodeRoot(value)
    }
}
