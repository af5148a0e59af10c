import Foundation
import XCTest
@testable import Pickle

/// numpy arrays, dtypes and scalars read from pickles numpy writes at test time, at every protocol and in
/// every form (numpy's `_reconstruct` with BUILD, protocol 5's `_frombuffer` in and out of band), judged by
/// numpy's own view of the same array; hostile arrays are clear errors.
final class NumpyArrayTests: XCTestCase {
    /// For each case: the pickle, the array's bytes in memory order, and `str;name;repr;shape;fortran`.
    private func numpyCases(_ expressions: [String], protocols: ClosedRange<Int> = 0 ... 5) throws -> [(expression: String, protocolVersion: Int, pickle: [UInt8], bytes: [UInt8], facts: [String])] {
        let script = """
        import pickle, sys, numpy as np
        out = sys.stdout.buffer
        def piece(b): out.write(len(b).to_bytes(8, 'little') + b)
        for e in sys.argv[1:]:
            a = eval(e)
            fortran = a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous
            for p in range(\(protocols.lowerBound), \(protocols.upperBound + 1)):
                piece(pickle.dumps(a, p))
                piece(a.tobytes(order='F' if fortran else 'C'))
                piece(';'.join([a.dtype.str, a.dtype.name, repr(a.dtype), ','.join(map(str, a.shape)), str(fortran)]).encode())
        """
        let pieces = Python.lengthPrefixedPieces(try Python.script(script, expressions))
        XCTAssertEqual(pieces.count, expressions.count * protocols.count * 3)
        var cases: [(String, Int, [UInt8], [UInt8], [String])] = []
        for (n, start) in stride(from: 0, to: pieces.count, by: 3).enumerated() {
            let facts = String(decoding: pieces[start + 2], as: UTF8.self).split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            cases.append((expressions[n / protocols.count], protocols.lowerBound + n % protocols.count, pieces[start], pieces[start + 1], facts))
        }
        return cases
    }

    func testEveryBuiltinDTypeAtEveryProtocolAndInEveryChunking() throws {
        let dtypes = ["?", "i1", "<i2", ">i4", "<i8", "u1", ">u2", "<u4", ">u8", "<f2", ">f4", "<f8", ">c8", "<c16",
                      "S5", "<U3", ">U2", "<M8[ms]", ">m8[10s]", "M8[D]", "V4"]
        let expressions = dtypes.map { "np.arange(6).astype('\($0)').reshape(2, 3)" } + [
            "np.zeros((0, 4), 'f4')", "np.array(7, 'i2')", "np.asfortranarray(np.arange(24, dtype='>i4').reshape(2, 3, 4))",
        ]
        for c in try numpyCases(expressions) {
            let graphs = Feeding.run(c.pickle, chunks: Array(0 ..< c.pickle.count)).0
            XCTAssertEqual(graphs.count, 1)
            for graph in [try Unpickler.loads(c.pickle), graphs[0]] {
                let array = try NDArrayView(graph.root)
                let label = "\(c.expression) at protocol \(c.protocolVersion)"
                XCTAssertEqual([array.dtype.typeString, array.dtype.name, array.dtype.description], Array(c.facts[0 ..< 3]), label)
                XCTAssertEqual(array.shape.map(String.init).joined(separator: ","), c.facts[3], label)
                XCTAssertEqual(String(array.isFortranOrder).capitalized, c.facts[4], label)
                XCTAssertEqual(Array(array.bytes), c.bytes, label)
                XCTAssertEqual(array.arrayClass.map { "\($0)" } ?? "numpy.ndarray", "numpy.ndarray", label)
            }
        }
    }

    func testTypedElementsComeOutInCOrderInThisMachinesByteOrder() throws {
        for c in try numpyCases(["np.asfortranarray(np.arange(24, dtype='>i4').reshape(2, 3, 4))"], protocols: 2 ... 5) {
            let array = try NDArrayView(try Unpickler.loads(c.pickle).root)
            XCTAssertTrue(array.isFortranOrder)
            XCTAssertEqual(array.strides, [4, 8, 24])
            XCTAssertEqual(try array.elements(as: Int32.self), Array(0 ..< 24))
            // Memory order, swapped into this machine's order: column-major.
            XCTAssertEqual(try array.withUnsafeBufferPointer(as: Int32.self) { Array($0.prefix(3)) }, [0, 12, 4])
            XCTAssertThrowsError(try array.elements(as: Float.self)) { error in
                XCTAssertEqual(error as? ArrayError, .typeMismatch(expected: "Float", found: array.dtype))
            }
            XCTAssertThrowsError(try array.elements(as: Int64.self))
        }
        let values = try numpyCases(["np.array([1.5, -2.25, 1e300], '>f8')", "np.array([0.5, 65504], '<f2')", "np.array([True, False])",
                                     "np.array(['2026-12-07T13:05', 'NaT'], 'M8[m]')", "np.array([[1, 2], [3, 4]], '<u2')"], protocols: 5 ... 5)
        XCTAssertEqual(try NDArrayView(Unpickler.loads(values[0].pickle).root).elements(as: Double.self), [1.5, -2.25, 1e300])
        XCTAssertEqual(try NDArrayView(Unpickler.loads(values[1].pickle).root).elements(as: Float16.self), [0.5, 65504])
        XCTAssertEqual(try NDArrayView(Unpickler.loads(values[2].pickle).root).elements(as: Bool.self), [true, false])
        let minutes = try NDArrayView(Unpickler.loads(values[3].pickle).root)
        XCTAssertEqual(minutes.dtype.timeUnit?.unit, "m")
        XCTAssertEqual(try minutes.elements(as: Int64.self), [1_796_648_700 / 60, Int64.min], "minutes since 1970, and NaT")
        let matrix = try NDArrayView(Unpickler.loads(values[4].pickle).root)
        XCTAssertEqual(try matrix.withUnsafeBufferPointer(as: UInt16.self) { Array($0) }, [1, 2, 3, 4])
    }

    func testScalarsStructuredAndObjectArrays() throws {
        let script = """
        import pickle, sys, numpy as np
        out = sys.stdout.buffer
        for v in [np.float32(1.5), np.int64(-3), np.zeros(2, [('x', '<f4'), ('name', 'S3'), ('grid', '<i2', (2, 3))]),
                  np.array([1, 'a', None], dtype=object), np.datetime64('2026-12-07', 'D')]:
            for p in (2, 5):
                data = pickle.dumps(v, p)
                out.write(len(data).to_bytes(8, 'little') + data)
        """
        let pieces = Python.lengthPrefixedPieces(try Python.script(script))
        XCTAssertEqual(pieces.count, 10)
        for p in 0 ..< 2 {
            let float = try NDArrayView(Unpickler.loads(pieces[p]).root)
            XCTAssertEqual(float.shape, [])
            XCTAssertEqual(try float.elements(as: Float.self), [1.5])
            XCTAssertEqual(try NDArrayView(Unpickler.loads(pieces[2 + p]).root).elements(as: Int64.self), [-3])
            let records = try NDArrayView(Unpickler.loads(pieces[4 + p]).root)
            XCTAssertEqual(records.dtype.itemSize, 19)
            XCTAssertEqual(records.dtype.fields?.map(\.name), ["x", "name", "grid"])
            XCTAssertEqual(records.dtype.fields?.map(\.offset), [0, 4, 7])
            XCTAssertEqual(records.dtype.fields?[2].dtype.subarray?.shape, [2, 3])
            XCTAssertEqual(records.dtype.fields?[2].dtype.subarray?.base.name, "int16")
            XCTAssertEqual(records.bytes.count, 38)
            XCTAssertThrowsError(try records.elements(as: UInt8.self))
            let objects = try NDArrayView(Unpickler.loads(pieces[6 + p]).root)
            XCTAssertEqual(objects.objects?.map(\.description), ["1", "'a'", "None"])
            XCTAssertEqual(objects.dtype.description, "dtype('O')")
            let day = try NDArrayView(Unpickler.loads(pieces[8 + p]).root)
            XCTAssertEqual(try day.elements(as: Int64.self), [20794])
            XCTAssertEqual(day.dtype.name, "datetime64[D]")
        }
    }

    /// A large array's elements are the input's bytes in band, and the caller's buffer out of band: no copy.
    func testLargeArraysAreSlicesOfTheInputOrOfTheBuffer() throws {
        let script = """
        import pickle, sys, numpy as np
        a = np.arange(1 << 18, dtype='<f4')
        out = sys.stdout.buffer
        buffers = []
        for data in [pickle.dumps(a, 4), pickle.dumps(a, 5), pickle.dumps(a, 5, buffer_callback=buffers.append), bytes(buffers[0].raw())]:
            out.write(len(data).to_bytes(8, 'little') + data)
        """
        let pieces = Python.lengthPrefixedPieces(try Python.script(script))
        for input in pieces[0 ..< 2] {
            let graph = try Unpickler.loads(input)
            let array = try NDArrayView(graph.root)
            XCTAssertEqual(array.count, 1 << 18)
            input.withUnsafeBytes { whole in
                array.bytes.withUnsafeBytes { elements in
                    XCTAssertTrue(elements.baseAddress! >= whole.baseAddress! && elements.baseAddress! + elements.count <= whole.baseAddress! + whole.count,
                                  "the elements are the input's own bytes")
                }
            }
            XCTAssertEqual(try array.withUnsafeBufferPointer(as: Float.self) { $0[12345] }, 12345)
        }
        let buffer = OutOfBandBuffer(pieces[3][...], isReadonly: false)
        let array = try NDArrayView(Unpickler.loads(pieces[2], buffers: [buffer]).root)
        pieces[3].withUnsafeBytes { original in
            array.bytes.withUnsafeBytes { XCTAssertEqual($0.baseAddress, original.baseAddress, "the buffer itself") }
        }
        XCTAssertEqual(try array.withUnsafeBufferPointer(as: Float.self) { $0.last }, Float((1 << 18) - 1))
    }

    /// Arrays that lie (a shape the data does not fill, dimensions that overflow, a dtype numpy never writes,
    /// an order that is not C or F) are errors that say what is wrong; other values are not arrays.
    func testHostileArraysAreClearErrors() throws {
        let script = """
        import pickle, sys, numpy as np, copyreg
        mod = np.ndarray.__reduce__(np.zeros(1))[0].__module__
        rec = np.ndarray.__reduce__(np.zeros(1))[0]
        frombuffer = np.zeros(1).__reduce_ex__(5)[0]
        class Fake:
            def __init__(self, r): self.r = r
            def __reduce__(self): return self.r
        f8 = np.dtype('f8')
        cases = [
            (rec, (np.ndarray, (0,), b'b'), (1, (1000,), f8, False, b'\\0' * 8)),
            (rec, (np.ndarray, (0,), b'b'), (1, (-1,), f8, False, b'')),
            (rec, (np.ndarray, (0,), b'b'), (1, (1 << 40, 1 << 40), f8, False, b'')),
            (rec, (np.ndarray, (0,), b'b'), (1, (1,), 'f8', False, b'\\0' * 8)),
            (rec, (np.ndarray, (0,), b'b'), (1, (1,), f8, 0, b'\\0' * 8)),
            (rec, (np.ndarray, (0,), b'b'), (2, (1,), f8, False, b'\\0' * 8)),
            (rec, (np.ndarray, (0,), b'b'), (1, (2,), np.dtype(object), False, [1])),
            (frombuffer, (bytearray(8), f8, (1,), 'X')),
            (frombuffer, (bytearray(8), f8, (2,), 'C')),
            (np.dtype, ('i3', False, True), (3, '<', None, None, None, -1, -1, 0)),
        ]
        out = sys.stdout.buffer
        for case in cases:
            data = pickle.dumps(Fake(case), 5)
            out.write(len(data).to_bytes(8, 'little') + data)
        """
        let pieces = Python.lengthPrefixedPieces(try Python.script(script))
        let reasons = ["needs 8000 bytes; the data has 8", "a dimension is not an int of at least 0", "overflows", "the dtype is not one numpy writes",
                       "is_fortran is not a bool", "the array's state is not", "holds 2 objects, the list 1", "the order is not 'C' or 'F'",
                       "needs 16 bytes; the data has 8"]
        XCTAssertEqual(pieces.count, reasons.count + 1)
        for (bytes, reason) in zip(pieces, reasons) {
            XCTAssertThrowsError(try NDArrayView(Unpickler.loads(bytes).root), reason) { error in
                guard case .invalid(let text)? = error as? ArrayError else { return XCTFail("\(reason): \(error)") }
                XCTAssertTrue(text.contains(reason), "\(text) should say \(reason)")
            }
        }
        XCTAssertNil(NumpyDType(try Unpickler.loads(pieces[9]).root), "an int of 3 bytes")
        XCTAssertThrowsError(try NDArrayView(Unpickler.loads(try Python.pickles(of: "{'a': 1}", protocols: 5 ... 5)[0].1).root)) { error in
            XCTAssertEqual(error as? ArrayError, .notAnArray)
        }
        // A bool array whose bytes are not 0 or 1 reads them as numpy does, never as invalid Bools.
        let bools = try numpyCases(["np.frombuffer(bytes([0, 2, 255]), '?')"], protocols: 5 ... 5)[0]
        let array = try NDArrayView(Unpickler.loads(bools.pickle).root)
        XCTAssertEqual(try array.elements(as: Bool.self), [false, true, true])
        XCTAssertEqual(try array.withUnsafeBufferPointer(as: Bool.self) { Array($0) }, [false, true, true])
    }

    /// `.npy` files as numpy.save writes them (versions 1 and 2), object arrays through their pickle, and
    /// files that lie as errors.
    func testNpyFilesReadInPlace() throws {
        let script = """
        import io, sys, numpy as np
        out = sys.stdout.buffer
        def piece(b): out.write(len(b).to_bytes(8, 'little') + b)
        arrays = [np.arange(6, dtype='<f8').reshape(2, 3), np.asfortranarray(np.arange(6, dtype='>i4').reshape(2, 3)), np.array(['ab', 'xyz']),
                  np.array(['2026-12-07T13:05'], 'M8[ms]'), np.array(True), np.array([1, 'a', None], dtype=object)]
        for a in arrays:
            f = io.BytesIO(); np.save(f, a); piece(f.getvalue()); piece(a.tobytes(order='A'))
        f = io.BytesIO(); np.lib.format.write_array(f, arrays[0], version=(2, 0)); piece(f.getvalue()); piece(arrays[0].tobytes())
        f = io.BytesIO(); np.save(f, np.zeros(2, [('x', '<f4')])); piece(f.getvalue()); piece(b'')
        """
        let pieces = Python.lengthPrefixedPieces(try Python.script(script))
        XCTAssertEqual(pieces.count, 16)
        let expected: [(String, [Int], Bool)] = [("<f8", [2, 3], false), (">i4", [2, 3], true), ("<U3", [2], false), ("<M8[ms]", [1], false),
                                                 ("|b1", [], false), ("|O", [3], false), ("<f8", [2, 3], false)]
        for (index, (type, shape, fortran)) in expected.enumerated() {
            let file = pieces[2 * index]
            let array = try NDArrayView(npy: file)
            XCTAssertEqual(array.dtype.typeString, type, "file \(index)")
            XCTAssertEqual(array.shape, shape, "file \(index)")
            XCTAssertEqual(array.isFortranOrder, fortran, "file \(index)")
            if type == "|O" {
                XCTAssertEqual(array.objects?.map(\.description), ["1", "'a'", "None"])
                continue
            }
            XCTAssertEqual(Array(array.bytes), pieces[2 * index + 1], "file \(index)")
            XCTAssertTrue(NumpyArrayTests.areInPlace(array.bytes, atTheEndOf: file), "file \(index)")
            // Mapped, the elements stay in the mapping: the file's last bytes.
            let mapped = try NDArrayView(npy: MappedFile(copying: file)[0 ..< file.count])
            XCTAssertEqual(mapped.dtype, array.dtype, "file \(index)")
            XCTAssertEqual(mapped.bytes, array.bytes, "file \(index)")
            XCTAssertEqual(mapped.bytes.fileRange, file.count - array.bytes.count ..< file.count, "file \(index)")
        }
        XCTAssertEqual(try NDArrayView(npy: pieces[2]).elements(as: Int32.self), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try NDArrayView(npy: pieces[14]).dtype.fields?.map(\.name), ["x"])
        var truncated = pieces[0]
        truncated.removeLast(8)
        for (bytes, reason) in [(truncated, "needs 48 bytes; the data has 40"), (Array(pieces[0].prefix(12)), "runs past the file"),
                                (Array("not numpy".utf8), "no \\x93NUMPY magic")] {
            XCTAssertThrowsError(try NDArrayView(npy: bytes), reason) { XCTAssertTrue("\($0)".contains(reason), "\($0) should say \(reason)") }
        }
    }

    /// Structured `.npy` files (a field list as `descr`: padding, titles, nested records, subarray fields)
    /// give the dtype numpy pickles for the same array, the elements in place; a field list that lies is an
    /// error naming what is wrong, and a record holding objects goes through its pickle.
    func testStructuredNpyFilesGiveTheDTypeNumpyPickles() throws {
        let script = """
        import io, pickle, sys, numpy as np
        out = sys.stdout.buffer
        def piece(b): out.write(len(b).to_bytes(8, 'little') + b)
        dtypes = [np.dtype([('x', '<f4'), ('y', '>i8')]),
                  np.dtype([('a', 'u1'), ('b', '<i4'), ('c', 'u1')], align=True),
                  np.dtype([(('Title', 'named'), '<i2'), ('t', '<M8[s]')]),
                  np.dtype([('inner', [('p', '<f8'), ('q', 'S3')]), ('pos', '<i8', (2, 3)), ('u', '<U2')])]
        for d in dtypes:
            a = np.zeros(4, d)
            a.view('u1')[:] = np.arange(a.nbytes) % 251
            f = io.BytesIO(); np.save(f, a); piece(f.getvalue()); piece(pickle.dumps(a, 5)); piece(a.tobytes())
        f = io.BytesIO(); np.save(f, np.array([(1, 'x')], [('n', '<i4'), ('o', 'O')]), allow_pickle=True); piece(f.getvalue())
        """
        let pieces = Python.lengthPrefixedPieces(try Python.script(script))
        XCTAssertEqual(pieces.count, 13)
        for index in 0 ..< 4 {
            let (file, pickle, bytes) = (pieces[3 * index], pieces[3 * index + 1], pieces[3 * index + 2])
            let fromFile = try NDArrayView(npy: file)
            let fromPickle = try NDArrayView(Unpickler.loads(pickle).root)
            XCTAssertEqual(fromFile.dtype, fromPickle.dtype, "dtype \(index)")
            XCTAssertNotNil(fromFile.dtype.fields, "dtype \(index)")
            XCTAssertEqual(fromFile.shape, [4])
            XCTAssertEqual(Array(fromFile.bytes), bytes, "dtype \(index)")
            XCTAssertTrue(NumpyArrayTests.areInPlace(fromFile.bytes, atTheEndOf: file), "in place, dtype \(index)")
        }
        XCTAssertEqual(try NDArrayView(npy: pieces[3]).dtype.fields?.map(\.offset), [0, 4, 8], "padding kept as offsets")
        XCTAssertEqual(try NDArrayView(npy: pieces[6]).dtype.fields?.map(\.name), ["named", "t"], "a titled field by its name")
        let objects = try NDArrayView(npy: pieces[12])
        XCTAssertTrue(objects.dtype.holdsObjects)
        XCTAssertEqual(objects.shape, [1])

        // Hostile field lists, each in a header numpy's own layout would carry.
        func npy(descr: String, shape: String = "(1,)", data: [UInt8] = []) -> [UInt8] {
            var header = Array("{'descr': \(descr), 'fortran_order': False, 'shape': \(shape), }".utf8)
            while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
            header.append(0x0A)
            return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header + data
        }
        let nested = String(repeating: "[('a', ", count: 40) + "'<i4'" + String(repeating: ")]", count: 40)
        for (descr, reason) in [("[('x', '<f4'), ('x', '<i4')]", "names field 'x' twice"),
                                ("[('x', '<i8', (1 << 62, 4))]", "not a Python dict literal"),
                                ("[('x', '<i8', (4611686018427387904, 4))]", "overflows"),
                                ("[('x', '<i8', ('a',))]", "not of ints"),
                                ("[('x',)]", "is not (name, type)"),
                                ("[(3, '<i4')]", "not a str or a (title, name) pair"),
                                ("[('x', '<q4')]", "not a numpy type string"),
                                ("[('t', '<M8[0s]')]", "not a datetime unit"),
                                (nested, "deeper than 32"),
                                ("3", "neither a type string nor a list of fields")] {
            XCTAssertThrowsError(try NDArrayView(npy: npy(descr: descr)), reason) { error in
                XCTAssertTrue("\(error)".contains(reason), "\(error) should say \(reason)")
            }
        }
        // The record's size is the fields' sum: data of another size is refused.
        XCTAssertThrowsError(try NDArrayView(npy: npy(descr: "[('x', '<f4'), ('', '|V4')]", data: [0, 0, 0, 0]))) { error in
            XCTAssertTrue("\(error)".contains("needs 8 bytes; the data has 4"), "\(error)")
        }
        XCTAssertEqual(try NDArrayView(npy: npy(descr: "[('x', '<f4'), ('', '|V4')]", data: Array(repeating: 0, count: 8))).dtype.itemSize, 8)
    }

    /// Arrays written back as numpy pickles them load in numpy as equal arrays (dtype, shape, order, bytes),
    /// without a warning: at protocols 2 to 5, out of band at 5 too, under numpy 2's names and (below 5) numpy
    /// 1's.
    func testArraysWrittenBackLoadInNumpyAsEqualArrays() throws {
        let dtypes = ["?", "i1", ">i4", "<u8", "<f2", ">f8", "<c16", "S5", "<U3", ">m8[10s]", "M8[D]", "V4"]
        let expressions = dtypes.map { "np.arange(6).astype('\($0)').reshape(2, 3)" } + [
            "np.zeros((0, 4), 'f4')", "np.array(7, 'i2')", "np.asfortranarray(np.arange(24, dtype='>i4').reshape(2, 3, 4))", "np.float32(1.5)",
        ]
        var input: [UInt8] = []
        func piece(_ bytes: [UInt8]) { input += withUnsafeBytes(of: UInt64(bytes.count).littleEndian, Array.init) + bytes }
        var written = 0
        for c in try numpyCases(expressions, protocols: 4 ... 4) {
            let array = try NDArrayView(Unpickler.loads(c.pickle).root)
            for p in 2 ... 5 {
                for (outOfBand, modules) in p == 5 ? [(false, NDArrayView.NumpyModules.numpy2), (true, .numpy2)] : [(false, .numpy2), (false, .numpy1)] {
                    let buffers = BufferCollector()
                    var options = PicklerOptions(protocolVersion: p)
                    if outOfBand { options.bufferCallback = { buffers.add($0); return false } }
                    piece(c.pickle)
                    piece(try Pickler.dumps(array.pickleGraph(forProtocol: p, modules: modules), options: options))
                    piece(Array(String(buffers.all.count).utf8))
                    for buffer in buffers.all { piece(Array(buffer.bytes)) }
                    XCTAssertEqual(buffers.all.count, outOfBand && !array.isScalar ? 1 : 0, "a scalar is in band, as numpy writes it")
                    written += 1
                }
            }
        }
        let script = """
        import pickle, sys, numpy as np
        data = sys.stdin.buffer.read()
        pieces, at = [], 0
        while at < len(data):
            n = int.from_bytes(data[at:at + 8], 'little'); pieces.append(data[at + 8:at + 8 + n]); at += 8 + n
        checked = 0
        while pieces:
            original, new, count, pieces = pieces[0], pieces[1], int(pieces[2]), pieces[3:]
            buffers, pieces = pieces[:count], pieces[count:]
            a = pickle.loads(original); b = pickle.loads(new, buffers=buffers)
            # numpy itself loads its protocol 2-4 pickles of big-endian arrays in native order: compare values.
            little = lambda x: np.asarray(x).astype(x.dtype.newbyteorder('<')).tobytes(order='A')
            assert type(a) is type(b) and a.dtype.kind == b.dtype.kind and a.dtype.itemsize == b.dtype.itemsize and a.shape == b.shape, (a, b)
            assert little(a) == little(b) and np.asarray(a).flags.f_contiguous == np.asarray(b).flags.f_contiguous, (a, b)
            checked += 1
        print(checked)
        """
        let result = try Python.run(["-W", "error", "-c", script], stdin: input)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), String(written))
        XCTAssertThrowsError(try NDArrayView(Unpickler.loads(try numpyCases(["np.array([1, None], dtype=object)"], protocols: 4 ... 4)[0].pickle).root)
            .pickleGraph(forProtocol: 4))
    }

    /// An array is a Codable field: decoded in place from CPython's pickle of a dict holding one, and
    /// encoded back so that numpy loads an equal array; a value that is not an array is a DecodingError.
    func testArraysAreCodableFields() throws {
        struct Sample: Codable { let label: String; let pixels: NDArrayView }
        let bytes = try Python.pickles(of: "{'label': 'cat', 'pixels': __import__('numpy').arange(12, dtype='uint8').reshape(3, 4)}", protocols: 5 ... 5)[0].1
        let sample = try PickleDecoder().decode(Sample.self, from: bytes)
        XCTAssertEqual(sample.pixels.shape, [3, 4])
        XCTAssertEqual(try sample.pixels.elements(as: UInt8.self), Array(0 ..< 12))
        let written = try PickleEncoder().encode(sample)
        let result = try Python.run(["-W", "error", "-c", """
        import pickle, sys, numpy as np
        d = pickle.loads(sys.stdin.buffer.read())
        assert d['label'] == 'cat' and (d['pixels'] == np.arange(12, dtype='uint8').reshape(3, 4)).all() and d['pixels'].dtype == np.uint8, d
        """], stdin: written)
        XCTAssertEqual(result.status, 0, result.stderr)
        let notAnArray = try Python.pickles(of: "{'label': 'cat', 'pixels': [1, 2]}", protocols: 5 ... 5)[0].1
        XCTAssertThrowsError(try PickleDecoder().decode(Sample.self, from: notAnArray)) { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["pixels"])
            XCTAssertTrue(context.debugDescription.contains("Expected to decode a numpy array but found a Python list"), context.debugDescription)
        }
        XCTAssertThrowsError(try JSONDecoder().decode([NDArrayView].self, from: Data("[1]".utf8)))
    }

    /// An archive written to a pipe (sizes and CRCs in data descriptors after each entry, stored and
    /// deflated) reads as one written to a file: the directory gives what the local headers leave out.
    func testNpzWrittenThroughAPipeWithDataDescriptors() throws {
        let output = try Python.script("""
        import io, sys, zipfile, numpy as np
        class Pipe(io.RawIOBase):
            def __init__(self): self.data = bytearray()
            def writable(self): return True
            def write(self, b): self.data += b; return len(b)
        pipe = Pipe()
        with zipfile.ZipFile(pipe, 'w') as z:
            for name, method, array in [('a.npy', zipfile.ZIP_STORED, np.arange(5, dtype='<i2')),
                                        ('b.npy', zipfile.ZIP_DEFLATED, np.full(1000, 2.5, '>f8'))]:
                info = zipfile.ZipInfo(name)
                info.compress_type = method
                with z.open(info, 'w') as f:
                    np.save(f, array)
            assert all(i.flag_bits & 8 for i in z.infolist()), 'no data descriptors'
        sys.stdout.buffer.write(pipe.data)
        """)
        let archive = try ZipArchive(MappedFile(copying: output))
        XCTAssertEqual(archive.entries.map(\.compressionMethod), [0, 8])
        let npz = try NumpyArchive(archive: archive)
        XCTAssertEqual(npz.members.map(\.name), ["a", "b"])
        XCTAssertEqual(try npz.array(npz.members[0]).elements(as: Int16.self), [0, 1, 2, 3, 4])
        XCTAssertEqual(try npz.array(npz.members[1]).elements(as: Double.self), Array(repeating: 2.5, count: 1000))
        XCTAssertNoThrow(try archive.data(of: archive.entries[0], verifyingCRC: true))
    }

    /// `.npz` files: every array by name, `savez_compressed`'s deflated entries inflated.
    func testNpzArchivesGiveTheirArraysByName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("npz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let plain = directory.appendingPathComponent("a.npz").path, compressed = directory.appendingPathComponent("c.npz").path
        _ = try Python.script("""
        import numpy as np
        np.savez(\(StdlibText.quoted(plain)), weights=np.arange(6, dtype='<f4').reshape(2, 3), ids=np.array([1, -2], '>i8'), names=np.array(['a', 'bc']))
        np.savez_compressed(\(StdlibText.quoted(compressed)), weights=np.arange(100000, dtype='<i4') % 7, names=np.array(['a', 'bc']))
        import io, zipfile
        f = io.BytesIO(); np.save(f, np.arange(4, dtype='<f8')); short = f.getvalue().replace(b"(4,)", b"(9,)")
        for name, method in [('lying.npz', zipfile.ZIP_STORED), ('lying-deflated.npz', zipfile.ZIP_DEFLATED)]:
            with zipfile.ZipFile(\(StdlibText.quoted(directory.path)) + '/' + name, 'w', method) as z:
                z.writestr('ok.npy', f.getvalue()); z.writestr('short.npy', short)
        """)
        for name in ["lying.npz", "lying-deflated.npz"] {
            XCTAssertThrowsError(try NumpyArchive(path: directory.appendingPathComponent(name).path), name) {
                XCTAssertEqual("\($0)", "not a valid array: array 'short': the shape [9] of 8-byte elements needs 72 bytes; the entry has 32", name)
            }
        }
        let archive = try NumpyArchive(path: plain)
        XCTAssertEqual(archive.members.map(\.name), ["weights", "ids", "names"])
        XCTAssertEqual(archive.members.map(\.header.shape), [[2, 3], [2], [2]])
        XCTAssertEqual(archive.members.map(\.byteCount), [24, 16, 16])
        XCTAssertEqual(try archive.array(archive.members[0]).elements(as: Float.self), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try archive.array(XCTUnwrap(archive.member(named: "ids"))).elements(as: Int64.self), [1, -2])
        XCTAssertEqual(try archive.array(archive.members[2]).dtype.typeString, "<U2")
        XCTAssertTrue(NumpyArchive.isNumpyArchive(archive.archive))
        // The file offset is where the elements lie in the file, and a stored array is read there, in place.
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: plain)))
        let offset = try XCTUnwrap(archive.members[1].fileOffset)
        XCTAssertEqual(Array(file[offset ..< offset + 16]), [0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE])
        XCTAssertEqual(try archive.array(archive.members[1]).bytes.fileRange, offset ..< offset + 16)

        let deflated = try NumpyArchive(path: compressed)
        XCTAssertEqual(deflated.archive.entries.map(\.compressionMethod), [8, 8])
        XCTAssertEqual(deflated.members.map(\.name), ["weights", "names"])
        XCTAssertEqual(deflated.members.map(\.header.shape), [[100_000], [2]], "headers read by inflating only their start")
        XCTAssertEqual(try deflated.array(deflated.members[0]).elements(as: Int32.self), (0 ..< 100_000).map { Int32($0 % 7) })
        XCTAssertEqual(try deflated.array(deflated.members[1]).dtype.typeString, "<U2")
        XCTAssertNil(deflated.members[0].fileOffset, "a deflated array is not in the file as it is")
        XCTAssertNil(try deflated.array(deflated.members[0]).bytes.fileRange)
        // An entry larger than the caller allows is refused before anything is inflated.
        XCTAssertThrowsError(try deflated.archive.contents(of: deflated.archive.entries[0], maxCount: 1000)) { error in
            XCTAssertTrue("\(error)".contains("more than the 1000 asked for"), "\(error)")
        }
    }

    /// Whether `elements` are the last bytes of `file` itself, not a copy of them.
    static func areInPlace(_ elements: ElementBytes, atTheEndOf file: [UInt8]) -> Bool {
        file.withUnsafeBytes { whole in
            elements.withUnsafeBytes { $0.baseAddress == whole.baseAddress.map { $0 + whole.count - elements.count } }
        }
    }
}

/// Collects the out-of-band buffers a pickler hands out.
private final class BufferCollector: @unchecked Sendable {  // used from one test, on one thread
    private(set) var all: [OutOfBandBuffer] = []
    func add(_ buffer: OutOfBandBuffer) { all.append(buffer) }
}
