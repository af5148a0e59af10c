import Pickle

/// How a fuzz input chooses the unpickler's options: its first byte, when there is one.
///
/// - bits 0–1: the encoding of Python 2 strings (ascii, latin1, utf8, bytes);
/// - bits 2–3: the errors policy (strict, replace, ignore, surrogateescape);
/// - bit 4: session memo instead of per-pickle;
/// - bit 5: tight limits (small payloads, integers, memo, stack, nesting and decoded size), so limit paths
///   are reached; otherwise the default limits;
/// - bit 6: fix_imports off.
public struct FuzzInput {
    public let options: UnpicklerOptions
    public let bytes: [UInt8]

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        let all = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
        let selector = all.first ?? 0
        var options = UnpicklerOptions()
        options.encoding = StringEncoding.allCases[Int(selector & 3)]
        options.errors = DecodingErrorPolicy.allCases[Int(selector >> 2 & 3)]
        options.memoMode = selector & 0x10 != 0 ? .session : .perPickle
        if selector & 0x20 != 0 {
            options.limits.maxPayloadBytes = 1 << 12
            options.limits.maxIntegerBytes = 64
            options.limits.maxMemoEntries = 64
            options.limits.maxMemoIndex = 1 << 16
            options.limits.maxStackDepth = 256
            options.limits.maxNestingDepth = 16
            options.limits.maxDecodedBytes = 1 << 14
        }
        // Otherwise the defaults: no input may make them allocate past libFuzzer's malloc limit (a declared
        // length must never be reserved before its bytes arrive).
        options.fixImports = selector & 0x40 == 0
        self.options = options
        self.bytes = Array(all.dropFirst())
    }
}

/// Decodes every pickle of `bytes` fed in the given chunks: the graphs completed and the error, if any.
public func decodeAll(_ bytes: [UInt8], splits: [Int] = [], options: UnpicklerOptions) -> (graphs: [PickleGraph], error: PickleError?) {
    var parser = PickleParser(options: options)
    var graphs: [PickleGraph] = []
    var start = 0
    do {
        for end in splits + [bytes.count] where end >= start && end <= bytes.count {
            try parser.feed(bytes[start ..< end], into: &graphs)
            start = end
        }
        try parser.finish()
        return (graphs, nil)
    } catch let error as PickleError {
        return (graphs, error)
    } catch {
        fatalError("the parser threw something other than a PickleError: \(error)")
    }
}

/// Stops the fuzzer with a message (libFuzzer records the input as a crash).
public func fuzzFailure(_ message: String) -> Never {
    fatalError(message)
}
