/// One of the 68 opcodes of Python's pickle format, protocols 0 to 5.
///
/// The raw value is the byte that introduces the opcode in a stream. Every other byte value is not an
/// opcode; ``Opcode/init(rawValue:)`` returns `nil` for it.
public enum Opcode: UInt8, CaseIterable, Sendable {
    // MARK: - Integers
    case int = 0x49             // I
    case binInt = 0x4A          // J
    case binInt1 = 0x4B         // K
    case binInt2 = 0x4D         // M
    case long = 0x4C            // L
    case long1 = 0x8A
    case long4 = 0x8B
    // MARK: - Byte and text strings
    case string = 0x53          // S
    case binString = 0x54       // T
    case shortBinString = 0x55  // U
    case binBytes = 0x42        // B
    case shortBinBytes = 0x43   // C
    case binBytes8 = 0x8E
    case byteArray8 = 0x96
    case nextBuffer = 0x97
    case readonlyBuffer = 0x98
    case none = 0x4E            // N
    case newTrue = 0x88
    case newFalse = 0x89
    case unicode = 0x56         // V
    case shortBinUnicode = 0x8C
    case binUnicode = 0x58      // X
    case binUnicode8 = 0x8D
    case float = 0x46           // F
    case binFloat = 0x47        // G
    // MARK: - Containers
    case emptyList = 0x5D       // ]
    case append = 0x61          // a
    case appends = 0x65         // e
    case list = 0x6C            // l
    case emptyTuple = 0x29      // )
    case tuple = 0x74           // t
    case tuple1 = 0x85
    case tuple2 = 0x86
    case tuple3 = 0x87
    case emptyDict = 0x7D       // }
    case dict = 0x64            // d
    case setItem = 0x73         // s
    case setItems = 0x75        // u
    case emptySet = 0x8F
    case addItems = 0x90
    case frozenSet = 0x91
    // MARK: - Stack and memo
    case pop = 0x30             // 0
    case dup = 0x32             // 2
    case mark = 0x28            // (
    case popMark = 0x31         // 1
    case get = 0x67             // g
    case binGet = 0x68          // h
    case longBinGet = 0x6A      // j
    case put = 0x70             // p
    case binPut = 0x71          // q
    case longBinPut = 0x72      // r
    case memoize = 0x94
    // MARK: - Objects
    case ext1 = 0x82
    case ext2 = 0x83
    case ext4 = 0x84
    case global = 0x63          // c
    case stackGlobal = 0x93
    case reduce = 0x52          // R
    case build = 0x62           // b
    case inst = 0x69            // i
    case obj = 0x6F             // o
    case newObj = 0x81
    case newObjEx = 0x92
    // MARK: - Framing and control
    case proto = 0x80
    case stop = 0x2E            // .
    case frame = 0x95
    case persID = 0x50          // P
    case binPersID = 0x51       // Q
}

/// How an opcode's argument is laid out in the stream, after the opcode byte.
public enum OpcodeArgument: Sendable, Equatable {
    /// No argument bytes.
    case none
    /// A fixed number of bytes (`uint1`, `int4`, `float8`, ...).
    case fixed(Int)
    /// A little-endian unsigned length of `headerSize` bytes, then that many payload bytes.
    /// `signed` marks the int4 headers whose negative values are errors (LONG4, BINSTRING).
    case counted(headerSize: Int, signed: Bool)
    /// Text up to and including a newline.
    case line
    /// Two newline-terminated lines (GLOBAL and INST: module, then name).
    case twoLines
}

extension Opcode {
    /// The name `pickletools` uses for this opcode, such as `SHORT_BINUNICODE`.
    public var name: String { Opcode.names[Int(rawValue)] }

    /// The protocol that introduced the opcode. Readers accept every opcode in every stream; this is what
    /// `pickletools.dis` reports as "highest protocol among opcodes".
    public var introducedIn: Int {
        switch self {
        case .int, .long, .string, .none, .unicode, .float, .append, .list, .tuple, .dict, .setItem,
             .pop, .dup, .mark, .get, .put, .global, .reduce, .build, .inst, .stop, .persID:
            return 0
        case .binInt, .binInt1, .binInt2, .binString, .shortBinString, .binUnicode, .binFloat, .emptyList,
             .appends, .emptyTuple, .emptyDict, .setItems, .popMark, .binGet, .longBinGet, .binPut,
             .longBinPut, .obj, .binPersID:
            return 1
        case .long1, .long4, .newTrue, .newFalse, .tuple1, .tuple2, .tuple3, .ext1, .ext2, .ext4,
             .newObj, .proto:
            return 2
        case .binBytes, .shortBinBytes:
            return 3
        case .binBytes8, .shortBinUnicode, .binUnicode8, .emptySet, .addItems, .frozenSet, .memoize,
             .stackGlobal, .newObjEx, .frame:
            return 4
        case .byteArray8, .nextBuffer, .readonlyBuffer:
            return 5
        }
    }

    /// The layout of the argument that follows the opcode byte.
    public var argument: OpcodeArgument {
        switch self {
        case .int, .long, .string, .unicode, .float, .get, .put, .persID: return .line
        case .global, .inst: return .twoLines
        case .binInt1, .binGet, .binPut, .ext1, .proto: return .fixed(1)
        case .binInt2, .ext2: return .fixed(2)
        case .binInt, .longBinGet, .longBinPut, .ext4: return .fixed(4)
        case .binFloat, .frame: return .fixed(8)
        case .long1, .shortBinString, .shortBinBytes, .shortBinUnicode: return .counted(headerSize: 1, signed: false)
        case .long4, .binString: return .counted(headerSize: 4, signed: true)
        case .binBytes, .binUnicode: return .counted(headerSize: 4, signed: false)
        case .binBytes8, .byteArray8, .binUnicode8: return .counted(headerSize: 8, signed: false)
        default: return .none
        }
    }

    private static let names: [String] = {
        var table = [String](repeating: "", count: 256)
        let pairs: [(Opcode, String)] = [
            (.int, "INT"), (.binInt, "BININT"), (.binInt1, "BININT1"), (.binInt2, "BININT2"), (.long, "LONG"),
            (.long1, "LONG1"), (.long4, "LONG4"), (.string, "STRING"), (.binString, "BINSTRING"),
            (.shortBinString, "SHORT_BINSTRING"), (.binBytes, "BINBYTES"), (.shortBinBytes, "SHORT_BINBYTES"),
            (.binBytes8, "BINBYTES8"), (.byteArray8, "BYTEARRAY8"), (.nextBuffer, "NEXT_BUFFER"),
            (.readonlyBuffer, "READONLY_BUFFER"), (.none, "NONE"), (.newTrue, "NEWTRUE"), (.newFalse, "NEWFALSE"),
            (.unicode, "UNICODE"), (.shortBinUnicode, "SHORT_BINUNICODE"), (.binUnicode, "BINUNICODE"),
            (.binUnicode8, "BINUNICODE8"), (.float, "FLOAT"), (.binFloat, "BINFLOAT"), (.emptyList, "EMPTY_LIST"),
            (.append, "APPEND"), (.appends, "APPENDS"), (.list, "LIST"), (.emptyTuple, "EMPTY_TUPLE"),
            (.tuple, "TUPLE"), (.tuple1, "TUPLE1"), (.tuple2, "TUPLE2"), (.tuple3, "TUPLE3"),
            (.emptyDict, "EMPTY_DICT"), (.dict, "DICT"), (.setItem, "SETITEM"), (.setItems, "SETITEMS"),
            (.emptySet, "EMPTY_SET"), (.addItems, "ADDITEMS"), (.frozenSet, "FROZENSET"), (.pop, "POP"),
            (.dup, "DUP"), (.mark, "MARK"), (.popMark, "POP_MARK"), (.get, "GET"), (.binGet, "BINGET"),
            (.longBinGet, "LONG_BINGET"), (.put, "PUT"), (.binPut, "BINPUT"), (.longBinPut, "LONG_BINPUT"),
            (.memoize, "MEMOIZE"), (.ext1, "EXT1"), (.ext2, "EXT2"), (.ext4, "EXT4"), (.global, "GLOBAL"),
            (.stackGlobal, "STACK_GLOBAL"), (.reduce, "REDUCE"), (.build, "BUILD"), (.inst, "INST"),
            (.obj, "OBJ"), (.newObj, "NEWOBJ"), (.newObjEx, "NEWOBJ_EX"), (.proto, "PROTO"), (.stop, "STOP"),
            (.frame, "FRAME"), (.persID, "PERSID"), (.binPersID, "BINPERSID"),
        ]
        for (op, name) in pairs { table[Int(op.rawValue)] = name }
        return table
    }()
}
