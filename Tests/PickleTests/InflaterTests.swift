import Foundation
import XCTest
@testable import Pickle

/// Raw DEFLATE streams made by CPython's zlib at test time, inflated and compared with their input, and
/// streams that lie, each a clear error.
final class InflaterTests: XCTestCase {
    private func inflate(_ bytes: [UInt8], statedCount: Int) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try Inflater.inflate($0, statedCount: statedCount) }
    }

    /// Pieces of `(original, deflated)` from zlib, one pair per case.
    private func zlibCases() throws -> [(original: [UInt8], deflated: [UInt8])] {
        let script = """
        import os, random, sys, zlib
        out = sys.stdout.buffer
        def piece(b): out.write(len(b).to_bytes(8, 'little') + b)
        rng = random.Random(7)
        text = b' '.join(rng.choice([b'pickle', b'stream', b'numpy', b'tensor', b'frame', b'memo']) for _ in range(60000))
        originals = [b'', b'a', bytes(100000), os.urandom(70000), text, bytes(range(256)) * 300,
                     bytes(rng.getrandbits(3) for _ in range(50000))]
        for data in originals:
            for level, strategy in [(0, zlib.Z_DEFAULT_STRATEGY), (1, zlib.Z_DEFAULT_STRATEGY), (6, zlib.Z_DEFAULT_STRATEGY),
                                    (9, zlib.Z_DEFAULT_STRATEGY), (6, zlib.Z_FIXED), (6, zlib.Z_HUFFMAN_ONLY), (6, zlib.Z_RLE)]:
                c = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
                piece(data); piece(c.compress(data) + c.flush())
            # Many small blocks: a full flush after every few hundred bytes.
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            parts = [c.compress(data[k:k + 300]) + c.flush(zlib.Z_FULL_FLUSH) for k in range(0, len(data), 300)]
            piece(data); piece(b''.join(parts) + c.flush())
        small = text[:3000]
        piece(small); piece(zlib.compress(small, 6)[2:-4])
        """
        let pieces = Python.lengthPrefixedPieces(try Python.script(script))
        XCTAssertEqual(pieces.count, (7 * 8 + 1) * 2)
        return stride(from: 0, to: pieces.count, by: 2).map { (pieces[$0], pieces[$0 + 1]) }
    }

    func testZlibStreamsOfEveryLevelAndStrategyInflateToTheirInput() throws {
        for (index, (original, deflated)) in try zlibCases().enumerated() {
            XCTAssertEqual(try inflate(deflated, statedCount: original.count), original, "case \(index)")
        }
    }

    /// CRC-32 eight bytes a step agrees with zlib's at every length around the step and on long inputs.
    func testCRC32AgreesWithZlib() throws {
        let lengths = Array(0 ... 17) + [255, 4096, 100_003]
        let pieces = Python.lengthPrefixedPieces(try Python.script("""
        import sys, zlib
        def piece(b): sys.stdout.buffer.write(len(b).to_bytes(8, 'little') + b)
        data = bytes((i * 2654435761 >> 13) & 255 for i in range(100003))
        piece(data)
        piece(' '.join(str(zlib.crc32(data[:n])) for n in [\(lengths.map(String.init).joined(separator: ", "))]).encode())
        """))
        XCTAssertEqual(pieces.count, 2)
        let data = pieces[0]
        let expected = String(decoding: pieces[1], as: UTF8.self).split(separator: " ").compactMap { UInt32($0) }
        XCTAssertEqual(expected.count, lengths.count)
        for (length, crc) in zip(lengths, expected) {
            XCTAssertEqual(data.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[..<length])) }, crc, "length \(length)")
        }
    }

    func testStreamsThatLieAreErrorsNamingTheProblem() throws {
        let cases = try zlibCases()
        let (original, deflated) = cases[cases.count - 1]  // 3,000 bytes of text at level 6: a dynamic block
        for (count, reason) in [(original.count - 1, "inflates past the"), (original.count + 1, "the archive says")] {
            XCTAssertThrowsError(try inflate(deflated, statedCount: count)) { XCTAssertTrue("\($0)".contains(reason), "\($0) should say \(reason)") }
        }
        // Cut anywhere: an error, never a trap or a read past the end.
        for cut in 0 ..< deflated.count {
            XCTAssertThrowsError(try inflate(Array(deflated[..<cut]), statedCount: original.count), "cut at \(cut)")
        }
        // Flipped bits: an error or some other output, never a trap or more than the stated size.
        var random = SystemRandomNumberGenerator()
        for _ in 0 ..< 300 {
            var damaged = deflated
            let position = Int.random(in: 0 ..< damaged.count, using: &random)
            damaged[position] ^= UInt8(1 << Int.random(in: 0 ..< 8, using: &random))
            if let output = try? inflate(damaged, statedCount: original.count) { XCTAssertEqual(output.count, original.count) }
        }
        let hostile: [([UInt8], String)] = [
            ([0b0000_0111], "reserved type 3"),                                  // final block of type 3
            ([0x01, 0x05, 0x00, 0xFF, 0xFF], "does not match its complement"),  // stored, LEN 5, NLEN 0xFFFF
            ([0x01, 0x05, 0x00, 0xFA, 0xFF, 0x41], "runs past the data"),        // stored, 5 bytes promised, 1 given
            ([0x03, 0x02], "before the start"),                                  // fixed: a match with nothing before it
            ([0x05, 0xE0, 0x93, 0x24, 0x49, 0x92, 0x24, 0x49, 0x92, 0x00], "over-subscribe"),  // dynamic: 19 code length codes of length 1
        ]
        for (bytes, reason) in hostile {
            XCTAssertThrowsError(try inflate(bytes, statedCount: 10)) { XCTAssertTrue("\($0)".contains(reason), "\($0) should say \(reason)") }
        }
    }

    /// A prefix inflates to the start of the data, decoding no further: the rest may be cut off or damaged.
    func testAPrefixDecodesNoFurtherThanAsked() throws {
        for (index, (original, deflated)) in try zlibCases().enumerated() {
            for count in [0, 1, 12, 1000, original.count, original.count + 5] {
                let prefix = try deflated.withUnsafeBytes { try Inflater.inflatePrefix($0, count: count, statedCount: original.count) }
                XCTAssertEqual(prefix, Array(original.prefix(count)), "case \(index), \(count) bytes")
            }
        }
        // 100,000 zero bytes at level 0: stored blocks of 65,535 bytes. Cut in the second block, the data is
        // damaged as a whole, yet its first bytes read.
        let (original, stored) = try zlibCases()[2 * 8]  // the third input, at level 0
        XCTAssertEqual(original.count, 100_000)
        let cut = Array(stored[..<70_000])
        XCTAssertThrowsError(try cut.withUnsafeBytes { try Inflater.inflate($0, statedCount: original.count) })
        XCTAssertEqual(try cut.withUnsafeBytes { try Inflater.inflatePrefix($0, count: 12, statedCount: original.count) }, Array(repeating: 0, count: 12))
    }
}
