import FuzzSupport
import Pickle
import PickleZstd

/// Compressed input: decompressed chunk by chunk within limits, and unpickled. Nothing may crash, and the
/// limits must hold whatever the frames claim.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    var limits = ZstdReadOptions()
    limits.maxWindowLog = 20
    limits.maxDecompressedBytes = 1 << 24
    guard var decoder = try? ZstdDecoder(options: limits) else { return 0 }
    var parser = PickleParser(options: input.options)
    var graphs: [PickleGraph] = []
    do {
        try decoder.decompress(input.bytes[...]) { piece in
            try parser.feed(piece, into: &graphs)
            graphs.removeAll()
        }
        try decoder.finish()
        try parser.finish()
    } catch {}
    return 0
}
