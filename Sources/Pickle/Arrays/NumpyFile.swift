/// `.npy` files (`numpy.save`): the magic `\x93NUMPY`, a version, a header that is a Python dict literal
/// (`{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }`), then the elements; for `dtype=object`,
/// a pickle of the array instead, read here as an inert graph (nothing is imported).
extension NDArrayView {
    /// Reads a `.npy` file's bytes. The elements are a slice of `bytes`, not a copy.
    /// - Throws: ``ArrayError/invalid(_:)`` for a file that is not a `.npy` file or whose header disagrees
    ///   with its data; ``PickleError`` for an object array's malformed pickle.
    public init(npy bytes: [UInt8]) throws {
        let header = try NumpyFileHeader(bytes)
        try self.init(header, data: ElementBytes(bytes[header.dataOffset...]), pickle: { bytes[header.dataOffset...] })
    }

    /// Reads a `.npy` file in place: the elements stay in the mapping (an `.npy` file opened with
    /// ``MappedFile/init(path:)``, a stored `.npz` entry), so opening a large array costs neither its size in
    /// time nor in memory.
    /// - Throws: as ``init(npy:)-([UInt8])``.
    public init(npy bytes: MappedBytes) throws {
        let header = try NumpyFileHeader(bytes)
        let data = bytes.slice(header.dataOffset ..< bytes.count)
        try self.init(header, data: ElementBytes(data), pickle: { data.array[...] })
    }

    /// The array a parsed header describes over `data`; `pickle` gives the bytes after the header for an
    /// object array, which numpy pickles instead of writing its elements.
    init(_ header: NumpyFileHeader, data: ElementBytes, pickle: () -> ArraySlice<UInt8>) throws {
        guard header.dtype.holdsObjects else {
            try self.init(dtype: header.dtype, shape: header.shape, fortran: header.isFortranOrder, data: data)
            return
        }
        let graph = try Unpickler.loads(pickle())
        let array = try NDArrayView(graph.root)
        guard array.shape == header.shape else {
            throw ArrayError.invalid("the pickled object array's shape \(array.shape) is not the header's \(header.shape)")
        }
        self = array
    }

    /// The dtype a header's `descr` describes, as `numpy.lib.format.descr_to_dtype` reads it: a type string
    /// (`'<f8'`, `'<M8[ms]'`), or a structured dtype's field list (`[('x', '<f4'), ('pos', '<i8', (3,))]`),
    /// fields packed in order, a field named `''` of type `V` being padding and a `(title, name)` pair a
    /// titled field.
    static func npyDType(_ descr: PythonLiteralParser.Value, depth: Int) throws -> NumpyDType {
        guard depth < NumpyDType.maxNesting else { throw ArrayError.invalid("the descr nests deeper than \(NumpyDType.maxNesting)") }
        switch descr {
        case .string(let text):
            return try typeStringDType(text)
        case .tuple(let items):
            var fields: [NumpyDType.Field] = []
            var offset = 0
            for item in items {
                guard case .tuple(let parts) = item, parts.count == 2 || parts.count == 3 else {
                    throw ArrayError.invalid("a field of the descr is not (name, type) or (name, type, shape)")
                }
                let name: String
                if case .string(let text) = parts[0] {
                    name = text
                } else if case .tuple(let pair) = parts[0], pair.count == 2, case .string(let text) = pair[1] {
                    name = text
                } else {
                    throw ArrayError.invalid("a field name of the descr is not a str or a (title, name) pair")
                }
                var type = try npyDType(parts[1], depth: depth + 1)
                if parts.count == 3 {
                    guard case .tuple(let dims) = parts[2] else { throw ArrayError.invalid("the shape of field '\(name)' is not a tuple") }
                    let shape = try dims.map { dim -> Int in
                        guard case .int(let n) = dim, n >= 0 else { throw ArrayError.invalid("the shape of field '\(name)' is not of ints of at least 0") }
                        return n
                    }
                    let (size, overflow) = try elementCount(shape).multipliedReportingOverflow(by: type.itemSize)
                    guard !overflow else { throw ArrayError.invalid("field '\(name)' overflows") }
                    type = NumpyDType(kind: .void, itemSize: size, byteOrder: .notApplicable, timeUnit: nil, fields: nil,
                                      subarray: NumpyDType.Subarray(base: type, shape: shape))
                }
                if !(name.isEmpty && type.kind == .void && type.fields == nil && type.subarray == nil) {
                    guard !fields.contains(where: { $0.name == name }) else { throw ArrayError.invalid("the descr names field '\(name)' twice") }
                    fields.append(NumpyDType.Field(name: name, dtype: type, offset: offset))
                }
                let (end, overflow) = offset.addingReportingOverflow(type.itemSize)
                guard !overflow else { throw ArrayError.invalid("the record's size overflows") }
                offset = end
            }
            return NumpyDType(kind: .void, itemSize: offset, byteOrder: .notApplicable, timeUnit: nil, fields: fields, subarray: nil)
        default:
            throw ArrayError.invalid("the descr is neither a type string nor a list of fields")
        }
    }

    /// The dtype of a type string: a byte order, a kind, a size, and a datetime's unit.
    private static func typeStringDType(_ descr: String) throws -> NumpyDType {
        let typeText = descr.dropFirst().prefix { $0 != "[" }
        guard let (kind, declared) = NumpyDType.parseTypeString(String(typeText)), let order = descr.first,
              let byteOrder = NumpyDType.ByteOrder(rawValue: String(order)) ?? (order == "=" ? .native : nil) else {
            throw ArrayError.invalid("descr '\(descr)' is not a numpy type string")
        }
        if kind == .object { return NumpyDType(kind: .object, itemSize: MemoryLayout<Int>.size, byteOrder: .notApplicable) }
        let itemSize = kind == .unicode ? declared * 4 : declared
        guard NumpyDType.sizeFits(kind, itemSize), itemSize > 0 || kind == .bytes || kind == .void else {
            throw ArrayError.invalid("descr '\(descr)' has a size numpy does not use")
        }
        var unit: (String, Int)?
        if kind == .datetime || kind == .timedelta, let open = descr.firstIndex(of: "["), descr.last == "]" {
            let inside = descr[descr.index(after: open) ..< descr.index(before: descr.endIndex)]
            let digits = inside.prefix { $0.isASCII && $0.isNumber }
            guard digits.count <= 9 else { throw ArrayError.invalid("'\(inside)' is not a datetime unit") }
            let name = String(inside.dropFirst(digits.count))
            let count = Int(digits) ?? 1
            guard NumpyDType.timeUnits.contains(name), count >= 1 else { throw ArrayError.invalid("'\(inside)' is not a datetime unit") }
            unit = (name, count)
        }
        return NumpyDType(kind: kind, itemSize: itemSize, byteOrder: byteOrder, timeUnit: unit)
    }
}

/// The Python literals of a `.npy` header: dicts, tuples, lists, strings, ints, booleans and None.
struct PythonLiteralParser {
    indirect enum Value: Equatable {
        case dict([String: Value]), tuple([Value]), string(String), int(Int), bool(Bool), none
    }

    private let scalars: [Unicode.Scalar]
    private var position = 0
    private var depth = 0

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    struct Failure: Error {}

    mutating func parse() throws -> Value {
        let value = try self.value()
        skipSpace()
        guard position == scalars.count else { throw Failure() }
        return value
    }

    private mutating func skipSpace() {
        while position < scalars.count, scalars[position].properties.isWhitespace { position += 1 }
    }

    private mutating func value() throws -> Value {
        skipSpace()
        guard position < scalars.count, depth < 100 else { throw Failure() }
        let c = scalars[position]
        switch c {
        case "{":
            depth += 1
            defer { depth -= 1 }
            position += 1
            var dict: [String: Value] = [:]
            while true {
                skipSpace()
                if position < scalars.count, scalars[position] == "}" { position += 1; return .dict(dict) }
                guard case .string(let key) = try value() else { throw Failure() }
                skipSpace()
                guard position < scalars.count, scalars[position] == ":" else { throw Failure() }
                position += 1
                dict[key] = try value()
                try separator(closing: "}")
            }
        case "(", "[":
            depth += 1
            defer { depth -= 1 }
            let closing: Unicode.Scalar = c == "(" ? ")" : "]"
            position += 1
            var items: [Value] = []
            while true {
                skipSpace()
                if position < scalars.count, scalars[position] == closing { position += 1; return .tuple(items) }
                items.append(try value())
                try separator(closing: closing)
            }
        case "'", "\"":
            position += 1
            var text = ""
            while position < scalars.count, scalars[position] != c {
                guard scalars[position] != "\\" else { throw Failure() }  // numpy writes no escapes
                text.unicodeScalars.append(scalars[position])
                position += 1
            }
            guard position < scalars.count else { throw Failure() }
            position += 1
            return .string(text)
        default:
            var word = ""
            while position < scalars.count, scalars[position].properties.isAlphabetic || ("0" ... "9").contains(scalars[position]) || scalars[position] == "-" {
                word.unicodeScalars.append(scalars[position])
                position += 1
            }
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default:
                guard word.count <= 19, let n = Int(word) else { throw Failure() }
                return .int(n)
            }
        }
    }

    /// A comma (or nothing) before the closing bracket.
    private mutating func separator(closing: Unicode.Scalar) throws {
        skipSpace()
        guard position < scalars.count else { throw Failure() }
        if scalars[position] == "," { position += 1; return }
        guard scalars[position] == closing else { throw Failure() }
    }
}
