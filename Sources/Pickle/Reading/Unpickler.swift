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
        defer { ParserPool.give(entry) }
        return try decodeFirst(bytes, &entry.pointee.parser, &entry.pointee.output)
    }

    /// Decodes the first pickle in `bytes` with the default options and no hooks: what
    /// ``loads(_:options:hooks:buffers:)-([UInt8],_,_,_)`` does when those are left out, without the work of passing them in
    /// and checking them on every call (about a tenth of decoding a pickle of a few bytes).
    /// - Parameters:
    ///   - bytes: the pickle. Payloads of 512 bytes or more are slices of it (zero copy).
    ///   - buffers: out-of-band buffers for NEXT_BUFFER (protocol 5).
    /// - Throws: ``PickleError``; ``PickleError/Code/endOfInput`` for empty input.
    public static func loads(_ bytes: ArraySlice<UInt8>, buffers: [OutOfBandBuffer]? = nil) throws -> PickleGraph {
        let entry = ParserPool.takeWithDefaults(buffers: buffers)
        defer { ParserPool.giveWithDefaults(entry) }
        return try decodeFirst(bytes, &entry.pointee.parser, &entry.pointee.output)
    }

    /// Decodes the first pickle in `bytes` with the default options and no hooks. See ``loads(_:buffers:)``.
    public static func loads(_ bytes: [UInt8], buffers: [OutOfBandBuffer]? = nil) throws -> PickleGraph {
        try loads(bytes[...], buffers: buffers)
    }

    /// The first pickle of `bytes`, decoded by `parser` (in place: one access to the pool entry's parser for
    /// the whole decode, not one per step).
    private static func decodeFirst(_ bytes: ArraySlice<UInt8>, _ parser: inout PickleParser,
                                    _ output: inout [PickleGraph]) throws -> PickleGraph {
        if let graph = try parser.decodeFirstPickle(ofWhole: bytes, scratch: &output) { return graph }
        try parser.finish()
        throw PickleError(.endOfInput, offset: parser.offset, "ran out of input")
    }

    /// Decodes the first pickle in `bytes`. See ``loads(_:options:hooks:buffers:)-([UInt8],_,_,_)``.
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
