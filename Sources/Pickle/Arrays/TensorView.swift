/// The element types of PyTorch storages, named as `torch.save` names their storage classes.
public enum TorchDType: String, Sendable, CaseIterable {
    case float32 = "FloatStorage"
    case float64 = "DoubleStorage"
    case float16 = "HalfStorage"
    case bfloat16 = "BFloat16Storage"
    case int8 = "CharStorage"
    case uint8 = "ByteStorage"
    case int16 = "ShortStorage"
    case int32 = "IntStorage"
    case int64 = "LongStorage"
    case bool = "BoolStorage"
    case complex64 = "ComplexFloatStorage"
    case complex128 = "ComplexDoubleStorage"
    case float8e4m3fn = "Float8_e4m3fnStorage"
    case float8e5m2 = "Float8_e5m2Storage"
    /// Bytes with no element type (`torch.UntypedStorage`).
    case untyped = "UntypedStorage"

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .bool, .int8, .uint8, .float8e4m3fn, .float8e5m2, .untyped: return 1
        case .float16, .bfloat16, .int16: return 2
        case .float32, .int32: return 4
        case .float64, .int64, .complex64: return 8
        case .complex128: return 16
        }
    }

    /// torch's name (`float32`, `bfloat16`, ...), as safetensors' header names it in capitals.
    public var name: String {
        switch self {
        case .float8e4m3fn: return "float8_e4m3fn"
        case .float8e5m2: return "float8_e5m2"
        case .untyped: return "uint8"
        default: return "\(self)"
        }
    }

    /// The numpy dtype of the same elements in `byteOrder`; nil for bfloat16 and float8, which numpy lacks.
    public func numpyDType(byteOrder: NumpyDType.ByteOrder) -> NumpyDType? {
        let kind: NumpyDType.Kind
        switch self {
        case .float32, .float64, .float16: kind = .floatingPoint
        case .int8, .int16, .int32, .int64: kind = .signedInteger
        case .uint8, .untyped: kind = .unsignedInteger
        case .bool: kind = .bool
        case .complex64, .complex128: kind = .complex
        case .bfloat16, .float8e4m3fn, .float8e5m2: return nil
        }
        return NumpyDType(kind: kind, itemSize: itemSize, byteOrder: byteOrder)
    }
}

/// A storage of a PyTorch checkpoint: one `data/<key>` record of the archive, in place.
public struct TorchStorage: Sendable {
    /// The record's key (`data/<key>`).
    public let key: String
    /// The element type.
    public let dtype: TorchDType
    /// How many elements the storage holds.
    public let count: Int
    /// Where it was saved from (`cpu`, `cuda:0`).
    public let location: String
    /// Its bytes: `count × itemSize` of the archive's mapping.
    public let bytes: MappedBytes
}

/// A tensor of a PyTorch checkpoint: a strided view of a storage, its bytes never copied until asked for.
public struct TensorView: Sendable {
    /// The storage it views (shared with every other tensor of the same key).
    public let storage: TorchStorage
    /// The dimensions.
    public let shape: [Int]
    /// The step between neighbours along each dimension, in elements.
    public let stride: [Int]
    /// The first element's index in the storage.
    public let storageOffset: Int
    /// Whether it was saved with `requires_grad=True`.
    public let requiresGradient: Bool
    /// Whether it was an `nn.Parameter` (`torch._utils._rebuild_parameter`).
    public let isParameter: Bool
    /// The archive's byte order (`byteorder` record; little when absent).
    public let byteOrder: NumpyDType.ByteOrder

    /// The element type.
    public var dtype: TorchDType { storage.dtype }
    /// How many elements the tensor has.
    public var count: Int { shape.reduce(1, *) }

    /// Whether the elements are consecutive in C order from ``storageOffset``.
    public var isContiguous: Bool {
        var expected = 1
        for axis in shape.indices.reversed() where shape[axis] != 1 {
            guard stride[axis] == expected else { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// The bytes of a contiguous tensor, in place; nil for a strided one (use ``elements(as:)``).
    public var contiguousBytes: MappedBytes? {
        guard isContiguous else { return nil }
        let size = dtype.itemSize
        return storage.bytes.slice(storageOffset * size ..< (storageOffset + count) * size)
    }

    init(storage: TorchStorage, shape: [Int], stride: [Int], storageOffset: Int, requiresGradient: Bool, isParameter: Bool,
         byteOrder: NumpyDType.ByteOrder) throws {
        guard shape.count == stride.count else { throw ArrayError.invalid("size \(shape) and stride \(stride) differ in length") }
        guard shape.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }), storageOffset >= 0 else {
            throw ArrayError.invalid("a negative size, stride or storage offset")
        }
        // The last element's index must lie inside the storage (an empty tensor needs none).
        if !shape.contains(0) {
            var last = storageOffset
            for (n, step) in zip(shape, stride) {
                let (reach, o1) = (n - 1).multipliedReportingOverflow(by: step)
                let (sum, o2) = last.addingReportingOverflow(reach)
                guard !o1, !o2 else { throw ArrayError.invalid("size \(shape) with stride \(stride) overflows") }
                last = sum
            }
            guard last < storage.count else {
                throw ArrayError.invalid("size \(shape), stride \(stride) and offset \(storageOffset) reach element \(last) of a storage of \(storage.count)")
            }
        } else {
            guard storageOffset <= storage.count else { throw ArrayError.invalid("storage offset \(storageOffset) past a storage of \(storage.count)") }
        }
        var product = 1
        for n in shape {
            let (p, overflow) = product.multipliedReportingOverflow(by: n)
            guard !overflow else { throw ArrayError.invalid("size \(shape) overflows") }
            product = p
        }
        self.storage = storage
        self.shape = shape
        self.stride = stride
        self.storageOffset = storageOffset
        self.requiresGradient = requiresGradient
        self.isParameter = isParameter
        self.byteOrder = byteOrder
    }

    /// The elements in C order, in this machine's byte order, following the strides.
    /// - Throws: ``ArrayError/typeMismatch(expected:found:)`` when the dtype is not `T`'s.
    public func elements<T: NumpyElement>(as type: T.Type) throws -> [T] {
        guard let numpy = dtype.numpyDType(byteOrder: byteOrder), T.numpyKinds.contains(numpy.kind), MemoryLayout<T>.size == dtype.itemSize else {
            throw ArrayError.typeMismatch(expected: "\(T.self)", found: dtype.numpyDType(byteOrder: byteOrder) ?? NumpyDType(kind: .void, itemSize: dtype.itemSize))
        }
        let swap = numpy.byteOrder != .notApplicable && numpy.byteOrder != .native
        let size = dtype.itemSize
        var result: [T] = []
        result.reserveCapacity(count)
        guard count > 0 else { return result }
        storage.bytes.withUnsafeBytes { raw in
            for element in StridedOffsets(shape: shape, strides: stride, start: storageOffset) {
                result.append(T.load(from: raw, at: element * size, swapped: swap))
            }
        }
        return result
    }
}
