/// The built-in safe reconstructors: REDUCE calls of a few well-known callables become plain values
/// instead of inert objects, so users see a `set`, not a recipe for one.
///
/// Recognised (names after fix_imports mapping):
/// - `builtins.set(iterable)`, `builtins.frozenset(iterable)` (how protocols 0-3 write sets);
/// - `builtins.bytearray()`, `bytearray(bytes)`, `bytearray(str, 'latin-1')` (protocols 0-4);
/// - `builtins.bytes()` and `_codecs.encode(str, 'latin1')` (how protocols 0-2 write bytes);
/// - `copyreg._reconstructor(cls, object, None)` (how protocols 0-1 write plain class instances);
/// - `copyreg.__newobj__(cls, *args)` and `copyreg.__newobj_ex__(cls, args, kwargs)` (NEWOBJ and NEWOBJ_EX
///   as this library writes them below protocols 2 and 4).
/// Anything else, or these with arguments of other shapes, stays an inert ``ObjectConstructor/reduce``.
/// The pickler writes the values back the way CPython writes them at each protocol, and the objects so that
/// CPython runs the same code: `_reconstructor` as itself at every protocol (``ObjectConstructor/instance``).
enum Reconstructors {
    static func reduce(callable: PickleRef, args: PickleRef, _ b: inout GraphBuilder) -> PickleRef {
        if callable.isNode, b.t.nodes[callable.nodeIndex].kind == .global {
            let name = b.t.globals[b.t.nodes[callable.nodeIndex].a]
            let items = Array(b.t.tupleElements(b.t.nodes[args.nodeIndex]))
            if let value = known(name, items, &b) { return value }
        }
        return b.object(.reduce(callable: callable, args: args))
    }

    private static func known(_ name: GlobalName, _ args: [PickleRef], _ b: inout GraphBuilder) -> PickleRef? {
        switch (name.module, name.name) {
        case ("builtins", "set"), ("builtins", "frozenset"):
            let kind: NodeKind = name.name == "set" ? .set : .frozenSet
            if args.isEmpty { return b.set(kind) }
            guard args.count == 1, let items = elements(of: args[0], b) else { return nil }
            guard items.allSatisfy({ b.isHashableKey($0) }) else { return nil }
            return b.set(kind, items)
        case ("builtins", "bytearray"):
            if args.isEmpty { return b.payload(.byteArray, copying: UnsafeRawBufferPointer(start: nil, count: 0)) }
            if args.count == 1, let node = payloadNode(args[0], .bytes, b) {
                let bytes = b.t.payload(of: node)
                return node.external ? b.payload(.byteArray, sharing: bytes) : b.payload(.byteArray, Array(bytes))
            }
            if args.count == 2, isLatin1Name(args[1], b), let bytes = latin1Bytes(args[0], b) {
                return b.payload(.byteArray, bytes)
            }
            return nil
        case ("builtins", "bytes"):
            if args.isEmpty { return b.payload(.bytes, copying: UnsafeRawBufferPointer(start: nil, count: 0)) }
            return nil
        case ("_codecs", "encode"):
            guard args.count == 2, isLatin1Name(args[1], b), let bytes = latin1Bytes(args[0], b) else { return nil }
            return b.payload(.bytes, bytes)
        case ("copyreg", "__newobj__"):
            // copyreg.__newobj__(cls, *args): what NEWOBJ means, written for protocols 0 and 1.
            guard let cls = args.first, cls.isNode, [.global, .object].contains(b.t.nodes[cls.nodeIndex].kind) else { return nil }
            let rest = b.tuple(args.dropFirst())
            return b.object(.newObject(cls: cls, args: rest))
        case ("copyreg", "__newobj_ex__"):
            guard args.count == 3, args[0].isNode, [.global, .object].contains(b.t.nodes[args[0].nodeIndex].kind),
                  args[1].isNode, b.t.nodes[args[1].nodeIndex].kind == .tuple,
                  args[2].isNode, b.t.nodes[args[2].nodeIndex].kind == .dict else { return nil }
            return b.object(.newObjectEx(cls: args[0], args: args[1], kwargs: args[2]))
        case ("copyreg", "_reconstructor"):
            // The class must be able to be one (a global or an inert object), as NEWOBJ requires when the
            // instance is written at protocol 2 and above; anything else stays an inert REDUCE.
            guard args.count == 3, args[2] == .none, args[1].isNode,
                  args[0].isNode, [.global, .object].contains(b.t.nodes[args[0].nodeIndex].kind),
                  b.t.nodes[args[1].nodeIndex].kind == .global,
                  b.t.globals[b.t.nodes[args[1].nodeIndex].a] == GlobalName(module: "builtins", name: "object")
            else { return nil }
            return b.object(.instance(cls: args[0]))
        default:
            return nil
        }
    }

    private static func elements(of ref: PickleRef, _ b: GraphBuilder) -> [PickleRef]? {
        guard ref.isNode else { return nil }
        let node = b.t.nodes[ref.nodeIndex]
        switch node.kind {
        case .list, .set, .frozenSet: return Array(b.t.elements(of: node))
        case .tuple: return Array(b.t.tupleElements(node))
        default: return nil
        }
    }

    private static func payloadNode(_ ref: PickleRef, _ kind: NodeKind, _ b: GraphBuilder) -> Node? {
        guard ref.isNode, b.t.nodes[ref.nodeIndex].kind == kind else { return nil }
        return b.t.nodes[ref.nodeIndex]
    }

    private static func isLatin1Name(_ ref: PickleRef, _ b: GraphBuilder) -> Bool {
        guard let node = payloadNode(ref, .string, b) else { return false }
        let text = b.t.withPayload(of: node) { String(decoding: $0, as: UTF8.self) }.lowercased()
        return text == "latin1" || text == "latin-1" || text == "iso-8859-1" || text == "iso8859-1"
    }

    /// The code points of a str as bytes, if all are below 256.
    private static func latin1Bytes(_ ref: PickleRef, _ b: GraphBuilder) -> [UInt8]? {
        guard let node = payloadNode(ref, .string, b) else { return nil }
        return b.t.withPayload(of: node) { raw -> [UInt8]? in
            guard let points = PythonText.decodeUTF8SurrogatePass(raw) else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(points.count)
            for p in points {
                guard p < 256 else { return nil }
                out.append(UInt8(p))
            }
            return out
        }
    }
}
