import Foundation
import XCTest
@testable import Pickle
import PickleZstd

/// The safety scanner: the corpus of Tests/Fixtures/scan_corpus.py (benign files safe under their profile,
/// every bypass family dangerous), findings with their offsets and calls, the structural oddities, policies,
/// failing closed, the in-stream hooks, and CPython as the oracle on mutated pickles.
final class ScannerTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("scan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private struct CorpusEntry: Decodable {
        let file: String
        let kind: String
        let family: String
        let profile: String
        let globals: [String]
        let dangerous: [String]?
    }

    /// Writes the corpus and returns its manifest, with every global name mapped as CPython's fix_imports
    /// maps Python 2 names (the scanner reports names as loading resolves them).
    private func corpus() throws -> (root: URL, entries: [CorpusEntry]) {
        let root = directory.appendingPathComponent("corpus")
        try Python.script("""
        import json, subprocess, sys, _compat_pickle
        subprocess.run([sys.executable, 'Tests/Fixtures/scan_corpus.py', sys.argv[1]], check=True, stdout=subprocess.DEVNULL)
        def fix(name):
            module, qualname = name.split('.', 1)
            if (module, qualname) in _compat_pickle.NAME_MAPPING:
                module, qualname = _compat_pickle.NAME_MAPPING[(module, qualname)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
            return module + '.' + qualname
        path = sys.argv[1] + '/manifest.json'
        entries = json.load(open(path))
        for e in entries:
            e['globals'] = [fix(g) for g in e['globals']]
            if 'dangerous' in e: e['dangerous'] = [fix(g) for g in e['dangerous']]
        json.dump(entries, open(path, 'w'))
        """, [root.path])
        let entries = try JSONDecoder().decode([CorpusEntry].self, from: Data(contentsOf: root.appendingPathComponent("manifest.json")))
        return (root, entries)
    }

    private func scanner(_ profile: String) -> PickleScanner {
        PickleScanner(policy: ScanPolicy.builtIn[profile]!, decompressors: [.zstd])
    }

    /// Every benign file is safe under its profile and every malicious one dangerous, each naming the
    /// dangerous globals loading would reach; a benign file with globals beyond plain data is not safe under
    /// the plain-data profile (the allow-list decides, not the block list).
    func testCorpusBenignFilesAreSafeAndEveryBypassFamilyIsDangerous() throws {
        let (root, entries) = try corpus()
        XCTAssertGreaterThan(entries.filter { $0.kind == "malicious" }.count, 50)
        XCTAssertGreaterThan(entries.filter { $0.kind == "benign" }.count, 40)
        for entry in entries {
            let report = scanner(entry.profile).scanFile(atPath: root.appendingPathComponent(entry.file).path)
            let label = "\(entry.family) \(entry.file)"
            if entry.kind == "benign" {
                XCTAssertEqual(report.verdict, .safe, "\(label): \(report.findings.map(\.message))")
                let beyondData = entry.globals.filter { !ScanPolicy.data.allows(GlobalName(module: String($0.split(separator: ".")[0]), name: String($0.split(separator: ".", maxSplits: 1)[1]))) }
                if !beyondData.isEmpty {
                    XCTAssertNotEqual(scanner("data").scanFile(atPath: root.appendingPathComponent(entry.file).path).verdict, .safe, label)
                }
                continue
            }
            XCTAssertEqual(report.verdict, .dangerous, "\(label): \(report.findings.map(\.message))")
            let named = Set(report.globals.map(\.name) + report.findings.compactMap(\.global))
            for global in entry.dangerous ?? [] {
                XCTAssertTrue(named.contains(global), "\(label): \(global) not among \(named.sorted())")
            }
        }
    }

    /// A protocol 0 `os.system` call: the global at its GLOBAL's offset, the call at its REDUCE's, shown as
    /// Python shows it; the same bytes through the CLI give the same offsets, and a file offset.
    func testFindingsGiveTheOpcodeOffsetAndTheCall() throws {
        let bytes = Array("cos\nsystem\n(S'true'\ntR.".utf8)
        let report = PickleScanner().scan(bytes)
        XCTAssertEqual(report.verdict, .dangerous)
        XCTAssertEqual(report.globals, [ScannedGlobal(name: "os.system", location: "", offset: 0, uses: [.called], isAllowed: false)])
        let call = try XCTUnwrap(report.findings.first { $0.kind == .call })
        XCTAssertEqual(call.offset, 21)
        XCTAssertEqual(call.fileOffset, 21)
        XCTAssertEqual(call.call, "os.system(b'true')")
        XCTAssertTrue(call.message.contains("os is a dangerous module"), call.message)
        XCTAssertEqual(report.pickleCount, 1)
        // Five hundred such calls: one global entry, twenty calls in full, the rest counted.
        let many = Array(("(" + String(repeating: "cos\nsystem\n(S'true'\ntR", count: 500) + "l.").utf8)
        let crowded = PickleScanner().scan(many)
        XCTAssertEqual(crowded.globals.count, 1)
        XCTAssertEqual(crowded.findings.filter { $0.kind == .call }.count, 21)
        XCTAssertTrue(crowded.findings.last?.message.hasPrefix("480 more findings like the 20 above (call of os.system)") ?? false, "\(crowded.findings.last!)")
        XCTAssertEqual(crowded.verdict, .dangerous)
    }

    /// The stream's own oddities, each a finding at its opcode: a memo index stored twice, a PROTO inside a
    /// pickle, a call whose result is POPped, bytes after the last pickle; several pickles are information,
    /// and each is scanned.
    func testStructuralOdditiesAreFindingsAtTheirOffsets() throws {
        func kinds(_ bytes: [UInt8], _ policy: ScanPolicy = .stdlib) -> [ScanFinding.Kind: (ScanVerdict, Int)] {
            Dictionary(PickleScanner(policy: policy).scan(bytes).findings.map { ($0.kind, ($0.severity, $0.offset)) }, uniquingKeysWith: { a, _ in a })
        }
        // PROTO 2, EMPTY_LIST, BINPUT 0, EMPTY_DICT, BINPUT 0 (again), POP, STOP
        let redefined = kinds([0x80, 0x02, 0x5D, 0x71, 0x00, 0x7D, 0x71, 0x00, 0x30, 0x2E])
        XCTAssertEqual(redefined[.memoIndexRedefined]?.1, 6)
        XCTAssertEqual(redefined[.memoIndexRedefined]?.0, .suspicious)
        // PROTO 2, NONE, PROTO 4, STOP
        XCTAssertEqual(kinds([0x80, 0x02, 0x4E, 0x80, 0x04, 0x2E])[.protoInsidePickle]?.1, 3)
        // A call of an allowed global whose result is POPped: datetime.date(2020, 1, 1), then None returned.
        let discarded = Array("cdatetime\ndate\n(M\u{E4}\u{07}K\u{01}K\u{01}tR0N.".unicodeScalars.map { UInt8($0.value) })
        let unused = kinds(discarded)
        XCTAssertEqual(unused[.unusedCall]?.0, .suspicious)
        XCTAssertEqual(unused[.unusedCall]?.1, 24)
        XCTAssertNil(unused[.call], "the call itself is allowed")
        // Two pickles, then bytes that are not a pickle.
        let two = [0x80, 0x04, 0x4B, 0x01, 0x2E, 0x4B, 0x02, 0x2E] as [UInt8]
        XCTAssertEqual(PickleScanner().scan(two).verdict, .safe)
        XCTAssertEqual(PickleScanner().scan(two).pickleCount, 2)
        XCTAssertEqual(kinds(two)[.severalPickles]?.0, .safe)
        XCTAssertEqual(kinds(two + [0xFF, 0xFF])[.trailingBytes]?.1, 8)
        // A malicious pickle after a benign one is found.
        let second = two + Array("cos\nsystem\n(S'true'\ntR.".utf8)
        XCTAssertEqual(PickleScanner().scan(second).verdict, .dangerous)
        XCTAssertEqual(PickleScanner().scan(second).findings.first { $0.kind == .call }?.offset, 8 + 21)
    }

    /// Allowed calls that only cost (a bytearray of a terabyte, a Fraction of a huge exponent) and state that
    /// plants a callable on an allowed object are findings.
    func testAllowedCallsThatCostOrPlantCallablesAreFindings() throws {
        let pieces = Python.lengthPrefixedPieces(try Python.script("""
        import collections, fractions, pickle, sys
        def piece(b): sys.stdout.buffer.write(len(b).to_bytes(8, 'little') + b)
        class Huge:
            def __reduce__(self): return (bytearray, (1 << 40,))
        class Exponent:
            def __reduce__(self): return (fractions.Fraction, ('1e10000000',))
        class Planted:
            def __reduce__(self): return (collections.OrderedDict, (), {'__setstate__': 1})
        for o in [Huge(), Exponent(), Planted()]: piece(pickle.dumps(o, 4))
        """))
        let kinds = pieces.map { PickleScanner().scan($0).findings.map { "\($0.kind.rawValue) \($0.severity.rawValue)" } }
        XCTAssertEqual(kinds, [["expansion suspicious"], ["expansion suspicious"], ["build suspicious"]])
    }

    /// Data flow: a call of a call's result resolves through getattr, import_module, attrgetter and
    /// pkgutil.resolve_name to what it calls.
    func testCallsOfCallResultsResolveToTheirTarget() throws {
        let cases: [(String, String)] = [
            ("getattr(importlib.import_module('os'), 'system')", "os.system"),
            ("getattr(__import__('subprocess'), 'Popen')", "subprocess.Popen"),
            ("operator.attrgetter('system')(importlib.import_module('os'))", "os.system"),
            ("pkgutil.resolve_name('os:system')", "os.system"),
        ]
        for (callable, target) in cases {
            let bytes = try pickle(calling: callable, with: "('true',)")
            let report = PickleScanner().scan(bytes)
            XCTAssertEqual(report.verdict, .dangerous, callable)
            let indirect = try XCTUnwrap(report.findings.first { $0.kind == .indirectCall && $0.global == target }, "\(callable): \(report.findings)")
            XCTAssertEqual(indirect.severity, .dangerous, callable)
            XCTAssertTrue(indirect.message.contains("resolves to \(target)"), indirect.message)
        }
    }

    /// A pickle whose root is `callable(*args)`, the callable itself built by the calls it names (written
    /// with REDUCE by a Pickler whose reducer_override turns each call into its REDUCE).
    private func pickle(calling callable: String, with args: String) throws -> [UInt8] {
        try [UInt8](Python.script("""
        import importlib, operator, pickle, pkgutil, sys, io
        class Call:
            def __init__(self, f, *args): self.f, self.args = f, args
            def __reduce__(self): return (self.f, self.args)
            def __call__(self, *a): return Call(self, *a)  # callable, as the pickler asks of a reduce's first item
        def lift(expression):
            # Every call in the expression becomes a Call, so nothing runs.
            def wrap(f):
                return lambda *a: Call(f, *a)
            env = {'getattr': wrap(getattr), '__import__': wrap(__import__),
                   'importlib': type('M', (), {'import_module': staticmethod(wrap(importlib.import_module))}),
                   'operator': type('M', (), {'attrgetter': staticmethod(wrap(operator.attrgetter))}),
                   'pkgutil': type('M', (), {'resolve_name': staticmethod(wrap(pkgutil.resolve_name))})}
            return eval(expression, env)
        f = lift(sys.argv[1])
        sys.stdout.buffer.write(pickle.dumps(Call(f, *eval(sys.argv[2])), 2))
        """, [callable, args]))
    }

    /// BUILD, SETITEM and APPEND on a global patch the loading process: dangerous, and the scan goes on
    /// past them (CPython does) to what follows.
    func testGlobalsChangedInPlaceAreDangerousAndTheScanGoesOn() throws {
        // collections.OrderedDict, BUILD (None, {'x': 1}), POP, then os.system('true').
        let build = Array("ccollections\nOrderedDict\n(N}S'x'\nI1\nstb0cos\nsystem\n(S'true'\ntR.".utf8)
        let report = PickleScanner().scan(build)
        XCTAssertEqual(report.verdict, .dangerous)
        XCTAssertEqual(report.findings.first { $0.kind == .mutation }?.global, "collections.OrderedDict")
        XCTAssertEqual(report.findings.first { $0.kind == .mutation }?.offset, 38)
        XCTAssertEqual(report.findings.first { $0.kind == .call }?.global, "os.system", "the scan went on past the BUILD")
        // sys.path.append('/tmp/x'), then None.
        let append = Array("csys\npath\nS'/tmp/x'\na0N.".utf8)
        XCTAssertEqual(PickleScanner().scan(append).findings.first { $0.kind == .mutation }?.global, "sys.path")
        // os.environ['LD_PRELOAD'] = 'x'
        let setitem = Array("cos\nenviron\nS'LD_PRELOAD'\nS'x'\ns.".utf8)
        XCTAssertEqual(PickleScanner().scan(setitem).verdict, .dangerous)
        // Without the scanner, the parser still refuses such a pickle, as the graph cannot hold it.
        XCTAssertThrowsError(try Unpickler.loads(append))
    }

    /// torch's constraint: a tensor only over a persistent id's storage. Over anything else the call is a
    /// finding even though the function is allowed.
    func testTorchProfileChecksTheTensorsStorage() throws {
        let pieces = Python.lengthPrefixedPieces(try Python.script("""
        import collections, io, pickle, sys, numpy as np, torch_layout as t
        def piece(b): sys.stdout.buffer.write(len(b).to_bytes(8, 'little') + b)
        class Fake:
            def __reduce__(self): return (t._rebuild_tensor_v2, ({'not': 'a storage'}, 0, (1,), (1,), False, collections.OrderedDict()))
        piece(pickle.dumps(Fake(), 2))
        buffer = io.BytesIO(); t._Pickler(buffer).dump(collections.OrderedDict(w=t.tensor('0', np.zeros(2, 'float32'))))
        piece(buffer.getvalue())
        """))
        XCTAssertEqual(pieces.count, 2)
        let fake = PickleScanner(policy: .torch).scan(pieces[0])
        XCTAssertEqual(fake.verdict, .suspicious)
        XCTAssertEqual(fake.findings.map(\.kind), [.argumentConstraint])
        XCTAssertTrue(fake.findings[0].message.contains("a persistent id"), fake.findings[0].message)
        XCTAssertEqual(PickleScanner(policy: .torch).scan(pieces[1]).verdict, .safe)
        XCTAssertEqual(PickleScanner(policy: .stdlib).scan(pieces[1]).verdict, .suspicious, "torch names are not stdlib, nor its persistent ids")
    }

    /// A policy file extends a profile with a user's classes and constraints, or replaces it; mistakes in
    /// it are errors that say what is wrong.
    func testPolicyFilesExtendOrReplaceAProfile() throws {
        let point = Array("c__main__\nPoint\n)\u{81}}S'x'\nI1\nsb.".unicodeScalars.map { UInt8($0.value) })
        XCTAssertEqual(PickleScanner(policy: .stdlib).scan(point).verdict, .suspicious)
        let extended = try ScanPolicy(json: Array(#"{"extends": "stdlib", "allow": ["__main__.Point", {"global": "m.load", "arguments": {"0": "data"}}]}"#.utf8))
        XCTAssertEqual(extended.name, "stdlib+custom")
        XCTAssertEqual(PickleScanner(policy: extended).scan(point).verdict, .safe)
        XCTAssertEqual(extended.constraints(for: GlobalName(module: "m", name: "load")), [0: .plainData])
        XCTAssertTrue(extended.allows(GlobalName(module: "datetime", name: "date")))
        let replaced = try ScanPolicy(json: Array(#"{"name": "points", "allow": ["__main__.*"], "persistent_ids": "any"}"#.utf8))
        XCTAssertFalse(replaced.allows(GlobalName(module: "datetime", name: "date")))
        XCTAssertTrue(replaced.allows(GlobalName(module: "__main__", name: "Anything")))
        XCTAssertEqual(PickleScanner(policy: replaced).scan(point).verdict, .safe)
        let removed = try ScanPolicy(json: Array(#"{"extends": "stdlib", "remove": ["datetime.date"]}"#.utf8))
        XCTAssertFalse(removed.allows(GlobalName(module: "datetime", name: "date")))
        for (text, reason) in [(#"{"extends": "nothing"}"#, "unknown profile 'nothing'"), (#"{"allow": ["os"]}"#, "'os' is not a global name"),
                               (#"{"allow": [{"global": "a.b", "arguments": {"x": "data"}}]}"#, "argument position 'x'"),
                               (#"{"allow": [{"global": "a.b", "arguments": {"0": "anything"}}]}"#, "not a policy file"), ("[", "not a policy file")] {
            XCTAssertThrowsError(try ScanPolicy(json: Array(text.utf8)), text) { XCTAssertTrue("\($0)".contains(reason), "\($0) should say \(reason)") }
        }
    }

    /// What cannot be read to its end is never safe: truncated and damaged pickles, empty input, a depth
    /// budget reached; what was read before the failure is still judged.
    func testTheVerdictFailsClosed() throws {
        let benign = try Python.pickles(of: "{'a': [1, 2, (3, 4)]}", protocols: 4 ... 4)[0].1
        XCTAssertEqual(PickleScanner().scan(benign).verdict, .safe)
        for cut in 1 ..< benign.count {
            let report = PickleScanner().scan(benign[..<cut])
            XCTAssertEqual(report.verdict, .error, "cut at \(cut)")
            XCTAssertEqual(report.findings.last?.kind, .unreadable, "cut at \(cut)")
        }
        XCTAssertEqual(PickleScanner().scan([UInt8]()).verdict, .error)
        XCTAssertEqual(PickleScanner().scan(Array("not a pickle".utf8)).verdict, .error)
        // os.system called, then the stream breaks: dangerous, not merely unreadable.
        let broken = Array("cos\nsystem\n(S'true'\ntR\u{FF}".utf8)
        XCTAssertEqual(PickleScanner().scan(broken).verdict, .dangerous)
        // A pickle inside bytes inside a pickle, with no room for the inner one.
        let inner = Array("cos\nsystem\n(S'true'\ntR.".utf8)
        let outer = try [UInt8](Python.script("import pickle, sys; sys.stdout.buffer.write(pickle.dumps({'payload': bytes.fromhex(sys.argv[1])}, 4))",
                                              [inner.map { String(format: "%02x", $0) }.joined()]))
        let nested = PickleScanner().scan(outer)
        XCTAssertEqual(nested.verdict, .dangerous)
        XCTAssertTrue(nested.findings.contains { $0.kind == .call && $0.location.hasPrefix("bytes at ") }, "\(nested.findings)")
        var shallow = PickleScanner.Limits()
        shallow.maxDepth = 0
        XCTAssertEqual(PickleScanner(limits: shallow).scan(outer).verdict, .error, "no room to scan the embedded pickle")
    }

    /// Shared references that expand far beyond the pickle (a billion laughs through the memo) are reported.
    func testMemoFanOutIsReported() throws {
        // Eight levels of a list holding the previous list ten times: 10^8 values from a few dozen nodes.
        var bytes: [UInt8] = [0x80, 0x04, 0x4E]
        for _ in 0 ..< 8 {
            bytes += [0x94, 0x28]  // MEMOIZE, MARK
            let index = UInt8(bytes.filter { $0 == 0x94 }.count - 1)
            for _ in 0 ..< 10 { bytes += [0x68, index] }  // BINGET
            bytes += [0x6C]  // LIST
        }
        bytes += [0x2E]
        let report = PickleScanner().scan(bytes)
        XCTAssertEqual(report.findings.map(\.kind), [.expansion], "\(report.findings)")
        XCTAssertTrue(report.findings[0].message.hasPrefix("8 values expand to 11111111 through shared references"), report.findings[0].message)
        XCTAssertEqual(report.verdict, .suspicious)
        // Lists nested 10,000 deep: loadable (CPython's unpickler does not recurse), but not walkable.
        let deep: [UInt8] = [0x80, 0x04] + Array(repeating: 0x5D, count: 10_000) + Array(repeating: 0x61, count: 9_999) + [0x2E]
        let nested = PickleScanner().scan(deep)
        XCTAssertEqual(nested.verdict, .suspicious)
        XCTAssertTrue(nested.findings.first?.message.hasPrefix("values nested 10000 deep") ?? false, "\(nested.findings)")
        let shallow: [UInt8] = [0x80, 0x04] + Array(repeating: 0x5D, count: 100) + Array(repeating: 0x61, count: 99) + [0x2E]
        XCTAssertEqual(PickleScanner().scan(shallow).verdict, .safe)
    }

    /// The in-stream hooks stop a stream at the first global the policy does not allow, as its opcode
    /// arrives, whatever the chunking; the objects before it are delivered.
    func testHooksRejectAGlobalInStreamWhateverTheChunking() throws {
        let good = try Python.pickles(of: "{'when': datetime.date(2020, 1, 2)}", protocols: 4 ... 4)[0].1
        let evil = Array("cos\nsystem\n(S'true'\ntR.".utf8)
        let stream = good + evil
        func feed(_ boundaries: [Int]) -> (count: Int, error: PickleError?) {
            var parser = PickleParser(options: UnpicklerOptions(), hooks: .rejecting(outside: .stdlib))
            var out: [PickleGraph] = []
            var start = 0
            do {
                for end in boundaries + [stream.count] where end >= start {
                    try parser.feed(stream[start ..< end], into: &out)
                    start = end
                }
                try parser.finish()
            } catch let error as PickleError {
                return (out.count, error)
            } catch {
                return (out.count, nil)
            }
            return (out.count, nil)
        }
        for boundaries in [[], Array(0 ..< stream.count)] + (0 ... stream.count).map({ [$0] }) {
            let (count, error) = feed(boundaries)
            XCTAssertEqual(count, 1, "\(boundaries)")
            XCTAssertEqual(error?.code, .rejected, "\(boundaries)")
            XCTAssertEqual(error?.offset, good.count, "\(boundaries)")
            XCTAssertTrue(error?.message.contains("os.system is not allowed by the policy 'stdlib'") ?? false, "\(String(describing: error))")
        }
        // The finished graph's own scan adds what hooks cannot see.
        let discarded = try Unpickler.loads(Array("cdatetime\ndate\n(M\u{E4}\u{07}K\u{01}K\u{01}tR0N.".unicodeScalars.map { UInt8($0.value) }))
        XCTAssertEqual(PickleScanner().findings(in: discarded).map(\.kind), [.unusedCall])
        XCTAssertEqual(PickleScanner().verdict(of: try Unpickler.loads(good)), .safe)
    }

    /// CPython as the oracle: pickles of the corpus damaged at random (bytes flipped, inserted, dropped) are
    /// scanned; none the scanner calls safe makes CPython's unpickler ask for a global the policy does not
    /// allow (a recording find_class that never returns anything real).
    func testNoPickleCalledSafeMakesCPythonReachAGlobalThePolicyRefuses() throws {
        let (root, entries) = try corpus()
        let sources = entries.filter { $0.file.hasSuffix(".pkl") }.map { root.appendingPathComponent($0.file).path }
        let mutated = directory.appendingPathComponent("mutated")
        try Python.script("""
        import os, random, sys
        out, sources = sys.argv[1], sys.argv[2:]
        os.makedirs(out)
        rng = random.Random(2026)
        originals = [open(s, 'rb').read() for s in sources]
        for k in range(1500):
            data = bytearray(rng.choice(originals))
            for _ in range(rng.randint(1, 3)):
                what, at = rng.random(), rng.randrange(len(data))
                if what < 0.4: data[at] = rng.randrange(256)
                elif what < 0.7: data.insert(at, rng.choice(b'cR(t.0qh\\x94\\x93\\x81bsa\\x85\\x86'))
                elif len(data) > 2: del data[at]
            open(f'{out}/{k:04}.pkl', 'wb').write(bytes(data))
        """, [mutated.path] + sources)
        let files = try FileManager.default.contentsOfDirectory(atPath: mutated.path).sorted()
        XCTAssertEqual(files.count, 1500)
        var safe: [String] = []
        for file in files where scanner("numpy").scanFile(atPath: mutated.appendingPathComponent(file).path).verdict == .safe {
            safe.append(mutated.appendingPathComponent(file).path)
        }
        XCTAssertGreaterThan(safe.count, 50, "some damaged pickles are still benign pickles")
        let allowed = ScanPolicy.numpy.allowed.keys.sorted()
        let violations = try Python.script("""
        import io, json, pickle, sys, signal
        allowed = set(json.loads(sys.argv[1]))
        violations = []
        import _compat_pickle
        class Recorder(pickle._Unpickler):
            def find_class(self, module, name):
                # As CPython's own find_class maps Python 2 names.
                if self.proto < 3 and self.fix_imports:
                    if (module, name) in _compat_pickle.NAME_MAPPING:
                        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
                    elif module in _compat_pickle.IMPORT_MAPPING:
                        module = _compat_pickle.IMPORT_MAPPING[module]
                full = module + '.' + name
                if full not in allowed and module + '.*' not in allowed:
                    violations.append((self.path, full))
                # Never the real object: a harmless stand-in, so loading goes on.
                return lambda *a, **k: None
            def persistent_load(self, pid):
                violations.append((self.path, 'persistent id'))
        signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError()))
        for path in sys.argv[2:]:
            data = open(path, 'rb').read()
            f = io.BytesIO(data)
            while f.tell() < len(data):
                u = Recorder(f, encoding='bytes'); u.path = path
                signal.alarm(5)
                try: u.load()
                except Exception: break
                finally: signal.alarm(0)
        print(json.dumps(violations))
        """, [String(decoding: try JSONEncoder().encode(allowed), as: UTF8.self)] + safe)
        XCTAssertEqual(String(decoding: violations, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), "[]")
    }

    /// Files written by joblib.dump itself: the arrays' bytes (and an object array's own pickle) lie inside
    /// the pickle stream after each wrapper's BUILD; the scan skips them as joblib's loader reads them and
    /// goes on to what follows.
    func testJoblibFilesAreScannedPastTheirArrays() throws {
        let benign = directory.appendingPathComponent("benign.joblib").path, evil = directory.appendingPathComponent("evil.joblib").path
        let after = directory.appendingPathComponent("after.joblib").path
        try Python.script("""
        import os, sys, joblib, numpy as np
        class Evil:
            def __reduce__(self): return (os.system, ('true',))
        joblib.dump({'w': np.arange(1000, dtype='<f8').reshape(10, 100), 'ids': np.arange(7, dtype='>i4'), 'flag': np.bool_(True),
                     'names': np.array(['a', 'bc'])}, sys.argv[1])
        joblib.dump({'objects': np.array([1, 'x', Evil()], dtype=object)}, sys.argv[2])
        joblib.dump([np.zeros(3, 'float32'), Evil()], sys.argv[3])
        """, [benign, evil, after])
        let numpy = PickleScanner(policy: .numpy)
        let report = numpy.scanFile(atPath: benign)
        XCTAssertEqual(report.verdict, .safe, "\(report.findings)")
        XCTAssertTrue(report.globals.contains { $0.name == "joblib.numpy_pickle.NumpyArrayWrapper" })
        let objects = numpy.scanFile(atPath: evil)
        XCTAssertEqual(objects.verdict, .dangerous)
        XCTAssertTrue(objects.findings.contains { $0.global == "posix.system" && $0.location.hasPrefix("joblib array at ") }, "\(objects.findings)")
        let later = numpy.scanFile(atPath: after)
        XCTAssertEqual(later.verdict, .dangerous)
        XCTAssertTrue(later.findings.contains { $0.kind == .call && $0.global == "posix.system" && $0.location == "as joblib.load reads it" }, "\(later.findings)")
    }

    /// `pickletool scan` as a user runs it: text, JSON and SARIF 2.1.0 (byte offsets in the file, the
    /// file's SHA-256), and the documented exit codes.
    func testTheScanCommandReportsInTextJSONAndSARIFWithItsExitCodes() throws {
        let tool = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pickletool")
        let safe = directory.appendingPathComponent("safe.pkl").path, evil = directory.appendingPathComponent("evil.pkl").path
        let broken = directory.appendingPathComponent("broken.pkl").path, odd = directory.appendingPathComponent("odd.pkl").path
        try Data([0x80, 0x04, 0x4B, 0x01, 0x2E]).write(to: URL(fileURLWithPath: safe))
        try Data("cos\nsystem\n(S'true'\ntR.".utf8).write(to: URL(fileURLWithPath: evil))
        try Data([0x80, 0x04, 0x4B]).write(to: URL(fileURLWithPath: broken))
        try Data("c__main__\nThing\n.".utf8).write(to: URL(fileURLWithPath: odd))
        func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
            let (status, out, err) = try Subprocess.run(tool, ["scan"] + arguments, stdin: [])
            return (status, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
        }
        XCTAssertEqual(try run([safe]).status, 0)
        XCTAssertEqual(try run([odd]).status, 1)
        XCTAssertEqual(try run([broken]).status, 2)
        XCTAssertEqual(try run([safe, broken, odd]).status, 2, "could not finish outranks suspicious")
        XCTAssertEqual(try run([broken, evil]).status, 1, "dangerous outranks could not finish")
        XCTAssertEqual(try run(["--profile", "nothing", safe]).status, 64)
        let text = try run([evil])
        XCTAssertEqual(text.status, 1)
        XCTAssertTrue(text.out.hasPrefix("\(evil): dangerous (policy stdlib, pickle, 1 pickle, 23 bytes)\n"), text.out)
        XCTAssertTrue(text.out.contains("  dangerous: @21: os.system is called"), text.out)
        XCTAssertTrue(text.out.contains("      os.system(b'true')"), text.out)

        let json = try run(["--json", "--profile", "data", safe, evil])
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        XCTAssertEqual(parsed["verdict"] as? String, "dangerous")
        let files = try XCTUnwrap(parsed["files"] as? [[String: Any]])
        XCTAssertEqual(files.map { $0["verdict"] as? String }, ["safe", "dangerous"])
        XCTAssertEqual(files.map { $0["policy"] as? String }, ["data", "data"])
        let finding = try XCTUnwrap((files[1]["findings"] as? [[String: Any]])?.first { $0["kind"] as? String == "call" })
        XCTAssertEqual(finding["offset"] as? Int, 21)
        XCTAssertEqual(finding["global"] as? String, "os.system")

        let sarif = try run(["--sarif", safe, evil])
        let log = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(sarif.out.utf8)) as? [String: Any])
        XCTAssertEqual(log["version"] as? String, "2.1.0")
        let runs = try XCTUnwrap(log["runs"] as? [[String: Any]])
        let artifacts = try XCTUnwrap(runs.first?["artifacts"] as? [[String: Any]])
        let hashes = artifacts.compactMap { ($0["hashes"] as? [String: String])?["sha-256"] }
        let expected = try Python.script("import hashlib, sys; print(' '.join(hashlib.sha256(open(p, 'rb').read()).hexdigest() for p in sys.argv[1:]))", [safe, evil])
        XCTAssertEqual(hashes.joined(separator: " "), String(decoding: expected, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        let results = try XCTUnwrap(runs.first?["results"] as? [[String: Any]])
        let call = try XCTUnwrap(results.first { $0["ruleId"] as? String == "call" })
        XCTAssertEqual(call["level"] as? String, "error")
        let region = ((call["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])?["region"] as? [String: Int]
        XCTAssertEqual(region?["byteOffset"], 21)
        let rules = ((runs.first?["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]]
        XCTAssertTrue(rules?.contains { $0["id"] as? String == "call" } ?? false)
    }

    /// Inputs once made to fool or stall the scanner (Tests/Fixtures/scan_bypasses.py): joblib, zip, tar and
    /// torch readings that differ from the loaders', allowed calls that patch or corrupt the process, scans
    /// that did far more work than their input. Each now gets its verdict, none of them safe.
    func testInputsMadeToFoolTheScannerGetTheirVerdict() throws {
        struct Case: Decodable { let file: String; let profile: String; let verdict: String; let why: String }
        let root = directory.appendingPathComponent("bypasses")
        try Python.script("import subprocess, sys; subprocess.run([sys.executable, 'Tests/Fixtures/scan_bypasses.py', sys.argv[1]], check=True)", [root.path])
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: root.appendingPathComponent("manifest.json")))
        XCTAssertGreaterThan(cases.count, 15)
        for item in cases {
            let report = scanner(item.profile).scanFile(atPath: root.appendingPathComponent(item.file).path)
            XCTAssertEqual(report.verdict.rawValue, item.verdict, "\(item.file): \(item.why): \(report.findings.prefix(3).map(\.message))")
            XCTAssertLessThanOrEqual(report.findings.count, 200, "\(item.file): the report stays short")
        }
    }
}
