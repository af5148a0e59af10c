// numpy dtypes and arrays written back as numpy pickles them, so that numpy (1 or 2) loads an equal array.

extension NumpyDType {
    /// The dtype as numpy pickles it: `numpy.dtype(typestr, False, True)`, then BUILD of its state.
    /// - Throws: ``ArrayError/invalid(_:)`` for structured, subarray and object dtypes, which are not written.
    public func pickleValue() throws -> PickleValue {
        guard fields == nil, subarray == nil, kind != .object else {
            throw ArrayError.invalid("\(self) is not written: only plain dtypes are (no fields, subarrays or objects)")
        }
        let flexible = kind == .bytes || kind == .unicode || kind == .void
        let size = kind == .unicode ? itemSize / 4 : itemSize
        let typestr = kind.rawValue + String(kind == .datetime || kind == .timedelta ? 8 : size)
        var state: [PickleValue] = [.int(timeUnit == nil ? 3 : 4), .string(byteOrder.rawValue), .none, .none, .none,
                                    .int(flexible ? itemSize : -1), .int(flexible ? (kind == .unicode ? 4 : 1) : -1), .int(kind == .unicode ? 8 : 0)]
        if let (unit, count) = timeUnit {
            state.append(.tuple([.none, .tuple([.bytes(Array(unit.utf8)), .int(count), .int(1), .int(1)])]))
        }
        return .object(PickleValue.ObjectValue(.reduce(callable: .global(GlobalName(module: "numpy", name: "dtype")), args: [.string(typestr), .bool(false), .bool(true)]),
                                   operations: [.build(state: .tuple(state))]))
    }
}

extension NDArrayView {
    /// The numpy package names an array pickle refers to.
    public enum NumpyModules: String, Sendable {
        /// `numpy._core`, as numpy 2 writes: loads in numpy 2, and in numpy 1.26, which has the alias.
        case numpy2 = "numpy._core"
        /// `numpy.core`, as numpy 1 writes: loads in every numpy 1; numpy 2 loads it too, with a
        /// DeprecationWarning for `_frombuffer`.
        case numpy1 = "numpy.core"
    }

    /// The array as numpy pickles it for `protocolVersion`: a scalar as `multiarray.scalar(dtype, bytes)`;
    /// below 5, `multiarray._reconstruct` then BUILD of `(1, shape, dtype, is_fortran, bytes)`; at 5, `numeric._frombuffer(buffer, dtype, shape, order)` with
    /// the elements as an out-of-band buffer node, which the pickler writes out of band or in band as its
    /// `bufferCallback` decides.
    /// - Parameters:
    ///   - protocolVersion: the protocol the graph will be written at.
    ///   - modules: the numpy package names (numpy 2's by default).
    /// - Throws: ``ArrayError/invalid(_:)`` for object arrays and dtypes ``NumpyDType/pickleValue()`` does not
    ///   write.
    public func pickleGraph(forProtocol protocolVersion: Int, modules: NumpyModules = .numpy2) throws -> PickleGraph {
        guard objects == nil else { throw ArrayError.invalid("object arrays are not written") }
        let dtype = try self.dtype.pickleValue()
        if isScalar {
            return PickleGraph(.object(PickleValue.ObjectValue(.reduce(callable: .global(GlobalName(module: modules.rawValue + ".multiarray", name: "scalar")),
                                                                       args: [dtype, .bytes(Array(bytes))]))))
        }
        let shape = PickleValue.tuple(self.shape.map { .int($0) })
        if protocolVersion >= 5 {
            let buffer = PickleValue.buffer(OutOfBandBuffer(bytes.arraySlice, isReadonly: false))
            return PickleGraph(.object(PickleValue.ObjectValue(.reduce(callable: .global(GlobalName(module: modules.rawValue + ".numeric", name: "_frombuffer")),
                                                           args: [buffer, dtype, shape, .string(isFortranOrder ? "F" : "C")]))))
        }
        let reconstruct = PickleValue.ObjectValue(
            .reduce(callable: .global(GlobalName(module: modules.rawValue + ".multiarray", name: "_reconstruct")),
                    args: [.global(GlobalName(module: "numpy", name: "ndarray")), .tuple([.int(0)]), .bytes(Array("b".utf8))]),
            operations: [.build(state: .tuple([.int(1), shape, dtype, .bool(isFortranOrder), .bytes(Array(bytes))]))])
        return PickleGraph(.object(reconstruct))
    }
}
