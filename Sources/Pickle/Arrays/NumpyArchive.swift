/// An `.npz` file (`numpy.savez`): a zip archive of `.npy` files, one array per entry, named by the entry
/// without its `.npy` suffix.
///
/// Opening reads only each entry's header, so listing a large archive costs neither its size in time nor in
/// memory. ``array(_:)`` then reads one array: a stored entry's elements stay in the file's mapping (no
/// copy); `numpy.savez_compressed`'s deflated entries are inflated, their CRC-32 checked.
public struct NumpyArchive: Sendable {
    /// One array of the archive, as its header describes it.
    public struct Member: Sendable {
        /// The array's name: its entry's without `.npy`.
        public let name: String
        /// Its entry in the archive.
        public let entry: ZipArchive.Entry
        /// Its dtype, shape and order, and where its elements start in the entry.
        public let header: NumpyFileHeader
        /// The file offset of its first element: for a stored entry whose elements are in the file as they
        /// are; nil for a deflated entry and for an object array (whose items are pickled).
        public let fileOffset: Int?
        /// How many bytes its elements take (0 for an object array).
        public let byteCount: Int
    }

    /// The archive.
    public let archive: ZipArchive
    /// The arrays, in the archive's order.
    public let members: [Member]

    /// Opens the `.npz` file at `path`.
    /// - Throws: ``ArchiveError`` for an archive that cannot be read, ``ArrayError`` for an entry that is not
    ///   a valid `.npy` header (naming it).
    public init(path: String) throws {
        try self.init(archive: ZipArchive(MappedFile(path: path)))
    }

    /// Reads the array headers of an opened archive.
    /// - Throws: as ``init(path:)``.
    public init(archive: ZipArchive) throws {
        self.archive = archive
        var members: [Member] = []
        for entry in archive.entries where entry.name.hasSuffix(".npy") {
            let name = String(entry.name.dropLast(4))
            do {
                let start = try archive.prefix(of: entry, count: 12)
                let header = try NumpyFileHeader(archive.prefix(of: entry, count: NumpyFileHeader.size(from: start)))
                let byteCount = try header.elementByteCount()
                guard header.dtype.holdsObjects || byteCount == entry.uncompressedSize - header.dataOffset else {
                    throw ArrayError.invalid("the shape \(header.shape) of \(header.dtype.itemSize)-byte elements needs \(byteCount) bytes; the entry has \(entry.uncompressedSize - header.dataOffset)")
                }
                let inPlace = entry.compressionMethod == 0 && !header.dtype.holdsObjects
                members.append(Member(name: name, entry: entry, header: header,
                                      fileOffset: inPlace ? entry.dataRange.lowerBound + header.dataOffset : nil, byteCount: byteCount))
            } catch ArrayError.invalid(let reason) {
                throw ArrayError.invalid("array '\(name)': \(reason)")
            }
        }
        self.members = members
    }

    /// The member named `name`, if there is one.
    public func member(named name: String) -> Member? { members.first { $0.name == name } }

    /// Reads one array: a stored entry's elements in place in the mapping, a deflated entry inflated (its
    /// CRC-32 checked), an object array's pickle unpickled as an inert graph.
    /// - Throws: ``ArchiveError`` for an entry that cannot be read, ``ArrayError`` or ``PickleError`` for
    ///   one that is not a valid `.npy` file (naming the array).
    public func array(_ member: Member) throws -> NDArrayView {
        do {
            if member.entry.compressionMethod == 0 {
                return try NDArrayView(npy: archive.data(of: member.entry))
            }
            return try NDArrayView(npy: archive.contents(of: member.entry))
        } catch ArrayError.invalid(let reason) {
            throw ArrayError.invalid("array '\(member.name)': \(reason)")
        }
    }

    /// Whether `archive` looks like an `.npz` file: no `data.pkl`, and at least one `.npy` entry.
    public static func isNumpyArchive(_ archive: ZipArchive) -> Bool {
        !archive.entries.contains { $0.name.hasSuffix("data.pkl") } && archive.entries.contains { $0.name.hasSuffix(".npy") }
    }
}
