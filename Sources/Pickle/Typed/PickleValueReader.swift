#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

/// The `Decoder` behind ``PickleDecoder``: one per decode, walking the graph in place.
///
/// The reader points at the value being decoded (`ref`, with its coding path); decoding a nested value moves
/// it there and back. Containers are structs that hold their own value and path, so they stay valid when
/// used out of order. The path is a linked list of keys, made into an array only when asked for (an error,
/// or a type reading `codingPath`). Values being decoded are kept on a stack: meeting one again is a cycle,
/// which no Swift value can hold.
final class PickleValueReader: Decoder {
    /// A decode's fixed strategies.
    struct Settings {
        var keys: PickleDecoder.KeyDecodingStrategy
        var integersAsFloatingPoint: Bool
        var bools: PickleDecoder.BoolDecodingStrategy
        var dates: PickleDecoder.DateDecodingStrategy
        var maxDepth: Int
        var maxExpandedValues: Int
        var userInfo: [CodingUserInfoKey: any Sendable]
    }

    let graph: PickleGraph
    /// The graph's tables, read in place (a local copy of the struct would retain each of its arrays).
    let t: GraphTables
    let settings: Settings
    // The decode's moving state. Only this reader's own methods change it, one decode on one thread, each
    // change a plain assignment or an append/removeLast that never spans a call out: no access can overlap
    // another, so the run-time exclusivity checks are left out.

    /// The value `T(from:)` is reading now.
    @exclusivity(unchecked) private(set) var ref: PickleRef = .none
    @exclusivity(unchecked) private(set) var path: CodingPath = .root
    /// The nodes being decoded, outermost first.
    @exclusivity(unchecked) private var active: [Int] = []
    /// Where the first error arose: the value it is about, and the innermost node being decoded then (for
    /// a value held inline, which has no offset of its own).
    private(set) var failure: (value: PickleRef, within: Int?)?
    @exclusivity(unchecked) private var expanded = 0
    /// The time zone of the last aware datetime decoded.
    private(set) lazy var zones = ZoneCache()

    init(graph: PickleGraph, options: Settings) {
        self.graph = graph
        self.t = graph.t
        self.settings = options
    }

    var codingPath: [any CodingKey] { path.keys }
    var userInfo: [CodingUserInfoKey: Any] { settings.userInfo }

    /// Stands the reader at `ref` (a decoder handed out by `superDecoder`).
    func moveTo(_ ref: PickleRef, _ path: CodingPath) {
        self.ref = ref
        self.path = path
    }

    func decodeRoot<T: Decodable>(_ type: T.Type, _ root: PickleRef) throws -> T {
        try decode(type, root, path: .root)
    }

    // MARK: - Decoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard let entries = keyedEntries(ref) else {
            throw mismatch([String: Any].self, ref, path, "a dict or an object with state")
        }
        return KeyedDecodingContainer(PickleKeyedContainer<Key>(reader: self, entries: entries, path: path))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard let items = sequenceItems(ref) else {
            throw mismatch([Any].self, ref, path, "a list, tuple, set, frozenset or dict")
        }
        return PickleUnkeyedContainer(reader: self, items: items, path: path)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        PickleSingleValueContainer(reader: self, ref: ref, path: path)
    }

    // MARK: - Decoding one value

    /// Decodes `ref` as `T` at `path`: plain values directly, anything else by `T(from:)` with the reader moved
    /// to `ref`.
    /// - Parameter fromSingleValue: the value is the one the reader stands at, read again through a single
    ///   value container (a wrapper type): not a cycle.
    func decode<T: Decodable>(_ type: T.Type, _ ref: PickleRef, path makePath: @autoclosure () -> CodingPath, fromSingleValue: Bool = false) throws -> T {
        if Self.isPlain(type) { return try decodePlain(type, ref, makePath()) }
        if Self.isFoundationValue(type) { return try decodeFoundationValue(type, ref, makePath(), fromSingleValue: fromSingleValue) }
        return try standing(at: ref, makePath(), fromSingleValue: fromSingleValue) { try T(from: self) }
    }

    /// Runs `body` (a type's `init(from:)`) with the reader standing at `ref`, then moves it back.
    func standing<T>(at ref: PickleRef, _ path: CodingPath, fromSingleValue: Bool, _ body: () throws -> T) throws -> T {
        let entered = fromSingleValue ? false : try enter(ref, path)
        let (savedRef, savedPath) = (self.ref, self.path)
        self.ref = ref
        self.path = path
        defer {
            self.ref = savedRef
            self.path = savedPath
            if entered { active.removeLast() }
        }
        do {
            return try body()
        } catch {
            // Thrown by a container (a missing key, an unkeyed container at its end) or by the type itself.
            noteFailure(ref)
            throw error
        }
    }

    /// Whether ``decodePlain(_:_:_:)`` decodes `type`.
    private static func isPlain(_ type: Any.Type) -> Bool {
        type == String.self || type == Int.self || type == Double.self || type == Bool.self || type == Data.self
            || type == [UInt8].self || type == ArraySlice<UInt8>.self || type == PickleNode.self
    }

    /// A type ``isPlain(_:)`` accepts, decoded without `init(from:)`: the standard library's scalars, strings
    /// and byte containers, and ``PickleNode``. Apart from ``decode(_:_:path:fromSingleValue:)``, so that the
    /// generic path asks for no more type metadata than it needs (an optional of `T` is looked up at run time).
    @inline(never)
    private func decodePlain<T: Decodable>(_ type: T.Type, _ ref: PickleRef, _ path: @autoclosure () -> CodingPath) throws -> T {
        let type: Any.Type = type
        let value: Any
        if type == String.self { value = try string(ref, path()) }
        else if type == Int.self { value = try integer(Int.self, ref, path()) }
        else if type == Double.self { value = try floatingPoint(Double.self, ref, path()) }
        else if type == Bool.self { value = try bool(ref, path()) }
        else if type == Data.self { value = try Data(bytes(type, ref, path())) }
        else if type == [UInt8].self { value = try [UInt8](bytes(type, ref, path())) }
        else if type == ArraySlice<UInt8>.self { value = try bytes(type, ref, path()) }
        else { value = PickleNode(graph: graph, ref: ref) }
        return value as! T  // one of the types above
    }

    /// Records where an error arose, unless an inner one already has.
    func noteFailure(_ value: PickleRef) {
        if failure == nil { failure = (value, active.last) }
    }

    /// Marks the node `ref` as being decoded; false for values that hold nothing (no node to revisit).
    private func enter(_ ref: PickleRef, _ path: CodingPath) throws -> Bool {
        guard ref.isNode else { return false }
        let index = ref.nodeIndex
        if active.contains(index) {
            noteFailure(ref)
            throw DecodingError.dataCorrupted(.init(codingPath: path.keys, debugDescription:
                "The \(typeName(ref)) here contains itself (a cycle through the graph), which a Swift value cannot hold"))
        }
        guard active.count < settings.maxDepth else {
            noteFailure(ref)
            throw DecodingError.dataCorrupted(.init(codingPath: path.keys, debugDescription:
                "Containers nested deeper than \(settings.maxDepth) (PickleDecoder.maxDepth)"))
        }
        expanded += 1
        guard expanded <= settings.maxExpandedValues else {
            noteFailure(ref)
            throw DecodingError.dataCorrupted(.init(codingPath: path.keys, debugDescription:
                "Shared objects expand past \(settings.maxExpandedValues) values (PickleDecoder.maxExpandedValues)"))
        }
        active.append(index)
        return true
    }

    // MARK: - Plain values

    /// The argument of an object made by calling a global class with one argument and nothing applied after
    /// (an `enum` member, `Color(1)`), else `ref` itself.
    func unwrapped(_ ref: PickleRef) -> PickleRef {
        guard ref.isNode else { return ref }
        let node = t.nodes[ref.nodeIndex]
        guard node.kind == .object else { return ref }
        let record = t.objects[node.a]
        guard record.operations.isEmpty, case .reduce(let callable, let args) = record.constructor,
              callable.isNode, t.nodes[callable.nodeIndex].kind == .global else { return ref }
        let items = t.tupleElements(t.nodes[args.nodeIndex])
        return items.count == 1 ? items[items.startIndex] : ref
    }

    func isNone(_ ref: PickleRef) -> Bool { ref == .none }

    func bool(_ ref: PickleRef, _ path: @autoclosure () -> CodingPath) throws -> Bool {
        let value = unwrapped(ref)
        if value == .true { return true }
        if value == .false { return false }
        if settings.bools == .pythonIntegers, value.isInlineInt, value.inlineIntValue == 0 || value.inlineIntValue == 1 {
            return value.inlineIntValue == 1
        }
        throw mismatch(Bool.self, ref, path())
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type, _ ref: PickleRef, _ path: @autoclosure () -> CodingPath) throws -> T {
        let value = unwrapped(ref)
        if value.isInlineInt {
            if let exact = T(exactly: value.inlineIntValue) { return exact }
            throw outOfRange(type, ref, path())
        }
        if value == .true || value == .false {
            guard settings.bools == .pythonIntegers else { throw mismatch(type, ref, path()) }
            return value == .true ? 1 : 0
        }
        guard value.isNode else { throw mismatch(type, ref, path()) }
        let node = t.nodes[value.nodeIndex]
        switch node.kind {
        case .int64:
            if let exact = T(exactly: node.a) { return exact }
            throw outOfRange(type, ref, path())
        case .bigInt:
            // Minimal two's-complement little-endian bytes: at most T's width, plus a zero sign byte for an
            // unsigned value whose top bit is set.
            let bytes = t.payload(of: node)
            let negative = (bytes.last ?? 0) & 0x80 != 0
            var significant = bytes.count
            if !T.isSigned && !negative && significant == T.bitWidth / 8 + 1 && bytes.last == 0 { significant -= 1 }
            guard significant <= T.bitWidth / 8, !(negative && !T.isSigned) else { throw outOfRange(type, ref, path()) }
            var result: T = negative ? ~0 : 0
            for (k, byte) in bytes.prefix(significant).enumerated() {
                result &= ~(T(0xFF) << (8 * k))
                result |= T(byte) << (8 * k)
            }
            return result
        default:
            throw mismatch(type, ref, path())
        }
    }

    func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(_ type: T.Type, _ ref: PickleRef, _ path: @autoclosure () -> CodingPath) throws -> T {
        let value = unwrapped(ref)
        if value.isNode, t.nodes[value.nodeIndex].kind == .float {
            let double = Double(bitPattern: UInt64(bitPattern: Int64(t.nodes[value.nodeIndex].a)))
            let converted = T(double)
            guard converted.isFinite || !double.isFinite else { throw outOfRange(type, ref, path()) }
            return converted
        }
        if settings.integersAsFloatingPoint, value.isInlineInt || (value.isNode && t.nodes[value.nodeIndex].kind == .int64) {
            let int = value.isInlineInt ? Int(value.inlineIntValue) : t.nodes[value.nodeIndex].a
            return T(Double(int))
        }
        throw mismatch(type, ref, path())
    }

    func string(_ ref: PickleRef, _ path: @autoclosure () -> CodingPath) throws -> String {
        let value = unwrapped(ref)
        guard value.isNode, t.nodes[value.nodeIndex].kind == .string else { throw mismatch(String.self, ref, path()) }
        return t.withPayload(of: t.nodes[value.nodeIndex]) { String(decoding: $0, as: UTF8.self) }
    }

    /// The bytes of a `bytes`, `bytearray` or out-of-band buffer (a slice of the graph's bytes).
    func bytes(_ type: Any.Type, _ ref: PickleRef, _ path: @autoclosure () -> CodingPath) throws -> ArraySlice<UInt8> {
        guard let bytes = PickleNode(graph: graph, ref: ref).bytes else { throw mismatch(type, ref, path(), "bytes, bytearray or a buffer") }
        return bytes
    }

    // MARK: - Containers

    /// The key-value pairs a keyed container reads: a dict's items, or an object's items (a dict subclass)
    /// and state (`__dict__` and `__slots__` values applied by BUILD), interleaved, or the dict it was made
    /// from.
    func keyedEntries(_ ref: PickleRef) -> RefList? {
        guard ref.isNode else { return nil }
        let node = t.nodes[ref.nodeIndex]
        switch node.kind {
        case .dict: return .run(t.dictEntries(node))
        case .object:
            let record = t.objects[node.a]
            if let state = reconstructorState(record, .dict) { return .run(t.dictEntries(t.nodes[state.nodeIndex])) }
            // The usual instance: one BUILD of a `__dict__`, read in place.
            if record.operations.count == 1, case .build(let state) = record.operations[0], state.isNode, t.nodes[state.nodeIndex].kind == .dict {
                return .run(t.dictEntries(t.nodes[state.nodeIndex]))
            }
            var pairs: [PickleRef] = []
            var any = false
            for operation in record.operations {
                switch operation {
                case .setItem(let key, let value):
                    pairs += [key, value]
                    any = true
                case .build(let state):
                    // A state dict, or (dict or None, slots dict or None).
                    let states = state.isNode && t.nodes[state.nodeIndex].kind == .tuple ? Array(t.tupleElements(t.nodes[state.nodeIndex])) : [state]
                    for part in states where part.isNode && t.nodes[part.nodeIndex].kind == .dict {
                        pairs += t.dictEntries(t.nodes[part.nodeIndex])
                        any = true
                    }
                default: break
                }
            }
            if any { return .array(pairs) }
            // A class called with a dict and nothing applied after (`Counter`: `Counter({'a': 2})`).
            let argument = unwrapped(ref)
            guard argument != ref, argument.isNode, t.nodes[argument.nodeIndex].kind == .dict else { return nil }
            return .run(t.dictEntries(t.nodes[argument.nodeIndex]))
        default: return nil
        }
    }

    /// The items an unkeyed container reads: a sequence's or set's items, a dict's keys and values
    /// alternating, an object's appended or added items, or else the arguments it was made from.
    func sequenceItems(_ ref: PickleRef) -> RefList? {
        guard ref.isNode else { return nil }
        let node = t.nodes[ref.nodeIndex]
        switch node.kind {
        case .list, .set, .frozenSet: return .run(t.elements(of: node))
        case .tuple: return .run(t.tupleElements(node))
        case .dict: return .run(t.dictEntries(node))
        case .object:
            let record = t.objects[node.a]
            if let state = reconstructorState(record, .list) ?? reconstructorState(record, .tuple) {
                return sequenceItems(state)
            }
            var items: [PickleRef] = []
            for operation in record.operations {
                switch operation {
                case .extend(let appended): items += appended
                case .add(let item): items.append(item)
                default: break
                }
            }
            if !items.isEmpty || record.operations.contains(where: { if case .build = $0 { false } else { true } }) {
                return .array(items)
            }
            // A call with arguments and nothing after (a namedtuple): the arguments. An object made from no
            // arguments holds nothing to read as items.
            switch record.constructor {
            case .reduce(_, let args), .newObject(_, let args), .inst(_, let args), .obj(_, let args):
                let arguments = t.tupleElements(t.nodes[args.nodeIndex])
                return record.operations.isEmpty && !arguments.isEmpty ? .run(arguments) : nil
            default: return nil
            }
        default: return nil
        }
    }

    /// The state of `copyreg._reconstructor(cls, base, state)` when it is of `kind`: how protocols 0 and 1
    /// write instances of dict, list and tuple subclasses (`namedtuple` included), the items in the state.
    private func reconstructorState(_ record: ObjectRecord, _ kind: NodeKind) -> PickleRef? {
        guard case .reduce(let callable, let args) = record.constructor, callable.isNode,
              t.nodes[callable.nodeIndex].kind == .global,
              t.globals[t.nodes[callable.nodeIndex].a] == GlobalName(module: "copyreg", name: "_reconstructor") else { return nil }
        let items = t.tupleElements(t.nodes[args.nodeIndex])
        guard items.count == 3 else { return nil }
        let state = items[items.startIndex + 2]
        return state.isNode && t.nodes[state.nodeIndex].kind == kind ? state : nil
    }

    // MARK: - Errors

    /// The error for a value that is not of `type`: `valueNotFound` for `None` (a missing value, as JSON's
    /// `null`), `typeMismatch` for anything else.
    func mismatch(_ type: Any.Type, _ ref: PickleRef, _ path: CodingPath, _ expected: String? = nil) -> DecodingError {
        noteFailure(ref)
        if ref == .none {
            return DecodingError.valueNotFound(type, .init(codingPath: path.keys, debugDescription: "Expected \(expected ?? "\(type)") but found None"))
        }
        return DecodingError.typeMismatch(type, .init(codingPath: path.keys, debugDescription:
            "Expected to decode \(expected ?? "\(type)") but found \(describe(ref))"))
    }

    func outOfRange(_ type: Any.Type, _ ref: PickleRef, _ path: CodingPath) -> DecodingError {
        noteFailure(ref)
        return DecodingError.dataCorrupted(.init(codingPath: path.keys, debugDescription: "\(describe(ref)) does not fit in \(type)"))
    }

    /// The Python type and a short repr of a value, for messages.
    func describe(_ ref: PickleRef) -> String {
        let text = GraphRepr.repr(t, ref, maxLength: 60)
        return "a Python \(typeName(ref)), \(text)"
    }

    /// The Python type of a value; for an object, the global class (or callable) it was made by.
    func typeName(_ ref: PickleRef) -> String {
        guard ref.isNode, t.nodes[ref.nodeIndex].kind == .object else { return t.pythonTypeName(of: ref) }
        let maker: PickleRef
        switch t.objects[t.nodes[ref.nodeIndex].a].constructor {
        case .reduce(let callable, _): maker = callable
        case .newObject(let cls, _), .newObjectEx(let cls, _, _), .instance(let cls), .inst(let cls, _), .obj(let cls, _): maker = cls
        case .persistent, .ext: return "object"
        }
        guard let name = t.globalName(maker) else { return "object" }
        return "\(name) object"
    }
}

/// References read in order: a run of the graph's arena, or an array gathered from an object's operations.
enum RefList {
    case run(RefRun)
    case array([PickleRef])

    var count: Int {
        switch self {
        case .run(let run): return run.count
        case .array(let array): return array.count
        }
    }

    subscript(offset: Int) -> PickleRef {
        switch self {
        case .run(let run): return run[run.startIndex + offset]
        case .array(let array): return array[offset]
        }
    }
}

/// A coding path: a linked list of keys from the root, made into an array only when asked for.
final class CodingPath {
    let parent: CodingPath?
    let key: (any CodingKey)?

    /// A new empty path (each decode makes its own: keys are not `Sendable`).
    static var root: CodingPath { CodingPath(parent: nil, key: nil) }

    private init(parent: CodingPath?, key: (any CodingKey)?) {
        self.parent = parent
        self.key = key
    }

    func appending(_ key: some CodingKey) -> CodingPath { CodingPath(parent: self, key: key) }
    func appending(index: Int) -> CodingPath { CodingPath(parent: self, key: IndexKey(intValue: index)) }

    var keys: [any CodingKey] {
        var keys: [any CodingKey] = []
        var node: CodingPath? = self
        while let current = node, let key = current.key {
            keys.append(key)
            node = current.parent
        }
        return keys.reversed()
    }
}

/// The key of an item of an unkeyed container, as `JSONDecoder` names them (`Index 3`).
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { return nil }
}

extension PickleNode: Decodable {
    /// The value being decoded, as a node of its graph: a field of this type keeps any value as it is,
    /// without copying, to be read later.
    /// - Throws: `DecodingError.typeMismatch` from any decoder but ``PickleDecoder``'s.
    public init(from decoder: any Decoder) throws {
        guard let reader = decoder as? PickleValueReader else {
            throw DecodingError.typeMismatch(PickleNode.self, .init(codingPath: decoder.codingPath, debugDescription: "A PickleNode is decoded only by PickleDecoder"))
        }
        self.init(graph: reader.graph, ref: reader.ref)
    }
}
