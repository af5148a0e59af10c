/// An address family of Python's `ipaddress` module: what ``PythonIPNetwork`` and ``PythonIPInterface`` need
/// of ``PythonIPv4Address`` and ``PythonIPv6Address``.
public protocol PythonIPAddressFamily: PickleStdlibValue, Hashable {
    /// `4` or `6`, as in the class names (`IPv4Network`).
    static var version: Int { get }
    /// The prefix length of one address: 32 or 128.
    static var maxPrefixLength: Int { get }
    /// Parses the address as Python's constructor does (strict: no leading zeros in IPv4 octets).
    /// - Parameter text: such as `1.2.3.4` or `fe80::1%eth0`.
    init?(_ text: String)
    /// The address as Python's `str()` prints it.
    var text: String { get }
    /// The address with every bit past the first `prefixLength` cleared.
    func masked(_ prefixLength: Int) -> Self
    /// Whether the address has a scope id (IPv6 only).
    var hasScope: Bool { get }
}

/// Python's `ipaddress.IPv4Address`.
///
/// CPython pickles it as `ipaddress.IPv4Address(int)` (REDUCE with the address as an int). An int from 0 to
/// 2^32 - 1 is recognised, and so is a str in dotted-quad form, which the constructor also takes.
public struct PythonIPv4Address: PythonIPAddressFamily {
    /// The address, most significant octet first.
    public let value: UInt32

    /// The address of a 32-bit value.
    /// - Parameter value: the address as an integer.
    public init(_ value: UInt32) { self.value = value }

    /// Parses a dotted quad as Python does: four decimal octets up to 255, no leading zeros.
    /// - Parameter text: such as `192.168.0.1`.
    public init?(_ text: String) {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard (1 ... 3).contains(octet.utf8.count), octet.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  octet == "0" || octet.first != "0", let n = UInt32(octet), n <= 255 else { return nil }
            value = value << 8 | n
        }
        self.value = value
    }

    public static var version: Int { 4 }
    public static var maxPrefixLength: Int { 32 }
    /// `1.2.3.4`.
    public var text: String { (0 ..< 4).map { String(value >> (24 - 8 * UInt32($0)) & 0xFF) }.joined(separator: ".") }
    /// The address with the host bits cleared.
    public func masked(_ prefixLength: Int) -> PythonIPv4Address {
        PythonIPv4Address(prefixLength == 0 ? 0 : value & ~UInt32(0) << UInt32(32 - prefixLength))
    }
    public var hasScope: Bool { false }

    /// Recognises `ipaddress.IPv4Address(int)` or `ipaddress.IPv4Address(str)`.
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> PythonIPv4Address? {
        guard let args = t.reduceArgs(ref, GlobalName("ipaddress", "IPv4Address")), args.count == 1 else { return nil }
        if let text = t.stringValue(args[0]) { return PythonIPv4Address(text) }
        return t.unsignedInt(args[0], bits: 32).map { PythonIPv4Address(UInt32($0[0])) }
    }

    /// `ipaddress.IPv4Address(int)`, as CPython writes it.
    public var pickleValue: PickleValue { .call("ipaddress", "IPv4Address", [.int(Int(value))]) }

    /// `IPv4Address('1.2.3.4')`.
    public var pythonRepr: String { "IPv4Address('\(text)')" }
}

/// Python's `ipaddress.IPv6Address`, with its scope id.
///
/// CPython pickles it as `ipaddress.IPv6Address(str)` (REDUCE with the address's text, `%scope` included).
/// The text is parsed with Python's rules (`::` once, an IPv4 tail, one to four hex digits a group), so a
/// non-canonical spelling is recognised and prints in Python's compressed form.
public struct PythonIPv6Address: PythonIPAddressFamily {
    /// The 128-bit address: the high and low 64 bits.
    public let high: UInt64, low: UInt64
    /// The scope id (`eth0` of `fe80::1%eth0`), or nil.
    public let scopeID: String?

    /// An address of 128 bits.
    /// - Parameters:
    ///   - high: the first 64 bits.
    ///   - low: the last 64 bits.
    ///   - scopeID: the scope id, or nil (an empty one or one holding `%` is nil, which Python refuses).
    public init?(high: UInt64, low: UInt64, scopeID: String? = nil) {
        if let scopeID, scopeID.isEmpty || scopeID.contains("%") { return nil }
        self.high = high
        self.low = low
        self.scopeID = scopeID
    }

    /// Parses an IPv6 address as Python does.
    /// - Parameter text: such as `::1`, `fe80::1%eth0`, `::ffff:1.2.3.4`.
    public init?(_ text: String) {
        var address = Substring(text), scope: String?
        if let percent = text.firstIndex(of: "%") {
            address = text[..<percent]
            scope = String(text[text.index(after: percent)...])
        }
        guard !address.contains("/") else { return nil }
        var parts = address.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3 else { return nil }
        if parts[parts.count - 1].contains(".") {
            guard let v4 = PythonIPv4Address(parts.removeLast()) else { return nil }
            parts += [String(v4.value >> 16, radix: 16), String(v4.value & 0xFFFF, radix: 16)]
        }
        guard parts.count <= 9 else { return nil }
        var skip: Int?
        for i in 1 ..< parts.count - 1 where parts[i].isEmpty {
            guard skip == nil else { return nil }
            skip = i
        }
        var hi: Int, lo: Int, skipped: Int
        if let skip {
            hi = skip
            lo = parts.count - skip - 1
            if parts[0].isEmpty { hi -= 1; guard hi == 0 else { return nil } }
            if parts[parts.count - 1].isEmpty { lo -= 1; guard lo == 0 else { return nil } }
            skipped = 8 - (hi + lo)
            guard skipped >= 1 else { return nil }
        } else {
            guard parts.count == 8, !parts[0].isEmpty, !parts[7].isEmpty else { return nil }
            (hi, lo, skipped) = (8, 0, 0)
        }
        var hextets: [UInt16] = []
        for part in parts.prefix(hi) + parts.suffix(lo) {
            guard (1 ... 4).contains(part.utf8.count), part.utf8.allSatisfy({ $0.isHexDigit }), let n = UInt16(part, radix: 16)
            else { return nil }
            hextets.append(n)
        }
        hextets.insert(contentsOf: repeatElement(0, count: skipped), at: hi)
        let value = hextets.reduce((UInt64(0), UInt64(0))) { acc, h in (acc.0 << 16 | acc.1 >> 48, acc.1 << 16 | UInt64(h)) }
        self.init(high: value.0, low: value.1, scopeID: scope)
    }

    public static var version: Int { 6 }
    public static var maxPrefixLength: Int { 128 }

    /// The eight 16-bit groups.
    public var hextets: [UInt16] {
        (0 ..< 8).map { i in UInt16(truncatingIfNeeded: (i < 4 ? high : low) >> (48 - 16 * UInt64(i % 4))) }
    }

    /// `fe80::1%eth0`: the longest run of two or more zero groups (the first of equal runs) as `::`.
    public var text: String {
        var groups = hextets.map { String($0, radix: 16) }
        var best = (start: -1, length: 0), run = (start: -1, length: 0)
        for (i, g) in groups.enumerated() {
            if g == "0" {
                run = (run.start == -1 ? i : run.start, run.length + 1)
                if run.length > best.length { best = run }
            } else {
                run = (-1, 0)
            }
        }
        if best.length > 1 {
            let end = best.start + best.length
            if end == groups.count { groups.append("") }
            groups.replaceSubrange(best.start ..< end, with: [""])
            if best.start == 0 { groups.insert("", at: 0) }
        }
        return groups.joined(separator: ":") + (scopeID.map { "%" + $0 } ?? "")
    }

    /// The address with the bits past `prefixLength` cleared, and no scope.
    public func masked(_ prefixLength: Int) -> PythonIPv6Address {
        func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? ~0 : ~UInt64(0) << UInt64(64 - bits) }
        return PythonIPv6Address(high: high & mask(prefixLength), low: low & mask(prefixLength - 64))!
    }
    public var hasScope: Bool { scopeID != nil }

    /// Recognises `ipaddress.IPv6Address(str)` (or of an int below 2^128, which the constructor also takes).
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> PythonIPv6Address? {
        guard let args = t.reduceArgs(ref, GlobalName("ipaddress", "IPv6Address")), args.count == 1 else { return nil }
        if let text = t.stringValue(args[0]) { return PythonIPv6Address(text) }
        return t.unsignedInt(args[0], bits: 128).flatMap { PythonIPv6Address(high: $0[1], low: $0[0]) }
    }

    /// `ipaddress.IPv6Address(str)`, as CPython writes it.
    public var pickleValue: PickleValue { .call("ipaddress", "IPv6Address", [.string(text)]) }

    /// `IPv6Address('::1')`.
    public var pythonRepr: String { "IPv6Address('\(text)')" }
}

/// Python's `ipaddress.IPv4Network` and `IPv6Network`: an address with its host bits clear, and a prefix length.
///
/// CPython pickles a network as `ipaddress.IPv4Network('1.2.3.0/24')` (REDUCE with its text). Recognised for
/// a numeric prefix length and no host bits set (Python's strict constructor); netmask spellings
/// (`/255.255.255.0`) and scoped addresses are not.
public struct PythonIPNetwork<Address: PythonIPAddressFamily>: PythonIPPrefixedValue {
    /// The network address.
    public let address: Address
    /// The prefix length, 0 to 32 or 128.
    public let prefixLength: Int

    /// A network; nil if the address has host bits set or a scope, or the prefix is out of range.
    /// - Parameters:
    ///   - address: the network address.
    ///   - prefixLength: 0 to ``PythonIPAddressFamily/maxPrefixLength``.
    public init?(address: Address, prefixLength: Int) {
        guard (0 ... Address.maxPrefixLength).contains(prefixLength), !address.hasScope,
              address.masked(prefixLength) == address else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `address/prefix` (or an address alone, a network of one).
    /// - Parameter text: such as `10.0.0.0/8`.
    public init?(_ text: String) {
        guard let (address, prefix) = IPText.split(text, Address.self) else { return nil }
        self.init(address: address, prefixLength: prefix)
    }

    /// `IPv4Network` or `IPv6Network`.
    public static var className: String { "IPv\(Address.version)Network" }

    /// `1.2.3.0/24`.
    public var text: String { "\(address.text)/\(prefixLength)" }

}

/// Python's `ipaddress.IPv4Interface` and `IPv6Interface`: an address with the prefix length of its network.
///
/// CPython pickles an interface as `ipaddress.IPv4Interface('1.2.3.4/24')` (REDUCE with its text). Recognised
/// for a numeric prefix length.
public struct PythonIPInterface<Address: PythonIPAddressFamily>: PythonIPPrefixedValue {
    /// The address (host bits kept).
    public let address: Address
    /// The prefix length.
    public let prefixLength: Int

    /// An interface; nil for a prefix length out of range.
    /// - Parameters:
    ///   - address: the address.
    ///   - prefixLength: 0 to ``PythonIPAddressFamily/maxPrefixLength``.
    public init?(address: Address, prefixLength: Int) {
        guard (0 ... Address.maxPrefixLength).contains(prefixLength) else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `address/prefix` (or an address alone).
    /// - Parameter text: such as `10.1.2.3/8`.
    public init?(_ text: String) {
        guard let (address, prefix) = IPText.split(text, Address.self), !address.hasScope else { return nil }
        self.init(address: address, prefixLength: prefix)
    }

    /// The interface's network.
    public var network: PythonIPNetwork<Address> { PythonIPNetwork(address: address.masked(prefixLength), prefixLength: prefixLength)! }

    /// `IPv4Interface` or `IPv6Interface`.
    public static var className: String { "IPv\(Address.version)Interface" }

    /// `1.2.3.4/24`.
    public var text: String { "\(address.text)/\(prefixLength)" }

}

/// A network or interface of Python's `ipaddress` module: pickled, and printed, as its class called with its
/// text (`IPv4Network('1.2.3.0/24')`).
public protocol PythonIPPrefixedValue: PickleStdlibValue, Hashable {
    /// The class's name in `ipaddress`.
    static var className: String { get }
    /// Parses `address/prefix`.
    /// - Parameter text: such as `10.0.0.0/8`.
    init?(_ text: String)
    /// `address/prefix`, as Python's `str()` prints it.
    var text: String { get }
}

extension PythonIPPrefixedValue {
    /// Recognises `ipaddress.<className>(str)`.
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> Self? {
        guard let args = t.reduceArgs(ref, GlobalName("ipaddress", className)), args.count == 1,
              let text = t.stringValue(args[0]) else { return nil }
        return Self(text)
    }

    /// `ipaddress.<className>(text)`, as CPython writes it.
    public var pickleValue: PickleValue { .call("ipaddress", Self.className, [.string(text)]) }

    /// `IPv4Network('1.2.3.0/24')`.
    public var pythonRepr: String { "\(Self.className)('\(text)')" }
}

/// `ipaddress.IPv4Network`.
public typealias PythonIPv4Network = PythonIPNetwork<PythonIPv4Address>
/// `ipaddress.IPv6Network`.
public typealias PythonIPv6Network = PythonIPNetwork<PythonIPv6Address>
/// `ipaddress.IPv4Interface`.
public typealias PythonIPv4Interface = PythonIPInterface<PythonIPv4Address>
/// `ipaddress.IPv6Interface`.
public typealias PythonIPv6Interface = PythonIPInterface<PythonIPv6Address>

enum IPText {
    /// `address[/prefix]` with a decimal prefix, as Python's `_split_addr_prefix` and
    /// `_prefix_from_prefix_string` read it.
    static func split<Address: PythonIPAddressFamily>(_ text: String, _: Address.Type) -> (Address, Int)? {
        let pieces = text.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count <= 2, let address = Address(String(pieces[0])) else { return nil }
        guard pieces.count == 2 else { return (address, Address.maxPrefixLength) }
        let prefix = pieces[1]
        guard !prefix.isEmpty, prefix.utf8.count <= 4, prefix.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let n = Int(prefix), n <= Address.maxPrefixLength else { return nil }
        return (address, n)
    }
}

private extension UInt8 {
    var isHexDigit: Bool { (0x30 ... 0x39).contains(self) || (0x41 ... 0x46).contains(self) || (0x61 ... 0x66).contains(self) }
}
