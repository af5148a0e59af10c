#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

/// Python's `datetime.date`: a day of the proleptic Gregorian calendar, years 1 to 9999.
///
/// CPython pickles it at every protocol as `datetime.date(state)` (REDUCE), the state four bytes: the year
/// big-endian in two, the month, the day. Protocols 0 to 2 write the bytes as `_codecs.encode(str, 'latin1')`,
/// which reads as `bytes`; a Python 2 pickle holds them in a `str` (read with `encoding='latin1'`, or
/// `encoding='bytes'`), and both are recognised.
public struct PythonDate: PickleStdlibValue, Hashable {
    /// The year, 1 to 9999.
    public let year: Int
    /// The month, 1 to 12.
    public let month: Int
    /// The day of the month, 1 to the month's length.
    public let day: Int

    /// A date; nil unless it exists (Python's `ValueError`s).
    /// - Parameters:
    ///   - year: 1 to 9999.
    ///   - month: 1 to 12.
    ///   - day: 1 to the month's length.
    public init?(year: Int, month: Int, day: Int) {
        guard CivilCalendar.isValid(year: year, month: month, day: day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date's fields in the Gregorian calendar (no time zone).
    public var dateComponents: DateComponents {
        DateComponents(calendar: Calendar(identifier: .gregorian), year: year, month: month, day: day)
    }

    // MARK: - Pickle

    /// Recognises `datetime.date(state)` with a valid 4-byte state.
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> PythonDate? {
        guard let args = t.reduceArgs(ref, GlobalName("datetime", "date")), args.count == 1,
              let state = t.bytesOrLatin1(args[0]), state.count == 4 else { return nil }
        return PythonDate(state: state[...])
    }

    /// The date in the first four bytes of a date or datetime state (no fold bit allowed).
    init?(state: ArraySlice<UInt8>) {
        let s = state.startIndex
        self.init(year: Int(state[s]) << 8 | Int(state[s + 1]), month: Int(state[s + 2]), day: Int(state[s + 3]))
    }

    /// The four state bytes.
    var state: [UInt8] { [UInt8(year >> 8), UInt8(year & 0xFF), UInt8(month), UInt8(day)] }

    /// `datetime.date(state)`, the state as `bytes`.
    public var pickleValue: PickleValue { .call("datetime", "date", [.bytes(state)]) }

    /// `datetime.date(2026, 12, 7)`.
    public var pythonRepr: String { "datetime.date(\(year), \(month), \(day))" }
}

/// Calendar arithmetic of the proleptic Gregorian calendar, as Python's `datetime` does it.
enum CivilCalendar {
    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func isValid(year: Int, month: Int, day: Int) -> Bool {
        (1 ... 9999).contains(year) && (1 ... 12).contains(month) && day >= 1 && day <= daysIn(month: month, year: year)
    }

    /// Days since 1970-01-01 of a civil date.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date `days` days after 1970-01-01.
    static func date(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// The UTC second of local wall-clock second `local` (seconds since 1970 as if UTC) in `zone`, with
    /// Python's `fold` (PEP 495): of two instants with that wall time, fold 0 is the earlier; in a gap, fold 0
    /// uses the offset before the transition and fold 1 the offset after it.
    static func utcSecond(local: Int, fold: Bool, in zone: TimeZone) -> Int {
        func offset(_ utc: Int) -> Int { zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(utc))) }
        let before = offset(local - 86_400), after = offset(local + 86_400)
        let candidates = Set([before, after]).filter { offset(local - $0) == $0 }.map { local - $0 }.sorted()
        guard let first = candidates.first, let last = candidates.last else { return local - (fold ? after : before) }
        return fold ? last : first
    }
}
