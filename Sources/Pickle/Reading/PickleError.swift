/// The one error type of this library: what went wrong, where in the stream, and in which opcode.
///
/// Errors compare equal when their codes are equal, so tests and callers can match on the kind of failure
/// (`error.code == .truncated`) while people read ``message`` and ``description``.
public struct PickleError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A kind of failure. An open set of named values, so new kinds can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name, such as `truncated`.
        public let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The input ended exactly between two opcodes, before STOP (CPython's EOFError "Ran out of input").
        public static let endOfInput = Code("endOfInput")
        /// The input ended inside an opcode or its argument (CPython's "pickle data was truncated").
        public static let truncated = Code("truncated")
        /// A byte that is not an opcode.
        public static let invalidOpcode = Code("invalidOpcode")
        /// An opcode needed more stack items than there were.
        public static let stackUnderflow = Code("stackUnderflow")
        /// An opcode found a MARK where it needed an object.
        public static let unexpectedMark = Code("unexpectedMark")
        /// An opcode that consumes a MARK found none.
        public static let missingMark = Code("missingMark")
        /// A GET of a memo index that was never stored.
        public static let missingMemoEntry = Code("missingMemoEntry")
        /// An argument that is malformed (bad digits, bad quoting, negative lengths, bad escapes).
        public static let invalidArgument = Code("invalidArgument")
        /// Text that cannot be decoded with the configured encoding.
        public static let decodingFailed = Code("decodingFailed")
        /// A codec or error handler name that CPython does not know, or a codec this library cannot decode
        /// with (not a text encoding, or no converter on this platform).
        public static let unknownCodec = Code("unknownCodec")
        /// A PROTO opcode above 5.
        public static let unsupportedProtocol = Code("unsupportedProtocol")
        /// An opcode crossed the end of a frame, or a frame began before the previous one ended.
        public static let frameViolation = Code("frameViolation")
        /// Operands of the wrong type (REDUCE arguments that are not a tuple, an unhashable dict key, ...).
        public static let typeMismatch = Code("typeMismatch")
        /// NEXT_BUFFER without out-of-band buffers, or more NEXT_BUFFERs than buffers.
        public static let missingBuffer = Code("missingBuffer")
        /// A resolver or hook installed by the caller rejected the input.
        public static let rejected = Code("rejected")
        /// A configured limit (size, depth, memo entries) was exceeded.
        public static let limitExceeded = Code("limitExceeded")
        /// A value cannot be pickled at the requested protocol.
        public static let unpicklable = Code("unpicklable")
        /// Writing to an output failed.
        public static let ioFailure = Code("ioFailure")
        /// Compressed input is corrupt, truncated, fails its checksum, or exceeds a decompression limit.
        public static let decompressionFailed = Code("decompressionFailed")
        /// Compressing output failed.
        public static let compressionFailed = Code("compressionFailed")
    }

    /// What went wrong.
    public var code: Code
    /// The byte offset in the stream of the opcode that failed (or of the end of input).
    public var offset: Int
    /// The opcode that failed, when the failure happened inside one.
    public var opcode: Opcode?
    /// A sentence a person understands, saying what was expected.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, offset: Int, opcode: Opcode? = nil, _ message: String) {
        self.code = code
        self.offset = offset
        self.opcode = opcode
        self.message = message
    }

    public var description: String {
        if let opcode { return "at offset \(offset) (\(opcode.name)): \(message)" }
        return "at offset \(offset): \(message)"
    }

    public static func == (lhs: PickleError, rhs: PickleError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
