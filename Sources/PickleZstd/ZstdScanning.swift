import Pickle

extension PickleScanner.Decompressor {
    /// zstd frames (`28 B5 2F FD`): a compressed pickle, log or checkpoint is scanned as what it holds,
    /// decompressed no further than the scan's budget.
    public static let zstd = PickleScanner.Decompressor(name: "zstd", magic: [0x28, 0xB5, 0x2F, 0xFD]) { input, maxCount in
        var options = ZstdReadOptions()
        options.maxDecompressedBytes = maxCount
        var decoder = try ZstdDecoder(options: options)
        var output: [UInt8] = []
        try decoder.decompress(input) { output.append(contentsOf: $0) }
        try decoder.finish()
        return output
    }
}
