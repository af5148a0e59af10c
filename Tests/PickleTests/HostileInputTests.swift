import Foundation
import XCTest
@testable import Pickle

/// CPython's own hostile inputs (Lib/test/pickletester.py) and ours: each is rejected with the right kind of
/// error, whatever the chunking, and no input traps or allocates beyond its size.
final class HostileInputTests: XCTestCase {
    /// What CPython's exception maps to in this library.
    static func expectedCode(_ cpython: String) -> PickleError.Code? {
        let table: [(String, PickleError.Code)] = [
            ("EOFError", .endOfInput),
            ("pickle data was truncated", .truncated),
            ("unpickling stack underflow", .stackUnderflow),
            ("unexpected MARK found", .unexpectedMark),
            ("could not find MARK", .missingMark),
            ("Memo value not found", .missingMemoEntry),
            ("invalid load key", .invalidOpcode),
            ("unsupported pickle protocol", .unsupportedProtocol),
            ("UnicodeDecodeError", .decodingFailed),
            ("odd number of items", .invalidArgument),
            ("negative byte count", .invalidArgument),
            ("must be quoted", .invalidArgument),
        ]
        return table.first { cpython.contains($0.0) }?.1
    }

    /// Inputs where this library deliberately differs from CPython 3.11: what we do instead, and why.
    /// `nil` means we load the pickle; a code means we reject it with that code.
    static let deliberateDifferences: [String: (PickleError.Code?, String)] = [
        "negative_32b_binput_00": (nil, "the memo is sparse for far indices: a PUT of 2**32-1 allocates nothing (CPython <= 3.13 raises MemoryError; main accepts, gh-115952)"),
        "own_long_binput_ffffffff": (nil, "same: sparse memo"),
        "bad_newobj_01": (nil, "nothing is imported, so a global cannot be told to be a function rather than a class: NEWOBJ stays inert"),
        "bad_newobj_ex_01": (nil, "same as bad_newobj_01"),
        "own_binstring_negative": (.invalidArgument, "a negative BINSTRING length is rejected as negative, as the pure-Python unpickler and CPython main (gh-135321)"),
        "own_build_nondict_state": (nil, "BUILD on an inert object is recorded, not executed: whether the class has __setstate__ is unknown without importing it"),
        "own_build_empty_dict_on_object": (nil, "same: BUILD is recorded"),
        "own_build_slot_state_not_dict": (nil, "same: BUILD is recorded"),
        "own_global_missing_module": (nil, "globals are inert names; nothing is imported (install a findClass hook to reject)"),
        "own_global_missing_attr": (nil, "same: inert globals"),
        "own_global_crlf": (nil, "same: inert globals keep the name as written"),
        "own_global_dotted_p2": (nil, "same: inert globals"),
        "own_global_builtin_p3": (nil, "same: inert globals"),
        "own_persid_no_loader": (nil, "a persistent id without a persistentLoad hook stays an inert node, so convert passes it through"),
        "own_binpersid_no_loader": (nil, "same: inert persistent ids"),
        "own_ext1_unregistered": (nil, "an unregistered extension code stays an inert node"),
        "own_long4_huge": (.limitExceeded, "a LONG4 declaring more than UnpicklerLimits.maxIntegerBytes (16 MiB) is refused when its header arrives, not after waiting for 2 GB"),
        "own_frame_straddle": (.frameViolation, "frames are strict, as the pure-Python unpickler and CPython >= 3.13.15/3.14.7 (gh-154848)"),
        "own_frame_nested": (.frameViolation, "same: strict frames"),
        "own_frame_truncated": (.frameViolation, "a STOP inside a frame that declares more bytes violates the frame (C 3.11 says truncated: it reads the whole frame first)"),
    ]

    func testEveryDeliberateDifferenceIsAsStated() {
        let byName = Dictionary(uniqueKeysWithValues: HostileCase.all.map { ($0.name, $0) })
        for (name, (code, _)) in Self.deliberateDifferences {
            guard let hostile = byName[name] else { XCTFail("no hostile case \(name)"); continue }
            let outcome = Feeding.outcome(hostile.bytes, chunks: [])
            if let code {
                XCTAssertEqual(outcome.error?.code, code, name)
                XCTAssertTrue(outcome.reprs.isEmpty, name)
            } else {
                XCTAssertEqual(outcome.reprs.count, 1, "\(name): \(String(describing: outcome.error))")
            }
        }
    }

    func testHostileInputsAreRejectedLikeCPython() {
        var mismatches: [String] = []
        var checked = 0
        for hostile in HostileCase.all {
            let bytes = hostile.bytes
            let outcome = Feeding.assertChunkingInvariant(bytes, everyOffsetLimit: 512)
            if bytes.isEmpty {
                // A stream of no pickles is a clean, empty stream; `loads` of nothing is CPython's EOFError.
                XCTAssertTrue(outcome.reprs.isEmpty && outcome.error == nil)
                XCTAssertThrowsError(try Unpickler.loads(bytes)) { XCTAssertEqual(($0 as? PickleError)?.code, .endOfInput) }
                checked += 1
                continue
            }
            let cpythonOK = hostile.cpython_error.hasPrefix("ok:")
            if Self.deliberateDifferences[hostile.name] != nil { continue }
            if cpythonOK {
                // CPython loads it: so must we (at least the first pickle).
                if outcome.reprs.isEmpty { mismatches.append("\(hostile.name): CPython \(hostile.cpython_error.prefix(80)) / we \(outcome.error.map { "\($0)" } ?? "nothing")") }
            } else if outcome.reprs.isEmpty && outcome.error == nil {
                mismatches.append("\(hostile.name): CPython \(hostile.cpython_error) / we accepted")
            } else if outcome.reprs.isEmpty, let code = Self.expectedCode(hostile.cpython_error), let error = outcome.error, error.code != code {
                mismatches.append("\(hostile.name): CPython \(hostile.cpython_error) / we \(error.code): \(error)")
            } else if !outcome.reprs.isEmpty {
                mismatches.append("\(hostile.name): CPython \(hostile.cpython_error) / we loaded \(outcome.reprs.count) pickle(s)")
            }
            checked += 1
        }
        print("hostile inputs checked: \(checked), mismatches: \(mismatches.count)")
        for m in mismatches { print("MISMATCH \(m)") }
        XCTAssertEqual(mismatches, [])
    }
}
