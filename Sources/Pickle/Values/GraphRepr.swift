/// Python `repr` of graph values, iterative so that any depth prints without recursion.
///
/// Built-in values print exactly as CPython prints them (recursive containers as `[...]` and `{...}`), and
/// so do the standard library values that ``StdlibRepr`` recognises (`datetime.datetime(2026, 12, 7, 13, 5)`,
/// `Decimal('1.10')`, `OrderedDict([('a', 1)])`, ...).
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
                // A message's repr is cut at `maxLength`: a longer payload is formatted only as far as that.
                case .string: out += stringRepr(t, node, prefix: maxLength)
                case .bytes: out += PythonRepr.bytes(t.payload(of: node).prefix(maxLength))
                case .byteArray: out += PythonRepr.bytearray(t.payload(of: node).prefix(maxLength))
                case .buffer: out += "PickleBuffer(\(PythonRepr.bytes(t.buffers[node.a].bytes.prefix(maxLength))))"
                case .global: out += t.globals[node.a].description
                default:
                    if active.contains(index) {
                        switch node.kind {
                        case .list: out += "[...]"
                        case .dict: out += "{...}"
                        case .object: out += StdlibRepr.recursionMarker(t, ref) ?? "..."
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
                        if let pieces = StdlibRepr.pieces(t, ref) {
                            // A standard library value: CPython's repr of it.
                            work.append(contentsOf: pieces.reversed().map {
                                switch $0 {
                                case .text(let text): return Task.text(text)
                                case .value(let item): return Task.value(item)
                                }
                            })
                        } else {
                            pushObject(t.objects[node.a], &work, t)
                        }
                    default: break
                    }
                }
            }
        }
        return out
    }

    private static func pushObject(_ record: ObjectRecord, _ work: inout [Task], _ t: GraphTables) {
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

    /// The repr of a str node, of its first `prefix` bytes (at a character's boundary) when it is longer.
    static func stringRepr(_ t: GraphTables, _ node: Node, prefix: Int = .max) -> String {
        t.withPayload(of: node) { raw in
            guard raw.count > prefix else { return PythonRepr.string(codePoints: PythonText.decodeUTF8SurrogatePass(raw) ?? []) }
            var end = prefix
            while end > 0 && raw[end] & 0xC0 == 0x80 { end -= 1 }  // back to the start of a character
            return PythonRepr.string(codePoints: PythonText.decodeUTF8SurrogatePass(UnsafeRawBufferPointer(rebasing: raw[..<end])) ?? [])
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

// MARK: - Straight to UTF-8 bytes

extension GraphRepr {
    /// Values the byte writer visits before it hands a graph to ``repr(_:_:)``: no more than the general
    /// path's smallest budget, so whenever the byte writer finishes, the general path would have printed
    /// the same text without stopping.
    static let directValueLimit = 65_536
    /// Containers nested deeper than this go to ``repr(_:_:)``, which needs no call stack for depth.
    static let directDepthLimit = 200

    /// Appends `repr(root)` as UTF-8 to `out`: exactly the text of ``repr(_:_:)``.
    ///
    /// The usual graph (numbers, ASCII text, bytes, lists, tuples, dicts and sets, nested a little) is written
    /// byte by byte into `out` by a small recursive writer, with no `String` built on the way; anything else
    /// (inert objects, out-of-band buffers, a cycle, non-ASCII text is kept but built as a `String`, a graph
    /// past ``directValueLimit`` values or ``directDepthLimit`` levels) falls back to ``repr(_:_:)``, whose
    /// text replaces whatever the writer had appended.
    static func appendRepr(_ t: GraphTables, _ root: PickleRef, to out: inout [UInt8]) {
        let start = out.count
        var valuesLeft = directValueLimit
        if appendDirect(t, root, depth: 0, &valuesLeft, &out) { return }
        out.removeSubrange(start...)
        out.append(contentsOf: repr(t, root).utf8)
    }

    /// One value of ``appendRepr(_:_:to:)``; false when the value needs the general path.
    private static func appendDirect(_ t: GraphTables, _ ref: PickleRef, depth: Int, _ valuesLeft: inout Int,
                                     _ out: inout [UInt8]) -> Bool {
        valuesLeft -= 1
        if valuesLeft < 0 { return false }
        if ref.isInlineInt { appendDecimal(ref.inlineIntValue, &out); return true }
        if ref == .none { out.append(contentsOf: "None".utf8); return true }
        if ref == .true { out.append(contentsOf: "True".utf8); return true }
        if ref == .false { out.append(contentsOf: "False".utf8); return true }
        let node = t.nodes[ref.nodeIndex]
        switch node.kind {
        case .int64:
            appendDecimal(Int64(node.a), &out)
        case .float:
            out.append(contentsOf: PythonRepr.float(Double(bitPattern: UInt64(bitPattern: Int64(node.a)))).utf8)
        case .string:
            if !t.withPayload(of: node, { appendQuoted($0, isBytes: false, &out) }) {
                out.append(contentsOf: stringRepr(t, node).utf8)
            }
        case .bytes:
            out.append(0x62)  // b
            _ = t.withPayload(of: node) { appendQuoted($0, isBytes: true, &out) }
        case .bigInt: out.append(contentsOf: bigIntRepr(t.payload(of: node)).utf8)
        case .byteArray: out.append(contentsOf: PythonRepr.bytearray(t.payload(of: node)).utf8)
        case .global: out.append(contentsOf: t.globals[node.a].description.utf8)
        case .list, .tuple, .set, .frozenSet, .dict:
            guard depth < directDepthLimit else { return false }
            return appendContainer(t, node, depth: depth + 1, &valuesLeft, &out)
        case .object:
            // The same recognition as the general path; a value inside it that needs the general path (a
            // cycle through it among them) sends the whole text there.
            guard depth < directDepthLimit, let pieces = StdlibRepr.pieces(t, ref) else { return false }
            for piece in pieces {
                switch piece {
                case .text(let text): out.append(contentsOf: text.utf8)
                case .value(let item): if !appendDirect(t, item, depth: depth + 1, &valuesLeft, &out) { return false }
                }
            }
        default:
            return false
        }
        return true
    }

    private static func appendContainer(_ t: GraphTables, _ node: Node, depth: Int, _ valuesLeft: inout Int,
                                        _ out: inout [UInt8]) -> Bool {
        func items(_ run: RefRun, _ valuesLeft: inout Int, _ out: inout [UInt8]) -> Bool {
            var first = true
            for item in run {
                if !first { out.append(0x2C); out.append(0x20) }
                first = false
                if !appendDirect(t, item, depth: depth, &valuesLeft, &out) { return false }
            }
            return true
        }
        switch node.kind {
        case .list:
            out.append(0x5B)
            guard items(t.elements(of: node), &valuesLeft, &out) else { return false }
            out.append(0x5D)
        case .tuple:
            let run = t.tupleElements(node)
            out.append(0x28)
            guard items(run, &valuesLeft, &out) else { return false }
            if run.count == 1 { out.append(0x2C) }
            out.append(0x29)
        case .set, .frozenSet:
            let run = t.elements(of: node)
            let frozen = node.kind == .frozenSet
            if run.isEmpty { out.append(contentsOf: (frozen ? "frozenset()" : "set()").utf8); return true }
            out.append(contentsOf: (frozen ? "frozenset({" : "{").utf8)
            guard items(run, &valuesLeft, &out) else { return false }
            out.append(contentsOf: (frozen ? "})" : "}").utf8)
        default:  // dict
            let run = t.dictEntries(node)
            out.append(0x7B)
            var k = run.startIndex
            while k < run.endIndex {
                if k > run.startIndex { out.append(0x2C); out.append(0x20) }
                guard appendDirect(t, run[k], depth: depth, &valuesLeft, &out) else { return false }
                out.append(0x3A); out.append(0x20)
                guard appendDirect(t, run[k + 1], depth: depth, &valuesLeft, &out) else { return false }
                k += 2
            }
            out.append(0x7D)
        }
        return true
    }

    /// Appends an integer in decimal.
    private static func appendDecimal(_ value: Int64, _ out: inout [UInt8]) {
        if value < 0 { out.append(0x2D) }
        var magnitude = value.magnitude
        var digits = 1
        var power: UInt64 = 10
        while digits < 20 && magnitude >= power { digits += 1; power = power &* 10 }
        let start = out.count
        out.append(contentsOf: repeatElement(0x30, count: digits))
        out.withUnsafeMutableBufferPointer { buffer in
            var i = start + digits - 1
            repeat {
                buffer[i] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 0x30
                magnitude /= 10
                i -= 1
            } while magnitude > 0
        }
    }

    /// Appends a quoted literal of ASCII text (`isBytes` false: Python's `repr(str)`; false, having appended
    /// nothing, when the text has a byte above 0x7F) or of bytes (`isBytes`: the quoted part of `repr(bytes)`),
    /// with Python's quote choice and escapes (see ``PythonRepr/string(codePoints:)`` and
    /// ``PythonRepr/bytes(_:)``).
    private static func appendQuoted(_ raw: UnsafeRawBufferPointer, isBytes: Bool, _ out: inout [UInt8]) -> Bool {
        var hasSingle = false
        var hasDouble = false
        var plain = true  // printable ASCII other than a backslash only: copied as it is
        for c in raw {
            if c >= 0x80 && !isBytes { return false }
            if c == 0x27 { hasSingle = true } else if c == 0x22 { hasDouble = true }
            if c < 0x20 || c >= 0x7F || c == 0x5C { plain = false }
        }
        let quote: UInt8 = hasSingle && !hasDouble ? 0x22 : 0x27
        out.append(quote)
        if plain && !(hasSingle && hasDouble) {
            out.append(contentsOf: raw)
        } else {
            func hex(_ digit: UInt8) -> UInt8 { digit < 10 ? 0x30 &+ digit : 0x57 &+ digit }
            for c in raw {
                switch c {
                case quote, 0x5C: out.append(0x5C); out.append(c)
                case 0x09: out.append(0x5C); out.append(0x74)
                case 0x0A: out.append(0x5C); out.append(0x6E)
                case 0x0D: out.append(0x5C); out.append(0x72)
                case 0x20 ..< 0x7F: out.append(c)
                default:
                    out.append(0x5C); out.append(0x78)
                    out.append(hex(c >> 4)); out.append(hex(c & 15))
                }
            }
        }
        out.append(quote)
        return true
    }
}
