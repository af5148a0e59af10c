#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Array where Element == UInt8 {
    /// `reserveCapacity(minimumCapacity)`, and for a large reservation the kernel asked to map every page of it
    /// at once (Linux `MADV_POPULATE_WRITE`) before the bytes are copied in.
    ///
    /// Copying a large payload into fresh memory is mostly the kernel's work: one page fault per 4 KiB, each
    /// zeroing its page (here about 0.45 ms per MiB, against 0.1 ms for the copy itself). Populating the
    /// range in one call does the same zeroing without a trap per page: a 100 MiB copy into fresh memory took
    /// 53 -> 32 ms in a C test on this VM, and `Pickler.dumps` of a 100 MiB bytes object 48 -> 40 ms (min of
    /// 15); the CPU time of a whole `pickletool convert` did not change measurably, the zeroing being the
    /// floor. It costs nothing the copy would not cost, since every reserved byte is about to be written;
    /// elsewhere, or on older kernels, this is a plain reserve.
    mutating func reserveCapacityPrefaulted(_ minimumCapacity: Int) {
        let before = capacity
        reserveCapacity(minimumCapacity)
        #if os(Linux)
        guard capacity > before, capacity - count >= PrefaultedReservation.threshold else { return }
        let used = count
        let room = capacity
        withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            PrefaultedReservation.populate(UnsafeMutableRawPointer(base + used), byteCount: room - used)
        }
        #endif
    }
}

enum PrefaultedReservation {
    /// Reservations smaller than this are left to fault in as they are written (malloc may serve them from
    /// memory that is already mapped).
    static let threshold = 1 << 20

    #if os(Linux)
    /// Asks the kernel to map the whole pages of `[start, start + byteCount)` for writing, zero-filled.
    static func populate(_ start: UnsafeMutableRawPointer, byteCount: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) & ~(page - 1)
        let end = (Int(bitPattern: start) + byteCount) & ~(page - 1)
        guard end > first, let pointer = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(pointer, end - first, 23 /* MADV_POPULATE_WRITE, Linux 5.14; EINVAL before: ignored */)
    }
    #endif
}
