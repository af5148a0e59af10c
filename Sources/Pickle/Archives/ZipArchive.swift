/// A zip archive read in place from a ``MappedFile``: the central directory (zip64 included), and each stored
/// entry's data as a range of the mapping, no copy.
///
/// Only what a reader of `torch.save` checkpoints and `.npz` files needs: stored (uncompressed) entries are
/// read; a compressed or encrypted entry is listed but reading it is an error that says so. Every offset
/// and size is checked against the file and against the other entries before use: an entry whose local
/// header disagrees with the directory, whose data runs past the file or into the directory, or overlaps
/// another entry's, is an ``ArchiveError/invalid(_:offset:)`` naming the byte offset.
public struct ZipArchive: Sendable {
    /// One file in the archive.
    public struct Entry: Sendable, Hashable {
        /// The entry's path in the archive.
        public let name: String
        /// 0 for stored, 8 for deflated, ...
        public let compressionMethod: Int
        /// The CRC-32 the directory records for the uncompressed data.
        public let crc32: UInt32
        /// The size of the data as stored.
        public let compressedSize: Int
        /// The size of the data uncompressed.
        public let uncompressedSize: Int
        /// Where the entry's local header starts.
        public let localHeaderOffset: Int
        /// Whether the entry is encrypted.
        public let isEncrypted: Bool
        /// Where the data lies in the file (after the local header).
        public let dataRange: Range<Int>
    }

    /// The archive's file.
    public let file: MappedFile
    /// The entries, in directory order.
    public let entries: [Entry]
    private let byName: [String: Int]

    /// Reads the directory of the zip archive in `file`.
    /// - Throws: ``ArchiveError/invalid(_:offset:)`` when the file is not a zip archive or its directory is
    ///   inconsistent.
    public init(_ file: MappedFile) throws {
        self.file = file
        let (entries, directoryStart) = try file.withUnsafeBytes(0 ..< file.count) { try Self.readDirectory($0) }
        // Entries' data must lie before the directory and must not overlap one another.
        let sorted = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        var previousEnd = 0
        for entry in sorted {
            guard entry.localHeaderOffset >= previousEnd else {
                throw ArchiveError.invalid("entry '\(entry.name)' overlaps the entry before it", offset: entry.localHeaderOffset)
            }
            guard entry.dataRange.upperBound <= directoryStart else {
                throw ArchiveError.invalid("entry '\(entry.name)' runs into the central directory", offset: entry.localHeaderOffset)
            }
            previousEnd = entry.dataRange.upperBound
        }
        self.entries = entries
        var byName: [String: Int] = [:]
        for (index, entry) in entries.enumerated() where byName[entry.name] == nil { byName[entry.name] = index }
        self.byName = byName
    }

    /// The entry with this path (the first, if the archive has several).
    public func entry(named name: String) -> Entry? { byName[name].map { entries[$0] } }

    /// The data of a stored entry, in place.
    /// - Parameters:
    ///   - entry: an entry of this archive.
    ///   - verifyingCRC: whether to check the data against the directory's CRC-32 (reads every byte).
    /// - Throws: ``ArchiveError/unsupported(_:)`` for a compressed or encrypted entry,
    ///   ``ArchiveError/invalid(_:offset:)`` for a CRC mismatch.
    public func data(of entry: Entry, verifyingCRC: Bool = false) throws -> MappedBytes {
        guard !entry.isEncrypted else { throw ArchiveError.unsupported("entry '\(entry.name)' is encrypted") }
        guard entry.compressionMethod == 0 else {
            throw ArchiveError.unsupported("entry '\(entry.name)' is compressed (method \(entry.compressionMethod)); only stored entries are read in place")
        }
        guard entry.compressedSize == entry.uncompressedSize else {
            throw ArchiveError.invalid("stored entry '\(entry.name)' has different stored and uncompressed sizes", offset: entry.localHeaderOffset)
        }
        let bytes = file[entry.dataRange]
        if verifyingCRC {
            let crc = bytes.withUnsafeBytes { CRC32.checksum($0) }
            guard crc == entry.crc32 else {
                throw ArchiveError.invalid("entry '\(entry.name)' has CRC-32 \(hex(crc)); the directory says \(hex(entry.crc32))", offset: entry.dataRange.lowerBound)
            }
        }
        return bytes
    }

    /// The data of a stored or deflated entry, as an array of its own: a stored entry's bytes copied out of
    /// the mapping (unchecked, as ``data(of:verifyingCRC:)`` gives them), a deflated one's inflated
    /// (`zipfile.ZIP_DEFLATED`, `numpy.savez_compressed`) and its CRC-32 checked.
    /// - Parameters:
    ///   - entry: an entry of this archive.
    ///   - maxCount: the largest entry read: a deflated entry inflates to no more than this, whatever the
    ///     archive says (default 4 GiB).
    /// - Throws: ``ArchiveError/unsupported(_:)`` for other methods and encrypted entries,
    ///   ``ArchiveError/invalid(_:offset:)`` for malformed deflated data, a size other than the one the
    ///   directory gives, or a CRC mismatch.
    public func contents(of entry: Entry, maxCount: Int = 1 << 32) throws -> [UInt8] {
        guard entry.compressionMethod == 8, !entry.isEncrypted else { return try data(of: entry).array }
        guard entry.uncompressedSize <= maxCount else {
            throw ArchiveError.unsupported("entry '\(entry.name)' inflates to \(entry.uncompressedSize) bytes, more than the \(maxCount) asked for")
        }
        let inflated = try file.withUnsafeBytes(entry.dataRange) {
            try Inflater.inflate($0, statedCount: entry.uncompressedSize, fileOffset: entry.dataRange.lowerBound)
        }
        let crc = inflated.withUnsafeBytes { CRC32.checksum($0) }
        guard crc == entry.crc32 else {
            throw ArchiveError.invalid("entry '\(entry.name)' inflates to CRC-32 \(hex(crc)); the directory says \(hex(entry.crc32))", offset: entry.dataRange.lowerBound)
        }
        return inflated
    }

    /// The first `count` bytes of a stored or deflated entry (all of it, when shorter): a stored entry's
    /// copied out of the mapping, a deflated one's inflated no further than needed. Nothing is checked past
    /// them, the CRC-32 included: read an entry's header without paying for its body.
    /// - Throws: as ``contents(of:maxCount:)``, for the bytes decoded.
    public func prefix(of entry: Entry, count: Int) throws -> [UInt8] {
        guard entry.compressionMethod == 8, !entry.isEncrypted else {
            let data = try data(of: entry)
            return data.slice(0 ..< min(max(count, 0), data.count)).array
        }
        return try file.withUnsafeBytes(entry.dataRange) {
            try Inflater.inflatePrefix($0, count: max(count, 0), statedCount: entry.uncompressedSize, fileOffset: entry.dataRange.lowerBound)
        }
    }

    private func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }

    // MARK: - The directory

    private static let endSignature: UInt32 = 0x0605_4B50
    private static let end64Signature: UInt32 = 0x0606_4B50
    private static let end64LocatorSignature: UInt32 = 0x0706_4B50
    private static let directorySignature: UInt32 = 0x0201_4B50
    private static let localSignature: UInt32 = 0x0403_4B50

    private static func readDirectory(_ raw: UnsafeRawBufferPointer) throws -> ([Entry], Int) {
        let reader = LittleEndianReader(raw)
        // The end record is the last 22 bytes plus a comment of at most 65,535.
        guard raw.count >= 22 else { throw ArchiveError.invalid("too short for a zip archive (\(raw.count) bytes)", offset: 0) }
        var end = raw.count - 22
        let lowest = max(0, raw.count - 22 - 65_535)
        while end >= lowest, reader.u32(end) != endSignature { end -= 1 }
        guard end >= lowest else { throw ArchiveError.invalid("no end of central directory record: not a zip archive", offset: raw.count) }
        var count = Int(reader.u16(end + 10))
        var directorySize = Int(reader.u32(end + 12))
        var directoryStart = Int(reader.u32(end + 16))
        // Where the directory must end: at the zip64 end record when there is one, else at the end record.
        var directoryEndsAt = end
        let locator = end - 20
        if locator >= 0, reader.u32(locator) == end64LocatorSignature {
            // Python's zipfile and PyTorch's miniz take the zip64 record whenever its locator is there, whatever
            // the classic record says; so does this reader, and a classic record that says otherwise is refused.
            let record = try reader.offset(reader.u64(locator + 8), within: raw.count - 56, at: locator + 8)
            guard reader.u32(record) == end64Signature else { throw ArchiveError.invalid("no zip64 end record where the locator points", offset: record) }
            let count64 = try reader.offset(reader.u64(record + 32), within: raw.count, at: record + 32)
            let size64 = try reader.offset(reader.u64(record + 40), within: raw.count, at: record + 40)
            let start64 = try reader.offset(reader.u64(record + 48), within: raw.count, at: record + 48)
            guard (count == 0xFFFF || count == count64), (directorySize == 0xFFFF_FFFF || directorySize == size64),
                  (directoryStart == 0xFFFF_FFFF || directoryStart == start64) else {
                throw ArchiveError.invalid("the end record and the zip64 end record name different directories: readers differ on what the archive holds", offset: end)
            }
            (count, directorySize, directoryStart) = (count64, size64, start64)
            directoryEndsAt = record
        } else if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryStart == 0xFFFF_FFFF {
            throw ArchiveError.invalid("zip64 sizes without a zip64 end record locator", offset: max(locator, 0))
        }
        guard directoryStart <= raw.count, directorySize <= raw.count - directoryStart else {
            throw ArchiveError.invalid("the central directory lies outside the file", offset: end)
        }
        // zipfile shifts every offset by the distance between where the directory ends and where its end record
        // is (data prepended to an archive); other readers do not. Such an archive is refused.
        guard directoryStart + directorySize == directoryEndsAt else {
            throw ArchiveError.invalid("the central directory ends at \(directoryStart + directorySize), not at its end record (\(directoryEndsAt)): readers differ on where the entries are", offset: end)
        }
        // Each directory record is at least 46 bytes: the count cannot ask for more than the directory holds.
        guard count <= directorySize / 46 + 1 else { throw ArchiveError.invalid("\(count) entries cannot fit in a \(directorySize)-byte directory", offset: end) }
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var position = directoryStart
        let directoryEnd = directoryStart + directorySize
        for _ in 0 ..< count {
            guard position + 46 <= directoryEnd, reader.u32(position) == directorySignature else {
                throw ArchiveError.invalid("expected a central directory record", offset: position)
            }
            let flags = reader.u16(position + 8)
            let method = Int(reader.u16(position + 10))
            let crc = reader.u32(position + 16)
            var compressed = Int(reader.u32(position + 20))
            var uncompressed = Int(reader.u32(position + 24))
            let nameLength = Int(reader.u16(position + 28)), extraLength = Int(reader.u16(position + 30)), commentLength = Int(reader.u16(position + 32))
            var local = Int(reader.u32(position + 42))
            let nameStart = position + 46
            guard nameStart + nameLength + extraLength + commentLength <= directoryEnd else {
                throw ArchiveError.invalid("a directory record runs past the directory", offset: position)
            }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[nameStart ..< nameStart + nameLength]), as: UTF8.self)
            // The zip64 extra field holds, in this order, the fields whose 32-bit value is all ones.
            var extra = nameStart + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = reader.u16(extra), size = Int(reader.u16(extra + 2))
                guard extra + 4 + size <= extraEnd else { throw ArchiveError.invalid("an extra field runs past its record", offset: extra) }
                if id == 1 {
                    var field = extra + 4
                    func next() throws -> Int {
                        guard field + 8 <= extra + 4 + size else { throw ArchiveError.invalid("a zip64 extra field is too short", offset: field) }
                        defer { field += 8 }
                        return try reader.offset(reader.u64(field), within: raw.count, at: field)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if local == 0xFFFF_FFFF { local = try next() }
                }
                extra += 4 + size
            }
            // The local header: the same name and method, then the data.
            guard local <= raw.count - 30, reader.u32(local) == localSignature else {
                throw ArchiveError.invalid("entry '\(name)' has no local header where the directory says", offset: local)
            }
            let localName = Int(reader.u16(local + 26)), localExtra = Int(reader.u16(local + 28))
            let dataStart = local + 30 + localName + localExtra
            guard Int(reader.u16(local + 8)) == method, localName == nameLength, dataStart <= raw.count,
                  raw[local + 30 ..< local + 30 + localName].elementsEqual(raw[nameStart ..< nameStart + nameLength]) else {
                throw ArchiveError.invalid("entry '\(name)''s local header disagrees with the directory", offset: local)
            }
            guard compressed <= raw.count - dataStart else {
                throw ArchiveError.invalid("entry '\(name)' of \(compressed) bytes runs past the end of the file", offset: dataStart)
            }
            entries.append(Entry(name: name, compressionMethod: method, crc32: crc, compressedSize: compressed, uncompressedSize: uncompressed,
                                 localHeaderOffset: local, isEncrypted: flags & 1 != 0, dataRange: dataStart ..< dataStart + compressed))
            position = nameStart + nameLength + extraLength + commentLength
        }
        // Readers differ on which of two entries of one name they read (zipfile the last, others the first).
        var names = Set<String>()
        for entry in entries where !names.insert(entry.name).inserted {
            throw ArchiveError.invalid("entry '\(entry.name)' appears twice: readers differ on which one they read", offset: entry.localHeaderOffset)
        }
        return (entries, directoryStart)
    }
}

/// Little-endian integers at byte offsets of a buffer; the caller checks the bounds.
private struct LittleEndianReader {
    let raw: UnsafeRawBufferPointer
    init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

    func u16(_ at: Int) -> UInt16 { UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)) }
    func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }

    /// A 64-bit offset or size as an Int no larger than `limit`.
    func offset(_ value: UInt64, within limit: Int, at: Int) throws -> Int {
        guard value <= UInt64(max(limit, 0)) else { throw ArchiveError.invalid("a zip64 value (\(value)) lies past the end of the file", offset: at) }
        return Int(value)
    }
}

/// Why an archive cannot be read.
public enum ArchiveError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened or mapped.
    case io(String)
    /// The archive is malformed at `offset`.
    case invalid(String, offset: Int)
    /// The archive uses something this library does not read.
    case unsupported(String)

    public var description: String {
        switch self {
        case .io(let reason): return reason
        case .invalid(let reason, let offset): return "invalid archive at byte offset \(offset): \(reason)"
        case .unsupported(let reason): return "unsupported archive: \(reason)"
        }
    }
}

/// CRC-32 (the zip and gzip polynomial, 0xEDB88320 reflected), eight bytes a step ("slicing by 8": table
/// `k` advances a byte's contribution past `k` more bytes).
enum CRC32 {
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0 ..< 256 {
            var c = UInt32(n)
            for _ in 0 ..< 8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            tables[n] = c
        }
        for k in 1 ..< 8 {
            for n in 0 ..< 256 {
                let previous = tables[(k - 1) * 256 + n]
                tables[k * 256 + n] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        tables.withUnsafeBufferPointer { t in
            var position = 0
            while bytes.count - position >= 8 {
                let low = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self)) ^ crc
                let high = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 4, as: UInt32.self))
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)] ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)] ^ t[256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                position += 8
            }
            for byte in bytes[position...] { crc = t[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
