/// The bytes of a Python `bytes`, `bytearray` or out-of-band buffer, as a `Codable` field that does not copy.
///
/// ``PickleDecoder`` gives a field of this type a slice of the decoded graph's bytes: a payload of 512 bytes
/// or more stays a slice of the input pickle, and an out-of-band buffer is shared, so a large payload costs no
/// copy. (`Data` and `[UInt8]` fields copy once.) ``PickleEncoder`` writes it as `bytes`.
///
/// ```swift
/// struct Frame: Codable { let seq: Int; let payload: PickleBytes }
/// let frame = try PickleDecoder().decode(Frame.self, from: pickle)
/// frame.payload.withUnsafeBytes { raw in ... }
/// ```
public struct PickleBytes: RandomAccessCollection, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The bytes, a slice of the storage they were decoded from.
    public var slice: ArraySlice<UInt8>

    /// Bytes held as a slice (not copied).
    public init(_ slice: ArraySlice<UInt8>) { self.slice = slice }

    /// Bytes copied from a sequence.
    public init(_ bytes: some Sequence<UInt8>) { self.slice = ArraySlice(bytes) }

    public var startIndex: Int { slice.startIndex }
    public var endIndex: Int { slice.endIndex }
    public subscript(position: Int) -> UInt8 { slice[position] }

    /// Calls `body` with the bytes in place.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try slice.withUnsafeBytes(body)
    }

    /// Python's repr of the bytes, `b'...'`.
    public var description: String { PythonRepr.bytes(slice) }

    /// Decodes from ``PickleDecoder`` without copying; from any other decoder, from an array of bytes.
    public init(from decoder: any Decoder) throws {
        if let reader = decoder as? PickleValueReader {
            self.slice = try reader.bytes(PickleBytes.self, reader.ref, reader.path)
        } else {
            self.slice = ArraySlice(try [UInt8](from: decoder))
        }
    }

    /// Encodes as `bytes` with ``PickleEncoder``; with any other encoder, as an array of bytes.
    public func encode(to encoder: any Encoder) throws {
        if let writer = encoder as? PickleValueWriter {
            writer.stored = .value(writer.graph.builder.payload(.bytes, slice))
        } else {
            try Array(slice).encode(to: encoder)
        }
    }
}
