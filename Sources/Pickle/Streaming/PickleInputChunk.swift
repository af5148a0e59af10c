/// A chunk of input bytes a ``StreamingUnpickler`` accepts: `[UInt8]`, `ArraySlice<UInt8>`, Foundation's
/// `Data`, or any type that can present its bytes as an array slice.
///
/// Arrays and slices are taken as they are (payloads inside them stay slices of them: zero copy); `Data` is
/// copied once into an array, since the graph keeps its large payloads as slices of the chunk.
public protocol PickleInputChunk {
    /// The chunk's bytes.
    var pickleBytes: ArraySlice<UInt8> { get }
}

extension Array: PickleInputChunk where Element == UInt8 {
    /// The array itself, as a slice (no copy).
    public var pickleBytes: ArraySlice<UInt8> { self[...] }
}

extension ArraySlice: PickleInputChunk where Element == UInt8 {
    /// The slice itself (no copy).
    public var pickleBytes: ArraySlice<UInt8> { self }
}
