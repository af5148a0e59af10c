#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

/// Python's `datetime.timezone`: a fixed offset from UTC, with an optional name.
///
/// CPython pickles it as `datetime.timezone(offset)` or `datetime.timezone(offset, name)` (REDUCE), the offset a
/// ``PythonTimeDelta`` strictly between -24 and +24 hours. `timezone.utc` is `datetime.timezone(timedelta(0))`:
/// CPython's constructor returns the `utc` singleton for a zero offset without a name.
public struct PythonTimeZone: PickleStdlibValue, Hashable {
    /// The offset from UTC (local time minus UTC).
    public let offset: PythonTimeDelta
    /// The name given to the constructor, if any (`timezone(offset, 'EST')`).
    public let name: String?

    /// A fixed-offset zone; nil unless the offset is strictly between -24 and +24 hours, as Python requires.
    /// - Parameters:
    ///   - offset: local time minus UTC.
    ///   - name: the zone's name, or nil (`tzname()` then prints `UTC+01:00`).
    public init?(offset: PythonTimeDelta, name: String? = nil) {
        guard offset.days == 0 || (offset.days == -1 && (offset.seconds > 0 || offset.microseconds > 0)) else { return nil }
        self.offset = offset
        self.name = name
    }

    /// `datetime.timezone.utc`.
    public static let utc = PythonTimeZone(offset: .zero)!

    /// Whether this is `datetime.timezone.utc` (a zero offset without a name).
    public var isUTC: Bool { offset == .zero && name == nil }

    /// The offset in seconds; nil when it has a fraction of a second.
    public var secondsFromGMT: Int? {
        guard offset.microseconds == 0 else { return nil }
        return offset.days * 86_400 + offset.seconds
    }

    /// The Foundation time zone of the same offset; nil for offsets with fractions of a second or past the
    /// range Foundation accepts.
    public var foundationTimeZone: TimeZone? { secondsFromGMT.flatMap { TimeZone(secondsFromGMT: $0) } }

    // MARK: - Pickle

    /// Recognises `datetime.timezone(offset)` and `datetime.timezone(offset, name)`.
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> PythonTimeZone? {
        guard let args = t.reduceArgs(ref, GlobalName("datetime", "timezone")), args.count == 1 || args.count == 2,
              let offset = PythonTimeDelta.recognize(t, args[0]) else { return nil }
        if args.count == 2 {
            guard let name = t.stringValue(args[1]) else { return nil }
            return PythonTimeZone(offset: offset, name: name)
        }
        return PythonTimeZone(offset: offset)
    }

    /// `datetime.timezone(offset)` or `datetime.timezone(offset, name)`.
    public var pickleValue: PickleValue {
        .call("datetime", "timezone", [offset.pickleValue] + (name.map { [.string($0)] } ?? []))
    }

    /// `datetime.timezone.utc`, `datetime.timezone(datetime.timedelta(seconds=3600))` or
    /// `datetime.timezone(datetime.timedelta(seconds=3600), 'CET')`.
    public var pythonRepr: String {
        if isUTC { return "datetime.timezone.utc" }
        return "datetime.timezone(\(offset.pythonRepr)\(name.map { ", " + StdlibText.quoted($0) } ?? ""))"
    }
}

/// Python's `zoneinfo.ZoneInfo`: an IANA time zone, named by its key.
///
/// CPython pickles it by key only, as `getattr(zoneinfo.ZoneInfo, '_unpickle')(key, from_cache)`; the rules
/// come from the reading machine's time zone database. ``foundationTimeZone`` looks the key up in Foundation's.
public struct PythonZoneInfo: PickleStdlibValue, Hashable {
    /// The IANA key, such as `Europe/Paris`.
    public let key: String
    /// Whether the zone was made by `ZoneInfo(key)` (true) or `ZoneInfo.no_cache(key)` (false).
    public let fromCache: Bool

    /// A zone named by `key`.
    /// - Parameters:
    ///   - key: the IANA key.
    ///   - fromCache: false for a zone made by `ZoneInfo.no_cache`.
    public init(key: String, fromCache: Bool = true) {
        self.key = key
        self.fromCache = fromCache
    }

    /// Foundation's zone of the same key, if Foundation knows it.
    public var foundationTimeZone: TimeZone? { TimeZone(identifier: key) }

    /// Recognises `zoneinfo.ZoneInfo._unpickle(key, from_cache)`.
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> PythonZoneInfo? {
        guard let call = t.node(ref, .object), case .reduce(let callable, let argsRef) = t.objects[call.a].constructor,
              t.objects[call.a].operations.isEmpty,
              let getattr = t.reduceArgs(callable, GlobalName("builtins", "getattr")), getattr.count == 2,
              t.globalName(getattr[0]) == GlobalName("zoneinfo", "ZoneInfo"), t.stringValue(getattr[1]) == "_unpickle",
              let args = t.tupleItems(argsRef), args.count == 2, let key = t.stringValue(args[0]) else { return nil }
        let flag: Bool
        if args[1] == .true || args[1] == .false { flag = args[1] == .true } else {
            guard let n = t.intValue(args[1]), n == 0 || n == 1 else { return nil }
            flag = n == 1
        }
        return PythonZoneInfo(key: key, fromCache: flag)
    }

    /// `getattr(zoneinfo.ZoneInfo, '_unpickle')(key, 1)` (or `0`), as CPython writes it.
    public var pickleValue: PickleValue {
        let unpickle = PickleValue.call("builtins", "getattr", [.global(GlobalName("zoneinfo", "ZoneInfo")), "_unpickle"])
        return .object(.init(.reduce(callable: unpickle, args: [.string(key), .int(fromCache ? 1 : 0)])))
    }

    /// `zoneinfo.ZoneInfo(key='Europe/Paris')`.
    public var pythonRepr: String { "zoneinfo.ZoneInfo(key=\(StdlibText.quoted(key)))" }
}

/// The time zone of an aware `datetime` or `time`: the `tzinfo` kinds recognised here.
public enum PythonTZInfo: PickleStdlibValue, Hashable {
    /// A fixed offset (`datetime.timezone`).
    case timezone(PythonTimeZone)
    /// An IANA zone (`zoneinfo.ZoneInfo`).
    case zoneInfo(PythonZoneInfo)

    /// `datetime.timezone.utc`.
    public static let utc = PythonTZInfo.timezone(.utc)

    /// The Foundation time zone, if there is one (see ``PythonTimeZone/foundationTimeZone`` and
    /// ``PythonZoneInfo/foundationTimeZone``).
    public var foundationTimeZone: TimeZone? {
        switch self {
        case .timezone(let zone): return zone.foundationTimeZone
        case .zoneInfo(let zone): return zone.foundationTimeZone
        }
    }

    /// Recognises a `datetime.timezone` or a `zoneinfo.ZoneInfo`.
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> PythonTZInfo? {
        if let zone = PythonTimeZone.recognize(t, ref) { return .timezone(zone) }
        return PythonZoneInfo.recognize(t, ref).map { .zoneInfo($0) }
    }

    /// The zone's pickle form.
    public var pickleValue: PickleValue {
        switch self {
        case .timezone(let zone): return zone.pickleValue
        case .zoneInfo(let zone): return zone.pickleValue
        }
    }

    /// The zone's repr.
    public var pythonRepr: String {
        switch self {
        case .timezone(let zone): return zone.pythonRepr
        case .zoneInfo(let zone): return zone.pythonRepr
        }
    }
}
