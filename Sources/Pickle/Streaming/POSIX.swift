#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers for calls whose module name differs between platforms.
enum POSIX {
    @discardableResult
    static func close(_ fd: Int32) -> Int32 {
        #if canImport(Glibc)
        Glibc.close(fd)
        #else
        Darwin.close(fd)
        #endif
    }

    /// The text of the current `errno`.
    static var errorText: String { String(cString: strerror(errno)) }
}
