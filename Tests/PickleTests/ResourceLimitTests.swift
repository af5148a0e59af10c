import Foundation
import XCTest
@testable import Pickle

/// The resource limits of ``UnpicklerLimits`` and the attacks they stop: each hostile input is refused with
/// `limitExceeded` at the offending opcode, whatever the chunking, while the legitimate extremes next to it
/// (a 100,000-deep list, shared objects, large payloads) still load.
final class ResourceLimitTests: XCTestCase {
    private let proto2: [UInt8] = [0x80, 0x02]
    private let proto4: [UInt8] = [0x80, 0x04]

    private func limited(_ change: (inout UnpicklerLimits) -> Void) -> UnpicklerOptions {
        var options = UnpicklerOptions()
        change(&options.limits)
        return options
    }

    /// Nested lists, `depth` deep, as EMPTY_LIST ... APPEND.
    private func nestedLists(_ depth: Int) -> [UInt8] {
        proto2 + [UInt8](repeating: Opcode.emptyList.rawValue, count: depth)
            + [UInt8](repeating: Opcode.append.rawValue, count: depth - 1) + [Opcode.stop.rawValue]
    }

    /// Nested tuples `((((),),),)`, `depth` deep, one TUPLE1 per level.
    private func nestedTuples(_ depth: Int) -> [UInt8] {
        proto2 + [Opcode.emptyTuple.rawValue] + [UInt8](repeating: Opcode.tuple1.rawValue, count: depth - 1) + [Opcode.stop.rawValue]
    }

    /// Nested dicts `{0: {0: ...}}`, `depth` deep: every dict and key pushed first, then one SETITEM per level.
    private func nestedDicts(_ depth: Int) -> [UInt8] {
        var data = proto2 + [Opcode.emptyDict.rawValue]
        for _ in 1 ..< depth { data += [Opcode.binInt1.rawValue, 0, Opcode.emptyDict.rawValue] }
        return data + [UInt8](repeating: Opcode.setItem.rawValue, count: depth - 1) + [Opcode.stop.rawValue]
    }

    private func assertLimit(_ outcome: FeedOutcome, at offset: Int, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(outcome.error?.code, .limitExceeded, "\(message): \(String(describing: outcome.error))", file: file, line: line)
        XCTAssertEqual(outcome.errorOffset, offset, message, file: file, line: line)
        XCTAssertTrue(outcome.reprs.isEmpty, message, file: file, line: line)
    }

    // MARK: - Nesting

    func testHundredThousandDeepListLoadsByDefaultAsInCPython() throws {
        let data = nestedLists(100_000)
        let outcome = Feeding.assertChunkingInvariant(data)
        XCTAssertNil(outcome.error)
        XCTAssertEqual(outcome.reprs.count, 1)
        let graph = try Unpickler.loads(data)
        XCTAssertEqual(graph.root.description.count, 200_000)
        let (status, out, err) = try Python.run(["-c", "import pickle, sys\nx = pickle.loads(sys.stdin.buffer.read())\nd = 0\nwhile x:\n    x = x[0]; d += 1\nprint(d)"], stdin: data)
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(out, "99999\n")
    }

    func testMillionDeepTuplesListsAndDictsAreStoppedAtTheirStop() {
        let depth = 1_000_000
        for (name, data) in [("tuples", nestedTuples(depth)), ("lists", nestedLists(depth)), ("dicts", nestedDicts(depth))] {
            let whole = Feeding.outcome(data, chunks: [])
            assertLimit(whole, at: data.count - 1, name)
            XCTAssertTrue(whole.error?.message.contains("maxNestingDepth") ?? false, name)
            XCTAssertEqual(Feeding.outcome(data, chunks: Array(0 ..< data.count)), whole, name)
            XCTAssertEqual(Feeding.outcome(data, chunks: [data.count / 2]), whole, name)
        }
        // Just over the limit is refused at every split; just under loads.
        let options = limited { $0.maxNestingDepth = 300 }
        assertLimit(Feeding.assertChunkingInvariant(nestedTuples(301), options: options), at: nestedTuples(301).count - 1, "301 tuples")
        XCTAssertNil(Feeding.assertChunkingInvariant(nestedTuples(300), options: options).error)
        XCTAssertNil(Feeding.assertChunkingInvariant(nestedDicts(300), options: options).error)
        assertLimit(Feeding.assertChunkingInvariant(nestedDicts(301), options: options), at: nestedDicts(301).count - 1, "301 dicts")
    }

    func testNestingBuiltAfterTheFactIsMeasuredToo() {
        // Lists created first and appended into each other afterwards, innermost link last: the depth only
        // exists once the pickle is complete.
        let depth = 400
        var data = proto2
        for i in 0 ..< depth { data += [Opcode.emptyList.rawValue, Opcode.longBinPut.rawValue] + le32(i) + [Opcode.pop.rawValue] }
        for i in 0 ..< depth - 1 {
            data += [Opcode.longBinGet.rawValue] + le32(i) + [Opcode.longBinGet.rawValue] + le32(i + 1) + [Opcode.append.rawValue, Opcode.pop.rawValue]
        }
        data += [Opcode.longBinGet.rawValue] + le32(0) + [Opcode.stop.rawValue]
        let options = limited { $0.maxNestingDepth = depth - 1 }
        assertLimit(Feeding.assertChunkingInvariant(data, options: options), at: data.count - 1)
        XCTAssertNil(Feeding.outcome(data, chunks: [], options: limited { $0.maxNestingDepth = depth }).error)
    }

    func testCyclesCountOnceTowardsNesting() throws {
        let data = try [UInt8](Python.script("import pickle, sys\nl = []\nfor _ in range(5): l = [l, l]\nl.append(l)\nsys.stdout.buffer.write(pickle.dumps(l, 2))"))
        XCTAssertNil(Feeding.outcome(data, chunks: [], options: limited { $0.maxNestingDepth = 6 }).error)
        XCTAssertEqual(Feeding.outcome(data, chunks: [], options: limited { $0.maxNestingDepth = 5 }).error?.code, .limitExceeded)
    }

    /// The backward sweep serves graphs whose containers come before their container children; it must give
    /// the depth the depth-first walk gives, and decline (nil) every other graph. Checked on every CPython
    /// fixture, deep lists, and shapes built by hand through the memo.
    func testTheSweepAndTheWalkMeasureTheSameDepth() throws {
        var lateLinks = proto2  // lists linked after the fact, innermost link last (children come later)
        for i in 0 ..< 50 { lateLinks += [Opcode.emptyList.rawValue, Opcode.longBinPut.rawValue] + le32(i) + [Opcode.pop.rawValue] }
        for i in 0 ..< 49 {
            lateLinks += [Opcode.longBinGet.rawValue] + le32(i) + [Opcode.longBinGet.rawValue] + le32(i + 1) + [Opcode.append.rawValue, Opcode.pop.rawValue]
        }
        lateLinks += [Opcode.longBinGet.rawValue] + le32(0) + [Opcode.stop.rawValue]
        var earlyLinks = proto2  // each list appended into the one made after it (children come earlier)
        earlyLinks += [Opcode.emptyList.rawValue, Opcode.longBinPut.rawValue] + le32(0) + [Opcode.pop.rawValue]
        for i in 1 ..< 50 {
            earlyLinks += [Opcode.emptyList.rawValue, Opcode.longBinGet.rawValue] + le32(i - 1) + [Opcode.append.rawValue, Opcode.longBinPut.rawValue] + le32(i) + [Opcode.pop.rawValue]
        }
        earlyLinks += [Opcode.longBinGet.rawValue] + le32(49) + [Opcode.stop.rawValue]
        let inputs = Fixture.all.map(\.bytes) + [nestedLists(3000), nestedDicts(3000), nestedTuples(3000), lateLinks, earlyLinks]
        var swept = 0, walked = 0
        for bytes in inputs {
            guard let graph = try? Unpickler.loads(bytes) else { continue }
            let root = graph.root.ref
            let walk = graph.t.nestingDepthByWalk(from: root, stoppingAbove: .max)
            if let sweep = graph.t.nestingDepthBySweep(from: root, cappedAt: 1 << 30) {
                XCTAssertEqual(sweep, walk, graph.root.description)
                swept += 1
            } else {
                walked += 1
            }
            // Capped: the sweep reports at most the cap, and the cap exactly when the depth passes it.
            if walk > 1, let capped = graph.t.nestingDepthBySweep(from: root, cappedAt: walk - 1) {
                XCTAssertEqual(capped, walk)
            }
        }
        XCTAssertEqual(try Unpickler.loads(lateLinks).t.nestingDepthBySweep(from: Unpickler.loads(lateLinks).root.ref, cappedAt: 100), 50)
        XCTAssertNil(try Unpickler.loads(earlyLinks).t.nestingDepthBySweep(from: Unpickler.loads(earlyLinks).root.ref, cappedAt: 100))
        XCTAssertEqual(try Unpickler.loads(earlyLinks).t.nestingDepthByWalk(from: Unpickler.loads(earlyLinks).root.ref, stoppingAbove: 100), 50)
        XCTAssertGreaterThan(swept, 100)
        XCTAssertGreaterThan(walked, 20)
    }

    func testTenMillionMarksAreStoppedAtTheFirstOverTheLimit() {
        let data = proto2 + [UInt8](repeating: Opcode.mark.rawValue, count: 10_000_000)
        let whole = Feeding.outcome(data, chunks: [])
        assertLimit(whole, at: 2 + UnpicklerLimits().maxNestingDepth)
        XCTAssertEqual(Feeding.outcome(data, chunks: Array(stride(from: 0, to: 400_000, by: 1)) + [5_000_000]), whole)
    }

    // MARK: - Sizes

    func testHugeDeclarationsSplitAnywhereAllocateNothing() {
        // 2^40 - 1 bytes declared, within maxPayloadBytes: the header arrives a byte at a time and the parser
        // must wait for the bytes without reserving the declared size.
        let header: [UInt8] = [Opcode.binBytes8.rawValue, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0]
        let data = proto4 + header + [UInt8](repeating: 7, count: 1000)
        var parser = PickleParser()
        var out: [PickleGraph] = []
        for b in data { XCTAssertNoThrow(try parser.feed([b], into: &out)) }
        XCTAssertThrowsError(try parser.finish()) { XCTAssertEqual(($0 as? PickleError)?.code, .truncated) }
        for split in 3 ..< 12 {
            let outcome = Feeding.outcome(data, chunks: [split, 12, 500])
            XCTAssertEqual(outcome.error?.code, .truncated)
        }
    }

    func testGigabyteLongIsRefusedAndLargeLongsLoad() {
        let gigabyte = 1 << 30
        let data = proto2 + [Opcode.long4.rawValue] + le32(gigabyte) + [0x01, 0x02, Opcode.stop.rawValue]
        let outcome = Feeding.assertChunkingInvariant(data)
        assertLimit(outcome, at: 2)
        XCTAssertTrue(outcome.error?.message.contains("maxIntegerBytes") ?? false)
        // A present LONG4 over a configured limit, and one under it.
        let body = [UInt8](repeating: 0x5A, count: 5000)
        let long = proto2 + [Opcode.long4.rawValue] + le32(body.count) + body + [Opcode.stop.rawValue]
        assertLimit(Feeding.outcome(long, chunks: [], options: limited { $0.maxIntegerBytes = 4999 }), at: 2)
        XCTAssertNil(Feeding.assertChunkingInvariant(long).error)
    }

    func testDecodedSizeLimitCountsPayloadsAndValues() {
        let payload = proto4 + [Opcode.binBytes8.rawValue] + le64(3_000_000) + [UInt8](repeating: 1, count: 3_000_000) + [Opcode.stop.rawValue]
        let options = limited { $0.maxDecodedBytes = 2_000_000 }
        let outcome = Feeding.outcome(payload, chunks: [], options: options)
        assertLimit(outcome, at: 2)
        XCTAssertTrue(outcome.error?.message.contains("maxDecodedBytes") ?? false)
        XCTAssertEqual(Feeding.outcome(payload, chunks: Array(stride(from: 0, to: payload.count, by: 65_536)), options: options), outcome)
        // DUP fan-out: one object pushed a million times.
        let dups = proto2 + [Opcode.mark.rawValue, Opcode.none.rawValue] + [UInt8](repeating: Opcode.dup.rawValue, count: 1_000_000)
            + [Opcode.tuple.rawValue, Opcode.stop.rawValue]
        let dupOutcome = Feeding.outcome(dups, chunks: [], options: limited { $0.maxDecodedBytes = 16 * 100_000 })
        assertLimit(dupOutcome, at: 3 + 100_000)
        // Per pickle: each of many pickles under the limit loads.
        let small = [UInt8](repeating: 0, count: 0) + proto2 + [Opcode.binBytes.rawValue] + le32(1_500_000) + [UInt8](repeating: 2, count: 1_500_000) + [Opcode.stop.rawValue]
        let three = small + small + small
        let run = Feeding.outcome(three, chunks: [], options: options)
        XCTAssertNil(run.error)
        XCTAssertEqual(run.reprs.count, 3)
    }

    func testSessionCopiesOfALargeEarlierObjectCountTowardsTheLimit() throws {
        // One pickle memoizes a 100,000-item list; every later pickle is a 5-byte GET of it. Each copies the
        // list into its own graph, and the session keeps every graph: the copies are what the limit counts.
        var first = proto2 + [Opcode.emptyList.rawValue, Opcode.binPut.rawValue, 0, Opcode.mark.rawValue]
        first += [UInt8](repeating: Opcode.none.rawValue, count: 100_000) + [Opcode.appends.rawValue, Opcode.stop.rawValue]
        let repeatGet = [Opcode.binGet.rawValue, 0, Opcode.stop.rawValue]
        let stream = first + Array([[UInt8]](repeating: repeatGet, count: 1000).joined())
        var options = limited { $0.maxDecodedBytes = 50_000_000 }
        options.memoMode = .session
        let outcome = Feeding.outcome(stream, chunks: [], options: options)
        XCTAssertEqual(outcome.error?.code, .limitExceeded)
        XCTAssertTrue(outcome.error?.message.contains("the stream") ?? false)
        let delivered = outcome.reprs.count
        XCTAssertGreaterThan(delivered, 10)
        XCTAssertLessThan(delivered, 40)
        XCTAssertEqual(outcome.errorOffset, first.count + (delivered - 1) * 3)
    }

    func testFarApartMemoIndexesCannotInflateTheMemo() {
        var memo = Memo(tracksGenerations: false)
        for k in 0 ..< 10_000 { memo.put(k * 4097, .none, generation: 0) }
        XCTAssertEqual(memo.count, 10_000)
        XCTAssertLessThan(memo.denseSlotCount, 2 * 10_000 + 2 * Memo.maxDenseGap)
        for k in 0 ..< 10_000 { XCTAssertNotNil(memo.get(k * 4097)) }
        // Through the parser: PUTs of a value at indexes 4097 apart, then a GET of each.
        var data = proto2 + [Opcode.none.rawValue]
        for k in 0 ..< 2000 { data += [Opcode.longBinPut.rawValue] + le32(k * 4097) }
        data += [Opcode.pop.rawValue, Opcode.mark.rawValue]
        for k in 0 ..< 2000 { data += [Opcode.longBinGet.rawValue] + le32(k * 4097) }
        data += [Opcode.tuple.rawValue, Opcode.stop.rawValue]
        let outcome = Feeding.assertChunkingInvariant(data, everyOffsetLimit: 0)
        XCTAssertNil(outcome.error)
    }

    // MARK: - Memo fan-out

    func testMemoFanOutStaysLinearEverywhere() throws {
        // 100 levels of [x, x] built with memo GETs: 2^100 values if expanded.
        var data = proto2 + [Opcode.emptyList.rawValue, Opcode.binPut.rawValue, 0, Opcode.pop.rawValue]
        for k in 1 ... 100 {
            data += [Opcode.emptyList.rawValue, Opcode.binPut.rawValue, UInt8(k), Opcode.mark.rawValue,
                     Opcode.binGet.rawValue, UInt8(k - 1), Opcode.binGet.rawValue, UInt8(k - 1), Opcode.appends.rawValue, Opcode.pop.rawValue]
        }
        data += [Opcode.binGet.rawValue, 100, Opcode.stop.rawValue]
        let outcome = Feeding.assertChunkingInvariant(data)
        XCTAssertNil(outcome.error)
        let graph = try Unpickler.loads(data)
        let started = Date()
        let text = graph.root.description
        XCTAssertTrue(text.contains("<stopped: shared objects expand past"), String(text.suffix(100)))
        XCTAssertLessThan(text.count, 1_000_000)
        XCTAssertThrowsError(try graph.root.value()) { XCTAssertEqual(($0 as? PickleError)?.code, .limitExceeded) }
        // Re-pickling keeps the sharing: linear output, and CPython reads it as the same shape.
        let again = try Pickler.dumps(graph, options: PicklerOptions(protocolVersion: 4))
        XCTAssertLessThan(again.count, 2000)
        let (status, out, err) = try Python.run(["-c", "import pickle, sys\nx = pickle.loads(sys.stdin.buffer.read())\nd = 0\nwhile x:\n    assert x[0] is x[1]; x = x[0]; d += 1\nprint(d)"], stdin: again)
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(out, "100\n")
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
    }

    func testSharedTupleKeysHashAndCompareInLinearTime() throws {
        // Two separately built tuple fan-outs, 2^60 leaves each, as keys of one dict: equal, so one key.
        // CPython itself would never finish hashing them (tuple hashes are not cached).
        func tupleFanOut() -> [UInt8] {
            var data = [Opcode.emptyTuple.rawValue]
            for _ in 0 ..< 60 { data += [Opcode.dup.rawValue, Opcode.tuple2.rawValue] }
            return data
        }
        let data = proto2 + [Opcode.emptyDict.rawValue, Opcode.mark.rawValue] + tupleFanOut() + [Opcode.binInt1.rawValue, 1]
            + tupleFanOut() + [Opcode.binInt1.rawValue, 2, Opcode.setItems.rawValue, Opcode.stop.rawValue]
        let outcome = Feeding.assertChunkingInvariant(data)
        XCTAssertNil(outcome.error)
        let graph = try Unpickler.loads(data)
        XCTAssertEqual(graph.root.count, 1)
        XCTAssertEqual(graph.root.dictionaryItems?.first?.value.description, "2")
    }

    func testDeepFrozensetKeysCompareWithoutRecursion() throws {
        // Two equal frozensets nested 150,000 deep as keys of one dict.
        let depth = 150_000
        func nested() -> [UInt8] {
            [UInt8](repeating: Opcode.mark.rawValue, count: depth) + [UInt8](repeating: Opcode.frozenSet.rawValue, count: depth)
        }
        let data = proto4 + [Opcode.emptyDict.rawValue, Opcode.mark.rawValue] + nested() + [Opcode.binInt1.rawValue, 1]
            + nested() + [Opcode.binInt1.rawValue, 2, Opcode.setItems.rawValue, Opcode.stop.rawValue]
        let graph = try Unpickler.loads(data)
        XCTAssertEqual(graph.root.count, 1)
        let byteByByte = Feeding.outcome(data, chunks: Array(0 ..< data.count))
        XCTAssertNil(byteByByte.error)
    }

    func testLargeOrderedDictPrintsInLinearTime() throws {
        let data = try [UInt8](Python.script("import pickle, sys, collections\nd = collections.OrderedDict((i, i) for i in range(200000))\nsys.stdout.buffer.write(pickle.dumps(d, 2))"))
        let graph = try Unpickler.loads(data)
        let started = Date()
        let text = graph.root.description
        XCTAssertTrue(text.hasPrefix("OrderedDict([(0, 0), (1, 1)"))
        XCTAssertLessThan(Date().timeIntervalSince(started), 20)
    }

    private func le32(_ v: Int) -> [UInt8] { (0 ..< 4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    private func le64(_ v: Int) -> [UInt8] { (0 ..< 8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
