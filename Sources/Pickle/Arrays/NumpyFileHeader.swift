/// The header of an `.npy` file, parsed as `numpy.lib.format` reads it: the magic `\x93NUMPY`, a version
/// (1.0: a 2-byte header length; 2.0 and 3.0: 4 bytes; 3.0's header in UTF-8, the others' in Latin-1), then
/// a Python dict literal naming `descr`, `fortran_order` and `shape`.
public struct NumpyFileHeader: Sendable, Equatable {
    /// The element type.
    public let dtype: NumpyDType
    /// The dimensions.
    public let shape: [Int]
    /// Whether the elements are in Fortran order.
    public let isFortranOrder: Bool
    /// Where the elements (or, for an object array, its pickle) start in the file.
    public let dataOffset: Int

    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// The bytes that `init(_:)` needs to see: magic, version, header length and header. `prefix` must hold
    /// at least the first 12 bytes of the file, or all of it when shorter.
    /// - Throws: ``ArrayError/invalid(_:)`` when `prefix` is not the start of a `.npy` file.
    public static func size<Bytes: RandomAccessCollection<UInt8>>(from prefix: Bytes) throws -> Int where Bytes.Index == Int {
        let start = prefix.startIndex
        guard prefix.count >= 10, prefix.starts(with: magic) else { throw ArrayError.invalid("not a .npy file (no \\x93NUMPY magic)") }
        let major = prefix[start + 6]
        let lengthSize = major == 1 ? 2 : 4
        guard (1 ... 3).contains(major), prefix.count >= 8 + lengthSize else {
            throw ArrayError.invalid(".npy version \(major).\(prefix[start + 7]) is not 1, 2 or 3")
        }
        let length = (0 ..< lengthSize).reduce(0) { $0 | Int(prefix[start + 8 + $1]) << (8 * $1) }
        return 8 + lengthSize + length
    }

    /// Parses the header at the start of `bytes` (the whole file, or at least its first
    /// ``size(from:)`` bytes).
    /// - Throws: ``ArrayError/invalid(_:)`` for bytes that are not a `.npy` file's start, or a header that is
    ///   not a dict literal with a valid `descr`, a bool `fortran_order` and a `shape` of ints of at least 0.
    public init<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) throws where Bytes.Index == Int {
        let size = try Self.size(from: bytes)
        guard size <= bytes.count else { throw ArrayError.invalid("the header of \(size) bytes runs past the file") }
        let start = bytes.startIndex
        let major = bytes[start + 6]
        let text = bytes[start + (major == 1 ? 10 : 12) ..< start + size]
        let literal = major == 3 ? String(decoding: text, as: UTF8.self) : String(text.map { Character(Unicode.Scalar($0)) })
        var parser = PythonLiteralParser(literal)
        guard case .dict(let header)? = try? parser.parse() else { throw ArrayError.invalid("the header is not a Python dict literal") }
        guard let descr = header["descr"], case .bool(let fortran)? = header["fortran_order"], case .tuple(let dims)? = header["shape"] else {
            throw ArrayError.invalid("the header lacks descr, fortran_order or shape")
        }
        shape = try dims.map { item -> Int in
            guard case .int(let n) = item, n >= 0 else { throw ArrayError.invalid("a dimension is not an int of at least 0") }
            return n
        }
        dtype = try NDArrayView.npyDType(descr, depth: 0)
        isFortranOrder = fortran
        dataOffset = size
    }

    /// How many bytes the elements take (0 for an object array, whose items are pickled instead).
    /// - Throws: ``ArrayError/invalid(_:)`` when the shape overflows.
    public func elementByteCount() throws -> Int {
        guard !dtype.holdsObjects else { return 0 }
        let (size, overflow) = try NDArrayView.elementCount(shape).multipliedReportingOverflow(by: dtype.itemSize)
        guard !overflow else { throw ArrayError.invalid("the shape \(shape) overflows") }
        return size
    }
}
