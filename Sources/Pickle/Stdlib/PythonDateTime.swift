#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

/// Python's `datetime.datetime`: a date and a time of day to the microsecond, naive or aware, with PEP 495's
/// fold.
///
/// CPython pickles it as `datetime.datetime(state)` or `datetime.datetime(state, tzinfo)` (REDUCE), the state
/// ten bytes: year big-endian in two, month, day, hour, minute, second, microsecond big-endian in three. At
/// protocol 4 and above the month byte carries the fold in its top bit; protocols 0 to 3 leave the fold out.
/// Protocols 0 to 2 write the bytes as `_codecs.encode(str, 'latin1')` (read as `bytes`); Python 2 wrote a
/// `str`, recognised when read with `encoding='latin1'` or `encoding='bytes'`. The zone is a
/// `datetime.timezone` (`timezone.utc` included) or a `zoneinfo.ZoneInfo`; any other `tzinfo` (pytz, dateutil)
/// leaves the node unrecognised.
///
/// CPython's unpickler copies a state whose month is sane without checking the other fields, so it can build
/// a datetime of day 40; such a state is not recognised here.
public struct PythonDateTime: PickleStdlibValue, Hashable {
    /// The date part.
    public let date: PythonDate
    /// The time part, with the zone and the fold.
    public let time: PythonTime

    /// 1 to 9999.
    public var year: Int { date.year }
    /// 1 to 12.
    public var month: Int { date.month }
    /// 1 to the month's length.
    public var day: Int { date.day }
    /// 0 to 23.
    public var hour: Int { time.hour }
    /// 0 to 59.
    public var minute: Int { time.minute }
    /// 0 to 59.
    public var second: Int { time.second }
    /// 0 to 999,999.
    public var microsecond: Int { time.microsecond }
    /// PEP 495's fold: 1 for the second of two equal wall times.
    public var fold: Int { time.fold }
    /// The time zone; nil for a naive datetime.
    public var timeZone: PythonTZInfo? { time.timeZone }

    /// A datetime of a date and a time.
    /// - Parameters:
    ///   - date: the day.
    ///   - time: the time of day, its zone and fold.
    public init(date: PythonDate, time: PythonTime) {
        self.date = date
        self.time = time
    }

    /// A datetime; nil unless every field is in range.
    /// - Parameters:
    ///   - year: 1 to 9999.
    ///   - month: 1 to 12.
    ///   - day: 1 to the month's length.
    ///   - hour: 0 to 23.
    ///   - minute: 0 to 59.
    ///   - second: 0 to 59.
    ///   - microsecond: 0 to 999,999.
    ///   - timeZone: the zone, or nil for a naive datetime.
    ///   - fold: 0 or 1.
    public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0,
                 microsecond: Int = 0, timeZone: PythonTZInfo? = nil, fold: Int = 0) {
        guard let date = PythonDate(year: year, month: month, day: day),
              let time = PythonTime(hour: hour, minute: minute, second: second, microsecond: microsecond,
                                    timeZone: timeZone, fold: fold) else { return nil }
        self.init(date: date, time: time)
    }

    /// The aware datetime of an instant in a fixed-offset zone, rounded to the microsecond (half to even, as
    /// `datetime.fromtimestamp`); nil outside years 1 to 9999.
    /// - Parameters:
    ///   - instant: the instant.
    ///   - timeZone: the zone whose wall time the fields hold (UTC by default).
    public init?(_ instant: Date, timeZone: PythonTimeZone = .utc) {
        let micros = (instant.timeIntervalSince1970 * 1_000_000).rounded(.toNearestOrEven)
        guard micros.isFinite, abs(micros) < 4e17, let offset = timeZone.offset.totalMicroseconds else { return nil }
        let local = Int(micros) + offset
        let (days, rest) = PythonTimeDelta.floorDivMod(local, 86_400_000_000)
        let (y, m, d) = CivilCalendar.date(days: days)
        let seconds = rest / 1_000_000
        self.init(year: y, month: m, day: d, hour: seconds / 3600, minute: seconds / 60 % 60, second: seconds % 60,
                  microsecond: rest % 1_000_000, timeZone: .timezone(timeZone))
    }

    /// The instant, for an aware datetime or, for a naive one, in `assumedTimeZone`; nil for a naive datetime
    /// without an assumed zone, or a zone Foundation does not have. Local wall times resolve with the fold as
    /// Python's does (PEP 495): of two equal wall times fold 0 is the earlier, and a wall time in a gap uses the
    /// offset before the transition (fold 0) or after it (fold 1).
    /// - Parameter assumedTimeZone: the zone of a naive datetime's wall time (ignored for an aware one).
    public func foundationDate(assumingTimeZone assumedTimeZone: TimeZone? = nil) -> Date? {
        let local = CivilCalendar.days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
        let utc: Int
        switch timeZone {
        case .timezone(let zone)?:
            guard let offset = zone.offset.totalMicroseconds else { return nil }
            let micros = local * 1_000_000 + microsecond - offset
            return Date(timeIntervalSince1970: Double(micros / 1_000_000) + Double(micros % 1_000_000) / 1_000_000)
        case .zoneInfo(let zone)?:
            guard let foundation = zone.foundationTimeZone else { return nil }
            utc = CivilCalendar.utcSecond(local: local, fold: fold == 1, in: foundation)
        case nil:
            guard let assumedTimeZone else { return nil }
            utc = CivilCalendar.utcSecond(local: local, fold: fold == 1, in: assumedTimeZone)
        }
        return Date(timeIntervalSince1970: Double(utc) + Double(microsecond) / 1_000_000)
    }

    /// The fields in the Gregorian calendar, with the zone when Foundation has it.
    public var dateComponents: DateComponents {
        DateComponents(calendar: Calendar(identifier: .gregorian), timeZone: timeZone?.foundationTimeZone,
                       year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                       nanosecond: microsecond * 1000)
    }

    // MARK: - Pickle

    /// Recognises `datetime.datetime(state)` and `datetime.datetime(state, tzinfo)` with a valid 10-byte
    /// state and a recognised zone (or None).
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef, zones: ZoneCache? = nil) -> PythonDateTime? {
        guard let (read, zone) = DateTimeState.read(t, ref, GlobalName("datetime", "datetime"), count: 10, zones: zones) else { return nil }
        var state = read
        let fold = state[2] & 0x80 != 0 ? 1 : 0
        state[2] &= 0x7F
        guard let date = PythonDate(state: state[0 ..< 4]),
              let time = PythonTime(state: state[4 ..< 10], timeZone: zone, foldInFirstByte: false, fold: fold) else { return nil }
        return PythonDateTime(date: date, time: time)
    }

    /// `datetime.datetime(state)` or `datetime.datetime(state, tzinfo)`, the fold in the state as protocol 4
    /// writes it.
    public var pickleValue: PickleValue {
        var state = date.state + time.state(foldBit: false)
        if fold == 1 { state[2] |= 0x80 }
        return .call("datetime", "datetime", [.bytes(state)] + (timeZone.map { [$0.pickleValue] } ?? []))
    }

    /// `datetime.datetime(2026, 12, 7, 13, 5, fold=1, tzinfo=datetime.timezone.utc)`: seconds and
    /// microseconds only when not zero, the fold before the zone, as CPython prints them.
    public var pythonRepr: String {
        "datetime.datetime(\(year), \(month), \(day), \(DateTimeState.clockFields(hour, minute, second, microsecond, timeZone, fold, foldFirst: true)))"
    }
}
