import Pickle

/// Whatever libFuzzer makes, read as a zip archive (every entry's contents, inflated where deflated; an
/// `.npz`'s arrays, headers first; a PyTorch checkpoint's tensors and their elements) and as a `.npy` file, in memory and mapped. Nothing may
/// crash, hang, leak or read outside the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    if let array = try? NDArrayView(npy: bytes) { touch(array) }
    guard let file = try? MappedFile(copying: bytes) else { return 0 }
    if let array = try? NDArrayView(npy: file[0 ..< file.count]) { touch(array) }
    guard let archive = try? ZipArchive(file) else { return 0 }
    for entry in archive.entries {
        _ = try? archive.data(of: entry, verifyingCRC: true)
        if let contents = try? archive.contents(of: entry, maxCount: 1 << 22), entry.name.hasSuffix(".npy"),
           let array = try? NDArrayView(npy: contents) {
            touch(array)
        }
    }
    if NumpyArchive.isNumpyArchive(archive) {
        if let arrays = try? NumpyArchive(archive: archive) {
            for member in arrays.members { if let array = try? arrays.array(member) { touch(array) } }
        }
    } else if let checkpoint = try? TorchCheckpoint(archive: archive) {
        for (_, tensor) in checkpoint.tensors {
            _ = try? tensor.elements(as: Float.self)
            _ = try? tensor.elements(as: Int64.self)
        }
    }
    return 0
}

/// Reads an array's elements as its dtype allows.
private func touch(_ array: NDArrayView) {
    _ = array.dtype.description
    _ = try? array.elements(as: Float.self)
    _ = try? array.elements(as: Double.self)
    _ = try? array.elements(as: Int32.self)
    _ = try? array.elements(as: UInt8.self)
    _ = array.objects?.map(\.description)
}
