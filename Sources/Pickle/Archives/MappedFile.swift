#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file mapped read-only into memory: its bytes are read by the kernel as they are touched, so opening a
/// large archive costs neither its size in time nor in memory.
///
/// Invariants (the reason this type may be `@unchecked Sendable`): `base` points at `count` bytes mapped
/// `PROT_READ` and `MAP_PRIVATE` from `init` until `deinit` unmaps them, and nothing in this process writes
/// them; every view of the bytes (``MappedBytes``) holds the file, so the mapping outlives its views. A file
/// changed by another process while mapped may show the change (or, if truncated, fault on access): map only
/// files that are not being rewritten.
public final class MappedFile: @unchecked Sendable {
    /// The file's size in bytes.
    public let count: Int
    private let base: UnsafeRawPointer?

    /// Maps the file at `path`.
    /// - Throws: ``ArchiveError/io(_:)`` naming the path and the system error.
    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ArchiveError.io("cannot stat \(path): \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw ArchiveError.io("\(path) is not a regular file") }
        count = Int(info.st_size)
        guard count > 0 else {
            base = nil
            return
        }
        let mapping = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapping, mapping != MAP_FAILED else { throw ArchiveError.io("cannot map \(path): \(String(cString: strerror(errno)))") }
        base = UnsafeRawPointer(mapping)
    }

    /// Bytes already in memory, copied into a read-only mapping of their own: an archive received over a
    /// socket, or made in a test, read as a file would be.
    /// - Throws: ``ArchiveError/io(_:)`` when the memory cannot be mapped.
    public init(copying bytes: some Collection<UInt8>) throws {
        count = bytes.count
        guard count > 0 else {
            base = nil
            return
        }
        let mapping = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapping, mapping != MAP_FAILED else { throw ArchiveError.io("cannot map \(count) bytes: \(String(cString: strerror(errno)))") }
        UnsafeMutableRawBufferPointer(start: mapping, count: count).copyBytes(from: bytes)
        // Read-only from here on, as the invariants above ask.
        guard mprotect(mapping, count, PROT_READ) == 0 else {
            munmap(mapping, count)
            throw ArchiveError.io("cannot protect \(count) mapped bytes: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapping)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The bytes in `range` (which must lie within the file).
    public subscript(range: Range<Int>) -> MappedBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range outside the mapped file")
        return MappedBytes(file: self, range: range)
    }

    /// Lets the kernel take the pages wholly inside `range` out of this process's memory: read once (a
    /// tensor copied out), they need not stay resident; touched again, they are read from the file again.
    /// Nothing is lost, since the mapping is read-only and private.
    public func dropResidentPages(_ range: Range<Int>) {
        guard let base, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page, end = range.upperBound / page * page
        guard start < end else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    /// Calls `body` with the bytes in `range`, valid only during the call.
    func withUnsafeBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range outside the mapped file")
        return try withExtendedLifetime(self) {
            try body(UnsafeRawBufferPointer(start: base.map { $0 + range.lowerBound }, count: range.count))
        }
    }
}

/// A range of a ``MappedFile``'s bytes, which it keeps mapped: a tensor's storage, a zip entry's data.
public struct MappedBytes: Sendable, RandomAccessCollection {
    /// The file the bytes are in.
    public let file: MappedFile
    /// Where in the file.
    public let range: Range<Int>

    public var startIndex: Int { 0 }
    public var endIndex: Int { range.count }
    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < range.count, "index out of range")
        return file.withUnsafeBytes(range) { $0[position] }
    }

    /// The bytes in `subrange` (offsets within these bytes).
    public func slice(_ subrange: Range<Int>) -> MappedBytes {
        precondition(subrange.lowerBound >= 0 && subrange.upperBound <= range.count, "range outside the bytes")
        return MappedBytes(file: file, range: range.lowerBound + subrange.lowerBound ..< range.lowerBound + subrange.upperBound)
    }

    /// Calls `body` with the bytes in place, valid only during the call.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try file.withUnsafeBytes(range, body)
    }

    /// The bytes copied into an array.
    public var array: [UInt8] { withUnsafeBytes { Array($0) } }
}
