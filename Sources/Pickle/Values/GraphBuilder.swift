/// Appends nodes to a graph under construction. Used by the parser and by conversions from ``PickleValue``.
///
/// A struct with mutating methods on purpose: the parser's hot loop mutates it in place without the dynamic
/// exclusivity checks a class would need.

struct GraphBuilder: Sendable {
    var t = GraphTables(nodeCapacity: 0)
    /// How many containers (lists, tuples, dicts, sets, objects) the graph has: the bound on its nesting
    /// depth that decides whether the depth needs measuring.
    var containerCount = 0
    /// The largest count or payload length a node keeps in its 32-bit `b` (``Node/maxCount``); larger
    /// payloads and containers go to their own arrays. Tests lower it to reach those paths with small input.
    var countLimit = Node.maxCount

    init() {}

    /// The arena sizes of a finished graph, to size the next one like it.
    struct ArenaSizes {
        var nodes = 0, heap = 0, listItems = 0, tupleItems = 0, dictItems = 0
    }

    var arenaSizes: ArenaSizes {
        ArenaSizes(nodes: t.nodes.count, heap: t.heap.count, listItems: t.listItems.count,
                   tupleItems: t.tupleItems.count, dictItems: t.dictItems.count)
    }

    /// Empty tables with room for a graph of the given sizes: a stream of similar records then allocates
    /// each arena once per record instead of growing it from empty. Capped, so one huge pickle does not make
    /// every later one reserve as much.
    static func tables(sizedLike previous: ArenaSizes) -> GraphTables {
        let cap = 1 << 14
        var t = GraphTables(nodeCapacity: min(max(previous.nodes, 16), cap))
        if previous.heap > 0 { t.heap.reserveCapacity(min(previous.heap, cap * 16)) }
        if previous.listItems > 0 { t.listItems.reserveCapacity(min(previous.listItems, cap)) }
        if previous.tupleItems > 0 { t.tupleItems.reserveCapacity(min(previous.tupleItems, cap)) }
        if previous.dictItems > 0 { t.dictItems.reserveCapacity(min(previous.dictItems, cap)) }
        return t
    }

    /// The block the arenas of the smallest graphs are copied into, one after another, each graph's tables
    /// holding it (nil until the first): the graph of a 5-byte pickle then costs one allocation, not two, and
    /// frees none of its own arena. Making and freeing a block of its own (a `FlatStorage`, with Swift's
    /// object runtime around `malloc` and `free`) cost ~300 of the ~2,500 instructions of decoding such a
    /// pickle with `Unpickler.loads`. A graph kept alive keeps the slab alive: at most ``slabByteCount``
    /// bytes, and only for graphs of at most ``slabbedByteLimit`` bytes of arenas.
    ///
    /// Only the builder writes a slab, and only past ``slabUsed``; every graph's region is written before the
    /// graph exists, so readers of earlier graphs (on any thread) never see a write. A copied builder gives
    /// the slab up (``makeUnique()``), so two copies never write one slab.
    nonisolated(unsafe) private var slab: FlatStorage?
    /// The bytes of ``slab`` given to graphs so far.
    private var slabUsed = 0
    /// The size of a slab.
    static let slabByteCount = 4096
    /// Graphs whose arenas take more than this many bytes get a block of their own.
    static let slabbedByteLimit = 512

    /// Gives the arenas their own storage if this builder was copied (see ``FlatBuffer/makeUnique()``), and
    /// gives up the slab, which the copy may write too.
    mutating func makeUnique() {
        slab = nil
        t.nodes.makeUnique()
        t.heap.makeUnique()
        t.tupleItems.makeUnique()
        t.listItems.makeUnique()
        t.dictItems.makeUnique()
        for slot in distinctKeySets.indices { distinctKeySets[slot].makeUnique() }
    }

    /// Graphs whose arenas hold at most this many bytes are compacted into one allocation when they are
    /// taken, and the builder keeps its arenas for the next graph; larger graphs take the arenas with them.
    static let compactionLimit = 64 * 1024

    /// The finished graph, rooted at `root`; leaves the builder empty, with the per-graph indexes emptied
    /// (the key-shape scratch keeps its storage).
    ///
    /// A small graph (a record in a stream) gets its arenas copied, each to its size, into the current slab
    /// (see ``slab``) or, past ``slabbedByteLimit`` bytes, into one exactly sized block of its own, and the
    /// builder keeps its arenas for the next graph: a stream of small pickles allocates about one object per
    /// pickle (the graph). A large graph takes the arenas themselves (no copy), and the builder starts again
    /// with arenas sized like them (capped).
    ///
    /// Makes the graph rather than returning its tables: the tables (24 words) are then written once, into
    /// the new object, where returning them copied them three times (~90 of the ~1,970 instructions that
    /// `Unpickler.loads` of a 5-byte pickle took).
    mutating func finishGraph(root: PickleRef) -> PickleGraph {
        defer { resetForNextGraph() }
        guard t.arenaByteCount <= GraphBuilder.compactionLimit && retainsSmallArenas else {
            var taken = GraphBuilder.tables(sizedLike: arenaSizes)
            swap(&taken, &t)
            return PickleGraph(tables: taken, root: root)
        }
        let byteCount = GraphTables.compactedByteCount(t)
        if byteCount > GraphBuilder.slabbedByteLimit {
            return PickleGraph(compacting: &t, into: FlatStorage.make(byteCount: byteCount, growable: false), at: 0, root: root)
        }
        if slab == nil || slabUsed + byteCount > GraphBuilder.slabByteCount {
            slab = FlatStorage.make(byteCount: GraphBuilder.slabByteCount, growable: false)
            slabUsed = 0
        }
        let offset = slabUsed
        slabUsed += byteCount
        return PickleGraph(compacting: &t, into: slab.unsafelyUnwrapped, at: offset, root: root)
    }

    /// Empties the per-graph indexes (the key-shape scratch keeps its storage).
    private mutating func resetForNextGraph() {
        pendingReservation = 0
        buffersAreTheCallers = false
        // Only dicts, sets and frozensets (containers) write the indexes and the key scratch: a graph
        // without containers, such as a pickle of one bytes object or buffer, skips their checks.
        guard containerCount != 0 else { return }
        containerCount = 0
        if !dictIndexes.isEmpty { dictIndexes = [:] }
        if !setIndexes.isEmpty { setIndexes = [:] }
        if !keyHashes.hashes.isEmpty || !keyHashes.unhashable.isEmpty { keyHashes = KeyHashCache() }
        for slot in distinctKeySets.indices { distinctKeySets[slot].removeAll() }
    }

    /// Whether the arenas the builder would keep are small enough to keep (after one large pickle, or a
    /// reservation for a large input, they are handed on with the graph instead).
    var retainsSmallArenas: Bool {
        let limit = GraphBuilder.compactionLimit  // wrapping arithmetic: capacities of allocated memory
        return t.nodes.capacity &* MemoryLayout<Node>.stride <= limit && t.heap.capacity <= limit
            && (t.tupleItems.capacity &+ t.listItems.capacity &+ t.dictItems.capacity) &* MemoryLayout<PickleRef>.stride <= limit
    }

    /// Changes the list, tuple or set that lives in `sequences[index]`, after making its buffer unique.
    @inline(__always)
    mutating func mutateSequence<R>(_ index: Int, _ body: (inout FlatBuffer<PickleRef>) -> R) -> R {
        t.sequences[index].makeUnique()
        return body(&t.sequences[index])
    }

    /// Changes the dict that lives in `dicts[index]`, after making its buffer unique.
    @inline(__always)
    mutating func mutateDict<R>(_ index: Int, _ body: (inout FlatBuffer<PickleRef>) -> R) -> R {
        t.dicts[index].makeUnique()
        return body(&t.dicts[index])
    }

    /// Sizes the arenas for a pickle of `inputSize` bytes, so they do not regrow (and copy) step by step as it
    /// decodes. Proportional to the input and capped (about 56 MB in all).
    ///
    /// The reservation waits until the graph has more than ``reservationTrigger`` nodes (made in
    /// ``append(_:)`` then, or here if it already has them), and is dropped with the pickle if that never
    /// happens. Most of a large input may be one payload, which needs a single node: decoding 100 MiB of
    /// `bytes` then costs what decoding 1 KiB does, where reserving up front cost ~1.5 µs per decode, and
    /// ~10 µs for 100 KiB of `bytes` (glibc grew and trimmed its heap with `brk` three times per decode).
    /// All five arenas are reserved together, as they were up front: each reserved at its own first growth,
    /// they came to a heap layout that decoded 100k dicts ~4% slower, and fed in 64 KiB chunks (where the
    /// parser reserves again as the pickle grows) faulted in 1.8x the pages.
    mutating func reserve(forInputSize inputSize: Int) {
        // A small pickle's arenas grow in a few steps: reserving them would cost allocations of their own.
        guard inputSize >= GraphBuilder.compactionLimit else { return }
        pendingReservation = max(pendingReservation, inputSize)
        if t.nodes.count >= GraphBuilder.reservationTrigger { reservePending() }
    }

    /// The input size ``reserve(forInputSize:)`` was told of, until the arenas are reserved for it; 0 for none.
    private var pendingReservation = 0

    /// The node count past which a pending reservation is made: a handful of nodes (a payload, a buffer, the
    /// containers around them) is no sign of a large graph.
    static let reservationTrigger = 16

    /// Makes room in the full node arena: the pending reservation if there is one and the arena holds
    /// ``reservationTrigger`` nodes, else the arena's own growth.
    @inline(never)
    private mutating func growNodeArena() {
        if pendingReservation != 0 && t.nodes.count >= GraphBuilder.reservationTrigger { reservePending() }
        if t.nodes.count == t.nodes.capacity { t.nodes.growForAppend() }
    }

    /// Reserves the arenas for the pending input size.
    private mutating func reservePending() {
        let inputSize = pendingReservation
        pendingReservation = 0
        t.nodes.reserveCapacity(min(inputSize / 8, 1 << 20))
        t.heap.reserveCapacity(min(inputSize / 4, 1 << 24))
        t.listItems.reserveCapacity(min(inputSize / 16, 1 << 20))
        t.tupleItems.reserveCapacity(min(inputSize / 32, 1 << 20))
        t.dictItems.reserveCapacity(min(inputSize / 16, 1 << 20))
    }

    // MARK: - Scalars

    @inline(__always)
    mutating func int(_ value: Int64) -> PickleRef {
        if PickleRef.inlineIntRange.contains(value) { return .inlineInt(value) }
        return append(Node(kind: .int64, a: Int(value)))
    }

    /// An integer from minimal or non-minimal two's-complement little-endian bytes.
    mutating func int(twosComplementLE bytes: UnsafeRawBufferPointer) -> PickleRef {
        var n = bytes.count
        // Strip redundant sign-extension bytes.
        while n > 1 {
            let top = bytes[n - 1], next = bytes[n - 2]
            if (top == 0 && next & 0x80 == 0) || (top == 0xFF && next & 0x80 != 0) { n -= 1 } else { break }
        }
        if n == 0 { return .inlineInt(0) }
        if n <= 8 {
            var value: UInt64 = 0
            for i in 0 ..< n { value |= UInt64(bytes[i]) << (8 * UInt64(i)) }
            if n < 8, bytes[n - 1] & 0x80 != 0 { value |= ~0 << (8 * UInt64(n)) }
            return int(Int64(bitPattern: value))
        }
        return payload(.bigInt, copying: UnsafeRawBufferPointer(rebasing: bytes[0 ..< n]))
    }

    
    mutating func float(_ value: Double) -> PickleRef {
        append(Node(kind: .float, a: Int(Int64(bitPattern: value.bitPattern))))
    }

    // MARK: - Payloads

    /// A payload node (`string`, `bytes`, `byteArray`) copied into the heap.
    
    mutating func payload(_ kind: NodeKind, copying bytes: UnsafeRawBufferPointer) -> PickleRef {
        if keepsOwnArray(bytes.count) { return payload(kind, sharing: Array(bytes)[...]) }
        let offset = t.heap.count
        t.heap.append(contentsOf: bytes)
        return append(Node(kind: kind, a: offset, b: bytes.count))
    }

    /// Whether a payload of `count` bytes is kept in an array of its own rather than in the heap (the heap
    /// holds only short payloads; a node's 32-bit count bounds it too).
    @inline(__always)
    private func keepsOwnArray(_ count: Int) -> Bool {
        count >= GraphTables.sliceThreshold || count > countLimit
    }

    /// A `str` node for the argument of a SHORT_BINUNICODE (at most 255 bytes) when it is ASCII: the bytes
    /// are checked while they are copied into the heap. `nil` (nothing added) when a byte is not ASCII, for
    /// the caller to validate the UTF-8.
    @inline(__always)
    mutating func shortASCIIString(_ bytes: UnsafeRawBufferPointer) -> PickleRef? {
        guard bytes.count <= countLimit else { return nil }
        let offset = t.heap.count
        guard t.heap.appendIfASCII(bytes) else { return nil }
        return append(Node(kind: .string, a: offset, b: bytes.count))
    }

    /// A payload node that keeps `slice` without copying it.
    
    mutating func payload(_ kind: NodeKind, sharing slice: ArraySlice<UInt8>) -> PickleRef {
        t.slices.append(slice)
        return append(Node(kind: kind, a: t.slices.count - 1, external: true))
    }

    mutating func payload(_ kind: NodeKind, _ bytes: some Collection<UInt8>) -> PickleRef {
        if keepsOwnArray(bytes.count) {
            if let array = bytes as? [UInt8] { return payload(kind, sharing: array[...]) }
            return payload(kind, sharing: Array(bytes)[...])
        }
        let offset = t.heap.count
        t.heap.append(contentsOf: bytes)
        return append(Node(kind: kind, a: offset, b: t.heap.count - offset))
    }

    // MARK: - Containers

    
    mutating func list(_ items: some Collection<PickleRef> = EmptyCollection()) -> PickleRef {
        if items.count > countLimit {
            t.sequences.append(FlatBuffer(items))
            containerCount &+= 1
            return append(Node(kind: .list, a: t.sequences.count - 1))
        }
        let offset = t.listItems.count
        t.listItems.append(contentsOf: items)
        containerCount &+= 1
        return append(Node(kind: .list, a: offset, b: items.count, external: true))
    }

    /// Appends items to a list node: in place at the end of the flat arena when the list is last there,
    /// otherwise (or when its count would pass ``countLimit``) after moving the list to its own array.
    mutating func appendToList(_ index: Int, _ items: some Collection<PickleRef>) {
        let node = t.nodes[index]
        if node.external {
            if node.b == 0 && items.count <= countLimit {
                t.nodes[index].a = t.listItems.count
            } else if node.a + node.b != t.listItems.count || node.b + items.count > countLimit {
                var moved = FlatBuffer(t.listItems[node.a ..< node.a + node.b])
                moved.append(contentsOf: items)
                t.sequences.append(moved)
                t.nodes[index] = Node(kind: .list, a: t.sequences.count - 1)
                return
            }
            t.listItems.append(contentsOf: items)
            t.nodes[index].b += items.count
        } else {
            mutateSequence(node.a) { $0.append(contentsOf: items) }
        }
    }

    /// Replaces a list item (SETITEM on a list).
    mutating func setListItem(_ index: Int, at position: Int, _ value: PickleRef) {
        let node = t.nodes[index]
        if node.external { t.listItems[node.a + position] = value } else { mutateSequence(node.a) { $0[position] = value } }
    }

    
    mutating func set(_ kind: NodeKind, _ items: [PickleRef] = []) -> PickleRef {
        t.sequences.append(FlatBuffer(capacity: 0))
        containerCount &+= 1
        let ref = append(Node(kind: kind, a: t.sequences.count - 1))
        if !items.isEmpty { _ = addToSet(sequence: t.sequences.count - 1, items[...]) }
        return ref
    }

    
    mutating func tuple(_ items: some Collection<PickleRef>) -> PickleRef {
        if items.count > countLimit {
            t.sequences.append(FlatBuffer(items))
            containerCount &+= 1
            return append(Node(kind: .tuple, a: t.sequences.count - 1, external: true))
        }
        let offset = t.tupleItems.count
        t.tupleItems.append(contentsOf: items)
        containerCount &+= 1
        return append(Node(kind: .tuple, a: offset, b: items.count))
    }

    
    mutating func dict() -> PickleRef {
        containerCount &+= 1
        return append(Node(kind: .dict, a: t.dictItems.count, b: 0, external: true))
    }

    /// A global node.
    /// - Parameters:
    ///   - name: the module and name.
    ///   - literalDottedName: the name has a dot and was read below protocol 4, where CPython looks it up as one
    ///     attribute name (dots included) instead of an attribute path (``Node/literalDottedName``).
    mutating func global(_ name: GlobalName, literalDottedName: Bool = false) -> PickleRef {
        t.globals.append(name)
        return append(Node(kind: .global, a: t.globals.count - 1, b: literalDottedName ? Node.literalDottedName : 0))
    }

    mutating func object(_ constructor: ObjectConstructor) -> PickleRef {
        t.objects.append(ObjectRecord(constructor: constructor, operations: []))
        containerCount &+= 1
        return append(Node(kind: .object, a: t.objects.count - 1))
    }

    mutating func buffer(_ buffer: OutOfBandBuffer) -> PickleRef {
        t.buffers.append(buffer)
        buffersAreTheCallers = false
        var node = Node(kind: .buffer, a: t.buffers.count - 1)
        node.readonly = buffer.isReadonly
        return append(node)
    }

    /// Whether `t.buffers` is the array the caller handed the parser (``buffer(at:of:)``), not one of its own.
    private var buffersAreTheCallers = false

    /// The out-of-band buffer `all[index]` (NEXT_BUFFER). The graph keeps the caller's array itself, which
    /// only ever grows at its end, rather than an array of its own: no allocation per pickle. (A graph that
    /// also gained buffers another way keeps its own array and gets a copy of this one appended.)
    mutating func buffer(at index: Int, of all: [OutOfBandBuffer]) -> PickleRef {
        guard t.buffers.isEmpty || buffersAreTheCallers else { return self.buffer(all[index]) }
        t.buffers = all
        buffersAreTheCallers = true
        var node = Node(kind: .buffer, a: index)
        node.readonly = all[index].isReadonly  // read in place: a copy of the buffer costs a retain and a release
        return append(node)
    }

    @inline(__always)
    mutating func append(_ node: Node) -> PickleRef {
        if t.nodes.count == t.nodes.capacity { growNodeArena() }
        t.nodes.appendWithinCapacity(node)
        return .node(t.nodes.count - 1)
    }

    // MARK: - Mutation

    /// Hash indexes for dicts and sets that outgrew a linear scan, by sequence index.
    var dictIndexes: [Int: KeyIndex] = [:]
    var setIndexes: [Int: KeyIndex] = [:]
    /// Hashes of the tuple and frozenset keys seen so far.
    var keyHashes = KeyHashCache()
    /// The keys, in order, of the last few small dicts filled without a repeated key (several, for records
    /// that nest records of other classes, whose dicts alternate). Keys are immutable values (or objects
    /// compared by identity), so a dict filled with the same references has no repeats either.
    private var distinctKeySets: [FlatBuffer<PickleRef>] = (0 ..< 4).map { _ in FlatBuffer(capacity: 0) }
    /// The set replaced by the next dict whose keys are none of them.
    private var nextKeySetSlot = 0

    /// Containers up to this size find duplicate keys by a linear scan; larger ones build a hash index.
    static let linearScanLimit = 16

    /// Adds key/value pairs to the dict node at `index`; a key equal to an existing one replaces its value in
    /// place (Python's "last wins", keeping the first insertion position).
    /// - Returns: `false` if a key is unhashable (a list, dict, set or bytearray), as Python's TypeError.
    mutating func setItems<Pairs: RandomAccessCollection<PickleRef>>(dict index: Int, _ pairs: Pairs) -> Bool where Pairs.Index == Int {
        let node = t.nodes[index]
        if node.external {
            let atEnd = node.b == 0 || node.a + node.b == t.dictItems.count
            if atEnd && node.b + pairs.count <= 2 * GraphBuilder.linearScanLimit {
                return fillFlatDict(index, pairs)
            }
            // Too large for a linear scan, or another dict was filled behind it: it moves to its own array.
            t.dicts.append(FlatBuffer(t.dictItems[node.a ..< node.a + node.b]))
            t.nodes[index] = Node(kind: .dict, a: t.dicts.count - 1)
        }
        let sequence = t.nodes[index].a
        var i = pairs.startIndex
        while i < pairs.endIndex {
            let key = pairs[i], value = pairs[i + 1]
            guard isHashableKey(key) else { return false }
            if let position = locate(key, sequence: sequence, isDict: true) {
                mutateDict(sequence) { $0[position + 1] = value }
            } else {
                mutateDict(sequence) {
                    $0.append(key)
                    $0.append(value)
                }
            }
            i += 2
        }
        return true
    }

    /// Adds pairs to a small dict that ends the flat arena (the usual case: a record's one SETITEMS), in
    /// place, finding a repeated key by a linear scan.
    private mutating func fillFlatDict<Pairs: RandomAccessCollection<PickleRef>>(_ index: Int, _ pairs: Pairs) -> Bool where Pairs.Index == Int {
        let wasEmpty = t.nodes[index].b == 0
        let start = wasEmpty ? t.dictItems.count : t.nodes[index].a
        if wasEmpty && distinctKeySets.contains(where: { hasKeys(of: pairs, like: $0) }) {
            // The same key references as a dict already found free of repeats (records written with
            // memoized keys): nothing to compare.
            t.dictItems.append(contentsOf: pairs)
            t.nodes[index].a = start
            t.nodes[index].b = pairs.count
            return true
        }
        var repeated = false
        var i = pairs.startIndex
        while i < pairs.endIndex {
            let key = pairs[i], value = pairs[i + 1]
            guard isHashableKey(key) else { return false }
            var k = start
            let end = t.dictItems.count
            while k < end && !KeyEquality.equal(t.dictItems[k], key, t, &keyHashes) { k += 2 }
            if k < end {
                t.dictItems[k + 1] = value
                repeated = true
            } else {
                t.dictItems.append(key)
                t.dictItems.append(value)
            }
            i += 2
        }
        t.nodes[index].a = start
        t.nodes[index].b = t.dictItems.count - start
        if wasEmpty && !repeated {
            let slot = nextKeySetSlot
            nextKeySetSlot = (slot + 1) % distinctKeySets.count
            distinctKeySets[slot].removeAll()
            var k = pairs.startIndex
            while k < pairs.endIndex { distinctKeySets[slot].append(pairs[k]); k += 2 }
        }
        return true
    }

    /// Whether the keys of `pairs` (keys and values interleaved) are exactly `keys`, reference for reference.
    @inline(__always)
    private func hasKeys<Pairs: RandomAccessCollection<PickleRef>>(of pairs: Pairs, like keys: FlatBuffer<PickleRef>) -> Bool where Pairs.Index == Int {
        guard pairs.count == 2 * keys.count, !keys.isEmpty else { return false }
        var k = 0
        var i = pairs.startIndex
        while k < keys.count {
            if pairs[i] != keys[k] { return false }
            k += 1
            i += 2
        }
        return true
    }

    /// Adds items to a set, skipping those equal to an existing element.
    /// - Returns: `false` if an item is unhashable.
    
    mutating func addToSet(sequence index: Int, _ items: some Collection<PickleRef>) -> Bool {
        for item in items {
            guard isHashableKey(item) else { return false }
            if locate(item, sequence: index, isDict: false) == nil {
                mutateSequence(index) { $0.append(item) }
            }
        }
        return true
    }

    /// Whether `key` may be a dict key or set element: Python's `hash()` succeeds (scalars need no hashing).
    mutating func isHashableKey(_ key: PickleRef) -> Bool {
        !key.isNode || isScalarKey(key) || KeyEquality.isHashable(key, t, &keyHashes)
    }

    func isScalarKey(_ ref: PickleRef) -> Bool {
        switch t.nodes[ref.nodeIndex].kind {
        case .string, .bytes, .int64, .float, .bigInt, .global, .object: return true
        default: return false
        }
    }

    /// Finds the position of a key equal to `key`, or records where it will be appended and returns nil.
    
    mutating func locate(_ key: PickleRef, sequence: Int, isDict: Bool) -> Int? {
        let stride = isDict ? 2 : 1
        let items = isDict ? t.dicts[sequence] : t.sequences[sequence]
        if items.count <= GraphBuilder.linearScanLimit * stride {
            var i = 0
            while i < items.count {
                if items[i] == key || KeyEquality.equal(items[i], key, t, &keyHashes) { return i }
                i += stride
            }
            return nil
        }
        var keyIndex = (isDict ? dictIndexes.removeValue(forKey: sequence) : setIndexes.removeValue(forKey: sequence)) ?? {
            var fresh = KeyIndex()
            var i = 0
            while i < items.count {
                fresh.insert(hash: KeyEquality.hash(items[i], t, &keyHashes) ?? 0, position: i)
                i += stride
            }
            return fresh
        }()
        let h = KeyEquality.hash(key, t, &keyHashes) ?? 0
        let found = keyIndex.positions(for: h).first(where: { items[$0] == key || KeyEquality.equal(items[$0], key, t, &keyHashes) })
        if found == nil { keyIndex.insert(hash: h, position: items.count) }
        if isDict { dictIndexes[sequence] = keyIndex } else { setIndexes[sequence] = keyIndex }
        return found
    }
}

/// Positions of keys by hash, for large dicts and sets.

struct KeyIndex: Sendable {
    var buckets: [Int: [Int]] = [:]
    init() {}
    mutating func insert(hash: Int, position: Int) { buckets[hash, default: []].append(position) }
    func positions(for hash: Int) -> [Int] { buckets[hash] ?? [] }
}
