import FuzzSupport
import Pickle

/// The same bytes fed in chunks the input chooses must give what one whole feed gives: the same objects,
/// object for object, and the same error at the same offset.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    guard let pattern = input.bytes.first else { return 0 }
    let bytes = Array(input.bytes.dropFirst())
    // Chunk sizes cycle through 1 + (pattern bits): small and irregular, one byte at a time included.
    var splits: [Int] = []
    var position = 0
    var step = 0
    while position < bytes.count {
        position += 1 + Int((pattern >> (step % 8)) & 0x7) * Int(1 + (pattern & 1)) * (step % 3 == 0 ? 1 : 5)
        splits.append(min(position, bytes.count))
        step += 1
    }
    let whole = decodeAll(bytes, options: input.options)
    let chunked = decodeAll(bytes, splits: splits, options: input.options)
    guard whole.graphs.count == chunked.graphs.count else {
        fuzzFailure("whole decode gave \(whole.graphs.count) objects, chunked \(chunked.graphs.count)")
    }
    for (a, b) in zip(whole.graphs, chunked.graphs) where a.root.description != b.root.description {
        fuzzFailure("object differs: \(a.root.description.prefix(200)) vs \(b.root.description.prefix(200))")
    }
    if whole.error?.code != chunked.error?.code || whole.error?.offset != chunked.error?.offset {
        fuzzFailure("error differs: \(String(describing: whole.error)) vs \(String(describing: chunked.error))")
    }
    return 0
}
