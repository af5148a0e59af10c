extension StreamingUnpickler {
    /// The stream's pickles decoded as `T`, each as soon as its last byte arrives.
    ///
    /// ```swift
    /// for try await event in StreamingUnpickler(fileDescriptor: socket).decoded(as: Event.self) {
    ///     handle(event)
    /// }
    /// ```
    ///
    /// The sequence ends with the first error: a malformed pickle (``PickleError``, after every value before
    /// it was delivered) or a pickle that does not decode as `T` (`DecodingError`).
    /// - Parameters:
    ///   - type: the type of every pickle's value.
    ///   - decoder: the strategies to decode with; its ``PickleDecoder/unpicklerOptions`` are not used (the
    ///     stream's own options read the bytes).
    public func decoded<T: Decodable>(as type: T.Type, using decoder: PickleDecoder = PickleDecoder())
        -> DecodedPickles<Chunks, T> {
        DecodedPickles(pickles: self, decoder: decoder)
    }
}

/// The values of a stream of pickles, decoded as `T`: ``StreamingUnpickler/decoded(as:using:)``.
public struct DecodedPickles<Chunks: AsyncSequence, T: Decodable>: AsyncSequence where Chunks.Element: PickleInputChunk {
    public typealias Element = T

    let pickles: StreamingUnpickler<Chunks>
    let decoder: PickleDecoder

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(pickles: pickles.makeAsyncIterator(), decoder: decoder)
    }

    /// Decodes each pickle as it completes.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var pickles: StreamingUnpickler<Chunks>.Iterator
        let decoder: PickleDecoder

        /// The next value; nil at the end of the stream.
        /// - Throws: ``PickleError`` for a malformed pickle, `DecodingError` for one that is not a `T`.
        public mutating func next() async throws -> T? {
            guard let graph = try await pickles.next() else { return nil }
            return try decoder.decode(T.self, from: graph)
        }
    }
}

extension StreamingPickler {
    /// Pickles an `Encodable` value as one complete pickle, at this pickler's protocol.
    ///
    /// ```swift
    /// var log = try StreamingPickler(appendingTo: "events.pkl", records: .independent)
    /// try log.dump(encodable: Event(seq: 1, msg: "start"))
    /// ```
    /// - Parameters:
    ///   - value: the value.
    ///   - encoder: the key strategies and user info to encode with; its protocol and pickler options are not
    ///     used (this pickler's are).
    /// - Throws: `EncodingError` for a value Python cannot hold; the sink's errors.
    public mutating func dump<T: Encodable>(encodable value: T, using encoder: PickleEncoder = PickleEncoder()) throws {
        try dump(encoder.encodeGraph(value))
    }
}
