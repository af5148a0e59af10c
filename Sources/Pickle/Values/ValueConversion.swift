// Conversions between the value tree (PickleValue) and the graph arena, and copying subgraphs between graphs.

extension GraphBuilder {
    /// Adds a value tree to the graph. Every tree node becomes a new graph node (no sharing).
    mutating func insert(_ value: PickleValue) -> PickleRef {
        var unshared: [GlobalName: PickleRef]? = nil
        return insert(value, sharingGlobals: &unshared)
    }

    /// Adds a value tree to the graph; with `globals`, a global already in it is the node it names there
    /// (new ones are added to it), as a pickler's memo refers back to a class it has written.
    mutating func insert(_ value: PickleValue, sharingGlobals globals: inout [GlobalName: PickleRef]?) -> PickleRef {
        switch value {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return int(Int64(i))
        case .bigInt(let bytes): return bytes.withUnsafeBytes { int(twosComplementLE: $0) }
        case .float(let d): return float(d)
        case .string(let s): return payload(.string, s.utf8)
        case .rawString(let utf8): return payload(.string, utf8)
        case .bytes(let b): return payload(.bytes, b)
        case .byteArray(let b): return payload(.byteArray, b)
        case .list(let items): return list(items.map { insert($0, sharingGlobals: &globals) })
        case .tuple(let items): return tuple(items.map { insert($0, sharingGlobals: &globals) }[...])
        case .dict(let entries):
            let ref = dict()
            var pairs: [PickleRef] = []
            pairs.reserveCapacity(entries.count * 2)
            for e in entries {
                pairs.append(insert(e.key, sharingGlobals: &globals))
                pairs.append(insert(e.value, sharingGlobals: &globals))
            }
            _ = setItems(dict: ref.nodeIndex, pairs)
            return ref
        case .set(let items): return set(.set, items.map { insert($0, sharingGlobals: &globals) })
        case .frozenSet(let items): return set(.frozenSet, items.map { insert($0, sharingGlobals: &globals) })
        case .global(let name):
            if let known = globals?[name] { return known }
            let ref = global(name)
            globals?[name] = ref
            return ref
        case .buffer(let buffer): return self.buffer(buffer)
        case .object(let object):
            let constructor: ObjectConstructor
            switch object.constructor {
            case .reduce(let callable, let args):
                constructor = .reduce(callable: insert(callable, sharingGlobals: &globals), args: insert(.tuple(args), sharingGlobals: &globals))
            case .newObject(let cls, let args):
                constructor = .newObject(cls: insert(cls, sharingGlobals: &globals), args: insert(.tuple(args), sharingGlobals: &globals))
            case .newObjectEx(let cls, let args, let kwargs):
                constructor = .newObjectEx(cls: insert(cls, sharingGlobals: &globals), args: insert(.tuple(args), sharingGlobals: &globals), kwargs: insert(.dict(kwargs), sharingGlobals: &globals))
            case .instance(let cls):
                constructor = .instance(cls: insert(cls, sharingGlobals: &globals))
            case .inst(let cls, let args):
                constructor = .inst(cls: global(cls), args: insert(.tuple(args), sharingGlobals: &globals))
            case .obj(let cls, let args):
                constructor = .obj(cls: insert(cls, sharingGlobals: &globals), args: insert(.tuple(args), sharingGlobals: &globals))
            case .persistent(let id, let textual):
                constructor = .persistent(id: insert(id, sharingGlobals: &globals), textual: textual)
            case .ext(let code):
                constructor = .ext(code: code)
            }
            let ref = self.object(constructor)
            let operations: [ObjectOperation] = object.operations.map {
                switch $0 {
                case .extend(let items): return .extend(items.map { insert($0, sharingGlobals: &globals) })
                case .setItem(let k, let v): return .setItem(key: insert(k, sharingGlobals: &globals), value: insert(v, sharingGlobals: &globals))
                case .add(let v): return .add(insert(v, sharingGlobals: &globals))
                case .build(let s): return .build(state: insert(s, sharingGlobals: &globals))
                }
            }
            t.objects[t.nodes[ref.nodeIndex].a].operations = operations
            return ref
        }
    }

    /// Copies the subgraph reachable from `root` in `source` into this graph, keeping sharing and cycles.
    ///
    /// `map` remembers nodes already copied from `source` (source index -> local reference), so copying
    /// several roots of one source keeps the objects they share shared. Iterative: any depth is safe.
    /// `copiedBytes` grows by the size of the copy: 16 bytes per node and per reference, plus payload bytes
    /// copied into the heap.
    mutating func importSubgraph(from source: PickleGraph, root: PickleRef, map: inout [Int: PickleRef],
                                 copiedBytes: inout Int) -> PickleRef {
        guard root.isNode else { return root }
        if let done = map[root.nodeIndex] { return done }
        let s = source.t
        // Pass 1: find every reachable node not yet copied and give it its local index.
        var order: [Int] = []
        var work = [root.nodeIndex]
        var next = t.nodes.count
        while let index = work.popLast() {
            if map[index] != nil { continue }
            map[index] = .node(next)
            next += 1
            order.append(index)
            s.forEachChild(of: s.nodes[index]) { child in
                if child.isNode && map[child.nodeIndex] == nil { work.append(child.nodeIndex) }
            }
        }
        // Pass 2: append the translated nodes in the same order.
        func local(_ r: PickleRef) -> PickleRef { r.isNode ? map[r.nodeIndex]! : r }
        for index in order {
            var node = s.nodes[index]
            switch node.kind {
            case .int64, .float: break
            case .bigInt, .string, .bytes, .byteArray:
                if node.external {
                    t.slices.append(s.slices[node.a])
                    node.a = t.slices.count - 1
                } else {
                    let offset = t.heap.count
                    t.heap.append(contentsOf: s.heapBytes(node))
                    node.a = offset
                }
            case .tuple where node.external:
                t.sequences.append(FlatBuffer(s.tupleElements(node).map(local)))
                node.a = t.sequences.count - 1
            case .tuple:
                let offset = t.tupleItems.count
                t.tupleItems.append(contentsOf: s.tupleElements(node).map(local))
                node.a = offset
            case .list:
                let items = s.elements(of: node).map(local)
                if items.count > countLimit {
                    t.sequences.append(FlatBuffer(items))
                    node = Node(kind: .list, a: t.sequences.count - 1)
                } else {
                    node = Node(kind: .list, a: t.listItems.count, b: items.count, external: true)
                    t.listItems.append(contentsOf: items)
                }
            case .set, .frozenSet:
                t.sequences.append(FlatBuffer(s.sequences[node.a].map(local)))
                node.a = t.sequences.count - 1
            case .dict:
                let entries = s.dictEntries(node).map(local)
                if entries.count > countLimit {
                    t.dicts.append(FlatBuffer(entries))
                    node = Node(kind: .dict, a: t.dicts.count - 1)
                } else {
                    node = Node(kind: .dict, a: t.dictItems.count, b: entries.count, external: true)
                    t.dictItems.append(contentsOf: entries)
                }
            case .global:
                t.globals.append(s.globals[node.a])
                node.a = t.globals.count - 1
            case .buffer:
                t.buffers.append(s.buffers[node.a])
                node.a = t.buffers.count - 1
            case .object:
                let record = s.objects[node.a]
                t.objects.append(ObjectRecord(constructor: record.constructor.mapped(local),
                                              operations: record.operations.map { $0.mapped(local) }))
                node.a = t.objects.count - 1
            }
            if node.kind.isContainer { containerCount &+= 1 }
            var references = 0
            s.forEachChild(of: s.nodes[index]) { _ in references += 1 }
            let heapBytes = switch node.kind {
            case .bigInt, .string, .bytes, .byteArray: node.external ? 0 : node.b
            default: 0
            }
            copiedBytes += 16 * (1 + references) + heapBytes
            t.nodes.append(node)
            t.origins[t.nodes.count - 1] = source.identity(of: .node(index))
        }
        return map[root.nodeIndex]!
    }
}

extension GraphTables {
    /// Calls `body` with every reference a node holds.
    func forEachChild(of node: Node, _ body: (PickleRef) -> Void) {
        switch node.kind {
        case .tuple: for r in tupleElements(node) { body(r) }
        case .list, .set, .frozenSet: for r in elements(of: node) { body(r) }
        case .dict: for r in dictEntries(node) { body(r) }
        case .object:
            let record = objects[node.a]
            record.constructor.forEachRef(body)
            for op in record.operations { op.forEachRef(body) }
        default: break
        }
    }
}

extension ObjectConstructor {
    func mapped(_ f: (PickleRef) -> PickleRef) -> ObjectConstructor {
        switch self {
        case .reduce(let c, let a): return .reduce(callable: f(c), args: f(a))
        case .newObject(let c, let a): return .newObject(cls: f(c), args: f(a))
        case .newObjectEx(let c, let a, let k): return .newObjectEx(cls: f(c), args: f(a), kwargs: f(k))
        case .instance(let c): return .instance(cls: f(c))
        case .inst(let c, let a): return .inst(cls: f(c), args: f(a))
        case .obj(let c, let a): return .obj(cls: f(c), args: f(a))
        case .persistent(let id, let textual): return .persistent(id: f(id), textual: textual)
        case .ext: return self
        }
    }

    func forEachRef(_ body: (PickleRef) -> Void) {
        _ = mapped { body($0); return $0 }
    }
}

extension ObjectOperation {
    func mapped(_ f: (PickleRef) -> PickleRef) -> ObjectOperation {
        switch self {
        case .extend(let items): return .extend(items.map(f))
        case .setItem(let k, let v): return .setItem(key: f(k), value: f(v))
        case .add(let r): return .add(f(r))
        case .build(let s): return .build(state: f(s))
        }
    }

    func forEachRef(_ body: (PickleRef) -> Void) {
        _ = mapped { body($0); return $0 }
    }
}

// MARK: - Graph to value tree

extension PickleNode {
    /// The deepest value tree ``value()`` builds; deeper graphs throw (a deeper indirect enum would risk the
    /// stack when Swift frees it).
    public static let maxValueDepth = 10_000

    /// Converts this node and everything it reaches into a ``PickleValue`` tree. Shared references become
    /// copies. Iterative: no recursion however deep the graph.
    /// - Throws: ``PickleError/Code/typeMismatch`` for a cycle (a tree cannot hold one), and
    ///   ``PickleError/Code/limitExceeded`` beyond ``maxValueDepth`` levels or when the copies of shared
    ///   objects would make the tree more than about four times the graph's size (a memo fan-out attack).
    public func value() throws -> PickleValue {
        try ValueTreeBuilder.convert(t, ref)
    }
}

enum ValueTreeBuilder {
    private struct Frame {
        let index: Int
        let children: [PickleRef]
        var values: [PickleValue] = []
    }

    static func convert(_ t: GraphTables, _ root: PickleRef) throws -> PickleValue {
        if let leaf = leaf(t, root) { return leaf }
        var frames: [Frame] = [Frame(index: root.nodeIndex, children: children(t, root.nodeIndex))]
        var onPath: Set<Int> = [root.nodeIndex]
        // Shared objects become copies: a memo fan-out would make the tree exponentially large.
        var budget = ExpansionBudget(t, from: root)
        while true {
            guard budget.spend() else {
                throw PickleError(.limitExceeded, offset: 0, "copying shared objects would make the value tree larger than \(budget.total()) values (a memo fan-out); use the graph instead")
            }
            let top = frames.count - 1
            if frames[top].values.count < frames[top].children.count {
                let child = frames[top].children[frames[top].values.count]
                if let value = leaf(t, child) {
                    frames[top].values.append(value)
                    continue
                }
                guard onPath.insert(child.nodeIndex).inserted else {
                    throw PickleError(.typeMismatch, offset: 0, "the graph has a cycle; a value tree cannot hold it")
                }
                guard frames.count < PickleNode.maxValueDepth else {
                    throw PickleError(.limitExceeded, offset: 0, "value tree deeper than \(PickleNode.maxValueDepth) levels")
                }
                frames.append(Frame(index: child.nodeIndex, children: children(t, child.nodeIndex)))
                continue
            }
            let done = frames.removeLast()
            onPath.remove(done.index)
            let value = try assemble(t, done.index, done.values)
            if frames.isEmpty { return value }
            frames[frames.count - 1].values.append(value)
        }
    }

    /// The value of a reference that has no children, or nil for a container or object.
    private static func leaf(_ t: GraphTables, _ ref: PickleRef) -> PickleValue? {
        if ref.isInlineInt { return .int(Int(ref.inlineIntValue)) }
        if ref == .none { return PickleValue.none }
        if ref == .true { return .bool(true) }
        if ref == .false { return .bool(false) }
        let node = t.nodes[ref.nodeIndex]
        switch node.kind {
        case .int64: return .int(node.a)
        case .bigInt: return .bigInt(twosComplementLE: Array(t.payload(of: node)))
        case .float: return .float(Double(bitPattern: UInt64(bitPattern: Int64(node.a))))
        case .string:
            let bytes = t.payload(of: node)
            if let s = String(validating: bytes, as: UTF8.self) { return .string(s) }
            return .rawString(utf8: Array(bytes))
        case .bytes: return .bytes(Array(t.payload(of: node)))
        case .byteArray: return .byteArray(Array(t.payload(of: node)))
        case .global: return .global(t.globals[node.a])
        case .buffer: return .buffer(t.buffers[node.a])
        default: return nil
        }
    }

    /// The references a container or object holds, in the order ``assemble`` consumes their values.
    private static func children(_ t: GraphTables, _ index: Int) -> [PickleRef] {
        var refs: [PickleRef] = []
        t.forEachChild(of: t.nodes[index]) { refs.append($0) }
        return refs
    }

    private static func assemble(_ t: GraphTables, _ index: Int, _ values: [PickleValue]) throws -> PickleValue {
        let node = t.nodes[index]
        switch node.kind {
        case .list: return .list(values)
        case .tuple: return .tuple(values)
        case .set: return .set(values)
        case .frozenSet: return .frozenSet(values)
        case .dict: return .dict(stride(from: 0, to: values.count, by: 2).map { .init(values[$0], values[$0 + 1]) })
        default: break
        }
        // An object: values arrive in forEachChild order (constructor references, then operations).
        var next = values.makeIterator()
        func take() -> PickleValue { next.next() ?? .none }
        func items(_ v: PickleValue) -> [PickleValue] { if case .tuple(let x) = v { return x }; return [v] }
        let record = t.objects[node.a]
        let constructor: PickleValue.ObjectValue.Constructor
        switch record.constructor {
        case .reduce: let c = take(); constructor = .reduce(callable: c, args: items(take()))
        case .newObject: let c = take(); constructor = .newObject(cls: c, args: items(take()))
        case .newObjectEx:
            let c = take(), a = items(take()), k = take()
            guard case .dict(let kwargs) = k else { throw PickleError(.typeMismatch, offset: 0, "kwargs is not a dict") }
            constructor = .newObjectEx(cls: c, args: a, kwargs: kwargs)
        case .instance: constructor = .instance(cls: take())
        case .inst:
            guard case .global(let name) = take() else { throw PickleError(.typeMismatch, offset: 0, "INST class is not a global") }
            constructor = .inst(cls: name, args: items(take()))
        case .obj: let c = take(); constructor = .obj(cls: c, args: items(take()))
        case .persistent(_, let textual): constructor = .persistent(id: take(), textual: textual)
        case .ext(let code): constructor = .ext(code: code)
        }
        let operations: [PickleValue.ObjectValue.Operation] = record.operations.map {
            switch $0 {
            case .extend(let items): return .extend(items.map { _ in take() })
            case .setItem: let k = take(); return .setItem(key: k, value: take())
            case .add: return .add(take())
            case .build: return .build(state: take())
            }
        }
        return .object(.init(constructor, operations: operations))
    }
}
