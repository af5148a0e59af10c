#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

// Foundation's value types written as the Python standard library values of the same meaning, in the form
// CPython pickles them: `Date` as `datetime.datetime` (by ``PickleEncoder/DateEncodingStrategy``),
// `DateComponents` as `datetime.date`, `time` or `datetime`, `Duration` as `datetime.timedelta`, and (in
// ``PickleValueWriter/box(_:at:)``) `Decimal` as `decimal.Decimal` and `UUID` as `uuid.UUID`.

extension PickleValueWriter {
    /// Adds a standard library value's pickle form, its globals shared with the rest of the graph.
    func insert(_ value: PickleValue) -> PickleRef {
        graph.builder.insert(value, sharingGlobals: &graph.globals)
    }

    func date(_ date: Date, at path: CodingPath) throws -> PickleRef {
        switch settings.dates {
        case .pythonDateTime:
            guard let datetime = PythonDateTime(date, timeZone: .utc) else {
                throw EncodingError.invalidValue(date, .init(codingPath: path.keys, debugDescription: "\(date) is outside datetime's years 1 to 9999"))
            }
            // CPython writes timezone.utc once and refers back to it, as to the class.
            let utc = graph.utc ?? insert(PythonTZInfo.utc.pickleValue)
            graph.utc = utc
            let state = graph.builder.payload(.bytes, datetime.date.state + datetime.time.state(foldBit: false))
            return graph.builder.object(.reduce(callable: insert(.global(GlobalName("datetime", "datetime"))),
                                                args: graph.builder.tuple([state, utc])))
        case .secondsSince1970:
            return graph.builder.float(date.timeIntervalSince1970)
        case .millisecondsSince1970:
            return graph.builder.float(date.timeIntervalSince1970 * 1000)
        case .deferredToDate:
            return try encodeInPlace(at: path) { try date.encode(to: self) }
        case .custom(let encode):
            return try encodeInPlace(at: path) { try encode(date, self) }
        }
    }

    /// A `datetime.timedelta`, rounded to the microsecond (half to even, as `timedelta(seconds=x)`).
    func timedelta(_ duration: Duration, at path: CodingPath) throws -> PickleRef {
        let (seconds, attoseconds) = duration.components
        let attosecondsPerMicrosecond: Int64 = 1_000_000_000_000
        var (micros, rest) = attoseconds.quotientAndRemainder(dividingBy: attosecondsPerMicrosecond)
        if rest.magnitude * 2 > attosecondsPerMicrosecond.magnitude || (rest.magnitude * 2 == attosecondsPerMicrosecond.magnitude && micros % 2 != 0) {
            micros += rest.signum()
        }
        guard let wholeSeconds = Int(exactly: seconds),
              let delta = PythonTimeDelta(seconds: wholeSeconds, microseconds: Int(micros)) else {
            throw EncodingError.invalidValue(duration, .init(codingPath: path.keys, debugDescription: "\(duration) is longer than timedelta's 999,999,999 days"))
        }
        return insert(delta.pickleValue)
    }

    /// A `datetime.date` of year, month and day; a `datetime.time` of hour, minute, second and nanosecond
    /// (truncated to the microsecond) without a day; a `datetime.datetime` of both. The time zone makes a
    /// time or datetime aware: a fixed offset (`TimeZone(secondsFromGMT:)`, GMT, UTC) is a
    /// `datetime.timezone`, a named zone a `zoneinfo.ZoneInfo`.
    func dateTime(_ components: DateComponents, at path: CodingPath) throws -> PickleRef {
        func invalid(_ reason: String) -> EncodingError {
            EncodingError.invalidValue(components, .init(codingPath: path.keys, debugDescription: "DateComponents \(reason)"))
        }
        let hasDate = components.year != nil || components.month != nil || components.day != nil
        let hasTime = components.hour != nil || components.minute != nil || components.second != nil || components.nanosecond != nil
        let zone = components.timeZone.map(Self.pythonTimeZone)
        let microsecond = (components.nanosecond ?? 0) / 1000
        if hasDate {
            guard let year = components.year, let month = components.month, let day = components.day else {
                throw invalid("with part of a date need a year, a month and a day to be a Python date")
            }
            if !hasTime && zone == nil {
                guard let date = PythonDate(year: year, month: month, day: day) else { throw invalid("\(year)-\(month)-\(day) is not a Python date") }
                return insert(date.pickleValue)
            }
            guard let datetime = PythonDateTime(year: year, month: month, day: day, hour: components.hour ?? 0, minute: components.minute ?? 0,
                                                second: components.second ?? 0, microsecond: microsecond, timeZone: zone) else {
                throw invalid("out of datetime's ranges")
            }
            return insert(datetime.pickleValue)
        }
        guard hasTime else { throw invalid("with neither a date (year, month, day) nor a time of day are no Python value") }
        guard let time = PythonTime(hour: components.hour ?? 0, minute: components.minute ?? 0, second: components.second ?? 0,
                                    microsecond: microsecond, timeZone: zone) else {
            throw invalid("out of time's ranges")
        }
        return insert(time.pickleValue)
    }

    /// The Python zone of a Foundation one: a fixed offset for GMT, UTC and `GMT+hhmm` zones, else the IANA
    /// zone of the identifier.
    private static func pythonTimeZone(_ zone: TimeZone) -> PythonTZInfo {
        let id = zone.identifier
        if id == "GMT" || id == "UTC" || id.hasPrefix("GMT+") || id.hasPrefix("GMT-"),
           let fixed = PythonTimeZone(offset: PythonTimeDelta(totalMicroseconds: zone.secondsFromGMT() * 1_000_000)) {
            return .timezone(fixed)
        }
        return .zoneInfo(PythonZoneInfo(key: id))
    }
}
