/// The analysis of one pickle under a policy: every global of the graph (reachable from the root or not)
/// with how it is used, every call with its arguments, the data flow from calls to callables, and what the
/// stream did that the graph cannot show.
struct GraphScan {
    private let trace: PickleTrace
    private let policy: ScanPolicy
    private let location: String
    /// Where the pickle starts in the stream `location` names (trace offsets are from the pickle's start).
    private let base: Int
    private let t: GraphTables

    private(set) var globals: [ScannedGlobal] = []
    /// Pickles inside the stream itself (a joblib object array's), by their range in the stream.
    private(set) var inlinePickles: [Range<Int>] = []
    /// Payloads that may hold pickles: their node offset (in the stream) and bytes.
    private(set) var embeddedCandidates: [(offset: Int, bytes: ArraySlice<UInt8>)] = []

    /// A graph whose shared references expand to more values than this, and more than
    /// ``expansionRatio`` times its node count, is reported.
    static let expansionLimit = 10_000_000
    static let expansionRatio = 1_000
    /// A graph nested deeper than this is reported: CPython's own recursive walks stop near 1,000.
    static let nestingLimit = 5_000

    init(trace: PickleTrace, policy: ScanPolicy, location: String, base: Int) {
        self.trace = trace
        self.t = trace.graph.t
        self.policy = policy
        self.location = location
        self.base = base
        run()
    }

    // MARK: - The passes

    private mutating func run() {
        var uses: [Int: Set<GlobalUse>] = [:]
        var mutated: [Int: Int] = [:]  // global node -> offset of the first mutation
        for event in trace.events {
            let offset = base + event.offset
            switch event.kind {
            case .protoInsidePickle:
                add(.protoInsidePickle, .suspicious, offset, message: "PROTO inside the pickle: loaders and scanners may read the rest at different protocols")
            case .frameBelowProtocol4:
                add(.frameBelowProtocol4, .suspicious, offset, message: "FRAME in a pickle below protocol 4, which no pickler writes")
            case .memoIndexRedefined(let index):
                add(.memoIndexRedefined, .suspicious, offset,
                    message: "memo index \(index) stored again: later GETs see the new value, which scanners that replay the memo by hand miss")
            case .joblibArray(let byteCount, let isPickle):
                if isPickle { inlinePickles.append(offset ..< offset + byteCount) }
            case .globalMutated(let ref):
                uses[ref.nodeIndex, default: []].insert(.mutated)
                if mutated[ref.nodeIndex] == nil { mutated[ref.nodeIndex] = offset }
            }
        }
        var calls: [Int] = []      // object nodes made by calling a global
        var indirect: [Int] = []   // object nodes made by calling an object (a call's result)
        var calledResults = Set<Int>()  // object nodes that are themselves called
        for index in 0 ..< t.nodes.count where t.nodes[index].kind == .object {
            let record = t.objects[t.nodes[index].a]
            switch record.constructor {
            case .persistent(let id, _):
                checkPersistentID(id, at: index, &uses)
                continue
            case .ext(let code):
                add(.extensionCode, .suspicious, nodeOffset(index),
                    message: "extension code \(code): the loader's copyreg registry decides which callable it names")
                continue
            default: break
            }
            guard let callee = callee(of: record.constructor) else { continue }
            if let global = globalIndex(callee) {
                uses[global, default: []].insert(.called)
                if record.operations.contains(where: { if case .build = $0 { return true } else { return false } }) {
                    uses[global, default: []].insert(.buildTarget)
                }
                calls.append(index)
            } else if callee.isNode, t.nodes[callee.nodeIndex].kind == .object {
                indirect.append(index)
                calledResults.insert(callee.nodeIndex)
                if let inner = self.callee(of: t.objects[t.nodes[callee.nodeIndex].a].constructor), let global = globalIndex(inner) {
                    uses[global, default: []].insert(.resultCalled)
                }
            }
        }
        reportGlobals(uses, mutated)
        for index in calls { checkCall(index, isCalledLater: calledResults.contains(index)) }
        checkObjects()
        for index in indirect { reportIndirectCall(index) }
        if trace.isComplete { checkReachability() }
        collectEmbeddedCandidates()
        summarizeSuppressed()
    }

    /// One entry per global node, and a finding for each one the policy does not allow that no call
    /// reports.
    private mutating func reportGlobals(_ uses: [Int: Set<GlobalUse>], _ mutated: [Int: Int]) {
        // One entry per name (a pickle may spell a global many times), at its first offset, with every use.
        var entries: [String: (offset: Int, uses: Set<GlobalUse>, allowed: Bool)] = [:]
        var order: [String] = []
        for index in 0 ..< t.nodes.count where t.nodes[index].kind == .global {
            let name = t.globals[t.nodes[index].a]
            let used = uses[index] ?? []
            let allowed = policy.allows(name)
            let key = name.description
            if entries[key] == nil {
                order.append(key)
                entries[key] = (nodeOffset(index), [], allowed)
            }
            entries[key]!.uses.formUnion(used.isEmpty ? [.referenced] : used)
            if let offset = mutated[index] {
                add(.mutation, .dangerous, offset, global: name.description,
                    message: "\(name) is changed in place (BUILD, SETITEM or APPEND on it): the loading process's class, module or object is patched")
            }
            guard !allowed, !used.contains(.called) else { continue }
            let severity = grade(name.description, used)
            add(.global, severity, nodeOffset(index), global: name.description,
                message: "\(name) is referenced, which the policy '\(policy.name)' does not allow: loading imports its module\(reason(name.description))")
        }
        for key in order {
            let entry = entries[key]!
            // `referenced` only for a global that is nothing more.
            let used = entry.uses.count > 1 ? entry.uses.subtracting([.referenced]) : entry.uses
            globals.append(ScannedGlobal(name: key, location: location, offset: entry.offset,
                                         uses: GlobalUse.allCases.filter { used.contains($0) }, isAllowed: entry.allowed))
        }
    }

    /// A call of a global: a finding when the policy does not allow it, or when its arguments break the
    /// policy's constraints.
    private mutating func checkCall(_ index: Int, isCalledLater: Bool) {
        let record = t.objects[t.nodes[index].a]
        guard let callee = callee(of: record.constructor), let global = globalIndex(callee) else { return }
        let name = t.globals[t.nodes[global].a]
        guard let constraints = policy.constraints(for: name) else {
            var used: Set<GlobalUse> = [.called]
            if isCalledLater { used.insert(.resultCalled) }
            let severity = grade(name.description, used)
            let applied = record.operations.contains { if case .build = $0 { return true } else { return false } }
            add(.call, severity, nodeOffset(index), global: name.description, call: repr(index),
                message: "\(name) is called, which the policy '\(policy.name)' does not allow\(reason(name.description))"
                    + (applied ? "; state is then applied to the result (BUILD)" : ""))
            return
        }
        let arguments = self.arguments(of: record.constructor)
        checkConstraints(constraints, of: name, on: arguments, at: index)
        // `_rebuild_from_type_v2(func, new_type, args, state)` calls `func(*args)`: the constraints of `func`
        // apply to `args`.
        if name.description == "torch._tensor._rebuild_from_type_v2", arguments.count >= 3, let function = globalIndex(arguments[0]),
           case let functionName = t.globals[t.nodes[function].a], let inner = policy.constraints(for: functionName), let items = tupleItems(arguments[2]) {
            checkConstraints(inner, of: functionName, on: items, at: index)
        }
        checkResources(name.description, arguments, at: index)
    }

    private func checkConstraints(_ constraints: [Int: ScanPolicy.ArgumentConstraint], of name: GlobalName, on arguments: [PickleRef], at index: Int) {
        for (position, constraint) in constraints.sorted(by: { $0.key < $1.key }) {
            let argument = position < arguments.count ? arguments[position] : nil
            if let argument, satisfies(argument, constraint) { continue }
            add(.argumentConstraint, .suspicious, nodeOffset(index), global: name.description, call: repr(index),
                message: "argument \(position) of \(name) is \(argument.map { describe($0) } ?? "missing"); the policy '\(policy.name)' asks for \(explain(constraint))")
        }
    }

    /// The most bytes an allowed constructor may be asked to allocate before the call is reported.
    static let allocationLimit = 1 << 30

    /// Allowed calls that only cost: a buffer or storage of a size the pickle names, a fraction of a huge
    /// exponent (computed in full).
    private func checkResources(_ name: String, _ arguments: [PickleRef], at index: Int) {
        guard let first = arguments.first else { return }
        let sized = name == "builtins.bytearray" || name == "builtins.bytes" || (name.hasPrefix("torch.") && name.hasSuffix("Storage"))
        if sized, let count = t.intValue(first), count > Self.allocationLimit {
            add(.expansion, .suspicious, nodeOffset(index), global: name, call: repr(index),
                message: "\(name) is asked for \(count) bytes: loading allocates them")
        }
        if name == "fractions.Fraction", let text = string(first)?.lowercased(), let e = text.firstIndex(of: "e"),
           let exponent = Int(text[text.index(after: e)...].filter { $0.isNumber }.prefix(18)), exponent > 100_000 {
            add(.expansion, .suspicious, nodeOffset(index), global: name, call: repr(index),
                message: "a Fraction of exponent \(exponent): loading computes 10**\(exponent)")
        }
    }

    /// Callables whose result is shared by the whole process (an enum member): state applied to it changes
    /// it for everyone.
    static let sharedResults: Set<String> = ["uuid.SafeUUID"]

    /// Attribute names that later opcodes call (BUILD, APPENDS, SETITEMS, ADDITEMS) or that change what an
    /// object is: state that sets them on an object plants a callable.
    static let plantedNames: Set<String> = ["__setstate__", "__reduce__", "__reduce_ex__", "__class__", "__dict__", "extend", "append",
                                            "add", "__setitem__", "__getattr__", "__getattribute__", "__init__", "__new__", "__call__"]

    /// State applied to objects that should not take it, and numpy dtypes that lie about what they hold.
    private func checkObjects() {
        for index in 0 ..< t.nodes.count where t.nodes[index].kind == .object {
            let record = t.objects[t.nodes[index].a]
            guard let callee = callee(of: record.constructor), let global = globalIndex(callee) else { continue }
            let name = t.globals[t.nodes[global].a].description
            if name == "numpy.dtype", let dtype = NumpyDType.recognize(t, .node(index), depth: 0), !NumpyDType.flagsAgree(t, .node(index), with: dtype) {
                add(.argumentConstraint, .dangerous, nodeOffset(index), global: name, call: repr(index),
                    message: "a numpy dtype whose flags deny the Python objects it holds: numpy then reads raw bytes as object pointers (memory corruption)")
            }
            if Self.sharedResults.contains(name), !record.operations.isEmpty {
                add(.mutation, .dangerous, nodeOffset(index), global: name, call: repr(index),
                    message: "\(name)(...) returns an object the whole process shares (an enum member): the state applied to it changes it everywhere")
            }
            for case .build(let state) in record.operations {
                for key in stateKeys(state) where Self.plantedNames.contains(key) {
                    add(.build, .suspicious, nodeOffset(index), global: name, call: repr(index),
                        message: "state sets '\(key)' on an object of \(name): later opcodes call what it holds")
                }
            }
        }
    }

    /// The attribute names a BUILD state sets: a dict's keys, or a (dict, slots) pair's.
    private func stateKeys(_ state: PickleRef) -> [String] {
        let dicts = tupleItems(state).flatMap { $0.count == 2 ? $0 : nil } ?? [state]
        var keys: [String] = []
        for dict in dicts where dict.isNode && t.nodes[dict.nodeIndex].kind == .dict {
            let entries = Array(t.dictEntries(t.nodes[dict.nodeIndex]))
            for k in stride(from: 0, to: entries.count - 1, by: 2) { if let key = string(entries[k]) { keys.append(key) } }
        }
        return keys
    }

    /// A call whose callable is another call's result: what the chain resolves to, where it can be told.
    private mutating func reportIndirectCall(_ index: Int) {
        let record = t.objects[t.nodes[index].a]
        guard let callee = callee(of: record.constructor) else { return }
        let resolved = resolvedName(callee, depth: 0)
        let isAllowed = resolved.map { name in
            guard let dot = name.lastIndex(of: ".") else { return false }
            return policy.allows(GlobalName(module: String(name[..<dot]), name: String(name[name.index(after: dot)...])))
        } ?? false
        let target = resolved.map { "\($0)" + (DangerousGlobals.match($0).map { " (\($0))" } ?? "") } ?? "a callable only loading can tell"
        add(.indirectCall, isAllowed ? .suspicious : .dangerous, nodeOffset(index), global: resolved, call: repr(index),
            message: "calls the result of another call, \(describe(callee)): it resolves to \(target)")
    }

    /// Calls nothing keeps (POPped, or left under the root), reported once each: a call made for its side
    /// effect, the shape of most exploits.
    private mutating func checkReachability() {
        let reachable = reachableNodes()
        var expanded = [Int](repeating: 0, count: t.nodes.count)
        for index in 0 ..< t.nodes.count where t.nodes[index].kind == .object && !reachable[index] {
            let record = t.objects[t.nodes[index].a]
            guard let callee = callee(of: record.constructor) else { continue }
            let name = describe(callee)
            add(.unusedCall, .suspicious, nodeOffset(index), global: globalIndex(callee).map { t.globals[t.nodes[$0].a].description },
                call: repr(index), message: "the result of a call of \(name) is discarded: it was made for what it does while loading")
        }
        var depths = [Int](repeating: 0, count: t.nodes.count)
        let (total, depth) = measure(trace.graph.root.ref, &expanded, &depths)
        if total > Self.expansionLimit && total / max(t.nodes.count, 1) > Self.expansionRatio {
            add(.expansion, .suspicious, base, message: "\(t.nodes.count) values expand to \(total) through shared references (memo fan-out): code that walks the result, or re-pickles it, does that much work")
        }
        if depth > Self.nestingLimit {
            add(.expansion, .suspicious, base, message: "values nested \(depth) deep: code that walks the result recursively (repr, pickle.dumps, json) exhausts its stack")
        }
    }

    /// Bytes (and str holding protocol 0 text) that may be pickles, to scan in turn.
    private mutating func collectEmbeddedCandidates() {
        for index in 0 ..< t.nodes.count {
            let node = t.nodes[index]
            guard node.kind == .bytes || node.kind == .byteArray || node.kind == .string else { continue }
            let bytes = t.payload(of: node)
            guard bytes.count >= 2, EmbeddedPickles.mayBePickle(bytes, textOnly: node.kind == .string) else { continue }
            embeddedCandidates.append((base + nodeOffset(index), bytes))
        }
        for buffer in t.buffers where buffer.bytes.count >= 2 && EmbeddedPickles.mayBePickle(buffer.bytes, textOnly: false) {
            embeddedCandidates.append((base, buffer.bytes))
        }
    }

    // MARK: - Persistent ids

    private mutating func checkPersistentID(_ id: PickleRef, at index: Int, _ uses: inout [Int: Set<GlobalUse>]) {
        switch policy.persistentIDs {
        case .any: return
        case .refused:
            add(.persistentID, .suspicious, nodeOffset(index), call: GraphRepr.repr(t, id, maxLength: 300),
                message: "persistent id \(GraphRepr.repr(t, id, maxLength: 120)): what it loads is the loader's persistent_load, which the policy '\(policy.name)' does not accept")
        case .torchStorage:
            let items = tupleItems(id) ?? []
            if items.count == 5, string(items[0]) == "storage", let storageType = globalIndex(items[1]),
               string(items[2]) != nil, string(items[3]) != nil, items[4].isInlineInt {
                uses[storageType, default: []].insert(.persistentIDType)
                return
            }
            add(.persistentID, .suspicious, nodeOffset(index), call: GraphRepr.repr(t, id, maxLength: 300),
                message: "persistent id \(GraphRepr.repr(t, id, maxLength: 120)) is not ('storage', storage_type, key, location, numel) as torch.save writes it")
        }
    }

    // MARK: - Constraints

    private func satisfies(_ ref: PickleRef, _ constraint: ScanPolicy.ArgumentConstraint) -> Bool {
        switch constraint {
        case .persistentID:
            guard let record = objectRecord(ref), case .persistent = record.constructor else { return false }
            return true
        case .allowedCall:
            guard let record = objectRecord(ref), let callee = callee(of: record.constructor), let global = globalIndex(callee) else { return false }
            return policy.allows(t.globals[t.nodes[global].a])
        case .allowedGlobal:
            guard let global = globalIndex(ref) else { return false }
            return policy.allows(t.globals[t.nodes[global].a])
        case .plainData:
            return isPlainData(ref)
        }
    }

    private func explain(_ constraint: ScanPolicy.ArgumentConstraint) -> String {
        switch constraint {
        case .persistentID: return "a persistent id (a storage of the checkpoint)"
        case .allowedCall: return "the result of a call it allows"
        case .allowedGlobal: return "a global it allows"
        case .plainData: return "plain data"
        }
    }

    /// Whether no global, object or persistent id lies anywhere inside `ref`.
    private func isPlainData(_ ref: PickleRef) -> Bool {
        var pending = [ref]
        var seen = Set<Int>()
        while let next = pending.popLast() {
            guard next.isNode, seen.insert(next.nodeIndex).inserted else { continue }
            let node = t.nodes[next.nodeIndex]
            if node.kind == .global || node.kind == .object { return false }
            forEachChild(next) { pending.append($0) }
        }
        return true
    }

    // MARK: - Data flow

    /// What a callable that is a call's result resolves to: `getattr(x, 'name')`, `importlib.import_module`
    /// and `__import__` of a module, `pkgutil.resolve_name`, `operator.attrgetter` applied to a value,
    /// `functools.partial` of a callable.
    private func resolvedName(_ ref: PickleRef, depth: Int) -> String? {
        guard depth < 16 else { return nil }
        if let global = globalIndex(ref) { return t.globals[t.nodes[global].a].description }
        guard let record = objectRecord(ref), case .reduce(let callable, let args) = record.constructor else { return nil }
        let items = tupleItems(args) ?? []
        if let global = globalIndex(callable) {
            switch t.globals[t.nodes[global].a].description {
            case "builtins.getattr", "__builtin__.getattr":
                guard items.count >= 2, let base = resolvedName(items[0], depth: depth + 1), let attribute = string(items[1]) else { return nil }
                return base + "." + attribute
            case "importlib.import_module", "builtins.__import__", "importlib.__import__", "__builtin__.__import__":
                return items.first.flatMap { string($0) }
            case "pkgutil.resolve_name":
                return items.first.flatMap { string($0) }.map { $0.replacingColons() }
            case "functools.partial", "_functools.partial":
                return items.first.flatMap { resolvedName($0, depth: depth + 1) }
            default:
                return nil
            }
        }
        // A call of a call's result: attrgetter('name')(x) is x.name.
        guard let inner = objectRecord(callable), case .reduce(let getter, let getterArgs) = inner.constructor, let global = globalIndex(getter),
              ["operator.attrgetter", "_operator.attrgetter"].contains(t.globals[t.nodes[global].a].description),
              let attribute = tupleItems(getterArgs)?.first.flatMap({ string($0) }), let base = items.first.flatMap({ resolvedName($0, depth: depth + 1) })
        else { return nil }
        return base + "." + attribute
    }

    // MARK: - Grading

    /// Dangerous when the name is a known dangerous callable, or when its result is called or it is changed
    /// in place; suspicious otherwise.
    private func grade(_ name: String, _ uses: Set<GlobalUse>) -> ScanVerdict {
        if DangerousGlobals.match(name) != nil || uses.contains(.resultCalled) || uses.contains(.mutated) { return .dangerous }
        return .suspicious
    }

    private func reason(_ name: String) -> String {
        guard let match = DangerousGlobals.match(name) else { return "" }
        return match.hasSuffix(".*") ? " (\(match.dropLast(2)) is a dangerous module)" : " (\(match) is a dangerous callable)"
    }

    // MARK: - Graph helpers

    private func callee(of constructor: ObjectConstructor) -> PickleRef? {
        switch constructor {
        case .reduce(let callable, _): return callable
        case .newObject(let cls, _), .newObjectEx(let cls, _, _), .instance(let cls), .inst(let cls, _), .obj(let cls, _): return cls
        case .persistent, .ext: return nil
        }
    }

    private func arguments(of constructor: ObjectConstructor) -> [PickleRef] {
        switch constructor {
        case .reduce(_, let args), .newObject(_, let args), .newObjectEx(_, let args, _), .inst(_, let args), .obj(_, let args):
            return tupleItems(args) ?? []
        case .instance, .persistent, .ext: return []
        }
    }

    private func globalIndex(_ ref: PickleRef) -> Int? {
        guard ref.isNode, t.nodes[ref.nodeIndex].kind == .global else { return nil }
        return ref.nodeIndex
    }

    private func objectRecord(_ ref: PickleRef) -> ObjectRecord? {
        guard ref.isNode, t.nodes[ref.nodeIndex].kind == .object else { return nil }
        return t.objects[t.nodes[ref.nodeIndex].a]
    }

    private func tupleItems(_ ref: PickleRef) -> [PickleRef]? {
        guard ref.isNode, t.nodes[ref.nodeIndex].kind == .tuple else { return nil }
        return Array(t.tupleElements(t.nodes[ref.nodeIndex]))
    }

    /// A str, or bytes read as UTF-8 (protocol 0 and 1 strings arrive as bytes in a scan).
    private func string(_ ref: PickleRef) -> String? {
        guard ref.isNode else { return nil }
        let node = t.nodes[ref.nodeIndex]
        guard node.kind == .string || node.kind == .bytes else { return nil }
        return t.withPayload(of: node) { String(decoding: $0, as: UTF8.self) }
    }

    /// Calls `body` with each node `ref` holds directly (inline values have no node, so nothing to visit).
    private func forEachChild(_ ref: PickleRef, _ body: (PickleRef) -> Void) {
        guard ref.isNode else { return }
        let node = t.nodes[ref.nodeIndex]
        func visit(_ child: PickleRef) { if child.isNode { body(child) } }
        switch node.kind {
        case .list, .set, .frozenSet: for child in t.elements(of: node) { visit(child) }
        case .tuple: for child in t.tupleElements(node) { visit(child) }
        case .dict: for child in t.dictEntries(node) { visit(child) }
        case .object:
            let record = t.objects[node.a]
            switch record.constructor {
            case .reduce(let a, let b), .newObject(let a, let b), .inst(let a, let b), .obj(let a, let b): visit(a); visit(b)
            case .newObjectEx(let a, let b, let c): visit(a); visit(b); visit(c)
            case .instance(let a): visit(a)
            case .persistent(let id, _): visit(id)
            case .ext: break
            }
            for operation in record.operations {
                switch operation {
                case .extend(let items): items.forEach(visit)
                case .setItem(let key, let value): visit(key); visit(value)
                case .add(let item): visit(item)
                case .build(let state): visit(state)
                }
            }
        default: break
        }
    }

    /// Which nodes the root reaches.
    private func reachableNodes() -> [Bool] {
        var reached = [Bool](repeating: false, count: t.nodes.count)
        var pending = [trace.graph.root.ref]
        while let next = pending.popLast() {
            guard next.isNode, !reached[next.nodeIndex] else { continue }
            reached[next.nodeIndex] = true
            forEachChild(next) { if !reached[$0.nodeIndex] { pending.append($0) } }
        }
        return reached
    }

    /// How many values `root` expands to when every shared reference is counted again (saturating; a cycle
    /// counts its way back once), and how deep its values nest. Iterative, for graphs nested deeper than the
    /// call stack allows.
    private func measure(_ root: PickleRef, _ counts: inout [Int], _ depths: inout [Int]) -> (expanded: Int, depth: Int) {
        guard root.isNode else { return (1, 0) }
        let cap = Int.max / 4
        var stack: [(ref: PickleRef, expanded: Bool)] = [(root, false)]
        // counts: 0 not seen, -1 on the current path, n > 0 its expanded count.
        while let (ref, expanded) = stack.popLast() {
            let index = ref.nodeIndex
            if expanded {
                var total = 1, depth = 1
                forEachChild(ref) { child in
                    total = min(cap, total + max(counts[child.nodeIndex], 1))
                    depth = max(depth, depths[child.nodeIndex] + 1)
                }
                counts[index] = total
                depths[index] = depth
                continue
            }
            guard counts[index] == 0 else { continue }
            counts[index] = -1
            stack.append((ref, true))
            forEachChild(ref) { if counts[$0.nodeIndex] == 0 { stack.append(($0, false)) } }
        }
        return (max(counts[root.nodeIndex], 1), depths[root.nodeIndex])
    }

    // MARK: - Text

    private func nodeOffset(_ index: Int) -> Int {
        base + (index < trace.nodeOffsets.count ? trace.nodeOffsets[index] : trace.end)
    }

    private func repr(_ index: Int) -> String { GraphRepr.repr(t, .node(index), maxLength: 300) }

    private func describe(_ ref: PickleRef) -> String { GraphRepr.repr(t, ref, maxLength: 120) }

    /// Findings of one kind about one global kept in full; the rest are counted, so that a pickle of a
    /// million calls gives a report of a few lines, not a million (and their text is never made).
    static let findingsPerKind = 20

    /// The findings so far, in a reference of their own so that ``add(_:_:_:global:call:message:)`` can
    /// take its text as closures that read the scan.
    private final class FindingList {
        var findings: [ScanFinding] = []
        var counts: [String: (kept: Int, suppressed: Int, severity: ScanVerdict, kind: ScanFinding.Kind, global: String?)] = [:]
        var suppressedOrder: [String] = []
    }

    private let list = FindingList()

    /// Every finding, in the order found; the counted rest last.
    var findings: [ScanFinding] { list.findings }

    private func add(_ kind: ScanFinding.Kind, _ severity: ScanVerdict, _ offset: Int, global: String? = nil,
                     call: @autoclosure () -> String? = nil, message: @autoclosure () -> String) {
        let key = "\(kind.rawValue) \(global ?? "")"
        var count = list.counts[key] ?? (0, 0, severity, kind, global)
        count.severity = max(count.severity, severity)
        if count.kept < Self.findingsPerKind {
            count.kept += 1
            list.findings.append(ScanFinding(kind: kind, severity: severity, location: location, offset: offset, global: global, call: call(), message: message()))
        } else {
            if count.suppressed == 0 { list.suppressedOrder.append(key) }
            count.suppressed += 1
        }
        list.counts[key] = count
    }

    private func summarizeSuppressed() {
        for key in list.suppressedOrder {
            guard let count = list.counts[key] else { continue }
            list.findings.append(ScanFinding(kind: count.kind, severity: count.severity, location: location, offset: trace.end + base, global: count.global,
                                             message: "\(count.suppressed) more findings like the \(Self.findingsPerKind) above (\(count.kind.rawValue)\(count.global.map { " of \($0)" } ?? "")), not listed"))
        }
    }
}

private extension String {
    /// `pkgutil.resolve_name`'s `module:qualname` as a dotted name.
    func replacingColons() -> String { split(separator: ":", omittingEmptySubsequences: false).joined(separator: ".") }
}
