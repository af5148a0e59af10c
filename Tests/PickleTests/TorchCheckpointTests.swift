import Foundation
import XCTest
@testable import Pickle

/// PyTorch checkpoints in the layout torch.save writes (made at test time by Tests/Fixtures/torch_layout.py
/// and numpy, since torch is not installed): tensors by name, in place, checked against numpy's values;
/// archives and pickles that lie are clear errors.
final class TorchCheckpointTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("torch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `body` (Python using torch_layout as `t` and numpy as `np`) with `path` set to a file in the
    /// test's directory; returns the path.
    @discardableResult
    private func checkpoint(_ name: String, _ body: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Python.script("import collections, numpy as np, torch_layout as t\npath = \(StdlibText.quoted(path))\n" + body)
        return path
    }

    func testAStateDictsTensorsAreFoundByNameInPlace() throws {
        let path = try checkpoint("model.pt", """
        w = np.arange(12, dtype='float32').reshape(3, 4) / 4
        weight = t.tensor('0', w)
        sd = collections.OrderedDict()
        sd['layer.weight'] = t.Parameter(weight)
        sd['layer.bias'] = t.tensor('1', np.array([1.5, -2, 3], 'float32'))
        sd['embed.weight'] = t.tensor('2', np.arange(10, dtype='float16').reshape(5, 2))
        sd['ids'] = t.tensor('3', np.array([-1, 1 << 40], 'int64'))
        sd['mask'] = t.tensor('4', np.array([True, False, True]))
        sd['layer.weight_t'] = t.Tensor(weight.storage, (4, 3), stride=(1, 4))
        sd['row'] = t.Tensor(weight.storage, (4,), offset=8)
        t.save({'model': sd, 'optimizer': {'state': {0: {'step': t.tensor('5', np.array(7, 'int64'))}}, 'param_groups': [{'lr': 0.1}]}, 'epoch': 3}, path)
        """)
        let checkpoint = try TorchCheckpoint(path: path)
        XCTAssertEqual(checkpoint.folder, "archive/")
        XCTAssertEqual(checkpoint.tensors.map(\.name), ["model.layer.weight", "model.layer.bias", "model.embed.weight", "model.ids", "model.mask",
                                                        "model.layer.weight_t", "model.row", "optimizer.state.0.step"])
        XCTAssertEqual(checkpoint.sharedStorageKeys, ["0"])
        let weight = try XCTUnwrap(checkpoint.tensor(named: "model.layer.weight"))
        XCTAssertTrue(weight.isParameter)
        XCTAssertTrue(weight.requiresGradient)
        XCTAssertEqual(weight.dtype, .float32)
        XCTAssertEqual(weight.shape, [3, 4])
        XCTAssertEqual(try weight.elements(as: Float.self), (0 ..< 12).map { Float($0) / 4 })
        // In place: the tensor's bytes are the record's, aligned to 64 bytes in the file, never copied.
        let bytes = try XCTUnwrap(weight.contiguousBytes)
        XCTAssertTrue(bytes.file === checkpoint.archive.file)
        XCTAssertEqual(bytes.range.lowerBound % 64, 0)
        XCTAssertEqual(bytes.count, 48)
        let transposed = try XCTUnwrap(checkpoint.tensor(named: "model.layer.weight_t"))
        XCTAssertFalse(transposed.isContiguous)
        XCTAssertNil(transposed.contiguousBytes)
        XCTAssertEqual(try transposed.elements(as: Float.self), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11].map { Float($0) / 4 })
        XCTAssertEqual(try checkpoint.tensor(named: "model.row")?.elements(as: Float.self), [2, 2.25, 2.5, 2.75])
        XCTAssertEqual(try checkpoint.tensor(named: "model.layer.bias")?.elements(as: Float.self), [1.5, -2, 3])
        XCTAssertEqual(try checkpoint.tensor(named: "model.embed.weight")?.elements(as: Float16.self), (0 ..< 10).map { Float16($0) })
        XCTAssertEqual(try checkpoint.tensor(named: "model.ids")?.elements(as: Int64.self), [-1, 1 << 40])
        XCTAssertEqual(try checkpoint.tensor(named: "model.mask")?.elements(as: Bool.self), [true, false, true])
        let step = try XCTUnwrap(checkpoint.tensor(named: "optimizer.state.0.step"))
        XCTAssertEqual(step.shape, [])
        XCTAssertEqual(try step.elements(as: Int64.self), [7])
        XCTAssertThrowsError(try weight.elements(as: Double.self))
        // Every record's CRC matches.
        for entry in checkpoint.archive.entries { XCTAssertNoThrow(try checkpoint.archive.data(of: entry, verifyingCRC: true), entry.name) }
    }

    /// A checkpoint of more than 4 GiB, as zipfile writes it: zip64 sizes and offsets in the central
    /// directory and the zip64 end records. The records past the 4 GiB mark read in place, and the large one
    /// is mapped, never read.
    func testCheckpointsLargerThanFourGiBReadThroughZip64() throws {
        let large = (1 << 32) + (1 << 20)
        let path = try checkpoint("large.pt", """
        import io, zipfile
        big = t.Storage('0', np.zeros(1, 'uint8'), numel=\(large))
        sd = collections.OrderedDict([('big', t.Tensor(big, (\(large),))), ('small', t.tensor('1', np.arange(6, dtype='float32') - 2))])
        buffer = io.BytesIO()
        pickler = t._Pickler(buffer)
        pickler.dump(sd)
        chunk = bytes(1 << 24)
        class Sparse(io.FileIO):
            # The zero chunks of the large record become a hole in the file: quick to write, no disk used.
            def write(self, b):
                if b is chunk:
                    self.seek(len(b), 1)
                    return len(b)
                return super().write(b)
        with zipfile.ZipFile(Sparse(path, 'w'), 'w', zipfile.ZIP_STORED) as z:
            t._aligned(z, 'archive/data.pkl', buffer.getvalue())
            info = zipfile.ZipInfo('archive/data/0', date_time=(1980, 1, 1, 0, 0, 0))
            with z.open(info, 'w', force_zip64=True) as f:
                for _ in range(\(large) // len(chunk)):
                    f.write(chunk)
                f.write(bytes(\(large) % len(chunk) - 1) + b'\\x07')
            t._aligned(z, 'archive/data/1', (np.arange(6, dtype='<f4') - 2).tobytes())
            t._aligned(z, 'archive/byteorder', b'little')
            t._aligned(z, 'archive/version', b'3\\n')
        assert z.getinfo('archive/data/1').header_offset > 1 << 32
        """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let checkpoint = try TorchCheckpoint(path: path)
        XCTAssertEqual(checkpoint.tensors.map(\.name), ["big", "small"])
        let small = try XCTUnwrap(checkpoint.tensor(named: "small"))
        XCTAssertGreaterThan(try XCTUnwrap(small.contiguousBytes).range.lowerBound, 1 << 32)
        XCTAssertEqual(try small.elements(as: Float.self), [-2, -1, 0, 1, 2, 3])
        let big = try XCTUnwrap(checkpoint.tensor(named: "big"))
        XCTAssertEqual(big.shape, [large])
        let bytes = try XCTUnwrap(big.contiguousBytes)
        XCTAssertEqual(bytes.count, large)
        XCTAssertEqual(bytes[large - 1], 7, "the record's last byte, where the directory's zip64 sizes say")
        XCTAssertEqual(bytes[0], 0)
        XCTAssertEqual(checkpoint.archive.entry(named: "archive/data/0")?.uncompressedSize, large)
    }

    func testBigEndianArchivesAnyFolderNameAndBFloat16() throws {
        let path = try checkpoint("be.pt", """
        bf = t.Tensor(t.Storage('1', np.array([0x3fc0, 0xc000], 'uint16'), type_name='BFloat16Storage'), (2,))
        t.save({'x': t.tensor('0', np.array([1.5, -2, 1e300], 'float64')), 'bf': bf}, path, folder='my_model', byteorder='big')
        """)
        let checkpoint = try TorchCheckpoint(path: path)
        XCTAssertEqual(checkpoint.folder, "my_model/")
        XCTAssertEqual(checkpoint.byteOrder, .big)
        XCTAssertEqual(try checkpoint.tensor(named: "x")?.elements(as: Double.self), [1.5, -2, 1e300])
        let bf = try XCTUnwrap(checkpoint.tensor(named: "bf"))
        XCTAssertEqual(bf.dtype, .bfloat16)
        XCTAssertEqual(bf.contiguousBytes?.array, [0x3F, 0xC0, 0xC0, 0x00], "bfloat16 1.5 and -2, big-endian")
        XCTAssertThrowsError(try bf.elements(as: UInt16.self)) { error in
            guard case .typeMismatch? = error as? ArrayError else { return XCTFail("\(error)") }
        }
    }

    /// Checkpoints that lie are errors naming the tensor or the byte offset, never traps or reads past the
    /// record: storages larger than their record, views past their storage, negative strides, missing or
    /// compressed records, a corrupt record, a truncated archive, the legacy format, a file that is not a zip.
    func testHostileCheckpointsAreClearErrors() throws {
        let cases: [(String, String)] = [
            ("s = t.Storage('0', np.zeros(4, 'float32'), numel=1000)\nt.save({'w': t.Tensor(s, (4,))}, path)", "needs 4000 bytes; its record has 16"),
            ("s = t.Storage('0', np.zeros(4, 'float32'))\nt.save({'w': t.Tensor(s, (2, 3))}, path)", "reach element 5 of a storage of 4"),
            ("s = t.Storage('0', np.zeros(4, 'float32'))\nt.save({'w': t.Tensor(s, (2,), stride=(-1,), offset=3)}, path)", "negative"),
            ("s = t.Storage('0', np.zeros(4, 'float32'))\nt.save({'w': t.Tensor(s, (1 << 40, 1 << 40), stride=(1 << 40, 1))}, path)", "overflows"),
            ("t.save({'w': t.tensor('0', np.zeros(4, 'float32'))}, path, compress_records=True)", "compressed"),
            ("t.torch.NotAStorage = type('NotAStorage', (), {'__module__': 'torch'})\ns = t.Storage('0', np.zeros(4, 'float32'), type_name='NotAStorage')\nt.save({'w': t.Tensor(s, (4,))}, path)", "not a torch storage class"),
        ]
        for (index, (body, reason)) in cases.enumerated() {
            let path = try checkpoint("bad\(index).pt", body)
            XCTAssertThrowsError(try TorchCheckpoint(path: path), reason) { error in
                XCTAssertTrue("\(error)".contains(reason), "\(error) should say \(reason)")
                if case .invalid(let text)? = error as? ArrayError { XCTAssertTrue(text.contains("tensor 'w'"), text) }
            }
        }
        // A record's byte flipped: the CRC check finds it.
        let good = try checkpoint("good.pt", "t.save({'w': t.tensor('0', np.arange(4, dtype='float32'))}, path)")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: good)))
        let weights = try TorchCheckpoint(path: good)
        let record = try XCTUnwrap(weights.archive.entry(named: "archive/data/0"))
        bytes[record.dataRange.lowerBound + 5] ^= 0xFF
        let corrupt = directory.appendingPathComponent("corrupt.pt")
        try Data(bytes).write(to: corrupt)
        let opened = try ZipArchive(MappedFile(path: corrupt.path))
        XCTAssertThrowsError(try opened.data(of: opened.entry(named: "archive/data/0")!, verifyingCRC: true)) { error in
            XCTAssertTrue("\(error)".contains("CRC-32"), "\(error)")
        }
        // Truncated, legacy, not a zip, and a directory entry pointing at another entry's header.
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: good)))
        var moved = original
        let directoryRecords = (0 ..< original.count - 4).filter { original[$0 ..< $0 + 4].elementsEqual([0x50, 0x4B, 0x01, 0x02]) }
        moved.replaceSubrange(directoryRecords[1] + 42 ..< directoryRecords[1] + 46, with: [0, 0, 0, 0])
        for (name, content, reason) in [("half.pt", Array(original.prefix(original.count / 2)), "not a zip archive"),
                                         ("legacy.pt", [0x80, 0x02, 0x8A, 0x0A] + Array(repeating: 0, count: 40), "legacy"),
                                         ("text.pt", Array("hello".utf8), "too short"),
                                         ("moved.pt", moved, "local header disagrees")] {
            let file = directory.appendingPathComponent(name)
            try Data(content).write(to: file)
            XCTAssertThrowsError(try TorchCheckpoint(path: file.path), name) { error in
                XCTAssertTrue("\(error)".contains(reason), "\(name): \(error) should say \(reason)")
            }
        }
    }

    /// Checkpoints and pickles of arrays become .safetensors files that the reference implementation loads
    /// into numpy's own values: contiguous, strided, big-endian and Fortran-order sources, a tied weight
    /// written once, bfloat16 kept bit for bit.
    func testSafetensorsFilesLoadInTheReferenceImplementation() throws {
        let path = try checkpoint("tied.pt", """
        w = t.tensor('0', np.arange(12, dtype='float32').reshape(3, 4) - 5)
        sd = collections.OrderedDict([('embed.weight', w), ('head.weight', t.Tensor(w.storage, (3, 4))), ('wt', t.Tensor(w.storage, (4, 3), stride=(1, 4))),
            ('ids', t.tensor('1', np.array([-1, 1 << 40], 'int64'))), ('mask', t.tensor('2', np.array([True, False]))),
            ('bf', t.Tensor(t.Storage('3', np.array([0x3fc0, 0xc000], 'uint16'), type_name='BFloat16Storage'), (2,)))])
        t.save(sd, path)
        """)
        let checkpoint = try TorchCheckpoint(path: path)
        var writer = SafetensorsWriter()
        for (name, tensor) in checkpoint.tensors { try writer.add(tensor, named: name) }
        XCTAssertEqual(writer.aliases.map { "\($0.dropped)=\($0.kept)" }, ["head.weight=embed.weight"])
        let output = directory.appendingPathComponent("tied.safetensors").path
        try writer.write(to: output, metadata: ["format": "pt"])
        try Python.script("""
        import json, struct, numpy as np
        from safetensors.numpy import load
        data = open(\(StdlibText.quoted(output)), 'rb').read()
        n = struct.unpack('<Q', data[:8])[0]
        header = json.loads(data[8:8 + n])
        assert n % 8 == 0 and header['__metadata__'] == {'format': 'pt'}, header
        assert header['bf'] == {'dtype': 'BF16', 'shape': [2], 'data_offsets': [header['bf']['data_offsets'][0], header['bf']['data_offsets'][0] + 4]}
        start = 8 + n + header['bf']['data_offsets'][0]
        assert data[start:start + 4] == bytes([0xc0, 0x3f, 0x00, 0xc0]), data[start:start + 4]
        del header['bf']
        # The reference loader, on the file without the bfloat16 tensor numpy cannot hold.
        w = np.arange(12, dtype='float32').reshape(3, 4) - 5
        body = {k: v for k, v in header.items() if k != '__metadata__'}
        arrays = {k: np.frombuffer(data[8 + n + v['data_offsets'][0]:8 + n + v['data_offsets'][1]], {'F32': '<f4', 'I64': '<i8', 'BOOL': '?'}[v['dtype']]).reshape(v['shape']) for k, v in body.items()}
        assert sorted(arrays) == ['embed.weight', 'ids', 'mask', 'wt'], sorted(arrays)
        assert (arrays['embed.weight'] == w).all() and (arrays['wt'] == w.T).all()
        assert arrays['ids'].tolist() == [-1, 1 << 40] and arrays['mask'].tolist() == [True, False]
        """)
        // numpy arrays of a pickle, in every layout, through safetensors' own loader.
        let arrays = directory.appendingPathComponent("arrays.pkl").path
        try Python.script("""
        import pickle, numpy as np
        a = {'c': np.arange(6, dtype='<f8').reshape(2, 3), 'f': np.asfortranarray(np.arange(6, dtype='>i4').reshape(2, 3)), 'h': np.array([0.5, 2], '>f2'), 'u': np.array([7], 'u2')}
        pickle.dump(a, open(\(StdlibText.quoted(arrays)), 'wb'), 4)
        """)
        var fromPickle = SafetensorsWriter()
        for (name, array) in try NDArrayView.arrays(in: Unpickler.loads([UInt8](Data(contentsOf: URL(fileURLWithPath: arrays))))) {
            try fromPickle.add(array, named: name)
        }
        let arraysOut = directory.appendingPathComponent("arrays.safetensors").path
        try fromPickle.write(to: arraysOut)
        try Python.script("""
        import numpy as np
        from safetensors.numpy import load_file
        d = load_file(\(StdlibText.quoted(arraysOut)))
        assert (d['c'] == np.arange(6).reshape(2, 3)).all() and d['c'].dtype == np.float64
        assert (d['f'] == np.arange(6).reshape(2, 3)).all() and d['f'].dtype == np.int32
        assert d['h'].tolist() == [0.5, 2] and d['u'].tolist() == [7], d
        """)
        var complex = SafetensorsWriter()
        let complexPickle = try Python.pickles(of: "{'z': __import__('numpy').zeros(2, 'complex64')}", protocols: 4 ... 4)[0].1
        for (name, array) in try NDArrayView.arrays(in: Unpickler.loads(complexPickle)) {
            XCTAssertThrowsError(try complex.add(array, named: name)) { XCTAssertTrue("\($0)".contains("safetensors cannot hold"), "\($0)") }
        }
    }
}
