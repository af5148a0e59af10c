/// A light view of one value inside a ``PickleGraph``: typed accessors, subscripts, identity.
///
/// Holding a node keeps its graph alive. Accessors return `nil` when the value is of another kind.
public struct PickleNode: Sendable, CustomStringConvertible {
    /// The graph this node belongs to.
    public let graph: PickleGraph
    /// The reference to the value inside the graph.
    public let ref: PickleRef

    /// Creates a view of `ref` in `graph`.
    public init(graph: PickleGraph, ref: PickleRef) {
        self.graph = graph
        self.ref = ref
    }

    /// The Python type of a value, as seen from Swift.
    public enum Kind: String, Sendable {
        case none, bool, int, float, string, bytes, byteArray, list, tuple, dict, set, frozenSet
        case global, object, buffer
    }

    /// The graph's tables, borrowed: a getter would return a copy, retaining each of their buffers on every
    /// access.
    var t: GraphTables {
        @inline(__always) _read { yield graph.t }
    }
    @inline(__always) var node: Node? { ref.isNode ? graph.t.nodes[ref.nodeIndex] : nil }

    /// What kind of value this is.
    public var kind: Kind {
        if ref.isInlineInt { return .int }
        if ref == .none { return .none }
        if ref == .true || ref == .false { return .bool }
        switch t.nodes[ref.nodeIndex].kind {
        case .int64, .bigInt: return .int
        case .float: return .float
        case .string: return .string
        case .bytes: return .bytes
        case .byteArray: return .byteArray
        case .list: return .list
        case .tuple: return .tuple
        case .dict: return .dict
        case .set: return .set
        case .frozenSet: return .frozenSet
        case .global: return .global
        case .object: return .object
        case .buffer: return .buffer
        }
    }

    /// The Python type name (`int`, `str`, `list`, ...), for messages.
    public var pythonTypeName: String { t.pythonTypeName(of: ref) }

    // MARK: - Scalars

    /// Whether this is `None`.
    public var isNone: Bool { ref == .none }

    /// The value of a `bool`.
    public var bool: Bool? { ref == .true ? true : (ref == .false ? false : nil) }

    /// The value of an `int` that fits in `Int` (bools are not ints here).
    public var int: Int? {
        if ref.isInlineInt { return Int(ref.inlineIntValue) }
        guard let node, node.kind == .int64 else { return nil }
        return node.a
    }

    /// Any `int` as minimal two's-complement little-endian bytes (empty for zero).
    public var intTwosComplementLE: [UInt8]? {
        if let small = int { return BigIntText.minimalTwosComplement(Int64(small)) }
        guard let node, node.kind == .bigInt else { return nil }
        return Array(t.payload(of: node))
    }

    /// The value of a `float`, bit-exact.
    public var double: Double? {
        guard let node, node.kind == .float else { return nil }
        return Double(bitPattern: UInt64(bitPattern: Int64(node.a)))
    }

    /// The value of a `str`. Lone surrogates (which `String` cannot hold) become U+FFFD; ``utf8`` is exact.
    public var string: String? {
        guard let node, node.kind == .string else { return nil }
        return t.withPayload(of: node) { String(decoding: $0, as: UTF8.self) }
    }

    /// A `str` as UTF-8 bytes with lone surrogates allowed (Python's `surrogatepass`); a copy for strings
    /// shorter than 512 bytes, a slice of the input for longer ones.
    public var utf8: ArraySlice<UInt8>? {
        guard let node, node.kind == .string else { return nil }
        return t.payload(of: node)
    }

    /// The bytes of a `bytes`, `bytearray` or out-of-band buffer: without copying for payloads of 512 bytes
    /// or more (slices of the input) and out-of-band buffers; shorter payloads are copied.
    public var bytes: ArraySlice<UInt8>? {
        guard let node else { return nil }
        switch node.kind {
        case .bytes, .byteArray: return t.payload(of: node)
        case .buffer: return t.buffers[node.a].bytes
        default: return nil
        }
    }

    /// Whether a bytearray or buffer was marked read-only (READONLY_BUFFER).
    public var isReadonlyBuffer: Bool { node.map { $0.readonly } ?? false }

    /// The module and name of a global.
    public var global: GlobalName? {
        guard let node, node.kind == .global else { return nil }
        return t.globals[node.a]
    }

    // MARK: - Containers

    /// The items of a list, tuple, set or frozenset, in order.
    public var elements: [PickleNode]? {
        guard let node else { return nil }
        switch node.kind {
        case .list, .set, .frozenSet: return t.elements(of: node).map { PickleNode(graph: graph, ref: $0) }
        case .tuple: return t.tupleElements(node).map { PickleNode(graph: graph, ref: $0) }
        default: return nil
        }
    }

    /// The pairs of a dict, in insertion order; also the items set on an inert mapping object such as
    /// `collections.OrderedDict` (its SETITEM operations).
    public var dictionaryItems: [(key: PickleNode, value: PickleNode)]? {
        guard let node else { return nil }
        switch node.kind {
        case .dict:
            let items = t.dictEntries(node)
            return stride(from: items.startIndex, to: items.endIndex, by: 2).map {
                (PickleNode(graph: graph, ref: items[$0]), PickleNode(graph: graph, ref: items[$0 + 1]))
            }
        case .object:
            return t.objects[node.a].operations.compactMap {
                if case .setItem(let k, let v) = $0 { return (PickleNode(graph: graph, ref: k), PickleNode(graph: graph, ref: v)) }
                return nil
            }
        default: return nil
        }
    }

    /// The number of items of a container, or bytes of a payload.
    public var count: Int? {
        guard let node else { return nil }
        switch node.kind {
        case .list, .set, .frozenSet: return t.elements(of: node).count
        case .tuple: return t.tupleElements(node).count
        case .dict: return t.dictEntries(node).count / 2
        case .string, .bytes, .byteArray: return t.payloadCount(node)
        default: return nil
        }
    }

    /// The item at `index` of a list or tuple (negative indices count from the end, as in Python).
    public subscript(index: Int) -> PickleNode? {
        guard let node else { return nil }
        let items: RefRun
        switch node.kind {
        case .list: items = t.elements(of: node)
        case .tuple: items = t.tupleElements(node)
        default: return nil
        }
        let i = index < 0 ? index + items.count : index
        guard i >= 0 && i < items.count else { return nil }
        return PickleNode(graph: graph, ref: items[items.startIndex + i])
    }

    /// The value for a `str` key of a dict (or inert mapping object).
    public subscript(key: String) -> PickleNode? {
        dictionaryItems?.last(where: { $0.key.string == key })?.value
    }

    // MARK: - Objects

    /// How an inert object was created.
    public var constructor: ObjectConstructor? {
        guard let node, node.kind == .object else { return nil }
        return t.objects[node.a].constructor
    }

    /// What was done to an inert object after its creation (APPEND, SETITEM, ADDITEMS, BUILD), in order.
    public var operations: [ObjectOperation]? {
        guard let node, node.kind == .object else { return nil }
        return t.objects[node.a].operations
    }

    /// The class or callable of an inert object, when it is a global: `collections.OrderedDict`,
    /// `datetime.datetime`, a user class.
    public var objectClass: GlobalName? {
        guard let constructor else { return nil }
        let ref: PickleRef
        switch constructor {
        case .reduce(let c, _), .newObject(let c, _), .newObjectEx(let c, _, _), .instance(let c), .inst(let c, _), .obj(let c, _):
            ref = c
        case .persistent, .ext: return nil
        }
        return PickleNode(graph: graph, ref: ref).global
    }

    /// The node a reference inside this graph points to (for the references in ``constructor`` and
    /// ``operations``).
    public func node(_ ref: PickleRef) -> PickleNode { PickleNode(graph: graph, ref: ref) }

    // MARK: - Identity

    /// Whether two nodes are the same Python object (`is`), not merely equal.
    public func isSameObject(as other: PickleNode) -> Bool {
        if !ref.isNode || !other.ref.isNode { return ref == other.ref }
        return graph.identity(of: ref) == other.graph.identity(of: other.ref)
    }

    /// Python's `repr` of the value (with inert objects shown as their construction).
    public var description: String { GraphRepr.repr(graph.t, ref) }

    /// Appends Python's `repr` of the value as UTF-8 to `buffer`: the text of ``description``, written
    /// straight into the bytes for the usual values (no `String` per object), for printing many objects.
    /// - Parameter buffer: where the text goes; what it held before is kept.
    public func appendDescription(to buffer: inout [UInt8]) { GraphRepr.appendRepr(graph.t, ref, to: &buffer) }
}
