#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

/// Python's `datetime.time`: a time of day to the microsecond, naive or with a time zone, and PEP 495's fold.
///
/// CPython pickles it as `datetime.time(state)` or `datetime.time(state, tzinfo)` (REDUCE), the state six
/// bytes: hour, minute, second, microsecond big-endian in three. At protocol 4 and above the hour byte carries
/// the fold in its top bit; protocols 0 to 3 leave the fold out (a time with fold 1 reads back with fold 0).
/// The state bytes are recognised as `bytes` or a latin-1 `str`, as for ``PythonDate``.
public struct PythonTime: PickleStdlibValue, Hashable {
    /// 0 to 23.
    public let hour: Int
    /// 0 to 59.
    public let minute: Int
    /// 0 to 59.
    public let second: Int
    /// 0 to 999,999.
    public let microsecond: Int
    /// PEP 495's fold: 1 for the second of two equal wall times.
    public let fold: Int
    /// The time zone; nil for a naive time.
    public let timeZone: PythonTZInfo?

    /// A time; nil for a field out of range.
    /// - Parameters:
    ///   - hour: 0 to 23.
    ///   - minute: 0 to 59.
    ///   - second: 0 to 59.
    ///   - microsecond: 0 to 999,999.
    ///   - timeZone: the zone, or nil for a naive time.
    ///   - fold: 0 or 1.
    public init?(hour: Int, minute: Int = 0, second: Int = 0, microsecond: Int = 0, timeZone: PythonTZInfo? = nil, fold: Int = 0) {
        guard (0 ..< 24).contains(hour), (0 ..< 60).contains(minute), (0 ..< 60).contains(second),
              (0 ..< 1_000_000).contains(microsecond), fold == 0 || fold == 1 else { return nil }
        self.hour = hour
        self.minute = minute
        self.second = second
        self.microsecond = microsecond
        self.fold = fold
        self.timeZone = timeZone
    }

    /// The time's fields (hour to nanosecond, and the zone when Foundation has it).
    public var dateComponents: DateComponents {
        DateComponents(timeZone: timeZone?.foundationTimeZone, hour: hour, minute: minute, second: second,
                       nanosecond: microsecond * 1000)
    }

    // MARK: - Pickle

    /// Recognises `datetime.time(state)` and `datetime.time(state, tzinfo)` with a valid 6-byte state and a
    /// recognised zone (or None).
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> PythonTime? {
        guard let (state, zone) = DateTimeState.read(t, ref, GlobalName("datetime", "time"), count: 6) else { return nil }
        return PythonTime(state: state[...], timeZone: zone, foldInFirstByte: true)
    }

    /// The time in six state bytes; the fold is the top bit of the first byte (a time) or was read elsewhere
    /// (a datetime, `foldInFirstByte` false).
    init?(state: ArraySlice<UInt8>, timeZone: PythonTZInfo?, foldInFirstByte: Bool, fold: Int = 0) {
        let s = state.startIndex
        var h = Int(state[s]), fold = fold
        if foldInFirstByte && h & 0x80 != 0 { h &= 0x7F; fold = 1 }
        let us = Int(state[s + 3]) << 16 | Int(state[s + 4]) << 8 | Int(state[s + 5])
        self.init(hour: h, minute: Int(state[s + 1]), second: Int(state[s + 2]), microsecond: us, timeZone: timeZone, fold: fold)
    }

    /// The six state bytes, the fold in the hour's top bit when `foldBit`.
    func state(foldBit: Bool) -> [UInt8] {
        [UInt8(hour | (foldBit && fold == 1 ? 0x80 : 0)), UInt8(minute), UInt8(second),
         UInt8(microsecond >> 16), UInt8((microsecond >> 8) & 0xFF), UInt8(microsecond & 0xFF)]
    }

    /// `datetime.time(state)` or `datetime.time(state, tzinfo)`, the fold in the state as protocol 4 writes it.
    public var pickleValue: PickleValue {
        .call("datetime", "time", [.bytes(state(foldBit: true))] + (timeZone.map { [$0.pickleValue] } ?? []))
    }

    /// `datetime.time(13, 5, 1, 5, tzinfo=datetime.timezone.utc, fold=1)`: seconds and microseconds only when
    /// not zero, as CPython prints them.
    public var pythonRepr: String { "datetime.time(\(DateTimeState.clockFields(hour, minute, second, microsecond, timeZone, fold, foldFirst: false)))" }
}

/// The state argument shared by `date`, `time` and `datetime`.
enum DateTimeState {
    /// The state bytes of `name(state)` / `name(state, tzinfo)`, and the zone (None is naive).
    /// - Parameter zones: remembers the last zone recognised, for a run of values sharing one.
    static func read(_ t: GraphTables, _ ref: PickleRef, _ name: GlobalName, count: Int, zones: ZoneCache? = nil) -> ([UInt8], PythonTZInfo?)? {
        guard let args = t.reduceArgs(ref, name), args.count == 1 || args.count == 2,
              let state = t.bytesOrLatin1(args[0]), state.count == count else { return nil }
        guard args.count == 2, args[1] != .none else { return (state, nil) }
        guard let zone = zones?.zone(t, args[1]) ?? PythonTZInfo.recognize(t, args[1]) else { return nil }
        return (state, zone)
    }

    /// `h, m[, s[, us]]` then `tzinfo=` and `fold=1` when they apply, as CPython's reprs of time and
    /// datetime end (time prints the zone first, datetime the fold first).
    static func clockFields(_ h: Int, _ m: Int, _ s: Int, _ us: Int, _ zone: PythonTZInfo?, _ fold: Int, foldFirst: Bool) -> String {
        var text = "\(h), \(m)"
        if us != 0 { text += ", \(s), \(us)" } else if s != 0 { text += ", \(s)" }
        let zoneText = zone.map { ", tzinfo=" + $0.pythonRepr } ?? "", foldText = fold == 1 ? ", fold=1" : ""
        return text + (foldFirst ? foldText + zoneText : zoneText + foldText)
    }
}
