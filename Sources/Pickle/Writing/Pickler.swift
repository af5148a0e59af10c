/// Writes object graphs as pickles, making the choices CPython 3.11's C pickler makes at each protocol:
/// the opcode for each value and size, what is memoized, batches of 1000, 64 KiB frames, reverse
/// fix_imports and `_codecs.encode` for bytes below protocol 3, sets by REDUCE below protocol 4, recursive
/// tuples via POP/POP_MARK. For built-in values the output equals `pickle.dumps(obj, protocol)`.
///
/// Like CPython's `Pickler`, the memo is kept across ``dump(_:)-(PickleGraph)`` calls (a later pickle refers back to
/// objects of an earlier one) until ``clearMemo()``. Saving is iterative: graphs of any depth pickle
/// without recursion.
public struct Pickler {
    /// The options in force.
    public private(set) var options: PicklerOptions
    private(set) var proto: Int

    /// Bytes produced so far and not yet taken with ``takeOutput()``.
    public private(set) var output: [UInt8] = []
    /// Whether a frame is open: ``pending`` then starts with room for its FRAME header.
    fileprivate var framing = false
    /// The open frame (after 9 bytes of room for its header), or outside frames the bytes written since the
    /// last flush. Everything but a large payload is written here, with a compare, a store and an increment,
    /// and reaches ``output`` in one copy when the frame is committed or the bytes are flushed; an
    /// `Array.append` checks the array's uniqueness and capacity each time (a 74-byte record made ~60).
    /// Empty between dumps.
    fileprivate var pending = FlatBuffer<UInt8>(capacity: 0)
    /// Where the open frame's header room is in ``pending`` (after the PROTO opcode of a dump's first frame).
    fileprivate var frameHead = 0

    // Streaming: where finished output goes during a dump (whole frames, and large payloads as their own
    // buffers), how many bytes went there, and the first error it threw.
    private(set) var sink: (any PickleSink)?
    /// Whether ``sink`` is set, kept beside it: testing the optional existential against `nil` copies it
    /// (and it must have no observer, or writing it in place would copy it too). Set only by ``attach(_:)``.
    private(set) var hasSink = false
    private(set) var drainedCount = 0
    fileprivate var drainedDuringDump = false
    var sinkError: (any Error)?

    // Memo: entries of the graph being dumped by node index, entries of earlier dumps by node identity,
    // and CPython's shared constants (global objects, interned names) by key.
    var memoCount = 0
    /// Memo slot by node index of ``graph`` (-1: none). A flat buffer (clearing and refilling an array cost
    /// ~190 instructions per one-shot dump); ``dump(_:)-(PickleGraph)`` makes it unique first, as a copied pickler shares it.
    fileprivate var localMemo = FlatBuffer<Int32>(capacity: 0)
    // `Dictionary()` and `Set()`, not literals: an empty literal is a call per pickler.
    fileprivate var identityMemo = [NodeIdentity: Int]()
    fileprivate var syntheticMemo = [String: Int]()
    fileprivate var graph: PickleGraph?
    fileprivate var tasks: [Task] = []
    /// `copyreg._reconstructor` objects whose construction is being written, by node index: meeting one
    /// again means it is reached from its own arguments.
    fileprivate var underConstruction = Set<Int>()

    /// Creates a pickler.
    /// - Throws: ``PickleError/Code/unpicklable`` for a protocol outside 0...5.
    public init(options: PicklerOptions = PicklerOptions()) throws {
        try Pickler.validate(options)
        self.init(validated: options)
    }

    private init(validated options: PicklerOptions) {
        self.options = options
        self.proto = options.protocolVersion
    }

    private static func validate(_ options: PicklerOptions) throws {
        guard (0 ... PicklerOptions.highestProtocol).contains(options.protocolVersion) else {
            throw PickleError(.unpicklable, offset: 0, "pickle protocol must be <= \(PicklerOptions.highestProtocol), got \(options.protocolVersion)")
        }
    }

    /// Pickles `value` with a fresh pickler: CPython's `pickle.dumps(obj, protocol)`.
    public static func dumps(_ value: PickleValue, protocol version: Int = PicklerOptions.defaultProtocol) throws -> [UInt8] {
        try dumps(PickleGraph(value), options: PicklerOptions(protocolVersion: version))
    }

    /// Pickles a graph with a fresh pickler.
    public static func dumps(_ graph: PickleGraph, options: PicklerOptions = PicklerOptions()) throws -> [UInt8] {
        // Sized for the whole graph up front: growing by doubling would copy every payload byte again at
        // each step (200 payloads of 1 MiB: 276 ms against CPython's 129 ms). Untouched capacity costs
        // address space, not memory.
        try dumpOnce(graph.root, options, reserving: Pickler.estimatedSize(of: graph))
    }

    /// About how many bytes a pickle of a whole graph takes: its payload bytes, 9 per node and 5 per item.
    /// (Read through the graph: passing its tables by value copied all 192 bytes of them to the stack.)
    static func estimatedSize(of graph: PickleGraph) -> Int {
        var payload = graph.t.heap.count
        for slice in graph.t.slices { payload += slice.count }
        return payload + 9 * graph.t.nodes.count + 5 * (graph.t.listItems.count + graph.t.tupleItems.count) + 64
    }

    /// Pickles the node `root` of its graph with a fresh pickler.
    public static func dumps(_ node: PickleNode, options: PicklerOptions = PicklerOptions()) throws -> [UInt8] {
        try dumpOnce(node, options, reserving: 0)
    }

    /// One pickle of `node` by a pickler in its first state, as `Pickler(options:)` then ``dump(_:)-(PickleGraph)``.
    ///
    /// The pickler comes from earlier calls and goes back after this one: a dump of a few bytes would
    /// otherwise spend more on making a pickler (a 232-byte struct, copied on its way out of `init`), on
    /// allocating its work list and memo table and on destroying it all than on its bytes.
    private static func dumpOnce(_ node: PickleNode, _ options: PicklerOptions, reserving capacity: Int) throws -> [UInt8] {
        try validate(options)
        let pickler = pool.take { Pickler(validated: PicklerOptions()) }
        defer { pool.give(pickler, keep: pickler.pointee.resetForReuse()) }
        pickler.pointee.takeCallValues(options, node.graph)
        // Sized up front only for large output (small output is copied out of the pending bytes at once).
        if capacity > Pickler.frameSizeTarget { pickler.pointee.output.reserveCapacityForBulkWrite(capacity) }
        try pickler.pointee.dumpWithUniqueStorage(node)
        return pickler.pointee.takeOutput()
    }

    private static let pool = ReusePool<Pickler>()

    /// Gives a one-shot pickler in its first state the call's options and graph, held (retained) until
    /// ``resetForReuse()`` lets them go.
    private mutating func takeCallValues(_ options: PicklerOptions, _ g: PickleGraph) {
        assert(graph == nil && self.options.bufferCallback == nil && self.options.persistentID == nil,
               "a pooled pickler that holds a caller's values")
        self.options = options
        proto = options.protocolVersion
        graph = g
        startLocalMemo(for: g)
    }

    /// Returns a one-shot pickler to its first state, keeping the storage of its work list, memo table and
    /// pending buffer; false (keep nothing) if any of them has grown large. Drops every reference to the
    /// caller's values (the call's graph and options, the output), so nothing of theirs outlives the call in
    /// the pool.
    private mutating func resetForReuse() -> Bool {
        output = []
        pending.removeAll()
        framing = false
        graph = nil
        options = PicklerOptions()
        memoCount = 0
        if !tasks.isEmpty { tasks.removeAll(keepingCapacity: true) }  // empty after a dump that succeeded
        if !identityMemo.isEmpty { identityMemo.removeAll() }
        if !syntheticMemo.isEmpty { syntheticMemo.removeAll() }
        if !underConstruction.isEmpty { underConstruction.removeAll() }
        return tasks.capacity <= 4096 && localMemo.capacity <= 1 << 16 && pending.capacity <= Pickler.pendingCapacityKept
    }

    /// Appends one complete pickle of the graph's root to ``output``.
    public mutating func dump(_ graph: PickleGraph) throws {
        try dump(graph.root)
    }

    /// Appends one complete pickle of `node` to ``output``.
    /// - Throws: ``PickleError/Code/unpicklable`` for values the protocol cannot express (out-of-band buffers
    ///   below protocol 5, non-ASCII names below protocol 3). A failed dump writes nothing and takes back the memo entries
    ///   it made (CPython keeps them, so its later pickles refer to entries no reader received).
    public mutating func dump(_ node: PickleNode) throws {
        localMemo.makeUnique()
        pending.makeUnique()  // empty, but a copied pickler shares its storage
        try dumpWithUniqueStorage(node)
    }

    /// ``dump(_:)-(PickleGraph)`` by a pickler whose buffers are its own: one that was never copied, as the one-shot
    /// picklers of ``dumpOnce(_:_:reserving:)``, which live in the pool's memory.
    private mutating func dumpWithUniqueStorage(_ node: PickleNode) throws {
        let g = node.graph
        if graph !== g {
            if graph != nil { rememberLocalMemo() }
            graph = g
            startLocalMemo(for: g)
        }
        if let sinkError { throw sinkError }
        let start = output.count
        let memoCountBefore = memoCount
        drainedDuringDump = false
        do {
            if proto >= 2 {
                write(Opcode.proto.rawValue)
                write(UInt8(proto))
            }
            if proto >= 4 { startFrame() }
            tasks.append(.save(node.ref))
            // Through `g`, which the caller's node keeps alive: reading ``graph`` back for the loop retained
            // and released the graph around it.
            try g.withTables { try run($0) }
            write(Opcode.stop.rawValue)
            if framing { commitFrame(force: true, reopen: false) } else { flushPending() }
            if let sinkError { throw sinkError }
        } catch {
            tasks.removeAll()
            pending.removeAll()
            framing = false
            if drainedDuringDump {
                // Part of this pickle is already in the sink: it cannot be taken back.
                sinkError = sinkError ?? PickleError(.ioFailure, offset: drainedCount,
                    "an earlier dump failed after part of its pickle reached the sink (\(error)); the stream holds an incomplete pickle")
            } else {
                // Nothing reached anyone: take back the bytes and the memo entries this dump made, so later
                // pickles never refer to entries no reader has seen (CPython keeps them; see the README).
                output.removeSubrange(start...)
                forgetMemoEntries(from: memoCountBefore)
            }
            throw error
        }
    }

    /// Returns the bytes written so far and empties ``output`` (the memo is kept).
    public mutating func takeOutput() -> [UInt8] {
        defer { output = [] }
        return output
    }

    /// Takes back the memo entries numbered `first` and later (those of a dump that failed).
    fileprivate mutating func forgetMemoEntries(from first: Int) {
        guard memoCount > first else { return }
        memoCount = first
        for i in localMemo.indices where localMemo[i] >= Int32(truncatingIfNeeded: first) { localMemo[i] = -1 }
        syntheticMemo = syntheticMemo.filter { $0.value < first }
    }

    /// Forgets every memo entry, as CPython's `Pickler.clear_memo()`: later dumps stand alone.
    public mutating func clearMemo() {
        memoCount = 0
        // Called before every dump of independent records: empty tables are left alone (removeAll on an
        // empty dictionary still releases and replaces its storage), and the local memo is refilled in
        // place rather than allocated anew.
        if !identityMemo.isEmpty { identityMemo.removeAll(keepingCapacity: true) }
        if !syntheticMemo.isEmpty { syntheticMemo.removeAll(keepingCapacity: true) }
        if !localMemo.isEmpty {
            let count = localMemo.count
            localMemo.makeUnique()  // a copy of this pickler may share it
            localMemo.removeAll()
            localMemo.append(-1, repeatCount: count)
        }
    }

    /// Empties the memo of the graph being dumped and sizes it for `g`, whose nodes are to be dumped next.
    private mutating func startLocalMemo(for g: PickleGraph) {
        localMemo.removeAll()
        localMemo.append(-1, repeatCount: g.t.nodes.count)
    }

    /// Moves the memo entries of the graph dumped last to the identity memo, so later dumps of other graphs
    /// (session copies) still find them.
    fileprivate mutating func rememberLocalMemo() {
        guard let g = graph else { return }
        for (index, slot) in localMemo.enumerated() where slot >= 0 {
            if let identity = g.identity(of: .node(index)) { identityMemo[identity] = Int(slot) }
        }
    }

    // MARK: - Tasks

    /// One step of the iterative save. Tasks run last-in first-out; `schedule` pushes them in reverse so a
    /// sequence reads in order.
    fileprivate enum Task {
        case save(PickleRef)
        case saveRange(RefRun)
        case opcode(UInt8)
        case endTuple(PickleRef, count: Int, marked: Bool)
        case endReduce(PickleRef)
        case endFrozenSet(PickleRef)
        case memoize(PickleRef)
        case memoizeTemporary
        case memoizeShared(String)
        case memoizeGlobalNode(PickleRef, String)
        case batch(RefRun, BatchMode, Opcode)
        case objectOperations(PickleRef, from: Int)
        case sharedGlobal(GlobalName)
        case sharedString(String)
        case temporaryString(ArraySlice<UInt8>)
        case temporaryBytes(ArraySlice<UInt8>)
        /// A list (or with `dict`, a dict of interleaved keys and values) written afresh, memoized as a temporary.
        case temporaryContainer(RefRun, dict: Bool)
        case tupleStart(count: Int)
        case tupleEnd(count: Int)
        case writeGlobalText(GlobalName, Opcode)
    }

    fileprivate mutating func schedule(_ sequence: Task...) {
        tasks.append(contentsOf: sequence.reversed())
    }

    /// The task loop over the tables of the graph being dumped (borrowed: copying them would retain each of
    /// their buffers, a cost per dump that a small pickle notices).
    fileprivate mutating func run(_ t: borrowing GraphTables) throws {
        while let task = tasks.popLast() {
            switch task {
            case .save(let ref):
                try commitFrameIfFull()
                try save(ref, t)
            case .saveRange(let items):
                // Saves items in place while they schedule nothing; the first that schedules work (a
                // container) leaves the rest of the run below its tasks.
                var k = items.startIndex
                let runsScalars = proto >= 1 && options.persistentID == nil
                while k < items.endIndex {
                    if runsScalars {
                        let next = writeScalarRun(items, from: k, t)
                        if next != k {
                            k = next
                            continue
                        }
                    }
                    try commitFrameIfFull()
                    let before = tasks.count
                    try save(items[k], t)
                    k += 1
                    if tasks.count != before {
                        if k < items.endIndex { tasks.insert(.saveRange(items[k...]), at: before) }
                        break
                    }
                }
            case .opcode(let op):
                write(op)
            case .endTuple(let ref, let count, let marked):
                if let index = memoIndex(ref) {
                    // The tuple was saved while its items were: it is recursive. Drop the items, fetch it.
                    if marked {
                        if proto >= 1 { write(Opcode.popMark.rawValue) } else { for _ in 0 ... count { write(Opcode.pop.rawValue) } }
                    } else {
                        for _ in 0 ..< count { write(Opcode.pop.rawValue) }
                    }
                    writeGet(index)
                } else {
                    if marked { write(Opcode.tuple.rawValue) } else { write(Opcode.tuple1.rawValue + UInt8(count - 1)) }
                    memoize(ref)
                }
            case .endReduce(let ref):
                if let index = memoIndex(ref) {
                    // Built again while its arguments were written (reached from them): that copy is the
                    // object, its operations already written. Drop this one.
                    write(Opcode.pop.rawValue)
                    writeGet(index)
                } else {
                    memoize(ref)
                    if t.nodes[ref.nodeIndex].kind == .object { tasks.append(.objectOperations(ref, from: 0)) }
                }
                if !underConstruction.isEmpty { underConstruction.remove(ref.nodeIndex) }
            case .endFrozenSet(let ref):
                if let index = memoIndex(ref) {
                    write(Opcode.popMark.rawValue)
                    writeGet(index)
                } else {
                    write(Opcode.frozenSet.rawValue)
                    memoize(ref)
                }
            case .memoize(let ref):
                memoize(ref)
            case .memoizeTemporary:
                writePut(memoCount)
                memoCount += 1
            case .memoizeGlobalNode(let ref, let key):
                syntheticMemo[key] = memoCount
                memoize(ref)
            case .memoizeShared(let key):
                syntheticMemo[key] = memoCount
                writePut(memoCount)
                memoCount += 1
            case .batch(let items, let mode, let multiple):
                switch multiple {
                case .setItems: batch(items, mode, single: .setItem, multiple: .setItems, stride: 2)
                case .addItems: batch(items, mode, single: .addItems, multiple: .addItems, stride: 1)
                default: batch(items, mode, single: .append, multiple: .appends, stride: 1)
                }
            case .objectOperations(let ref, let from):
                scheduleOperations(t.objects[t.nodes[ref.nodeIndex].a].operations, ref, from)
            case .sharedGlobal(let name):
                try commitFrameIfFull()
                let key = Pickler.globalKey(name)
                if let index = syntheticMemo[key] { writeGet(index) } else {
                    tasks.append(.memoizeShared(key))
                    try scheduleGlobal(name)
                }
            case .sharedString(let text):
                try commitFrameIfFull()
                let key = "str:" + text
                if let index = syntheticMemo[key] { writeGet(index) } else {
                    writeString(Array(text.utf8)[...])
                    syntheticMemo[key] = memoCount
                    writePut(memoCount)
                    memoCount += 1
                }
            case .temporaryString(let utf8):
                try commitFrameIfFull()
                writeString(utf8)
                writePut(memoCount)
                memoCount += 1
            case .temporaryBytes(let bytes):
                try commitFrameIfFull()
                if proto >= 3 {
                    writeBytes(bytes)
                    writePut(memoCount)
                    memoCount += 1
                } else {
                    scheduleBytesReduce(bytes, result: nil)
                }
            case .temporaryContainer(let items, let isDict):
                try commitFrameIfFull()
                if proto >= 1 {
                    write(isDict ? Opcode.emptyDict.rawValue : Opcode.emptyList.rawValue)
                } else {
                    write(Opcode.mark.rawValue)
                    write(isDict ? Opcode.dict.rawValue : Opcode.list.rawValue)
                }
                writePut(memoCount)
                memoCount += 1
                tasks.append(.batch(items, .exactFirst, isDict ? .setItems : .appends))
            case .tupleStart(let count):
                try commitFrameIfFull()
                if count == 0 {
                    writeEmptyTuple()
                } else if !(proto >= 2 && count <= 3) {
                    write(Opcode.mark.rawValue)
                }
            case .tupleEnd(let count):
                if count > 0 {
                    write(proto >= 2 && count <= 3 ? Opcode.tuple1.rawValue + UInt8(count - 1) : Opcode.tuple.rawValue)
                    writePut(memoCount)
                    memoCount += 1
                }
            case .writeGlobalText(let name, let opcode):
                try writeGlobalText(name, opcode: opcode)
            }
        }
    }

    // MARK: - Saving one value

    fileprivate mutating func save(_ ref: PickleRef, _ t: GraphTables) throws {
        if let persistentID = options.persistentID, let pid = persistentID(PickleNode(graph: graph!, ref: ref)) {
            try savePersistentID(pid)
            return
        }
        if ref.isInlineInt { writeInt(ref.inlineIntValue); return }
        if ref == .none { write(Opcode.none.rawValue); return }
        if ref == .true || ref == .false { writeBool(ref == .true); return }
        if let index = memoIndex(ref) { writeGet(index); return }
        let node = t.nodes[ref.nodeIndex]
        switch node.kind {
        case .int64:
            writeInt(Int64(node.a))
        case .bigInt:
            if node.external { writeBigInt(t.slices[node.a]) } else { writeBigInt(t.heapBytes(node)) }
        case .float:
            writeFloat(Double(bitPattern: UInt64(bitPattern: Int64(node.a))))
        case .string:
            if node.external { writeString(t.slices[node.a]) } else { writeString(t.heapBytes(node)) }
            memoize(ref)
        case .bytes:
            if proto >= 3 {
                if node.external { writeBytes(t.slices[node.a]) } else { writeBytes(t.heapBytes(node)) }
                memoize(ref)
            } else {
                scheduleBytesReduce(t.payload(of: node), result: ref)
            }
        case .byteArray:
            try saveByteArray(ref, t.payload(of: node))
        case .buffer:
            try saveBuffer(ref, t.buffers[node.a], node.readonly, bufferIndex: node.a)
        case .list:
            if proto >= 1 { write(Opcode.emptyList.rawValue) } else { write(Opcode.mark.rawValue); write(Opcode.list.rawValue) }
            memoize(ref)
            let items = t.elements(of: node)
            if !items.isEmpty { tasks.append(.batch(items, .exactFirst, .appends)) }
        case .dict:
            if proto >= 1 { write(Opcode.emptyDict.rawValue) } else { write(Opcode.mark.rawValue); write(Opcode.dict.rawValue) }
            memoize(ref)
            let items = t.dictEntries(node)
            if !items.isEmpty { tasks.append(.batch(items, .exactFirst, .setItems)) }
        case .tuple:
            let items = t.tupleElements(node)
            if items.isEmpty {
                writeEmptyTuple()
                return
            }
            let marked = !(proto >= 2 && items.count <= 3)
            if marked { write(Opcode.mark.rawValue) }
            tasks.append(.endTuple(ref, count: items.count, marked: marked))
            tasks.append(contentsOf: items.reversed().map { .save($0) })
        case .set:
            let items = t.sequences[node.a].run
            if proto >= 4 {
                write(Opcode.emptySet.rawValue)
                memoize(ref)
                if !items.isEmpty { tasks.append(.batch(items, .exactFirst, .addItems)) }
            } else {
                scheduleSetReduce("set", items, ref)
            }
        case .frozenSet:
            let items = t.sequences[node.a].run
            if proto >= 4 {
                write(Opcode.mark.rawValue)
                tasks.append(.endFrozenSet(ref))
                tasks.append(contentsOf: items.reversed().map { .save($0) })
            } else {
                scheduleSetReduce("frozenset", items, ref)
            }
        case .global:
            // A global is one object however it is reached: share the memo entry with the globals CPython
            // writes itself (`copyreg._reconstructor`, `builtins.set`, ...).
            let name = t.globals[node.a]
            let literal = node.b == Node.literalDottedName
            let key = literal ? Pickler.literalGlobalKey(name) : Pickler.globalKey(name)
            if let index = syntheticMemo[key] {
                localMemo[ref.nodeIndex] = Int32(truncatingIfNeeded: index)
                writeGet(index)
                return
            }
            tasks.append(.memoizeGlobalNode(ref, key))
            if literal {
                try writeLiteralDottedGlobal(name)
            } else {
                try scheduleGlobal(name)
            }
        case .object:
            try saveObject(ref, t.objects[node.a].constructor, t)
        }
    }

    fileprivate mutating func saveObject(_ ref: PickleRef, _ constructor: ObjectConstructor, _ t: GraphTables) throws {
        switch constructor {
        case .reduce(let callable, let args):
            if let state = reconstructorState(callable, args, t), !underConstruction.insert(ref.nodeIndex).inserted {
                // CPython writes the object again from a fresh `copyreg._reduce_ex` result, whose state is a
                // new dict or list; the graph's state is still being written at this point (it leads here),
                // so a fresh copy of it is what the reader must build this copy from.
                let items = t.tupleElements(t.nodes[args.nodeIndex])
                let stateNode = t.nodes[state.nodeIndex]
                let fresh: Task = stateNode.kind == .dict
                    ? .temporaryContainer(t.dictEntries(stateNode), dict: true) : .temporaryContainer(t.elements(of: stateNode), dict: false)
                schedule(.save(callable), .tupleStart(count: 3), .save(items[items.startIndex]), .save(items[items.startIndex + 1]),
                         fresh, .tupleEnd(count: 3), .opcode(Opcode.reduce.rawValue), .endReduce(ref))
                return
            }
            schedule(.save(callable), .save(args), .opcode(Opcode.reduce.rawValue), .endReduce(ref))
        case .newObject(let cls, let args):
            if proto >= 2 {
                schedule(.save(cls), .save(args), .opcode(Opcode.newObj.rawValue), .endReduce(ref))
            } else {
                // copyreg.__newobj__(cls, *args) is cls.__new__(cls, *args) at any protocol, for list and dict
                // subclasses too (copyreg._reconstructor(cls, object, None) would not rebuild those).
                let items = [cls] + Array(t.tupleElements(t.nodes[args.nodeIndex]))
                scheduleSyntheticReduce(GlobalName(module: "copyreg", name: "__newobj__"), items.map { .save($0) }, ref)
            }
        case .newObjectEx(let cls, let args, let kwargs):
            if proto >= 4 {
                schedule(.save(cls), .save(args), .save(kwargs), .opcode(Opcode.newObjEx.rawValue), .endReduce(ref))
            } else {
                scheduleSyntheticReduce(GlobalName(module: "copyreg", name: "__newobj_ex__"), [.save(cls), .save(args), .save(kwargs)], ref)
            }
        case .instance(let cls):
            // object.__new__(cls) at every protocol: NEWOBJ would call cls.__new__(cls), which differs for a
            // class with a __new__ of its own.
            scheduleReconstructor(cls, ref)
        case .inst(let cls, let args), .obj(let cls, let args):
            try saveInstantiation(ref, cls: cls, args: args, t)
        case .persistent(let id, let textual):
            // CPython never memoizes a persistent reference; one that operations were applied to (a graph
            // CPython does not write, but a stream can hold) is memoized first, so an operation that refers
            // back to it writes a GET instead of the reference again, endlessly.
            let hasOperations = !t.objects[t.nodes[ref.nodeIndex].a].operations.isEmpty
            if proto >= 1 && hasOperations {
                schedule(.save(id), .opcode(Opcode.binPersID.rawValue), .endReduce(ref))
            } else if proto >= 1 {
                schedule(.save(id), .opcode(Opcode.binPersID.rawValue))
                tasks.insert(.objectOperations(ref, from: 0), at: tasks.count - 2)
            } else {
                // Protocol 0 writes str(pid): the text of a str id, the decimal digits of an int id.
                let idNode = PickleNode(graph: graph!, ref: id)
                let text = idNode.utf8.map(Array.init) ?? idNode.int.map { Array(String($0).utf8) }
                guard let text, text.allSatisfy({ $0 < 0x80 && $0 != 0x0A }) else {
                    throw PickleError(.unpicklable, offset: position, opcode: .persID, "persistent IDs in protocol 0 must be ASCII strings without newlines")
                }
                _ = textual
                write(Opcode.persID.rawValue)
                pending.append(contentsOf: text)
                write(0x0A)
                tasks.append(hasOperations ? .endReduce(ref) : .objectOperations(ref, from: 0))
            }
        case .ext(let code):
            // EXT1/2/4 exist from protocol 2. Below it CPython writes the registered global's name, which an
            // unresolved code does not carry (the reader resolves codes it knows through
            // UnpicklerOptions.extensionRegistry, and those are globals here, written as such).
            guard proto >= 2 else {
                throw PickleError(.unpicklable, offset: position, opcode: code <= 0xFF ? .ext1 : (code <= 0xFFFF ? .ext2 : .ext4),
                                  "can't pickle extension code \(code) using pickle protocol \(proto): EXT opcodes need protocol >= 2, and below it only the registered name could be written, which the stream does not carry; read it with UnpicklerOptions.extensionRegistry naming code \(code)")
            }
            if code <= 0xFF {
                write(Opcode.ext1.rawValue); write(UInt8(code))
            } else if code <= 0xFFFF {
                write(Opcode.ext2.rawValue); writeLE(UInt64(code), 2)
            } else {
                write(Opcode.ext4.rawValue); writeLE(UInt64(UInt32(truncatingIfNeeded: code)), 4)
            }
            // As for persistent references: memoized first only when operations follow.
            tasks.append(t.objects[t.nodes[ref.nodeIndex].a].operations.isEmpty ? .objectOperations(ref, from: 0) : .endReduce(ref))
        }
    }

    /// An object made by INST or OBJ: CPython's `_instantiate`, which calls `cls(*args)` when there are
    /// arguments or the class has `__getinitargs__`, and `cls.__new__(cls)` otherwise. Which of the two
    /// happens depends on the live class, so no other opcode can stand in for it without arguments: the
    /// object is written with OBJ at protocols 1 to 5, and with INST at protocol 0 when the class is a global
    /// its text line names exactly. Otherwise, at protocol 0, an object with arguments becomes REDUCE
    /// (`cls(*args)`, exactly what INST does with them), and one without is refused.
    fileprivate mutating func saveInstantiation(_ ref: PickleRef, cls: PickleRef, args: PickleRef, _ t: GraphTables) throws {
        let items = t.tupleElements(t.nodes[args.nodeIndex])
        if proto >= 1 {
            var sequence: [Task] = [.opcode(Opcode.mark.rawValue), .save(cls)]
            sequence += items.map { .save($0) }
            sequence += [.opcode(Opcode.obj.rawValue), .endReduce(ref)]
            tasks.append(contentsOf: sequence.reversed())
            return
        }
        if cls.isNode, t.nodes[cls.nodeIndex].kind == .global {
            let name = t.globals[t.nodes[cls.nodeIndex].a]
            // A dotted name in an INST line is one attribute name below protocol 4: right for a name read that
            // way, wrong for an attribute path.
            if t.nodes[cls.nodeIndex].b == Node.literalDottedName || !name.name.utf8.contains(UInt8(ascii: ".")) {
                var sequence: [Task] = [.opcode(Opcode.mark.rawValue)]
                sequence += items.map { .save($0) }
                sequence += [.writeGlobalText(name, .inst), .endReduce(ref)]
                tasks.append(contentsOf: sequence.reversed())
                return
            }
        }
        guard !items.isEmpty else {
            throw PickleError(.unpicklable, offset: position, opcode: .inst,
                              "an object made by INST or OBJ without arguments (cls() or cls.__new__(cls), as the live class decides) can be written at protocol 0 only as INST of a global class named by its text line; use protocol 1 or above")
        }
        schedule(.save(cls), .save(args), .opcode(Opcode.reduce.rawValue), .endReduce(ref))
    }

    /// Replays an inert object's operations from `from`, one group of the same kind at a time.
    fileprivate mutating func scheduleOperations(_ ops: [ObjectOperation], _ ref: PickleRef, _ from: Int) {
        guard from < ops.count else { return }
        var end = from
        switch ops[from] {
        case .build(let state):
            schedule(.save(state), .opcode(Opcode.build.rawValue), .objectOperations(ref, from: from + 1))
            return
        case .extend(let items):
            // One opcode per group, as read: APPEND for one item, APPENDS for any other number. Protocol 0 has
            // no APPENDS, so there a group becomes an APPEND per item (extend([item]) once per item; an empty
            // group, extend([]), is left out).
            var run = FlatBuffer<PickleRef>(capacity: items.count)
            for item in items { run.append(item) }
            if items.count == 1 || proto == 0 {
                var sequence: [Task] = []
                for k in run.run.indices { sequence += [.saveRange(run.run[k ..< k + 1]), .opcode(Opcode.append.rawValue)] }
                sequence.append(.objectOperations(ref, from: from + 1))
                tasks.append(contentsOf: sequence.reversed())
                return
            }
            write(Opcode.mark.rawValue)
            schedule(.saveRange(run.run), .opcode(Opcode.appends.rawValue), .objectOperations(ref, from: from + 1))
            return
        case .setItem:
            var items = FlatBuffer<PickleRef>(capacity: 0)
            while end < ops.count, case .setItem(let k, let v) = ops[end] { items.append(k); items.append(v); end += 1 }
            schedule(.batch(items.run, .generic, .setItems), .objectOperations(ref, from: end))
        case .add:
            var items = FlatBuffer<PickleRef>(capacity: 0)
            while end < ops.count, case .add(let item) = ops[end] { items.append(item); end += 1 }
            schedule(.batch(items.run, .exactFirst, .addItems), .objectOperations(ref, from: end))
        }
    }

    /// How a run of container items is split into batches of at most 1000, matching CPython's C pickler.
    enum BatchMode {
        /// An exact list or dict at protocol 1+, first batch: one item uses APPEND/SETITEM.
        case exactFirst
        /// Later batches of an exact container; dicts (and sets) end with an empty batch after a full one.
        case exactContinuation
        /// Items from an iterator (an object's operations): a final single item is written unmarked.
        case generic
    }

    /// Writes the next batch of `items` (`stride` 1 for APPENDS/ADDITEMS, 2 for SETITEMS) and schedules the rest.
    fileprivate mutating func batch(_ items: RefRun, _ mode: BatchMode, single: Opcode, multiple: Opcode, stride: Int) {
        let count = items.count / stride
        if proto == 0 && multiple != .addItems {
            var sequence: [Task] = []
            var k = items.startIndex
            while k < items.endIndex {
                sequence.append(.saveRange(items[k ..< k + stride]))
                sequence.append(.opcode(single.rawValue))
                k += stride
            }
            tasks.append(contentsOf: sequence.reversed())
            return
        }
        let doWhile = multiple != .appends  // dicts and sets: C loops "do { ... } while (batch was full)"
        switch mode {
        case .exactFirst where count == 1 && multiple != .addItems, .generic where count == 1:
            tasks.append(.opcode(single.rawValue))
            tasks.append(.saveRange(items))
            return
        case .generic where count == 0, .exactFirst where count == 0:
            return
        case .exactContinuation where count == 0 && !doWhile:
            return
        default:
            break
        }
        let take = min(count, 1000)
        // Pushed directly in reverse order (no temporary task array).
        let rest = items.dropFirst(take * stride)
        if take == 1000 && (!rest.isEmpty || (doWhile && mode != .generic)) {
            tasks.append(.batch(rest, mode == .generic ? .generic : .exactContinuation, multiple))
        }
        tasks.append(.opcode(multiple.rawValue))
        if take > 0 { tasks.append(.saveRange(items.prefix(take * stride))) }
        write(Opcode.mark.rawValue)
    }
}

// MARK: - Built-in forms of CPython's pickler

extension Pickler {
    /// `save_reduce(func, args, obj=result)` for a callable CPython names by a shared global and an argument
    /// tuple of `args` (a temporary tuple, memoized as CPython does).
    fileprivate mutating func scheduleSyntheticReduce(_ callable: GlobalName, _ args: [Task], _ result: PickleRef?) {
        scheduleSyntheticReduce(callable, args, then: result.map { .endReduce($0) } ?? .memoizeTemporary)
    }

    /// `save_reduce` of a shared global callable and a temporary argument tuple, then `final` (memoizing
    /// the result, or nothing when the caller memoizes).
    fileprivate mutating func scheduleSyntheticReduce(_ callable: GlobalName, _ args: [Task], then final: Task?) {
        var sequence: [Task] = [.sharedGlobal(callable), .tupleStart(count: args.count)]
        sequence += args
        sequence += [.tupleEnd(count: args.count), .opcode(Opcode.reduce.rawValue)]
        if let final { sequence.append(final) }
        tasks.append(contentsOf: sequence.reversed())
    }

    /// bytes below protocol 3: `bytes()` when empty, else `_codecs.encode(<latin-1 str>, 'latin1')`.
    fileprivate mutating func scheduleBytesReduce(_ bytes: ArraySlice<UInt8>, result: PickleRef?) {
        if bytes.isEmpty {
            scheduleSyntheticReduce(GlobalName(module: "builtins", name: "bytes"), [], result)
            return
        }
        let text = PythonText.encodeUTF8SurrogatePass(bytes.lazy.map { UInt32($0) })
        // CPython caches one-character latin-1 strings: the same str object, memoized once.
        let first: Task = bytes.count == 1 ? .sharedString(String(decoding: text, as: UTF8.self)) : .temporaryString(text[...])
        scheduleSyntheticReduce(GlobalName(module: "_codecs", name: "encode"), [first, .sharedString("latin1")], result)
    }

    /// set and frozenset below protocol 4: `set(list(items))`.
    fileprivate mutating func scheduleSetReduce(_ name: String, _ items: RefRun, _ ref: PickleRef) {
        scheduleSyntheticReduce(GlobalName(module: "builtins", name: name), [.temporaryContainer(items, dict: false)], ref)
    }

    /// The state of `copyreg._reconstructor(cls, base, state)` when it is a dict or list (a dict or list
    /// subclass pickled below protocol 2), else nil.
    fileprivate func reconstructorState(_ callable: PickleRef, _ args: PickleRef, _ t: GraphTables) -> PickleRef? {
        guard callable.isNode, t.nodes[callable.nodeIndex].kind == .global,
              t.globals[t.nodes[callable.nodeIndex].a] == GlobalName(module: "copyreg", name: "_reconstructor"),
              args.isNode, t.nodes[args.nodeIndex].kind == .tuple else { return nil }
        let items = t.tupleElements(t.nodes[args.nodeIndex])
        guard items.count == 3 else { return nil }
        let state = items[items.startIndex + 2]
        guard state.isNode, [.dict, .list].contains(t.nodes[state.nodeIndex].kind) else { return nil }
        return state
    }

    /// A plain instance below protocol 2: `copyreg._reconstructor(cls, object, None)`.
    fileprivate mutating func scheduleReconstructor(_ cls: PickleRef, _ ref: PickleRef) {
        scheduleSyntheticReduce(GlobalName(module: "copyreg", name: "_reconstructor"),
                                [.save(cls), .sharedGlobal(GlobalName(module: "builtins", name: "object")), .save(.none)], ref)
    }

    fileprivate mutating func saveByteArray(_ ref: PickleRef, _ bytes: ArraySlice<UInt8>) throws {
        if proto >= 5 {
            writePayload(.byteArray8, 8, bytes)
            memoize(ref)
        } else if bytes.isEmpty {
            scheduleSyntheticReduce(GlobalName(module: "builtins", name: "bytearray"), [], ref)
        } else {
            scheduleSyntheticReduce(GlobalName(module: "builtins", name: "bytearray"), [.temporaryBytes(bytes)], ref)
        }
    }

    /// An out-of-band buffer node: in or out of band at protocol 5 (as the buffer callback decides), refused
    /// below. `bufferIndex` is its position in the buffers the graph was read with, for the error.
    fileprivate mutating func saveBuffer(_ ref: PickleRef, _ buffer: OutOfBandBuffer, _ readonly: Bool, bufferIndex: Int) throws {
        guard proto >= 5 else {
            // As CPython's pickler refuses a PickleBuffer (its message verbatim, grammar included, so one
            // search finds both): in band, below 5, it would be bytes or a bytearray, whose loaded object is
            // not the buffer the reader was handed (a numpy array over it, say).
            throw PickleError(.unpicklable, offset: position, opcode: readonly ? .readonlyBuffer : .nextBuffer,
                              "PickleBuffer can only pickled with protocol >= 5: out-of-band buffer \(bufferIndex) (NEXT_BUFFER\(readonly ? " + READONLY_BUFFER" : "")) can't be written at protocol \(proto)")
        }
        // Called through the stored property (`if let` would copy the closure: a retain and a release).
        if options.bufferCallback?(buffer) == false {
            write(Opcode.nextBuffer.rawValue)
            if readonly { write(Opcode.readonlyBuffer.rawValue) }
            return
        }
        if readonly { writeBytes(buffer.bytes) } else { writePayload(.byteArray8, 8, buffer.bytes) }
        memoize(ref)
    }

    /// `save_global`: STACK_GLOBAL at protocol 4+, GLOBAL text below (reverse fix_imports below 3), and
    /// `getattr(parent, name)` for nested names below protocol 4. The caller memoizes.
    fileprivate mutating func scheduleGlobal(_ name: GlobalName) throws {
        // Below protocol 4 the dots become getattr steps, and an empty step names nothing (CPython could not
        // have found such an object to pickle it either).
        let dotByte = UInt8(ascii: ".")
        if proto < 4 && name.name.utf8.contains(dotByte)
            && name.name.utf8.split(separator: dotByte, omittingEmptySubsequences: false).contains(where: \.isEmpty) {
            throw PickleError(.unpicklable, offset: position,
                              "can't pickle global identifier '\(name)' using pickle protocol \(proto): below protocol 4 each dot of the name is an attribute lookup, and an empty part names nothing")
        }
        if proto >= 4 {
            schedule(.sharedString(name.module), .temporaryString(Array(name.name.utf8)[...]), .opcode(Opcode.stackGlobal.rawValue))
        } else if let dot = name.name.utf8.lastIndex(of: dotByte) {
            // Split on the byte, as the reader does: a "." followed by a combining mark is one Character.
            let utf8 = name.name.utf8
            let parent = GlobalName(module: name.module, name: String(decoding: utf8[..<dot], as: UTF8.self))
            scheduleSyntheticReduce(GlobalName(module: "builtins", name: "getattr"),
                                    [.sharedGlobal(parent), .temporaryString(Array(utf8[utf8.index(after: dot)...])[...])], then: nil)
        } else {
            try writeGlobalText(name, opcode: .global)
        }
    }

    /// A global whose dotted name was read below protocol 4 (``Node/literalDottedName``): GLOBAL text, which
    /// keeps CPython's lookup of the name as one attribute; protocols 4 and 5 resolve every global's dots as
    /// an attribute path, so no opcode of theirs can say it.
    fileprivate mutating func writeLiteralDottedGlobal(_ name: GlobalName) throws {
        guard proto < 4 else {
            throw PickleError(.unpicklable, offset: position, opcode: .global,
                              "can't pickle global identifier '\(name)' using pickle protocol \(proto): it was read below protocol 4, where CPython looks up '\(name.name)' as one attribute name; protocol 4 and above would resolve it as an attribute path")
        }
        try writeGlobalText(name, opcode: .global)
    }

    /// GLOBAL or INST followed by the module and name lines (reverse fix_imports below protocol 3).
    fileprivate mutating func writeGlobalText(_ name: GlobalName, opcode: Opcode) throws {
        // Each part is one text line: it cannot be empty or hold a newline (a name read from STACK_GLOBAL may).
        // The check is on bytes, since "\r\n" is one Character and `contains("\n")` would miss it.
        guard !name.module.isEmpty, !name.name.isEmpty,
              !name.module.utf8.contains(0x0A), !name.name.utf8.contains(0x0A) else {
            throw PickleError(.unpicklable, offset: position, opcode: opcode,
                              "can't pickle global identifier '\(name)' using pickle protocol \(proto): a text GLOBAL needs non-empty module and name parts without newlines")
        }
        var module = name.module, qualified = name.name
        if proto < 3 && options.fixImports {
            (module, qualified) = FixImports.toPython2(module: module, name: qualified)
            // The reader maps the written name back (fix_imports); a name it would turn into another one (a
            // Python 2 name such as `__builtin__.frozenset`, which no Python 3 object has) cannot be written.
            let readBack = FixImports.toPython3(module: module, name: qualified)
            guard readBack.module == name.module && readBack.name == name.name else {
                throw PickleError(.unpicklable, offset: position, opcode: opcode,
                                  "can't pickle global identifier '\(name)' using pickle protocol \(proto) with fix_imports: it would be read back as '\(readBack.module).\(readBack.name)'")
            }
        }
        if proto < 3 {
            guard module.utf8.allSatisfy({ $0 < 0x80 }) && qualified.utf8.allSatisfy({ $0 < 0x80 }) else {
                throw PickleError(.unpicklable, offset: position, opcode: opcode,
                                  "can't pickle global identifier '\(name)' using pickle protocol \(proto)")
            }
        }
        write(opcode.rawValue)
        pending.append(contentsOf: module.utf8)
        write(0x0A)
        pending.append(contentsOf: qualified.utf8)
        write(0x0A)
    }

    // MARK: - Persistent ids

    /// CPython's `save_pers`: the id saved as an object (never itself looked up as persistent) then
    /// BINPERSID, or `PERSID str(id)` at protocol 0. Id tuples are fresh objects; equal id strings are taken
    /// to be one object, as Python's constant strings are.
    fileprivate mutating func savePersistentID(_ pid: PickleValue) throws {
        if proto == 0 {
            let text: String
            switch pid {
            case .string(let s): text = s
            case .int(let i): text = String(i)
            default:
                throw PickleError(.unpicklable, offset: position, opcode: .persID, "persistent IDs in protocol 0 must be str or int")
            }
            guard text.utf8.allSatisfy({ $0 < 0x80 && $0 != 0x0A }) else {
                throw PickleError(.unpicklable, offset: position, opcode: .persID, "persistent IDs in protocol 0 must be ASCII strings without newlines")
            }
            write(Opcode.persID.rawValue)
            pending.append(contentsOf: text.utf8)
            write(0x0A)
            return
        }
        try writeValue(pid, depth: 0)
        write(Opcode.binPersID.rawValue)
    }

    /// Writes a small value tree (a persistent id) the way `save` writes the same Python objects.
    private mutating func writeValue(_ value: PickleValue, depth: Int) throws {
        guard depth < 100 else {
            throw PickleError(.unpicklable, offset: position, "persistent id nested deeper than 100 levels")
        }
        try commitFrameIfFull()
        switch value {
        case .none: write(Opcode.none.rawValue)
        case .bool(let b): writeBool(b)
        case .int(let i): writeInt(Int64(i))
        case .bigInt(let bytes):
            let normalized = PickleGraph(value).root
            if let small = normalized.int { writeInt(Int64(small)) } else { writeBigInt(bytes[...]) }
        case .float(let d): writeFloat(d)
        case .string(let s):
            // Python shares constant strings (the same object each call): equal id strings share one entry.
            let key = "pid:" + s
            if let index = syntheticMemo[key] { writeGet(index); return }
            writeString(Array(s.utf8)[...])
            syntheticMemo[key] = memoCount
            memoizeTemporary()
        case .rawString(let utf8): writeString(utf8[...]); memoizeTemporary()
        case .bytes(let b) where proto >= 3: writeBytes(b[...]); memoizeTemporary()
        case .tuple(let items):
            if items.isEmpty {
                writeEmptyTuple()
                return
            }
            let marked = !(proto >= 2 && items.count <= 3)
            if marked { write(Opcode.mark.rawValue) }
            for item in items { try writeValue(item, depth: depth + 1) }
            write(marked ? Opcode.tuple.rawValue : Opcode.tuple1.rawValue + UInt8(items.count - 1))
            memoizeTemporary()
        default:
            throw PickleError(.unpicklable, offset: position, "persistent ids must be None, bool, int, float, str, bytes or tuples of them")
        }
    }

    private mutating func memoizeTemporary() {
        writePut(memoCount)
        memoCount += 1
    }

    // MARK: - Memo

    fileprivate func memoIndex(_ ref: PickleRef) -> Int? {
        let slot = localMemo[ref.nodeIndex]
        if slot >= 0 { return Int(slot) }
        if identityMemo.isEmpty { return nil }
        guard let identity = graph?.identity(of: ref) else { return nil }
        return identityMemo[identity]
    }

    fileprivate mutating func memoize(_ ref: PickleRef) {
        localMemo[ref.nodeIndex] = Int32(truncatingIfNeeded: memoCount)
        writePut(memoCount)
        memoCount += 1
    }

    fileprivate mutating func writePut(_ index: Int) {
        if proto >= 4 {
            write(Opcode.memoize.rawValue)
        } else if proto >= 1 {
            if index < 256 { write(Opcode.binPut.rawValue); write(UInt8(index)) } else { write(Opcode.longBinPut.rawValue); writeLE(UInt64(index), 4) }
        } else {
            write(Opcode.put.rawValue)
            pending.append(contentsOf: String(index).utf8)
            write(0x0A)
        }
    }

    fileprivate mutating func writeGet(_ index: Int) {
        if proto >= 1 {
            if index < 256 { write(Opcode.binGet.rawValue); write(UInt8(index)) } else { write(Opcode.longBinGet.rawValue); writeLE(UInt64(index), 4) }
        } else {
            write(Opcode.get.rawValue)
            pending.append(contentsOf: String(index).utf8)
            write(0x0A)
        }
    }

    // MARK: - Scalars and payloads

    /// Writes the items from `start` on while they are plain scalars (ints, floats, None, booleans: nothing
    /// memoized, nothing scheduled), each encoded in place at the end of the pending bytes with one or two
    /// unaligned stores. Stops before an item of another kind, and when the open frame (or, streaming, the
    /// output) reaches its target size, so frames end where ``commitFrameIfFull()`` would end them. The bytes
    /// are exactly those ``save(_:_:)`` writes.
    /// - Returns: the index of the first item not written.
    fileprivate mutating func writeScalarRun(_ items: RefRun, from start: Int, _ t: GraphTables) -> Int {
        var k = start
        let refs = items.unsafeElements()  // the graph's, alive while it is being dumped
        let first = items.startIndex
        let proto = self.proto
        // The pending count at which the frame (or the streamed output) reaches its target size.
        let limit = framing ? frameHead + Pickler.frameHeaderSize + Pickler.frameSizeTarget
            : (hasSink ? Pickler.frameSizeTarget - output.count : Int.max)
        while k < items.endIndex && pending.count < limit {
            let ref = refs[k - first]
            if pending.appendInPlace(upTo: 16, { Pickler.encodeScalar(ref, t, proto, $0) }) == 0 { break }
            k += 1
        }
        return k
    }

    /// Encodes a plain scalar at `p` (which has 16 bytes of room) as ``save(_:_:)`` would write it.
    /// - Returns: the bytes written; 0 for any other value (nothing is written).
    @inline(__always)
    private static func encodeScalar(_ ref: PickleRef, _ t: GraphTables, _ proto: Int, _ p: UnsafeMutableRawPointer) -> Int {
        if ref.isInlineInt { return encodeInt(ref.inlineIntValue, proto, p) }
        if ref == .none {
            p.storeBytes(of: Opcode.none.rawValue, as: UInt8.self)
            return 1
        }
        if !ref.isNode {
            guard proto >= 2 else { return 0 }
            p.storeBytes(of: ref == .true ? Opcode.newTrue.rawValue : Opcode.newFalse.rawValue, as: UInt8.self)
            return 1
        }
        let node = t.nodes[ref.nodeIndex]
        switch node.kind {
        case .int64:
            return encodeInt(Int64(node.a), proto, p)
        case .float:
            p.storeBytes(of: Opcode.binFloat.rawValue, as: UInt8.self)
            p.storeBytes(of: UInt64(bitPattern: Int64(node.a)).bigEndian, toByteOffset: 1, as: UInt64.self)
            return 9
        default:
            return 0
        }
    }

    /// BININT1, BININT2, BININT or (protocol 2 and later) LONG1 of the minimal length, stored as at most two
    /// little-endian words; 0 if the value needs LONG text (protocol 1).
    @inline(__always)
    private static func encodeInt(_ value: Int64, _ proto: Int, _ p: UnsafeMutableRawPointer) -> Int {
        let bits = UInt64(bitPattern: value)
        if value >= 0 && value <= 0xFF {
            p.storeBytes(of: (bits << 8 | UInt64(Opcode.binInt1.rawValue)).littleEndian, as: UInt64.self)
            return 2
        }
        if value >= 0 && value <= 0xFFFF {
            p.storeBytes(of: (bits << 8 | UInt64(Opcode.binInt2.rawValue)).littleEndian, as: UInt64.self)
            return 3
        }
        if value >= -0x8000_0000 && value <= 0x7FFF_FFFF {
            p.storeBytes(of: (UInt64(UInt32(truncatingIfNeeded: value)) << 8 | UInt64(Opcode.binInt.rawValue)).littleEndian, as: UInt64.self)
            return 5
        }
        guard proto >= 2 else { return 0 }
        let magnitudeBits = 64 - (value < 0 ? (~value).leadingZeroBitCount : value.leadingZeroBitCount)
        let n = magnitudeBits / 8 + 1
        p.storeBytes(of: (bits << 16 | UInt64(n) << 8 | UInt64(Opcode.long1.rawValue)).littleEndian, as: UInt64.self)
        p.storeBytes(of: (bits >> 48).littleEndian, toByteOffset: 8, as: UInt64.self)
        return 2 + n
    }

    fileprivate mutating func writeBool(_ value: Bool) {
        if proto >= 2 { write(value ? Opcode.newTrue.rawValue : Opcode.newFalse.rawValue) } else { pending.append(contentsOf: (value ? "I01\n" : "I00\n").utf8) }
    }

    fileprivate mutating func writeInt(_ value: Int64) {
        if proto >= 1 {
            // The binary forms, encoded in place as a run of scalars encodes them (0: LONG text, protocol 1).
            let proto = self.proto
            if pending.appendInPlace(upTo: 16, { Pickler.encodeInt(value, proto, $0) }) > 0 { return }
        }
        if value >= -0x8000_0000 && value <= 0x7FFF_FFFF {
            write(Opcode.int.rawValue)
            pending.append(contentsOf: String(value).utf8)
            write(0x0A)
        } else {
            write(Opcode.long.rawValue)
            pending.append(contentsOf: String(value).utf8)
            pending.append(contentsOf: "L\n".utf8)
        }
    }

    /// An int that does not fit in 32 bits, from minimal two's-complement bytes.
    fileprivate mutating func writeBigInt(_ bytes: some PayloadBytes) {
        if proto >= 2 {
            if bytes.count < 256 {
                write(Opcode.long1.rawValue)
                write(UInt8(bytes.count))
            } else {
                write(Opcode.long4.rawValue)
                writeLE(UInt64(bytes.count), 4)
            }
            appendPayload(bytes)
        } else {
            write(Opcode.long.rawValue)
            pending.append(contentsOf: BigIntText.decimalString(twosComplementLE: bytes).utf8)
            pending.append(contentsOf: "L\n".utf8)
        }
    }

    fileprivate mutating func writeFloat(_ value: Double) {
        if proto >= 1 {
            write(Opcode.binFloat.rawValue)
            var bits = value.bitPattern.bigEndian
            withUnsafeBytes(of: &bits) { appendRaw($0) }
        } else {
            write(Opcode.float.rawValue)
            pending.append(contentsOf: PythonRepr.float(value).utf8)
            write(0x0A)
        }
    }

    /// A str (UTF-8, surrogates allowed) with the opcode CPython picks; UNICODE text at protocol 0.
    fileprivate mutating func writeString(_ utf8: some PayloadBytes) {
        if proto == 0 {
            let points = utf8.withUnsafeBytes { PythonText.decodeUTF8SurrogatePass($0) } ?? []
            write(Opcode.unicode.rawValue)
            appendPayload(PythonText.encodeRawUnicodeEscapeForPickle(points)[...])
            write(0x0A)
            return
        }
        let n = utf8.count
        if n <= 0xFF && proto >= 4 {
            write(Opcode.shortBinUnicode.rawValue)
            write(UInt8(n))
            appendPayload(utf8)
        } else if n > 0xFFFF_FFFF && proto >= 4 {
            writePayload(.binUnicode8, 8, utf8)
        } else {
            writePayload(.binUnicode, 4, utf8)
        }
    }

    /// bytes at protocol 3+: SHORT_BINBYTES, BINBYTES or BINBYTES8.
    fileprivate mutating func writeBytes(_ bytes: some PayloadBytes) {
        let n = bytes.count
        if n <= 0xFF {
            write(Opcode.shortBinBytes.rawValue)
            write(UInt8(n))
            appendPayload(bytes)
        } else if n > 0xFFFF_FFFF && proto >= 4 {
            writePayload(.binBytes8, 8, bytes)
        } else {
            writePayload(.binBytes, 4, bytes)
        }
    }

    /// A length-prefixed payload; one of 64 KiB or more goes outside any frame, as CPython writes it.
    fileprivate mutating func writePayload(_ op: Opcode, _ headerSize: Int, _ bytes: some PayloadBytes) {
        if bytes.count >= Pickler.frameSizeTarget && (framing || hasSink) {
            let wasFraming = framing
            if framing { commitFrame(force: true, reopen: false) }
            write(op.rawValue)
            writeLE(UInt64(bytes.count), headerSize)
            if hasSink { drainPayload(bytes.arraySlice) } else { appendPayload(bytes) }  // no frame open: straight to the output
            if wasFraming { startFrame() }
            return
        }
        write(op.rawValue)
        writeLE(UInt64(bytes.count), headerSize)
        appendPayload(bytes)
    }

    /// Appends a payload's bytes: to the open frame (or pending bytes), or, outside frames, one of at least
    /// ``directWriteMinimum`` bytes straight to ``output`` after the pending bytes (a second copy of it would
    /// cost more than the append saves).
    @inline(__always)
    fileprivate mutating func appendPayload(_ bytes: some PayloadBytes) {
        if !framing && bytes.count >= Pickler.directWriteMinimum {
            flushPending()
            bytes.withUnsafeBytes { output.append(contentsOf: $0) }
        } else {
            bytes.withUnsafeBytes { appendRaw($0) }
        }
    }

    static let directWriteMinimum = 4096
    static let pendingCapacityKept = 1 << 18

    /// The pending buffer's capacity (for tests: it must not stay large between dumps).
    var pendingCapacity: Int { pending.capacity }

    @inline(__always)
    fileprivate mutating func appendRaw(_ bytes: UnsafeRawBufferPointer) {
        pending.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
    }

    /// Moves the pending bytes to ``output`` (outside frames).
    fileprivate mutating func flushPending() {
        if pending.isEmpty { return }
        pending.withUnsafeBufferPointer { bytes in
            // Into an empty array without room, as a new array of exactly these bytes: a one-shot dump of a
            // small graph reserves nothing, and this costs less than reserving and appending.
            if output.capacity == 0 { output = Array(bytes) } else { output.append(contentsOf: bytes) }
        }
        // Frames keep it under ~128 KiB; one huge item outside them (a long name, protocol 0 text) should not
        // leave a long-lived pickler holding its size.
        if pending.capacity > Pickler.pendingCapacityKept { pending = FlatBuffer(capacity: 0) } else { pending.removeAll() }
    }

    // MARK: - Framing

    static func globalKey(_ name: GlobalName) -> String { "global:\(name.module)\n\(name.name)" }
    /// The memo key of a literal dotted global, never shared with the attribute path spelled the same.
    static func literalGlobalKey(_ name: GlobalName) -> String { "literal-global:\(name.module)\n\(name.name)" }

    static let frameSizeTarget = 64 * 1024
    static let frameSizeMin = 4

    /// Opens a frame: 9 bytes of room in ``pending`` for its header, filled in when the frame is committed
    /// (a frame of under 4 bytes gets none).
    fileprivate mutating func startFrame() {
        framing = true
        frameHead = pending.count
        pending.appendUninitialized(Pickler.frameHeaderSize)
    }

    static let frameHeaderSize = 9

    /// The bytes the open frame holds.
    private var frameLength: Int { pending.count - frameHead - Pickler.frameHeaderSize }

    /// The position in the output stream of the next byte written (a frame's header not counted).
    private var position: Int {
        drainedCount + output.count + pending.count - (framing ? Pickler.frameHeaderSize : 0)
    }

    /// Ends a full frame; with a sink, hands the output over.
    /// - Throws: the sink's error (from this drain or an earlier payload's): the stream is broken, so the rest
    ///   of the object is not buffered. Checked only when output is handed over, off the per-save path.
    fileprivate mutating func commitFrameIfFull() throws {
        if framing {
            guard frameLength >= Pickler.frameSizeTarget else { return }
            if !hasSink { return commitFrame(force: false, reopen: true) }
            commitFrame(force: false, reopen: false)
            drain()
            startFrame()
        } else {
            guard pending.count + (hasSink ? output.count : 0) >= Pickler.frameSizeTarget else { return }
            flushPending()
            guard hasSink else { return }
            drain()
        }
        if let sinkError { throw sinkError }
    }

    /// Makes `sink` the destination of finished output (``drain()``).
    mutating func attach(_ sink: any PickleSink) {
        self.sink = sink
        hasSink = true
    }

    /// Flushes the attached sink, in place.
    mutating func flushSink() throws { try sink!.flush() }

    /// Hands every finished output byte to the sink, the pending bytes included (never an open frame).
    mutating func drain() {
        guard hasSink, sinkError == nil, !framing else { return }
        flushPending()
        if output.isEmpty { return }
        // A full frame is handed over as it is (zero copy) and the next gets a fresh buffer; a few bytes
        // (the opcodes before a large payload) go as a copy, and the buffer is kept for the next frame.
        // The sink is written in place (`sink!`): a copy of the existential, written and stored back, cost
        // more than the write itself.
        let handsOverBuffer = output.count >= Pickler.smallDrain
        do { try sink!.write(handsOverBuffer ? output[...] : Array(output)[...]) } catch { sinkError = error }
        drainedCount += output.count
        drainedDuringDump = true
        if handsOverBuffer {
            output = []
            output.reserveCapacity(Pickler.frameSizeTarget + 64)
        } else {
            output.removeAll(keepingCapacity: true)
        }
    }

    /// Below this many bytes, ``drain()`` copies the output instead of giving its buffer away.
    static let smallDrain = 4096

    /// Hands a large payload to the sink as its own buffer, after the bytes before it.
    fileprivate mutating func drainPayload(_ bytes: ArraySlice<UInt8>) {
        drain()
        guard hasSink, sinkError == nil else { return }
        do { try sink!.write(bytes) } catch { sinkError = error }
        drainedCount += bytes.count
    }

    /// Ends the current frame: fills in its FRAME header, or for a frame of under 4 bytes drops the header's
    /// room (as CPython drops the header), and moves the pending bytes to ``output`` in one copy; then opens
    /// the next frame if `reopen`.
    fileprivate mutating func commitFrame(force: Bool, reopen: Bool) {
        let length = frameLength
        guard force || length >= Pickler.frameSizeTarget else { return }
        let head = frameHead
        pending.withUnsafeMutableBytes { bytes in
            let base = bytes.baseAddress! + head
            if length >= Pickler.frameSizeMin {
                base.storeBytes(of: Opcode.frame.rawValue, as: UInt8.self)
                base.storeBytes(of: UInt64(length).littleEndian, toByteOffset: 1, as: UInt64.self)
            } else {
                base.copyMemory(from: base + Pickler.frameHeaderSize, byteCount: length)  // overlapping: a memmove
            }
        }
        if length < Pickler.frameSizeMin { pending.removeLast(Pickler.frameHeaderSize) }
        framing = false
        flushPending()
        if reopen { startFrame() }
    }

    @inline(__always)
    fileprivate mutating func write(_ byte: UInt8) { pending.append(byte) }

    /// `()`: EMPTY_TUPLE, or MARK TUPLE at protocol 0. Never memoized, as CPython.
    fileprivate mutating func writeEmptyTuple() {
        if proto >= 1 { write(Opcode.emptyTuple.rawValue) } else { write(Opcode.mark.rawValue); write(Opcode.tuple.rawValue) }
    }

    @inline(__always)
    fileprivate mutating func writeLE(_ value: UInt64, _ count: Int) {
        withUnsafeBytes(of: value.littleEndian) { appendRaw(UnsafeRawBufferPointer(rebasing: $0[0 ..< count])) }
    }
}

/// Bytes the pickler writes as a payload: an array slice (a large payload, which a sink takes as it is) or
/// the bytes of a short payload in a graph's heap.
protocol PayloadBytes: Collection<UInt8> where Index == Int {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
    /// The bytes as an array slice: themselves, or a copy.
    var arraySlice: ArraySlice<UInt8> { get }
}

extension ArraySlice<UInt8>: PayloadBytes {
    var arraySlice: ArraySlice<UInt8> { self }
}

extension UnsafeRawBufferPointer: PayloadBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(self) }
    var arraySlice: ArraySlice<UInt8> { ArraySlice(self) }
}
