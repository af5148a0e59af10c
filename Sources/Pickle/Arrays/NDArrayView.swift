/// A numpy array in a pickle, read without numpy and without copying its elements.
///
/// Recognised at every protocol in the forms numpy 1 and 2 write (`numpy.core` or `numpy._core`):
/// - `multiarray._reconstruct(cls, (0,), b'b')` then BUILD of `(1, shape, dtype, is_fortran, data)`, where
///   `data` is the element bytes (`bytes`, or `_codecs.encode` below protocol 3) or, for `dtype=object`, a
///   list of the items;
/// - protocol 5's `numeric._frombuffer(buffer, dtype, shape, order)`, the buffer in band (`bytearray`) or
///   out of band;
/// - `multiarray.scalar(dtype, data)`: a numpy scalar (`np.float32(1.5)`), a view of shape `[]`.
///
/// ``bytes`` is a slice of the decoded graph: of the input pickle for an in-band payload of 512 bytes or more,
/// or of the out-of-band buffer. Typed access checks the dtype against the Swift type.
public struct NDArrayView: Sendable {
    /// The element type.
    public let dtype: NumpyDType
    /// The dimensions (empty for a scalar or a 0-d array).
    public let shape: [Int]
    /// Whether the elements are in Fortran (column-major) order rather than C (row-major) order.
    public let isFortranOrder: Bool
    /// The element bytes in memory order, where they lie (empty for an object array).
    public let bytes: ElementBytes
    /// The items of an array whose elements hold Python objects (``NumpyDType/holdsObjects``), in memory
    /// order: each object of a `dtype=object` array, each record of a structured array with an object field
    /// as a tuple of its fields; nil for other arrays.
    public let objects: [PickleNode]?
    /// The array's class (`numpy.ndarray`, or a subclass such as `numpy.matrix`); nil for `_frombuffer` and
    /// scalars.
    public let arrayClass: GlobalName?
    /// Whether it is a numpy scalar (`np.float32(1.5)`, pickled by `multiarray.scalar`) rather than an array.
    public let isScalar: Bool

    /// How many elements the array holds.
    public var count: Int { shape.reduce(1, *) }

    /// The step in bytes between neighbours along each dimension, as numpy's `strides` for a contiguous array.
    public var strides: [Int] { Self.contiguousStrides(shape: shape, itemSize: dtype.itemSize, isFortranOrder: isFortranOrder) }

    /// The strides in bytes of a contiguous array of this shape, in C or Fortran order.
    static func contiguousStrides(shape: [Int], itemSize: Int, isFortranOrder: Bool) -> [Int] {
        var strides = [Int](repeating: 0, count: shape.count)
        var step = itemSize
        for axis in isFortranOrder ? Array(shape.indices) : shape.indices.reversed() {
            strides[axis] = step
            step *= shape[axis]
        }
        return strides
    }

    // MARK: - Reading a pickle

    /// Recognises a numpy array or scalar.
    /// - Throws: ``ArrayError/notAnArray`` when the node is not one; ``ArrayError/invalid(_:)``
    ///   when it is shaped as one but its parts disagree (a shape whose elements do not fill the data, a
    ///   dtype numpy would not write, an order other than 'C' or 'F').
    public init(_ node: PickleNode) throws {
        self = try Self.read(node)
    }

    private init(dtype: NumpyDType, shape: [Int], isFortranOrder: Bool, bytes: ElementBytes, objects: [PickleNode]?, arrayClass: GlobalName?,
                 isScalar: Bool = false) {
        self.isScalar = isScalar
        self.dtype = dtype
        self.shape = shape
        self.isFortranOrder = isFortranOrder
        self.bytes = bytes
        self.objects = objects
        self.arrayClass = arrayClass
    }

    private static let numpyModules: Set<String> = ["numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric"]

    private static func read(_ node: PickleNode) throws -> NDArrayView {
        let t = node.t
        guard let call = t.stdlibCall(node.ref), call.form == .reduce, numpyModules.contains(call.name.module) else { throw ArrayError.notAnArray }
        let isMultiarray = call.name.module.hasSuffix(".multiarray")
        switch call.name.name {
        case "_reconstruct" where isMultiarray:
            guard call.args.count == 3, let cls = t.globalName(call.args[0]) else { throw ArrayError.invalid("_reconstruct's arguments are not (class, shape, typecode)") }
            guard call.operations.count == 1, case .build(let stateRef) = call.operations[0], let state = t.tupleItems(stateRef), state.count == 5,
                  t.intValue(state[0]) == 1 else {
                throw ArrayError.invalid("the array's state is not (1, shape, dtype, is_fortran, data)")
            }
            let dtype = try dtypeOf(t, state[2])
            let shape = try shapeOf(t, state[1])
            guard state[3] == .true || state[3] == .false else { throw ArrayError.invalid("is_fortran is not a bool") }
            return try make(node, dtype, shape, fortran: state[3] == .true, data: state[4], arrayClass: cls)
        case "_frombuffer" where !isMultiarray:
            guard call.args.count == 4, call.operations.isEmpty else { throw ArrayError.invalid("_frombuffer's arguments are not (buffer, dtype, shape, order)") }
            let dtype = try dtypeOf(t, call.args[1])
            let shape = try shapeOf(t, call.args[2])
            let order = t.stringValue(call.args[3])
            guard order == "C" || order == "F" else { throw ArrayError.invalid("the order is not 'C' or 'F'") }
            guard dtype.kind != .object else { throw ArrayError.invalid("an object array cannot come from a buffer") }
            return try make(node, dtype, shape, fortran: order == "F", data: call.args[0], arrayClass: nil)
        case "scalar" where isMultiarray:
            guard call.args.count == 2, call.operations.isEmpty else { throw ArrayError.invalid("scalar's arguments are not (dtype, data)") }
            let dtype = try dtypeOf(t, call.args[0])
            if dtype.kind == .object {
                return NDArrayView(dtype: dtype, shape: [], isFortranOrder: false, bytes: [], objects: [PickleNode(graph: node.graph, ref: call.args[1])],
                                   arrayClass: nil, isScalar: true)
            }
            let array = try make(node, dtype, [], fortran: false, data: call.args[1], arrayClass: nil)
            return NDArrayView(dtype: dtype, shape: [], isFortranOrder: false, bytes: array.bytes, objects: nil, arrayClass: nil, isScalar: true)
        default:
            throw ArrayError.notAnArray
        }
    }

    private static func dtypeOf(_ t: GraphTables, _ ref: PickleRef) throws -> NumpyDType {
        guard let dtype = NumpyDType.recognize(t, ref, depth: 0) else { throw ArrayError.invalid("the dtype is not one numpy writes") }
        return dtype
    }

    private static func shapeOf(_ t: GraphTables, _ ref: PickleRef) throws -> [Int] {
        guard let items = t.tupleItems(ref) else { throw ArrayError.invalid("the shape is not a tuple") }
        guard items.count <= 64 else { throw ArrayError.invalid("the shape has \(items.count) dimensions; numpy allows 64") }
        return try items.map {
            guard let n = t.intValue($0), n >= 0 else { throw ArrayError.invalid("a dimension is not an int of at least 0") }
            return n
        }
    }

    /// An array of the elements in `data`, which its shape must fill exactly.
    init(dtype: NumpyDType, shape: [Int], fortran: Bool, data: ElementBytes, arrayClass: GlobalName? = nil) throws {
        let count = try Self.elementCount(shape)
        let (size, overflow) = count.multipliedReportingOverflow(by: dtype.itemSize)
        guard !overflow, size == data.count else {
            throw ArrayError.invalid("the shape \(shape) of \(dtype.itemSize)-byte elements needs \(overflow ? "more than Int.max" : String(size)) bytes; the data has \(data.count)")
        }
        self.init(dtype: dtype, shape: shape, isFortranOrder: fortran, bytes: data, objects: nil, arrayClass: arrayClass)
    }

    static func elementCount(_ shape: [Int]) throws -> Int {
        var count = 1
        for n in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw ArrayError.invalid("the shape \(shape) overflows") }
            count = product
        }
        return count
    }

    private static func make(_ node: PickleNode, _ dtype: NumpyDType, _ shape: [Int], fortran: Bool, data: PickleRef, arrayClass: GlobalName?) throws -> NDArrayView {
        let count = try elementCount(shape)
        let element = PickleNode(graph: node.graph, ref: data)
        if dtype.holdsObjects {
            guard let items = element.elements, element.t.node(data, .list) != nil else {
                throw ArrayError.invalid("an object array's data is not a list")
            }
            guard items.count == count else {
                throw ArrayError.invalid("the shape \(shape) holds \(count) objects, the list \(items.count)")
            }
            return NDArrayView(dtype: dtype, shape: shape, isFortranOrder: fortran, bytes: [], objects: items, arrayClass: arrayClass)
        }
        guard let bytes = element.bytes else { throw ArrayError.invalid("the data is not bytes, a bytearray or a buffer") }
        return try NDArrayView(dtype: dtype, shape: shape, fortran: fortran, data: ElementBytes(bytes), arrayClass: arrayClass)
    }

    // MARK: - Typed access

    /// Calls `body` with the elements in memory order, typed: without copying when the bytes are aligned for
    /// `T`, in this machine's byte order and valid as they are (the usual case for out-of-band buffers), else
    /// through an aligned copy in this machine's order (a bool array's non-zero bytes read as true).
    /// - Throws: ``ArrayError/typeMismatch(expected:found:)`` when the dtype is not `T`'s.
    public func withUnsafeBufferPointer<T: NumpyElement, R>(as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R) throws -> R {
        try check(type)
        if dtype.byteOrder != .notApplicable && dtype.byteOrder != .native {
            return try memoryOrderElements(type).withUnsafeBufferPointer(body)
        }
        return try bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<T>.alignment == 0, T.isValidInPlace(raw) {
                return try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: T.self), count: count))
            }
            if raw.isEmpty { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
            return try memoryOrderElements(type).withUnsafeBufferPointer(body)
        }
    }

    /// The elements as a Swift array in C (row-major) order, whatever the array's order and byte order.
    /// - Throws: ``ArrayError/typeMismatch(expected:found:)`` when the dtype is not `T`'s.
    public func elements<T: NumpyElement>(as type: T.Type) throws -> [T] {
        try check(type)
        let inMemory = try memoryOrderElements(type)
        guard isFortranOrder, shape.count > 1 else { return inMemory }
        // The C-order walk over Fortran-order memory.
        var fortranStrides = [Int](repeating: 1, count: shape.count)
        for axis in 1 ..< shape.count { fortranStrides[axis] = fortranStrides[axis - 1] * shape[axis - 1] }
        var result: [T] = []
        result.reserveCapacity(inMemory.count)
        for position in StridedOffsets(shape: shape, strides: fortranStrides) { result.append(inMemory[position]) }
        return result
    }

    private func check<T: NumpyElement>(_ type: T.Type) throws {
        guard T.numpyKinds.contains(dtype.kind), dtype.itemSize == MemoryLayout<T>.size, dtype.fields == nil, dtype.subarray == nil else {
            throw ArrayError.typeMismatch(expected: "\(T.self)", found: dtype)
        }
    }

    /// The elements in memory order, in this machine's byte order.
    private func memoryOrderElements<T: NumpyElement>(_ type: T.Type) throws -> [T] {
        let swap = dtype.byteOrder != .notApplicable && dtype.byteOrder != .native
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                for i in 0 ..< count {
                    (buffer.baseAddress! + i).initialize(to: T.load(from: raw, at: i * MemoryLayout<T>.size, swapped: swap))
                }
            }
            initialized = count
        }
    }
}

/// Why a node is not a usable numpy array or tensor.
public enum ArrayError: Error, Equatable, CustomStringConvertible {
    /// The node is not a numpy array or array scalar at all.
    case notAnArray
    /// It is shaped as an array, but its parts disagree.
    case invalid(String)
    /// The elements are not of the Swift type asked for.
    case typeMismatch(expected: String, found: NumpyDType)

    public var description: String {
        switch self {
        case .notAnArray: return "not a numpy array"
        case .invalid(let reason): return "not a valid array: \(reason)"
        case .typeMismatch(let expected, let found): return "an array of \(found) read as \(expected)"
        }
    }
}

/// A Swift type that numpy elements of some kinds and size can be read as.
public protocol NumpyElement: BitwiseCopyable {
    /// The dtype kinds whose elements of this type's size are this type.
    static var numpyKinds: Set<NumpyDType.Kind> { get }
    /// The element at byte `offset` of `raw` (any alignment), its bytes reversed when `swapped`.
    static func load(from raw: UnsafeRawBufferPointer, at offset: Int, swapped: Bool) -> Self
    /// Whether every element in `raw` is a valid value as its bytes stand (true but for `Bool`, whose bytes
    /// must be 0 or 1).
    static func isValidInPlace(_ raw: UnsafeRawBufferPointer) -> Bool
}

extension NumpyElement {
    public static func isValidInPlace(_ raw: UnsafeRawBufferPointer) -> Bool { true }
}

extension NumpyElement where Self: FixedWidthInteger {
    public static func load(from raw: UnsafeRawBufferPointer, at offset: Int, swapped: Bool) -> Self {
        let value = raw.loadUnaligned(fromByteOffset: offset, as: Self.self)
        return swapped ? value.byteSwapped : value
    }
}

extension Int8: NumpyElement { public static var numpyKinds: Set<NumpyDType.Kind> { [.signedInteger] } }
extension Int16: NumpyElement { public static var numpyKinds: Set<NumpyDType.Kind> { [.signedInteger] } }
extension Int32: NumpyElement { public static var numpyKinds: Set<NumpyDType.Kind> { [.signedInteger] } }
/// datetime64 and timedelta64 elements are Int64 counts of their unit (NaT is Int64.min).
extension Int64: NumpyElement { public static var numpyKinds: Set<NumpyDType.Kind> { [.signedInteger, .datetime, .timedelta] } }
extension Int: NumpyElement { public static var numpyKinds: Set<NumpyDType.Kind> { [.signedInteger, .datetime, .timedelta] } }
extension UInt8: NumpyElement { public static var numpyKinds: Set<NumpyDType.Kind> { [.unsignedInteger] } }
extension UInt16: NumpyElement { public static var numpyKinds: Set<NumpyDType.Kind> { [.unsignedInteger] } }
extension UInt32: NumpyElement { public static var numpyKinds: Set<NumpyDType.Kind> { [.unsignedInteger] } }
extension UInt64: NumpyElement { public static var numpyKinds: Set<NumpyDType.Kind> { [.unsignedInteger] } }
extension UInt: NumpyElement { public static var numpyKinds: Set<NumpyDType.Kind> { [.unsignedInteger] } }

extension Bool: NumpyElement {
    public static var numpyKinds: Set<NumpyDType.Kind> { [.bool] }

    /// Any non-zero byte is true, as numpy reads it.
    public static func load(from raw: UnsafeRawBufferPointer, at offset: Int, swapped: Bool) -> Bool { raw[offset] != 0 }

    public static func isValidInPlace(_ raw: UnsafeRawBufferPointer) -> Bool { raw.allSatisfy { $0 <= 1 } }
}

extension NumpyElement where Self: BinaryFloatingPoint, Self.RawSignificand: FixedWidthInteger {
    static func load<Bits: FixedWidthInteger>(from raw: UnsafeRawBufferPointer, at offset: Int, swapped: Bool, bits: Bits.Type,
                                              _ make: (Bits) -> Self) -> Self {
        let pattern = raw.loadUnaligned(fromByteOffset: offset, as: Bits.self)
        return make(swapped ? pattern.byteSwapped : pattern)
    }
}

extension Float: NumpyElement {
    public static var numpyKinds: Set<NumpyDType.Kind> { [.floatingPoint] }
    public static func load(from raw: UnsafeRawBufferPointer, at offset: Int, swapped: Bool) -> Float {
        load(from: raw, at: offset, swapped: swapped, bits: UInt32.self, Float.init(bitPattern:))
    }
}

extension Double: NumpyElement {
    public static var numpyKinds: Set<NumpyDType.Kind> { [.floatingPoint] }
    public static func load(from raw: UnsafeRawBufferPointer, at offset: Int, swapped: Bool) -> Double {
        load(from: raw, at: offset, swapped: swapped, bits: UInt64.self, Double.init(bitPattern:))
    }
}

#if !(os(macOS) && arch(x86_64))
extension Float16: NumpyElement {
    public static var numpyKinds: Set<NumpyDType.Kind> { [.floatingPoint] }
    public static func load(from raw: UnsafeRawBufferPointer, at offset: Int, swapped: Bool) -> Float16 {
        load(from: raw, at: offset, swapped: swapped, bits: UInt16.self, Float16.init(bitPattern:))
    }
}
#endif

extension NDArrayView: Codable {
    /// The numpy array being decoded, with ``PickleDecoder``: a field of this type reads an array in place.
    /// - Throws: `DecodingError.typeMismatch` when the value is not an array or from any other decoder;
    ///   `dataCorrupted` when it is shaped as one but its parts disagree.
    public init(from decoder: any Decoder) throws {
        guard let reader = decoder as? PickleValueReader else {
            throw DecodingError.typeMismatch(NDArrayView.self, .init(codingPath: decoder.codingPath, debugDescription: "An NDArrayView is decoded only by PickleDecoder"))
        }
        do {
            self = try NDArrayView(PickleNode(graph: reader.graph, ref: reader.ref))
        } catch ArrayError.invalid(let reason) {
            reader.noteFailure(reader.ref)
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "Not a valid numpy array: \(reason)"))
        } catch {
            throw reader.mismatch(NDArrayView.self, reader.ref, reader.path, "a numpy array")
        }
    }

    /// Writes the array as numpy pickles it below protocol 5 (`_reconstruct`), which loads at every protocol,
    /// with ``PickleEncoder``.
    /// - Throws: `EncodingError.invalidValue` for an object array or a dtype that is not written, or from any
    ///   encoder but ``PickleEncoder``'s.
    public func encode(to encoder: any Encoder) throws {
        guard let writer = encoder as? PickleValueWriter else {
            throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath, debugDescription: "An NDArrayView is encoded only by PickleEncoder"))
        }
        do {
            try pickleGraph(forProtocol: 4).root.encode(to: writer)
        } catch let error as ArrayError {
            throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath, debugDescription: "\(error)"))
        }
    }
}
