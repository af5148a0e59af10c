import Pickle

/// Whatever libFuzzer makes, scanned under the numpy profile (the widest allow-list with data only). Nothing
/// may crash, hang or leak, and a stream of pickles the scanner calls safe must decode under the policy's
/// in-stream hooks without one global or persistent id being refused: the scanner never calls safe what
/// would make a loader reach a global the policy does not allow.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    let report = PickleScanner(policy: .numpy).scan(bytes)
    for finding in report.findings { _ = finding.message }
    guard report.verdict == .safe, report.container == "pickle" else { return 0 }
    var options = UnpicklerOptions()
    options.encoding = .bytes
    var parser = PickleParser(options: options, hooks: .rejecting(outside: .numpy))
    var graphs: [PickleGraph] = []
    do {
        try parser.feed(bytes, into: &graphs)
        try parser.finish()
    } catch let error as PickleError where error.code == .rejected {
        fatalError("scanned safe, yet a loader reaches what the policy refuses: \(error)")
    } catch {
        // Other errors: joblib array data, which the scan skips as joblib reads it and a plain parse cannot.
    }
    for graph in graphs where PickleScanner(policy: .numpy).verdict(of: graph) != .safe {
        fatalError("scanned safe as a stream, yet one of its pickles is not: \(graph.root)")
    }
    return 0
}
