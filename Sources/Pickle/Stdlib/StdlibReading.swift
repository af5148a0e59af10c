// Reading the shapes CPython writes for its standard library's value types, over a graph's tables.
//
// Recognition is a view: it never changes the graph, never allocates nodes, and inspects a fixed depth of
// structure (no recursion into values of unbounded depth), so it cannot loop on a cycle or overflow the stack.
// Every check fails closed: a shape that is not exactly one CPython writes (or would accept and rebuild into
// the same value) is not recognised, and the node stays the inert object it is.

/// A Python standard library value type recognised over the inert objects of a pickle.
///
/// Each conforming type reads itself from a ``PickleNode`` (nil when the node is not exactly that value as
/// CPython pickles it), prints itself as CPython's `repr` does, and builds itself back as a ``PickleValue``
/// (or a ``PickleGraph``) that the ``Pickler`` writes so that CPython rebuilds an equal object.
public protocol PickleStdlibValue: Sendable {
    /// Recognises the value in `node`; nil when the node is anything else, malformed included.
    /// - Parameter node: a node of a decoded graph.
    init?(_ node: PickleNode)

    /// The value as a tree of inert objects, in the form CPython writes at protocol 2 and above.
    var pickleValue: PickleValue { get }

    /// The text CPython's `repr` prints for this value.
    var pythonRepr: String { get }
}

extension PickleStdlibValue {
    /// The value as a graph of its own, ready for ``Pickler/dump(_:)-(PickleGraph)``.
    public func pickleGraph() -> PickleGraph { PickleGraph(pickleValue) }
}

extension GraphBuilder {
    /// Adds a standard library value to the graph under construction; returns its reference.
    mutating func append(_ value: some PickleStdlibValue) -> PickleRef { insert(value.pickleValue) }
}

/// One piece of a recognised value's repr: literal text, or a value of the graph printed in place.
enum ReprPiece {
    case text(String)
    case value(PickleRef)
}

/// A call's arguments in place, indexed from 0.
struct CallArguments: RandomAccessCollection {
    let run: RefRun
    var startIndex: Int { 0 }
    var endIndex: Int { run.count }
    subscript(position: Int) -> PickleRef { run[run.startIndex + position] }
}

/// The zone of the last aware value recognised, by reference: the datetimes of one pickle usually share
/// one memoized `tzinfo` object, recognised once.
final class ZoneCache {
    private var ref: PickleRef?
    private var zone: PythonTZInfo?

    func zone(_ t: GraphTables, _ candidate: PickleRef) -> PythonTZInfo? {
        if candidate.isNode, candidate == ref { return zone }
        let recognized = PythonTZInfo.recognize(t, candidate)
        (ref, zone) = (candidate, recognized)
        return recognized
    }
}

/// The call an inert object was made by, read for recognition.
struct StdlibCall {
    enum Form { case reduce, newObject, instance }
    /// REDUCE, NEWOBJ, or `copyreg._reconstructor(cls, object, None)`.
    var form: Form
    /// The callable or class, when it is a global.
    var name: GlobalName
    /// The argument tuple's items (empty for ``Form/instance``).
    var args: [PickleRef]
    /// What was done to the object afterwards.
    var operations: [ObjectOperation]
}

extension GlobalName {
    init(_ module: String, _ name: String) { self.init(module: module, name: name) }
}

extension GraphTables {
    /// The node of `ref` if it is one of `kind`.
    @inline(__always)
    func node(_ ref: PickleRef, _ kind: NodeKind) -> Node? {
        guard ref.isNode, ref.nodeIndex < nodes.count else { return nil }
        let node = nodes[ref.nodeIndex]
        return node.kind == kind ? node : nil
    }

    /// The name of a global node.
    func globalName(_ ref: PickleRef) -> GlobalName? {
        node(ref, .global).map { globals[$0.a] }
    }

    /// The call that made the object `ref`: REDUCE / NEWOBJ of a global, or a plain instance.
    func stdlibCall(_ ref: PickleRef) -> StdlibCall? {
        guard let node = node(ref, .object) else { return nil }
        let record = objects[node.a]
        switch record.constructor {
        case .reduce(let callable, let args):
            guard let name = globalName(callable), let items = tupleItems(args) else { return nil }
            return StdlibCall(form: .reduce, name: name, args: items, operations: record.operations)
        case .newObject(let cls, let args):
            guard let name = globalName(cls), let items = tupleItems(args) else { return nil }
            return StdlibCall(form: .newObject, name: name, args: items, operations: record.operations)
        case .instance(let cls):
            guard let name = globalName(cls) else { return nil }
            return StdlibCall(form: .instance, name: name, args: [], operations: record.operations)
        default:
            return nil
        }
    }

    /// REDUCE of the global `name` with no operations after it: the arguments, read in place.
    func reduceArgs(_ ref: PickleRef, _ name: GlobalName) -> CallArguments? {
        guard let node = node(ref, .object) else { return nil }
        let record = objects[node.a]
        guard record.operations.isEmpty, case .reduce(let callable, let args) = record.constructor,
              globalName(callable) == name, let tuple = self.node(args, .tuple) else { return nil }
        return CallArguments(run: tupleElements(tuple))
    }

    /// The items of a tuple.
    func tupleItems(_ ref: PickleRef) -> [PickleRef]? {
        node(ref, .tuple).map { Array(tupleElements($0)) }
    }

    /// The items of a list.
    func listItems(_ ref: PickleRef) -> [PickleRef]? {
        node(ref, .list).map { Array(elements(of: $0)) }
    }

    /// The key/value pairs of a dict, in order.
    func dictPairs(_ ref: PickleRef) -> [(key: PickleRef, value: PickleRef)]? {
        guard let node = node(ref, .dict) else { return nil }
        let run = dictEntries(node)
        return stride(from: run.startIndex, to: run.endIndex, by: 2).map { (run[$0], run[$0 + 1]) }
    }

    /// An `int` that fits in `Int` (not a bool).
    func intValue(_ ref: PickleRef) -> Int? {
        if ref.isInlineInt { return Int(ref.inlineIntValue) }
        return node(ref, .int64)?.a
    }

    /// Any `int` (not a bool) as minimal two's-complement little-endian bytes.
    func intBytes(_ ref: PickleRef) -> [UInt8]? {
        if let small = intValue(ref) { return BigIntText.minimalTwosComplement(Int64(small)) }
        return node(ref, .bigInt).map { Array(payload(of: $0)) }
    }

    /// A non-negative `int` below 2^`bits` as its value's 64-bit limbs, least significant first.
    func unsignedInt(_ ref: PickleRef, bits: Int) -> [UInt64]? {
        guard let bytes = intBytes(ref) else { return nil }
        if let last = bytes.last, last & 0x80 != 0 { return nil }
        var magnitude = bytes
        while magnitude.last == 0 { magnitude.removeLast() }
        let bitLength = magnitude.last.map { (magnitude.count - 1) * 8 + 8 - $0.leadingZeroBitCount } ?? 0
        guard bitLength <= bits else { return nil }
        var limbs = [UInt64](repeating: 0, count: (bits + 63) / 64)
        for (i, byte) in magnitude.enumerated() { limbs[i / 8] |= UInt64(byte) << (8 * UInt64(i % 8)) }
        return limbs
    }

    /// A `float`.
    func floatValue(_ ref: PickleRef) -> Double? {
        node(ref, .float).map { Double(bitPattern: UInt64(bitPattern: Int64($0.a))) }
    }

    /// A `str` that `String` holds exactly (no lone surrogates).
    func stringValue(_ ref: PickleRef) -> String? {
        guard let node = node(ref, .string) else { return nil }
        return withPayload(of: node) { raw in
            // Valid UTF-8 has no encoded surrogates; a str with lone surrogates is not a Swift String.
            String(validating: raw, as: UTF8.self)
        }
    }

    /// A `bytes` value, or a `str` whose code points are all below 256 taken as its latin-1 bytes (how
    /// CPython's datetime accepts a Python 2 state read with `encoding='latin1'`).
    func bytesOrLatin1(_ ref: PickleRef) -> [UInt8]? {
        if let node = node(ref, .bytes) { return Array(payload(of: node)) }
        guard let node = node(ref, .string) else { return nil }
        return withPayload(of: node) { raw -> [UInt8]? in
            guard let points = PythonText.decodeUTF8SurrogatePass(raw), points.allSatisfy({ $0 < 256 }) else { return nil }
            return points.map { UInt8($0) }
        }
    }
}

// MARK: - Building

extension PickleValue {
    /// `module.name(*args)` (REDUCE) with no operations.
    static func call(_ module: String, _ name: String, _ args: [PickleValue], operations: [ObjectValue.Operation] = []) -> PickleValue {
        .object(ObjectValue(.reduce(callable: .global(GlobalName(module, name)), args: args), operations: operations))
    }
}

// MARK: - Text

enum StdlibText {
    /// Python's `repr` of a str.
    static func quoted(_ s: String) -> String { PythonRepr.string(s) }
}
