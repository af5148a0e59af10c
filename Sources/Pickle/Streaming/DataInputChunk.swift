#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

#if canImport(FoundationEssentials) || canImport(Foundation)
extension Data: PickleInputChunk {
    /// The bytes, copied once into an array.
    public var pickleBytes: ArraySlice<UInt8> { [UInt8](self)[...] }
}
#endif
