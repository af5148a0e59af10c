#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Python's equality and hashing for dict keys and set elements, on graph references.
///
/// Equal values hash equally, as Python requires: `1`, `True` and `1.0` are one key. Immutable built-ins
/// (None, bool, int, float, str, bytes, tuple, frozenset) compare by value, globals by their name (two
/// GLOBALs of one name find one object), inert objects by identity. Lists, dicts, sets and bytearrays are unhashable, as in Python. Tuples nested deeper than
/// `depthLimit` hash by their first levels only (still consistent with equality) and compare iteratively,
/// so no key can overflow the stack.

enum KeyEquality {
    static let depthLimit = 64

    /// Whether `ref` may be a dict key or set element (Python's `hash()` succeeds).
    static func isHashable(_ ref: PickleRef, _ t: GraphTables) -> Bool {
        var work = [ref]
        var visited = 0
        while let r = work.popLast() {
            guard r.isNode else { continue }
            visited += 1
            if visited > 1_000_000 { return true }
            let node = t.nodes[r.nodeIndex]
            switch node.kind {
            case .list, .dict, .set, .byteArray: return false
            case .tuple: work.append(contentsOf: t.tupleElements(node))
            default: continue
            }
        }
        return true
    }

    /// A hash consistent with ``equal(_:_:_:)``.
    static func hash(_ ref: PickleRef, _ t: GraphTables, depth: Int = 0) -> Int {
        var hasher = Hasher()
        if let number = numericKey(ref, t) {
            hasher.combine(0 as UInt8)
            hasher.combine(number)
            return hasher.finalize()
        }
        guard ref.isNode else { hasher.combine(ref.raw); return hasher.finalize() }
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
        case .tuple:
            hasher.combine(UInt8(100))
            hasher.combine(node.b)
            if depth < depthLimit {
                for item in t.tupleElements(node) { hasher.combine(hash(item, t, depth: depth + 1)) }
            }
        case .frozenSet:
            var combined = 0
            if depth < depthLimit {
                for item in t.sequences[node.a] { combined ^= hash(item, t, depth: depth + 1) }
            }
            hasher.combine(UInt8(101))
            hasher.combine(combined)
        default:
            hasher.combine(ref.raw)
        }
        return hasher.finalize()
    }

    /// Python `==` for hashable values (identity for objects). Scalars compare without allocating; only
    /// tuples and frozensets walk an explicit work list.
    static func equal(_ lhs: PickleRef, _ rhs: PickleRef, _ t: GraphTables) -> Bool {
        switch scalarEqual(lhs, rhs, t) {
        case .equal: return true
        case .different: return false
        case .containers: break
        }
        var work: [(PickleRef, PickleRef)] = [(lhs, rhs)]
        while let (a, b) = work.popLast() {
            switch scalarEqual(a, b, t) {
            case .equal: continue
            case .different: return false
            case .containers: break
            }
            let na = t.nodes[a.nodeIndex], nb = t.nodes[b.nodeIndex]
            if na.kind == .tuple {
                guard na.b == nb.b else { return false }
                work.append(contentsOf: zip(t.tupleElements(na), t.tupleElements(nb)))
            } else {
                let xs = t.sequences[na.a], ys = t.sequences[nb.a]
                guard xs.count == ys.count else { return false }
                for x in xs where !ys.contains(where: { equal(x, $0, t) }) { return false }
            }
        }
        return true
    }

    private enum Comparison { case equal, different, containers }

    /// Compares two references when that needs no recursion; `.containers` for two tuples or two frozensets.
    @inline(__always)
    private static func scalarEqual(_ a: PickleRef, _ b: PickleRef, _ t: GraphTables) -> Comparison {
        if a == b { return .equal }
        if let x = numericKey(a, t) { return numericKey(b, t) == x ? .equal : .different }
        guard a.isNode, b.isNode else { return .different }
        let na = t.nodes[a.nodeIndex], nb = t.nodes[b.nodeIndex]
        guard na.kind == nb.kind else { return .different }
        switch na.kind {
        case .string, .bytes, .bigInt:
            guard na.b == nb.b else { return .different }
            let same = t.withPayload(of: na) { pa in t.withPayload(of: nb) { pb in pa.count == 0 || memcmp(pa.baseAddress!, pb.baseAddress!, pa.count) == 0 } }
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
