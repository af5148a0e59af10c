import FuzzSupport
import Pickle

/// One-shot unpickling of whatever libFuzzer makes, then everything a caller does with the result: repr,
/// value-tree conversion, disassembly. Nothing may crash, hang or leak.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let (graphs, _) = decodeAll(input.bytes, options: input.options)
    for graph in graphs {
        _ = graph.root.description
        _ = try? graph.root.value()
    }
    _ = try? Unpickler.loads(input.bytes, options: input.options)
    var disassembler = Disassembler()
    disassembler.maxOutputLength = 1 << 20
    _ = input.bytes.withUnsafeBytes { disassembler.disassemble($0, from: 0) }
    return 0
}
