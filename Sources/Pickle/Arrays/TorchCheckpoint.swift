/// A PyTorch checkpoint (`torch.save`) read without PyTorch and without running anything: the archive is
/// mapped, `data.pkl` is decoded into an inert graph, and every tensor in it becomes a ``TensorView`` over
/// its storage record, in place.
///
/// The zip layout `torch.save` writes since PyTorch 1.6: `<folder>/data.pkl`, `<folder>/data/<key>` (one
/// stored record per storage), `<folder>/byteorder` and `<folder>/version`, under any folder name. The pickle
/// refers to storages by persistent id, `('storage', torch.<Type>Storage, key, location, numel)`, and builds
/// tensors with `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[,
/// metadata])`, `_rebuild_tensor(storage, offset, size, stride)` and parameters with `_rebuild_parameter(
/// tensor, requires_grad, hooks)` (or `_rebuild_parameter_with_state`). Tensors are found by walking dicts
/// (an `OrderedDict` state dict included), lists and tuples from the root, named by their path
/// (`model.layers.0.weight`). The pre-1.6 format (a bare pickle stream) is refused with an error that says so.
public struct TorchCheckpoint: Sendable {
    /// The archive.
    public let archive: ZipArchive
    /// The folder the records are in (`archive/`).
    public let folder: String
    /// `data.pkl`, decoded: persistent ids and rebuild calls are inert nodes.
    public let graph: PickleGraph
    /// The byte order of the storages.
    public let byteOrder: NumpyDType.ByteOrder
    /// The tensors found, by path, in the order the walk met them.
    public let tensors: [(name: String, tensor: TensorView)]
    /// Storage keys that more than one tensor views (tied weights, views of one buffer).
    public let sharedStorageKeys: [String]

    /// Opens the checkpoint at `path`.
    /// - Throws: ``ArchiveError`` for a file that is not a readable zip archive (or is the legacy format),
    ///   ``PickleError`` for a malformed `data.pkl`, ``ArrayError/invalid(_:)`` for a tensor that does not
    ///   fit its storage or a storage that does not fit its record (naming the tensor).
    public init(path: String) throws {
        let file = try MappedFile(path: path)
        let archive: ZipArchive
        do {
            archive = try ZipArchive(file)
        } catch let error as ArchiveError {
            // A legacy checkpoint is a pickle stream starting with the magic number, itself a pickle.
            let isPickle = file.count >= 2 && file[0 ..< 2].elementsEqual([0x80, 0x02])
            if isPickle {
                throw ArchiveError.unsupported("\(path) is a legacy (pre-1.6) torch.save file; load and re-save it with a current PyTorch to read it here")
            }
            throw error
        }
        try self.init(archive: archive)
    }

    /// Reads the checkpoint in an opened archive.
    public init(archive: ZipArchive) throws {
        guard let pickleEntry = archive.entries.first(where: { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }) else {
            throw ArchiveError.invalid("no data.pkl: not a torch.save checkpoint", offset: 0)
        }
        let folder = String(pickleEntry.name.dropLast("data.pkl".count))
        self.archive = archive
        self.folder = folder
        if let entry = archive.entry(named: folder + "byteorder") {
            switch String(decoding: try archive.data(of: entry).array, as: UTF8.self) {
            case "little": byteOrder = .little
            case "big": byteOrder = .big
            case let other: throw ArchiveError.invalid("byteorder is '\(other.prefix(20))', not little or big", offset: entry.dataRange.lowerBound)
            }
        } else {
            byteOrder = .little
        }
        graph = try Unpickler.loads(try archive.data(of: pickleEntry).array)
        var walker = TensorWalker(archive: archive, folder: folder, graph: graph, byteOrder: byteOrder)
        try walker.walkAll()
        tensors = walker.found
        sharedStorageKeys = walker.viewsPerKey.filter { $0.value > 1 }.map(\.key).sorted()
    }

    /// The tensor at `name` (`model.layers.0.weight`).
    public func tensor(named name: String) -> TensorView? { tensors.first { $0.name == name }?.tensor }
}

/// Finds the tensors of a checkpoint's graph.
private struct TensorWalker {
    let archive: ZipArchive
    let folder: String
    let graph: PickleGraph
    let byteOrder: NumpyDType.ByteOrder
    var found: [(name: String, tensor: TensorView)] = []
    var storages: [String: TorchStorage] = [:]
    var viewsPerKey: [String: Int] = [:]

    mutating func walkAll() throws {
        try GraphPaths.walk(graph) { ref, name in
            guard let tensor = try tensor(ref, name: name) else { return false }
            found.append((name, tensor))
            viewsPerKey[tensor.storage.key, default: 0] += 1
            return true
        }
    }

    /// The tensor `ref` rebuilds, if it is a rebuild call.
    mutating func tensor(_ ref: PickleRef, name: String) throws -> TensorView? {
        let t = graph.t
        guard let call = t.stdlibCall(ref), call.form == .reduce, call.name.module == "torch._utils" else { return nil }
        func fail(_ reason: String) -> ArrayError { .invalid("tensor '\(name)': \(reason)") }
        switch call.name.name {
        case "_rebuild_tensor_v2", "_rebuild_tensor":
            guard call.args.count >= 4 else { throw fail("\(call.name.name) has \(call.args.count) arguments") }
            let storage = try self.storage(call.args[0], tensor: name)
            guard let offset = t.intValue(call.args[1]), let size = ints(call.args[2]), let stride = ints(call.args[3]) else {
                throw fail("the offset, size or stride is not an int or a tuple of ints")
            }
            let requiresGrad = call.args.count > 4 && call.args[4] == .true
            do {
                return try TensorView(storage: storage, shape: size, stride: stride, storageOffset: offset, requiresGradient: requiresGrad,
                                      isParameter: false, byteOrder: byteOrder)
            } catch ArrayError.invalid(let reason) {
                throw fail(reason)
            }
        case "_rebuild_parameter", "_rebuild_parameter_with_state":
            guard call.args.count >= 2, let data = try tensor(call.args[0], name: name) else { throw fail("a parameter without a tensor") }
            return try TensorView(storage: data.storage, shape: data.shape, stride: data.stride, storageOffset: data.storageOffset,
                                  requiresGradient: call.args[1] == .true, isParameter: true, byteOrder: byteOrder)
        default:
            throw fail("torch._utils.\(call.name.name) is not a rebuild function this library reads")
        }
    }

    func ints(_ ref: PickleRef) -> [Int]? {
        guard let items = graph.t.tupleItems(ref) else { return nil }
        var values: [Int] = []
        for item in items {
            guard let value = graph.t.intValue(item) else { return nil }
            values.append(value)
        }
        return values
    }

    /// The storage a persistent id names, its record checked once.
    mutating func storage(_ ref: PickleRef, tensor: String) throws -> TorchStorage {
        let t = graph.t
        func fail(_ reason: String) -> ArrayError { .invalid("tensor '\(tensor)': \(reason)") }
        guard let node = t.node(ref, .object), case .persistent(let idRef, _) = t.objects[node.a].constructor,
              let id = t.tupleItems(idRef), id.count == 5, t.stringValue(id[0]) == "storage" else {
            throw fail("its storage is not a persistent id ('storage', type, key, location, numel)")
        }
        guard let type = t.globalName(id[1]), type.module == "torch" || type.module == "torch.storage", let dtype = TorchDType(rawValue: type.name) else {
            throw fail("the storage type is not a torch storage class")
        }
        guard let key = t.stringValue(id[2]), let location = t.stringValue(id[3]), let count = t.intValue(id[4]), count >= 0 else {
            throw fail("the storage's key, location or numel is malformed")
        }
        if let known = storages[key] {
            guard known.dtype == dtype, known.count == count else { throw fail("storage '\(key)' is named with two types or sizes") }
            return known
        }
        guard let entry = archive.entry(named: folder + "data/" + key) else { throw fail("no record data/\(key) for its storage") }
        let bytes = try archive.data(of: entry)
        let (size, overflow) = count.multipliedReportingOverflow(by: dtype.itemSize)
        guard !overflow, size <= bytes.count else {
            throw fail("storage '\(key)' of \(count) \(dtype.name) elements needs \(overflow ? "more than Int.max" : String(size)) bytes; its record has \(bytes.count)")
        }
        let storage = TorchStorage(key: key, dtype: dtype, count: count, location: location, bytes: bytes.slice(0 ..< size))
        storages[key] = storage
        return storage
    }
}
