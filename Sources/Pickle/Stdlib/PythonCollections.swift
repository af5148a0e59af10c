// collections.OrderedDict, Counter, defaultdict and deque: containers whose items are any Python values.
//
// Each type is generic over its items: `PickleNode` when read from a graph (views that keep sharing and
// cycles), `PickleValue` to build one for the pickler, `PickleRef` inside the library. `map` converts, for
// example `try ordered.map { try $0.value() }`.

/// Python's `collections.OrderedDict`.
///
/// CPython 3 pickles it as `collections.OrderedDict()` (REDUCE with no arguments) followed by one SETITEM per
/// pair; Python 2 as `collections.OrderedDict([[key, value], ...])`. Both are recognised; an instance that
/// also has attributes of its own (a BUILD) is not.
public struct PythonOrderedDict<Element> {
    /// The pairs, in order, keys distinct (a repeated key's last value kept at its first position).
    public var items: [(key: Element, value: Element)]

    /// An ordered dict of `items`.
    /// - Parameter items: the pairs, in order.
    public init(items: [(key: Element, value: Element)]) { self.items = items }

    /// The same dict with every key and value transformed.
    /// - Parameter transform: applied to each key and value.
    public func map<T>(_ transform: (Element) throws -> T) rethrows -> PythonOrderedDict<T> {
        PythonOrderedDict<T>(items: try items.map { (try transform($0.key), try transform($0.value)) })
    }
}

/// Python's `collections.Counter`.
///
/// CPython pickles it as `collections.Counter(dict)` (REDUCE). Recognised when every count is an `int` that
/// fits in 64 bits (not a bool, which prints as `True`), which is what `PythonCollectionsRepr` needs to print the counts in
/// `most_common()` order exactly as CPython does.
public struct PythonCounter<Element> {
    /// The keys and their counts, in insertion order.
    public var counts: [(key: Element, count: Int)]

    /// A counter of `counts`.
    /// - Parameter counts: the keys and counts, in insertion order.
    public init(counts: [(key: Element, count: Int)]) { self.counts = counts }

    /// The same counter with every key transformed.
    /// - Parameter transform: applied to each key.
    public func map<T>(_ transform: (Element) throws -> T) rethrows -> PythonCounter<T> {
        PythonCounter<T>(counts: try counts.map { (try transform($0.key), $0.count) })
    }

    /// The pairs as `most_common()` orders them: by count, highest first, equal counts in insertion order.
    public var mostCommon: [(key: Element, count: Int)] {
        counts.enumerated().sorted { $0.element.count != $1.element.count ? $0.element.count > $1.element.count : $0.offset < $1.offset }
            .map(\.element)
    }
}

/// Python's `collections.defaultdict`.
///
/// CPython pickles it as `collections.defaultdict(factory)` (or with no argument when the factory is None)
/// followed by one SETITEM per pair. The factory is recognised when it is None or a global (`builtins.list`,
/// a class); a factory that is some other object (a `functools.partial`, a lambda CPython cannot pickle)
/// leaves the node unrecognised.
public struct PythonDefaultDict<Element> {
    /// The default factory; nil for None.
    public var defaultFactory: GlobalName?
    /// The pairs, in order, keys distinct.
    public var items: [(key: Element, value: Element)]

    /// A defaultdict.
    /// - Parameters:
    ///   - defaultFactory: the factory's global name, or nil for None.
    ///   - items: the pairs, in order.
    public init(defaultFactory: GlobalName?, items: [(key: Element, value: Element)]) {
        self.defaultFactory = defaultFactory
        self.items = items
    }

    /// The same dict with every key and value transformed.
    /// - Parameter transform: applied to each key and value.
    public func map<T>(_ transform: (Element) throws -> T) rethrows -> PythonDefaultDict<T> {
        PythonDefaultDict<T>(defaultFactory: defaultFactory, items: try items.map { (try transform($0.key), try transform($0.value)) })
    }
}

/// Python's `collections.deque`, with its `maxlen`.
///
/// CPython 3 pickles it as `collections.deque()` or `collections.deque((), maxlen)` (REDUCE) followed by
/// APPEND/APPENDS of the items; Python 2 as `collections.deque([items])` or `collections.deque([items], maxlen)`.
/// Both are recognised; items past `maxlen` push the oldest out, as appending does in Python.
public struct PythonDeque<Element> {
    /// The items, oldest first.
    public var items: [Element]
    /// The bound on the length; nil for unbounded.
    public var maxLength: Int?

    /// A deque; the last `maxLength` items are kept, as `deque(items, maxlen)` does.
    /// - Parameters:
    ///   - items: the items, oldest first.
    ///   - maxLength: the bound (not negative), or nil.
    public init(items: [Element], maxLength: Int? = nil) {
        self.items = maxLength.map { Array(items.suffix(max(0, $0))) } ?? items
        self.maxLength = maxLength.map { max(0, $0) }
    }

    /// The same deque with every item transformed.
    /// - Parameter transform: applied to each item.
    public func map<T>(_ transform: (Element) throws -> T) rethrows -> PythonDeque<T> {
        PythonDeque<T>(items: try items.map(transform), maxLength: maxLength)
    }
}

extension PythonOrderedDict: Sendable where Element: Sendable {}
extension PythonCounter: Sendable where Element: Sendable {}
extension PythonDefaultDict: Sendable where Element: Sendable {}
extension PythonDeque: Sendable where Element: Sendable {}

// MARK: - Reading

extension PythonOrderedDict where Element == PickleNode {
    /// Recognises an `OrderedDict` as CPython 3 or Python 2 pickles it.
    public init?(_ node: PickleNode) {
        guard let refs = PythonOrderedDict<PickleRef>.recognize(node.t, node.ref) else { return nil }
        self = refs.map { node.node($0) }
    }
}

extension PythonCounter where Element == PickleNode {
    /// Recognises `collections.Counter(dict)` with 64-bit int counts.
    public init?(_ node: PickleNode) {
        guard let refs = PythonCounter<PickleRef>.recognize(node.t, node.ref) else { return nil }
        self = refs.map { node.node($0) }
    }
}

extension PythonDefaultDict where Element == PickleNode {
    /// Recognises a `defaultdict` whose factory is None or a global.
    public init?(_ node: PickleNode) {
        guard let refs = PythonDefaultDict<PickleRef>.recognize(node.t, node.ref) else { return nil }
        self = refs.map { node.node($0) }
    }
}

extension PythonDeque where Element == PickleNode {
    /// Recognises a `deque` as CPython 3 or Python 2 pickles it.
    public init?(_ node: PickleNode) {
        guard let refs = PythonDeque<PickleRef>.recognize(node.t, node.ref) else { return nil }
        self = refs.map { node.node($0) }
    }
}

extension PythonOrderedDict where Element == PickleRef {
    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> Self? {
        guard let call = t.stdlibCall(ref), call.form == .reduce, call.name == GlobalName("collections", "OrderedDict")
        else { return nil }
        var pairs: [(PickleRef, PickleRef)] = []
        if call.args.count == 1, call.operations.isEmpty, let list = t.listItems(call.args[0]) {
            // Python 2: OrderedDict([[key, value], ...]).
            for item in list {
                guard let pair = t.listItems(item) ?? t.tupleItems(item), pair.count == 2 else { return nil }
                pairs.append((pair[0], pair[1]))
            }
        } else {
            guard call.args.isEmpty else { return nil }
            for operation in call.operations {
                guard case .setItem(let key, let value) = operation else { return nil }
                pairs.append((key, value))
            }
        }
        guard let distinct = PythonCollectionsRepr.lastValuePerKey(pairs, t) else { return nil }
        return PythonOrderedDict(items: distinct)
    }
}

extension PythonCounter where Element == PickleRef {
    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> Self? {
        guard let args = t.reduceArgs(ref, GlobalName("collections", "Counter")), args.count <= 1 else { return nil }
        guard let dict = args.first else { return PythonCounter(counts: []) }
        guard let pairs = t.dictPairs(dict) else { return nil }
        var counts: [(key: PickleRef, count: Int)] = []
        for (key, value) in pairs {
            guard let n = t.intValue(value) else { return nil }
            counts.append((key, n))
        }
        return PythonCounter(counts: counts)
    }
}

extension PythonDefaultDict where Element == PickleRef {
    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> Self? {
        guard let call = t.stdlibCall(ref), call.form == .reduce, call.name == GlobalName("collections", "defaultdict"),
              call.args.count <= 1 else { return nil }
        var factory: GlobalName?
        if let first = call.args.first, first != .none {
            guard let name = t.globalName(first) else { return nil }
            factory = name
        }
        var pairs: [(PickleRef, PickleRef)] = []
        for operation in call.operations {
            guard case .setItem(let key, let value) = operation else { return nil }
            pairs.append((key, value))
        }
        guard let distinct = PythonCollectionsRepr.lastValuePerKey(pairs, t) else { return nil }
        return PythonDefaultDict(defaultFactory: factory, items: distinct)
    }
}

extension PythonDeque where Element == PickleRef {
    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> Self? {
        guard let call = t.stdlibCall(ref), call.form == .reduce, call.name == GlobalName("collections", "deque"),
              call.args.count <= 2 else { return nil }
        var items: [PickleRef] = []
        if let first = call.args.first {
            guard let initial = t.tupleItems(first) ?? t.listItems(first) else { return nil }
            items = initial
        }
        var maxLength: Int?
        if call.args.count == 2, call.args[1] != .none {
            guard let n = t.intValue(call.args[1]), n >= 0 else { return nil }
            maxLength = n
        }
        for operation in call.operations {
            guard case .extend(let more) = operation else { return nil }
            items += more
        }
        return PythonDeque(items: items, maxLength: maxLength)
    }
}

// MARK: - Building

extension PythonOrderedDict: PickleStdlibValue where Element == PickleValue {
    /// Recognises an `OrderedDict` and converts its keys and values to value trees (nil for a cycle).
    public init?(_ node: PickleNode) {
        guard let nodes = PythonOrderedDict<PickleNode>(node), let values = try? nodes.map({ try $0.value() }) else { return nil }
        self = values
    }

    /// `collections.OrderedDict()` then one SETITEM per pair, as CPython 3 writes it.
    public var pickleValue: PickleValue {
        .call("collections", "OrderedDict", [], operations: items.map { .setItem(key: $0.key, value: $0.value) })
    }

    /// `OrderedDict([('a', 1)])`, `OrderedDict()` when empty (CPython 3.11's form).
    public var pythonRepr: String { pickleGraph().root.description }
}

extension PythonCounter: PickleStdlibValue where Element == PickleValue {
    /// Recognises a `Counter` and converts its keys to value trees.
    public init?(_ node: PickleNode) {
        guard let nodes = PythonCounter<PickleNode>(node), let values = try? nodes.map({ try $0.value() }) else { return nil }
        self = values
    }

    /// `collections.Counter({key: count, ...})`, as CPython writes it.
    public var pickleValue: PickleValue {
        .call("collections", "Counter", [.dict(counts.map { .init($0.key, .int($0.count)) })])
    }

    /// `Counter({'a': 2, 'b': 1})` in `most_common()` order, `Counter()` when empty.
    public var pythonRepr: String { pickleGraph().root.description }
}

extension PythonDefaultDict: PickleStdlibValue where Element == PickleValue {
    /// Recognises a `defaultdict` and converts its keys and values to value trees (nil for a cycle).
    public init?(_ node: PickleNode) {
        guard let nodes = PythonDefaultDict<PickleNode>(node), let values = try? nodes.map({ try $0.value() }) else { return nil }
        self = values
    }

    /// `collections.defaultdict(factory)` (no argument for None) then one SETITEM per pair.
    public var pickleValue: PickleValue {
        .call("collections", "defaultdict", defaultFactory.map { [.global($0)] } ?? [],
              operations: items.map { .setItem(key: $0.key, value: $0.value) })
    }

    /// `defaultdict(<class 'list'>, {'a': [1]})`. A factory that is not a well-known class (a user's class or
    /// function, whose repr CPython prints with an address or can only know by importing it) prints the
    /// inert form.
    public var pythonRepr: String { pickleGraph().root.description }
}

extension PythonDeque: PickleStdlibValue where Element == PickleValue {
    /// Recognises a `deque` and converts its items to value trees (nil for a cycle).
    public init?(_ node: PickleNode) {
        guard let nodes = PythonDeque<PickleNode>(node), let values = try? nodes.map({ try $0.value() }) else { return nil }
        self = values
    }

    /// `collections.deque()` or `collections.deque((), maxlen)` then APPENDS of the items, as CPython 3 writes it.
    public var pickleValue: PickleValue {
        let args: [PickleValue] = maxLength.map { [.tuple([]), .int($0)] } ?? []
        return .call("collections", "deque", args, operations: items.isEmpty ? [] : [.extend(items)])
    }

    /// `deque([1, 2])` or `deque([1, 2], maxlen=3)`.
    public var pythonRepr: String { pickleGraph().root.description }
}

// MARK: - Repr

/// The reprs of the collections types, in pieces for ``GraphRepr``.
enum PythonCollectionsRepr {
    static func pieces(_ t: GraphTables, _ ref: PickleRef, _ name: GlobalName) -> [ReprPiece]? {
        switch name.name {
        case "OrderedDict":
            guard let od = PythonOrderedDict<PickleRef>.recognize(t, ref) else { return nil }
            if od.items.isEmpty { return [.text("OrderedDict()")] }
            return [.text("OrderedDict([")] + joined(od.items.map { [.text("("), .value($0.key), .text(", "), .value($0.value), .text(")")] }) + [.text("])")]
        case "Counter":
            guard let counter = PythonCounter<PickleRef>.recognize(t, ref) else { return nil }
            if counter.counts.isEmpty { return [.text("Counter()")] }
            return [.text("Counter({")] + joined(counter.mostCommon.map { [.value($0.key), .text(": \($0.count)")] }) + [.text("})")]
        case "defaultdict":
            guard let dd = PythonDefaultDict<PickleRef>.recognize(t, ref) else { return nil }
            let factory: String
            if let name = dd.defaultFactory {
                guard let known = classRepr(name) else { return nil }
                factory = known
            } else {
                factory = "None"
            }
            return [.text("defaultdict(\(factory), {")] + joined(dd.items.map { [.value($0.key), .text(": "), .value($0.value)] }) + [.text("})")]
        case "deque":
            guard let deque = PythonDeque<PickleRef>.recognize(t, ref) else { return nil }
            return [.text("deque([")] + joined(deque.items.map { [.value($0)] })
                + [.text(deque.maxLength.map { "], maxlen=\($0))" } ?? "])")]
        default:
            return nil
        }
    }

    static func recursionMarker(_ t: GraphTables, _ ref: PickleRef, _ name: GlobalName) -> String? {
        switch name.name {
        case "OrderedDict": return "..."
        case "defaultdict":
            // The factory prints again; only the dict part, entered already, is `{...}`.
            guard let pieces = pieces(t, ref, name), case .text(let head)? = pieces.first else { return nil }
            return head + "...})"
        case "deque": return "[...]"
        default: return nil
        }
    }

    private static func joined(_ groups: [[ReprPiece]]) -> [ReprPiece] {
        var out: [ReprPiece] = []
        for (i, group) in groups.enumerated() {
            if i > 0 { out.append(.text(", ")) }
            out += group
        }
        return out
    }

    /// `<class 'list'>` for the classes whose repr is known without importing anything.
    static func classRepr(_ name: GlobalName) -> String? {
        switch (name.module, name.name) {
        case ("builtins", "int"), ("builtins", "float"), ("builtins", "str"), ("builtins", "bytes"),
             ("builtins", "bytearray"), ("builtins", "list"), ("builtins", "dict"), ("builtins", "set"),
             ("builtins", "frozenset"), ("builtins", "tuple"), ("builtins", "object"), ("builtins", "bool"),
             ("builtins", "complex"):
            return "<class '\(name.name)'>"
        case ("collections", "OrderedDict"), ("collections", "Counter"), ("collections", "deque"),
             ("collections", "defaultdict"), ("decimal", "Decimal"), ("fractions", "Fraction"):
            return "<class '\(name.module).\(name.name)'>"
        default:
            return nil
        }
    }

    /// The pairs with equal keys merged, last value winning at the first key's position (Python's dict
    /// assignment); nil when a key is unhashable. Linear however many keys.
    static func lastValuePerKey(_ pairs: [(PickleRef, PickleRef)], _ t: GraphTables) -> [(key: PickleRef, value: PickleRef)]? {
        var items: [(key: PickleRef, value: PickleRef)] = []
        var positions: [Int: [Int]] = [:]  // key hash -> indexes in items
        var hashes = KeyHashCache()
        for (key, value) in pairs {
            guard !key.isNode || KeyEquality.isHashable(key, t, &hashes) else { return nil }
            let h = KeyEquality.hash(key, t, &hashes) ?? 0
            if let i = positions[h]?.first(where: { KeyEquality.equal(items[$0].key, key, t, &hashes) }) {
                items[i].value = value
            } else {
                positions[h, default: []].append(items.count)
                items.append((key, value))
            }
        }
        return items
    }
}
