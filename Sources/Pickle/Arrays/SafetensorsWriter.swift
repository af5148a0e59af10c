#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `.safetensors` files: an 8-byte little-endian header length, the JSON header (padded with spaces
/// to a multiple of 8 bytes) naming each tensor's dtype, shape and `data_offsets`, then the tensors' bytes,
/// little-endian and C-contiguous, one after another.
///
/// Tensors are written straight from where they lie (a checkpoint's mapping, a pickle's payload): a
/// contiguous little-endian tensor is one write of its bytes; a strided or big-endian one is gathered in
/// blocks of ``blockSize``; a checkpoint's pages are let go once written, so memory stays near one tensor
/// whatever the file's size.
public struct SafetensorsWriter {
    /// One tensor to write.
    public struct Tensor {
        /// Its name in the file.
        public let name: String
        /// safetensors' dtype (`F32`, `BF16`, `I64`, `BOOL`, ...).
        public let dtype: String
        /// Its shape.
        public let shape: [Int]
        let itemSize: Int
        /// Bytes per element.
        public var itemSizeInBytes: Int { itemSize }
        /// Bytes swapped in units of this size (0: none), for big-endian sources.
        let swapUnit: Int
        /// The element offsets (in items) in C order, over `source`.
        let offsets: StridedOffsets
        let isContiguous: Bool
        let source: (@escaping (UnsafeRawBufferPointer) throws -> Void) throws -> Void

        var byteCount: Int { shape.reduce(1, *) * itemSize }
    }

    /// The size of the blocks gathered for strided or byte-swapped tensors.
    public static let blockSize = 1 << 20

    /// Tensors whose views were identical to an earlier one's (same storage, offset, shape and stride):
    /// written once, under the first name; safetensors keeps no shared storage. Dropped name, kept name.
    public private(set) var aliases: [(dropped: String, kept: String)] = []
    /// The tensors to write, in order.
    public private(set) var tensors: [Tensor] = []
    private var viewNames: [String: String] = [:]

    public init() {}

    /// Adds a checkpoint tensor.
    /// - Throws: ``ArrayError/invalid(_:)`` for a dtype safetensors has no name for (complex).
    public mutating func add(_ tensor: TensorView, named name: String) throws {
        let view = "\(tensor.storage.key)|\(tensor.storageOffset)|\(tensor.shape)|\(tensor.stride)"
        if let kept = viewNames[view] {
            aliases.append((name, kept))
            return
        }
        viewNames[view] = name
        let dtype: String
        switch tensor.dtype {
        case .float32: dtype = "F32"
        case .float64: dtype = "F64"
        case .float16: dtype = "F16"
        case .bfloat16: dtype = "BF16"
        case .int8: dtype = "I8"
        case .uint8, .untyped: dtype = "U8"
        case .int16: dtype = "I16"
        case .int32: dtype = "I32"
        case .int64: dtype = "I64"
        case .bool: dtype = "BOOL"
        case .float8e4m3fn: dtype = "F8_E4M3"
        case .float8e5m2: dtype = "F8_E5M2"
        case .complex64, .complex128: throw ArrayError.invalid("tensor '\(name)' is \(tensor.dtype.name), which safetensors cannot hold")
        }
        let size = tensor.dtype.itemSize
        let swap = tensor.byteOrder == .big && size > 1
        if tensor.isContiguous && !swap {
            // Only the tensor's own span, in one piece.
            let span = tensor.storage.bytes.slice(tensor.storageOffset * size ..< (tensor.storageOffset + tensor.count) * size)
            tensors.append(Tensor(name: name, dtype: dtype, shape: tensor.shape, itemSize: size, swapUnit: 0,
                                  offsets: StridedOffsets(shape: [tensor.count], strides: [1]), isContiguous: true,
                                  source: { write in
                                      try span.withUnsafeBytes(write)
                                      span.file.dropResidentPages(span.range)
                                  }))
        } else {
            let bytes = tensor.storage.bytes
            tensors.append(Tensor(name: name, dtype: dtype, shape: tensor.shape, itemSize: size, swapUnit: swap ? size : 0,
                                  offsets: StridedOffsets(shape: tensor.shape, strides: tensor.stride, start: tensor.storageOffset),
                                  isContiguous: false, source: { write in
                                      try bytes.withUnsafeBytes(write)
                                      bytes.file.dropResidentPages(bytes.range)
                                  }))
        }
    }

    /// Adds a numpy array.
    /// - Throws: ``ArrayError/invalid(_:)`` for a dtype safetensors has no name for (complex, text,
    ///   datetimes, records, objects).
    public mutating func add(_ array: NDArrayView, named name: String) throws {
        try addArray(named: name, dtype: array.dtype, shape: array.shape, strides: array.strides, isFortranOrder: array.isFortranOrder) { write in
            try array.bytes.withUnsafeBytes(write)
            array.bytes.dropResidentPages()
        }
    }

    /// Adds an array of an `.npz` file, read only when the file is written: a stored array straight from
    /// the mapping, a deflated one inflated then, so memory stays near one array whatever the archive's size.
    /// - Throws: as ``add(_:named:)-(NDArrayView,_)``.
    public mutating func add(_ member: NumpyArchive.Member, of archive: NumpyArchive, named name: String) throws {
        let header = member.header
        let strides = NDArrayView.contiguousStrides(shape: header.shape, itemSize: header.dtype.itemSize, isFortranOrder: header.isFortranOrder)
        try addArray(named: name, dtype: header.dtype, shape: header.shape, strides: strides, isFortranOrder: header.isFortranOrder) { write in
            let array = try archive.array(member)
            try array.bytes.withUnsafeBytes(write)
            array.bytes.dropResidentPages()
        }
    }

    private mutating func addArray(named name: String, dtype: NumpyDType, shape: [Int], strides: [Int], isFortranOrder: Bool,
                                   source: @escaping (@escaping (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let code: String
        switch (dtype.kind, dtype.itemSize) {
        case (.bool, 1): code = "BOOL"
        case (.signedInteger, let size): code = "I\(size * 8)"
        case (.unsignedInteger, let size): code = "U\(size * 8)"
        case (.floatingPoint, 2): code = "F16"
        case (.floatingPoint, 4): code = "F32"
        case (.floatingPoint, 8): code = "F64"
        default: throw ArrayError.invalid("array '\(name)' is \(dtype), which safetensors cannot hold")
        }
        tensors.append(Tensor(name: name, dtype: code, shape: shape, itemSize: dtype.itemSize,
                              swapUnit: dtype.byteOrder == .big ? dtype.itemSize : 0,
                              offsets: StridedOffsets(shape: shape, strides: strides.map { $0 / dtype.itemSize }),
                              isContiguous: !isFortranOrder || shape.filter { $0 != 1 }.count <= 1,
                              source: source))
    }

    /// The JSON header, padded with spaces to a multiple of 8 bytes.
    public func header(metadata: [String: String] = [:]) -> [UInt8] {
        var fields: [String] = []
        if !metadata.isEmpty {
            fields.append("\"__metadata__\":{" + metadata.sorted { $0.key < $1.key }.map { "\(Self.json($0.key)):\(Self.json($0.value))" }.joined(separator: ",") + "}")
        }
        var offset = 0
        for tensor in tensors {
            let end = offset + tensor.byteCount
            fields.append("\(Self.json(tensor.name)):{\"dtype\":\"\(tensor.dtype)\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        return header
    }

    /// Writes the file at `path` (replaced if it exists).
    /// - Throws: ``ArchiveError/io(_:)`` when the file cannot be written.
    public func write(to path: String, metadata: [String: String] = [:]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArchiveError.io("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        func put(_ raw: UnsafeRawBufferPointer) throws {
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ArchiveError.io("cannot write \(path): \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
        let header = header(metadata: metadata)
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try put($0) }
        try header.withUnsafeBytes { try put($0) }
        for tensor in tensors {
            try tensor.source { raw in
                if tensor.isContiguous && tensor.swapUnit == 0 {
                    try put(raw)
                    return
                }
                var block: [UInt8] = []
                block.reserveCapacity(Self.blockSize)
                for element in tensor.offsets {
                    let start = element * tensor.itemSize
                    if tensor.swapUnit > 0 {
                        block.append(contentsOf: raw[start ..< start + tensor.itemSize].reversed())
                    } else {
                        block.append(contentsOf: raw[start ..< start + tensor.itemSize])
                    }
                    if block.count >= Self.blockSize {
                        try block.withUnsafeBytes { try put($0) }
                        block.removeAll(keepingCapacity: true)
                    }
                }
                try block.withUnsafeBytes { try put($0) }
            }
        }
    }

    private static func json(_ text: String) -> String { JSONText.quoted(text) }
}
