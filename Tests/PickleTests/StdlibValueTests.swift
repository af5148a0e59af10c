import Foundation
import XCTest
@testable import Pickle

/// The standard library value types (Sources/Pickle/Stdlib): recognition of what CPython writes, repr equal to
/// CPython's, encoding that CPython rebuilds into equal objects, and hostile shapes left inert.
final class StdlibValueTests: XCTestCase {
    /// Values CPython pickles, fixed and random, as Python source; the generator prints, for each value and
    /// protocol 0 to 5, the pickle and `repr(pickle.loads(pickle))`.
    static let valuesScript = #"""
import pickle, sys, random, math, datetime as dt, decimal, uuid, fractions, pathlib, ipaddress, collections, zoneinfo
D = dt.datetime; T = dt.timedelta; Z = dt.timezone
r = random.Random(int(sys.argv[1]))
count = int(sys.argv[2])
zones = ['Europe/Paris', 'America/New_York', 'UTC', 'Asia/Tokyo', 'Australia/Lord_Howe']
def rtz():
    k = r.randrange(6)
    if k == 0: return None
    if k == 1: return Z.utc
    if k == 2: return Z(T(minutes=r.randint(-1439, 1439)))
    if k == 3: return Z(T(seconds=r.randint(-86399, 86399), microseconds=r.randint(0, 999999)), 'N' + str(r.randint(0, 99)))
    if k == 4: return Z(T(0), 'UTC')
    return zoneinfo.ZoneInfo(r.choice(zones))
def rtime():
    return dict(hour=r.randint(0, 23), minute=r.randint(0, 59), second=r.choice([0, r.randint(0, 59)]),
                microsecond=r.choice([0, r.randint(0, 999999)]), fold=r.randint(0, 1))
def rdate():
    y = r.choice([1, 9999, r.randint(1, 9999)]); m = r.randint(1, 12)
    return dt.date(y, m, r.randint(1, 31 if m in (1,3,5,7,8,10,12) else 30 if m != 2 else 29 if y % 4 == 0 and (y % 100 or y % 400 == 0) else 28))
def rdec():
    k = r.randrange(8)
    if k == 0: return decimal.Decimal(r.choice(['NaN', '-NaN', 'sNaN', '-sNaN', 'Infinity', '-Infinity', 'NaN123', 'sNaN7', '-0', '0', '-0E-7', '0E+5']))
    digits = ''.join(r.choice('0123456789') for _ in range(r.randint(1, 45)))
    return decimal.Decimal(r.choice(['', '-']) + digits + 'E' + str(r.randint(-60, 60)))
def rfloat():
    return r.choice([0.0, -0.0, 1.0, -2.5, math.inf, -math.inf, math.nan, 1e16, 1e15, 1e-7, 123.0, r.uniform(-1e20, 1e20), r.random()])
def rname():
    return ''.join(r.choice('abc.xyz é-_ ') for _ in range(r.randint(1, 6))).strip(' .') or 'n'
def rpath():
    cls = r.choice([pathlib.PurePosixPath, pathlib.PosixPath, pathlib.PureWindowsPath])
    anchor = r.choice(['', '/', '//', '///']) if cls is not pathlib.PureWindowsPath else r.choice(['', 'c:', 'C:/', '/', '//srv/share/', 'd:\\'])
    return cls(anchor + '/'.join(rname() for _ in range(r.randint(0, 4))))
def rip6():
    hextets = [r.choice([0, 0, 0, 1, 0xffff, r.getrandbits(16)]) for _ in range(8)]
    return ipaddress.IPv6Address(sum(h << (16 * (7 - i)) for i, h in enumerate(hextets)))
def rkey():
    return r.choice([r.randint(-5, 5), 'k' + str(r.randint(0, 9)), (1, 'a'), b'b', 2.5, None, True])
def rany():
    return r.choice([rkey(), [rkey()], {'x': rkey()}])
def random_value():
    k = r.randrange(19)
    if k == 0: d = rdate(); return D(d.year, d.month, 1, **rtime(), tzinfo=rtz())
    if k == 1: d = rdate(); return D(d.year, d.month, d.day, **rtime(), tzinfo=rtz())
    if k == 2: return rdate()
    if k == 3: return dt.time(**rtime(), tzinfo=rtz())
    if k == 4: return T(days=r.randint(-999999999, 999999999), seconds=r.randint(0, 86399), microseconds=r.randint(0, 999999))
    if k == 5: return rdec()
    if k == 6: return uuid.UUID(int=r.getrandbits(128), is_safe=r.choice(list(uuid.SafeUUID)))
    if k == 7: return fractions.Fraction(r.randint(-10**12, 10**12), r.randint(1, 10**12))
    if k == 8: return complex(rfloat(), rfloat())
    if k == 9: return rpath()
    if k == 10: return ipaddress.IPv4Address(r.getrandbits(32))
    if k == 11: a = rip6(); return ipaddress.IPv6Address(str(a) + r.choice(['', '%eth0', '%1']))
    if k == 12:
        p = r.randint(0, 32); a = r.getrandbits(32)
        return r.choice([ipaddress.IPv4Network(((a >> (32 - p) << (32 - p)) if p else 0, p)), ipaddress.IPv4Interface((a, p))])
    if k == 13:
        p = r.randint(0, 128); a = int(rip6())
        return r.choice([ipaddress.IPv6Network(((a >> (128 - p) << (128 - p)) if p else 0, p)), ipaddress.IPv6Interface((a, p))])
    if k == 14: return collections.OrderedDict((rkey(), rany()) for _ in range(r.randint(0, 4)))
    if k == 15: return collections.Counter({rkey(): r.choice([r.randint(-3, 3), 2**40]) for _ in range(r.randint(0, 5))})
    if k == 16: return collections.defaultdict(r.choice([None, list, int, set, dict, collections.OrderedDict]), {rkey(): rany() for _ in range(r.randint(0, 3))})
    if k == 17: return collections.deque([rany() for _ in range(r.randint(0, 4))], maxlen=r.choice([None, 0, 1, 2, 5]))
    return [random_value(), {'v': random_value()}]
fixed = [
    D(2026, 12, 7, 13, 5, 1, 123456), D(2026, 12, 7, 13, 5, tzinfo=Z.utc), D(2026, 12, 7, 13, 5, fold=1),
    D(2026, 12, 7, 13, 5, tzinfo=Z(T(hours=-5), 'EST')), D(2026, 12, 7, 13, 5, tzinfo=zoneinfo.ZoneInfo('Europe/Paris')),
    D(1, 1, 1), D(9999, 12, 31, 23, 59, 59, 999999), dt.date(2026, 12, 7), dt.time(13, 5, 1, 5, tzinfo=Z.utc, fold=1), dt.time(0, 0),
    T(0), T(days=-1, seconds=5, microseconds=7), T.max, T.min, Z(T(hours=23, minutes=59)), Z.min, Z.max,
    decimal.Decimal('1.10'), decimal.Decimal('-0'), decimal.Decimal('1E+3'), decimal.Decimal('0.000001'), decimal.Decimal('0.0000001'),
    uuid.UUID('12345678-1234-5678-1234-567812345678'), uuid.UUID(int=0), uuid.UUID(int=2**128 - 1),
    fractions.Fraction(3, 4), fractions.Fraction(-5), fractions.Fraction(0),
    1+2j, 2j, complex(-0.0, -0.0), complex(0.0, -0.0), complex(math.nan, math.inf), complex(1e15, -1e-7),
    pathlib.PurePosixPath('/tmp/x'), pathlib.PosixPath('rel/a'), pathlib.PurePosixPath(''), pathlib.PurePosixPath('//a'),
    pathlib.PureWindowsPath('c:/a/b'), pathlib.PureWindowsPath('//server/share/x'), pathlib.PureWindowsPath('c:rel'),
    pathlib.PureWindowsPath('/root'), pathlib.PurePosixPath("it's"),
    ipaddress.IPv4Address('1.2.3.4'), ipaddress.IPv6Address('::1'), ipaddress.IPv6Address('fe80::1%eth0'),
    ipaddress.IPv6Address('::ffff:1.2.3.4'), ipaddress.IPv6Address('1:0:0:2:0:0:0:3'), ipaddress.IPv6Address('::'),
    ipaddress.IPv4Network('1.2.3.0/24'), ipaddress.IPv6Network('::/64'), ipaddress.IPv4Interface('1.2.3.4/24'),
    ipaddress.IPv6Interface('::1/64'),
    collections.OrderedDict([('a', 1)]), collections.OrderedDict(), collections.Counter({'a': 2, 'b': 5, 'c': 2}),
    collections.Counter(), collections.defaultdict(list, {'a': [1]}), collections.defaultdict(None),
    collections.defaultdict(int), collections.deque([1, 2], maxlen=3), collections.deque(), collections.deque([[]], maxlen=0),
    [D(2026, 1, 1), dt.date(2026, 1, 1), decimal.Decimal('2.5')],
]
od = collections.OrderedDict(); od['self'] = od; fixed.append(od)
dd = collections.defaultdict(list); dd['self'] = dd; fixed.append(dd)
dq = collections.deque(); dq.append(dq); fixed.append(dq)
values = fixed + [random_value() for _ in range(count)]
out = sys.stdout.buffer
for v in values:
    for p in range(6):
        data = pickle.dumps(v, p)
        text = repr(pickle.loads(data)).encode('utf-8', 'surrogatepass')
        for piece in (data, text):
            out.write(len(piece).to_bytes(8, 'little') + piece)
"""#

    /// Every value's pickle at every protocol prints as CPython's repr of what CPython loads from it, through
    /// `description` and through the byte writer the CLI uses.
    func testReprMatchesCPythonAtEveryProtocol() throws {
        let pieces = Python.lengthPrefixedPieces(try Python.script(Self.valuesScript, ["20261207", "400"]))
        XCTAssertGreaterThan(pieces.count, 2 * 6 * 400)
        var failures: [String] = []
        for k in stride(from: 0, to: pieces.count - 1, by: 2) {
            let expected = String(decoding: pieces[k + 1], as: UTF8.self)
            let root = try Unpickler.loads(pieces[k]).root
            var bytes: [UInt8] = []
            root.appendDescription(to: &bytes)
            if root.description != expected || bytes != pieces[k + 1] {
                failures.append("protocol \(pieces[k][0] == 0x80 ? Int(pieces[k][1]) : -1): expected \(expected)\n got \(root.description)\n bytes \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        XCTAssert(failures.isEmpty, "\(failures.count) of \(pieces.count / 2) differ:\n" + failures.prefix(15).joined(separator: "\n"))
    }

    /// The recognisable top-level value of a node, tried type by type.
    static func recognize(_ node: PickleNode) -> (any PickleStdlibValue)? {
        let types: [any PickleStdlibValue.Type] = [
            PythonDateTime.self, PythonDate.self, PythonTime.self, PythonTimeDelta.self, PythonTimeZone.self,
            PythonDecimal.self, PythonUUID.self, PythonFraction.self, PythonComplex.self, PythonPath.self,
            PythonIPv4Address.self, PythonIPv6Address.self, PythonIPv4Network.self, PythonIPv6Network.self,
            PythonIPv4Interface.self, PythonIPv6Interface.self, PythonOrderedDict<PickleValue>.self,
            PythonCounter<PickleValue>.self, PythonDefaultDict<PickleValue>.self, PythonDeque<PickleValue>.self,
        ]
        for type in types { if let value = type.init(node) { return value } }
        return nil
    }

    /// A value CPython wrote, recognised and built back by its Swift type, pickles to CPython's bytes at
    /// protocols 2 to 5 (the exceptions are counted and named), and prints the same repr.
    func testRecognisedValuesRebuildCPythonsBytes() throws {
        let pieces = Python.lengthPrefixedPieces(try Python.script(Self.valuesScript, ["7", "300"]))
        var recognised = 0, identical = 0, compared = 0
        var differences: [String] = []
        for k in stride(from: 0, to: pieces.count - 1, by: 2) {
            let data = pieces[k]
            let proto = data[0] == 0x80 ? Int(data[1]) : 0
            let root = try Unpickler.loads(data).root
            guard let value = Self.recognize(root) else { continue }
            recognised += 1
            XCTAssertEqual(value.pythonRepr, root.description)
            guard proto >= 2 else { continue }
            compared += 1
            let rebuilt = try Pickler.dumps(value.pickleGraph(), options: PicklerOptions(protocolVersion: proto))
            if rebuilt == data { identical += 1 } else if differences.count < 10 {
                differences.append("protocol \(proto) \(root.description)")
            }
        }
        print("stdlib rebuild: \(recognised) recognised, \(identical) of \(compared) at protocols 2-5 byte-identical")
        XCTAssertGreaterThan(recognised, 1000)
        // Known: a datetime or time with fold=1 at protocols 2 and 3, where CPython leaves the fold out and the
        // Swift types write it (CPython 3 reads it back either way); and items CPython shares (one bytes object
        // twice in a deque is one memo entry), which the value trees write twice.
        print(differences.joined(separator: "\n"))
        XCTAssertGreaterThan(Double(identical), 0.9 * Double(compared))
    }

    /// Values built in Swift, pickled by the Pickler at protocols 0 to 5, load in CPython as objects of the
    /// expected type that are `==` to the value their repr names, with that repr.
    func testBuiltValuesLoadEqualInCPython() throws {
        let paris = PythonTZInfo.zoneInfo(PythonZoneInfo(key: "Europe/Paris"))
        let est = PythonTZInfo.timezone(PythonTimeZone(offset: PythonTimeDelta(seconds: -5 * 3600)!, name: "EST")!)
        let values: [(any PickleStdlibValue, String)] = [
            (PythonDateTime(year: 2026, month: 12, day: 7, hour: 13, minute: 5, timeZone: .utc)!, "datetime"),
            (PythonDateTime(year: 2026, month: 10, day: 25, hour: 2, minute: 30, timeZone: paris, fold: 1)!, "datetime"),
            (PythonDateTime(year: 1, month: 1, day: 1, microsecond: 1, timeZone: est)!, "datetime"),
            (PythonDateTime(Date(timeIntervalSince1970: 1_800_000_000.25))!, "datetime"),
            (PythonDate(year: 2024, month: 2, day: 29)!, "date"),
            (PythonTime(hour: 23, minute: 59, second: 59, microsecond: 999_999, timeZone: .utc, fold: 1)!, "time"),
            (PythonTimeDelta(days: 0, seconds: -1)!, "timedelta"),
            (PythonTimeZone.utc, "timezone"),
            (PythonDecimal("1.10")!, "Decimal"), (PythonDecimal("-0")!, "Decimal"), (PythonDecimal("sNaN12")!, "Decimal"),
            (PythonDecimal("-Infinity")!, "Decimal"), (PythonDecimal(".5e-7")!, "Decimal"),
            (PythonUUID(UUID(uuidString: "12345678-1234-5678-1234-567812345678")!, isSafe: .safe), "UUID"),
            (PythonUUID(UUID(uuidString: "00000000-0000-0000-0000-000000000005")!), "UUID"),
            (PythonFraction(6, -8)!, "Fraction"),
            (PythonComplex(real: -0.0, imag: -2.5), "complex"),
            (PythonPath(posix: "/tmp//x/./y")!, "PurePosixPath"), (PythonPath(.pureWindows, parts: ["c:\\", "a"])!, "PureWindowsPath"),
            (PythonIPv4Address("10.0.0.1")!, "IPv4Address"), (PythonIPv6Address("fe80::1%eth0")!, "IPv6Address"),
            (PythonIPv4Network("10.0.0.0/8")!, "IPv4Network"), (PythonIPv6Network("2001:db8::/32")!, "IPv6Network"),
            (PythonIPv4Interface("10.1.2.3/8")!, "IPv4Interface"), (PythonIPv6Interface("::1/128")!, "IPv6Interface"),
            (PythonOrderedDict<PickleValue>(items: [("b", 1), ("a", [2])]), "OrderedDict"),
            (PythonCounter<PickleValue>(counts: [("x", 1), ("y", 3)]), "Counter"),
            (PythonDefaultDict<PickleValue>(defaultFactory: GlobalName(module: "builtins", name: "list"), items: [("k", [1])]), "defaultdict"),
            (PythonDeque<PickleValue>(items: [1, 2, 3], maxLength: 2), "deque"),
        ]
        var input: [UInt8] = []
        func piece(_ bytes: [UInt8]) { input += withUnsafeBytes(of: UInt64(bytes.count).littleEndian, Array.init) + bytes }
        for (value, typeName) in values {
            for proto in 0 ... 5 {
                piece(Array(value.pythonRepr.utf8))
                piece(Array(typeName.utf8))
                piece([UInt8(proto)])
                piece(try Pickler.dumps(value.pickleGraph(), options: PicklerOptions(protocolVersion: proto)))
            }
        }
        let script = #"""
import sys, pickle, datetime, decimal, zoneinfo, collections
from decimal import Decimal
from uuid import UUID
from fractions import Fraction
from pathlib import *
from ipaddress import *
from collections import OrderedDict, Counter, defaultdict, deque
data = sys.stdin.buffer.read(); pieces = []
while data:
    n = int.from_bytes(data[:8], 'little'); pieces.append(data[8:8 + n]); data = data[8 + n:]
for i in range(0, len(pieces), 4):
    text, name, proto, blob = pieces[i].decode(), pieces[i + 1].decode(), pieces[i + 2][0], pieces[i + 3]
    obj = pickle.loads(blob)
    expected = eval(text.replace("<class 'list'>", 'list'))
    same = type(obj).__name__ == name and type(obj) is type(expected) and repr(obj) == text
    if same and not (isinstance(obj, decimal.Decimal) and obj.is_nan()): same = obj == expected
    identical = pickle.dumps(obj, proto) == blob
    print(proto, 'ok' if same else 'DIFF', 'identical' if identical else 'differs', text, '->', repr(obj))
"""#
        let (status, out, err) = try Python.run(["-c", script], stdin: input)
        XCTAssertEqual(status, 0, err)
        let lines = out.split(separator: "\n")
        XCTAssertEqual(lines.count, values.count * 6)
        for line in lines { XCTAssertTrue(line.contains(" ok "), String(line)) }
        let notIdentical = lines.filter { $0.contains("differs") && Int($0.prefix(1))! >= 2 }
        print("stdlib encode: \(lines.count - lines.filter { $0.contains("differs") }.count) of \(lines.count) byte-identical with CPython; at protocols 2-5 not: \(notIdentical.count)")
        for line in notIdentical { print("  " + line) }
        // The fold of a time/datetime at protocols 2 and 3 (CPython leaves it out) and CPython's own choices for
        // values it normalizes (a Decimal whose signalling NaN it keeps, ...) are the only differences expected.
        XCTAssert(notIdentical.allSatisfy { $0.contains("fold=1") && ($0.hasPrefix("2") || $0.hasPrefix("3")) }, notIdentical.joined(separator: "\n"))
    }

    // MARK: - Hostile shapes

    /// Shapes that look like standard library values but are not exactly what CPython writes (wrong types,
    /// lengths, ranges, extra state) are not recognised, never trap, and print as the inert objects they are.
    func testMalformedLookalikesStayInert() throws {
        func state(_ bytes: [UInt8]) -> PickleValue { .bytes(bytes) }
        let dtState: [UInt8] = [0x07, 0xEA, 12, 7, 13, 5, 0, 0, 0, 0]
        let utc = PythonTimeZone.utc.pickleValue
        let huge = PickleValue.bigInt(twosComplementLE: [UInt8](repeating: 0xFF, count: 40) + [0x7F])
        let cases: [(String, PickleValue)] = [
            ("state of 9 bytes", .call("datetime", "datetime", [state(Array(dtState.prefix(9)))])),
            ("state of 11 bytes", .call("datetime", "datetime", [state(dtState + [0])])),
            ("month 13", .call("datetime", "datetime", [state([0x07, 0xEA, 13, 7, 13, 5, 0, 0, 0, 0])])),
            ("month 0", .call("datetime", "datetime", [state([0x07, 0xEA, 0, 7, 13, 5, 0, 0, 0, 0])])),
            ("day 40", .call("datetime", "datetime", [state([0x07, 0xEA, 12, 40, 13, 5, 0, 0, 0, 0])])),
            ("February 29 of 2026", .call("datetime", "date", [state([0x07, 0xEA, 2, 29])])),
            ("year 0", .call("datetime", "date", [state([0, 0, 1, 1])])),
            ("hour 24", .call("datetime", "time", [state([24, 0, 0, 0, 0, 0])])),
            ("microsecond 1000000", .call("datetime", "time", [state([1, 0, 0, 0x0F, 0x42, 0x40])])),
            ("tz an int", .call("datetime", "datetime", [state(dtState), 5])),
            ("tz another object", .call("datetime", "datetime", [state(dtState), .call("pytz", "_UTC", [])])),
            ("three arguments", .call("datetime", "datetime", [state(dtState), utc, utc])),
            ("state a list", .call("datetime", "datetime", [.list([1, 2])])),
            ("state a str above latin-1", .call("datetime", "date", [.string("\u{7EA}\u{C}\u{7}\u{1}")])),
            ("with a BUILD", .object(.init(.reduce(callable: .global(GlobalName(module: "datetime", name: "date")), args: [state([7, 0xEA, 1, 1])]),
                                             operations: [.build(state: ["x": 1])]))),
            ("timedelta seconds 86400", .call("datetime", "timedelta", [0, 86_400, 0])),
            ("timedelta huge days", .call("datetime", "timedelta", [huge, 0, 0])),
            ("timedelta floats", .call("datetime", "timedelta", [1.0, 0, 0])),
            ("timedelta two args", .call("datetime", "timedelta", [1, 0])),
            ("timezone of 24 hours", .call("datetime", "timezone", [.call("datetime", "timedelta", [1, 0, 0])])),
            ("timezone of -24 hours", .call("datetime", "timezone", [.call("datetime", "timedelta", [-1, 0, 0])])),
            ("timezone name None", .call("datetime", "timezone", [.call("datetime", "timedelta", [0, 60, 0]), nil])),
            ("ZoneInfo key an int", .object(.init(.reduce(callable: .call("builtins", "getattr", [.global(GlobalName(module: "zoneinfo", name: "ZoneInfo")), "_unpickle"]), args: [5, 1])))),
            ("ZoneInfo other attribute", .object(.init(.reduce(callable: .call("builtins", "getattr", [.global(GlobalName(module: "zoneinfo", name: "ZoneInfo")), "clear_cache"]), args: ["UTC", 1])))),
            ("Decimal of an int", .call("decimal", "Decimal", [5])),
            ("Decimal with underscores", .call("decimal", "Decimal", ["1_0"])),
            ("Decimal with spaces", .call("decimal", "Decimal", [" 1"])),
            ("Decimal of garbage", .call("decimal", "Decimal", ["1.2.3"])),
            ("Decimal of a huge exponent", .call("decimal", "Decimal", ["1E+999999999999999999999"])),
            ("Decimal NaN with a fraction", .call("decimal", "Decimal", ["NaN1.5"])),
            ("UUID int 2^128", .object(.init(.newObject(cls: .global(GlobalName(module: "uuid", name: "UUID")), args: []),
                                          operations: [.build(state: .dict([.init("int", .bigInt(twosComplementLE: [UInt8](repeating: 0, count: 16) + [1]))]))]))),
            ("UUID int negative", .object(.init(.newObject(cls: .global(GlobalName(module: "uuid", name: "UUID")), args: []),
                                             operations: [.build(state: ["int": -1])]))),
            ("UUID extra key", .object(.init(.newObject(cls: .global(GlobalName(module: "uuid", name: "UUID")), args: []),
                                          operations: [.build(state: ["int": 1, "x": 2])]))),
            ("UUID no state", .object(.init(.newObject(cls: .global(GlobalName(module: "uuid", name: "UUID")), args: [])))),
            ("UUID is_safe 7", .object(.init(.newObject(cls: .global(GlobalName(module: "uuid", name: "UUID")), args: []),
                                          operations: [.build(state: ["int": 1, "is_safe": 7])]))),
            ("Fraction denominator 0", .call("fractions", "Fraction", [1, 0])),
            ("Fraction huge", .call("fractions", "Fraction", [huge, 3])),
            ("Fraction of floats", .call("fractions", "Fraction", [0.5])),
            ("Fraction text 1.5", .call("fractions", "Fraction", ["1.5"])),
            ("complex of ints", .call("builtins", "complex", [1, 2])),
            ("complex of one float", .call("builtins", "complex", [1.0])),
            ("path part with a slash", .call("pathlib", "PurePosixPath", ["/", "a/b"])),
            ("path part dot", .call("pathlib", "PurePosixPath", ["a", "."])),
            ("path anchor not first", .call("pathlib", "PurePosixPath", ["a", "/"])),
            ("path empty part", .call("pathlib", "PurePosixPath", [""])),
            ("path of an int", .call("pathlib", "PosixPath", [1])),
            ("windows part with a drive", .call("pathlib", "PureWindowsPath", ["c:\\", "d:x"])),
            ("path other class", .call("pathlib", "Path", ["a"])),
            ("IPv4 leading zero", .call("ipaddress", "IPv4Address", ["01.2.3.4"])),
            ("IPv4 octet 256", .call("ipaddress", "IPv4Address", ["1.2.3.256"])),
            ("IPv4 int 2^32", .call("ipaddress", "IPv4Address", [.int(1 << 32)])),
            ("IPv4 negative", .call("ipaddress", "IPv4Address", [-1])),
            ("IPv6 two ::", .call("ipaddress", "IPv6Address", ["1::2::3"])),
            ("IPv6 five digits", .call("ipaddress", "IPv6Address", ["12345::"])),
            ("IPv6 empty scope", .call("ipaddress", "IPv6Address", ["::1%"])),
            ("IPv6 nine groups", .call("ipaddress", "IPv6Address", ["1:2:3:4:5:6:7:8:9"])),
            ("network with host bits", .call("ipaddress", "IPv4Network", ["1.2.3.4/24"])),
            ("network prefix 33", .call("ipaddress", "IPv4Network", ["1.2.3.0/33"])),
            ("network netmask form", .call("ipaddress", "IPv4Network", ["1.2.3.0/255.255.255.0"])),
            ("interface of an int", .call("ipaddress", "IPv6Interface", [1])),
            ("OrderedDict with a BUILD", .object(.init(.reduce(callable: .global(GlobalName(module: "collections", name: "OrderedDict")), args: []),
                                                    operations: [.setItem(key: "a", value: 1), .build(state: ["x": 1])]))),
            ("OrderedDict unhashable key", .call("collections", "OrderedDict", [], operations: [.setItem(key: [1], value: 1)])),
            ("OrderedDict Python 2 triple", .call("collections", "OrderedDict", [.list([.list([1, 2, 3])])])),
            ("Counter of str counts", .call("collections", "Counter", [["a": "x"]])),
            ("Counter of huge counts", .call("collections", "Counter", [.dict([.init("a", huge)])])),
            ("Counter with appends", .call("collections", "Counter", [["a": 1]], operations: [.extend([1])])),
            ("defaultdict factory an object", .call("collections", "defaultdict", [.call("functools", "partial", [.global(GlobalName(module: "builtins", name: "list"))])])),
            ("deque maxlen -1", .call("collections", "deque", [.tuple([]), -1])),
            ("deque maxlen a str", .call("collections", "deque", [.tuple([]), "3"])),
            ("deque with setitem", .call("collections", "deque", [], operations: [.setItem(key: 1, value: 2)])),
        ]
        var input: [UInt8] = []
        for (name, value) in cases {
            let graph = PickleGraph(value)
            XCTAssertNil(Self.recognize(graph.root), name)
            let text = graph.root.description
            var bytes: [UInt8] = []
            graph.root.appendDescription(to: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), text, name)
            // The inert form names the callable as the stream does, and is what re-pickles.
            XCTAssertFalse(text.hasPrefix("datetime.datetime(20") || text.hasPrefix("Decimal(") || text.hasPrefix("UUID(")
                           || text.hasPrefix("Fraction(") || text.hasPrefix("OrderedDict(") || text.hasPrefix("Counter(")
                           || text.hasPrefix("defaultdict(") || text.hasPrefix("deque(") || text.hasPrefix("IPv"), "\(name): \(text)")
            let data = try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: 2))
            input += withUnsafeBytes(of: UInt64(data.count).littleEndian, Array.init) + data
        }
        // What CPython makes of them: most raise; the few it accepts print differently from any recognised form.
        let script = #"""
import sys, pickle
data = sys.stdin.buffer.read()
while data:
    n = int.from_bytes(data[:8], 'little'); blob = data[8:8 + n]; data = data[8 + n:]
    try: print('loads', repr(pickle.loads(blob)))
    except Exception as e: print('raises', type(e).__name__)
"""#
        let (status, out, err) = try Python.run(["-c", script], stdin: input)
        XCTAssertEqual(status, 0, err)
        let verdicts = out.split(separator: "\n")
        XCTAssertEqual(verdicts.count, cases.count)
        let accepted = zip(cases, verdicts).filter { $0.1.hasPrefix("loads") }.map { "\($0.0.0): \($0.1)" }
        print("lookalikes CPython loads anyway (left inert here):\n  " + accepted.joined(separator: "\n  "))
    }

    /// Cycles, sharing and damaged bytes around recognised values never trap: every byte of CPython's pickles
    /// of standard library values is replaced by a few others, and whatever still parses prints and is
    /// offered to every recogniser.
    func testDamagedPicklesNeverTrap() throws {
        let pieces = Python.lengthPrefixedPieces(try Python.script(Self.valuesScript, ["99", "0"]))
        var parsed = 0
        for k in stride(from: 0, to: pieces.count - 1, by: 4) {  // protocols 0, 2 and 4
            let data = pieces[k]
            for i in 0 ..< data.count {
                for replacement: UInt8 in [0x00, 0x01, 0x0D, 0x80, 0xFF, data[i] &+ 1] where replacement != data[i] {
                    var damaged = data
                    damaged[i] = replacement
                    guard let graph = try? Unpickler.loads(damaged) else { continue }
                    parsed += 1
                    _ = graph.root.description
                    var bytes: [UInt8] = []
                    graph.root.appendDescription(to: &bytes)
                    _ = Self.recognize(graph.root)
                    _ = PythonNamedTuple<PickleNode>(graph.root)
                    _ = PythonEnumMember<PickleNode>(graph.root)
                }
            }
        }
        XCTAssertGreaterThan(parsed, 1000)
    }

    // MARK: - Swift values

    /// `foundationDate` gives the instant CPython's `timestamp()` gives: fixed offsets, UTC, and IANA zones at
    /// the ambiguous and missing hours of DST transitions, fold 0 and 1.
    func testFoundationDateMatchesPythonTimestamp() throws {
        let script = #"""
import pickle, sys, datetime as dt, zoneinfo
values = []
for key in ['Europe/Paris', 'America/New_York', 'Australia/Lord_Howe', 'UTC']:
    z = zoneinfo.ZoneInfo(key)
    for (y, m, d) in [(2026, 3, 29), (2026, 10, 25), (2026, 3, 8), (2026, 11, 1), (2026, 4, 5), (2026, 10, 4), (2026, 7, 1)]:
        for h in (0, 1, 2, 3):
            for mi in (0, 15, 30, 45):
                for fold in (0, 1):
                    values.append(dt.datetime(y, m, d, h, mi, 7, 250000, tzinfo=z, fold=fold))
values += [dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=-23))),
           dt.datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=dt.timezone(dt.timedelta(seconds=5, microseconds=3)))]
for v in values:
    data = pickle.dumps(v, 4); ts = repr(v.timestamp()).encode()
    for piece in (data, ts): sys.stdout.buffer.write(len(piece).to_bytes(8, 'little') + piece)
"""#
        let pieces = Python.lengthPrefixedPieces(try Python.script(script))
        XCTAssertGreaterThan(pieces.count, 400)
        for k in stride(from: 0, to: pieces.count - 1, by: 2) {
            let root = try Unpickler.loads(pieces[k]).root
            let value = try XCTUnwrap(PythonDateTime(root), root.description)
            let expected = try XCTUnwrap(Double(String(decoding: pieces[k + 1], as: UTF8.self)))
            let date = try XCTUnwrap(value.foundationDate(), root.description)
            XCTAssertEqual(date.timeIntervalSince1970, expected, accuracy: 1e-3 + abs(expected) * 1e-15, root.description)
        }
        // A naive datetime needs an assumed zone.
        let naive = PythonDateTime(year: 2026, month: 12, day: 7, hour: 13, minute: 5)!
        XCTAssertNil(naive.foundationDate())
        XCTAssertEqual(naive.foundationDate(assumingTimeZone: TimeZone(identifier: "UTC")!)?.timeIntervalSince1970, 1_796_648_700)
        // And back: a Date in a fixed zone.
        let back = PythonDateTime(Date(timeIntervalSince1970: 1_796_648_700.5), timeZone: PythonTimeZone(offset: PythonTimeDelta(seconds: 3600)!)!)!
        XCTAssertEqual(back.pythonRepr, "datetime.datetime(2026, 12, 7, 14, 5, 0, 500000, tzinfo=datetime.timezone(datetime.timedelta(seconds=3600)))")
        XCTAssertEqual(back.dateComponents.hour, 14)
    }

    /// `foundationDecimal` converts exactly or not at all.
    func testDecimalToFoundationIsExactOrNil() {
        let digits38 = "12345678901234567890123456789012345678"
        XCTAssertEqual(PythonDecimal("1.10")?.foundationDecimal, Decimal(string: "1.1"))
        XCTAssertEqual(PythonDecimal("-2.5")?.foundationDecimal, Decimal(string: "-2.5"))
        XCTAssertEqual(PythonDecimal("1E+3")?.foundationDecimal, Decimal(1000))
        XCTAssertEqual(PythonDecimal(digits38)?.foundationDecimal?.description, digits38)
        XCTAssertEqual(PythonDecimal("1100E-130")?.foundationDecimal?.description, PythonDecimal("11E-128")?.foundationDecimal?.description)
        XCTAssertNotNil(PythonDecimal("1100E-130")?.foundationDecimal)
        XCTAssertTrue(PythonDecimal("NaN")?.foundationDecimal?.isNaN ?? false)
        for text in ["-0", "Infinity", "-Infinity", "sNaN", "NaN5", "123456789012345678901234567890123456789", "1E-300", "1E+300"] {
            XCTAssertNil(PythonDecimal(text)?.foundationDecimal, text)
            XCTAssertNotNil(PythonDecimal(text), text)
        }
        XCTAssertEqual(PythonDecimal("0.0000001")?.text, "1E-7")
        XCTAssertEqual(PythonDecimal("-0E-7")?.text, "-0E-7")
        XCTAssertEqual(PythonDecimal(Decimal(string: "3.25")!).pythonRepr, "Decimal('3.25')")
    }

    /// The Foundation views of UUIDs, paths and time zones.
    func testFoundationViews() throws {
        let graph = try Unpickler.loads([UInt8](try Python.script("import pickle, sys, uuid\nsys.stdout.buffer.write(pickle.dumps(uuid.UUID('12345678-1234-5678-1234-567812345678'), 0))")))
        XCTAssertEqual(PythonUUID(graph.root)?.uuid, UUID(uuidString: "12345678-1234-5678-1234-567812345678"))
        XCTAssertEqual(PythonPath(posix: "a//b/./c")?.string, "a/b/c")
        XCTAssertEqual(PythonPath(posix: "//a")?.parts, ["//", "a"])
        XCTAssertEqual(PythonPath(posix: "///a")?.parts, ["/", "a"])
        XCTAssertEqual(PythonTimeZone(offset: PythonTimeDelta(seconds: -3600)!)?.foundationTimeZone?.secondsFromGMT(), -3600)
        XCTAssertNil(PythonTimeZone(offset: PythonTimeDelta(days: 1)!))
        XCTAssertEqual(PythonZoneInfo(key: "Europe/Paris").foundationTimeZone?.identifier, "Europe/Paris")
        XCTAssertEqual(PythonFraction(6, -8)?.pythonRepr, "Fraction(-3, 4)")
        XCTAssertEqual(PythonIPv6Address("1:0:0:2:0:0:0:3")?.text, "1:0:0:2::3")
    }

    /// Namedtuples and enum members are recognised as class calls; their repr stays the inert form, since the
    /// field and member names are not in the pickle.
    func testNamedTuplesAndEnumMembersAsClassCalls() throws {
        let script = #"""
import pickle, sys, collections, enum
P = collections.namedtuple('P', 'x y')
class Color(enum.Enum):
    RED = 1
for p in range(6):
    for v in (P(1, 'a'), Color.RED):
        data = pickle.dumps(v, p); sys.stdout.buffer.write(len(data).to_bytes(8, 'little') + data)
"""#
        let pieces = Python.lengthPrefixedPieces(try Python.script(script))
        XCTAssertEqual(pieces.count, 12)
        for (i, data) in pieces.enumerated() {
            let root = try Unpickler.loads(data).root
            if i % 2 == 0 {
                let tuple = try XCTUnwrap(PythonNamedTuple<PickleNode>(root), root.description)
                XCTAssertEqual(tuple.cls, GlobalName(module: "__main__", name: "P"))
                XCTAssertEqual(tuple.fields.map(\.description), ["1", "'a'"])
                let proto = data[0] == 0x80 ? Int(data[1]) : 0
                if proto >= 2 {
                    let rebuilt = try Pickler.dumps(PythonNamedTuple<PickleValue>(cls: tuple.cls, fields: [1, "a"]).pickleGraph(),
                                                    options: PicklerOptions(protocolVersion: proto))
                    XCTAssertEqual(rebuilt, data)
                }
            } else {
                let member = try XCTUnwrap(PythonEnumMember<PickleNode>(root))
                XCTAssertEqual(member.cls, GlobalName(module: "__main__", name: "Color"))
                XCTAssertEqual(member.value.int, 1)
                XCTAssertEqual(root.description, "__main__.Color(1)")
            }
        }
    }

    /// Python 2 forms: a datetime state in a str (read with `encoding='latin1'` or `'bytes'`), `__builtin__`
    /// names, `copy_reg._reconstructor`, OrderedDict of item lists, deque of a list, Fraction of a str.
    func testPython2Forms() throws {
        let datetime2 = Array("cdatetime\ndatetime\np0\n(S'\\x07\\xea\\x0c\\x07\\r\\x05\\x01\\x01\\xe2@'\np1\ntp2\nRp3\n.".utf8)
        for encoding in [StringEncoding.latin1, .bytes] {
            var options = UnpicklerOptions()
            options.encoding = encoding
            let root = try Unpickler.loads(datetime2, options: options).root
            XCTAssertEqual(root.description, "datetime.datetime(2026, 12, 7, 13, 5, 1, 123456)")
        }
        let others: [(String, String)] = [
            ("c__builtin__\ncomplex\np0\n(F1.0\nF2.0\ntp1\nRp2\n.", "(1+2j)"),
            ("ccollections\nOrderedDict\np0\n((lp1\n(lp2\nS'a'\np3\naI1\naatp4\nRp5\n.", "OrderedDict([('a', 1)])"),
            ("ccollections\ndeque\np0\n((lp1\nI1\naI2\naI3\natp2\nRp3\n.", "deque([1, 2, 3])"),
            ("cfractions\nFraction\np0\n(S'-6/8'\ntRp1\n.", "Fraction(-3, 4)"),
            ("cdecimal\nDecimal\n(S'1.10'\ntR.", "Decimal('1.10')"),
            ("ccopy_reg\n_reconstructor\n(cuuid\nUUID\nc__builtin__\nobject\nNtR(dS'int'\nL24197857161011715162171839636988778104L\nsb.", "UUID('12345678-1234-5678-1234-567812345678')"),
        ]
        for (text, expected) in others {
            let root = try Unpickler.loads(Array(text.utf8)).root
            XCTAssertEqual(root.description, expected)
            let check = try Python.script("import pickle, sys\nsys.stdout.write(repr(pickle.loads(sys.argv[1].encode('latin1'), encoding='latin1')))", [text])
            XCTAssertEqual(String(decoding: check, as: UTF8.self), expected)
        }
    }
}
