/// One-shot decoding of whole buffers: CPython's `pickle.loads`, built on the same ``PickleParser``.
public enum Unpickler {
    /// Decodes the first pickle in `bytes`, as `pickle.loads`: bytes after its STOP are ignored.
    /// Payloads of 512 bytes or more are slices of `bytes` (zero copy).
    /// - Parameters:
    ///   - bytes: the pickle.
    ///   - options: encoding, limits and memo options.
    ///   - hooks: `find_class`/`persistent_load` counterparts.
    ///   - buffers: out-of-band buffers for NEXT_BUFFER (protocol 5).
    /// - Throws: ``PickleError``; ``PickleError/Code/endOfInput`` for empty input.
    public static func loads(_ bytes: ArraySlice<UInt8>, options: UnpicklerOptions = UnpicklerOptions(),
                             hooks: UnpicklerHooks = UnpicklerHooks(), buffers: [OutOfBandBuffer]? = nil) throws -> PickleGraph {
        let entry = ParserPool.take(options: options, hooks: hooks, buffers: buffers)
        entry.parser.haltsAfterPickle = true
        entry.parser.reserve(forInputSize: bytes.count)
        try entry.parser.feed(bytes, into: &entry.output)
        if let first = entry.output.first {
            ParserPool.give(entry)
            return first
        }
        try entry.parser.finish()
        throw PickleError(.endOfInput, offset: entry.parser.offset, "ran out of input")
    }

    /// Decodes the first pickle in `bytes`. See ``loads(_:options:hooks:buffers:)``.
    public static func loads(_ bytes: [UInt8], options: UnpicklerOptions = UnpicklerOptions(),
                             hooks: UnpicklerHooks = UnpicklerHooks(), buffers: [OutOfBandBuffer]? = nil) throws -> PickleGraph {
        try loads(bytes[...], options: options, hooks: hooks, buffers: buffers)
    }

    /// Decodes every pickle in `bytes` (a stream of pickles one after another).
    /// - Throws: ``PickleError`` for malformed input or input that ends inside a pickle.
    public static func loadAll(_ bytes: [UInt8], options: UnpicklerOptions = UnpicklerOptions(),
                               hooks: UnpicklerHooks = UnpicklerHooks(), buffers: [OutOfBandBuffer]? = nil) throws -> [PickleGraph] {
        var parser = PickleParser(options: options, hooks: hooks, buffers: buffers)
        var out: [PickleGraph] = []
        try parser.feed(bytes[...], into: &out)
        try parser.finish()
        return out
    }
}
