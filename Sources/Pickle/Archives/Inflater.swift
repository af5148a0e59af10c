/// Raw DEFLATE decompression (RFC 1951), for zip entries stored with method 8 (`numpy.savez_compressed`).
///
/// The output never grows past the size the archive states for the entry, nor past a caller's limit: the
/// stated size is checked as the bytes come, so a lying entry costs at most the bytes it really inflates
/// to. Every malformed stream (a code that is not in its table, a distance before the start, lengths that
/// over-subscribe a code, data that ends early) is an ``ArchiveError/invalid(_:offset:)`` naming the byte
/// offset in the compressed data.
struct Inflater {
    private let input: UnsafeRawBufferPointer
    /// The next input byte to load into `bits`.
    private var position = 0
    /// Loaded input bits, the next one lowest.
    private var bits: UInt64 = 0
    private var bitCount = 0
    private var output: [UInt8]
    private var produced = 0
    private let statedCount: Int
    /// Decoding stops once this many bytes are out, when only the start of an entry is wanted; `Int.max`
    /// when the whole entry is, which is then checked to its end.
    private let stopCount: Int
    /// Where in the file the compressed data starts, for error offsets.
    private let fileOffset: Int

    /// Inflates `input`, which must inflate to exactly `statedCount` bytes.
    /// - Parameter fileOffset: where `input` starts in its file, added to the offsets errors name.
    static func inflate(_ input: UnsafeRawBufferPointer, statedCount: Int, fileOffset: Int = 0) throws -> [UInt8] {
        var inflater = Inflater(input: input, statedCount: statedCount, wantedCount: statedCount, fileOffset: fileOffset)
        try inflater.run()
        return inflater.output
    }

    /// The first `count` bytes (or fewer, when the data is shorter) that `input` inflates to, decoding no
    /// further than needed; the rest of the data is not checked.
    static func inflatePrefix(_ input: UnsafeRawBufferPointer, count: Int, statedCount: Int, fileOffset: Int = 0) throws -> [UInt8] {
        var inflater = Inflater(input: input, statedCount: statedCount, wantedCount: min(count, statedCount), fileOffset: fileOffset)
        try inflater.run()
        return inflater.output
    }

    private init(input: UnsafeRawBufferPointer, statedCount: Int, wantedCount: Int, fileOffset: Int) {
        self.input = input
        self.statedCount = statedCount
        stopCount = wantedCount < statedCount ? wantedCount : Int.max
        self.fileOffset = fileOffset
        // Room for what the input could plausibly hold, grown as it proves to hold more.
        output = [UInt8](repeating: 0, count: min(wantedCount, max(1 << 16, 4 * input.count)))
    }

    private func failure(_ reason: String) -> ArchiveError {
        .invalid("deflated data: \(reason)", offset: fileOffset + max(0, position - bitCount / 8))
    }

    private mutating func run() throws {
        var isLast = false
        while !isLast && produced < stopCount {
            isLast = try take(1) == 1
            switch try take(2) {
            case 0: try storedBlock()
            case 1: try codedBlock(Self.fixedTables.literals, Self.fixedTables.distances)
            case 2:
                let (literals, distances) = try dynamicTables()
                try codedBlock(literals, distances)
            default: throw failure("a block of the reserved type 3")
            }
        }
        if produced >= stopCount {
            output.removeSubrange(stopCount...)
            return
        }
        guard produced == statedCount else { throw failure("inflates to \(produced) bytes; the archive says \(statedCount)") }
        output.removeSubrange(produced...)
    }

    // MARK: - Bits

    @inline(__always)
    private mutating func refill() {
        guard bitCount <= 56 else { return }
        if input.count - position >= 8 {
            // Eight bytes at once, keeping the whole ones that fit above the bits still loaded.
            let word = UInt64(littleEndian: input.loadUnaligned(fromByteOffset: position, as: UInt64.self))
            let added = (63 - bitCount) >> 3
            bits |= word << bitCount
            position += added
            bitCount += 8 * added
            bits &= (1 << bitCount) &- 1
            return
        }
        while bitCount <= 56, position < input.count {
            bits |= UInt64(input[position]) << bitCount
            position += 1
            bitCount += 8
        }
    }

    /// The next `count` bits (at most 16), lowest first.
    @inline(__always)
    private mutating func take(_ count: Int) throws -> Int {
        if bitCount < count {
            refill()
            guard bitCount >= count else { throw failure("the data ends inside a block") }
        }
        let value = Int(bits & ((1 << count) - 1))
        bits >>= count
        bitCount -= count
        return value
    }

    // MARK: - Blocks

    private mutating func storedBlock() throws {
        // To the next byte boundary, then back to reading bytes directly.
        _ = try take(bitCount % 8)
        position -= bitCount / 8
        bits = 0
        bitCount = 0
        guard input.count - position >= 4 else { throw failure("the data ends inside a stored block's header") }
        let length = Int(input[position]) | Int(input[position + 1]) << 8
        let complement = Int(input[position + 2]) | Int(input[position + 3]) << 8
        guard length == ~complement & 0xFFFF else { throw failure("a stored block's length \(length) does not match its complement") }
        position += 4
        guard input.count - position >= length else { throw failure("a stored block of \(length) bytes runs past the data") }
        try reserve(length)
        if length > 0 {
            let (source, start) = (input.baseAddress! + position, produced)
            output.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: start).copyMemory(from: source, byteCount: length) }
        }
        produced += length
        position += length
    }

    private mutating func codedBlock(_ literals: HuffmanTable, _ distances: HuffmanTable) throws {
        while produced < stopCount {
            let symbol = try decode(literals)
            if symbol < 256 {
                try reserve(1)
                output[produced] = UInt8(symbol)
                produced += 1
                continue
            }
            if symbol == 256 { return }
            let lengthIndex = symbol - 257
            guard lengthIndex < 29 else { throw failure("length code \(symbol) is not in DEFLATE") }
            let length = Self.lengthBase[lengthIndex] + (try take(Self.lengthExtra[lengthIndex]))
            let distanceSymbol = try decode(distances)
            guard distanceSymbol < 30 else { throw failure("distance code \(distanceSymbol) is not in DEFLATE") }
            let distance = Self.distanceBase[distanceSymbol] + (try take(Self.distanceExtra[distanceSymbol]))
            guard distance <= produced else { throw failure("a match \(distance) bytes back, before the start of the data") }
            try reserve(length)
            let (start, from) = (produced, produced - distance)
            output.withUnsafeMutableBufferPointer { bytes in
                // Checked above: from + distance == start, start + length <= bytes.count.
                let base = bytes.baseAddress!
                if distance >= length {
                    (base + start).update(from: base + from, count: length)
                } else {
                    // The match overlaps what it writes: byte by byte, repeating the last `distance` bytes.
                    for k in 0 ..< length { base[start + k] = base[from + k] }
                }
            }
            produced += length
        }
    }

    /// Room for `count` more bytes, within the stated size.
    private mutating func reserve(_ count: Int) throws {
        guard count <= statedCount - produced else { throw failure("inflates past the \(statedCount) bytes the archive says") }
        if produced + count > output.count {
            let grown = min(statedCount, max(produced + count, 2 * output.count))
            output.append(contentsOf: repeatElement(0, count: grown - output.count))
        }
    }

    /// The order in which a dynamic block gives its code length code's lengths.
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    private mutating func dynamicTables() throws -> (HuffmanTable, HuffmanTable) {
        let literalCount = try take(5) + 257, distanceCount = try take(5) + 1, codeLengthCount = try take(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else { throw failure("a dynamic block with \(literalCount) literal and \(distanceCount) distance codes") }
        var codeLengthLengths = [UInt8](repeating: 0, count: 19)
        for k in 0 ..< codeLengthCount { codeLengthLengths[Self.codeLengthOrder[k]] = UInt8(try take(3)) }
        let codeLengths = try table(codeLengthLengths)
        var lengths: [UInt8] = []
        lengths.reserveCapacity(literalCount + distanceCount)
        while lengths.count < literalCount + distanceCount {
            let symbol = try decode(codeLengths)
            let repeated: UInt8, times: Int
            switch symbol {
            case 0 ... 15:
                lengths.append(UInt8(symbol))
                continue
            case 16:
                guard let previous = lengths.last else { throw failure("a repeat of the previous code length with none before it") }
                repeated = previous
                times = 3 + (try take(2))
            case 17:
                repeated = 0
                times = 3 + (try take(3))
            default:
                repeated = 0
                times = 11 + (try take(7))
            }
            guard lengths.count + times <= literalCount + distanceCount else { throw failure("code lengths repeat past the codes") }
            lengths += repeatElement(repeated, count: times)
        }
        guard lengths[256] != 0 else { throw failure("a dynamic block without an end-of-block code") }
        return (try table(lengths[..<literalCount]), try table(lengths[literalCount...]))
    }

    private func table(_ lengths: some Collection<UInt8>) throws -> HuffmanTable {
        guard let table = HuffmanTable(lengths: lengths) else { throw failure("code lengths that over-subscribe their code") }
        return table
    }

    /// The next symbol of `table`'s code: the fast table for short codes, else bit by bit.
    private mutating func decode(_ table: HuffmanTable) throws -> Int {
        if bitCount < HuffmanTable.fastBits { refill() }
        if bitCount >= HuffmanTable.fastBits {
            let entry = table.fast[Int(bits & ((1 << HuffmanTable.fastBits) - 1))]
            if entry != 0 {
                let length = Int(entry & 15)
                bits >>= length
                bitCount -= length
                return Int(entry >> 4)
            }
        }
        // Canonical decoding: codes of each length are consecutive, shorter ones first.
        var code = 0, first = 0, index = 0
        for length in 1 ... 15 {
            code |= try take(1)
            let count = Int(table.counts[length])
            if code - first < count { return Int(table.symbols[index + code - first]) }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        throw failure("a code that is not in its table")
    }

    // MARK: - Constant tables

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
                                       4097, 6145, 8193, 12289, 16385, 24577]
    private static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    /// The fixed codes of block type 1.
    private static let fixedTables: (literals: HuffmanTable, distances: HuffmanTable) = {
        let literals = [UInt8](repeating: 8, count: 144) + [UInt8](repeating: 9, count: 112) + [UInt8](repeating: 7, count: 24)
            + [UInt8](repeating: 8, count: 8)
        return (HuffmanTable(lengths: literals)!, HuffmanTable(lengths: [UInt8](repeating: 5, count: 30))!)
    }()
}

/// A canonical Huffman code given by its code lengths: counts per length and symbols in code order, plus a
/// table for codes of at most ``fastBits`` bits indexed by the next bits of the stream.
struct HuffmanTable: Sendable {
    static let fastBits = 9
    /// How many codes have each length (index 0 unused).
    let counts: [UInt16]
    /// The symbols, ordered by code.
    let symbols: [UInt16]
    /// For each value of the next ``fastBits`` bits: `symbol << 4 | length` of the code they start with, or
    /// 0 when that code is longer (or not in the table).
    let fast: [UInt16]

    /// nil when the lengths over-subscribe the code (more codes than fit). An incomplete code is allowed,
    /// as zlib allows it; the unused codes are errors when met.
    init?(lengths: some Collection<UInt8>) {
        var counts = [UInt16](repeating: 0, count: 16)
        for length in lengths {
            guard length <= 15 else { return nil }
            counts[Int(length)] += 1
        }
        counts[0] = 0
        var left = 1
        for length in 1 ... 15 {
            left = left << 1 - Int(counts[length])
            if left < 0 { return nil }
        }
        var offsets = [Int](repeating: 0, count: 16)
        for length in 1 ..< 15 { offsets[length + 1] = offsets[length] + Int(counts[length]) }
        var symbols = [UInt16](repeating: 0, count: lengths.count)
        var fast = [UInt16](repeating: 0, count: 1 << Self.fastBits)
        var nextCode = [Int](repeating: 0, count: 16)
        var code = 0
        for length in 1 ... 15 {
            code = (code + Int(counts[length - 1])) << 1
            nextCode[length] = code
        }
        for (symbol, length) in lengths.enumerated() where length > 0 {
            let length = Int(length)
            symbols[offsets[length]] = UInt16(symbol)
            offsets[length] += 1
            let code = nextCode[length]
            nextCode[length] += 1
            guard length <= Self.fastBits else { continue }
            // Codes are sent from their top bit down into a stream read from each byte's low bit up.
            var reversed = 0
            for bit in 0 ..< length where code & (1 << bit) != 0 { reversed |= 1 << (length - 1 - bit) }
            for high in stride(from: reversed, to: 1 << Self.fastBits, by: 1 << length) {
                fast[high] = UInt16(symbol) << 4 | UInt16(length)
            }
        }
        self.counts = counts
        self.symbols = symbols
        self.fast = fast
    }
}
