#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

// Foundation's value types read from the Python standard library values that mean the same thing: `Date`
// from `datetime.datetime` (by ``PickleDecoder/DateDecodingStrategy``), `DateComponents` from `datetime`,
// `date` and `time`, `Decimal` from `decimal.Decimal`, `UUID` from `uuid.UUID`, `Duration` from
// `datetime.timedelta`. Their own `init(from:)` would ask for a number or a keyed container instead.

extension PickleValueReader {
    /// Whether ``decodeFoundationValue(_:_:_:fromSingleValue:)`` decodes `type`.
    static func isFoundationValue(_ type: Any.Type) -> Bool {
        type == Date.self || type == Decimal.self || type == UUID.self || type == DateComponents.self || type == Duration.self
    }

    /// A Foundation value type ``isFoundationValue(_:)`` accepts, read from the Python value of the same
    /// meaning.
    @inline(never)
    func decodeFoundationValue<T: Decodable>(_ type: T.Type, _ ref: PickleRef, _ path: @autoclosure () -> CodingPath, fromSingleValue: Bool) throws -> T {
        let type: Any.Type = type
        let value: Any
        if type == Date.self {
            value = try date(ref, path(), fromSingleValue: fromSingleValue)
        } else if type == Decimal.self {
            value = try decimal(ref, path())
        } else if type == UUID.self {
            value = try uuid(ref, path())
        } else if type == Duration.self {
            value = try duration(ref, path())
        } else if let components = dateComponents(ref) {
            value = components
        } else {
            // Anything else is read as Foundation encodes DateComponents (a keyed container).
            return try standing(at: ref, path(), fromSingleValue: fromSingleValue) { try T(from: self) }
        }
        return value as! T  // of the type compared above
    }

    private func date(_ ref: PickleRef, _ path: @autoclosure () -> CodingPath, fromSingleValue: Bool) throws -> Date {
        switch settings.dates {
        case .pythonDateTime(let naiveTimeZone):
            if let datetime = PythonDateTime.recognize(t, ref, zones: zones) {
                if let date = datetime.foundationDate(assumingTimeZone: naiveTimeZone) { return date }
                noteFailure(ref)
                let reason = datetime.timeZone == nil
                    ? "is naive, and PickleDecoder.dateDecodingStrategy gives no time zone to read it in"
                    : "has a time zone Foundation does not know"
                throw DecodingError.dataCorrupted(.init(codingPath: path().keys, debugDescription: "\(datetime.pythonRepr) \(reason)"))
            }
            guard let seconds = number(ref) else {
                throw mismatch(Date.self, ref, path(), "a datetime.datetime, or seconds since 1970 as an int or float")
            }
            return Date(timeIntervalSince1970: seconds)
        case .secondsSince1970:
            guard let seconds = number(ref) else { throw mismatch(Date.self, ref, path(), "seconds since 1970 as an int or float") }
            return Date(timeIntervalSince1970: seconds)
        case .millisecondsSince1970:
            guard let milliseconds = number(ref) else { throw mismatch(Date.self, ref, path(), "milliseconds since 1970 as an int or float") }
            return Date(timeIntervalSince1970: milliseconds / 1000)
        case .deferredToDate:
            return try standing(at: ref, path(), fromSingleValue: fromSingleValue) { try Date(from: self) }
        case .custom(let decode):
            return try standing(at: ref, path(), fromSingleValue: fromSingleValue) { try decode(self) }
        }
    }

    /// An `int` or `float` as a `Double` (a large int rounded); nil for anything else, bools included.
    private func number(_ ref: PickleRef) -> Double? {
        if let int = t.intValue(ref) { return Double(int) }
        if ref.isNode {
            let node = t.nodes[ref.nodeIndex]
            if node.kind == .float { return Double(bitPattern: UInt64(bitPattern: Int64(node.a))) }
            if node.kind == .bigInt { return Double(GraphRepr.repr(t, ref, maxLength: 400)) }
        }
        return nil
    }

    private func decimal(_ ref: PickleRef, _ path: @autoclosure () -> CodingPath) throws -> Decimal {
        if let python = PythonDecimal.recognize(t, ref) {
            if let exact = python.foundationDecimal { return exact }
            noteFailure(ref)
            throw DecodingError.dataCorrupted(.init(codingPath: path().keys, debugDescription:
                "\(python.pythonRepr) is not exactly a Foundation Decimal (38 digits, exponent -128 to 127, no infinity or -0): decode PythonDecimal to keep it"))
        }
        // An int or a float as the number its repr writes (Swift and Python both print the shortest digits
        // that read back as the same double).
        let text: String?
        if ref.isInlineInt || (ref.isNode && [.int64, .bigInt].contains(t.nodes[ref.nodeIndex].kind)) {
            text = GraphRepr.repr(t, ref, maxLength: 400)
        } else if ref.isNode, t.nodes[ref.nodeIndex].kind == .float {
            let double = Double(bitPattern: UInt64(bitPattern: Int64(t.nodes[ref.nodeIndex].a)))
            text = double.isFinite ? "\(double)" : nil
        } else {
            throw mismatch(Decimal.self, ref, path(), "a decimal.Decimal, an int or a float")
        }
        guard let text, let python = PythonDecimal(text), let exact = python.foundationDecimal else {
            noteFailure(ref)
            throw DecodingError.dataCorrupted(.init(codingPath: path().keys, debugDescription: "\(describe(ref)) is not exactly a Foundation Decimal"))
        }
        return exact
    }

    private func uuid(_ ref: PickleRef, _ path: @autoclosure () -> CodingPath) throws -> UUID {
        if let python = PythonUUID.recognize(t, ref) { return python.uuid }
        guard ref.isNode, t.nodes[ref.nodeIndex].kind == .string else { throw mismatch(UUID.self, ref, path(), "a uuid.UUID or a str") }
        let text = try string(ref, path())
        guard let uuid = UUID(uuidString: text) else {
            noteFailure(ref)
            throw DecodingError.dataCorrupted(.init(codingPath: path().keys, debugDescription: "\(describe(ref)) is not a UUID"))
        }
        return uuid
    }

    private func duration(_ ref: PickleRef, _ path: @autoclosure () -> CodingPath) throws -> Duration {
        if let delta = PythonTimeDelta.recognize(t, ref) {
            // Days up to 999,999,999 in seconds fit in Int64; in microseconds they may not.
            return Duration(secondsComponent: Int64(delta.days) * 86_400 + Int64(delta.seconds),
                            attosecondsComponent: Int64(delta.microseconds) * 1_000_000_000_000)
        }
        if let int = t.intValue(ref) { return .seconds(int) }
        if ref.isNode, t.nodes[ref.nodeIndex].kind == .float {
            let seconds = Double(bitPattern: UInt64(bitPattern: Int64(t.nodes[ref.nodeIndex].a)))
            if seconds.isFinite, abs(seconds) < 9e18 { return .seconds(seconds) }
            throw outOfRange(Duration.self, ref, path())
        }
        throw mismatch(Duration.self, ref, path(), "a datetime.timedelta, or seconds as an int or float")
    }

    /// The fields of a `datetime.datetime`, `date` or `time`.
    private func dateComponents(_ ref: PickleRef) -> DateComponents? {
        if let datetime = PythonDateTime.recognize(t, ref) { return datetime.dateComponents }
        if let date = PythonDate.recognize(t, ref) { return date.dateComponents }
        if let time = PythonTime.recognize(t, ref) { return time.dateComponents }
        return nil
    }
}
