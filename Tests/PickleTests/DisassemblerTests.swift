import Foundation
import XCTest
@testable import Pickle

/// `Disassembler` against CPython 3.11's `pickletools.dis`: the stored fixtures' `dis` texts, the hostile inputs
/// (with python3 as the oracle at test time), multi-pickle streams, and a few hand-checked cases.
final class DisassemblerTests: XCTestCase {
    private static let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    private struct ManifestEntry: Decodable {
        let name: String
        let file: String
        let dis: String?
    }

    private struct HostileEntry: Decodable {
        let name: String
        let file: String
    }

    /// What the oracle script reports for one input.
    private struct OracleResult: Decodable {
        let name: String
        let text: String
        let error: String?
        let too_large: Bool?
    }

    // MARK: - Helpers

    private func readBytes(_ url: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url))
    }

    /// Exact comparison (Swift's `==` on strings uses canonical equivalence, which would hide differences).
    private func same(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8)
    }

    /// A short description of the first differing line, for failure messages.
    private func firstDifference(_ got: String, _ expected: String) -> String {
        let a = got.split(separator: "\n", omittingEmptySubsequences: false)
        let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0 ..< max(a.count, b.count) {
            let x = i < a.count ? String(a[i]) : "<none>"
            let y = i < b.count ? String(b[i]) : "<none>"
            if !same(x, y) { return "line \(i + 1):\n  got      \(x.debugDescription)\n  expected \(y.debugDescription)" }
        }
        return "texts differ"
    }

    private func disassembleOne(
        _ bytes: [UInt8], from start: Int = 0, indentLevel: Int = 4, annotate: Int = 0, limit: Int? = nil
    ) -> (text: String, end: Int, error: DisassemblyError?) {
        var disassembler = Disassembler(indentLevel: indentLevel, annotate: annotate)
        disassembler.maxOutputLength = limit
        return bytes.withUnsafeBytes { disassembler.disassemble($0, from: start) }
    }

    /// Disassembles `bytes` as `pickletool dis` does when they arrive in pieces ending at `cuts`: each call
    /// gets the bytes not yet disassembled, numbered from their stream offset. `onePickle`: stop after the
    /// first pickle, as one `pickletools.dis` call does.
    private func disassembleArriving(
        _ bytes: [UInt8], cuts: some Sequence<Int>, limit: Int? = nil, carriesMemo: Bool = false, onePickle: Bool = false
    ) -> (text: String, error: DisassemblyError?) {
        var disassembler = Disassembler()
        disassembler.maxOutputLength = limit
        disassembler.carriesMemoAcrossPickles = carriesMemo
        var pending: [UInt8] = [], pendingOffset = 0, start = 0, text = ""
        var unfinished = onePickle  // one `dis` call reads even an empty input
        let ends = cuts.filter { $0 > 0 && $0 < bytes.count } + [bytes.count]
        var arrived = 0
        for (i, end) in ends.enumerated() {
            pending += bytes[arrived ..< end]
            arrived = end
            let complete = i == ends.count - 1
            while start < pending.count || (complete && unfinished) {
                let step = pending.withUnsafeBytes {
                    disassembler.disassembleAvailable($0, from: start, streamOffset: pendingOffset, inputIsComplete: complete)
                }
                text += step.text
                if let error = step.error { return (text, error) }
                if step.finished && onePickle { return (text, nil) }
                start = step.end
                unfinished = step.needs != nil
                if unfinished { break }
            }
            pending.removeFirst(start)
            pendingOffset += start
            start = 0
        }
        return (text, nil)
    }

    /// Runs `python3 -c script args...` once and returns its standard output.
    private func runPython(_ script: String, _ arguments: [String] = []) throws -> Data {
        try Python.script(script, arguments)
    }

    private func bytes(fromHex hex: String) -> [UInt8] { Hex.bytes(hex) }

    // MARK: - Fixtures

    /// Every fixture with a stored `pickletools.dis` text disassembles to exactly that text.
    func testEveryFixtureMatchesStoredDis() throws {
        let manifest = try JSONDecoder().decode(
            [ManifestEntry].self,
            from: Data(contentsOf: Self.fixturesDirectory.appendingPathComponent("manifest.json")))
        var checked = 0
        var mismatches = 0
        for entry in manifest {
            guard let expected = entry.dis else { continue }
            checked += 1
            let bytes = try readBytes(Self.fixturesDirectory.appendingPathComponent(entry.file))
            let result = disassembleOne(bytes)
            if result.error != nil || !same(result.text, expected) {
                mismatches += 1
                if mismatches <= 10 {
                    XCTFail("\(entry.name) (\(entry.file)): error \(String(describing: result.error)); "
                        + firstDifference(result.text, expected))
                }
            }
        }
        XCTAssertGreaterThan(checked, 1000)
        XCTAssertEqual(mismatches, 0, "\(mismatches) of \(checked) fixtures differ")
    }

    /// `annotate` and `indentlevel` variants over every fixture, with python3 as the oracle (one process).
    func testAnnotateAndIndentVariantsMatchPickletools() throws {
        let script = #"""
import io, json, os, pickletools, sys
root = sys.argv[1]
variants = [(4, 1), (2, 20), (0, 40), (1, 60), (3, -1), (8, 0)]
results = []
for i, entry in enumerate(json.load(open(os.path.join(root, 'manifest.json')))):
    if entry['dis'] is None:
        continue
    indent, annotate = variants[i % len(variants)]
    with open(os.path.join(root, entry['file']), 'rb') as f:
        data = f.read()
    out = io.StringIO()
    try:
        pickletools.dis(data, out=out, indentlevel=indent, annotate=annotate)
        error = None
    except Exception as e:
        error = str(e)
    results.append({'name': entry['file'], 'indent': indent, 'annotate': annotate,
                    'text': out.getvalue(), 'error': error})
json.dump(results, sys.stdout)
"""#
        struct Variant: Decodable {
            let name: String
            let indent: Int
            let annotate: Int
            let text: String
            let error: String?
        }
        let data = try runPython(script, [Self.fixturesDirectory.path])
        let variants = try JSONDecoder().decode([Variant].self, from: data)
        XCTAssertGreaterThan(variants.count, 1000)
        var mismatches = 0
        for variant in variants {
            let bytes = try readBytes(Self.fixturesDirectory.appendingPathComponent(variant.name))
            let result = disassembleOne(bytes, indentLevel: variant.indent, annotate: variant.annotate)
            if result.error?.message != variant.error || !same(result.text, variant.text) {
                mismatches += 1
                if mismatches <= 10 {
                    XCTFail("\(variant.name) indent \(variant.indent) annotate \(variant.annotate): "
                        + "error \(String(describing: result.error)) vs \(String(describing: variant.error)); "
                        + firstDifference(result.text, variant.text))
                }
            }
        }
        XCTAssertEqual(mismatches, 0)
    }

    // MARK: - Hostile inputs

    /// Every hostile input: the same partial text and the same exception message as pickletools.
    ///
    /// Inputs whose pickletools output would be enormous (a run of 100000 MARKs indents each later line by up to
    /// 400000 blanks, about 20 GB in all) are reported by the oracle as `too_large`; for those the disassembler is
    /// run with an output limit and must stop with the limit error.
    func testHostileInputsMatchPickletools() throws {
        let script = #"""
import io, json, os, pickletools, sys

class TooLarge(Exception):
    pass

class CappedOutput(io.StringIO):
    def write(self, s):
        if self.tell() + len(s) > 20_000_000:
            raise TooLarge()
        return super().write(s)

root = sys.argv[1]
results = []
for case in json.load(open(os.path.join(root, 'manifest.json'))):
    with open(os.path.join(root, case['file']), 'rb') as f:
        data = f.read()
    out = CappedOutput()
    entry = {'name': case['name'], 'error': None, 'too_large': False}
    try:
        pickletools.dis(data, out=out)
    except TooLarge:
        entry['too_large'] = True
    except Exception as e:
        entry['error'] = str(e)
    entry['text'] = '' if entry['too_large'] else out.getvalue()
    results.append(entry)
json.dump(results, sys.stdout)
"""#
        let hostileDirectory = Self.fixturesDirectory.appendingPathComponent("hostile")
        let manifest = try JSONDecoder().decode(
            [HostileEntry].self, from: Data(contentsOf: hostileDirectory.appendingPathComponent("manifest.json")))
        let data = try runPython(script, [hostileDirectory.path])
        let oracle = try JSONDecoder().decode([OracleResult].self, from: data)
        XCTAssertEqual(oracle.count, manifest.count)
        var mismatches = 0
        var tooLarge = 0
        for (entry, expected) in zip(manifest, oracle) {
            XCTAssertEqual(entry.name, expected.name)
            let bytes = try readBytes(hostileDirectory.appendingPathComponent(entry.file))
            if expected.too_large == true {
                tooLarge += 1
                let result = disassembleOne(bytes, limit: 20_000_000)
                XCTAssertEqual(result.error?.message.hasPrefix("disassembly exceeds the output limit"), true,
                               "\(entry.name): \(String(describing: result.error))")
                continue
            }
            let result = disassembleOne(bytes, limit: 200_000_000)
            if result.error?.message != expected.error || !same(result.text, expected.text) {
                mismatches += 1
                if mismatches <= 10 {
                    XCTFail("\(entry.name): error \(String(describing: result.error?.message)) vs "
                        + "\(String(describing: expected.error)); " + firstDifference(result.text, expected.text))
                }
            }
            // The same text and error when the bytes arrive one at a time or in two pieces.
            let splits: [[Int]] = [Array(0 ..< min(bytes.count, 4096)) + (bytes.count > 4096 ? [bytes.count / 2] : []),
                                   [bytes.count / 3], [bytes.count - 1]]
            for cuts in splits {
                let arriving = disassembleArriving(bytes, cuts: cuts, limit: 200_000_000, onePickle: true)
                if arriving.error?.message != result.error?.message || arriving.error?.offset != result.error?.offset || arriving.text != result.text {
                    XCTFail("\(entry.name) in \(cuts.count + 1) pieces: \(String(describing: arriving.error)) vs \(String(describing: result.error)); "
                        + firstDifference(arriving.text, result.text))
                }
            }
        }
        XCTAssertLessThanOrEqual(tooLarge, 2)
        XCTAssertEqual(mismatches, 0, "\(mismatches) of \(manifest.count) hostile inputs differ")
    }

    // MARK: - Streams of several pickles

    private struct StreamOracle: Decodable {
        struct Session: Decodable {
            let data: String
            let carried_text: String
            let carried_error: String?
            let fresh_text: String
            let fresh_error: String?
        }

        let data: String
        let text: String
        let sessions: [Session]
    }

    /// Three pickles back to back give the three `dis` outputs (absolute offsets) concatenated; a stream written
    /// by one Pickler across several dumps needs the memo carried across pickles.
    func testMultiPickleStreamsMatchPickletools() throws {
        let script = #"""
import io, json, pickle, pickletools, sys

def dis_all(data, shared_memo):
    f = io.BytesIO(data)
    out = io.StringIO()
    memo = {} if shared_memo else None
    error = None
    try:
        while f.tell() < len(data):
            pickletools.dis(f, out=out, memo=memo)
    except ValueError as e:
        error = str(e)
    return out.getvalue(), error

parts = [
    pickle.dumps({'a': [1, 2.5, 'x'], 'b': (True, None)}, 0),
    pickle.dumps(('t', b'\x00\xff', None, 10 ** 30), 2),
    pickle.dumps([{1, 2}, frozenset([3]), bytearray(b'ab')], 5),
]
data = b''.join(parts)
text, error = dis_all(data, False)
assert error is None

sessions = []
for protocol in (2, 4):
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol)
    shared = ['shared', 1.5]
    pickler.dump(shared)
    pickler.dump([shared, shared])
    pickler.dump({'k': shared, 'again': [shared]})
    session = buffer.getvalue()
    carried_text, carried_error = dis_all(session, True)
    fresh_text, fresh_error = dis_all(session, False)
    sessions.append({'data': session.hex(), 'carried_text': carried_text, 'carried_error': carried_error,
                     'fresh_text': fresh_text, 'fresh_error': fresh_error})
json.dump({'data': data.hex(), 'text': text, 'sessions': sessions}, sys.stdout)
"""#
        let oracle = try JSONDecoder().decode(StreamOracle.self, from: runPython(script))

        let all = Disassembler.disassembleAll(bytes(fromHex: oracle.data))
        XCTAssertNil(all.error)
        XCTAssertTrue(same(all.text, oracle.text), firstDifference(all.text, oracle.text))

        // A stream written by one Pickler across three dumps (protocols 2 and 4): later pickles refer to memo
        // entries of earlier ones. With a fresh memo per pickle, pickletools fails at protocol 2 (BINGET of an
        // index stored by the first pickle) and numbers MEMOIZE entries differently at protocol 4.
        XCTAssertEqual(oracle.sessions.count, 2)
        XCTAssertNotNil(oracle.sessions.first?.fresh_error)
        for session in oracle.sessions {
            let stream = bytes(fromHex: session.data)
            let carried = Disassembler.disassembleAll(stream, carriesMemoAcrossPickles: true)
            XCTAssertNil(session.carried_error)
            XCTAssertEqual(carried.error?.message, session.carried_error)
            XCTAssertTrue(same(carried.text, session.carried_text), firstDifference(carried.text, session.carried_text))

            let fresh = Disassembler.disassembleAll(stream)
            XCTAssertEqual(fresh.error?.message, session.fresh_error)
            XCTAssertTrue(same(fresh.text, session.fresh_text), firstDifference(fresh.text, session.fresh_text))

            // The same stream one pickle at a time, with the instance carrying its memo.
            var disassembler = Disassembler()
            disassembler.carriesMemoAcrossPickles = true
            var text = ""
            var offset = 0
            stream.withUnsafeBytes { buffer in
                while offset < buffer.count {
                    let result = disassembler.disassemble(buffer, from: offset)
                    XCTAssertNil(result.error)
                    text += result.text
                    guard result.error == nil, result.end > offset else { break }
                    offset = result.end
                }
            }
            XCTAssertTrue(same(text, session.carried_text))
            for cut in 0 ... stream.count {
                let arriving = disassembleArriving(stream, cuts: [cut], carriesMemo: true)
                XCTAssertNil(arriving.error)
                XCTAssertEqual(arriving.text, carried.text, "split at \(cut)")
            }
            let freshArriving = disassembleArriving(stream, cuts: 0 ..< stream.count)
            XCTAssertEqual(freshArriving.error?.message, session.fresh_error)
            XCTAssertEqual(freshArriving.text, session.fresh_text)
        }
        let stream = bytes(fromHex: oracle.data)
        for cut in 0 ... stream.count {
            XCTAssertEqual(disassembleArriving(stream, cuts: [cut]).text, all.text, "split at \(cut)")
        }
        XCTAssertEqual(disassembleArriving(stream, cuts: 0 ..< stream.count).text, all.text)
    }

    // MARK: - Hand-checked cases (expected texts printed by CPython 3.11.7)

    func testProtocol5Example() {
        // pickle.dumps({'a': [1, 2.5, 'x'], 'b': (True, None), 'c': b'\x00\xff'}, 5)
        let data: [UInt8] = [
            0x80, 0x05, 0x95, 0x2D, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7D, 0x94, 0x28, 0x8C, 0x01, 0x61,
            0x94, 0x5D, 0x94, 0x28, 0x4B, 0x01, 0x47, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8C, 0x01,
            0x78, 0x94, 0x65, 0x8C, 0x01, 0x62, 0x94, 0x88, 0x4E, 0x86, 0x94, 0x8C, 0x01, 0x63, 0x94, 0x43, 0x02,
            0x00, 0xFF, 0x94, 0x75, 0x2E,
        ]
        let expected = """
                0: \\x80 PROTO      5
                2: \\x95 FRAME      45
               11: }    EMPTY_DICT
               12: \\x94 MEMOIZE    (as 0)
               13: (    MARK
               14: \\x8c     SHORT_BINUNICODE 'a'
               17: \\x94     MEMOIZE    (as 1)
               18: ]        EMPTY_LIST
               19: \\x94     MEMOIZE    (as 2)
               20: (        MARK
               21: K            BININT1    1
               23: G            BINFLOAT   2.5
               32: \\x8c         SHORT_BINUNICODE 'x'
               35: \\x94         MEMOIZE    (as 3)
               36: e            APPENDS    (MARK at 20)
               37: \\x8c     SHORT_BINUNICODE 'b'
               40: \\x94     MEMOIZE    (as 4)
               41: \\x88     NEWTRUE
               42: N        NONE
               43: \\x86     TUPLE2
               44: \\x94     MEMOIZE    (as 5)
               45: \\x8c     SHORT_BINUNICODE 'c'
               48: \\x94     MEMOIZE    (as 6)
               49: C        SHORT_BINBYTES b'\\x00\\xff'
               53: \\x94     MEMOIZE    (as 7)
               54: u        SETITEMS   (MARK at 13)
               55: .    STOP
            highest protocol among opcodes = 4

            """
        let result = disassembleOne(data)
        XCTAssertNil(result.error)
        XCTAssertEqual(result.end, data.count)
        XCTAssertTrue(same(result.text, expected), firstDifference(result.text, expected))
    }

    func testMemoOpcodes() {
        let data = Array("Np0\nq\u{01}r\u{02}\u{00}\u{00}\u{00}".utf8) + [0x94, 0x2E]
        let expected = """
                0: N    NONE
                1: p    PUT        0
                4: q    BINPUT     1
                6: r    LONG_BINPUT 2
               11: \\x94 MEMOIZE    (as 3)
               12: .    STOP
            highest protocol among opcodes = 4

            """
        let result = disassembleOne(data)
        XCTAssertNil(result.error)
        XCTAssertTrue(same(result.text, expected), firstDifference(result.text, expected))
    }

    func testAnnotate() {
        // pickle.dumps([1, 'a', (None,)], 2), annotate=20
        let data: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x28, 0x4B, 0x01, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61,
                             0x71, 0x01, 0x4E, 0x85, 0x71, 0x02, 0x65, 0x2E]
        let expected = """
                0: \\x80 PROTO      2    Protocol version indicator.
                2: ]    EMPTY_LIST      Push an empty list.
                3: q    BINPUT     0    Store the stack top into the memo.  The stack is not popped.
                5: (    MARK            Push markobject onto the stack.
                6: K        BININT1    1 Push a one-byte unsigned integer.
                8: X        BINUNICODE 'a' Push a Python Unicode string object.
               14: q        BINPUT     1   Store the stack top into the memo.  The stack is not popped.
               16: N        NONE           Push None on the stack.
               17: \\x85     TUPLE1         Build a one-tuple out of the topmost item on the stack.
               18: q        BINPUT     2   Store the stack top into the memo.  The stack is not popped.
               20: e        APPENDS    (MARK at 5) Extend a list by a slice of stack objects.
               21: .    STOP                       Stop the unpickling machine.
            highest protocol among opcodes = 2

            """
        let result = disassembleOne(data, annotate: 20)
        XCTAssertNil(result.error)
        XCTAssertTrue(same(result.text, expected), firstDifference(result.text, expected))
    }

    func testTextOpcodesWithIndentLevel() {
        let data = Array("((I01\nI00\nl(L12L\nF-1.5\nS'x\\n'\nV\\u00e9\ncmod\nname\ntt.".utf8)
        let expected = """
                0: (    MARK
                1: (      MARK
                2: I        INT        True
                6: I        INT        False
               10: l        LIST       (MARK at 1)
               11: (      MARK
               12: L        LONG       12
               17: F        FLOAT      -1.5
               23: S        STRING     'x\\n'
               30: V        UNICODE    'é'
               38: c        GLOBAL     'mod name'
               48: t        TUPLE      (MARK at 11)
               49: t      TUPLE      (MARK at 0)
               50: .    STOP
            highest protocol among opcodes = 0

            """
        let result = disassembleOne(data, indentLevel: 2)
        XCTAssertNil(result.error)
        XCTAssertTrue(same(result.text, expected), firstDifference(result.text, expected))
    }

    func testErrorsKeepWhatPickletoolsPrintedBeforeRaising() {
        let cases: [(bytes: [UInt8], text: String, message: String, offset: Int)] = [
            (Array("e.".utf8), "    0: e    APPENDS    no MARK exists on stack\n", "no MARK exists on stack", 0),
            (Array("N0.".utf8), "    0: N    NONE\n    1: 0    POP\n    2: .    STOP\n",
             "tries to pop 1 items from stack with only 0 items", 2),
            ([0x4E, 0xA0, 0x2E], "    0: N    NONE\n", "at position 1, opcode b'\\xa0' unknown", 1),
            ([0x8C, 0x02, 0xED, 0xA0, 0x2E], "",
             "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte", 0),
            // TUPLE1 pops the markobject; TUPLE then finds none on the stack (an IndexError in pickletools, raised
            // after the offset was printed).
            ([0x28, 0x85, 0x74, 0x2E], "    0: (    MARK\n    1: \\x85     TUPLE1\n    2: ", "list index out of range", 2),
            (Array("N".utf8), "    0: N    NONE\n", "pickle exhausted before seeing STOP", 1),
            (Array("NN.".utf8), "    0: N    NONE\n    1: N    NONE\n    2: .    STOP\nhighest protocol among opcodes = 0\n",
             "stack not empty after STOP: [None]", 2),
            ([0x4E, 0x94, 0x68, 0x05, 0x2E], "    0: N    NONE\n    1: \\x94 MEMOIZE    (as 0)\n    2: h    BINGET     5\n",
             "memo key 5 has never been stored into", 2),
        ]
        for (bytes, text, message, offset) in cases {
            let result = disassembleOne(bytes)
            XCTAssertEqual(result.error?.message, message, "\(bytes)")
            XCTAssertEqual(result.error?.offset, offset, "\(bytes)")
            XCTAssertTrue(same(result.text, text), "\(bytes): " + firstDifference(result.text, text))
        }
    }

    func testHugeDeclaredLengthsAreReportedNotAllocated() {
        // BINBYTES8 declaring 2**62 bytes, followed by one byte.
        let bytes8: [UInt8] = [0x4E, 0x8E, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x78]
        var result = disassembleOne(bytes8)
        XCTAssertEqual(result.error?.message, "expected 4611686018427387904 bytes in a bytes8, but only 1 remain")
        XCTAssertTrue(same(result.text, "    0: N    NONE\n"))
        // BINBYTES8 above sys.maxsize.
        result = disassembleOne([0x8E, 0, 0, 0, 0, 0, 0, 0, 0x80])
        XCTAssertEqual(result.error?.message, "bytes8 byte count > sys.maxsize: 9223372036854775808")
        // LONG4 with a negative count, BINUNICODE with a count far beyond the data.
        result = disassembleOne([0x8B, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E])
        XCTAssertEqual(result.error?.message, "long4 byte count < 0: -1")
        result = disassembleOne([0x58, 0xFF, 0xFF, 0xFF, 0xFF, 0x61])
        XCTAssertEqual(result.error?.message, "expected 4294967295 bytes in a unicodestring4, but only 1 remain")
    }

    func testLongBeyondFourThousandThreeHundredDigits() {
        // LONG4 of 0x1000 bytes: its repr fails after the offset column was printed.
        var data: [UInt8] = [0x8B, 0x00, 0x10, 0x00, 0x00]
        data += [UInt8](repeating: 0x01, count: 0x1000)
        data.append(0x2E)
        let result = disassembleOne(data)
        XCTAssertEqual(result.error?.message, "Exceeds the limit (4300 digits) for integer string conversion; "
            + "use sys.set_int_max_str_digits() to increase the limit")
        XCTAssertTrue(same(result.text, "    0: "))
        // A long run of sign bytes costs nothing and prints the small value.
        var small: [UInt8] = [0x8B, 0x01, 0x00, 0x10, 0x00, 0xFE]
        small += [UInt8](repeating: 0xFF, count: 0x100000)
        small.append(0x2E)
        let smallResult = disassembleOne(small)
        XCTAssertNil(smallResult.error)
        XCTAssertTrue(smallResult.text.hasPrefix("    0: \\x8b LONG4      -2\n"))
    }

    /// With a text sink the text arrives in pieces as it is produced (the memory held stays small), the
    /// pieces and the returned rest together being exactly the text of a run without a sink; the output limit
    /// counts what was handed over.
    func testTextSinkReceivesTheTextInPieces() {
        final class Pieces: @unchecked Sendable { var list: [String] = [] }
        let marks = [UInt8](repeating: 0x28, count: 2000) + [0x4E, 0x2E]
        let whole = disassembleOne(marks)
        let pieces = Pieces()
        var disassembler = Disassembler()
        disassembler.textSink = { pieces.list.append($0) }
        let rest = marks.withUnsafeBytes { disassembler.disassemble($0, from: 0) }
        XCTAssertGreaterThan(pieces.list.count, 10)
        XCTAssertTrue(pieces.list.allSatisfy { $0.utf8.count < (1 << 16) + 10_000 })
        XCTAssertEqual(pieces.list.joined() + rest.text, whole.text)
        XCTAssertEqual(rest.error?.message, whole.error?.message)
        disassembler.maxOutputLength = 1 << 20
        let limited = marks.withUnsafeBytes { disassembler.disassemble($0, from: 0) }
        XCTAssertEqual(limited.error?.message.hasPrefix("disassembly exceeds the output limit"), true)
    }

    func testStartOffsetAndOutputLimit() {
        let data = Array("N.I5\n.".utf8)
        let result = disassembleOne(data, from: 2)
        XCTAssertNil(result.error)
        XCTAssertEqual(result.end, data.count)
        XCTAssertTrue(same(result.text, "    2: I    INT        5\n    5: .    STOP\nhighest protocol among opcodes = 0\n"))

        let marks = [UInt8](repeating: 0x28, count: 5000) + [0x4E, 0x2E]
        let limited = disassembleOne(marks, limit: 100_000)
        XCTAssertEqual(limited.error?.message.hasPrefix("disassembly exceeds the output limit"), true)
        XCTAssertLessThan(limited.text.utf8.count, 200_000)

        let outside = disassembleOne(data, from: 7)
        XCTAssertNotNil(outside.error)
        let empty = Disassembler.disassembleAll([])
        XCTAssertNil(empty.error)
        XCTAssertEqual(empty.text, "")
    }
}
