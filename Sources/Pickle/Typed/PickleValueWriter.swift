#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

/// The `Encoder` behind ``PickleEncoder``: builds a graph as values are encoded.
///
/// Plain values become graph references at once. A container is collected in a ``PendingContainer`` and
/// becomes a graph node when the `encode(to:)` that made it returns (its items are then final); containers
/// nested inside it (`nestedContainer`, `superEncoder`) are made at that point too, innermost first. Equal
/// strings are one node, so the pickler writes each once and refers back to it through the memo.
final class PickleValueWriter: Encoder {
    /// An encode's fixed strategies.
    struct Settings {
        var keys: PickleEncoder.KeyEncodingStrategy
        var sortsDictionaryKeys: Bool
        var dates: PickleEncoder.DateEncodingStrategy
        var userInfo: [CodingUserInfoKey: any Sendable]
    }

    /// The graph being built, shared by the writers of one encode (``superEncoder``'s among them).
    final class Graph {
        var builder = GraphBuilder()
        var strings: [String: PickleRef] = [:]
        /// One node per global name, and one `datetime.timezone.utc`, as CPython's memo refers back to a
        /// class or singleton it has written.
        var globals: [GlobalName: PickleRef]? = [:]
        var utc: PickleRef?
    }

    let graph: Graph
    let settings: Settings
    private(set) var path: CodingPath
    /// What the value being encoded stored: nothing yet, one value, or its container.
    var stored: Pending?

    init(settings: Settings) {
        self.graph = Graph()
        self.settings = settings
        self.path = .root
    }

    private init(sharing writer: PickleValueWriter, path: CodingPath) {
        self.graph = writer.graph
        self.settings = writer.settings
        self.path = path
    }

    var codingPath: [any CodingKey] { path.keys }
    var userInfo: [CodingUserInfoKey: Any] { settings.userInfo }

    func encodeRoot<T: Encodable>(_ value: T) throws -> PickleGraph {
        let root = try box(value, at: .root)
        return graph.builder.finishGraph(root: root)
    }

    // MARK: - Encoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(PickleKeyedEncodingContainer<Key>(writer: self, storage: storage(.dict), path: path))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        PickleUnkeyedEncodingContainer(writer: self, storage: storage(.list), path: path)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        PickleSingleValueEncodingContainer(writer: self, path: path)
    }

    /// The container this value stores into: the one it asked for before, if it asks again.
    private func storage(_ kind: PendingContainer.Kind) -> PendingContainer {
        if case .container(let existing) = stored, existing.kind == kind { return existing }
        let made = PendingContainer(kind, path)
        stored = .container(made)
        return made
    }

    /// A writer for the value at `path` of a container, shared with the container (`superEncoder`).
    func subWriter(at path: CodingPath) -> PickleValueWriter { PickleValueWriter(sharing: self, path: path) }

    // MARK: - Values

    /// `value` as a graph reference: plain values directly, anything else by its `encode(to:)`.
    func box<T: Encodable>(_ value: T, at path: CodingPath) throws -> PickleRef {
        switch value {
        case let text as String: return string(text)
        case let flag as Bool: return .bool(flag)
        case let number as Double: return graph.builder.float(number)
        case let number as Float: return graph.builder.float(Double(number))
        case let integer as any FixedWidthInteger: return int(integer)
        case let data as Data: return graph.builder.payload(.bytes, data)
        // By type, not by value: an empty array of any element type casts to [UInt8].
        case let bytes as [UInt8] where T.self == [UInt8].self: return graph.builder.payload(.bytes, bytes)
        case let bytes as PickleBytes: return graph.builder.payload(.bytes, bytes.slice)
        case let node as PickleNode: return copy(node)
        case let date as Date: return try self.date(date, at: path)
        case let decimal as Decimal: return insert(PythonDecimal(decimal).pickleValue)
        case let uuid as UUID: return insert(PythonUUID(uuid).pickleValue)
        case let duration as Duration: return try timedelta(duration, at: path)
        case let components as DateComponents: return try dateTime(components, at: path)
        case let dictionary as any PickleDictionaryEncoding: return try dictionary.pickleDict(self, path)
        case let set as any PickleSetEncoding: return try set.pickleSet(self, path)
        default: break
        }
        return try encodeInPlace(at: path) {
            try value.encode(to: self)
            if value is any PickleTupleRepresentable, case .container(let items) = stored, items.kind == .list {
                items.kind = .tuple
            }
        }
    }

    /// Runs `body` (a value's `encode(to:)`, or a custom strategy) with this writer at `path`, and returns
    /// what it stored: a type that encodes nothing is an empty dict, as JSONEncoder writes `{}`.
    func encodeInPlace(at path: CodingPath, _ body: () throws -> Void) throws -> PickleRef {
        let (savedStored, savedPath) = (stored, self.path)
        stored = nil
        self.path = path
        defer { (stored, self.path) = (savedStored, savedPath) }
        try body()
        return try make(stored ?? .container(PendingContainer(.dict, path)))
    }

    func string(_ text: String) -> PickleRef {
        if let known = graph.strings[text] { return known }
        var text = text
        let ref = text.withUTF8 { graph.builder.payload(.string, $0) }
        graph.strings[text] = ref
        return ref
    }

    func int(_ value: some FixedWidthInteger) -> PickleRef {
        if let small = Int64(exactly: value) { return graph.builder.int(small) }
        // Beyond Int64: two's-complement little-endian bytes with a sign byte (the builder trims them).
        var bytes: [UInt8] = []
        var rest = value
        for _ in 0 ..< (value.bitWidth + 7) / 8 {
            bytes.append(UInt8(truncatingIfNeeded: rest))
            rest >>= 8
        }
        bytes.append(value < 0 ? 0xFF : 0)
        return bytes.withUnsafeBytes { graph.builder.int(twosComplementLE: $0) }
    }

    /// The value a node of another graph holds, copied with what it refers to.
    private func copy(_ node: PickleNode) -> PickleRef {
        var map: [Int: PickleRef] = [:]
        var copied = 0
        return graph.builder.importSubgraph(from: node.graph, root: node.ref, map: &map, copiedBytes: &copied)
    }

    /// The key written for a coding key, after the key strategy.
    func key(_ key: some CodingKey, at path: CodingPath) -> PickleRef {
        switch settings.keys {
        case .useDefaultKeys: return string(key.stringValue)
        case .convertToSnakeCase: return string(KeyConversion.toSnakeCase(key.stringValue))
        case .custom(let convert): return string(convert(path.appending(key).keys).stringValue)
        }
    }

    /// The graph node of a finished container, its nested containers made first.
    func make(_ pending: Pending) throws -> PickleRef {
        switch pending {
        case .value(let ref):
            return ref
        case .writer(let writer):
            return try make(writer.stored ?? .container(PendingContainer(.dict, writer.path)))
        case .container(let container):
            var items: [PickleRef] = []
            items.reserveCapacity(container.items.count)
            for item in container.items { items.append(try make(item)) }
            return try make(container.kind, items, at: container.path)
        }
    }

    /// A container node of `kind` holding `items` (keys and values alternating, for a dict).
    func make(_ kind: PendingContainer.Kind, _ items: [PickleRef], at path: CodingPath) throws -> PickleRef {
        switch kind {
        case .list:
            return graph.builder.list(items)
        case .tuple:
            return graph.builder.tuple(items)
        case .set:
            let ref = graph.builder.set(.set)
            guard graph.builder.addToSet(sequence: graph.builder.t.nodes[ref.nodeIndex].a, items) else {
                throw unhashable(items, "set item", at: path)
            }
            return ref
        case .dict:
            let ref = graph.builder.dict()
            guard graph.builder.setItems(dict: ref.nodeIndex, items) else {
                throw unhashable(stride(from: 0, to: items.count, by: 2).map { items[$0] }, "dict key", at: path)
            }
            return ref
        }
    }

    private func unhashable(_ candidates: [PickleRef], _ role: String, at path: CodingPath) -> EncodingError {
        let bad = candidates.first { !graph.builder.isHashableKey($0) }
        let type = bad.map { graph.builder.t.pythonTypeName(of: $0) } ?? "value"
        return EncodingError.invalidValue(candidates, .init(codingPath: path.keys, debugDescription:
            "A \(type) cannot be a \(role) in Python (unhashable type: '\(type)')"))
    }
}

/// An item of a container being collected.
enum Pending {
    /// A finished value.
    case value(PickleRef)
    /// A container still open.
    case container(PendingContainer)
    /// Whatever a `superEncoder` stored.
    case writer(PickleValueWriter)
}

/// A container's items, until the value that owns it is finished.
final class PendingContainer {
    enum Kind { case dict, list, tuple, set }
    var kind: Kind
    var items: [Pending] = []
    let path: CodingPath

    init(_ kind: Kind, _ path: CodingPath) {
        self.kind = kind
        self.path = path
    }
}

/// `Dictionary`, written with its keys as Python keys (not as coding keys).
protocol PickleDictionaryEncoding {
    func pickleDict(_ writer: PickleValueWriter, _ path: CodingPath) throws -> PickleRef
}

extension Dictionary: PickleDictionaryEncoding where Key: Encodable, Value: Encodable {
    func pickleDict(_ writer: PickleValueWriter, _ path: CodingPath) throws -> PickleRef {
        var entries = Array(self)
        if writer.settings.sortsDictionaryKeys { entries.sort { DictionaryKeyOrder.precedes($0.key, $1.key) } }
        var items: [PickleRef] = []
        items.reserveCapacity(entries.count * 2)
        for (key, value) in entries {
            let keyRef: PickleRef
            let keyPath: CodingPath
            switch key {
            case let text as String:
                (keyRef, keyPath) = (writer.string(text), path.appending(AnyKey(stringValue: text)))
            case let integer as any FixedWidthInteger:
                (keyRef, keyPath) = (writer.int(integer), path.appending(AnyKey(stringValue: "\(integer)")))
            case let representable as any CodingKeyRepresentable:
                let codingKey = representable.codingKey
                keyRef = codingKey.intValue.map { writer.int($0) } ?? writer.string(codingKey.stringValue)
                keyPath = path.appending(AnyKey(stringValue: codingKey.stringValue))
            default:
                keyPath = path.appending(AnyKey(stringValue: "\(key)"))
                keyRef = try writer.box(key, at: keyPath)
            }
            items.append(keyRef)
            items.append(try writer.box(value, at: keyPath))
        }
        return try writer.make(.dict, items, at: path)
    }
}

/// The order ``PickleEncoder/sortsDictionaryKeys`` writes keys in: strings by UTF-8, integers by value.
enum DictionaryKeyOrder {
    static func precedes(_ a: some Encodable, _ b: some Encodable) -> Bool {
        if let a = a as? String, let b = b as? String { return a.utf8.lexicographicallyPrecedes(b.utf8) }
        if let a = a as? any BinaryInteger, let b = b as? any BinaryInteger { return compare(a, b) }
        if let a = a as? any CodingKeyRepresentable, let b = b as? any CodingKeyRepresentable {
            return a.codingKey.stringValue.utf8.lexicographicallyPrecedes(b.codingKey.stringValue.utf8)
        }
        return false
    }

    private static func compare<A: BinaryInteger, B: BinaryInteger>(_ a: A, _ b: B) -> Bool { a < b }
}

/// `Set`, written as a Python `set`.
protocol PickleSetEncoding {
    func pickleSet(_ writer: PickleValueWriter, _ path: CodingPath) throws -> PickleRef
}

extension Set: PickleSetEncoding where Element: Encodable {
    func pickleSet(_ writer: PickleValueWriter, _ path: CodingPath) throws -> PickleRef {
        var items: [PickleRef] = []
        items.reserveCapacity(count)
        for (index, item) in enumerated() { items.append(try writer.box(item, at: path.appending(index: index))) }
        return try writer.make(.set, items, at: path)
    }
}

extension KeyConversion {
    /// `JSONEncoder`'s snake case conversion: a word starts at an uppercase letter that follows a non-capital,
    /// or at the last capital of a run followed by a lowercase letter (`myURLValue` -> `my_url_value`).
    static func toSnakeCase(_ key: String) -> String {
        let characters = Array(key)
        var result = ""
        for (i, character) in characters.enumerated() {
            if i > 0, character.isUppercase {
                let previous = characters[i - 1]
                let nextIsLowercase = i + 1 < characters.count && characters[i + 1].isLowercase
                if !previous.isUppercase || nextIsLowercase { result.append("_") }
            }
            result += character.lowercased()
        }
        return result
    }
}

extension PickleNode: Encodable {
    /// Writes the value the node holds, as it is, with ``PickleEncoder``.
    /// - Throws: `EncodingError.invalidValue` from any encoder but ``PickleEncoder``'s.
    public func encode(to encoder: any Encoder) throws {
        guard let writer = encoder as? PickleValueWriter else {
            throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath, debugDescription: "A PickleNode is encoded only by PickleEncoder"))
        }
        writer.stored = .value(try writer.box(self, at: writer.path))
    }
}
