#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The push parser: a resumable state machine that turns bytes into decoded pickles.
///
/// Feed it byte chunks of any size, split anywhere (one byte at a time included), with ``feed(_:into:)-(ArraySlice<UInt8>,_)``;
/// each pickle comes out as a ``PickleGraph`` the moment its STOP byte arrives. Call ``finish()`` at the end
/// of input to learn whether the stream ended cleanly. Bytes after a STOP begin the next pickle.
///
/// Work is linear in the input whatever the chunking: an opcode split across chunks is carried over once
/// (a payload that lies inside one chunk is kept as a slice of it, not copied), and no byte is scanned twice.
/// The one-shot ``Unpickler/loads(_:options:hooks:buffers:)-([UInt8],_,_,_)`` is this machine fed once.
///
/// Frames (protocol 4) are strict, as the pure-Python unpickler and current CPython: an opcode may not cross
/// the end of its frame, and a FRAME may not begin before the previous frame ends.
public struct PickleParser: Sendable {
    /// The options in force.
    public private(set) var options: UnpicklerOptions
    /// The hooks in force.
    public private(set) var hooks: UnpicklerHooks

    /// The absolute stream offset of the next byte to be fed.
    public private(set) var offset = 0
    /// How many pickles have been completed.
    public private(set) var completedCount = 0
    /// The stream offset just past the STOP of the last completed pickle (0 before the first): where an
    /// unfinished pickle, such as the torn tail of a log, begins.
    public private(set) var lastCompleteOffset = 0

    // Partial opcode carried over from the previous chunk: stream bytes [offset - carry.count, offset).
    private var carry: [UInt8] = []
    private var carryScanned = 0
    /// Newlines in `carry[1 ..< carryScanned]`: a line argument arriving in pieces is scanned once.
    private var carryNewlines = 0
    /// The carried opcode's full length once its bytes so far tell it (0 until then, and for line
    /// arguments): later chunks that still do not complete it are appended without re-examining it.
    private var carryLength = 0
    /// Whether ``carryLength`` is the opcode's whole length (not just a lower bound from a partial header).
    private var carryLengthIsExact = false
    /// The stream offset up to which the input's length was announced (``reserve(forInputSize:)``: a regular
    /// file's size). A carried payload that ends within it is reserved whole at once, since its bytes are
    /// known to exist; beyond it a declared length is never allocated ahead of the bytes that arrive.
    private var announcedInputEnd = 0

    /// Referenced by this parser alone unless the parser was copied (see ``makeStorageUnique()``).
    private var copyToken = CopyToken()

    // Per-pickle state.
    var builder = GraphBuilder()
    private var stack = FlatBuffer<PickleRef>(capacity: 0)
    private var marks = FlatBuffer<Int>(capacity: 0)
    private var memo: Memo
    private var proto = 0
    private var frameEnd = -1
    /// What the current pickle (in session mode, the stream) had decoded at the last ``refillBudget(_:_:)``,
    /// as counted by ``UnpicklerLimits/maxDecodedBytes``.
    private var decodedBytes = 0
    /// Bytes that may still be decoded before the limits are checked again: every push takes 16 and every
    /// payload its size, so the hot path is one subtraction and one branch. The budget never exceeds what is
    /// left of ``UnpicklerLimits/maxDecodedBytes``, nor 16 bytes per stack slot left under
    /// ``UnpicklerLimits/maxStackDepth``, so neither limit is passed between checks.
    private var budget = 0
    /// The budget as ``refillBudget(_:_:)`` last granted it.
    private var grantedBudget = 0
    private var inPickle = false
    /// Set by the opcodes that change what bounds the next opcode (FRAME, STOP), so the hot loop in
    /// ``consume(_:_:)`` re-reads the frame only then.
    private var controlChanged = false
    /// The size of the current pickle at which ``anticipateGrowth()`` next reserves.
    private var anticipatedSize = PickleParser.firstAnticipation
    private static let firstAnticipation = 256 * 1024

    // Out-of-band buffers (protocol 5).
    private var buffers: [OutOfBandBuffer]?
    private var nextBufferIndex = 0

    // Session memo: graphs of earlier pickles, by generation, and copies made of their nodes in this pickle.
    private var generation: UInt32 = 0
    private var sessionGraphs: [PickleGraph] = []
    private var importMaps: [UInt32: [Int: PickleRef]] = [:]

    private var failure: PickleError? { didSet { hasFailed = failure != nil } }
    /// Whether ``failure`` is set: a cheaper check on every feed than unwrapping the error.
    private var hasFailed = false

    /// When set, ``feed(_:into:)-(ArraySlice<UInt8>,_)`` stops right after a STOP and leaves the rest of the chunk unread
    /// (``offset`` tells how far it got). `loads` uses this to ignore trailing bytes, as CPython does.
    public var haltsAfterPickle = false

    /// Set by ``decodeFirstPickle(ofWhole:scratch:)``: the pickle's graph goes to ``oneShotGraph``, not to the
    /// output array (appending to an array and taking the graph out again cost ~40 instructions a call).
    private var decodesOneShot = false
    /// The graph of a one-shot decode, from its STOP until ``decodeFirstPickle(ofWhole:scratch:)`` returns it.
    private var oneShotGraph: PickleGraph?

    /// When ``recordsNodeOffsets`` is set, the stream offset of the opcode that made each node, by node index (for the messages
    /// of a failed typed decode, which parses again to find them; see ``nodeOffsets(ofFirstPickleIn:options:buffers:)``).
    private var recordedNodeOffsets: [Int] = []
    private var recordsNodeOffsets = false

    /// Set for the scanner (``trace(firstPickleIn:options:)``, on a parser made for one scan and never pooled):
    /// what the stream does that the graph cannot show, recorded before each opcode runs.
    private var structureEvents: [PickleTrace.Event]?
    /// For the scanner: bytes of a joblib array that come next in the stream, outside the opcodes.
    private var pendingRawRegion: RawRegion?
    /// For the scanner: read the stream as `joblib.load` does (arrays after their wrappers' BUILD) rather
    /// than as `pickle.load` does.
    private var readsJoblibArrays = false

    enum RawRegion {
        /// The elements, after a padding byte and that many bytes of padding when `padded`.
        case elements(byteCount: Int, padded: Bool)
        /// An object array: a whole pickle of its own.
        case pickle
    }

    /// Gives the nodes the opcode at `position` made its offset.
    @inline(never)
    private mutating func recordNodeOffsets(at position: Int) {
        while recordedNodeOffsets.count < builder.t.nodes.count { recordedNodeOffsets.append(position) }
    }

    /// Creates a parser.
    /// - Parameters:
    ///   - options: encoding, memo mode, limits.
    ///   - hooks: `find_class` and `persistent_load` counterparts.
    ///   - buffers: out-of-band buffers for NEXT_BUFFER, consumed in order across the stream; `nil` makes
    ///     NEXT_BUFFER an error, as CPython without `buffers=`.
    public init(options: UnpicklerOptions = UnpicklerOptions(), hooks: UnpicklerHooks = UnpicklerHooks(),
                buffers: [OutOfBandBuffer]? = nil) {
        self.options = options
        self.hooks = hooks
        self.buffers = buffers
        self.memo = Memo(tracksGenerations: options.memoMode == .session)
    }

    // MARK: - Reuse

    /// Whether ``reuse(options:hooks:)`` may take this parser: it stopped cleanly after one
    /// pickle, per-pickle memo (no state left but storage), and its buffers are of a size worth keeping.
    var isReusable: Bool {
        !hasFailed && !inPickle && carry.isEmpty && completedCount == 1 && options.memoMode == .perPickle
            && stack.capacity <= PickleParser.reusedCapacity && marks.capacity <= PickleParser.reusedCapacity
            && memo.denseCapacity <= PickleParser.reusedCapacity && carry.capacity <= PickleParser.reusedCapacity
            && builder.retainsSmallArenas
    }

    /// Drops what the caller handed in (its hook closures; its out-of-band buffers are let go by
    /// ``returnLentBuffers()`` first), so a parser kept for reuse holds none of it: a pooled
    /// parser would otherwise keep a caller's buffers, however large, alive until the next call.
    mutating func releaseCallerValues() {
        if hooks.findClass != nil || hooks.persistentLoad != nil { hooks = UnpicklerHooks() }
    }

    /// Gives the parser the caller's `buffers` for one one-shot decode; ``returnLentBuffers()`` lets them go
    /// before the parser is kept, freed or given other buffers. The parser must have none (`buffers` nil).
    mutating func lendBuffers(_ lent: [OutOfBandBuffer]?) {
        assert(buffers == nil, "lending buffers to a parser that has some")
        buffers = lent
    }

    /// Lets go of the buffers ``lendBuffers(_:)`` gave, so that a kept parser holds none of the caller's.
    mutating func returnLentBuffers() {
        buffers = nil
    }

    /// The most elements (or carried bytes) a buffer of a reused parser may have room for.
    private static let reusedCapacity = 4096

    /// Makes a parser that ``isReusable`` the equal of `PickleParser(options:hooks:)`, keeping the
    /// storage of its stack, memo and arenas. Every stored property is set here or is already as a new
    /// parser has it after one clean pickle (a test lists them, so a new one cannot be forgotten).
    mutating func reuse(options: UnpicklerOptions, hooks: UnpicklerHooks) {
        assert(options.memoMode == .perPickle, "only a per-pickle parser is reused")
        // The usual call passes the options and hooks the parser has (the defaults): assigning those anew would
        // copy a struct of a dozen fields and retain and release what it holds, per call.
        if !self.options.isPlainlyEqual(to: options) {
            self.options = options
            grantFirstBudget()  // the one the last pickle left was for the old limits
        }
        reuseKeepingOptions()
        // A pooled parser has no hooks left (``releaseCallerValues()``): only new ones need assigning.
        if hooks.findClass != nil || hooks.persistentLoad != nil { self.hooks = hooks }
    }

    /// ``reuse(options:hooks:)`` for a parser whose options are to stay as they are, and which gets no hooks.
    mutating func reuseKeepingOptions() {
        assert(isReusable, "only a parser that finished one pickle cleanly is reused")
        assert(hooks.findClass == nil && hooks.persistentLoad == nil, "a pooled parser kept its caller's hooks")
        // `buffers` is nil (``releaseCallerValues()``); the one-shot decode lends it (``lendBuffers(_:)``).
        nextBufferIndex = 0
        offset = 0
        completedCount = 0
        lastCompleteOffset = 0
        memoEntryCountAtLastComplete = 0
        announcedInputEnd = 0
        carryScanned = 0
        carryNewlines = 0
        carryLength = 0
        carryLengthIsExact = false
        controlChanged = false
        haltsAfterPickle = false
        decodesOneShot = false
        // After a clean pickle these are as new already: the stack, marks, memo and frame were reset by
        // `completePickle`, which also granted the next pickle's first budget (granted again above if the
        // limits changed), and the builder's tables were taken.
    }

    /// MEMOIZE stores at the entry count: below this, neither ``UnpicklerLimits/maxMemoEntries`` nor
    /// ``UnpicklerLimits/maxMemoIndex`` can be passed.
    private var memoEntryLimit: Int { min(options.limits.maxMemoEntries, options.limits.maxMemoIndex) }

    /// Whether the parser is between pickles (no byte of an unfinished pickle has been fed).
    public var isAtPickleBoundary: Bool { !inPickle && carry.isEmpty }

    /// The number of entries in the memo (CPython's `len(memo)`, where the next MEMOIZE stores). In session
    /// mode this is what a writer appending to the stream must continue numbering from.
    public var memoEntryCount: Int { memo.count }
    /// ``memoEntryCount`` as it was right after the last completed pickle (entries an unfinished pickle
    /// added are not counted).
    public private(set) var memoEntryCountAtLastComplete = 0

    /// Sizes the arenas of the next pickle for an input of `byteCount` bytes (one-shot decoding knows it).
    mutating func reserve(forInputSize byteCount: Int) {
        builder.reserve(forInputSize: byteCount)
        announcedInputEnd = max(announcedInputEnd, offset + byteCount)
        // The arenas already fit this much input: grow ahead only if the pickle turns out larger.
        anticipatedSize = max(anticipatedSize, byteCount)
    }

    /// A pickle fed in chunks does not announce its size, so its arenas would grow by doubling, copying
    /// and faulting in fresh memory at every step. When the pickle's bytes so far pass the threshold (first
    /// 256 KiB), the arenas are reserved for sixteen times that much input at once (address space, not
    /// memory: untouched capacity costs no pages), and the next threshold is that input size: a pickle
    /// reserves again only once it outgrows the last reservation. (Reserving again at eight times, before
    /// the last reservation was used up, made a 4.3 MiB pickle in 64 KiB chunks take 9,600 page faults per
    /// decode instead of 3,000, and 1.6x the time of decoding it whole instead of about 1.0x.)
    private mutating func anticipateGrowth() {
        let soFar = offset - lastCompleteOffset
        builder.reserve(forInputSize: soFar * 16)
        anticipatedSize = soFar * 16
    }

    /// Adds out-of-band buffers for later NEXT_BUFFER opcodes.
    public mutating func supplyBuffers(_ more: [OutOfBandBuffer]) {
        buffers = (buffers ?? []) + more
    }

    // MARK: - Feeding

    /// Feeds the next chunk of the stream.
    ///
    /// - Parameters:
    ///   - chunk: the next bytes, any size (empty is allowed). Payloads that lie inside it may be kept as
    ///     slices of it.
    ///   - output: completed pickles are appended here, in order. Pickles completed before an error are
    ///     appended before the error is thrown.
    /// - Throws: ``PickleError`` for malformed input. After an error the parser stays failed.
    public mutating func feed(_ chunk: ArraySlice<UInt8>, into output: inout [PickleGraph]) throws {
        if hasFailed, let failure { throw failure }
        if inPickle && offset - lastCompleteOffset >= anticipatedSize { anticipateGrowth() }
        if carryLength > carry.count + chunk.count {
            // Still inside the carried opcode (small chunks, or a payload arriving piece by piece).
            appendToCarry(chunk)
            offset += chunk.count
            return
        }
        if chunk.count == 1 && carry.isEmpty && !haltsAfterPickle && carryOpening(chunk[chunk.startIndex]) { return }
        // Only running opcodes writes the stack, memo and nodes (the carry paths above do not).
        makeStorageUnique()
        do {
            if carry.isEmpty {
                if !chunk.isEmpty && !(haltsAfterPickle && !output.isEmpty && !inPickle) { try consume(chunk, &output) }
                return
            }
            let rest = try resumeCarry(chunk, &output)
            if !carry.isEmpty { return }
            if !rest.isEmpty && !(haltsAfterPickle && !output.isEmpty && !inPickle) { try consume(rest, &output) }
        } catch let error as PickleError {
            failure = error
            throw error
        }
    }

    /// Decodes the first pickle of `bytes`, a whole input, and stops after its STOP
    /// (``Unpickler/loads(_:options:hooks:buffers:)``). For a new or reused parser that has been fed nothing:
    /// ``feed(_:into:)-(ArraySlice<UInt8>,_)`` without its checks for an earlier failure and carried bytes, which such a parser
    /// cannot have.
    /// - Parameter scratch: an empty array, left empty (the opcode loop's output, unused here).
    /// - Returns: the pickle's graph, or nil if the input ends inside it (left as ``feed(_:into:)-(ArraySlice<UInt8>,_)`` leaves
    ///   it: ``finish()`` reports it).
    mutating func decodeFirstPickle(ofWhole bytes: ArraySlice<UInt8>, scratch: inout [PickleGraph]) throws -> PickleGraph? {
        assert(offset == 0 && carry.isEmpty && !hasFailed && completedCount == 0, "a parser that was fed before")
        haltsAfterPickle = true
        decodesOneShot = true
        // The arenas only: the input's end and the next anticipation matter to chunks fed later, and none are.
        builder.reserve(forInputSize: bytes.count)
        makeStorageUnique()
        do {
            if !bytes.isEmpty { try consume(bytes, &scratch) }
        } catch let error as PickleError {
            failure = error
            throw error
        }
        var graph: PickleGraph? = nil
        swap(&graph, &oneShotGraph)
        return graph
    }

    /// The stream offset of the opcode that made each node of the first pickle of `bytes`, by node index
    /// (the graph `Unpickler.loads` gives for the same bytes and options numbers its nodes the same way);
    /// nil if the bytes do not decode. A second parse, for messages only: the decoding path pays nothing.
    static func nodeOffsets(ofFirstPickleIn bytes: ArraySlice<UInt8>, options: UnpicklerOptions,
                            buffers: [OutOfBandBuffer]? = nil) -> [Int]? {
        var parser = PickleParser(options: options, buffers: buffers)
        parser.recordsNodeOffsets = true
        var scratch: [PickleGraph] = []
        guard (try? parser.decodeFirstPickle(ofWhole: bytes, scratch: &scratch)) != nil else { return nil }
        return parser.recordedNodeOffsets
    }

    /// The first pickle of `bytes` parsed for the scanner: its graph with every node's opcode offset and
    /// the structural events, or, when the bytes do not decode, the graph as far as it got, with the stack
    /// and the error (what CPython would have run before failing there). Offsets are from `bytes`' start.
    /// - Parameter readsJoblibArrays: read it as `joblib.load` reads it: after each BUILD of a
    ///   `NumpyArrayWrapper`, the array's bytes lie in the stream and are skipped.
    static func trace(firstPickleIn bytes: ArraySlice<UInt8>, options: UnpicklerOptions, readsJoblibArrays: Bool = false) -> PickleTrace {
        var parser = PickleParser(options: options)
        parser.recordsNodeOffsets = true
        parser.structureEvents = []
        parser.readsJoblibArrays = readsJoblibArrays
        var scratch: [PickleGraph] = []
        let failure: PickleError
        do {
            if let graph = try parser.decodeFirstPickle(ofWhole: bytes, scratch: &scratch) {
                return PickleTrace(graph: graph, isComplete: true, stack: [], nodeOffsets: parser.recordedNodeOffsets,
                                   events: parser.structureEvents ?? [], end: parser.offset, error: nil)
            }
            try parser.finish()
            failure = PickleError(.truncated, offset: parser.offset, "pickle exhausted before seeing STOP")
        } catch let error as PickleError {
            failure = error
        } catch {
            failure = PickleError(.truncated, offset: parser.offset, "\(error)")
        }
        // The nodes of the opcode that failed get its offset; the graph keeps every node made so far.
        parser.recordNodeOffsets(at: failure.offset)
        let stack = Array(parser.stack)
        let graph = parser.builder.finishGraph(root: .none)
        return PickleTrace(graph: graph, isComplete: false, stack: stack, nodeOffsets: parser.recordedNodeOffsets,
                           events: parser.structureEvents ?? [], end: failure.offset, error: failure)
    }

    /// The names `joblib.load` knows its array wrapper by (the `sklearn.externals` copy included).
    static let joblibWrapperNames: Set<String> = ["joblib.numpy_pickle.NumpyArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper"]

    /// For the scanner reading as `joblib.load` does: after a BUILD of a `NumpyArrayWrapper` (whatever its
    /// name's spelling), joblib reads the array from the stream itself (a padding byte and its padding when
    /// the wrapper names an alignment, then the elements; or, for an object array, a whole pickle read by a
    /// plain unpickler), and the opcodes go on after it. The parse skips the same bytes. What joblib would
    /// read that this cannot tell the size of (a dtype or shape it does not recognise, a structured dtype,
    /// a second BUILD, a BUILD inside a frame, whose array joblib reads from after the frame) ends the parse
    /// with an error, so that the scan fails closed.
    private mutating func noteJoblibArray(_ target: PickleRef, _ position: Int) throws {
        let t = builder.t
        let record = t.objects[t.nodes[target.nodeIndex].a]
        let cls: PickleRef
        switch record.constructor {
        case .reduce(let c, _), .newObject(let c, _), .newObjectEx(let c, _, _), .instance(let c), .inst(let c, _), .obj(let c, _): cls = c
        case .persistent, .ext: return
        }
        guard cls.isNode, t.nodes[cls.nodeIndex].kind == .global, case let name = t.globals[t.nodes[cls.nodeIndex].a],
              Self.joblibWrapperNames.contains("\(name.module).\(name.name)") else { return }
        func unsupported(_ why: String) -> PickleError {
            PickleError(.invalidArgument, offset: position, opcode: .build, "a joblib array wrapper \(why): where joblib.load reads its array cannot be told")
        }
        let builds = record.operations.compactMap { operation -> PickleRef? in if case .build(let state) = operation { return state } else { return nil } }
        guard builds.count == 1 else { throw unsupported("built twice") }
        guard frameEnd < 0 || frameEnd == position + 1 else { throw unsupported("built inside a frame") }
        // The wrapper's attributes: a state dict, or (dict or None, slots dict or None).
        var fields: [String: PickleRef] = [:]
        func take(_ dict: PickleRef) throws {
            guard dict != .none else { return }
            guard dict.isNode, t.nodes[dict.nodeIndex].kind == .dict else { throw unsupported("with a state that is not a dict") }
            let entries = Array(t.dictEntries(t.nodes[dict.nodeIndex]))
            for k in stride(from: 0, to: entries.count - 1, by: 2) {
                guard let key = t.bytesOrLatin1(entries[k]).map({ String(decoding: $0, as: UTF8.self) }) ?? t.stringValue(entries[k]) else {
                    throw unsupported("with an attribute name that is not a string")
                }
                fields[key] = entries[k + 1]
            }
        }
        if let pair = t.tupleItems(builds[0]), pair.count == 2 {
            try take(pair[0])
            try take(pair[1])
        } else {
            try take(builds[0])
        }
        guard let dtypeRef = fields["dtype"], let dtype = NumpyDType.recognize(t, dtypeRef, depth: 0) else { throw unsupported("of a dtype not recognised") }
        guard dtype.fields == nil, dtype.subarray == nil else { throw unsupported("of a structured dtype") }
        guard NumpyDType.flagsAgree(t, dtypeRef, with: dtype) else { throw unsupported("whose dtype's flags deny what it holds") }
        guard let shapeRef = fields["shape"], let dims = t.tupleItems(shapeRef) else { throw unsupported("without a shape tuple") }
        var count = 1
        for dim in dims {
            guard let n = t.intValue(dim), n >= 0, case let (product, overflow) = count.multipliedReportingOverflow(by: n), !overflow else {
                throw unsupported("with a shape that is not of ints of at least 0")
            }
            count = product
        }
        let (size, overflow) = count.multipliedReportingOverflow(by: dtype.itemSize)
        guard !overflow else { throw unsupported("whose shape overflows") }
        let aligned = fields["numpy_array_alignment_bytes"].map { $0 != .none } ?? false
        pendingRawRegion = dtype.kind == .object ? .pickle : .elements(byteCount: size, padded: aligned)
    }

    /// Skips a joblib array's bytes at `i` (the scanner parses whole inputs, so they are all in `p`) and
    /// records them; returns how many. An object array's pickle is measured by a plain parse, as joblib
    /// reads it with a plain unpickler.
    private mutating func skipRawRegion(_ region: RawRegion, _ p: UnsafeRawBufferPointer, _ i: Int, _ position: Int) throws -> Int {
        let length: Int
        switch region {
        case .elements(let byteCount, let padded):
            let padding = padded ? (i < p.count ? 1 + Int(byte(p, i)) : 1) : 0
            length = padding + byteCount
        case .pickle:
            let inner = PickleParser.trace(firstPickleIn: ArraySlice(UnsafeRawBufferPointer(rebasing: p[i...])), options: options)
            guard inner.isComplete else {
                throw PickleError(.invalidArgument, offset: position, "a joblib object array's pickle that does not read to its STOP")
            }
            length = inner.end
        }
        guard length <= p.count - i else {
            throw PickleError(.truncated, offset: position, "the stream ends inside joblib array data of \(length) bytes")
        }
        structureEvents?.append(PickleTrace.Event(offset: position, kind: .joblibArray(byteCount: length, isPickle: { if case .pickle = region { return true } else { return false } }())))
        return length
    }

    /// Records what the opcode at `i` will do that the scanner reports and the graph cannot show: a PROTO
    /// that does not open its pickle, a FRAME below protocol 4, a memo index stored twice.
    @inline(never)
    private mutating func noteStructure(_ p: UnsafeRawBufferPointer, _ i: Int, _ end: Int, _ position: Int) {
        let code = byte(p, i)
        var index: Int?
        switch code {
        case 0x80 where position != lastCompleteOffset:
            structureEvents?.append(PickleTrace.Event(offset: position, kind: .protoInsidePickle))
        case 0x95 where proto < 4:
            structureEvents?.append(PickleTrace.Event(offset: position, kind: .frameBelowProtocol4))
        case 0x71 where end - i >= 2: index = Int(byte(p, i + 1))
        case 0x72 where end - i >= 5: index = Int(readLE(p, i + 1, 4))
        case 0x94: index = memo.count
        case 0x70:
            if let newline = findNewline(p, i + 1, end) { index = Int(String(decoding: bytes(p, i + 1, newline), as: UTF8.self)) }
        default: break
        }
        if let index, let entry = memo.get(index), entry.generation == generation {
            structureEvents?.append(PickleTrace.Event(offset: position, kind: .memoIndexRedefined(index)))
        }
    }

    /// Feeds the next chunk of the stream. See ``feed(_:into:)-(ArraySlice<UInt8>,_)``.
    public mutating func feed(_ chunk: [UInt8], into output: inout [PickleGraph]) throws {
        try feed(chunk[...], into: &output)
    }

    /// Gives the stack, memo and graph arenas their own storage if this parser was copied (``FlatBuffer``
    /// checks uniqueness here, on entry, rather than on every push). One check covers them all: the buffers
    /// are shared only with a copy of this parser, and a copy shares ``copyToken`` too. The token is replaced
    /// last, so a copy fed on another thread meanwhile still sees it shared (and copies too) until this
    /// parser no longer reads the storage they shared.
    @inline(__always)
    private mutating func makeStorageUnique() {
        if isKnownUniquelyReferenced(&copyToken) { return }
        stack.makeUnique()
        marks.makeUnique()
        memo.makeUnique()
        builder.makeUnique()
        copyToken = CopyToken()
    }

    /// Declares the end of input.
    /// - Throws: ``PickleError/Code/endOfInput`` if the stream ended between opcodes of an unfinished
    ///   pickle, ``PickleError/Code/truncated`` if it ended inside an opcode. A stream that ends exactly after
    ///   a STOP (or is empty) finishes cleanly.
    public mutating func finish() throws {
        if let failure { throw failure }
        if !carry.isEmpty {
            let position = offset - carry.count
            let op = Opcode(rawValue: carry[0])
            let error = PickleError(.truncated, offset: position, opcode: op,
                                    "pickle data was truncated: the input ended inside this opcode (\(carry.count) of its bytes arrived)\(unfinishedPickleNote)")
            failure = error
            throw error
        }
        if frameEnd > offset {
            let error = PickleError(.truncated, offset: offset, opcode: nil,
                                    "pickle data was truncated: the input ended \(frameEnd - offset) bytes before the end of the current frame\(unfinishedPickleNote)")
            failure = error
            throw error
        }
        if inPickle {
            let error = PickleError(.endOfInput, offset: offset, "ran out of input: the stream ended before the STOP of the pickle\(unfinishedPickleNote)")
            failure = error
            throw error
        }
    }

    /// Where the unfinished pickle began, for the messages of a stream that ends inside one.
    private var unfinishedPickleNote: String {
        "; the unfinished pickle began at offset \(lastCompleteOffset), after \(completedCount) complete pickle\(completedCount == 1 ? "" : "s")"
    }

    // MARK: - Chunk processing

    /// Runs whole opcodes from `chunk`; stashes a trailing partial opcode in `carry`.
    private mutating func consume(_ chunk: ArraySlice<UInt8>, _ out: inout [PickleGraph]) throws {
        // The closure only forwards: the opcodes run in a method whose `self` is a plain `inout`. Written
        // inside the closure (which captures `self`), every call of a non-mutating method copied the whole
        // parser (808 bytes) to the stack first, as on each STOP.
        try chunk.withUnsafeBytes { p in try consume(p, chunk, &out) }
    }

    /// ``consume(_:_:)`` on the bytes of `chunk`, `p`.
    private mutating func consume(_ p: UnsafeRawBufferPointer, _ chunk: ArraySlice<UInt8>, _ out: inout [PickleGraph]) throws {
        let n = p.count
        let base = offset  // the stream offset of p[0]
        var i = 0
        defer { offset = base + i }
        while i < n {
            var end = n
            if frameEnd >= 0 {
                if base + i >= frameEnd { frameEnd = -1 } else { end = min(n, frameEnd - base) }
            }
            inPickle = true
            controlChanged = false
            // The hot loop: opcodes of one frame (or of the chunk) until one is incomplete or a FRAME or
            // STOP changes what bounds the next.
            var used = 0
            // Recording node offsets, one opcode per pass of the outer loop (nothing added to this one).
            let opcodeStart = i
            let lastStart = recordsNodeOffsets ? i + 1 : end
            // The scanner's work (structure events, joblib arrays) sits behind the offsets flag, which a
            // decode has off: no optional is read on its path.
            if recordsNodeOffsets && structureEvents != nil { noteStructure(p, i, end, base + i) }
            repeat {
                used = try step(p, i, end, chunk, base + i, &out)
                i += used
            } while used != 0 && i < lastStart && !controlChanged
            if recordsNodeOffsets {
                recordNodeOffsets(at: base + opcodeStart)
                if let region = pendingRawRegion {
                    pendingRawRegion = nil
                    i += try skipRawRegion(region, p, i, base + i)
                }
            }
            if used == 0 {
                let position = base + i
                if end < n {
                    throw frameError(at: position, opcode: Opcode(rawValue: byte(p, i)))
                }
                appendToCarry(bytes(p, i, n))
                carryScanned = 1
                i = n
                // Its full length, when its bytes so far tell it and it fits its frame: the next chunks
                // then complete it without re-examining it.
                let need = try carryExtent(position)
                // An opcode whose known length already crosses its frame is an error now, as it is when
                // later chunks complete the length (the outcome must not depend on the chunking).
                if frameEnd >= 0 && position + need.length > frameEnd {
                    throw frameError(at: position, opcode: Opcode(rawValue: carry[0]))
                }
                if !need.isLine && !need.complete {
                    carryLength = need.length
                    carryLengthIsExact = need.exact
                    reserveAnnouncedCarry(position)
                }
                return
            }
            if haltsAfterPickle && !inPickle { return }
        }
    }

    /// Completes the carried partial opcode from the start of `chunk`, runs it, and returns the rest of
    /// `chunk`. If `chunk` still does not complete it, everything is carried and the result is empty.
    private mutating func resumeCarry(_ chunk: ArraySlice<UInt8>, _ out: inout [PickleGraph]) throws -> ArraySlice<UInt8> {
        let position = offset - carry.count
        var rest = chunk
        if carryLengthIsExact {
            // The whole length is known and fits the frame; the feed's fast path has established that
            // `chunk` completes it.
            let take = carryLength - carry.count
            appendToCarry(rest.prefix(take))
            rest = rest.dropFirst(take)
            offset += take
        } else {
            while true {
                let need = try carryExtent(position)
                if frameEnd >= 0 && position + need.length > frameEnd {
                    throw frameError(at: position, opcode: Opcode(rawValue: carry[0]))
                }
                if need.complete { break }
                if !need.isLine {
                    carryLength = need.length
                    carryLengthIsExact = need.exact
                    reserveAnnouncedCarry(position)
                }
                if rest.isEmpty { return rest }
                var take: Int
                if need.isLine {
                    if let nl = rest.firstIndex(of: 0x0A) { take = nl - rest.startIndex + 1 } else { take = rest.count }
                } else {
                    take = min(rest.count, need.length - carry.count)
                }
                if frameEnd >= 0 { take = min(take, frameEnd - offset) }
                if take <= 0 { throw frameError(at: position, opcode: Opcode(rawValue: carry[0])) }
                // Reserve the whole opcode only when this chunk completes it: a declared length is never
                // allocated ahead of the bytes that arrive (appending grows the carry geometrically).
                if !need.isLine && need.length > carry.capacity && need.length - carry.count <= rest.count {
                    carry.reserveCapacityForBulkWrite(need.length)
                }
                appendToCarry(rest.prefix(take))
                rest = rest.dropFirst(take)
                offset += take
            }
        }
        var owned: [UInt8] = []
        swap(&owned, &carry)
        carryScanned = 0
        carryNewlines = 0
        carryLength = 0
        carryLengthIsExact = false
        let used = try owned.withUnsafeBytes { p in
            try step(p, 0, p.count, owned[...], position, &out)
        }
        // The carried bytes are exactly one opcode (carryExtent measured it); should the parse ever disagree,
        // the stream fails with an error instead of the process trapping.
        guard used == owned.count else {
            throw PickleError(.invalidArgument, offset: position, opcode: Opcode(rawValue: owned[0]),
                              "the opcode's argument was measured as \(owned.count) bytes but parses as \(used)")
        }
        // Keep a small carry buffer for the next split opcode (one allocation less per opcode when the
        // input comes in tiny chunks); a payload slice may still share it, and then appending copies.
        if owned.capacity <= 4096 {
            owned.removeAll(keepingCapacity: true)
            carry = owned
        }
        return rest
    }

    /// Reserves the carried opcode whole when its exact length is known and its bytes lie within the announced
    /// input (a large payload read from a file then lands in one buffer, instead of being copied at every
    /// doubling of the carry).
    private mutating func reserveAnnouncedCarry(_ position: Int) {
        if carryLengthIsExact && carryLength > carry.capacity && position + carryLength <= announcedInputEnd {
            carry.reserveCapacityForBulkWrite(carryLength)
        }
    }

    /// For each byte, how a one-byte chunk that begins that opcode is carried without being examined: 0 to
    /// run it normally (no argument, a text argument, not an opcode); n > 0 for a fixed length n; -n for a
    /// counted argument whose opcode and length header take n bytes (a lower bound).
    private static let openingLengths: [Int8] = (0 ... 255).map { byte in
        guard let op = Opcode(rawValue: UInt8(byte)) else { return 0 }
        switch op.argument {
        case .fixed(let size): return Int8(1 + size)
        case .counted(let headerSize, _): return Int8(-(1 + headerSize))
        case .none, .line, .twoLines: return 0
        }
    }

    /// A one-byte chunk that begins an opcode with an argument (input trickling a byte at a time): carried
    /// with its length straight from ``openingLengths``, as `consume` would carry it after examining it.
    /// - Returns: whether the byte was carried.
    @inline(__always)
    private mutating func carryOpening(_ byte: UInt8) -> Bool {
        let code = PickleParser.openingLengths[Int(byte)]
        if code == 0 { return false }
        let length = Int(code.magnitude)
        if frameEnd >= 0 && offset >= frameEnd { frameEnd = -1 }
        if frameEnd >= 0 && offset + length > frameEnd { return false }  // crosses its frame: the slow path reports it
        inPickle = true
        carry.append(byte)
        carryScanned = 1
        carryLength = length
        carryLengthIsExact = code > 0
        offset += 1
        return true
    }

    /// Appends to the carried opcode: byte by byte for the tiny pieces of a trickling stream (cheaper than a
    /// bulk copy's set-up), in bulk otherwise.
    @inline(__always)
    private mutating func appendToCarry(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count <= 8 {
            for b in bytes { carry.append(b) }
        } else {
            let needed = carry.count + bytes.count
            if needed > carry.capacity && needed >= LargeReservation.threshold {
                // Grow geometrically as append would, with the fresh pages advised for one long copy.
                carry.reserveCapacityForBulkWrite(Swift.max(needed, 2 * carry.capacity))
            }
            carry.append(contentsOf: bytes)
        }
    }

    @inline(__always)
    private mutating func appendToCarry(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { appendToCarry($0) }
    }

    private struct Extent {
        var length: Int
        var complete: Bool
        var isLine: Bool
        /// `length` is the whole opcode's length (false while a counted opcode's length header is partial).
        var exact = true
    }

    /// How long the carried opcode is, as far as its bytes so far tell.
    private mutating func carryExtent(_ position: Int) throws -> Extent {
        let have = carry.count
        guard let op = Opcode(rawValue: carry[0]) else {
            throw PickleError(.invalidOpcode, offset: position, "invalid load key \(hexByte(carry[0])): not an opcode")
        }
        switch op.argument {
        case .none:
            return Extent(length: 1, complete: true, isLine: false)
        case .fixed(let size):
            return Extent(length: 1 + size, complete: have >= 1 + size, isLine: false)
        case .counted(let headerSize, _):
            if have < 1 + headerSize { return Extent(length: 1 + headerSize, complete: false, isLine: false, exact: false) }
            let length = try carry.withUnsafeBytes { try PickleParser.payloadLength(options.limits, op, $0, 0, position) }
            let total = 1 + headerSize + length
            return Extent(length: total, complete: have >= total, isLine: false)
        case .line, .twoLines:
            let needed = op.argument == .line ? 1 : 2
            for b in carry[carryScanned...] where b == 0x0A { carryNewlines += 1 }
            carryScanned = have
            let found = carryNewlines
            if found >= needed { return Extent(length: have, complete: true, isLine: true) }
            return Extent(length: have + 1, complete: false, isLine: true)
        }
    }

    // MARK: - One opcode

    /// Runs the opcode at `p[i]` if all its bytes are in `p[i ..< end]`.
    /// - Returns: the opcode's length, or 0 if more bytes are needed.
    @inline(__always)
    private mutating func step(_ p: UnsafeRawBufferPointer, _ i: Int, _ end: Int, _ owner: ArraySlice<UInt8>,
                               _ position: Int, _ out: inout [PickleGraph]) throws -> Int {
        let code = byte(p, i)
        let avail = end - i
        // Dispatch on the byte itself (one jump table); each arm names its opcode for error messages.
        switch code {
        // MARK: Integers
        case 0x4B:
            let op = Opcode.binInt1
            guard avail >= 2 else { return 0 }
            try push(.inlineInt(Int64(byte(p, i + 1))), op, position)
            return 2
        case 0x4D:
            let op = Opcode.binInt2
            guard avail >= 3 else { return 0 }
            try push(.inlineInt(Int64(readLE(p, i + 1, 2))), op, position)
            return 3
        case 0x4A:
            let op = Opcode.binInt
            guard avail >= 5 else { return 0 }
            try push(.inlineInt(Int64(Int32(truncatingIfNeeded: readLE(p, i + 1, 4)))), op, position)
            return 5
        case 0x8A where avail >= 10 && byte(p, i + 1) <= 8:
            // LONG1 of at most 8 bytes (every int64 written by protocol 2 and later) with 8 bytes readable:
            // one load, masked to its length and sign-extended.
            let n = Int(byte(p, i + 1))
            let shift = UInt64(64 - 8 * n)
            let raw = p.loadUnaligned(fromByteOffset: i + 2, as: UInt64.self)
            let value = n == 0 ? 0 : Int64(bitPattern: UInt64(littleEndian: raw) << shift) >> shift
            try push(builder.int(value), .long1, position)
            return 2 + n
        case 0x8A, 0x8B:  // long1, long4
            let op: Opcode = code == 0x8A ? .long1 : .long4
            let h = op == .long1 ? 1 : 4
            guard avail >= 1 + h else { return 0 }
            let n = try PickleParser.payloadLength(options.limits, op, p, i, position)
            guard avail >= 1 + h + n else { return 0 }
            // Eight bytes or fewer decode to a machine integer, counted as its push alone, as in the fast path
            // above: counting them here too made the decoded size, and so where a limit is hit, depend on
            // whether the opcode was split across chunks.
            if n > 8 { try account(n, op, position) }
            try push(builder.int(twosComplementLE: bytes(p, i + 1 + h, i + 1 + h + n)), op, position)
            return 1 + h + n
        // MARK: Constants and floats
        case 0x4E:
            let op = Opcode.none
            try push(.none, op, position)
            return 1
        case 0x88:
            let op = Opcode.newTrue
            try push(.true, op, position)
            return 1
        case 0x89:
            let op = Opcode.newFalse
            try push(.false, op, position)
            return 1
        case 0x47:
            let op = Opcode.binFloat
            guard avail >= 9 else { return 0 }
            let bits = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: i + 1, as: UInt64.self))
            try push(builder.float(Double(bitPattern: bits)), op, position)
            return 9
        // MARK: Strings and bytes
        case 0x8C where avail >= 2 && avail >= 2 + Int(byte(p, i + 1)):
            // SHORT_BINUNICODE, the usual str of protocols 4 and 5, complete: ASCII is checked as it is copied.
            let op = Opcode.shortBinUnicode
            let n = Int(byte(p, i + 1))
            try account(n, op, position)
            let utf8 = bytes(p, i + 2, i + 2 + n)
            if let ref = builder.shortASCIIString(utf8) {
                try push(ref, op, position)
            } else {
                guard PythonText.isValidUTF8SurrogatePass(utf8) else { throw PickleParser.invalidUTF8(n, op, position) }
                try push(builder.payload(.string, copying: utf8), op, position)
            }
            return 2 + n
        case 0x8C, 0x58, 0x8D:  // shortBinUnicode, binUnicode, binUnicode8
            let op: Opcode = code == 0x8C ? .shortBinUnicode : (code == 0x58 ? .binUnicode : .binUnicode8)
            let h = op == .shortBinUnicode ? 1 : (op == .binUnicode ? 4 : 8)
            guard avail >= 1 + h else { return 0 }
            let n = try PickleParser.payloadLength(options.limits, op, p, i, position)
            guard avail >= 1 + h + n else { return 0 }
            let start = i + 1 + h
            try account(n, op, position)
            let utf8 = bytes(p, start, start + n)
            guard PythonText.isValidUTF8SurrogatePass(utf8) else { throw PickleParser.invalidUTF8(n, op, position) }
            try push(payloadNode(.string, utf8, owner, start), op, position)
            return 1 + h + n
        case 0x43, 0x42, 0x8E, 0x96:  // shortBinBytes, binBytes, binBytes8, byteArray8
            let op: Opcode = code == 0x43 ? .shortBinBytes : (code == 0x42 ? .binBytes : (code == 0x8E ? .binBytes8 : .byteArray8))
            let h = op == .shortBinBytes ? 1 : (op == .binBytes ? 4 : 8)
            guard avail >= 1 + h else { return 0 }
            let n = try PickleParser.payloadLength(options.limits, op, p, i, position)
            guard avail >= 1 + h + n else { return 0 }
            let start = i + 1 + h
            try account(n, op, position)
            let kind: NodeKind = op == .byteArray8 ? .byteArray : .bytes
            try push(payloadNode(kind, bytes(p, start, start + n), owner, start), op, position)
            return 1 + h + n
        // MARK: Lists, tuples, dicts, sets
        case 0x5D:
            let op = Opcode.emptyList
            try push(builder.list(), op, position)
            return 1
        case 0x29:
            let op = Opcode.emptyTuple
            try push(builder.tuple([]), op, position)
            return 1
        case 0x7D:
            let op = Opcode.emptyDict
            try push(builder.dict(), op, position)
            return 1
        case 0x8F:
            let op = Opcode.emptySet
            try push(builder.set(.set), op, position)
            return 1
        case 0x6C:
            let op = Opcode.list
            let start = try markStart(op, position)
            let ref = builder.list(stack.suffix(from: start))
            stack.removeSuffix(from: start)
            try push(ref, op, position)
            return 1
        case 0x74:
            let op = Opcode.tuple
            let start = try markStart(op, position)
            let ref = builder.tuple(stack.suffix(from: start))
            stack.removeSuffix(from: start)
            try push(ref, op, position)
            return 1
        case 0x85, 0x86, 0x87:  // tuple1, tuple2, tuple3
            let op: Opcode = code == 0x85 ? .tuple1 : (code == 0x86 ? .tuple2 : .tuple3)
            let count = Int(op.rawValue - Opcode.tuple1.rawValue) + 1
            try requireItems(count, op, position)
            let ref = builder.tuple(stack.suffix(from: stack.count - count))
            stack.removeLast(count)
            stack.append(ref)
            return 1
        case 0x64:
            let op = Opcode.dict
            let start = try markStart(op, position)
            guard (stack.count - start) % 2 == 0 else {
                throw PickleError(.invalidArgument, offset: position, opcode: op, "odd number of items for DICT")
            }
            let ref = builder.dict()
            try setItems(ref, stack.suffix(from: start), op, position)
            stack.removeSuffix(from: start)
            try push(ref, op, position)
            return 1
        case 0x61:
            let op = Opcode.append
            try requireItems(2, op, position)
            let item = stack.removeLast()
            try append(to: stack[stack.count - 1], CollectionOfOne(item), op, position)
            return 1
        case 0x65:
            let op = Opcode.appends
            let start = try markStart(op, position)
            guard start > fence else {
                throw stackError(op, position, needed: 1)
            }
            try append(to: stack[start - 1], stack.suffix(from: start), op, position)
            stack.removeSuffix(from: start)
            return 1
        case 0x73:
            let op = Opcode.setItem
            try requireItems(3, op, position)
            try setItems(stack[stack.count - 3], stack.suffix(from: stack.count - 2), op, position)
            stack.removeLast(2)
            return 1
        case 0x75:
            let op = Opcode.setItems
            let start = try markStart(op, position)
            guard start > fence else {
                throw stackError(op, position, needed: 1)
            }
            guard (stack.count - start) % 2 == 0 else {
                throw PickleError(.invalidArgument, offset: position, opcode: op, "odd number of items for SETITEMS")
            }
            try setItems(stack[start - 1], stack.suffix(from: start), op, position)
            stack.removeSuffix(from: start)
            return 1
        case 0x90:
            let op = Opcode.addItems
            let start = try markStart(op, position)
            guard start > fence else {
                throw stackError(op, position, needed: 1)
            }
            try addItems(stack[start - 1], stack.suffix(from: start), op, position)
            stack.removeSuffix(from: start)
            return 1
        // MARK: Stack
        case 0x28:
            let op = Opcode.mark
            guard marks.count < options.limits.maxNestingDepth else {
                throw PickleError(.limitExceeded, offset: position, opcode: op, "more than \(options.limits.maxNestingDepth) MARKs open at once (UnpicklerLimits.maxNestingDepth)")
            }
            guard stack.count + marks.count < options.limits.maxStackDepth else { throw stackLimitError(op, position) }
            marks.append(stack.count)
            return 1
        case 0x30:
            let op = Opcode.pop
            if stack.count > fence {
                stack.removeLast()
            } else if !marks.isEmpty {
                marks.removeLast()
            } else {
                throw stackError(op, position, needed: 1)
            }
            return 1
        case 0x32:
            let op = Opcode.dup
            try push(try peek(op, position), op, position)
            return 1
        // MARK: Memo
        case 0x68:
            let op = Opcode.binGet
            guard avail >= 2 else { return 0 }
            try push(try memoGet(Int(byte(p, i + 1)), op, position), op, position)
            return 2
        case 0x6A:
            let op = Opcode.longBinGet
            guard avail >= 5 else { return 0 }
            try push(try memoGet(Int(readLE(p, i + 1, 4)), op, position), op, position)
            return 5
        case 0x71:
            let op = Opcode.binPut
            guard avail >= 2 else { return 0 }
            try memoPut(Int(byte(p, i + 1)), op, position)
            return 2
        case 0x72:
            let op = Opcode.longBinPut
            guard avail >= 5 else { return 0 }
            try memoPut(Int(readLE(p, i + 1, 4)), op, position)
            return 5
        case 0x94:
            // The common case inline: an object to store, and room under both memo limits.
            if stack.count > fence && memo.count < memoEntryLimit {
                memo.put(memo.count, stack[stack.count - 1], generation: generation)
            } else {
                try memoPut(memo.count, .memoize, position)
            }
            return 1
        // MARK: Objects
        case 0x93:
            let op = Opcode.stackGlobal
            try requireItems(2, op, position)
            let moduleRef = stack[stack.count - 2], nameRef = stack[stack.count - 1]
            guard let module = stringValue(moduleRef), let name = stringValue(nameRef) else {
                throw PickleError(.typeMismatch, offset: position, opcode: op, "STACK_GLOBAL requires str operands, found \(kindName(moduleRef)) and \(kindName(nameRef))")
            }
            stack.removeLast(2)
            try push(try resolveGlobal(mapName(GlobalName(module: module, name: name)), op, position), op, position)
            return 1
        case 0x52:
            let op = Opcode.reduce
            try requireItems(2, op, position)
            let args = stack.removeLast(), callable = stack.removeLast()
            guard isTuple(args) else {
                throw PickleError(.typeMismatch, offset: position, opcode: op, "REDUCE argument list must be a tuple, found \(kindName(args))")
            }
            guard mayBeCallable(callable) else {
                throw PickleError(.typeMismatch, offset: position, opcode: op, "'\(kindName(callable))' object is not callable")
            }
            let made = Reconstructors.reduce(callable: callable, args: args, &builder)
            // A bytes or bytearray made from a str is a copy, counted as a payload read would be: else a small
            // pickle could make one large str into many (CPython would make them too).
            if made.isNode, case let node = builder.t.nodes[made.nodeIndex], node.kind == .bytes || node.kind == .byteArray {
                try account(builder.t.payloadCount(node), op, position)
            }
            try push(made, op, position)
            return 1
        case 0x81:
            let op = Opcode.newObj
            try requireItems(2, op, position)
            let args = stack.removeLast(), cls = stack.removeLast()
            guard isTuple(args) else {
                throw PickleError(.typeMismatch, offset: position, opcode: op, "NEWOBJ args argument must be a tuple, found \(kindName(args))")
            }
            guard mayBeCallable(cls) else {
                throw PickleError(.typeMismatch, offset: position, opcode: op, "NEWOBJ class argument must be a type, not \(kindName(cls))")
            }
            try push(builder.object(.newObject(cls: cls, args: args)), op, position)
            return 1
        case 0x62:
            let op = Opcode.build
            try requireItems(2, op, position)
            let state = stack.removeLast()
            try build(stack[stack.count - 1], state, op, position)
            return 1
        // MARK: Control
        case 0x95:
            let op = Opcode.frame
            guard avail >= 9 else { return 0 }
            let length = readLE(p, i + 1, 8)
            guard length <= UInt64(options.limits.maxPayloadBytes) else {
                throw PickleError(.limitExceeded, offset: position, opcode: op, "frame of \(length) bytes exceeds the limit of \(options.limits.maxPayloadBytes) bytes")
            }
            if frameEnd >= 0 && position + 9 != frameEnd {
                throw PickleError(.frameViolation, offset: position, opcode: op, "beginning of a new frame before end of current frame (\(frameEnd - position - 9) bytes left)")
            }
            frameEnd = position + 9 + Int(length)
            if length == 0 { frameEnd = -1 }
            controlChanged = true
            return 9
        case 0x80:
            // PROTO opens every pickle of protocol 2 and later: here rather than in `stepRarely`, whose entry
            // (an opcode lookup and a call) cost a small pickle's decode ~40 instructions.
            let op = Opcode.proto
            guard avail >= 2 else { return 0 }
            let version = Int(byte(p, i + 1))
            guard version <= 5 else {
                throw PickleError(.unsupportedProtocol, offset: position, opcode: op, "unsupported pickle protocol: \(version)")
            }
            proto = version
            return 2
        // Out-of-band buffers (protocol 5), a pair per buffer: a direct call each, rather than `stepRarely`'s
        // opcode lookup and wide entry (~70 instructions per pair). Out of line, so that the opcode loop
        // stays small enough for the optimizer to inline what it inlines now.
        case 0x97:
            try nextBuffer(position)
            return 1
        case 0x98:
            try markBufferReadonly(position)
            return 1
        case 0x2E:
            let op = Opcode.stop
            guard stack.count > fence else {
                if marks.isEmpty || stack.count < fence {
                    throw PickleError(.stackUnderflow, offset: position, opcode: op, "STOP with an empty stack: no object to return")
                }
                throw PickleError(.unexpectedMark, offset: position, opcode: op, "unexpected MARK found: STOP needs an object on top of the stack")
            }
            if frameEnd >= 0 && frameEnd > position + 1 {
                throw PickleError(.frameViolation, offset: position, opcode: op, "STOP inside a frame that declares \(frameEnd - position - 1) more bytes")
            }
            let root = stack.removeLast()
            try checkNesting(root, op, position)
            lastCompleteOffset = position + 1
            completePickle(root, &out)
            return 1
        default:
            guard let op = Opcode(rawValue: code) else {
                throw PickleError(.invalidOpcode, offset: position, "invalid load key \(hexByte(code)): not an opcode")
            }
            return try stepRarely(op, p, i, end, owner, position, &out)
        }
    }

    /// The opcodes that are rare in the pickles of current Python (text-line arguments of protocol 0, Python 2
    /// strings, INST/OBJ/EXT, persistent ids, out-of-band buffers, ...), kept out of ``step`` so that the hot
    /// loop stays small enough for the optimizer to inline what it calls.
    @inline(never)
    private mutating func stepRarely(_ op: Opcode, _ p: UnsafeRawBufferPointer, _ i: Int, _ end: Int, _ owner: ArraySlice<UInt8>,
                                     _ position: Int, _ out: inout [PickleGraph]) throws -> Int {
        let avail = end - i
        switch op {
        case .int, .long:
            guard let nl = findNewline(p, i + 1, end) else { return 0 }
            let line = bytes(p, i + 1, nl)
            try push(op == .int ? try parseIntLine(line, position) : try parseLongLine(line, position), op, position)
            return nl + 1 - i
        case .float:
            guard let nl = findNewline(p, i + 1, end) else { return 0 }
            try push(builder.float(try parseFloatLine(bytes(p, i + 1, nl), position)), op, position)
            return nl + 1 - i
        case .shortBinString, .binString:
            let h = op == .shortBinString ? 1 : 4
            guard avail >= 1 + h else { return 0 }
            let n = try PickleParser.payloadLength(options.limits, op, p, i, position)
            guard avail >= 1 + h + n else { return 0 }
            let start = i + 1 + h
            try account(n, op, position)
            try push(try decodeByteString(bytes(p, start, start + n), owner, start, op, position), op, position)
            return 1 + h + n
        case .string:
            guard let nl = findNewline(p, i + 1, end) else { return 0 }
            try account(nl - i, op, position)
            try push(try parseStringLine(bytes(p, i + 1, nl), op, position), op, position)
            return nl + 1 - i
        case .unicode:
            guard let nl = findNewline(p, i + 1, end) else { return 0 }
            try account(nl - i, op, position)
            guard let points = PythonText.decodeRawUnicodeEscape(bytes(p, i + 1, nl)) else {
                throw PickleError(.decodingFailed, offset: position, opcode: op, "'rawunicodeescape' codec can't decode the argument: truncated or invalid \\u escape")
            }
            try push(builder.payload(.string, PythonText.encodeUTF8SurrogatePass(points)), op, position)
            return nl + 1 - i
        case .frozenSet:
            let start = try markStart(op, position)
            let ref = builder.set(.frozenSet)
            try addItems(ref, stack.suffix(from: start), op, position)
            stack.removeSuffix(from: start)
            try push(ref, op, position)
            return 1
        case .popMark:
            let start = try markStart(op, position)
            stack.removeSuffix(from: start)
            return 1
        case .get:
            guard let nl = findNewline(p, i + 1, end) else { return 0 }
            let index = try parseMemoIndex(bytes(p, i + 1, nl), op, position)
            try push(try memoGet(index, op, position), op, position)
            return nl + 1 - i
        case .put:
            guard let nl = findNewline(p, i + 1, end) else { return 0 }
            let index = try parseMemoIndex(bytes(p, i + 1, nl), op, position)
            guard index >= 0 else {
                throw PickleError(.invalidArgument, offset: position, opcode: op, "negative PUT argument")
            }
            try memoPut(index, op, position)
            return nl + 1 - i
        case .global, .inst:
            guard let nl1 = findNewline(p, i + 1, end), let nl2 = findNewline(p, nl1 + 1, end) else { return 0 }
            let name = try globalName(bytes(p, i + 1, nl1),
                                      bytes(p, nl1 + 1, nl2), op, position)
            if op == .global {
                try push(try resolveGlobal(name, op, position), op, position)
            } else {
                let start = try markStart(op, position)
                let args = builder.tuple(stack.suffix(from: start))
                stack.removeSuffix(from: start)
                let cls = try resolveGlobal(name, op, position)
                try push(builder.object(.inst(cls: cls, args: args)), op, position)
            }
            return nl2 + 1 - i
        case .newObjEx:
            try requireItems(3, op, position)
            let kwargs = stack.removeLast(), args = stack.removeLast(), cls = stack.removeLast()
            guard isTuple(args) else {
                throw PickleError(.typeMismatch, offset: position, opcode: op, "NEWOBJ_EX args argument must be a tuple, found \(kindName(args))")
            }
            guard mayBeCallable(cls) else {
                throw PickleError(.typeMismatch, offset: position, opcode: op, "NEWOBJ_EX class argument must be a type, not \(kindName(cls))")
            }
            guard kwargs.isNode, builder.t.nodes[kwargs.nodeIndex].kind == .dict else {
                throw PickleError(.typeMismatch, offset: position, opcode: op, "NEWOBJ_EX kwargs argument must be a dict, found \(kindName(kwargs))")
            }
            try push(builder.object(.newObjectEx(cls: cls, args: args, kwargs: kwargs)), op, position)
            return 1
        case .obj:
            let start = try markStart(op, position)
            guard stack.count > start else {
                throw PickleError(.stackUnderflow, offset: position, opcode: op, "OBJ needs a class after the MARK")
            }
            let cls = stack[start]
            guard mayBeCallable(cls) else {
                throw PickleError(.typeMismatch, offset: position, opcode: op, "'\(kindName(cls))' object is not callable")
            }
            let args = builder.tuple(stack.suffix(from: start + 1))
            stack.removeSuffix(from: start)
            try push(builder.object(.obj(cls: cls, args: args)), op, position)
            return 1
        case .ext1, .ext2, .ext4:
            let size = op == .ext1 ? 1 : (op == .ext2 ? 2 : 4)
            guard avail >= 1 + size else { return 0 }
            var code = Int(readLE(p, i + 1, size))
            if op == .ext4 { code = Int(Int32(truncatingIfNeeded: code)) }
            guard code > 0 else {
                throw PickleError(.invalidArgument, offset: position, opcode: op, "EXT specifies code <= 0")
            }
            if let name = options.extensionGlobal(code) {
                try push(try resolveGlobal(name, op, position), op, position)
            } else {
                try push(builder.object(.ext(code: code)), op, position)
            }
            return 1 + size
        case .persID:
            guard let nl = findNewline(p, i + 1, end) else { return 0 }
            let line = bytes(p, i + 1, nl)
            guard line.allSatisfy({ $0 < 0x80 }) else {
                throw PickleError(.decodingFailed, offset: position, opcode: op, "persistent IDs in protocol 0 must be ASCII strings")
            }
            let id = builder.payload(.string, copying: line)
            try push(try persistent(id, textual: true, op, position), op, position)
            return nl + 1 - i
        case .binPersID:
            try requireItems(1, op, position)
            let id = stack.removeLast()
            try push(try persistent(id, textual: false, op, position), op, position)
            return 1
        default:
            preconditionFailure("step handles \(op.name)")
        }
    }

    // MARK: - Pickle boundaries

    /// Enforces ``UnpicklerLimits/maxNestingDepth`` on the finished graph. A graph with no more containers
    /// than the limit cannot nest deeper, so the walk runs only for graphs larger than that.
    ///
    /// `mutating` though it changes nothing, as ``peek(_:_:)`` is: the opcode loop calling a non-mutating
    /// method of the parser copies the whole parser (776 bytes) to the stack first, even when the method is
    /// inlined, and every pickle passes here.
    @inline(__always)
    private mutating func checkNesting(_ root: PickleRef, _ op: Opcode, _ position: Int) throws {
        if builder.containerCount > options.limits.maxNestingDepth { try checkNestingByWalk(root, op, position) }
    }

    @inline(never)
    private func checkNestingByWalk(_ root: PickleRef, _ op: Opcode, _ position: Int) throws {
        let limit = options.limits.maxNestingDepth
        let depth = builder.t.nestingDepth(from: root, stoppingAbove: limit)
        if depth > limit {
            throw PickleError(.limitExceeded, offset: position, opcode: op, "the pickle nests containers more than \(limit) deep (UnpicklerLimits.maxNestingDepth)")
        }
    }

    private mutating func completePickle(_ root: PickleRef, _ out: inout [PickleGraph]) {
        let graph = builder.finishGraph(root: root)
        // Session mode keeps the graph too; otherwise it is moved out (a retain and a release less).
        if options.memoMode == .session { sessionGraphs.append(graph) }
        if decodesOneShot { oneShotGraph = consume graph } else { out.append(consume graph) }
        completedCount += 1
        anticipatedSize = PickleParser.firstAnticipation
        stack.removeAll()
        marks.removeAll()
        proto = 0
        frameEnd = -1
        inPickle = false
        controlChanged = true
        switch options.memoMode {
        case .perPickle:
            memo.removeAll()
            decodedBytes = 0
            grantFirstBudget()
        case .session:
            memoEntryCountAtLastComplete = memo.count
            generation += 1
            importMaps.removeAll()
        }
    }

    // MARK: - Stack helpers

    /// The stack height below which the current MARK protects items.
    private var fence: Int { marks.isEmpty ? 0 : marks[marks.count - 1] }

    @inline(__always)
    private mutating func push(_ ref: PickleRef, _ op: Opcode, _ position: Int) throws {
        stack.append(ref)
        budget &-= 16
        if budget < 0 { try refillBudget(op, position) }
    }

    /// Counts a payload's bytes towards ``UnpicklerLimits/maxDecodedBytes`` before it is stored.
    @inline(__always)
    private mutating func account(_ byteCount: Int, _ op: Opcode, _ position: Int) throws {
        budget &-= byteCount
        if budget < 0 { try refillBudget(op, position) }
    }

    /// Grants a new pickle's first budget, as ``refillBudget(_:_:)`` would at its first push (nothing decoded
    /// yet, an empty stack), so that push does not call it: ~45 of the ~5,500 instructions a small pickle in a
    /// stream takes.
    private mutating func grantFirstBudget() {
        assert(decodedBytes == 0 && stack.isEmpty && marks.isEmpty, "the first budget of a pickle that has begun")
        let limits = options.limits
        let stackRoom = max(limits.maxStackDepth, 0).multipliedReportingOverflow(by: 16)
        budget = min(limits.maxDecodedBytes, stackRoom.overflow ? Int.max : stackRoom.partialValue)
        grantedBudget = budget
    }

    /// NEXT_BUFFER: pushes the next out-of-band buffer.
    @inline(never)
    private mutating func nextBuffer(_ position: Int) throws {
        let op = Opcode.nextBuffer
        guard let buffers else {
            throw PickleError(.missingBuffer, offset: position, opcode: op, "pickle stream refers to out-of-band data but no buffers were given")
        }
        guard nextBufferIndex < buffers.count else {
            throw PickleError(.missingBuffer, offset: position, opcode: op, "not enough out-of-band buffers: \(buffers.count) given")
        }
        nextBufferIndex += 1
        try push(builder.buffer(at: nextBufferIndex - 1, of: buffers), op, position)
    }

    /// READONLY_BUFFER: marks the buffer (or bytearray) on top of the stack read-only; `bytes` already are.
    @inline(never)
    private mutating func markBufferReadonly(_ position: Int) throws {
        let op = Opcode.readonlyBuffer
        let top = try peek(op, position)
        let kind = top.isNode ? builder.t.nodes[top.nodeIndex].kind : nil
        guard kind == .buffer || kind == .byteArray || kind == .bytes else {  // not an array literal: one per call
            throw PickleError(.typeMismatch, offset: position, opcode: op, "READONLY_BUFFER needs a buffer on the stack, found \(kindName(top))")
        }
        if builder.t.nodes[top.nodeIndex].kind != .bytes { builder.t.nodes[top.nodeIndex].readonly = true }
    }

    /// Settles what was decoded since the last check, enforces the stack and decoded-size limits, and grants
    /// the next budget.
    @inline(never)
    private mutating func refillBudget(_ op: Opcode, _ position: Int) throws {
        decodedBytes &+= grantedBudget &- budget
        budget = 0
        grantedBudget = 0
        let limits = options.limits
        guard decodedBytes <= limits.maxDecodedBytes else {
            let scope = options.memoMode == .session ? "the stream" : "the pickle"
            throw PickleError(.limitExceeded, offset: position, opcode: op, "\(scope) decodes to more than \(limits.maxDecodedBytes) bytes (UnpicklerLimits.maxDecodedBytes)")
        }
        let used = stack.count + marks.count
        guard used <= limits.maxStackDepth else { throw stackLimitError(op, position) }
        let stackRoom = (limits.maxStackDepth - used).multipliedReportingOverflow(by: 16)
        budget = min(limits.maxDecodedBytes - decodedBytes, stackRoom.overflow ? Int.max : stackRoom.partialValue)
        grantedBudget = budget
    }

    @inline(never)
    private func stackLimitError(_ op: Opcode, _ position: Int) -> PickleError {
        PickleError(.limitExceeded, offset: position, opcode: op, "more than \(options.limits.maxStackDepth) stack items and marks (UnpicklerLimits.maxStackDepth)")
    }

    /// The top of the stack. `mutating` only so that the opcode loop calls it without copying the parser
    /// (see ``checkNesting(_:_:_:)``).
    @inline(__always)
    private mutating func peek(_ op: Opcode, _ position: Int) throws -> PickleRef {
        guard stack.count > fence else { throw stackError(op, position, needed: 1) }
        return stack[stack.count - 1]
    }

    @inline(__always)
    private func requireItems(_ count: Int, _ op: Opcode, _ position: Int) throws {
        if stack.count - fence < count { throw stackError(op, position, needed: count) }
    }

    @inline(never)
    private func stackError(_ op: Opcode, _ position: Int, needed: Int) -> PickleError {
        if !marks.isEmpty {
            return PickleError(.unexpectedMark, offset: position, opcode: op, "unexpected MARK found: \(op.name) needs \(needed) object(s) above the MARK, found \(stack.count - fence)")
        }
        return PickleError(.stackUnderflow, offset: position, opcode: op, "unpickling stack underflow: \(op.name) needs \(needed) object(s), the stack has \(stack.count)")
    }

    /// Pops the topmost MARK and returns the stack index where its items begin.
    @inline(__always)
    private mutating func markStart(_ op: Opcode, _ position: Int) throws -> Int {
        guard !marks.isEmpty else { throw missingMarkError(op, position) }
        return marks.removeLast()
    }

    @inline(never)
    private func missingMarkError(_ op: Opcode, _ position: Int) -> PickleError {
        PickleError(.missingMark, offset: position, opcode: op, "could not find MARK: \(op.name) needs a MARK on the stack")
    }

    // MARK: - Memo

    @inline(__always)
    private mutating func memoPut(_ index: Int, _ op: Opcode, _ position: Int) throws {
        guard stack.count > fence, index <= options.limits.maxMemoIndex,
              memo.count < options.limits.maxMemoEntries || memo.get(index) != nil else {
            throw memoPutError(index, op, position)
        }
        memo.put(index, stack[stack.count - 1], generation: generation)
    }

    @inline(never)
    private func memoPutError(_ index: Int, _ op: Opcode, _ position: Int) -> PickleError {
        if stack.count <= fence { return stackError(op, position, needed: 1) }
        if index > options.limits.maxMemoIndex {
            return PickleError(.limitExceeded, offset: position, opcode: op, "memo index \(index) exceeds the limit of \(options.limits.maxMemoIndex)")
        }
        return PickleError(.limitExceeded, offset: position, opcode: op, "more than \(options.limits.maxMemoEntries) memo entries")
    }

    @inline(__always)
    private mutating func memoGet(_ index: Int, _ op: Opcode, _ position: Int) throws -> PickleRef {
        if let entry = memo.get(index), entry.generation == generation || !entry.ref.isNode { return entry.ref }
        return try memoGetSlowly(index, op, position)
    }

    /// A missing entry, or (session mode) one from an earlier pickle, copied into this one on first use.
    @inline(never)
    private mutating func memoGetSlowly(_ index: Int, _ op: Opcode, _ position: Int) throws -> PickleRef {
        guard let entry = memo.get(index) else {
            var message = "memo value not found at index \(index)"
            if options.memoMode == .perPickle && completedCount > 0 {
                message += " (each pickle has its own memo in this mode; a stream written by one Pickler across many dump calls needs MemoMode.session)"
            }
            throw PickleError(.missingMemoEntry, offset: position, opcode: op, message)
        }
        if entry.generation == generation || !entry.ref.isNode { return entry.ref }
        // Session mode: the entry belongs to an earlier pickle; copy its subgraph into this one once.
        let source = sessionGraphs[Int(entry.generation)]
        var map = importMaps[entry.generation] ?? [:]
        var copiedBytes = 0
        let local = builder.importSubgraph(from: source, root: entry.ref, map: &map, copiedBytes: &copiedBytes)
        // The copy holds memory like decoded values do: a tiny pickle repeating GETs of a large earlier
        // object must not grow the stream without bound.
        try account(copiedBytes, op, position)
        importMaps[entry.generation] = map
        memo.put(index, local, generation: generation)
        return local
    }

    private func parseMemoIndex(_ line: UnsafeRawBufferPointer, _ op: Opcode, _ position: Int) throws -> Int {
        guard let value = TextNumbers.decimalInt(line) else {
            throw PickleError(.invalidArgument, offset: position, opcode: op, "invalid memo index \(PythonRepr.bytes(line)): expected a decimal integer")
        }
        return value
    }

    // MARK: - Payloads

    private static func payloadLength(_ limits: UnpicklerLimits, _ op: Opcode, _ p: UnsafeRawBufferPointer, _ i: Int, _ position: Int) throws -> Int {
        guard case .counted(let h, let signed) = op.argument else { return 0 }
        let raw = readLE(p, i + 1, h)
        if signed && h == 4 && raw & 0x8000_0000 != 0 {
            let what = op == .long4 ? "LONG pickle has negative byte count" : "\(op.name) pickle has negative byte count"
            throw PickleError(.invalidArgument, offset: position, opcode: op, what)
        }
        let isInteger = op == .long1 || op == .long4
        let limit = isInteger ? limits.maxIntegerBytes : limits.maxPayloadBytes
        guard raw <= UInt64(limit) else {
            let name = isInteger ? "maxIntegerBytes" : "maxPayloadBytes"
            throw PickleError(.limitExceeded, offset: position, opcode: op, "\(op.name) declares \(raw) bytes, over the limit of \(limit) bytes (UnpicklerLimits.\(name))")
        }
        return Int(raw)
    }

    /// The error CPython's decoder raises for a str argument that is not UTF-8 (surrogates allowed).
    @inline(never)
    private static func invalidUTF8(_ byteCount: Int, _ op: Opcode, _ position: Int) -> PickleError {
        PickleError(.decodingFailed, offset: position, opcode: op, "'utf-8' codec can't decode the \(byteCount)-byte argument: invalid UTF-8")
    }

    @inline(__always)
    private mutating func payloadNode(_ kind: NodeKind, _ bytes: UnsafeRawBufferPointer, _ owner: ArraySlice<UInt8>, _ start: Int) -> PickleRef {
        if bytes.count >= GraphTables.sliceThreshold {
            let base = owner.startIndex + start
            return builder.payload(kind, sharing: owner[base ..< base + bytes.count])
        }
        return builder.payload(kind, copying: bytes)
    }

    // MARK: - Objects

    private func mapName(_ name: GlobalName) -> GlobalName {
        guard proto < 3 && options.fixImports else { return name }
        let mapped = FixImports.toPython3(module: name.module, name: name.name)
        return GlobalName(module: mapped.module, name: mapped.name)
    }

    private func globalName(_ module: UnsafeRawBufferPointer, _ name: UnsafeRawBufferPointer, _ op: Opcode, _ position: Int) throws -> GlobalName {
        guard !module.isEmpty, !name.isEmpty else {
            throw PickleError(.truncated, offset: position, opcode: op, "pickle data was truncated: \(op.name) needs a non-empty module and name")
        }
        guard PythonText.isValidUTF8SurrogatePass(module), PythonText.isValidUTF8SurrogatePass(name) else {
            throw PickleError(.decodingFailed, offset: position, opcode: op, "\(op.name) module and name must be UTF-8")
        }
        return mapName(GlobalName(module: String(decoding: module, as: UTF8.self), name: String(decoding: name, as: UTF8.self)))
    }

    /// The node for a global (GLOBAL, STACK_GLOBAL, INST): the `findClass` hook's replacement, or an inert global.
    ///
    /// An empty module name is refused as CPython's `find_class` refuses it (`__import__('')`: "Empty module
    /// name"), whatever the name: no module could ever be found. A dotted name read below protocol 4 is marked
    /// as CPython 3.11 resolves it there, as one attribute name (``Node/literalDottedName``).
    private mutating func resolveGlobal(_ name: GlobalName, _ op: Opcode, _ position: Int) throws -> PickleRef {
        if let findClass = hooks.findClass {
            let replacement: PickleValue?
            do { replacement = try findClass(name) } catch {
                throw PickleError(.rejected, offset: position, opcode: op, "global \(name) rejected: \(error)")
            }
            if let replacement { return builder.insert(replacement) }
        }
        guard !name.module.isEmpty else {
            throw PickleError(.invalidArgument, offset: position, opcode: op, "Empty module name (global '\(name.name)')")
        }
        return builder.global(name, literalDottedName: proto < 4 && name.name.utf8.contains(UInt8(ascii: ".")))
    }

    private mutating func persistent(_ id: PickleRef, textual: Bool, _ op: Opcode, _ position: Int) throws -> PickleRef {
        if let load = hooks.persistentLoad {
            let replacement: PickleValue?
            do {
                let idValue = try ValueTreeBuilder.convert(builder.t, id)
                replacement = try load(idValue)
            } catch {
                throw PickleError(.rejected, offset: position, opcode: op, "persistent id rejected: \(error)")
            }
            if let replacement { return builder.insert(replacement) }
        }
        return builder.object(.persistent(id: id, textual: textual))
    }

    private mutating func append(to target: PickleRef, _ items: some Collection<PickleRef>, _ op: Opcode, _ position: Int) throws {
        if target.isNode {
            let node = builder.t.nodes[target.nodeIndex]
            switch node.kind {
            case .list:
                builder.appendToList(target.nodeIndex, items)
                return
            case .object:
                // Even an empty APPENDS: CPython calls extend([]) on an object.
                builder.t.objects[node.a].operations.append(.extend(Array(items)))
                return
            default: break
            }
        }
        if items.isEmpty { return }  // CPython skips the call for an empty batch
        if notesMutation(of: target, position) { return }
        throw PickleError(.typeMismatch, offset: position, opcode: op, "\(op.name) target \(kindName(target)) has no append")
    }

    private mutating func setItems<Pairs: RandomAccessCollection<PickleRef>>(_ target: PickleRef, _ pairs: Pairs, _ op: Opcode, _ position: Int) throws where Pairs.Index == Int {
        if target.isNode {
            let node = builder.t.nodes[target.nodeIndex]
            switch node.kind {
            case .dict:
                guard builder.setItems(dict: target.nodeIndex, pairs) else {
                    throw PickleError(.typeMismatch, offset: position, opcode: op, "unhashable dict key (list, dict, set or bytearray)")
                }
                return
            case .object:
                var k = pairs.startIndex
                while k < pairs.endIndex {
                    builder.t.objects[node.a].operations.append(.setItem(key: pairs[k], value: pairs[k + 1]))
                    k += 2
                }
                return
            case .list:
                // obj[key] = value on a list: an in-range integer index replaces an item, as in Python.
                var k = pairs.startIndex
                var ok = true
                while k < pairs.endIndex && ok {
                    let count = builder.t.elements(of: builder.t.nodes[target.nodeIndex]).count
                    if pairs[k].isInlineInt, case let idx = Int(pairs[k].inlineIntValue), idx >= -count, idx < count {
                        builder.setListItem(target.nodeIndex, at: idx < 0 ? idx + count : idx, pairs[k + 1])
                    } else { ok = false }
                    k += 2
                }
                if ok { return }
                throw PickleError(.typeMismatch, offset: position, opcode: op, "list assignment index out of range or not an int")
            default: break
            }
        }
        if pairs.isEmpty { return }
        if notesMutation(of: target, position) { return }
        throw PickleError(.typeMismatch, offset: position, opcode: op, "\(op.name) target \(kindName(target)) does not support item assignment")
    }

    private mutating func addItems(_ target: PickleRef, _ items: some Collection<PickleRef>, _ op: Opcode, _ position: Int) throws {
        if target.isNode {
            let node = builder.t.nodes[target.nodeIndex]
            switch node.kind {
            case .set, .frozenSet:
                guard node.kind == .set || op == .frozenSet else { break }
                guard builder.addToSet(sequence: node.a, items) else {
                    throw PickleError(.typeMismatch, offset: position, opcode: op, "unhashable set element (list, dict, set or bytearray)")
                }
                return
            case .object:
                builder.t.objects[node.a].operations.append(contentsOf: items.map { .add($0) })
                return
            default: break
            }
        }
        if items.isEmpty { return }
        if notesMutation(of: target, position) { return }
        throw PickleError(.typeMismatch, offset: position, opcode: op, "\(op.name) target \(kindName(target)) has no add")
    }

    private mutating func build(_ target: PickleRef, _ state: PickleRef, _ op: Opcode, _ position: Int) throws {
        if target.isNode, builder.t.nodes[target.nodeIndex].kind == .object {
            builder.t.objects[builder.t.nodes[target.nodeIndex].a].operations.append(.build(state: state))
            if readsJoblibArrays { try noteJoblibArray(target, position) }
            return
        }
        if state == .none { return }
        if notesMutation(of: target, position) { return }
        throw PickleError(.typeMismatch, offset: position, opcode: op, "BUILD target \(kindName(target)) has no __dict__ or __setstate__")
    }

    /// For the scanner: BUILD, SETITEM, APPEND or ADDITEMS on a global changes the class, module or
    /// object it names in the loading process (CPython applies it and goes on), so the parse records it
    /// and goes on too; otherwise such an opcode is an error, as the graph cannot hold it.
    private mutating func notesMutation(of target: PickleRef, _ position: Int) -> Bool {
        guard structureEvents != nil, target.isNode, builder.t.nodes[target.nodeIndex].kind == .global else { return false }
        structureEvents?.append(PickleTrace.Event(offset: position, kind: .globalMutated(target)))
        return true
    }

    // MARK: - Small readers

    /// Whether a value could be a callable or a class: globals and inert objects could (nothing is imported
    /// to find out); None, numbers, strings, bytes and containers never are.
    private func mayBeCallable(_ ref: PickleRef) -> Bool {
        guard ref.isNode else { return false }
        switch builder.t.nodes[ref.nodeIndex].kind {
        case .global, .object: return true
        default: return false
        }
    }

    private func isTuple(_ ref: PickleRef) -> Bool {
        ref.isNode && builder.t.nodes[ref.nodeIndex].kind == .tuple
    }

    private func stringValue(_ ref: PickleRef) -> String? {
        guard ref.isNode else { return nil }
        let node = builder.t.nodes[ref.nodeIndex]
        guard node.kind == .string else { return nil }
        return builder.t.withPayload(of: node) { String(decoding: $0, as: UTF8.self) }
    }

    private func kindName(_ ref: PickleRef) -> String { builder.t.pythonTypeName(of: ref) }

    @inline(never)
    private func frameError(at position: Int, opcode: Opcode?) -> PickleError {
        PickleError(.frameViolation, offset: position, opcode: opcode,
                    "pickle exhausted before end of frame: the opcode crosses the end of its frame at offset \(frameEnd)")
    }
}

// MARK: - Byte helpers

/// `p[from ..< to]` as a buffer of its own, always inlined (the optimizer called the range subscript out of
/// line in the opcode loop, as ``byte(_:_:)`` says of the element subscript); the opcode functions slice
/// the input with it throughout, one idiom. Callers have checked the range.
@inline(__always)
func bytes(_ p: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> UnsafeRawBufferPointer {
    assert(from >= 0 && from <= to && to <= p.count, "bytes(_:_:_:) outside its buffer")
    return UnsafeRawBufferPointer(start: p.baseAddress.map { $0 + from }, count: to - from)
}

/// `p[k]`, always inlined. In the opcode loop, a large function, the optimizer called
/// `UnsafeRawBufferPointer`'s subscript out of line at some reads (SHORT_BINUNICODE's length, BINGET's and
/// BINPUT's index, PROTO's version): a call of ~18 instructions instead of a load. The opcode functions and
/// ``readLE(_:_:_:)`` read single input bytes with it throughout. Callers have checked that `k` lies in `p`
/// (in release builds the subscript does not check either).
@inline(__always)
func byte(_ p: UnsafeRawBufferPointer, _ k: Int) -> UInt8 {
    assert(k >= 0 && k < p.count, "byte(_:_:) outside its buffer")
    return p.baseAddress.unsafelyUnwrapped.load(fromByteOffset: k, as: UInt8.self)
}

@inline(__always)
func readLE(_ p: UnsafeRawBufferPointer, _ at: Int, _ count: Int) -> UInt64 {
    switch count {
    case 1: return UInt64(byte(p, at))
    case 2: return UInt64(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
    case 4: return UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
    case 8: return UInt64(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    default: break
    }
    var value: UInt64 = 0
    for k in 0 ..< count { value |= UInt64(byte(p, at + k)) << (8 * UInt64(k)) }
    return value
}

@inline(__always)
func findNewline(_ p: UnsafeRawBufferPointer, _ from: Int, _ end: Int) -> Int? {
    guard from < end, let base = p.baseAddress else { return nil }
    guard let hit = memchr(base + from, 0x0A, end - from) else { return nil }
    return base.distance(to: UnsafeRawPointer(hit))
}

func hexByte(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return "'\\x\(digits[Int(b >> 4)])\(digits[Int(b & 15)])'"
}

/// An object whose only job is to be referenced by one parser: while its reference count is 1, the parser
/// has not been copied, so none of its buffers is shared.
private final class CopyToken: Sendable {}
