/// The kinds of node stored in a graph arena.

enum NodeKind: UInt8, Sendable {
    case int64, bigInt, float, string, bytes, byteArray
    case list, tuple, dict, set, frozenSet
    case global, object, buffer

    /// Whether nodes of this kind hold other values (and so add a level of nesting).
    var isContainer: Bool {
        switch self {
        case .list, .tuple, .dict, .set, .frozenSet, .object: return true
        default: return false
        }
    }
}

/// One arena node: a kind and two words whose meaning depends on the kind.
///
/// - `int64`: `a` is the value.
/// - `bigInt`, `string`, `bytes`, `byteArray`: a payload; `a`/`b` are an offset and a length in the byte heap,
///   or, when `external` is set, `a` indexes `slices` (large payloads kept as slices of the input; `b` is then
///   unused, the length is the slice's).
///   Strings hold UTF-8 with surrogates allowed (Python's `surrogatepass`); big integers hold minimal
///   two's-complement little-endian bytes.
/// - `float`: `a` is the bit pattern.
/// - `tuple`: `a`/`b` are an offset and a count in `tupleItems`; when `external` is set (a tuple too large for a
///   32-bit count), `a` indexes `sequences`.
/// - `list`: when `external` is set, `a`/`b` are an offset and a count in the flat `listItems` arena (the usual
///   case: one allocation for every list of the graph); otherwise `a` indexes `sequences` (a list that grew after
///   another list was appended behind it moves to its own array).
/// - `set`, `frozenSet`: `a` indexes `sequences`.
/// - `dict`: keys and values interleaved. As for lists: when `external` is set, `a`/`b` are an offset and a
///   count of references in the flat `dictItems` arena (small dicts, the usual case); otherwise `a` indexes
///   `dicts` (a dict that outgrew a linear scan, or grew after another dict was filled behind it).
/// - `global`: `a` indexes `globals`; `b` is ``literalDottedName`` for a dotted name read below protocol 4,
///   else 0. `object`: `a` indexes `objects`.
/// - `buffer`: `a` indexes `buffers` (protocol 5 out-of-band data).
///
/// A node takes 16 bytes (the arena is most of a decoded graph's memory, and fresh memory costs a page fault
/// per 4 KiB): `b` is stored in 32 bits. The builder keeps it below ``maxCount``: a payload or container
/// larger than that lives in `slices`, `sequences` or `dicts`, whose arrays carry their own count.
struct Node: Sendable {
    var a: Int
    private var narrowB: UInt32
    var kind: NodeKind
    var external: Bool
    /// For `byteArray` and `buffer`: READONLY_BUFFER was applied.
    var readonly: Bool

    /// The largest `b`.
    static let maxCount = Int(UInt32.max)

    /// `b` of a global whose name has a dot and was read below protocol 4 (no PROTO 4 or 5 before it in its
    /// pickle). CPython 3.11 resolves such a name as one attribute, dots included (`getattr(module,
    /// 'Outer.Inner')`, which fails for every ordinary module), and a dotted name read at protocol 4 and
    /// above as an attribute path (`module.Outer.Inner`). The pickler keeps the difference: a literal name is
    /// written as GLOBAL text below protocol 4 and refused at 4 and above, where no opcode can say it.
    static let literalDottedName = 1

    /// A count or length: at most ``maxCount``.
    var b: Int {
        @inline(__always) get { Int(narrowB) }
        @inline(__always) set { narrowB = UInt32(newValue) }
    }

    init(kind: NodeKind, a: Int, b: Int = 0, external: Bool = false) {
        self.kind = kind
        self.a = a
        self.narrowB = UInt32(b)
        self.external = external
        self.readonly = false
    }
}

/// A Python global: a module and a qualified name, as the stream spelled them (after fix_imports mapping).
public struct GlobalName: Hashable, Sendable, CustomStringConvertible {
    /// The module, such as `collections`.
    public var module: String
    /// The (possibly dotted) name inside the module, such as `OrderedDict`.
    public var name: String

    /// Creates a global name.
    public init(module: String, name: String) {
        self.module = module
        self.name = name
    }

    /// `module.name`.
    public var description: String { "\(module).\(name)" }
}

/// How an inert object came to exist, exactly as the stream said.
public enum ObjectConstructor: Hashable, Sendable {
    /// `callable(*args)` (REDUCE).
    case reduce(callable: PickleRef, args: PickleRef)
    /// `cls.__new__(cls, *args)` (NEWOBJ).
    case newObject(cls: PickleRef, args: PickleRef)
    /// `cls.__new__(cls, *args, **kwargs)` (NEWOBJ_EX).
    case newObjectEx(cls: PickleRef, args: PickleRef, kwargs: PickleRef)
    /// A class instance created by `copyreg._reconstructor(cls, object, None)`, CPython's form for plain
    /// instances at protocols 0 and 1: `object.__new__(cls)`, which is not NEWOBJ's `cls.__new__(cls)` for a
    /// class with a `__new__` of its own, so it is written back as the same call at every protocol.
    case instance(cls: PickleRef)
    /// The protocol 0 INST opcode (`cls` is a global): CPython's `_instantiate`, `cls(*args)` when there are
    /// arguments or the class has `__getinitargs__`, else `cls.__new__(cls)`.
    case inst(cls: PickleRef, args: PickleRef)
    /// The protocol 1 OBJ opcode: `_instantiate`, as ``inst(cls:args:)``.
    case obj(cls: PickleRef, args: PickleRef)
    /// A persistent id: PERSID (`textual`, the id is a str) or BINPERSID (any object).
    case persistent(id: PickleRef, textual: Bool)
    /// An object named by a code in the copyreg extension registry (EXT1/EXT2/EXT4).
    case ext(code: Int)
}

/// A mutation applied to an inert object after it was created, in stream order.
public enum ObjectOperation: Hashable, Sendable {
    /// One APPEND (a single item) or APPENDS: CPython calls `obj.extend(items)` once per opcode, or
    /// `obj.append(item)` for each item when the object has no `extend`. The grouping is kept because a class
    /// can tell one `extend` call of three items from three calls of one.
    case extend([PickleRef])
    /// SETITEM/SETITEMS: `obj[key] = value`.
    case setItem(key: PickleRef, value: PickleRef)
    /// ADDITEMS: `obj.add(item)`.
    case add(PickleRef)
    /// BUILD: `obj.__setstate__(state)` or the default state update.
    case build(state: PickleRef)
}


struct ObjectRecord: Sendable {
    var constructor: ObjectConstructor
    var operations: [ObjectOperation]
}

/// A protocol 5 out-of-band buffer handed over by the caller (NEXT_BUFFER), never copied.
public struct OutOfBandBuffer: Sendable {
    /// The buffer's bytes.
    public var bytes: ArraySlice<UInt8>
    /// Whether the buffer is read-only (a `bytes`-like object rather than a `bytearray`).
    public var isReadonly: Bool

    /// Creates a buffer. - Parameters: - bytes: the data. - isReadonly: `true` for read-only data.
    public init(_ bytes: ArraySlice<UInt8>, isReadonly: Bool = true) {
        self.bytes = bytes
        self.isReadonly = isReadonly
    }

    /// Creates a buffer from an array.
    public init(_ bytes: [UInt8], isReadonly: Bool = true) {
        self.init(bytes[...], isReadonly: isReadonly)
    }
}

/// The tables of one object graph. Built by `GraphBuilder`, then frozen into a ``PickleGraph``.
///
/// The arenas (nodes, the payload heap, the tuple, list and dict items) are flat buffers. A small finished
/// graph has them all in one allocation (``compacting(_:into:at:)``: a block of its own, or a region of a slab
/// that other small graphs share), held once by ``arena``. The tables most graphs leave empty
/// (``RareTables``) sit behind one optional reference, so creating and destroying a small graph touches four
/// references (the arena, the large payloads, the out-of-band buffers, the rare tables) rather than twelve.
struct GraphTables: Sendable {
    var nodes: FlatBuffer<Node>
    /// Payloads shorter than ``sliceThreshold`` bytes; longer ones are kept in `slices`.
    var heap: FlatBuffer<UInt8>
    var tupleItems: FlatBuffer<PickleRef>
    var listItems: FlatBuffer<PickleRef>
    var dictItems: FlatBuffer<PickleRef>
    /// Payloads of at least ``sliceThreshold`` bytes: slices of the input or arrays of their own.
    ///
    /// A table of its own, not one of the ``RareTables``: a pickle of one `bytes` object of a few KiB is
    /// common, and its graph would otherwise allocate and free the rare tables' box and release their five
    /// other (empty) tables: about 550 instructions of the 3,700 that decoding a 1 KiB `bytes` pickle took.
    /// An empty array costs a graph without large payloads one release of the shared empty storage.
    var slices: [ArraySlice<UInt8>]
    var buffers: [OutOfBandBuffer]
    /// The one allocation a compacted graph's arenas are borrowed regions of; nil while they own their
    /// storage (a graph being built, or one that took the builder's arenas).
    nonisolated(unsafe) private(set) var arena: FlatStorage?
    /// The rarely used tables; nil while all of them are empty.
    ///
    /// Both references are `nonisolated(unsafe)` for the reason ``FlatBuffer`` is `@unchecked Sendable`
    /// (`ManagedBuffer` subclasses cannot be `Sendable`): a finished graph's tables are never written again,
    /// and tables being built belong to one builder, which copies the rare tables before writing them if
    /// they are shared.
    nonisolated(unsafe) private var rare: RareTablesBox?

    /// The rare tables, unique to these tables and ready for writing.
    private mutating func rareForWriting() -> UnsafeMutablePointer<RareTables> {
        if rare == nil {
            rare = RareTablesBox.make(RareTables())
        } else if !isKnownUniquelyReferenced(&rare) {
            rare = RareTablesBox.make(rare.unsafelyUnwrapped.contents.pointee)
        }
        return rare.unsafelyUnwrapped.contents
    }

    /// Lists, tuples and sets that live in buffers of their own (see ``Node``). The builder makes one unique
    /// before it changes it (``GraphBuilder/mutateSequence(_:_:)``).
    var sequences: [FlatBuffer<PickleRef>] {
        _read { if let rare { yield rare.contents.pointee.sequences } else { yield [] } }
        _modify { yield &rareForWriting().pointee.sequences }
    }
    /// Dicts that live in buffers of their own (see ``Node``).
    var dicts: [FlatBuffer<PickleRef>] {
        _read { if let rare { yield rare.contents.pointee.dicts } else { yield [] } }
        _modify { yield &rareForWriting().pointee.dicts }
    }
    var globals: [GlobalName] {
        _read { if let rare { yield rare.contents.pointee.globals } else { yield [] } }
        _modify { yield &rareForWriting().pointee.globals }
    }
    var objects: [ObjectRecord] {
        _read { if let rare { yield rare.contents.pointee.objects } else { yield [] } }
        _modify { yield &rareForWriting().pointee.objects }
    }
    /// Nodes copied from an earlier graph of the same session: local node index -> identity of the original.
    var origins: [Int: NodeIdentity] {
        _read { if let rare { yield rare.contents.pointee.origins } else { yield [:] } }
        _modify { yield &rareForWriting().pointee.origins }
    }

    /// Payloads at or above this size are never copied into the heap: those that lie inside one input chunk
    /// are kept as slices of that chunk (zero copy), others in arrays of their own. Smaller ones are copied
    /// into the heap, which costs less than retaining the chunk.
    static let sliceThreshold = 512

    /// The bytes the arenas hold.
    ///
    /// Wrapping arithmetic (here and in ``compactedByteCount(_:)``): the counts are of elements in memory, so
    /// their byte sizes cannot overflow, and the checks cost ~20 instructions of every finished graph.
    var arenaByteCount: Int {
        nodes.count &* MemoryLayout<Node>.stride &+ heap.count
            &+ (tupleItems.count &+ listItems.count &+ dictItems.count) &* MemoryLayout<PickleRef>.stride
    }

    /// The bytes ``compacting(_:into:at:)`` copies `source`'s arenas into (a multiple of 8).
    static func compactedByteCount(_ source: borrowing GraphTables) -> Int {
        source.arenaByteCount &- source.heap.count &+ GraphTables.aligned(source.heap.count)
    }

    /// The tables of `source` with its arenas copied, each to its size, into `storage` from byte `offset`
    /// (room for ``compactedByteCount(_:)`` bytes, which no one else writes), and its other tables moved;
    /// `source` keeps its arenas (emptied) for reuse. The tables hold `storage`, which may hold other graphs'
    /// arenas too (``GraphBuilder``'s slab).
    ///
    /// A static function building the tables with the memberwise initializer, not an `init`: the optimizer
    /// left an explicit initializer's `self` as a stack copy that was retained, copied out and released.
    @inline(__always)
    static func compacting(_ source: inout GraphTables, into storage: FlatStorage, at offset: Int) -> GraphTables {
        var next = storage.start + offset
        let nodes = GraphTables.move(&source.nodes, to: &next)
        let heap = GraphTables.move(&source.heap, to: &next)
        let tupleItems = GraphTables.move(&source.tupleItems, to: &next)
        let listItems = GraphTables.move(&source.listItems, to: &next)
        let dictItems = GraphTables.move(&source.dictItems, to: &next)
        var slices: [ArraySlice<UInt8>] = []
        swap(&slices, &source.slices)
        var buffers: [OutOfBandBuffer] = []
        swap(&buffers, &source.buffers)
        var rare: RareTablesBox?
        swap(&rare, &source.rare)
        return GraphTables(nodes: nodes, heap: heap, tupleItems: tupleItems, listItems: listItems,
                           dictItems: dictItems, slices: slices, buffers: buffers, arena: storage, rare: rare)
    }

    private static func aligned(_ n: Int) -> Int { (n &+ 7) & ~7 }

    /// Copies `buffer`'s elements to `next`, empties it (keeping its storage), and returns the copy as a
    /// borrowed region; `next` moves past it, 8-byte aligned.
    private static func move<E>(_ buffer: inout FlatBuffer<E>, to next: inout UnsafeMutableRawPointer) -> FlatBuffer<E> {
        let region = FlatBuffer<E>(borrowing: next, count: buffer.count)
        next += aligned(buffer.copyBytes(to: next))
        buffer.removeAll()
        return region
    }

    /// A payload's bytes: a slice of the input (or of its own array), or, for one in the heap (shorter than
    /// ``sliceThreshold``), a copy.
    func payload(of node: Node) -> ArraySlice<UInt8> {
        if node.external { return slices[node.a] }
        return ArraySlice(heap.unsafeElements(node.a ..< node.a + node.b))
    }

    /// The bytes of a payload that lives in the heap, valid while these tables live.
    @inline(__always)
    func heapBytes(_ node: Node) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(heap.unsafeElements(node.a ..< node.a + node.b))
    }

    func withPayload<R>(of node: Node, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if node.external { return try slices[node.a].withUnsafeBytes(body) }
        return try body(heapBytes(node))
    }

    @inline(__always)
    func tupleElements(_ node: Node) -> RefRun {
        if node.external { return sequences[node.a].run }
        return RefRun(tupleItems, node.a ..< node.a + node.b, keptBy: arena)
    }

    /// The length of a payload node (`bigInt`, `string`, `bytes`, `byteArray`).
    func payloadCount(_ node: Node) -> Int {
        node.external ? slices[node.a].count : node.b
    }

    /// A dict's keys and values, interleaved.
    @inline(__always)
    func dictEntries(_ node: Node) -> RefRun {
        if node.external { return RefRun(dictItems, node.a ..< node.a + node.b, keptBy: arena) }
        return dicts[node.a].run
    }

    /// The items of a list, set or frozenset node.
    @inline(__always)
    func elements(of node: Node) -> RefRun {
        if node.kind == .list && node.external { return RefRun(listItems, node.a ..< node.a + node.b, keptBy: arena) }
        return sequences[node.a].run
    }
}

extension GraphTables {
    /// Empty tables, with room for `nodeCapacity` nodes. (In an extension, so that the struct keeps its
    /// memberwise initializer for ``compacting(_:into:at:)``.)
    init(nodeCapacity: Int = 16) {
        self.init(nodes: FlatBuffer<Node>(capacity: nodeCapacity), heap: FlatBuffer(capacity: 0),
                  tupleItems: FlatBuffer(capacity: 0), listItems: FlatBuffer(capacity: 0),
                  dictItems: FlatBuffer(capacity: 0), slices: [], buffers: [], arena: nil, rare: nil)
    }
}

/// The tables of a graph that most graphs leave empty (see ``GraphTables``).
struct RareTables {
    var sequences: [FlatBuffer<PickleRef>] = []
    var dicts: [FlatBuffer<PickleRef>] = []
    var globals: [GlobalName] = []
    var objects: [ObjectRecord] = []
    var origins: [Int: NodeIdentity] = [:]
}

/// One reference to a graph's ``RareTables``, copied on write by ``GraphTables``. The contents are reached
/// through a pointer: a class's stored property would be checked for exclusive access at run time.
final class RareTablesBox: ManagedBuffer<RareTables, UInt8> {
    static func make(_ contents: RareTables) -> RareTablesBox {
        unsafeDowncast(create(minimumCapacity: 0) { _ in contents }, to: RareTablesBox.self)
    }

    var contents: UnsafeMutablePointer<RareTables> { withUnsafeMutablePointerToHeader { $0 } }
}

/// Consecutive references in a graph's tables (a container's items): a range of one of its buffers, whose
/// memory it keeps alive. Indices are the buffer's, as for an array slice.
///
/// Four words, as an array slice: the pickler keeps runs in its work list.
struct RefRun: RandomAccessCollection, @unchecked Sendable {
    private let owner: FlatStorage
    private let base: UnsafePointer<PickleRef>
    let startIndex: Int
    let endIndex: Int

    /// The references in `range` of `buffer`, kept alive by the buffer's own storage, or by `arena` when the
    /// buffer is a borrowed region of it (``GraphTables/arena``).
    @inline(__always)
    init(_ buffer: FlatBuffer<PickleRef>, _ range: Range<Int>, keptBy arena: FlatStorage? = nil) {
        precondition(range.lowerBound >= 0 && range.upperBound <= buffer.count, "RefRun out of its buffer")
        guard let owner = buffer.storageOwner ?? arena else { preconditionFailure("RefRun of a borrowed region without its arena") }
        self.owner = owner
        base = UnsafePointer(buffer.baseAddress)
        startIndex = range.lowerBound
        endIndex = range.upperBound
    }

    private init(owner: FlatStorage, base: UnsafePointer<PickleRef>, _ range: Range<Int>) {
        self.owner = owner
        self.base = base
        startIndex = range.lowerBound
        endIndex = range.upperBound
    }

    subscript(position: Int) -> PickleRef {
        @inline(__always) get {
            precondition(position >= startIndex && position < endIndex, "RefRun index out of range")
            return base[position]
        }
    }

    subscript(bounds: Range<Int>) -> RefRun {
        precondition(bounds.lowerBound >= startIndex && bounds.upperBound <= endIndex, "RefRun range out of range")
        return RefRun(owner: owner, base: base, bounds)
    }

    /// The references, valid while the buffer's storage lives unchanged (a finished graph's: for as long as
    /// the graph).
    @inline(__always)
    func unsafeElements() -> UnsafeBufferPointer<PickleRef> {
        UnsafeBufferPointer(start: base + startIndex, count: endIndex - startIndex)
    }
}

extension FlatBuffer where Element == PickleRef {
    /// All the references.
    var run: RefRun { RefRun(self, 0 ..< count) }

    /// The references in `range`.
    func run(_ range: Range<Int>) -> RefRun { RefRun(self, range) }
}

extension GraphTables {
    /// The Python type name of a value (`int`, `str`, `list`, ...), for messages.
    func pythonTypeName(of ref: PickleRef) -> String {
        if ref.isInlineInt { return "int" }
        if ref == .none { return "NoneType" }
        if !ref.isNode { return "bool" }
        let node = nodes[ref.nodeIndex]
        switch node.kind {
        case .int64, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .byteArray: return "bytearray"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .set: return "set"
        case .frozenSet: return "frozenset"
        case .global: return "global \(globals[node.a])"
        case .object: return "object"
        case .buffer: return "PickleBuffer"
        }
    }
}

/// The identity of a node across graphs: which graph, which node. Used to keep identity when a session
/// memo shares objects between pickles.
public struct NodeIdentity: Hashable, Sendable {
    /// The graph's unique identifier.
    public var graphID: UInt64
    /// The node's index in that graph.
    public var index: Int
}

extension GraphTables {
    /// The nesting depth of the graph below `root`: the most containers on one path, a container holding
    /// only scalars counting 1. A path that returns to a container already on it (a cycle) ends there.
    /// Returns the depth, or some depth above `limit` as soon as one is found.
    func nestingDepth(from root: PickleRef, stoppingAbove limit: Int) -> Int {
        nestingDepthBySweep(from: root, cappedAt: limit) ?? nestingDepthByWalk(from: root, stoppingAbove: limit)
    }

    /// ``nestingDepth(from:stoppingAbove:)`` by one iterative depth-first pass: each node is expanded once and
    /// each reference looked at once. Stops as soon as the depth passes `limit` and returns it.
    func nestingDepthByWalk(from root: PickleRef, stoppingAbove limit: Int) -> Int {
        guard root.isNode, nodes[root.nodeIndex].kind.isContainer else { return 0 }
        // 0: not reached; -1: on the current path; n > 0: the depth below and including the node.
        var height = [Int32](repeating: 0, count: nodes.count)
        struct Frame { var index: Int; var cursor: Int; var deepest: Int32 }
        var path: [Frame] = []
        // Objects list their references once (other containers are read in place from their arenas).
        var objectChildren: [[PickleRef]] = []
        return height.withUnsafeMutableBufferPointer { height in
            nodes.withUnsafeBufferPointer { nodes in
                var next = root.nodeIndex
                while true {
                    if next >= 0 {
                        height[next] = -1
                        path.append(Frame(index: next, cursor: 0, deepest: 0))
                        if nodes[next].kind == .object {
                            var refs: [PickleRef] = []
                            forEachChild(of: nodes[next]) { refs.append($0) }
                            objectChildren.append(refs)
                        }
                        next = -1
                    }
                    guard var frame = path.popLast() else { break }
                    let node = nodes[frame.index]
                    // Scan the children from the cursor: the first unreached container is entered next.
                    withChildren(of: node, objectChildren.last) { children in
                        while frame.cursor < children.count {
                            let child = children[frame.cursor]
                            frame.cursor += 1
                            guard child.isNode else { continue }
                            let h = height[child.nodeIndex]
                            if h > frame.deepest {
                                frame.deepest = h
                            } else if h == 0 && nodes[child.nodeIndex].kind.isContainer {
                                next = child.nodeIndex
                                return
                            }
                        }
                    }
                    if next >= 0 { path.append(frame); continue }
                    // Every child seen: the node's depth is settled.
                    let h = frame.deepest + 1
                    height[frame.index] = h
                    if Int(h) > limit { return Int(h) }
                    if node.kind == .object { objectChildren.removeLast() }
                    if !path.isEmpty && h > path[path.count - 1].deepest { path[path.count - 1].deepest = h }
                }
                return Int(height[root.nodeIndex])
            }
        }
    }

    /// The nesting depth below `root` in one backward pass over the arena, when every container's container
    /// children were created after it (the usual shape: pickles create containers empty and then fill them,
    /// and `import` copies keep that order); `nil` when one was not (a tuple or an object's arguments built
    /// before it, a reference back to an earlier container), and the depth-first walk is needed.
    ///
    /// With children always later than their parents there is no cycle, and a node's height is final
    /// before any parent reads it: a sequential pass, where the walk chases each reference. Heights are
    /// capped at `limit + 1`, which is all the caller compares.
    func nestingDepthBySweep(from root: PickleRef, cappedAt limit: Int) -> Int? {
        guard root.isNode, nodes[root.nodeIndex].kind.isContainer else { return 0 }
        let cap = Int32(min(limit, Int(Int32.max) - 2)) + 1
        let first = root.nodeIndex  // only nodes from the root on can be below it (children come later)
        var height = [Int32](repeating: 0, count: nodes.count - first)
        return height.withUnsafeMutableBufferPointer { height -> Int? in
            nodes.withUnsafeBufferPointer { nodes -> Int? in
                /// The tallest child of the node at `index`, or nil if a container child comes before it.
                func tallest(_ children: UnsafeBufferPointer<PickleRef>, _ index: Int) -> Int32? {
                    var deepest: Int32 = 0
                    for child in children where child.isNode {
                        let c = child.nodeIndex
                        if c > index {
                            deepest = max(deepest, height[c - first])
                        } else if nodes[c].kind.isContainer {
                            return nil
                        }
                    }
                    return deepest
                }
                var index = nodes.count - 1
                while index >= first {
                    let node = nodes[index]
                    if node.kind.isContainer {
                        var deepest: Int32?
                        if node.kind == .object {
                            var refs: [PickleRef] = []
                            forEachChild(of: node) { refs.append($0) }
                            deepest = refs.withUnsafeBufferPointer { tallest($0, index) }
                        } else {
                            withChildren(of: node, nil) { deepest = tallest($0, index) }
                        }
                        guard let deepest else { return nil }
                        height[index - first] = min(deepest + 1, cap)
                    }
                    index -= 1
                }
                return Int(height[0])
            }
        }
    }

    /// Calls `body` with a container's references in place (an object's come from `objectChildren`).
    @inline(__always)
    private func withChildren(of node: Node, _ objectChildren: [PickleRef]?, _ body: (UnsafeBufferPointer<PickleRef>) -> Void) {
        switch node.kind {
        case .tuple: body(tupleElements(node).unsafeElements())
        case .list, .set, .frozenSet: body(elements(of: node).unsafeElements())
        case .dict: body(dictEntries(node).unsafeElements())
        default: (objectChildren ?? []).withUnsafeBufferPointer(body)
        }
    }
}

/// How many values a walk that copies shared objects (a Python repr, a value tree) may produce before it is
/// an expansion attack: four times the number of references reachable from where the walk starts, plus
/// 65,536. A memo fan-out (a list holding one list twice, that list holding another twice, ...) is linear in
/// the input and exponential once copied.
///
/// The budget depends only on what is reachable, so equal values print alike whatever else their graphs
/// hold. Counting the reachable references is a pass of its own, taken only once a walk has produced 65,536
/// values (by then the pass costs no more than the walk so far).
struct ExpansionBudget {
    private let t: GraphTables
    private let root: PickleRef
    private var remaining = ExpansionBudget.base
    private var counted: Int?
    private static let base = 65_536

    init(_ t: GraphTables, from root: PickleRef) {
        self.t = t
        self.root = root
    }

    /// The whole budget: four times the references reachable from the root, plus the base. Counted once.
    mutating func total() -> Int {
        if let counted { return counted }
        let total = 4 * reachableReferences() + ExpansionBudget.base
        counted = total
        return total
    }

    /// Takes one value from the budget; false once it is spent.
    @inline(__always)
    mutating func spend() -> Bool {
        remaining -= 1
        if remaining >= 0 { return true }
        if counted != nil { return false }
        remaining += total() - ExpansionBudget.base
        return remaining >= 0
    }

    /// Nodes reachable from the root plus the references they hold, each node counted once.
    private func reachableReferences() -> Int {
        guard root.isNode else { return 0 }
        var seen: Set<Int> = [root.nodeIndex]
        var work = [root.nodeIndex]
        var count = 0
        while let index = work.popLast() {
            count += 1
            t.forEachChild(of: t.nodes[index]) { child in
                count += 1
                if child.isNode && seen.insert(child.nodeIndex).inserted { work.append(child.nodeIndex) }
            }
        }
        return count
    }
}
