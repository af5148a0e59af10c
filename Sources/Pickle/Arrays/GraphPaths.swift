/// Names the values of a graph by their path from the root, as checkpoints name tensors
/// (`model.layers.0.weight`): dict keys (str, or the repr of other keys), the items a dict subclass such as
/// `OrderedDict` sets, list and tuple indices; an object's BUILD state is walked under the object's own name.
enum GraphPaths {
    /// Deeper than any real checkpoint's nesting; bounds the recursion.
    static let maxDepth = 256

    /// Calls `claim` for every value reachable from the root, outermost first; a value it claims (returns true
    /// for) is not walked into. A value met again on its own path (a cycle) is skipped.
    static func walk(_ graph: PickleGraph, _ claim: (PickleRef, String) throws -> Bool) rethrows {
        var onPath: Set<Int> = []
        try walk(graph.t, graph.root.ref, "", 0, &onPath, claim)
    }

    private static func walk(_ t: GraphTables, _ ref: PickleRef, _ name: String, _ depth: Int, _ onPath: inout Set<Int>,
                             _ claim: (PickleRef, String) throws -> Bool) rethrows {
        guard ref.isNode, depth < maxDepth, !onPath.contains(ref.nodeIndex) else { return }
        if try claim(ref, name) { return }
        onPath.insert(ref.nodeIndex)
        defer { onPath.remove(ref.nodeIndex) }
        func child(_ part: String) -> String { name.isEmpty ? part : name + "." + part }
        func key(_ key: PickleRef) -> String {
            t.stringValue(key) ?? t.intValue(key).map(String.init) ?? GraphRepr.repr(t, key, maxLength: 40)
        }
        let node = t.nodes[ref.nodeIndex]
        switch node.kind {
        case .dict:
            for (k, value) in t.dictPairs(ref) ?? [] { try walk(t, value, child(key(k)), depth + 1, &onPath, claim) }
        case .list, .tuple:
            let items = node.kind == .list ? t.listItems(ref) ?? [] : t.tupleItems(ref) ?? []
            for (index, item) in items.enumerated() { try walk(t, item, child(String(index)), depth + 1, &onPath, claim) }
        case .object:
            for operation in t.objects[node.a].operations {
                switch operation {
                case .setItem(let k, let value): try walk(t, value, child(key(k)), depth + 1, &onPath, claim)
                case .build(let state): try walk(t, state, name, depth + 1, &onPath, claim)
                default: break
                }
            }
        default:
            break
        }
    }
}

extension NDArrayView {
    /// The numpy arrays and scalars of a graph, named by their path from the root (`GraphPaths`).
    /// - Throws: ``ArrayError/invalid(_:)`` for a value shaped as an array whose parts disagree, naming it.
    public static func arrays(in graph: PickleGraph) throws -> [(name: String, array: NDArrayView)] {
        var found: [(name: String, array: NDArrayView)] = []
        try GraphPaths.walk(graph) { ref, name in
            do {
                found.append((name, try NDArrayView(PickleNode(graph: graph, ref: ref))))
                return true
            } catch ArrayError.notAnArray {
                return false
            } catch ArrayError.invalid(let reason) {
                throw ArrayError.invalid("array '\(name)': \(reason)")
            }
        }
        return found
    }
}
