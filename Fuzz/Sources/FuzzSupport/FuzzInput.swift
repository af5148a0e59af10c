@_spi(Fuzzing) import Pickle

/// A fuzz input: its first byte chooses the unpickler's options (``UnpicklerOptions/fuzzing(selector:)``,
/// shared with the tests that replay failures; bit 7 picks a codec decoded through iconv for Python 2
/// strings), the rest is the pickle.
public struct FuzzInput {
    public let options: UnpicklerOptions
    public let bytes: [UInt8]

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        let all = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
        self.options = UnpicklerOptions.fuzzing(selector: all.first ?? 0)
        self.bytes = Array(all.dropFirst())
    }
}

/// Decodes every pickle of `bytes` fed in the given chunks: the graphs completed and the error, if any.
public func decodeAll(_ bytes: [UInt8], splits: [Int] = [], options: UnpicklerOptions) -> (graphs: [PickleGraph], error: PickleError?) {
    var parser = PickleParser(options: options)
    var graphs: [PickleGraph] = []
    var start = 0
    do {
        for end in splits + [bytes.count] where end >= start && end <= bytes.count {
            try parser.feed(bytes[start ..< end], into: &graphs)
            start = end
        }
        try parser.finish()
        return (graphs, nil)
    } catch let error as PickleError {
        return (graphs, error)
    } catch {
        fatalError("the parser threw something other than a PickleError: \(error)")
    }
}

/// Stops the fuzzer with a message (libFuzzer records the input as a crash).
public func fuzzFailure(_ message: String) -> Never {
    fatalError(message)
}
