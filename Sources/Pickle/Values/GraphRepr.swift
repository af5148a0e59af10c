/// Python `repr` of graph values, iterative so that any depth prints without recursion.
///
/// Built-in values print exactly as CPython prints them (recursive containers as `[...]` and `{...}`).
/// Inert objects print as their construction: `module.Class(args)` for REDUCE, INST and OBJ,
/// `module.Class.__new__(module.Class, args)` for NEWOBJ, followed by what was done to them:
/// `.__setstate__(state)`, `.extend([...])`, `.update({...})`, `.add(x)`.
enum GraphRepr {
    private enum Task {
        case value(PickleRef)
        case text(String)
        case leave(Int)
    }

    /// Integers with more bytes than this print in hexadecimal (decimal conversion is quadratic).
    static let decimalByteLimit = 1800

    /// The repr of `root`; past `maxLength` UTF-8 bytes (for a message) it stops, ending in `...`.
    static func repr(_ t: GraphTables, _ root: PickleRef, maxLength: Int = .max) -> String {
        var out = ""
        var work: [Task] = [.value(root)]
        var active = Set<Int>()
        // Python prints a shared object every time it is reached; a graph that shares objects in layers
        // would print exponentially long. Past the budget the text stops, saying why.
        var budget = ExpansionBudget(t, from: root)

        func pushSequence(_ items: some BidirectionalCollection<PickleRef>, close: String, singleComma: Bool = false) {
            work.append(.text(close))
            if singleComma && items.count == 1 { work.append(.text(",")) }
            var first = true
            for item in items.reversed() {
                if !first { work.append(.text(", ")) }
                work.append(.value(item))
                first = false
            }
        }

        while let task = work.popLast() {
            switch task {
            case .text(let s): out += s
            case .leave(let index): active.remove(index)
            case .value(let ref):
                if out.utf8.count > maxLength { return String(decoding: out.utf8.prefix(maxLength), as: UTF8.self) + "..." }
                guard budget.spend() else {
                    out += "...<stopped: shared objects expand past \(budget.total()) values>"
                    return out
                }
                if ref.isInlineInt { out += String(ref.inlineIntValue); continue }
                if ref == .none { out += "None"; continue }
                if ref == .true { out += "True"; continue }
                if ref == .false { out += "False"; continue }
                let index = ref.nodeIndex
                let node = t.nodes[index]
                switch node.kind {
                case .int64: out += String(node.a)
                case .bigInt: out += bigIntRepr(t.payload(of: node))
                case .float: out += PythonRepr.float(Double(bitPattern: UInt64(bitPattern: Int64(node.a))))
                case .string: out += stringRepr(t, node)
                case .bytes: out += PythonRepr.bytes(t.payload(of: node))
                case .byteArray: out += PythonRepr.bytearray(t.payload(of: node))
                case .buffer: out += "PickleBuffer(\(PythonRepr.bytes(t.buffers[node.a].bytes)))"
                case .global: out += t.globals[node.a].description
                default:
                    if active.contains(index) {
                        switch node.kind {
                        case .list: out += "[...]"
                        case .dict: out += "{...}"
                        default: out += "..."
                        }
                        continue
                    }
                    active.insert(index)
                    work.append(.leave(index))
                    switch node.kind {
                    case .list:
                        out += "["
                        pushSequence(t.elements(of: node), close: "]")
                    case .tuple:
                        out += "("
                        pushSequence(t.tupleElements(node), close: ")", singleComma: true)
                    case .set, .frozenSet:
                        let items = t.sequences[node.a]
                        let name = node.kind == .set ? "set" : "frozenset"
                        if items.isEmpty { out += "\(name)()"; continue }
                        out += node.kind == .set ? "{" : "frozenset({"
                        pushSequence(items, close: node.kind == .set ? "}" : "})")
                    case .dict:
                        out += "{"
                        let items = t.dictEntries(node)
                        work.append(.text("}"))
                        var k = items.endIndex - 2
                        while k >= items.startIndex {
                            work.append(.value(items[k + 1]))
                            work.append(.text(": "))
                            work.append(.value(items[k]))
                            if k > items.startIndex { work.append(.text(", ")) }
                            k -= 2
                        }
                    case .object:
                        pushObject(t.objects[node.a], &work, t)
                    default: break
                    }
                }
            }
        }
        return out
    }

    private static func pushObject(_ record: ObjectRecord, _ work: inout [Task], _ t: GraphTables) {
        if let items = orderedDictItems(record, t) {
            // collections.OrderedDict() + SETITEMS: print it as Python does.
            var tasks: [Task] = [.text("OrderedDict([")]
            for (i, (key, value)) in items.enumerated() {
                if i > 0 { tasks.append(.text(", ")) }
                tasks += [.text("("), .value(key), .text(", "), .value(value), .text(")")]
            }
            tasks.append(.text("])"))
            if items.isEmpty { tasks = [.text("OrderedDict()")] }
            work.append(contentsOf: tasks.reversed())
            return
        }
        // Operations print after the constructor; group consecutive appends/setitems/adds.
        var tail: [Task] = []
        var k = 0
        let ops = record.operations
        while k < ops.count {
            switch ops[k] {
            case .build(let state):
                tail += [.text(".__setstate__("), .value(state), .text(")")]
                k += 1
            case .extend(let items):
                tail.append(.text(".extend(["))
                for (n, item) in items.enumerated() {
                    if n > 0 { tail.append(.text(", ")) }
                    tail.append(.value(item))
                }
                tail.append(.text("])"))
                k += 1
            case .setItem:
                tail.append(.text(".update({"))
                var first = true
                while k < ops.count, case .setItem(let key, let value) = ops[k] {
                    if !first { tail.append(.text(", ")) }
                    tail += [.value(key), .text(": "), .value(value)]
                    first = false
                    k += 1
                }
                tail.append(.text("})"))
            case .add(let item):
                tail += [.text(".add("), .value(item), .text(")")]
                k += 1
            }
        }
        var head: [Task] = []
        func args(_ tuple: PickleRef) -> [Task] {
            guard tuple.isNode, t.nodes[tuple.nodeIndex].kind == .tuple else { return [.text("*"), .value(tuple)] }
            var tasks: [Task] = []
            for (i, item) in t.tupleElements(t.nodes[tuple.nodeIndex]).enumerated() {
                if i > 0 { tasks.append(.text(", ")) }
                tasks.append(.value(item))
            }
            return tasks
        }
        switch record.constructor {
        case .reduce(let callable, let a), .inst(let callable, let a), .obj(let callable, let a):
            head = [.value(callable), .text("(")] + args(a) + [.text(")")]
        case .newObject(let cls, let a):
            let rest = args(a)
            head = [.value(cls), .text(".__new__("), .value(cls)] + (rest.isEmpty ? [] : [.text(", ")] + rest) + [.text(")")]
        case .newObjectEx(let cls, let a, let kwargs):
            let rest = args(a)
            head = [.value(cls), .text(".__new__("), .value(cls)] + (rest.isEmpty ? [] : [.text(", ")] + rest)
                + [.text(", **"), .value(kwargs), .text(")")]
        case .instance(let cls):
            head = [.value(cls), .text(".__new__("), .value(cls), .text(")")]
        case .persistent(let id, _):
            head = [.text("persistent_load("), .value(id), .text(")")]
        case .ext(let code):
            head = [.text("copyreg.extension(\(code))")]
        }
        work.append(contentsOf: (head + tail).reversed())
    }

    /// The items of `collections.OrderedDict()` filled only by SETITEM(S), last value per equal key winning.
    private static func orderedDictItems(_ record: ObjectRecord, _ t: GraphTables) -> [(PickleRef, PickleRef)]? {
        guard case .reduce(let callable, let args) = record.constructor, callable.isNode,
              t.nodes[callable.nodeIndex].kind == .global,
              t.globals[t.nodes[callable.nodeIndex].a] == GlobalName(module: "collections", name: "OrderedDict"),
              args.isNode, t.nodes[args.nodeIndex].kind == .tuple, t.tupleElements(t.nodes[args.nodeIndex]).isEmpty else { return nil }
        var items: [(PickleRef, PickleRef)] = []
        var positions: [Int: [Int]] = [:]  // key hash -> indexes in items: linear however many keys
        var hashes = KeyHashCache()
        for operation in record.operations {
            guard case .setItem(let key, let value) = operation else { return nil }
            let h = KeyEquality.hash(key, t, &hashes) ?? 0
            if let i = positions[h]?.first(where: { KeyEquality.equal(items[$0].0, key, t, &hashes) }) {
                items[i].1 = value
            } else {
                positions[h, default: []].append(items.count)
                items.append((key, value))
            }
        }
        return items
    }

    static func stringRepr(_ t: GraphTables, _ node: Node) -> String {
        t.withPayload(of: node) { raw in
            PythonRepr.string(codePoints: PythonText.decodeUTF8SurrogatePass(raw) ?? [])
        }
    }

    static func bigIntRepr(_ bytes: ArraySlice<UInt8>) -> String {
        if bytes.count <= decimalByteLimit { return BigIntText.decimalString(twosComplementLE: bytes) }
        // Hexadecimal of the magnitude, as Python's hex() would print it.
        let (limbs, negative) = BigIntText.magnitude(fromTwosComplementLE: bytes)
        var digits = ""
        for (i, limb) in limbs.reversed().enumerated() {
            let h = String(limb, radix: 16)
            digits += i == 0 ? h : String(repeating: "0", count: 8 - h.count) + h
        }
        return (negative ? "-0x" : "0x") + digits
    }
}
