import Foundation
import XCTest
@testable import Pickle

/// The Python standard library's values through `PickleDecoder` and `PickleEncoder`: Foundation's `Date`,
/// `DateComponents`, `Decimal`, `UUID` and `Duration`, the library's own exact types as fields, the
/// `collections` types into Swift containers, and malformed stdlib shapes as clear `DecodingError`s. Every
/// pickle is CPython's, made at test time, and everything encoded is judged by CPython loading it.
final class StdlibCodableTests: XCTestCase {
    private let utc = TimeZone(secondsFromGMT: 0)!

    struct Moments: Decodable, Equatable {
        let aware: Date, naive: Date, zoned: Date, created: Date
        let day: DateComponents, clock: DateComponents, stamp: DateComponents
        let amount: Decimal, count: Decimal, ratio: Decimal
        let id: UUID, textId: UUID
        let elapsed: Duration, before: Duration, timeout: Duration
        let timestamps: [Double]
    }

    private let momentsSetup = """
    paris = zoneinfo.ZoneInfo('Europe/Paris')
    aware = datetime.datetime(2026, 12, 7, 13, 5, 6, 789012, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))
    naive = datetime.datetime(2026, 1, 2, 3, 4, 5, 6)
    zoned = datetime.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=paris)
    """

    private let momentsExpression = """
    {'aware': aware, 'naive': naive, 'zoned': zoned, 'created': 1765112345.25,
     'day': datetime.date(2026, 12, 7), 'clock': datetime.time(13, 5, 6, 7, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
     'stamp': datetime.datetime(2026, 12, 7, 23, 59, 59, 999999, tzinfo=paris),
     'amount': decimal.Decimal('-12.50'), 'count': 12, 'ratio': 0.1,
     'id': uuid.UUID('12345678-1234-5678-1234-567812345678'), 'text_id': '12345678-1234-5678-1234-567812345678',
     'elapsed': datetime.timedelta(days=1, seconds=2, microseconds=3), 'before': datetime.timedelta(microseconds=-1), 'timeout': 2.5,
     'timestamps': [aware.timestamp(), naive.replace(tzinfo=datetime.timezone.utc).timestamp(), zoned.timestamp(), zoned.replace(fold=0).timestamp()]}
    """

    func testFoundationValuesDecodeFromThePythonValuesOfTheSameMeaningAtEveryProtocol() throws {
        let decoder = PickleDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        for (p, bytes) in try Python.pickles(of: momentsExpression, setup: momentsSetup) {
            let m = try decoder.decodeEveryWay(Moments.self, bytes)
            XCTAssertEqual(m.aware.timeIntervalSince1970, m.timestamps[0], accuracy: 1e-6, "protocol \(p)")
            XCTAssertEqual(m.naive.timeIntervalSince1970, m.timestamps[1], accuracy: 1e-6, "naive datetimes are UTC by default")
            // Protocols 0 to 3 leave the fold out, so CPython too reads the earlier of the two 02:30s there.
            XCTAssertEqual(m.zoned.timeIntervalSince1970, m.timestamps[p >= 4 ? 2 : 3], "protocol \(p)")
            XCTAssertNotEqual(m.timestamps[2], m.timestamps[3])
            XCTAssertEqual(m.created.timeIntervalSince1970, 1765112345.25)
            XCTAssertEqual([m.day.year, m.day.month, m.day.day], [2026, 12, 7])
            XCTAssertNil(m.day.hour)
            XCTAssertEqual(m.day.calendar?.identifier, .gregorian)
            XCTAssertEqual([m.clock.hour, m.clock.minute, m.clock.second, m.clock.nanosecond], [13, 5, 6, 7000])
            XCTAssertEqual(m.clock.timeZone?.secondsFromGMT(), 3600)
            XCTAssertNil(m.clock.year)
            XCTAssertEqual([m.stamp.year, m.stamp.day, m.stamp.hour, m.stamp.nanosecond], [2026, 7, 23, 999_999_000])
            XCTAssertEqual(m.stamp.timeZone?.identifier, "Europe/Paris")
            XCTAssertEqual(m.amount, Decimal(string: "-12.5"))
            XCTAssertEqual(m.count, 12)
            XCTAssertEqual(m.ratio, Decimal(string: "0.1"), "a float is the number its repr writes")
            XCTAssertEqual(m.id, UUID(uuidString: "12345678-1234-5678-1234-567812345678"))
            XCTAssertEqual(m.textId, m.id)
            XCTAssertEqual(m.elapsed, .seconds(86_402) + .microseconds(3))
            XCTAssertEqual(m.before, .microseconds(-1))
            XCTAssertEqual(m.timeout, .milliseconds(2500))
        }
    }

    func testDateStrategies() throws {
        struct When: Decodable, Equatable { let when: Date }
        let naive = try Python.pickles(of: "{'when': datetime.datetime(2026, 1, 2, 3, 4, 5)}", protocols: 5 ... 5)[0].1
        let number = try Python.pickles(of: "{'when': 1765112345.5}", protocols: 2 ... 2)[0].1
        let decoder = PickleDecoder()

        decoder.dateDecodingStrategy = .pythonDateTime(naiveTimeZone: nil)
        XCTAssertThrowsError(try decoder.decode(When.self, from: naive)) { error in
            guard case DecodingError.dataCorrupted(let context) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(context.debugDescription.hasPrefix("datetime.datetime(2026, 1, 2, 3, 4, 5) is naive"), context.debugDescription)
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["when"])
        }
        decoder.dateDecodingStrategy = .pythonDateTime(naiveTimeZone: TimeZone(identifier: "America/New_York")!)
        let newYork = try Python.script("import datetime, zoneinfo; print(datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=zoneinfo.ZoneInfo('America/New_York')).timestamp())")
        XCTAssertEqual(try decoder.decode(When.self, from: naive).when.timeIntervalSince1970,
                       Double(String(decoding: newYork, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(try decoder.decode(When.self, from: number).when.timeIntervalSince1970, 1765112345.5)

        decoder.dateDecodingStrategy = .secondsSince1970
        XCTAssertEqual(try decoder.decode(When.self, from: number).when.timeIntervalSince1970, 1765112345.5)
        XCTAssertThrowsError(try decoder.decode(When.self, from: naive)) { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(context.debugDescription.contains("seconds since 1970"), context.debugDescription)
            XCTAssertTrue(context.debugDescription.contains("datetime.datetime(2026, 1, 2, 3, 4, 5)"), context.debugDescription)
        }
        decoder.dateDecodingStrategy = .millisecondsSince1970
        XCTAssertEqual(try decoder.decode(When.self, from: number).when.timeIntervalSince1970, 1765112.3455, accuracy: 1e-6)
        decoder.dateDecodingStrategy = .deferredToDate
        XCTAssertEqual(try decoder.decode(When.self, from: number).when.timeIntervalSinceReferenceDate, 1765112345.5)
        decoder.dateDecodingStrategy = .custom { decoder in
            Date(timeIntervalSince1970: try decoder.singleValueContainer().decode(Double.self) * 2)
        }
        XCTAssertEqual(try decoder.decode(When.self, from: number).when.timeIntervalSince1970, 3530224691)
    }

    func testValuesFoundationCannotHoldExactlyAreErrorsAndStayExactInTheLibrarysTypes() throws {
        struct Amount: Decodable { let amount: Decimal }
        struct Exact: Decodable { let amount: PythonDecimal }
        for text in ["decimal.Decimal('Infinity')", "decimal.Decimal('-0')", "decimal.Decimal('1E+300')", "decimal.Decimal('1.' + '1' * 40)",
                     "10 ** 40 + 1", "float('nan')"] {
            let bytes = try Python.pickles(of: "{'amount': \(text)}", protocols: 4 ... 4)[0].1
            XCTAssertThrowsError(try PickleDecoder().decode(Amount.self, from: bytes), text) { error in
                guard case DecodingError.dataCorrupted(let context) = error else { return XCTFail("\(text): \(error)") }
                XCTAssertTrue(context.debugDescription.contains("not exactly a Foundation Decimal"), context.debugDescription)
                XCTAssertTrue(context.debugDescription.contains("byte offset"), context.debugDescription)
            }
            if text.hasPrefix("decimal") {
                let repr = try Python.script("import decimal; print(repr(\(text)))")
                XCTAssertEqual(try PickleDecoder().decode(Exact.self, from: bytes).amount.pythonRepr,
                               String(decoding: repr, as: UTF8.self).trimmingCharacters(in: .newlines))
            }
        }
        struct ID: Decodable { let id: UUID }
        for text in ["'not a uuid'", "[1]", "uuid.UUID"] {
            let bytes = try Python.pickles(of: "{'id': \(text)}", protocols: 3 ... 3)[0].1
            XCTAssertThrowsError(try PickleDecoder().decode(ID.self, from: bytes), text)
        }
    }

    struct Exact: Codable, Equatable {
        let dt: PythonDateTime, date: PythonDate, time: PythonTime, td: PythonTimeDelta
        let tz: PythonTimeZone, zone: PythonZoneInfo, tzinfo: PythonTZInfo
        let dec: PythonDecimal, uid: PythonUUID, frac: PythonFraction, z: PythonComplex, path: PythonPath
        let ip4: PythonIPv4Address, ip6: PythonIPv6Address
        let net: PythonIPNetwork<PythonIPv4Address>, iface: PythonIPInterface<PythonIPv6Address>
    }

    private let exactExpression = """
    {'dt': datetime.datetime(2026, 12, 7, 13, 5, fold=1, tzinfo=zoneinfo.ZoneInfo('Europe/Paris')),
     'date': datetime.date(1, 1, 1), 'time': datetime.time(23, 59, 59, 999999),
     'td': datetime.timedelta(days=-3, microseconds=5),
     'tz': datetime.timezone(datetime.timedelta(hours=5, minutes=30), 'IST'), 'zone': zoneinfo.ZoneInfo('Asia/Tokyo'),
     'tzinfo': datetime.timezone.utc,
     'dec': decimal.Decimal('-1.50E-7'), 'uid': uuid.UUID(int=5), 'frac': fractions.Fraction(-3, 4), 'z': complex(1.5, -2),
     'path': pathlib.PurePosixPath('/a/b'), 'ip4': ipaddress.IPv4Address('10.0.0.1'), 'ip6': ipaddress.IPv6Address('::1'),
     'net': ipaddress.IPv4Network('10.0.0.0/8'), 'iface': ipaddress.IPv6Interface('fe80::1/64')}
    """

    /// The library's types decode exactly from CPython's pickles (each shows CPython's repr), and encode
    /// back into values CPython finds equal, at every protocol.
    func testTheLibrarysStdlibTypesAreFieldsThatRoundTripThroughCPython() throws {
        let reprs = try Python.script("""
        import datetime, decimal, uuid, fractions, pathlib, ipaddress, zoneinfo
        for k, v in (\(exactExpression)).items(): print(k, repr(v))
        """)
        let expected = String(decoding: reprs, as: UTF8.self).split(separator: "\n").map(String.init)
        for (p, bytes) in try Python.pickles(of: exactExpression) {
            let exact = try PickleDecoder().decodeEveryWay(Exact.self, bytes)
            let fields: [(String, any PickleStdlibValue)] = [
                ("dt", exact.dt), ("date", exact.date), ("time", exact.time), ("td", exact.td), ("tz", exact.tz), ("zone", exact.zone),
                ("tzinfo", exact.tzinfo), ("dec", exact.dec), ("uid", exact.uid), ("frac", exact.frac), ("z", exact.z), ("path", exact.path),
                ("ip4", exact.ip4), ("ip6", exact.ip6), ("net", exact.net), ("iface", exact.iface)]
            // Protocols 0 to 3 leave a datetime's fold out.
            XCTAssertEqual(fields.map { "\($0.0) \($0.1.pythonRepr)" },
                           p >= 4 ? expected : expected.map { $0.replacingOccurrences(of: "fold=1, ", with: "") }, "protocol \(p)")
            // Written back at every protocol from the oldest and the newest pickle.
            for target in 0 ... 5 where p == 0 || p == 5 {
                let encoder = PickleEncoder()
                encoder.protocolVersion = target
                let written = try encoder.encode(exact)
                try Python.assertLoads(written, as: exactExpression)
                XCTAssertEqual(try PickleDecoder().decode(Exact.self, from: written), exact)
            }
        }
        // Another shape where one is expected: a typeMismatch naming both.
        struct Wrong: Decodable { let dt: PythonDateTime }
        let date = try Python.pickles(of: "{'dt': datetime.date(2026, 1, 1)}", protocols: 5 ... 5)[0].1
        XCTAssertThrowsError(try PickleDecoder().decode(Wrong.self, from: date)) { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(context.debugDescription.contains("Expected to decode PythonDateTime but found a Python datetime.date object, datetime.date(2026, 1, 1)"), context.debugDescription)
        }
        // Other coders are refused, not given a made-up form.
        XCTAssertThrowsError(try JSONDecoder().decode([PythonDecimal].self, from: Data("[\"1\"]".utf8)))
        XCTAssertThrowsError(try JSONEncoder().encode([PythonDecimal("1")!]))
    }

    struct Outgoing: Encodable {
        let at: Date, amount: Decimal, id: UUID, elapsed: Duration, tiny: Duration
        let day: DateComponents, clock: DateComponents, meeting: DateComponents, stamp: DateComponents
    }

    func testFoundationValuesEncodeAsThePythonValuesCPythonRebuilds() throws {
        var meeting = DateComponents(year: 2026, month: 12, day: 7, hour: 9, minute: 30)
        meeting.timeZone = TimeZone(identifier: "Europe/Paris")
        var stamp = DateComponents(year: 2026, month: 12, day: 7, hour: 9, minute: 30, second: 1, nanosecond: 2_500)
        stamp.timeZone = TimeZone(secondsFromGMT: -5 * 3600)
        let value = Outgoing(
            at: Date(timeIntervalSince1970: 1796648706.789012), amount: Decimal(string: "-12.50")!,
            id: UUID(uuidString: "12345678-1234-5678-1234-567812345678")!, elapsed: .seconds(86_402) + .microseconds(3),
            tiny: .nanoseconds(1500), day: DateComponents(year: 2026, month: 2, day: 28),
            clock: DateComponents(hour: 23, minute: 59, second: 59, nanosecond: 999_999_999), meeting: meeting, stamp: stamp)
        let python = """
        {'at': datetime.datetime(2026, 12, 7, 13, 5, 6, 789012, tzinfo=datetime.timezone.utc), 'amount': decimal.Decimal('-12.5'),
         'id': uuid.UUID('12345678-1234-5678-1234-567812345678'), 'elapsed': datetime.timedelta(days=1, seconds=2, microseconds=3),
         'tiny': datetime.timedelta(microseconds=2), 'day': datetime.date(2026, 2, 28), 'clock': datetime.time(23, 59, 59, 999999),
         'meeting': datetime.datetime(2026, 12, 7, 9, 30, tzinfo=zoneinfo.ZoneInfo('Europe/Paris')),
         'stamp': datetime.datetime(2026, 12, 7, 9, 30, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))}
        """
        for p in 0 ... 5 {
            let encoder = PickleEncoder()
            encoder.protocolVersion = p
            try Python.assertLoads(try encoder.encode(value), as: python)
        }
        // Dates are the bytes CPython writes for datetimes in UTC: the class and timezone.utc written once.
        let dates = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1796648706.5)]
        let cpython = try Python.pickles(of: "[datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc), datetime.datetime(2026, 12, 7, 13, 5, 6, 500000, tzinfo=datetime.timezone.utc)]")
        for (p, bytes) in cpython {
            let encoder = PickleEncoder()
            encoder.protocolVersion = p
            XCTAssertEqual(try encoder.encode(dates), bytes, "protocol \(p)")
            XCTAssertEqual(try PickleDecoder().decode([Date].self, from: bytes), dates)
        }
        // The other date strategies, and values Python cannot hold.
        let encoder = PickleEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        try Python.assertLoads(try encoder.encode([Date(timeIntervalSince1970: 1.5)]), as: "[1.5]")
        encoder.dateEncodingStrategy = .millisecondsSince1970
        try Python.assertLoads(try encoder.encode([Date(timeIntervalSince1970: 1.5)]), as: "[1500.0]")
        encoder.dateEncodingStrategy = .deferredToDate
        try Python.assertLoads(try encoder.encode([Date(timeIntervalSinceReferenceDate: 2.5)]), as: "[2.5]")
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Int(date.timeIntervalSince1970))
        }
        try Python.assertLoads(try encoder.encode([Date(timeIntervalSince1970: 7.9)]), as: "[7]")
        encoder.dateEncodingStrategy = .pythonDateTime
        for bad in [Date(timeIntervalSince1970: 1e15)] {
            XCTAssertThrowsError(try encoder.encode([bad])) { error in
                guard case EncodingError.invalidValue = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertThrowsError(try encoder.encode([DateComponents(month: 2)]))
        XCTAssertThrowsError(try encoder.encode([DateComponents(year: 2026, month: 2, day: 30)]))
        XCTAssertThrowsError(try encoder.encode([DateComponents(weekday: 2)]))
        XCTAssertThrowsError(try encoder.encode([Duration.seconds(Int64.max)]))
    }

    func testCollectionsTypesDecodeIntoSwiftContainers() throws {
        struct Point: Decodable, Equatable {
            let x: Int, y: Int
            init(x: Int, y: Int) { (self.x, self.y) = (x, y) }
            init(from decoder: any Decoder) throws {
                var items = try decoder.unkeyedContainer()
                (x, y) = (try items.decode(Int.self), try items.decode(Int.self))
            }
        }
        struct Shapes: Decodable, Equatable {
            let counts: [String: Int], groups: [String: [Int]], ordered: [String: Int], recent: [Int], point: Point
        }
        let setup = "Point = collections.namedtuple('Point', 'x y'); Point.__module__ = 'fixture_objects'; f.Point = Point"
        let expression = """
        {'counts': collections.Counter('abracadabra'), 'groups': collections.defaultdict(list, {'a': [1], 'b': []}),
         'ordered': collections.OrderedDict([('z', 1), ('a', 2)]), 'recent': collections.deque([1, 2, 3, 4], maxlen=3),
         'point': f.Point(3, -4)}
        """
        for (p, bytes) in try Python.pickles(of: expression, setup: setup) {
            XCTAssertEqual(try PickleDecoder().decodeEveryWay(Shapes.self, bytes),
                           Shapes(counts: ["a": 5, "b": 2, "r": 2, "c": 1, "d": 1], groups: ["a": [1], "b": []], ordered: ["z": 1, "a": 2],
                                  recent: [2, 3, 4], point: Point(x: 3, y: -4)), "protocol \(p)")
        }
    }

    /// Malformed stdlib shapes (a state of the wrong length or out of range, an int out of range, a zone
    /// that is not one) are type mismatches or data errors with a path, never traps; a huge list of
    /// datetimes decodes.
    func testMalformedStdlibShapesAreDecodingErrors() throws {
        struct When: Decodable { let when: Date }
        struct Parts: Decodable { let when: DateComponents }
        struct Exact: Decodable { let when: PythonDateTime }
        struct Elapsed: Decodable { let when: Duration }
        struct ID: Decodable { let when: UUID }
        let hostile = [
            // A 9-byte state; month 13; day 0; a str state at protocol 3; a tzinfo that is an int.
            "cdatetime\\ndatetime\\nC\\x09\\x07\\xea\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x85R",
            "cdatetime\\ndatetime\\nC\\x0a\\x07\\xea\\x0d\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x85R",
            "cdatetime\\ndatetime\\nC\\x0a\\x07\\xea\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x85R",
            "cdatetime\\ndatetime\\nX\\x0a\\x00\\x00\\x00aaaaaaaaaa\\x85R",
            "cdatetime\\ndatetime\\nC\\x0a\\x07\\xea\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00K\\x05\\x86R",
            // A uuid with an int of 2^128; a timedelta of 10^12 days; a list.
            "cuuid\\nUUID\\n)\\x81}X\\x03\\x00\\x00\\x00int\\x8a\\x11" + String(repeating: "\\x00", count: 16) + "\\x01sb",
            "cdatetime\\ntimedelta\\n\\x8a\\x06\\x00\\x10\\xa5\\xd4\\xe8\\x00K\\x00K\\x00\\x87R",
            "]",
        ]
        for (index, opcodes) in hostile.enumerated() {
            let bytes = try [UInt8](Python.script("import sys; sys.stdout.buffer.write(b'\\x80\\x03}X\\x04\\x00\\x00\\x00when' + b'\(opcodes)' + b's.')"))
            XCTAssertNoThrow(try Unpickler.loads(bytes), "pickle \(index) is well formed")
            // DateComponents' own decoding reads any object's state as its optional fields: the uuid's is none.
            for type in [When.self, Parts.self, Exact.self, Elapsed.self, ID.self] as [any Decodable.Type] where !(index == 5 && type == Parts.self) {
                XCTAssertThrowsError(try PickleDecoder().decode(type, from: bytes), "pickle \(index) as \(type)") { error in
                    guard let error = error as? DecodingError else { return XCTFail("\(error)") }
                    switch error {
                    case .typeMismatch(_, let context), .dataCorrupted(let context), .keyNotFound(_, let context):
                        XCTAssertEqual(context.codingPath.first?.stringValue, "when", "pickle \(index) as \(type)")
                    default: XCTFail("pickle \(index) as \(type): \(error)")
                    }
                }
            }
        }
        let many = try Python.pickles(of: "[datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=i) for i in range(100000)]", protocols: 5 ... 5)[0].1
        let dates = try PickleDecoder().decode([Date].self, from: many)
        XCTAssertEqual(dates.count, 100_000)
        XCTAssertEqual(dates[99_999].timeIntervalSince(dates[0]), 99_999)
    }
}
