/// An `.npz` file (`numpy.savez`): a zip archive of `.npy` files, one array per entry, named by the entry
/// without its `.npy` suffix.
///
/// Each array's file is copied once out of the mapping (an ``NDArrayView``'s elements are array storage);
/// `numpy.savez_compressed`'s deflated entries are inflated, their CRC-32 checked.
public struct NumpyArchive: Sendable {
    /// The archive.
    public let archive: ZipArchive
    /// The arrays, in the archive's order, with the file offset of each one's first element (nil for a
    /// deflated entry, whose elements are not in the file as they are).
    public let arrays: [(name: String, array: NDArrayView, fileOffset: Int?)]

    /// Opens the `.npz` file at `path`.
    /// - Throws: ``ArchiveError`` for an archive that cannot be read, ``ArrayError`` for an entry that is not
    ///   a valid `.npy` file (naming it).
    public init(path: String) throws {
        try self.init(archive: ZipArchive(MappedFile(path: path)))
    }

    /// Reads the arrays of an opened archive.
    public init(archive: ZipArchive) throws {
        self.archive = archive
        var arrays: [(name: String, array: NDArrayView, fileOffset: Int?)] = []
        for entry in archive.entries where entry.name.hasSuffix(".npy") {
            let name = String(entry.name.dropLast(4))
            do {
                let array = try NDArrayView(npy: archive.contents(of: entry))
                // The elements are a slice of the entry's copy: their index there is their place in the entry.
                let isStored = entry.compressionMethod == 0
                arrays.append((name, array, isStored ? entry.dataRange.lowerBound + array.bytes.startIndex : nil))
            } catch ArrayError.invalid(let reason) {
                throw ArrayError.invalid("array '\(name)': \(reason)")
            }
        }
        self.arrays = arrays
    }

    /// Whether `archive` looks like an `.npz` file: no `data.pkl`, and at least one `.npy` entry.
    public static func isNumpyArchive(_ archive: ZipArchive) -> Bool {
        !archive.entries.contains { $0.name.hasSuffix("data.pkl") } && archive.entries.contains { $0.name.hasSuffix(".npy") }
    }
}
