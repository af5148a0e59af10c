import Foundation
import XCTest
@testable import Pickle

/// Conversion never changes which Python code runs: pickles of classes that log every hook CPython's
/// unpickler can call (Tests/Fixtures/recipe_classes.py), written by CPython at every protocol and byte by
/// byte as Python 2 wrote classic instances, are converted here to every protocol and loaded by live CPython
/// beside the original (Tests/Fixtures/recipes.py): the same calls with the same arguments, the same objects.
final class ConversionFidelityTests: XCTestCase {
    private struct Case: Decodable {
        let `case`: String
        let `protocol`: Int
        let refusals: [Int]
        let parse_error: String?
    }

    private static let script = TestPaths.repoRoot.appendingPathComponent("Tests/Fixtures/recipes.py").path

    func testConvertedPicklesMakeCPythonRunTheSameCodeAsTheOriginals() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pickle-recipes-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        defer { try? FileManager.default.removeItem(at: directory) }
        let made = try Python.run([Self.script, "originals", directory.path])
        XCTAssertEqual(made.status, 0, made.stderr)
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: directory.appendingPathComponent("cases.json")))
        XCTAssertGreaterThan(cases.count, 90)

        var converted = 0
        for entry in cases {
            let original = [UInt8](try Data(contentsOf: directory.appendingPathComponent("\(entry.case).pickle")))
            let outcome = Feeding.assertChunkingInvariant(original)
            if let expected = entry.parse_error {
                XCTAssertEqual(outcome.error?.code, PickleError.Code(expected), "\(entry.case): \(String(describing: outcome.error))")
                continue
            }
            XCTAssertNil(outcome.error, "\(entry.case)")
            let graph = try Unpickler.loads(original)
            for version in 0 ... PicklerOptions.highestProtocol {
                let options = PicklerOptions(protocolVersion: version)
                do {
                    let bytes = try Pickler.dumps(graph, options: options)
                    XCTAssertFalse(entry.refusals.contains(version), "\(entry.case) at protocol \(version) must be refused: no opcode says what the original says")
                    // Converting the conversion again at its own protocol changes nothing.
                    XCTAssertEqual(try Pickler.dumps(try Unpickler.loads(bytes), options: options), bytes, "\(entry.case) at protocol \(version) is not a fixed point")
                    try Data(bytes).write(to: directory.appendingPathComponent("\(entry.case).to\(version).pickle"))
                    converted += 1
                } catch let error as PickleError {
                    XCTAssertTrue(entry.refusals.contains(version), "\(entry.case) at protocol \(version): \(error)")
                    XCTAssertEqual(error.code, .unpicklable, "\(entry.case) at protocol \(version)")
                }
            }
        }

        let result = try Python.run([Self.script, "check", directory.path])
        let failures = result.stdout.split(separator: "\n").filter { $0.contains("\"ok\": false") }
        for failure in failures.prefix(20) { print(failure) }
        XCTAssertEqual(result.status, 0, "\(failures.count) of \(converted) conversions ran other code than their originals: \(result.stderr.suffix(2000))")
        XCTAssertEqual(result.stdout.split(separator: "\n").last.map(String.init), "\(converted) passed, 0 failed")
    }

    /// The classic-instance pickles of CPython's own test suite (`test_load_classic_instance`), with the
    /// arguments left out: INST and OBJ must stay INST or OBJ, which let the live class choose between
    /// `cls()` and `cls.__new__(cls)`.
    func testInstanceMadeWithoutArgumentsKeepsItsOpcodeAtEveryProtocol() throws {
        let inst = Array("(irecipe_classes\nInitNeedsArgument\np0\n(dp1\nb.".utf8)
        let graph = try Unpickler.loads(inst)
        for version in 1 ... PicklerOptions.highestProtocol {
            let ops = try opcodeNames(Pickler.dumps(graph, options: PicklerOptions(protocolVersion: version)))
            XCTAssertTrue(ops.contains("OBJ"), "protocol \(version): \(ops)")
            XCTAssertFalse(ops.contains("REDUCE") || ops.contains("NEWOBJ"), "protocol \(version): \(ops)")
        }
        XCTAssertTrue(try opcodeNames(Pickler.dumps(graph, options: PicklerOptions(protocolVersion: 0))).contains("INST"))
    }

    /// `copyreg._reconstructor(cls, object, None)` calls `object.__new__(cls)`; NEWOBJ would call
    /// `cls.__new__(cls)`, so it is written as itself at every protocol.
    func testReconstructorIsWrittenAsItselfAtEveryProtocol() throws {
        let original = try Python.script("import pickle, sys, recipe_classes as r\nsys.stdout.buffer.write(pickle.dumps(r.KeywordOnlyNew(1, flag=True), 0))")
        let graph = try Unpickler.loads([UInt8](original))
        for version in 0 ... PicklerOptions.highestProtocol {
            let text = try disassembly(Pickler.dumps(graph, options: PicklerOptions(protocolVersion: version)))
            XCTAssertTrue(text.contains("_reconstructor"), "protocol \(version): \(text)")
            XCTAssertFalse(text.contains("NEWOBJ"), "protocol \(version): \(text)")
        }
    }

    /// A dotted name read below protocol 4 is one attribute name; read at protocol 4, an attribute path.
    func testDottedGlobalNamesKeepTheirMeaningOrAreRefused() throws {
        let literal = try Unpickler.loads(Array("crecipe_classes\nOuter.Inner\n.".utf8))
        XCTAssertEqual(try Pickler.dumps(literal, options: PicklerOptions(protocolVersion: 0)), Array("crecipe_classes\nOuter.Inner\np0\n.".utf8))
        for version in 4 ... 5 {
            XCTAssertThrowsError(try Pickler.dumps(literal, options: PicklerOptions(protocolVersion: version))) { error in
                XCTAssertEqual((error as? PickleError)?.code, .unpicklable)
                XCTAssertTrue("\(error)".contains("one attribute name"), "\(error)")
            }
        }
        let path = try Unpickler.loads([0x80, 0x04] + Array("crecipe_classes\nOuter.Inner\n.".utf8))
        let low = try disassembly(Pickler.dumps(path, options: PicklerOptions(protocolVersion: 2)))
        XCTAssertTrue(low.contains("getattr"), low)
    }

    /// STACK_GLOBAL takes any string as a name, but a text GLOBAL or INST line ends at the first newline and
    /// needs something on it: such a name (or an empty one) is refused below protocol 4, saying so, rather
    /// than written as a line that reads back as another.
    func testGlobalNameWithANewlineIsRefusedBelowProtocol4() throws {
        for name in ["a\nb", "a\r\nb", "\n", ""] {
            for header: [UInt8] in [[], [0x80, 0x04]] {
                let bytes = header + [0x8C, 0x01, UInt8(ascii: "m"), 0x8C, UInt8(name.utf8.count)] + Array(name.utf8) + [0x93, 0x2E]
                let graph = try Unpickler.loads(bytes)
                for version in 0 ... 3 {
                    XCTAssertThrowsError(try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: version)), "\(name.debugDescription) at \(version)") { error in
                        XCTAssertEqual((error as? PickleError)?.code, .unpicklable)
                        XCTAssertTrue("\(error)".contains("without newlines"), "\(error)")
                    }
                }
                for version in 4 ... 5 where !header.isEmpty {
                    let reloaded = try Unpickler.loads(Pickler.dumps(graph, options: PicklerOptions(protocolVersion: version)))
                    XCTAssertEqual(reloaded.root.description, graph.root.description)
                }
            }
        }
    }

    /// Dots are found byte by byte, as the reader finds them: a "." followed by a combining mark is one
    /// Character in Swift but still an attribute step for CPython.
    func testADotBeforeACombiningMarkIsStillAnAttributeStep() throws {
        let name = "Outer.\u{301}Inner"
        let bytes: [UInt8] = [0x80, 0x04, 0x8C, 0x01, UInt8(ascii: "m"), 0x8C, UInt8(name.utf8.count)] + Array(name.utf8) + [0x93, 0x2E]
        let graph = try Unpickler.loads(bytes)
        let low = try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: 3))
        let text = try disassembly(low)
        XCTAssertTrue(text.contains("getattr"), text)
        XCTAssertTrue(text.contains("GLOBAL     'm Outer'"), text)
    }

    func testEmptyModuleNameIsRefusedAsCPythonRefusesIt() throws {
        let bytes: [UInt8] = [0x80, 0x04, 0x8C, 0x00, 0x8C, 0x05] + Array("Outer".utf8) + [0x93, 0x2E]
        let outcome = Feeding.assertChunkingInvariant(bytes)
        XCTAssertEqual(outcome.error?.code, .invalidArgument)
        XCTAssertEqual(outcome.errorOffset, 11)
        XCTAssertTrue(outcome.error.map { "\($0)".contains("Empty module name") } ?? false)
        // A findClass hook may still accept it, as a custom find_class can in CPython.
        let hooks = UnpicklerHooks(findClass: { _ in .string("found") })
        XCTAssertEqual(try Unpickler.loads(bytes, hooks: hooks).root.string, "found")
    }

    private func disassembly(_ bytes: [UInt8]) throws -> String {
        var disassembler = Disassembler()
        return bytes.withUnsafeBytes { disassembler.disassemble($0, from: 0).text }
    }

    private func opcodeNames(_ bytes: [UInt8]) throws -> [String] {
        try disassembly(bytes).split(separator: "\n").compactMap { line in
            line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first.map(String.init)
        }
    }
}
