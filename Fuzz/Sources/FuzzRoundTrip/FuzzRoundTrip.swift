import FuzzSupport
import Pickle

/// Whatever loads is re-pickled at every protocol and reloaded. At protocols 4 and 5, which express every
/// node as it is, the reloaded object must print as the original (values, sharing and cycles show in the
/// repr). Below 4 some forms change on the way, as in CPython (a nested name becomes `getattr(parent, name)`,
/// a persistent id becomes text), so there the output must load, and equality is checked by the
/// differential tests against CPython instead.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let (graphs, _) = decodeAll(input.bytes, options: input.options)
    for graph in graphs.prefix(4) {
        let original = graph.root.description
        for proto in 0 ... PicklerOptions.highestProtocol {
            // fix_imports the same way both ways, so names mean the same after the trip.
            var writing = PicklerOptions(protocolVersion: proto)
            writing.fixImports = input.options.fixImports
            guard let bytes = try? Pickler.dumps(graph, options: writing) else { continue }
            var options = UnpicklerOptions()
            options.encoding = .latin1
            options.fixImports = input.options.fixImports
            do {
                let reloaded = try Unpickler.loads(bytes, options: options)
                if proto >= 4 && reloaded.root.description != original {
                    fuzzFailure("protocol \(proto) round trip changed \(original.prefix(300)) into \(reloaded.root.description.prefix(300))")
                }
            } catch {
                fuzzFailure("protocol \(proto) output does not load: \(error); object \(original.prefix(300))")
            }
        }
    }
    return 0
}
