#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Array where Element == UInt8 {
    /// `reserveCapacity(minimumCapacity)`, and for a large reservation the kernel told how the fresh pages
    /// will be used (Linux only): every reserved byte is about to be written by one long copy.
    ///
    /// Copying a large payload into fresh memory is mostly the kernel's work, not the copy's: with 4 KiB
    /// pages there is a fault per page, each zeroing its page. See ``LargeReservation/advise(_:byteCount:)``
    /// for what is asked and what it saves. Elsewhere, or on kernels without either advice, this is a plain
    /// reserve.
    mutating func reserveCapacityForBulkWrite(_ minimumCapacity: Int) {
        #if os(Linux)
        if minimumCapacity > capacity && minimumCapacity - count >= LargeReservation.threshold {
            // New storage advised before anything is written to it, the bytes kept so far included (after
            // `reserveCapacity` they would already have faulted the first pages in one at a time).
            let kept = self
            self = [UInt8](unsafeUninitializedCapacity: minimumCapacity) { buffer, initialized in
                let base = UnsafeMutableRawPointer(buffer.baseAddress!)
                LargeReservation.advise(base, byteCount: buffer.count)
                kept.withUnsafeBytes { old in
                    if let from = old.baseAddress, !old.isEmpty { base.copyMemory(from: from, byteCount: old.count) }
                }
                initialized = kept.count
            }
            return
        }
        #endif
        reserveCapacity(minimumCapacity)
    }
}

/// Advice to the kernel for large buffers that are about to be filled by one copy.
enum LargeReservation {
    /// Reservations smaller than this are left to fault in as they are written (malloc may serve them from
    /// memory that is already mapped, and they cannot hold an aligned 2 MiB page anyway).
    static let threshold = 1 << 20

    #if os(Linux)
    /// Whether transparent huge pages may be used for memory that asks for them (`always` or `madvise` in
    /// `/sys/kernel/mm/transparent_hugepage/enabled`; `never`, or no such file, is false).
    static let hugePagesOnRequest: Bool = {
        guard let file = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r") else { return false }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), file) != nil else { return false }
        let text = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return text.contains("[always]") || text.contains("[madvise]")
    }()

    /// Advises the kernel about the whole pages of `[start, start + byteCount)`, fresh memory that one copy
    /// is about to fill.
    ///
    /// Where transparent huge pages are available it asks for them (`MADV_HUGEPAGE`): each aligned 2 MiB of
    /// the range then takes one fault instead of 512. On this VM (THP `madvise`), `malloc` + `memcpy` of
    /// 200 MiB into fresh memory took 91-119 ms as it was, 75-83 ms with `MADV_POPULATE_WRITE`, 23 ms with
    /// `MADV_HUGEPAGE` (and its `free` 0.7 ms instead of 10), 43-48 ms with both (populating zeroes the huge
    /// pages ahead of the copy, a second pass over the memory); 64 MiB: 28-36, 32-35 and 7 ms.
    /// Where they are not, it asks for the pages to be mapped in one call (`MADV_POPULATE_WRITE`, Linux
    /// 5.14; `EINVAL` before, ignored): the same zeroing without a trap per page.
    static func advise(_ start: UnsafeMutableRawPointer, byteCount: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) & ~(page - 1)
        let end = (Int(bitPattern: start) + byteCount) & ~(page - 1)
        guard end > first, let pointer = UnsafeMutableRawPointer(bitPattern: first) else { return }
        let hugePage = 2 << 20
        let holdsHugePage = ((first + hugePage - 1) & ~(hugePage - 1)) + hugePage <= end
        let advice: Int32 = hugePagesOnRequest && holdsHugePage ? MADV_HUGEPAGE : 23 /* MADV_POPULATE_WRITE */
        _ = madvise(pointer, end - first, advice)
    }
    #endif
}
