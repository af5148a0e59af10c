#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Python's equality and hashing for dict keys and set elements, on graph references.
///
/// Equal values hash equally, as Python requires: `1`, `True` and `1.0` are one key. Immutable built-ins
/// (None, bool, int, float, str, bytes, tuple, frozenset) compare by value, globals by their name (two
/// GLOBALs of one name find one object), inert objects by identity. Lists, dicts, sets and bytearrays are
/// unhashable, as in Python.
///
/// Hostile keys cost linear time and no stack: tuple and frozenset hashes are computed bottom-up without
/// recursion and remembered per node (``KeyHashCache``), so a tuple shared a million times (a memo fan-out)
/// is hashed once, and a key nested a million deep is walked once. Equality walks an explicit work list,
/// skips pairs it has already compared, and matches frozenset elements by their hashes.
enum KeyEquality {
    /// Whether `ref` may be a dict key or set element (Python's `hash()` succeeds).
    static func isHashable(_ ref: PickleRef, _ t: GraphTables, _ cache: inout KeyHashCache) -> Bool {
        hash(ref, t, &cache) != nil
    }

    /// A hash consistent with ``equal(_:_:_:_:)``, or nil for an unhashable value (a list, dict, set or
    /// bytearray, or a tuple or frozenset holding one).
    static func hash(_ ref: PickleRef, _ t: GraphTables, _ cache: inout KeyHashCache) -> Int? {
        switch scalarHash(ref, t) {
        case .hash(let h): return h
        case .unhashable: return nil
        case .container(let index):
            if let known = cache.hashes[index] { return known }
            if cache.unhashable.contains(index) { return nil }
            computeContainerHashes(from: index, t, &cache)
            return cache.hashes[index]
        }
    }

    private enum ScalarHash { case hash(Int), unhashable, container(Int) }

    /// The hash of a value that holds no other values; `.container` for a tuple or frozenset.
    @inline(__always)
    private static func scalarHash(_ ref: PickleRef, _ t: GraphTables) -> ScalarHash {
        var hasher = Hasher()
        if let number = numericKey(ref, t) {
            hasher.combine(0 as UInt8)
            hasher.combine(number)
            return .hash(hasher.finalize())
        }
        guard ref.isNode else { hasher.combine(ref.raw); return .hash(hasher.finalize()) }
        let node = t.nodes[ref.nodeIndex]
        switch node.kind {
        case .string, .bytes, .bigInt:
            hasher.combine(node.kind.rawValue)
            t.withPayload(of: node) { hasher.combine(bytes: $0) }
        case .float:
            hasher.combine(node.a)  // non-integral floats: bit pattern
        case .global:
            hasher.combine(UInt8(102))
            hasher.combine(t.globals[node.a])
        case .tuple, .frozenSet:
            return .container(ref.nodeIndex)
        case .list, .dict, .set, .byteArray:
            return .unhashable
        case .int64, .object, .buffer:
            hasher.combine(ref.raw)
        }
        return .hash(hasher.finalize())
    }

    /// Hashes the tuple or frozenset at `root` and every tuple or frozenset below it not yet in `cache`,
    /// children first, with an explicit work list (each node is expanded once, however often it is shared).
    private static func computeContainerHashes(from root: Int, _ t: GraphTables, _ cache: inout KeyHashCache) {
        func isKnown(_ index: Int) -> Bool { cache.hashes[index] != nil || cache.unhashable.contains(index) }
        func items(_ node: Node) -> RefRun { node.kind == .tuple ? t.tupleElements(node) : t.sequences[node.a].run }
        var work: [(index: Int, expanded: Bool)] = [(root, false)]
        var entered = Set<Int>()
        while let (index, expanded) = work.popLast() {
            if isKnown(index) { continue }
            let node = t.nodes[index]
            if !expanded {
                // Tuples and frozensets cannot contain themselves; should one appear on its own path anyway,
                // it hashes by identity instead of looping.
                guard entered.insert(index).inserted else { cache.hashes[index] = index; continue }
                work.append((index, true))
                for child in items(node) {
                    if case .container(let c) = scalarHash(child, t), !isKnown(c) { work.append((c, false)) }
                }
                continue
            }
            var hasher = Hasher()
            var combined = 0
            var hashable = true
            for child in items(node) {
                let h: Int
                switch scalarHash(child, t) {
                case .hash(let x): h = x
                case .unhashable: hashable = false
                    h = 0
                case .container(let c):
                    guard let x = cache.hashes[c] else { hashable = false; h = 0; break }
                    h = x
                }
                if !hashable { break }
                if node.kind == .tuple { hasher.combine(h) } else { combined ^= h }
            }
            guard hashable else { cache.unhashable.insert(index); continue }
            hasher.combine(node.kind == .tuple ? UInt8(100) : UInt8(101))
            hasher.combine(node.kind == .tuple ? t.tupleElements(node).count : combined)
            cache.hashes[index] = hasher.finalize()
        }
    }

    /// Python `==` for hashable values (identity for objects). Scalars compare without allocating; tuples
    /// and frozensets walk an explicit work list.
    @inline(__always)
    static func equal(_ lhs: PickleRef, _ rhs: PickleRef, _ t: GraphTables, _ cache: inout KeyHashCache) -> Bool {
        switch scalarEqual(lhs, rhs, t) {
        case .equal: return true
        case .different: return false
        case .containers: return containersEqual(lhs, rhs, t, &cache)
        }
    }

    /// ``equal(_:_:_:_:)`` for two tuples or two frozensets.
    @inline(never)
    private static func containersEqual(_ lhs: PickleRef, _ rhs: PickleRef, _ t: GraphTables, _ cache: inout KeyHashCache) -> Bool {
        var work: [(PickleRef, PickleRef)] = [(lhs, rhs)]
        var compared = Set<UInt64>()
        var pops = 0
        while let (a, b) = work.popLast() {
            switch scalarEqual(a, b, t) {
            case .equal: continue
            case .different: return false
            case .containers: break
            }
            // Shared subtrees would otherwise be compared once per path to them.
            pops += 1
            if pops > 32 && !compared.insert(UInt64(a.nodeIndex) << 32 ^ UInt64(b.nodeIndex)).inserted { continue }
            guard let ha = hash(a, t, &cache), let hb = hash(b, t, &cache), ha == hb else { return false }
            let na = t.nodes[a.nodeIndex], nb = t.nodes[b.nodeIndex]
            if na.kind == .tuple {
                guard t.tupleElements(na).count == t.tupleElements(nb).count else { return false }
                work.append(contentsOf: zip(t.tupleElements(na), t.tupleElements(nb)))
                continue
            }
            // Frozensets: each element of one must equal an element of the other with the same hash.
            let xs = t.sequences[na.a], ys = t.sequences[nb.a]
            guard xs.count == ys.count else { return false }
            var byHash: [Int: [PickleRef]] = [:]
            for y in ys { byHash[hash(y, t, &cache) ?? 0, default: []].append(y) }
            for x in xs {
                let candidates = byHash[hash(x, t, &cache) ?? 0] ?? []
                if candidates.count == 1 {
                    work.append((x, candidates[0]))
                } else if !candidates.contains(where: { equal(x, $0, t, &cache) }) {
                    // Several candidates share a hash only on a hash collision: compared directly.
                    return false
                }
            }
        }
        return true
    }

    private enum Comparison { case equal, different, containers }

    /// Compares two references when that needs no recursion; `.containers` for two tuples or two frozensets.
    @inline(__always)
    private static func scalarEqual(_ a: PickleRef, _ b: PickleRef, _ t: GraphTables) -> Comparison {
        if a == b { return .equal }
        if a.isNode && b.isNode {
            // The usual dict key: two short strings in the heap (lengths first, then the bytes).
            let na = t.nodes[a.nodeIndex], nb = t.nodes[b.nodeIndex]
            if na.kind == .string && nb.kind == .string && !na.external && !nb.external {
                guard na.b == nb.b else { return .different }
                if na.b == 0 { return .equal }
                return memcmp(t.heapBytes(na).baseAddress!, t.heapBytes(nb).baseAddress!, na.b) == 0 ? .equal : .different
            }
        }
        if let x = numericKey(a, t) { return numericKey(b, t) == x ? .equal : .different }
        guard a.isNode, b.isNode else { return .different }
        let na = t.nodes[a.nodeIndex], nb = t.nodes[b.nodeIndex]
        guard na.kind == nb.kind else { return .different }
        switch na.kind {
        case .string, .bytes, .bigInt:
            let same = t.withPayload(of: na) { pa in
                t.withPayload(of: nb) { pb in pa.count == pb.count && (pa.count == 0 || memcmp(pa.baseAddress!, pb.baseAddress!, pa.count) == 0) }
            }
            return same ? .equal : .different
        case .float:
            // Non-integral floats (integral ones are numeric keys): equal values; nan is never equal.
            let x = Double(bitPattern: UInt64(bitPattern: Int64(na.a)))
            let y = Double(bitPattern: UInt64(bitPattern: Int64(nb.a)))
            return x == y ? .equal : .different
        case .global:
            // Two GLOBALs of one name are one object in Python (the module attribute they both find).
            return t.globals[na.a] == t.globals[nb.a] ? .equal : .different
        case .tuple, .frozenSet:
            return .containers
        default:
            return .different  // identity was checked first
        }
    }

    /// Integers, booleans and integral floats that fit in Int64, as one comparable number.
    @inline(__always)
    static func numericKey(_ ref: PickleRef, _ t: GraphTables) -> Int64? {
        if ref.isInlineInt { return ref.inlineIntValue }
        if ref == .true { return 1 }
        if ref == .false { return 0 }
        guard ref.isNode else { return nil }
        let node = t.nodes[ref.nodeIndex]
        switch node.kind {
        case .int64: return Int64(node.a)
        case .float:
            let d = Double(bitPattern: UInt64(bitPattern: Int64(node.a)))
            if d.rounded(.towardZero) == d, d >= -9.223372036854775808e18, d < 9.223372036854775808e18 {
                return Int64(d)
            }
            return nil
        default: return nil
        }
    }
}

/// Hashes of the tuples and frozensets of one graph, by node index, and the ones found unhashable. Tuples
/// and frozensets never change once built, so an entry stays right for the graph's life.
struct KeyHashCache: Sendable {
    var hashes: [Int: Int] = [:]
    var unhashable: Set<Int> = []
}
