#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

/// Python's `uuid.UUID`, with its `is_safe` attribute.
///
/// CPython (3 and 2) pickles it as an instance with a state dict: `uuid.UUID.__new__(uuid.UUID)` (NEWOBJ) at
/// protocol 2 and above, `copyreg._reconstructor(uuid.UUID, object, None)` at protocols 0 and 1, then BUILD of
/// `{'int': n}`, plus `'is_safe': 0` or `-1` when it is known (`uuid.SafeUUID.safe` / `.unsafe`, stored by
/// value). Recognised when `n` is an int from 0 to 2^128 - 1 and the dict holds nothing else.
public struct PythonUUID: PickleStdlibValue, Hashable {
    /// Python's `uuid.SafeUUID`: whether the platform generated the UUID in a multiprocessing-safe way.
    public enum Safety: Int, Hashable, Sendable {
        /// `SafeUUID.safe` (value 0).
        case safe = 0
        /// `SafeUUID.unsafe` (value -1).
        case unsafe = -1
        /// `SafeUUID.unknown` (value None; not written to the pickle).
        case unknown = 1
    }

    /// The UUID.
    public let uuid: UUID
    /// `is_safe`.
    public let isSafe: Safety

    /// A Python UUID of a Foundation UUID.
    /// - Parameters:
    ///   - uuid: the UUID.
    ///   - isSafe: its `is_safe` (unknown by default).
    public init(_ uuid: UUID, isSafe: Safety = .unknown) {
        self.uuid = uuid
        self.isSafe = isSafe
    }

    /// The 16 bytes, most significant first (Python's `bytes`).
    public var bytes: [UInt8] { withUnsafeBytes(of: uuid.uuid) { Array($0) } }

    // MARK: - Pickle

    /// Recognises a `uuid.UUID` instance with its `{'int': n}` state.
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> PythonUUID? {
        guard let call = t.stdlibCall(ref), call.form != .reduce, call.args.isEmpty,
              call.name == GlobalName("uuid", "UUID"), call.operations.count == 1,
              case .build(let stateRef) = call.operations[0], let state = t.dictPairs(stateRef) else { return nil }
        var value: [UInt64]?
        var safety = Safety.unknown
        for (key, item) in state {
            switch t.stringValue(key) {
            case "int"?:
                guard value == nil, let limbs = t.unsignedInt(item, bits: 128) else { return nil }
                value = limbs
            case "is_safe"?:
                if item == .none { safety = .unknown; continue }
                guard let raw = t.intValue(item), raw == 0 || raw == -1 else { return nil }
                safety = Safety(rawValue: raw)!
            default:
                return nil
            }
        }
        guard let limbs = value else { return nil }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0 ..< 16 { bytes[15 - i] = UInt8(truncatingIfNeeded: limbs[i / 8] >> (8 * UInt64(i % 8))) }
        let uuid = bytes.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) }
        return PythonUUID(UUID(uuid: uuid), isSafe: safety)
    }

    /// `uuid.UUID.__new__(uuid.UUID)` then BUILD of `{'int': n}` (and `is_safe`), as protocol 2 writes it.
    public var pickleValue: PickleValue {
        var state: [PickleValue.DictEntry] = [.init("int", Self.intValue(bytes))]
        if isSafe != .unknown { state.append(.init("is_safe", .int(isSafe.rawValue))) }
        return .object(.init(.newObject(cls: .global(GlobalName("uuid", "UUID")), args: []), operations: [.build(state: .dict(state))]))
    }

    /// A non-negative int from big-endian bytes.
    static func intValue(_ bigEndian: [UInt8]) -> PickleValue {
        var le = Array(bigEndian.reversed())
        while le.count > 1 && le.last == 0 && le[le.count - 2] & 0x80 == 0 { le.removeLast() }
        if le.last.map({ $0 & 0x80 != 0 }) ?? false { le.append(0) }
        if let small = BigIntText.int64(fromTwosComplementLE: le), let i = Int(exactly: small) { return .int(i) }
        return .bigInt(twosComplementLE: le)
    }

    /// `UUID('12345678-1234-5678-1234-567812345678')`.
    public var pythonRepr: String { "UUID('\(uuid.uuidString.lowercased())')" }
}
