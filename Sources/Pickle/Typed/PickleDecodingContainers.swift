#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a keyed container reads, shared by its copies (one reference to retain): a dict's items or an
/// object's state, the keys as a strategy converts them, and where the next lookup starts. Not generic,
/// so that lookups need no type metadata.
final class KeyedEntries {
    let reader: PickleValueReader
    let entries: RefList
    let path: CodingPath
    /// The keys as the strategy converts them, one per entry pair (nil: not a str key), when a strategy
    /// other than the default is set.
    let convertedKeys: [String?]?
    /// The pair after the last one found, where the next lookup starts.
    private var nextPair = 0

    init(reader: PickleValueReader, entries: RefList, path: CodingPath) {
        self.reader = reader
        self.entries = entries
        self.path = path
        switch reader.settings.keys {
        case .useDefaultKeys:
            convertedKeys = nil
        case .convertFromSnakeCase:
            convertedKeys = stride(from: 0, to: entries.count, by: 2).map { reader.keyText(entries[$0]).map(KeyConversion.fromSnakeCase) }
        case .custom(let convert):
            let base = path.keys
            convertedKeys = stride(from: 0, to: entries.count, by: 2).map { k in
                reader.keyText(entries[k]).map { convert(base + [AnyKey(stringValue: $0)]).stringValue }
            }
        }
    }

    /// The value for the key named `name` (or numbered `int`): the pair whose key matches (a str equal to
    /// `name`, or an int equal to `int`); the last one where keys may repeat (an object's state gathered
    /// from several operations; a dict's keys are distinct).
    func lookup(_ name: String, _ int: Int?) -> PickleRef? {
        let pairs = entries.count / 2
        guard pairs > 0 else { return nil }
        var name = name
        return name.withUTF8 { wanted in
            guard case .run = entries else {
                return (0 ..< pairs).last { matches($0, wanted, int) }.map { entries[2 * $0 + 1] }
            }
            // Keys are asked for in about the order they were stored (a dataclass's fields, a struct's
            // synthesized init): starting after the last match, a lookup usually matches at once.
            var pair = nextPair
            for _ in 0 ..< pairs {
                if pair >= pairs { pair = 0 }
                if matches(pair, wanted, int) {
                    nextPair = pair + 1
                    return entries[2 * pair + 1]
                }
                pair += 1
            }
            return nil
        }
    }

    private func matches(_ pair: Int, _ wanted: UnsafeBufferPointer<UInt8>, _ int: Int?) -> Bool {
        if let convertedKeys {
            guard let converted = convertedKeys[pair] else { return false }
            return converted.utf8.elementsEqual(wanted)
        }
        let candidate = entries[2 * pair]
        if let int, reader.keyInt(candidate) == int { return true }
        return reader.keyBytesEqual(candidate, wanted)
    }
}

/// A dict's items or an object's state, read by key.
struct PickleKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    private let keyed: KeyedEntries
    var reader: PickleValueReader { keyed.reader }
    var path: CodingPath { keyed.path }

    init(reader: PickleValueReader, entries: RefList, path: CodingPath) {
        keyed = KeyedEntries(reader: reader, entries: entries, path: path)
    }

    var codingPath: [any CodingKey] { path.keys }

    var allKeys: [Key] {
        let entries = keyed.entries
        return stride(from: 0, to: entries.count, by: 2).compactMap { k in
            if let converted = keyed.convertedKeys?[k / 2] { return Key(stringValue: converted) }
            let key = entries[k]
            if let text = reader.keyText(key) { return Key(stringValue: text) }
            if let int = reader.keyInt(key) { return Key(intValue: int) }
            return nil
        }
    }

    private func lookup(_ key: Key) -> PickleRef? { keyed.lookup(key.stringValue, key.intValue) }

    private func value(_ key: Key) throws -> PickleRef {
        guard let ref = lookup(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: path.keys, debugDescription: "No value for key \(key.stringValue.debugDescription) in \(reader.describe(entriesOwner))"))
        }
        return ref
    }

    /// For messages: what the container reads (its first key, or nothing).
    private var entriesOwner: PickleRef { reader.ref }

    func contains(_ key: Key) -> Bool { lookup(key) != nil }
    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .none }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try reader.bool(value(key), path.appending(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try reader.string(value(key), path.appending(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try reader.floatingPoint(type, value(key), path.appending(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try reader.floatingPoint(type, value(key), path.appending(key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try reader.integer(type, value(key), path.appending(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try reader.integer(type, value(key), path.appending(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try reader.integer(type, value(key), path.appending(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try reader.integer(type, value(key), path.appending(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try reader.integer(type, value(key), path.appending(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try reader.integer(type, value(key), path.appending(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try reader.integer(type, value(key), path.appending(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try reader.integer(type, value(key), path.appending(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try reader.integer(type, value(key), path.appending(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try reader.integer(type, value(key), path.appending(key)) }

    // One lookup for an optional scalar (the protocol's defaults ask `contains`, `decodeNil`, then decode).
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try present(key) { try reader.bool($0, path.appending(key)) } }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try present(key) { try reader.string($0, path.appending(key)) } }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try present(key) { try reader.floatingPoint(type, $0, path.appending(key)) } }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try present(key) { try reader.floatingPoint(type, $0, path.appending(key)) } }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try present(key) { try reader.integer(type, $0, path.appending(key)) } }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try present(key) { try reader.integer(type, $0, path.appending(key)) } }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try present(key) { try reader.integer(type, $0, path.appending(key)) } }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try present(key) { try reader.integer(type, $0, path.appending(key)) } }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try present(key) { try reader.integer(type, $0, path.appending(key)) } }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try present(key) { try reader.integer(type, $0, path.appending(key)) } }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try present(key) { try reader.integer(type, $0, path.appending(key)) } }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try present(key) { try reader.integer(type, $0, path.appending(key)) } }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try present(key) { try reader.integer(type, $0, path.appending(key)) } }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try present(key) { try reader.integer(type, $0, path.appending(key)) } }

    /// `read` of the value for `key`, or nil when there is none or it is `None`.
    private func present<T>(_ key: Key, _ read: (PickleRef) throws -> T) throws -> T? {
        guard let ref = lookup(key), ref != .none else { return nil }
        return try read(ref)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let ref = try value(key)
        if ref == .none, !(T.self is any ExpressibleByNilLiteral.Type) {
            reader.noteFailure(.none)
            throw DecodingError.valueNotFound(type, .init(codingPath: path.appending(key).keys, debugDescription: "Expected \(type) but found None"))
        }
        return try reader.decode(type, ref, path: path.appending(key))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let ref = lookup(key), ref != .none else { return nil }
        return try reader.decode(type, ref, path: path.appending(key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        let ref = try value(key)
        guard let nested = reader.keyedEntries(ref) else { throw reader.mismatch([String: Any].self, ref, path.appending(key), "a dict or an object with state") }
        return KeyedDecodingContainer(PickleKeyedContainer<NestedKey>(reader: reader, entries: nested, path: path.appending(key)))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let ref = try value(key)
        guard let items = reader.sequenceItems(ref) else { throw reader.mismatch([Any].self, ref, path.appending(key), "a list, tuple, set, frozenset or dict") }
        return PickleUnkeyedContainer(reader: reader, items: items, path: path.appending(key))
    }

    func superDecoder() throws -> any Decoder {
        try reader.subDecoder(lookup(Key(stringValue: "super")!) ?? .none, path.appending(AnyKey(stringValue: "super")))
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try reader.subDecoder(lookup(key) ?? .none, path.appending(key))
    }
}

/// Items read in order.
struct PickleUnkeyedContainer: UnkeyedDecodingContainer {
    let reader: PickleValueReader
    let items: RefList
    let path: CodingPath
    private(set) var currentIndex = 0

    init(reader: PickleValueReader, items: RefList, path: CodingPath) {
        self.reader = reader
        self.items = items
        self.path = path
    }

    var codingPath: [any CodingKey] { path.keys }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next(_ type: Any.Type) throws -> (PickleRef, CodingPath) {
        let index = currentIndex
        return (try nextItem(type), path.appending(index: index))
    }

    /// The next item, without its path (made only if an error needs it).
    private mutating func nextItem(_ type: Any.Type) throws -> PickleRef {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: path.appending(index: currentIndex).keys, debugDescription: "Unkeyed container is at end (\(items.count) items)"))
        }
        defer { currentIndex += 1 }
        return items[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw DecodingError.valueNotFound(Any?.self, .init(codingPath: path.keys, debugDescription: "Unkeyed container is at end")) }
        if items[currentIndex] == .none { currentIndex += 1; return true }
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { let i = currentIndex; return try reader.bool(nextItem(type), path.appending(index: i)) }
    mutating func decode(_ type: String.Type) throws -> String { let i = currentIndex; return try reader.string(nextItem(type), path.appending(index: i)) }
    mutating func decode(_ type: Double.Type) throws -> Double { let i = currentIndex; return try reader.floatingPoint(type, nextItem(type), path.appending(index: i)) }
    mutating func decode(_ type: Float.Type) throws -> Float { let i = currentIndex; return try reader.floatingPoint(type, nextItem(type), path.appending(index: i)) }
    mutating func decode(_ type: Int.Type) throws -> Int { let i = currentIndex; return try reader.integer(type, nextItem(type), path.appending(index: i)) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { let i = currentIndex; return try reader.integer(type, nextItem(type), path.appending(index: i)) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { let i = currentIndex; return try reader.integer(type, nextItem(type), path.appending(index: i)) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { let i = currentIndex; return try reader.integer(type, nextItem(type), path.appending(index: i)) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { let i = currentIndex; return try reader.integer(type, nextItem(type), path.appending(index: i)) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { let i = currentIndex; return try reader.integer(type, nextItem(type), path.appending(index: i)) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { let i = currentIndex; return try reader.integer(type, nextItem(type), path.appending(index: i)) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { let i = currentIndex; return try reader.integer(type, nextItem(type), path.appending(index: i)) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { let i = currentIndex; return try reader.integer(type, nextItem(type), path.appending(index: i)) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { let i = currentIndex; return try reader.integer(type, nextItem(type), path.appending(index: i)) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let index = currentIndex
        let ref = try nextItem(type)
        if ref == .none, !(T.self is any ExpressibleByNilLiteral.Type) {
            reader.noteFailure(.none)
            throw DecodingError.valueNotFound(type, .init(codingPath: path.appending(index: index).keys, debugDescription: "Expected \(type) but found None"))
        }
        return try reader.decode(type, ref, path: path.appending(index: index))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (ref, itemPath) = try next([String: Any].self)
        guard let nested = reader.keyedEntries(ref) else { throw reader.mismatch([String: Any].self, ref, itemPath, "a dict or an object with state") }
        return KeyedDecodingContainer(PickleKeyedContainer<NestedKey>(reader: reader, entries: nested, path: itemPath))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (ref, itemPath) = try next([Any].self)
        guard let nested = reader.sequenceItems(ref) else { throw reader.mismatch([Any].self, ref, itemPath, "a list, tuple, set, frozenset or dict") }
        return PickleUnkeyedContainer(reader: reader, items: nested, path: itemPath)
    }

    mutating func superDecoder() throws -> any Decoder {
        let (ref, itemPath) = try next(Any.self)
        return try reader.subDecoder(ref, itemPath)
    }
}

/// One value.
struct PickleSingleValueContainer: SingleValueDecodingContainer {
    let reader: PickleValueReader
    let ref: PickleRef
    let path: CodingPath

    var codingPath: [any CodingKey] { path.keys }

    func decodeNil() -> Bool { ref == .none }
    func decode(_ type: Bool.Type) throws -> Bool { try reader.bool(ref, path) }
    func decode(_ type: String.Type) throws -> String { try reader.string(ref, path) }
    func decode(_ type: Double.Type) throws -> Double { try reader.floatingPoint(type, ref, path) }
    func decode(_ type: Float.Type) throws -> Float { try reader.floatingPoint(type, ref, path) }
    func decode(_ type: Int.Type) throws -> Int { try reader.integer(type, ref, path) }
    func decode(_ type: Int8.Type) throws -> Int8 { try reader.integer(type, ref, path) }
    func decode(_ type: Int16.Type) throws -> Int16 { try reader.integer(type, ref, path) }
    func decode(_ type: Int32.Type) throws -> Int32 { try reader.integer(type, ref, path) }
    func decode(_ type: Int64.Type) throws -> Int64 { try reader.integer(type, ref, path) }
    func decode(_ type: UInt.Type) throws -> UInt { try reader.integer(type, ref, path) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try reader.integer(type, ref, path) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try reader.integer(type, ref, path) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try reader.integer(type, ref, path) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try reader.integer(type, ref, path) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if ref == .none, !(T.self is any ExpressibleByNilLiteral.Type) {
            reader.noteFailure(.none)
            throw DecodingError.valueNotFound(type, .init(codingPath: path.keys, debugDescription: "Expected \(type) but found None"))
        }
        // The reader already stands at this value: decoding it again through init(from:) would not end.
        return try reader.decode(type, ref, path: path, fromSingleValue: true)
    }
}

/// A key made from a string, for paths and custom key strategies.
struct AnyKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; self.intValue = nil }
    init?(intValue: Int) { self.stringValue = "\(intValue)"; self.intValue = intValue }
}

/// `JSONDecoder`'s snake case conversion: `user_id` -> `userId`; leading and trailing underscores stay.
enum KeyConversion {
    static func fromSnakeCase(_ key: String) -> String {
        guard key.contains("_") else { return key }
        let characters = Array(key)
        guard let first = characters.firstIndex(where: { $0 != "_" }) else { return key }
        var last = characters.count - 1
        while last > first && characters[last] == "_" { last -= 1 }
        let words = String(characters[first ... last]).split(separator: "_", omittingEmptySubsequences: true)
        guard let head = words.first else { return key }
        let body = String(head) + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() }.joined()
        return String(characters[..<first]) + body + String(characters[(last + 1)...])
    }
}

extension PickleValueReader {
    /// The text of a `str` key.
    func keyText(_ ref: PickleRef) -> String? {
        guard ref.isNode, t.nodes[ref.nodeIndex].kind == .string else { return nil }
        return t.withPayload(of: t.nodes[ref.nodeIndex]) { String(decoding: $0, as: UTF8.self) }
    }

    /// The value of an `int` key that fits in `Int`.
    func keyInt(_ ref: PickleRef) -> Int? {
        if ref.isInlineInt { return Int(ref.inlineIntValue) }
        guard ref.isNode, t.nodes[ref.nodeIndex].kind == .int64 else { return nil }
        return t.nodes[ref.nodeIndex].a
    }

    /// Whether `ref` is a `str` whose UTF-8 bytes are `wanted`.
    func keyBytesEqual(_ ref: PickleRef, _ wanted: UnsafeBufferPointer<UInt8>) -> Bool {
        guard ref.isNode else { return false }
        let node = t.nodes[ref.nodeIndex]
        guard node.kind == .string else { return false }
        return t.withPayload(of: node) { bytes in
            bytes.count == wanted.count && (bytes.count == 0 || memcmp(bytes.baseAddress!, wanted.baseAddress!, bytes.count) == 0)
        }
    }

    /// A decoder standing at `ref`, for `superDecoder`.
    func subDecoder(_ ref: PickleRef, _ path: CodingPath) throws -> any Decoder {
        let decoder = PickleValueReader(graph: graph, options: settings)
        decoder.moveTo(ref, path)
        return decoder
    }
}
