import ArgumentParser
import Pickle

/// `pickletool tensors FILE`: the arrays and tensors a checkpoint or pickle holds, without running anything.
struct Tensors: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every tensor of a PyTorch checkpoint (torch.save's zip), or every numpy array of an .npz or .npy file or a pickle: name, dtype, shape, bytes and where they lie in the file.",
        discussion: "Nothing is imported or executed; the file is mapped, not read, so a large checkpoint lists at once. The offset is that of the first element in the file (a tensor's in its storage record; an array's in the pickle when its bytes are stored there in one piece, else '-').")

    @Flag(help: "Print a JSON array of objects (name, dtype, shape, stride, bytes, offset, storage) instead of a table.")
    var json = false

    @Argument(help: "A torch.save checkpoint, an .npz or .npy file, or a pickle file.") var input: String

    struct Row {
        var name: String, dtype: String, shape: [Int], stride: [Int]?, bytes: Int, offset: Int?, storage: String?
    }

    func run() throws {
        let file = try MappedFile(path: input)
        let rows: [Row]
        let noun: String
        let archive = try Tensors.zipArchive(file)
        if let archive, NumpyArchive.isNumpyArchive(archive) {
            noun = "array"
            rows = try NumpyArchive(archive: archive).members.map { member in
                Row(name: member.name, dtype: member.header.dtype.name, shape: member.header.shape, stride: nil, bytes: member.byteCount,
                    offset: member.fileOffset, storage: nil)
            }
        } else if let array = try Tensors.npyFile(file) {
            noun = "array"
            rows = [Row(name: "", dtype: array.dtype.name, shape: array.shape, stride: nil, bytes: array.bytes.count,
                        offset: array.bytes.fileRange?.lowerBound, storage: nil)]
        } else if let archive {
            let checkpoint = try TorchCheckpoint(archive: archive)
            noun = "tensor"
            rows = checkpoint.tensors.map { name, tensor in
                Row(name: name, dtype: tensor.dtype.name, shape: tensor.shape, stride: tensor.stride, bytes: tensor.count * tensor.dtype.itemSize,
                    offset: tensor.storage.bytes.range.lowerBound + tensor.storageOffset * tensor.dtype.itemSize, storage: tensor.storage.key)
            }
        } else {
            noun = "array"
            let bytes = file[0 ..< file.count].array
            let graph = try Unpickler.loads(bytes)
            rows = try NDArrayView.arrays(in: graph).map { name, array in
                // The elements' offset in the file, when they are a slice of the bytes read.
                let offset: Int? = bytes.withUnsafeBytes { whole in
                    array.bytes.withUnsafeBytes { elements in
                        guard let start = elements.baseAddress, let base = whole.baseAddress, start >= base, start + elements.count <= base + whole.count,
                              !elements.isEmpty else { return nil }
                        return start - base
                    }
                }
                return Row(name: name, dtype: array.dtype.name, shape: array.shape, stride: nil, bytes: array.bytes.count, offset: offset, storage: nil)
            }
        }
        let out = OutputFile(fd: 1)
        if json {
            out.write("[\n" + rows.map { row in
                var fields = ["\"name\": \(jsonString(row.name))", "\"dtype\": \(jsonString(row.dtype))", "\"shape\": \(row.shape)"]
                if let stride = row.stride { fields.append("\"stride\": \(stride)") }
                fields.append("\"bytes\": \(row.bytes)")
                fields.append("\"offset\": \(row.offset.map(String.init) ?? "null")")
                if let storage = row.storage { fields.append("\"storage\": \(jsonString(storage))") }
                return "  {" + fields.joined(separator: ", ") + "}"
            }.joined(separator: ",\n") + (rows.isEmpty ? "]\n" : "\n]\n"))
        } else {
            let table = [["name", "dtype", "shape", "bytes", "offset"]] + rows.map {
                [$0.name.isEmpty ? "(root)" : $0.name, $0.dtype, "(" + $0.shape.map(String.init).joined(separator: ", ") + ($0.shape.count == 1 ? ",)" : ")"),
                 String($0.bytes), $0.offset.map(String.init) ?? "-"]
            }
            let widths = (0 ..< 5).map { column in table.map { $0[column].count }.max() ?? 0 }
            for line in table {
                out.write(zip(line, widths).enumerated().map { index, cell in
                    let padding = String(repeating: " ", count: cell.1 - cell.0.count)
                    return index >= 3 ? padding + cell.0 : cell.0 + padding
                }.joined(separator: "  ") + "\n")
            }
            let total = rows.reduce(0) { $0 + $1.bytes }
            out.write("\(rows.count) \(noun)\(rows.count == 1 ? "" : "s"), \(total) bytes\n")
        }
        out.flush()
        try out.stopIfTheReaderHasGone()
    }

    private func jsonString(_ text: String) -> String { JSONText.quoted(text) }

    /// The array of an `.npy` file, its elements left in the mapping; nil for a file without the magic.
    static func npyFile(_ file: MappedFile) throws -> NDArrayView? {
        guard file.count >= 6, file[0 ..< 6].elementsEqual([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) else { return nil }
        return try NDArrayView(npy: file[0 ..< file.count])
    }

    /// The zip archive in `file`, when it starts as one (a local file header); nil for anything else.
    static func zipArchive(_ file: MappedFile) throws -> ZipArchive? {
        guard file.count >= 4, file[0 ..< 4].elementsEqual([0x50, 0x4B, 0x03, 0x04]) else { return nil }
        return try ZipArchive(file)
    }
}

/// `pickletool safetensors INPUT OUTPUT`: a checkpoint's tensors, or a pickle's arrays, as a .safetensors file.
struct SafetensorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "safetensors",
        abstract: "Write the tensors of a PyTorch checkpoint (or the numpy arrays of an .npz or .npy file or a pickle) to a .safetensors file, without running anything.",
        discussion: "Tensors are copied straight from the mapped input, so memory stays near one block however large the file. Tensors that are the same view of one storage (tied weights) are written once, under the first name, and listed; safetensors has no shared storage.")

    @Argument(help: "A torch.save checkpoint, an .npz or .npy file, or a pickle file.") var input: String
    @Argument(help: "The .safetensors file to write.") var output: String

    func run() throws {
        let file = try MappedFile(path: input)
        var writer = SafetensorsWriter()
        let archive = try Tensors.zipArchive(file)
        if let archive, NumpyArchive.isNumpyArchive(archive) {
            let arrays = try NumpyArchive(archive: archive)
            for member in arrays.members { try writer.add(member, of: arrays, named: member.name) }
        } else if let array = try Tensors.npyFile(file) {
            try writer.add(array, named: "array")
        } else if let archive {
            let checkpoint = try TorchCheckpoint(archive: archive)
            for (name, tensor) in checkpoint.tensors { try writer.add(tensor, named: name) }
        } else {
            let graph = try Unpickler.loads(file[0 ..< file.count].array)
            for (name, array) in try NDArrayView.arrays(in: graph) { try writer.add(array, named: name.isEmpty ? "array" : name) }
        }
        try writer.write(to: output, metadata: ["format": "pt"])
        let out = OutputFile(fd: 1)
        let bytes = writer.tensors.reduce(0) { $0 + $1.shape.reduce(1, *) * $1.itemSizeInBytes }
        out.write("wrote \(writer.tensors.count) tensor\(writer.tensors.count == 1 ? "" : "s"), \(bytes) bytes, to \(output)\n")
        for alias in writer.aliases { out.write("  \(alias.dropped): the same view as \(alias.kept), written once\n") }
        out.flush()
    }
}
