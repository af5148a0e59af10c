/// The bytes of an array's elements where they already lie, never copied to be looked at: a slice of a
/// pickle's input or of an out-of-band buffer, or a range of a memory-mapped file (an `.npy` file, a stored
/// `.npz` entry).
///
/// Indexes run from 0 to `count`, whatever the storage; ``withUnsafeBytes(_:)`` reads them in place.
public struct ElementBytes: Sendable, RandomAccessCollection, Equatable {
    enum Storage: Sendable {
        case memory(ArraySlice<UInt8>)
        case mapped(MappedBytes)
    }

    let storage: Storage

    init(_ bytes: ArraySlice<UInt8>) { storage = .memory(bytes) }
    init(_ bytes: MappedBytes) { storage = .mapped(bytes) }

    public var startIndex: Int { 0 }
    public var endIndex: Int {
        switch storage {
        case .memory(let bytes): return bytes.count
        case .mapped(let bytes): return bytes.count
        }
    }

    public subscript(position: Int) -> UInt8 {
        switch storage {
        case .memory(let bytes):
            precondition(position >= 0 && position < bytes.count, "index out of range")
            return bytes[bytes.startIndex + position]
        case .mapped(let bytes): return bytes[position]
        }
    }

    /// Calls `body` with the bytes in place, valid only during the call.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .memory(let bytes): return try bytes.withUnsafeBytes(body)
        case .mapped(let bytes): return try bytes.withUnsafeBytes(body)
        }
    }

    /// The bytes as an array slice: bytes in memory as they are, mapped bytes copied out.
    var arraySlice: ArraySlice<UInt8> {
        switch storage {
        case .memory(let bytes): return bytes
        case .mapped(let bytes): return bytes.array[...]
        }
    }

    /// Where the bytes lie in their mapped file; nil for bytes in memory.
    public var fileRange: Range<Int>? {
        if case .mapped(let bytes) = storage { return bytes.range }
        return nil
    }

    /// Lets the kernel drop the pages of mapped bytes once they have been read (see
    /// ``MappedFile/dropResidentPages(_:)``); nothing for bytes in memory.
    func dropResidentPages() {
        if case .mapped(let bytes) = storage { bytes.file.dropResidentPages(bytes.range) }
    }

    /// Whether both hold the same bytes, wherever they lie.
    public static func == (lhs: ElementBytes, rhs: ElementBytes) -> Bool {
        lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in a.elementsEqual(b) } }
    }
}

extension ElementBytes: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: UInt8...) { self.init(elements[...]) }
}
