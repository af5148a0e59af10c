import Synchronization

private let graphCounter = Atomic<UInt64>(0)

/// A decoded pickle: an object graph whose nodes live in one arena and refer to each other by index.
///
/// Shared references and cycles (a list that contains itself) cost nothing, re-pickling keeps identity, and
/// freeing a graph of any depth is a handful of deallocations, never a recursive teardown. The graph is
/// immutable and `Sendable`; read it through ``root`` (a ``PickleNode`` view).
public final class PickleGraph: Sendable {
    let t: GraphTables
    let rootRef: PickleRef
    /// ``id`` once it has been read; 0 before.
    private let assignedID = Atomic<UInt64>(0)

    /// A process-unique identifier (never 0), used for node identity across graphs.
    ///
    /// Assigned when first read, not when the graph is made: a graph that is decoded, read and released
    /// never takes a number. An atomic increment of the shared counter per graph (~5 ns back to back on the
    /// machines measured) was a noticeable part of decoding a pickle of a few bytes.
    public var id: UInt64 {
        let known = assignedID.load(ordering: .relaxed)
        if known != 0 { return known }
        let new = graphCounter.add(1, ordering: .relaxed).newValue
        // Two first readers on two threads: the first to store wins, and both return its number.
        let (stored, current) = assignedID.compareExchange(expected: 0, desired: new, ordering: .relaxed)
        return stored ? new : current
    }

    init(tables: consuming GraphTables, root: PickleRef) {
        self.t = consume tables
        self.rootRef = root
    }

    /// A graph of `source`'s arenas compacted into `storage` from byte `offset`
    /// (``GraphTables/compacting(_:into:at:)``), written straight into the new object.
    init(compacting source: inout GraphTables, into storage: FlatStorage, at offset: Int, root: PickleRef) {
        self.t = GraphTables.compacting(&source, into: storage, at: offset)
        self.rootRef = root
    }

    /// Builds a graph from a value tree.
    public convenience init(_ value: PickleValue) {
        var builder = GraphBuilder()
        let root = builder.insert(value)
        self.init(tables: builder.t, root: root)
    }

    /// Calls `body` with the tables, borrowed (reading the property into a variable would copy them,
    /// retaining each of their buffers).
    func withTables<R>(_ body: (borrowing GraphTables) throws -> R) rethrows -> R { try body(t) }

    /// The object the pickle returned.
    public var root: PickleNode { PickleNode(graph: self, ref: rootRef) }

    /// The number of arena nodes (objects that are not None, bools or small ints).
    public var nodeCount: Int { t.nodes.count }

    /// The identity of a node: its graph and index, or for nodes a session memo copied from an earlier
    /// pickle, the identity of the original.
    func identity(of ref: PickleRef) -> NodeIdentity? {
        guard ref.isNode else { return nil }
        if let origin = t.origins[ref.nodeIndex] { return origin }
        return NodeIdentity(graphID: id, index: ref.nodeIndex)
    }
}
