/// One pickle as the scanner sees it: the graph the parser built (every node, reachable from the root or
/// not), the opcode offset of each node, and the structural events the graph cannot show.
struct PickleTrace {
    /// Something the stream did that a graph does not record.
    struct Event: Equatable {
        enum Kind: Equatable {
            /// A PROTO that is not the pickle's first opcode.
            case protoInsidePickle
            /// A FRAME in a pickle whose protocol (so far) is below 4.
            case frameBelowProtocol4
            /// A memo index stored again while it held a value (PUT, BINPUT, LONG_BINPUT or MEMOIZE): the
            /// later GETs see the new value, which scanners that track the memo by hand get wrong.
            case memoIndexRedefined(Int)
            /// BUILD, SETITEM(S), APPEND(S) or ADDITEMS applied to this global: the class, module or object
            /// it names changed in place.
            case globalMutated(PickleRef)
            /// A joblib array's bytes in the stream after its wrapper's BUILD, skipped as joblib's
            /// unpickler reads them: raw elements, or (`isPickle`) an object array's own pickle.
            case joblibArray(byteCount: Int, isPickle: Bool)
        }
        let offset: Int
        let kind: Kind
    }

    /// The graph: complete, or as far as the parser got before `error`.
    let graph: PickleGraph
    /// Whether the pickle reached its STOP.
    let isComplete: Bool
    /// For an incomplete pickle, the stack when the parser stopped (the failing opcode's operands among it).
    let stack: [PickleRef]
    /// The offset of the opcode that made each node, by node index.
    let nodeOffsets: [Int]
    let events: [Event]
    /// Where the parse ended: after the STOP, or at the failure.
    let end: Int
    let error: PickleError?

    /// The offset of the opcode that made the value `ref` (nil for inline values).
    func offset(of ref: PickleRef) -> Int? {
        guard ref.isNode, ref.nodeIndex < nodeOffsets.count else { return nil }
        return nodeOffsets[ref.nodeIndex]
    }
}
