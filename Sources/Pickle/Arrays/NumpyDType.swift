/// A numpy `dtype`: the kind, size and byte order of an array's elements, read from a pickle without numpy.
///
/// numpy pickles a dtype as `numpy.dtype(typestr, False, True)` (REDUCE) followed by BUILD of its state,
/// `(version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])`: version 3, or 4
/// for datetime64/timedelta64, whose metadata carries the unit (`(None, (b'ms', 1, 1, 1))`). `typestr` is
/// the kind letter and the item size (`'f8'`, `'b1'`, `'M8'`), and for flexible kinds the length (`'S5'`,
/// `'U3'`: characters, four bytes each; `'V7'`). Structured dtypes have names, fields `{name: (dtype,
/// offset)}` and a `'V'` typestr; subarray dtypes have `(base, shape)`.
public struct NumpyDType: Hashable, Sendable, CustomStringConvertible {
    /// The element kind: numpy's `dtype.kind`.
    public enum Kind: String, Hashable, Sendable {
        case bool = "b"
        case signedInteger = "i"
        case unsignedInteger = "u"
        case floatingPoint = "f"
        case complex = "c"
        /// Fixed-length bytes (`S`).
        case bytes = "S"
        /// Fixed-length UCS-4 text (`U`).
        case unicode = "U"
        /// datetime64 (`M`): an Int64 count of ``NumpyDType/timeUnit`` since 1970.
        case datetime = "M"
        /// timedelta64 (`m`): an Int64 count of ``NumpyDType/timeUnit``.
        case timedelta = "m"
        /// Raw bytes, structured records and subarrays (`V`).
        case void = "V"
        /// Python objects (`O`): the array's items are pickled objects, not bytes.
        case object = "O"
    }

    /// The byte order of multi-byte elements.
    public enum ByteOrder: String, Hashable, Sendable {
        case little = "<"
        case big = ">"
        /// Single bytes, text of bytes, records and objects (`|`).
        case notApplicable = "|"

        /// The order of this machine.
        public static var native: ByteOrder { 1.littleEndian == 1 ? .little : .big }
    }

    /// One field of a structured dtype.
    public struct Field: Hashable, Sendable {
        /// The field's name.
        public let name: String
        /// The field's type.
        public let dtype: NumpyDType
        /// Its byte offset in a record.
        public let offset: Int
    }

    /// A subarray dtype's element type and shape (`np.dtype(('<i2', (2, 3)))`).
    public struct Subarray: Hashable, Sendable {
        /// The type of each element of the subarray.
        public let base: NumpyDType
        /// The subarray's shape.
        public let shape: [Int]
    }

    /// The element kind.
    public let kind: Kind
    /// Bytes per element (`dtype.itemsize`).
    public let itemSize: Int
    /// The byte order (``ByteOrder/notApplicable`` for one-byte and byte-string kinds, records and objects).
    public let byteOrder: ByteOrder
    /// A datetime64/timedelta64 unit (`"ms"`, `"D"`, `"generic"`) and its multiplier (`[10ms]` is 10).
    public let timeUnit: (unit: String, count: Int)?
    /// A structured dtype's fields, in order; nil for other dtypes.
    public let fields: [Field]?
    private let subarrayStorage: [Subarray]

    /// A subarray dtype's element type and shape; nil for other dtypes.
    public var subarray: Subarray? { subarrayStorage.first }

    /// Whether elements hold Python objects, directly or in a field or subarray (numpy's `hasobject`):
    /// such arrays are pickled, their bytes being pointers.
    public var holdsObjects: Bool {
        kind == .object || (fields?.contains { $0.dtype.holdsObjects } ?? false) || (subarray?.base.holdsObjects ?? false)
    }

    /// A plain dtype.
    /// - Parameters:
    ///   - kind: the kind.
    ///   - itemSize: bytes per element.
    ///   - byteOrder: the byte order; ignored (not applicable) for one-byte elements and non-numeric kinds.
    ///   - timeUnit: the unit of a datetime64 or timedelta64 (`"generic"` when nil).
    public init(kind: Kind, itemSize: Int, byteOrder: ByteOrder = .native, timeUnit: (unit: String, count: Int)? = nil) {
        self.init(kind: kind, itemSize: itemSize, byteOrder: byteOrder, timeUnit: timeUnit, fields: nil, subarray: nil)
    }

    init(kind: Kind, itemSize: Int, byteOrder: ByteOrder, timeUnit: (unit: String, count: Int)?, fields: [Field]?, subarray: Subarray?) {
        self.kind = kind
        self.itemSize = itemSize
        let ordered = itemSize > 1 && [.signedInteger, .unsignedInteger, .floatingPoint, .complex, .unicode, .datetime, .timedelta].contains(kind)
        self.byteOrder = ordered ? (byteOrder == .notApplicable ? .native : byteOrder) : .notApplicable
        self.timeUnit = kind == .datetime || kind == .timedelta ? (timeUnit ?? ("generic", 1)) : nil
        self.fields = fields
        self.subarrayStorage = subarray.map { [$0] } ?? []
    }

    /// numpy's `dtype.str`: byte order, kind and size, with the unit for datetimes (`'<f8'`, `'|b1'`,
    /// `'<M8[ms]'`, `'<U3'`, `'|V7'`).
    public var typeString: String {
        if kind == .object { return "|O" }
        let size = kind == .unicode ? itemSize / 4 : itemSize
        var text = byteOrder.rawValue + kind.rawValue + String(size)
        if let (unit, count) = timeUnit, unit != "generic" { text += "[\(count == 1 ? "" : String(count))\(unit)]" }
        return text
    }

    /// numpy's name for the type (`float64`, `int8`, `bool`, `datetime64[ms]`, `<U3`, ...).
    public var name: String {
        switch kind {
        case .bool: return "bool"
        case .signedInteger: return "int\(itemSize * 8)"
        case .unsignedInteger: return "uint\(itemSize * 8)"
        case .floatingPoint: return "float\(itemSize * 8)"
        case .complex: return "complex\(itemSize * 8)"
        case .object: return "object"
        case .datetime, .timedelta:
            let base = kind == .datetime ? "datetime64" : "timedelta64"
            guard let (unit, count) = timeUnit, unit != "generic" else { return base }
            return "\(base)[\(count == 1 ? "" : String(count))\(unit)]"
        case .bytes: return "bytes\(itemSize * 8)"
        case .unicode: return "str\(itemSize * 8)"
        case .void: return "void\(itemSize * 8)"
        }
    }

    /// numpy's repr: `dtype('float64')` for numbers in this machine's byte order, else the type string
    /// (`dtype('>i4')`, `dtype('S5')`, `dtype('<M8[ms]')`). A structured dtype prints its typestr here, not its
    /// field list.
    public var description: String {
        let numeric: Set<Kind> = [.bool, .signedInteger, .unsignedInteger, .floatingPoint, .complex]
        if numeric.contains(kind) && byteOrder != (ByteOrder.native == .little ? .big : .little) { return "dtype('\(name)')" }
        let text = typeString
        return "dtype('\(text.hasPrefix("|") ? String(text.dropFirst()) : text)')"
    }

    public static func == (a: NumpyDType, b: NumpyDType) -> Bool {
        a.kind == b.kind && a.itemSize == b.itemSize && a.byteOrder == b.byteOrder && a.timeUnit?.unit == b.timeUnit?.unit
            && a.timeUnit?.count == b.timeUnit?.count && a.fields == b.fields && a.subarrayStorage == b.subarrayStorage
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(itemSize)
        hasher.combine(byteOrder)
        hasher.combine(timeUnit?.unit)
        hasher.combine(fields)
    }

    // MARK: - Pickle

    /// Recognises a pickled `numpy.dtype`; nil for anything else, or a dtype whose parts disagree (a size
    /// that does not match the kind, fields past the record's end).
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref, depth: 0) else { return nil }
        self = value
    }

    /// Structured dtypes nest; this deep is more than any real dtype and bounds the recursion.
    static let maxNesting = 32

    /// Whether a pickled dtype's flags (its BUILD state's eighth item) say it holds Python objects exactly
    /// when `dtype` does: numpy trusts the flags, so a state whose flags deny the objects it holds makes
    /// numpy read raw bytes as object pointers. True for a dtype without BUILD (its flags are numpy's own).
    static func flagsAgree(_ t: GraphTables, _ ref: PickleRef, with dtype: NumpyDType) -> Bool {
        guard let call = t.stdlibCall(ref), let operation = call.operations.first else { return true }
        guard case .build(let stateRef) = operation, let state = t.tupleItems(stateRef), state.count >= 8,
              let flags = t.intValue(state[7]) else { return false }
        let itemHasObject = 1  // NPY_ITEM_HASOBJECT
        return (flags & itemHasObject != 0) == dtype.holdsObjects
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef, depth: Int) -> NumpyDType? {
        guard depth < maxNesting, let call = t.stdlibCall(ref), call.form == .reduce, call.name == GlobalName("numpy", "dtype"),
              call.args.count == 3, let typestr = t.stringValue(call.args[0]) else { return nil }
        guard let (kind, declaredSize) = parseTypeString(typestr) else { return nil }
        // Without BUILD (never written by numpy, but loadable) the typestr alone describes a native dtype.
        guard let operation = call.operations.first else {
            guard call.operations.isEmpty, declaredSize > 0 || kind == .object else { return nil }
            return NumpyDType(kind: kind, itemSize: kind == .unicode ? declaredSize * 4 : declaredSize)
        }
        guard call.operations.count == 1, case .build(let stateRef) = operation, let state = t.tupleItems(stateRef),
              state.count == 8 || state.count == 9, let version = t.intValue(state[0]), version == 3 || version == 4,
              let order = t.stringValue(state[1]), let elsize = t.intValue(state[5]) else { return nil }
        let byteOrder: ByteOrder
        switch order {
        case "<": byteOrder = .little
        case ">": byteOrder = .big
        case "|": byteOrder = .notApplicable
        case "=": byteOrder = .native
        default: return nil
        }
        let itemSize: Int
        if elsize > 0 {
            itemSize = elsize
        } else {
            guard elsize == -1, declaredSize > 0 || kind == .object else { return nil }
            itemSize = kind == .object ? MemoryLayout<Int>.size : declaredSize
        }
        guard Self.sizeFits(kind, itemSize) else { return nil }
        var timeUnit: (String, Int)?
        if kind == .datetime || kind == .timedelta {
            guard state.count == 9, let metadata = t.tupleItems(state[8]), metadata.count == 2,
                  let unitInfo = t.tupleItems(metadata[1]), unitInfo.count == 4,
                  let unitBytes = t.bytesOrLatin1(unitInfo[0]), let unit = String(validating: unitBytes, as: UTF8.self),
                  Self.timeUnits.contains(unit), let count = t.intValue(unitInfo[1]), count >= 1 else { return nil }
            timeUnit = (unit, count)
        }
        var subarray: Subarray?
        if state[2] != .none {
            guard let parts = t.tupleItems(state[2]), parts.count == 2,
                  let base = recognize(t, parts[0], depth: depth + 1), let shape = t.tupleItems(parts[1]) else { return nil }
            var dims: [Int] = []
            var elements = 1
            for dim in shape {
                guard let n = t.intValue(dim), n >= 0 else { return nil }
                let (product, overflow) = elements.multipliedReportingOverflow(by: n)
                guard !overflow else { return nil }
                elements = product
                dims.append(n)
            }
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: base.itemSize)
            guard !overflow, bytes == itemSize else { return nil }
            subarray = Subarray(base: base, shape: dims)
        }
        var fields: [Field]?
        if state[3] != .none {
            guard let names = t.tupleItems(state[3]), let table = t.dictPairs(state[4]) else { return nil }
            var byName: [String: (NumpyDType, Int)] = [:]
            for (key, value) in table {
                guard let name = t.stringValue(key), let entry = t.tupleItems(value), entry.count == 2 || entry.count == 3,
                      let type = recognize(t, entry[0], depth: depth + 1), let offset = t.intValue(entry[1]),
                      offset >= 0, offset <= itemSize, type.itemSize <= itemSize - offset else { return nil }
                byName[name] = (type, offset)
            }
            fields = []
            for nameRef in names {
                guard let name = t.stringValue(nameRef), let (type, offset) = byName[name] else { return nil }
                fields?.append(Field(name: name, dtype: type, offset: offset))
            }
        }
        return NumpyDType(kind: kind, itemSize: itemSize, byteOrder: byteOrder, timeUnit: timeUnit, fields: fields, subarray: subarray)
    }

    /// `'f8'` as (floatingPoint, 8); the size of `'U3'` is in characters.
    static func parseTypeString(_ text: String) -> (Kind, Int)? {
        guard let first = text.first, let kind = Kind(rawValue: String(first)) else { return nil }
        let digits = text.dropFirst()
        guard digits.count <= 12, digits.allSatisfy(\.isASCII), let size = Int(digits) else {
            return digits.isEmpty ? (kind, 0) : nil
        }
        return (kind, size)
    }

    /// Whether `size` is one numpy has for `kind`.
    static func sizeFits(_ kind: Kind, _ size: Int) -> Bool {
        switch kind {
        case .bool: return size == 1
        case .signedInteger, .unsignedInteger: return [1, 2, 4, 8].contains(size)
        case .floatingPoint: return [2, 4, 8, 10, 12, 16].contains(size)
        case .complex: return [8, 16, 20, 24, 32].contains(size)
        case .datetime, .timedelta: return size == 8
        case .unicode: return size >= 0 && size % 4 == 0
        case .object: return size == MemoryLayout<Int>.size
        case .bytes, .void: return size >= 0
        }
    }

    /// numpy's datetime units.
    static let timeUnits: Set<String> = ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as", "generic"]
}
