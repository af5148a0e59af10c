/// Python's `datetime.timedelta`: a duration of days, seconds and microseconds, normalized as Python keeps it.
///
/// CPython pickles it at every protocol as `datetime.timedelta(days, seconds, microseconds)` (REDUCE), with
/// `0 <= seconds < 86400`, `0 <= microseconds < 1000000` and `|days| <= 999999999`. Only that normalized form
/// is recognised.
public struct PythonTimeDelta: PickleStdlibValue, Hashable {
    /// Whole days, -999,999,999 to 999,999,999 (negative durations have negative days).
    public let days: Int
    /// Seconds within the day, 0 to 86,399.
    public let seconds: Int
    /// Microseconds within the second, 0 to 999,999.
    public let microseconds: Int

    /// The largest magnitude of ``days`` (`timedelta.max.days`).
    public static let maxDays = 999_999_999

    /// A duration from any combination of fields, normalized as Python's constructor does (carrying
    /// microseconds into seconds and seconds into days); nil past ±999,999,999 days.
    /// - Parameters:
    ///   - days: whole days.
    ///   - seconds: seconds (any sign).
    ///   - microseconds: microseconds (any sign).
    public init?(days: Int = 0, seconds: Int = 0, microseconds: Int = 0) {
        let (usCarry, us) = Self.floorDivMod(microseconds, 1_000_000)
        let (s1, o1) = seconds.addingReportingOverflow(usCarry)
        guard !o1 else { return nil }
        let (sCarry, s) = Self.floorDivMod(s1, 86_400)
        let (d, o2) = days.addingReportingOverflow(sCarry)
        guard !o2, abs(d) <= Self.maxDays else { return nil }
        self.days = d
        self.seconds = s
        self.microseconds = us
    }

    /// A duration of `microseconds` microseconds.
    /// - Parameter totalMicroseconds: the duration; any `Int` fits.
    public init(totalMicroseconds: Int) {
        self.init(days: 0, seconds: 0, microseconds: totalMicroseconds)!  // Int.max µs is ~106,751,991 days
    }

    /// The zero duration.
    public static let zero = PythonTimeDelta(totalMicroseconds: 0)

    /// The duration in microseconds, when it fits in `Int` (it does within ±106,751,991 days).
    public var totalMicroseconds: Int? {
        let (a, o1) = days.multipliedReportingOverflow(by: 86_400_000_000)
        let (b, o2) = a.addingReportingOverflow(seconds * 1_000_000 + microseconds)
        return o1 || o2 ? nil : b
    }

    /// The duration in seconds, as Python's `total_seconds()` (a `Double`).
    public var totalSeconds: Double {
        Double(days) * 86_400 + Double(seconds) + Double(microseconds) / 1_000_000
    }

    static func floorDivMod(_ a: Int, _ b: Int) -> (Int, Int) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    // MARK: - Pickle

    /// Recognises `datetime.timedelta(days, seconds, microseconds)` with normalized fields.
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> PythonTimeDelta? {
        guard let args = t.reduceArgs(ref, GlobalName("datetime", "timedelta")), args.count == 3,
              let d = t.intValue(args[0]), let s = t.intValue(args[1]), let us = t.intValue(args[2]),
              abs(d) <= maxDays, (0 ..< 86_400).contains(s), (0 ..< 1_000_000).contains(us)
        else { return nil }
        return PythonTimeDelta(days: d, seconds: s, microseconds: us)
    }

    /// `datetime.timedelta(days, seconds, microseconds)`.
    public var pickleValue: PickleValue {
        .call("datetime", "timedelta", [.int(days), .int(seconds), .int(microseconds)])
    }

    /// `datetime.timedelta(days=-1, seconds=5, microseconds=7)`, fields that are zero left out;
    /// `datetime.timedelta(0)` for zero.
    public var pythonRepr: String {
        var fields: [String] = []
        if days != 0 { fields.append("days=\(days)") }
        if seconds != 0 { fields.append("seconds=\(seconds)") }
        if microseconds != 0 { fields.append("microseconds=\(microseconds)") }
        return "datetime.timedelta(\(fields.isEmpty ? "0" : fields.joined(separator: ", ")))"
    }
}
