/// A static safety scanner for pickles, built on the library's own parser: it reads exactly what CPython's
/// unpickler would build, imports and runs nothing, and reports every global with how it is used, every call
/// with its arguments and byte offset, the data flow from calls to callables, and what the stream does that
/// scanners and loaders disagree on. The verdict fails closed: input that cannot be read to its end is never
/// `safe`.
///
/// Inputs are recognised by their first bytes: zip archives (PyTorch checkpoints, `.npz`: every entry that
/// is a pickle, whatever its name, and every `.npy`), `.npy` files (object arrays hold a pickle), frames of
/// a registered ``Decompressor`` (zstd), and streams of one or more pickles. Pickles inside values (bytes
/// holding a pickle) are scanned too, within ``Limits``.
///
/// ```swift
/// let report = PickleScanner(policy: .numpy).scanFile(atPath: "model.pkl")
/// if report.verdict != .safe { for finding in report.findings { print(finding.message) } }
/// ```
public struct PickleScanner: Sendable {
    /// Bounds on the work one scan does; reaching one is a finding that makes the verdict `error`.
    public struct Limits: Sendable, Equatable {
        /// How deep containers and embedded pickles may nest in each other.
        public var maxDepth = 4
        /// Bytes inflated or decompressed, in total.
        public var maxExpandedBytes = 1 << 29
        /// Pickles scanned, in total.
        public var maxPickles = 1_000_000
        /// Bytes of embedded pickles scanned, in total.
        public var maxEmbeddedBytes = 1 << 28

        public init() {}
    }

    /// A compressed framing the scanner opens: `PickleZstd` provides zstd's.
    public struct Decompressor: Sendable {
        /// Its name, used in locations (`zstd`).
        public var name: String
        /// The bytes its frames start with.
        public var magic: [UInt8]
        /// Decompresses a whole input into at most `maxCount` bytes, or throws.
        public var decompress: @Sendable (_ input: ArraySlice<UInt8>, _ maxCount: Int) throws -> [UInt8]

        public init(name: String, magic: [UInt8], decompress: @escaping @Sendable (_ input: ArraySlice<UInt8>, _ maxCount: Int) throws -> [UInt8]) {
            self.name = name
            self.magic = magic
            self.decompress = decompress
        }
    }

    /// The policy findings are judged by.
    public var policy: ScanPolicy
    /// The scan's bounds.
    public var limits: Limits
    /// The compressed framings opened.
    public var decompressors: [Decompressor]

    public init(policy: ScanPolicy = .stdlib, limits: Limits = Limits(), decompressors: [Decompressor] = []) {
        self.policy = policy
        self.limits = limits
        self.decompressors = decompressors
    }

    /// Scans bytes in memory.
    public func scan(_ bytes: some Collection<UInt8>) -> ScanReport {
        var session = ScanSession(scanner: self)
        let input = Array(bytes)
        session.container = session.scanInput(input[...], file: nil, location: "", depth: 0, fileBase: 0)
        return session.report(byteCount: input.count)
    }

    /// Scans the file at `path`, mapped rather than read (a large checkpoint costs what its pickles do).
    public func scanFile(atPath path: String) -> ScanReport {
        var session = ScanSession(scanner: self)
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch {
            session.add(ScanFinding(kind: .unreadable, severity: .error, location: "", offset: 0, message: "\(error)"))
            return session.report(byteCount: 0)
        }
        session.container = session.scanFile(file)
        return session.report(byteCount: file.count)
    }

    /// The options the scan parses with: every Python 2 string as bytes (so that no decoding error stops it
    /// where a loader with another encoding would go on), names mapped as CPython maps them.
    ///
    /// What a pickle of `count` bytes may decode to: 16 times its size (each value counts 16 bytes, an in-band
    /// payload its length), beyond which it is an amplification (one large str copied by many calls), not
    /// data.
    static func parseOptions(for count: Int) -> UnpicklerOptions {
        var options = UnpicklerOptions()
        options.encoding = .bytes
        options.limits.maxDecodedBytes = max(1 << 26, count.multipliedReportingOverflow(by: 16).overflow ? Int.max : 16 * count)
        return options
    }
}

/// One scan's accumulated state.
struct ScanSession {
    let scanner: PickleScanner
    var findings: [ScanFinding] = []
    var globals: [ScannedGlobal] = []
    var pickleCount = 0
    var expandedBytes = 0
    var embeddedBytes = 0
    var container = "pickle"

    init(scanner: PickleScanner) { self.scanner = scanner }

    mutating func add(_ finding: ScanFinding) { findings.append(finding) }

    func report(byteCount: Int) -> ScanReport {
        ScanReport(verdict: findings.map(\.severity).max() ?? .safe, policy: scanner.policy.name, findings: findings, globals: globals,
                   pickleCount: pickleCount, byteCount: byteCount, container: container)
    }

    private static let zipMagic: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
    private static let emptyZipMagic: [UInt8] = [0x50, 0x4B, 0x05, 0x06]
    private static let npyMagic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// A mapped file: a zip archive read in place, anything else as bytes.
    mutating func scanFile(_ file: MappedFile) -> String {
        let head = file[0 ..< min(8, file.count)].array
        if head.starts(with: Self.zipMagic) || head.starts(with: Self.emptyZipMagic) {
            scanZip(file, location: "", depth: 0, fileBase: 0)
            return "zip"
        }
        return file.withUnsafeBytes(0 ..< file.count) { raw in
            let bytes = Array(raw)
            return scanInput(bytes[...], file: file, location: "", depth: 0, fileBase: 0)
        }
    }

    /// Any input, recognised by its first bytes; returns what it was read as.
    @discardableResult
    /// - Parameter fileBase: where `bytes` lie in the scanned file, when they lie there as they are.
    mutating func scanInput(_ bytes: ArraySlice<UInt8>, file: MappedFile?, location: String, depth: Int, fileBase: Int?) -> String {
        guard depth <= scanner.limits.maxDepth else {
            add(ScanFinding(kind: .budget, severity: .error, location: location, offset: 0,
                            message: "containers and embedded pickles nest deeper than \(scanner.limits.maxDepth): not scanned"))
            return "pickle"
        }
        if bytes.starts(with: Self.zipMagic) || bytes.starts(with: Self.emptyZipMagic) {
            do {
                scanZip(try file ?? MappedFile(copying: bytes), location: location, depth: depth, fileBase: fileBase)
            } catch {
                add(ScanFinding(kind: .unreadable, severity: .error, location: location, offset: 0, message: "\(error)"))
            }
            return "zip"
        }
        if bytes.starts(with: Self.npyMagic) {
            scanNpy(bytes, location: location, depth: depth, fileBase: fileBase)
            return "npy"
        }
        if TarMembers.isTar(bytes) {
            // PyTorch's legacy format is a tar of pickles; a tar's first header can also be read as a pickle
            // (a BINBYTES that swallows it), so both readings are scanned.
            for member in TarMembers.regularFiles(bytes) {
                scanInput(bytes[member.range], file: nil, location: join(location, member.name), depth: depth + 1,
                          fileBase: fileBase.map { $0 + member.range.lowerBound - bytes.startIndex })
            }
            scanStream(bytes, location: location, depth: depth, fileBase: fileBase)
            return "tar"
        }
        for decompressor in scanner.decompressors where bytes.starts(with: decompressor.magic) {
            let room = scanner.limits.maxExpandedBytes - expandedBytes
            do {
                let inner = try decompressor.decompress(bytes, max(room, 0))
                expandedBytes += inner.count
                scanInput(inner[...], file: nil, location: join(location, decompressor.name), depth: depth + 1, fileBase: nil)
            } catch {
                add(ScanFinding(kind: .unreadable, severity: .error, location: location, offset: 0,
                                message: "\(decompressor.name) data that does not decompress within the scan's \(room) bytes: \(error)"))
            }
            return decompressor.name
        }
        scanStream(bytes, location: location, depth: depth, fileBase: fileBase)
        return "pickle"
    }

    /// One or more pickles, one after another. A pickle that uses joblib's array wrapper is read twice: as
    /// `pickle.load` reads it and as `joblib.load` does (arrays inside the stream skipped), and both are
    /// judged; `readsJoblib` is false inside a joblib object array, which joblib reads with a plain unpickler.
    mutating func scanStream(_ bytes: ArraySlice<UInt8>, location: String, depth: Int, fileBase: Int?, readsJoblib: Bool = true) {
        let first = findings.count
        defer {
            if let fileBase {
                for index in first ..< findings.count where findings[index].location == location || findings[index].location == join(location, Self.asJoblib) {
                    findings[index].fileOffset = fileBase + findings[index].offset
                }
            }
        }
        guard !bytes.isEmpty else {
            add(ScanFinding(kind: .unreadable, severity: .error, location: location, offset: 0, message: "empty input: not a pickle"))
            return
        }
        var start = bytes.startIndex
        var complete = 0
        while start < bytes.endIndex {
            guard pickleCount < scanner.limits.maxPickles else {
                add(ScanFinding(kind: .budget, severity: .error, location: location, offset: start - bytes.startIndex,
                                message: "more than \(scanner.limits.maxPickles) pickles: the rest is not scanned"))
                return
            }
            let plain = PickleParser.trace(firstPickleIn: bytes[start...], options: PickleScanner.parseOptions(for: bytes.endIndex - start))
            let base = start - bytes.startIndex
            if !plain.isComplete && complete > 0 && plain.graph.t.nodes.count == 0 && plain.events.isEmpty {
                add(ScanFinding(kind: .trailingBytes, severity: .suspicious, location: location, offset: base,
                                message: "\(bytes.endIndex - start) bytes after the last pickle are not a pickle (\(plain.error.map { "\($0.message)" } ?? ""))"))
                break
            }
            pickleCount += 1
            var readings = [(trace: plain, location: location)]
            var stopsAtArray = false
            let usesJoblib = readsJoblib && plain.graph.t.globals.contains { PickleParser.joblibWrapperNames.contains("\($0.module).\($0.name)") }
            if usesJoblib {
                let joblib = PickleParser.trace(firstPickleIn: bytes[start...], options: PickleScanner.parseOptions(for: bytes.endIndex - start), readsJoblibArrays: true)
                // pickle.load stops at an array's first byte when it is no opcode (a genuine file's padding byte):
                // it runs nothing after it, so that stop is no failure of the scan.
                let arrays = Set(joblib.events.compactMap { event -> Int? in if case .joblibArray = event.kind { return event.offset } else { return nil } })
                if let error = plain.error, error.code == .invalidOpcode, arrays.contains(error.offset) { stopsAtArray = true }
                readings.append((joblib, join(location, Self.asJoblib)))
            }
            var seen = Set<String>()
            for (index, reading) in readings.enumerated() {
                let scan = GraphScan(trace: reading.trace, policy: scanner.policy, location: reading.location, base: base)
                for finding in scan.findings {
                    // The joblib reading repeats what both readings share, before the first array.
                    let key = "\(finding.kind.rawValue)|\(finding.offset)|\(finding.global ?? "")|\(finding.call ?? "")"
                    if seen.insert(key).inserted || index == 0 { findings.append(finding) }
                }
                if index == 0 {
                    globals.append(contentsOf: scan.globals)
                } else {
                    let known = Set(globals.map { "\($0.name)@\($0.offset)" })
                    globals.append(contentsOf: scan.globals.filter { !known.contains("\($0.name)@\($0.offset)") })
                }
                for candidate in scan.embeddedCandidates { scanEmbedded(candidate.bytes, at: candidate.offset, location: reading.location, depth: depth) }
                for range in scan.inlinePickles {
                    let slice = bytes[bytes.startIndex + range.lowerBound ..< bytes.startIndex + range.upperBound]
                    scanStream(slice, location: join(location, "joblib array at \(range.lowerBound)"), depth: depth + 1,
                               fileBase: fileBase.map { $0 + range.lowerBound }, readsJoblib: false)
                }
                guard !reading.trace.isComplete else { continue }
                let offset = base + (reading.trace.error?.offset ?? reading.trace.end)
                if index == 0 && stopsAtArray {
                    add(ScanFinding(kind: .nestedPickle, severity: .safe, location: location, offset: offset,
                                    message: "pickle.load stops here, at a joblib array's data (not an opcode); the file was also read as joblib.load reads it"))
                    continue
                }
                let error = reading.trace.error.map { "\($0.description)" } ?? "the pickle does not end"
                add(ScanFinding(kind: .unreadable, severity: .error, location: reading.location, offset: offset,
                                message: "could not finish: \(error); what comes before was scanned (CPython may have run it before failing)"))
            }
            // The stream goes on where the widest reading ended.
            let last = readings[readings.count - 1].trace
            guard last.isComplete, last.end > 0, plain.isComplete || stopsAtArray else { break }
            complete += 1
            start += last.end
        }
        if complete > 1 {
            add(ScanFinding(kind: .severalPickles, severity: .safe, location: location, offset: 0,
                            message: "\(complete) pickles one after another: pickle.load reads the first, a loop reads them all; each was scanned"))
        }
    }

    /// The location suffix of a stream read as `joblib.load` reads it.
    static let asJoblib = "as joblib.load reads it"

    /// A value's bytes that may be a pickle: scanned as one when its first pickle reads to its STOP.
    private mutating func scanEmbedded(_ bytes: ArraySlice<UInt8>, at offset: Int, location: String, depth: Int) {
        guard PickleParser.trace(firstPickleIn: bytes, options: PickleScanner.parseOptions(for: bytes.count)).isComplete else { return }
        let inner = join(location, "bytes at \(offset)")
        guard depth + 1 <= scanner.limits.maxDepth, embeddedBytes + bytes.count <= scanner.limits.maxEmbeddedBytes else {
            add(ScanFinding(kind: .budget, severity: .error, location: inner, offset: 0,
                            message: "a pickle embedded in a value is beyond the scan's depth or size budget: not scanned"))
            return
        }
        embeddedBytes += bytes.count
        add(ScanFinding(kind: .nestedPickle, severity: .safe, location: location, offset: offset,
                        message: "a value holds a pickle of \(bytes.count) bytes: scanned as '\(inner)'"))
        scanStream(bytes, location: inner, depth: depth + 1, fileBase: nil)
    }

    /// An `.npy` file: only an object array holds a pickle.
    private mutating func scanNpy(_ bytes: ArraySlice<UInt8>, location: String, depth: Int, fileBase: Int?) {
        do {
            let header = try NumpyFileHeader(bytes)
            guard header.dtype.holdsObjects else { return }
            scanStream(bytes.dropFirst(header.dataOffset), location: join(location, "object array"), depth: depth + 1,
                       fileBase: fileBase.map { $0 + header.dataOffset })
        } catch {
            add(ScanFinding(kind: .unreadable, severity: .error, location: location, offset: 0, message: "\(error)"))
        }
    }

    /// A zip archive: every entry that is a pickle (by its name or its first bytes), an `.npy` file, a zip
    /// archive or compressed; a damaged entry is a finding and the others are still scanned.
    private mutating func scanZip(_ file: MappedFile, location: String, depth: Int, fileBase: Int?) {
        let archive: ZipArchive
        do {
            archive = try ZipArchive(file)
        } catch {
            add(ScanFinding(kind: .unreadable, severity: .error, location: location, offset: 0, message: "\(error)"))
            return
        }
        // PyTorch's reader (miniz) finds entries by name ignoring case: `archive/DATA.PKL` is its data.pkl.
        let pickleNames = archive.entries.filter { $0.name.lowercased().hasSuffix("data.pkl") }.map(\.name)
        if pickleNames.count > 1 {
            add(ScanFinding(kind: .severalPickles, severity: .suspicious, location: location, offset: 0,
                            message: "several data.pkl entries (\(pickleNames.joined(separator: ", "))): torch.load reads the one in the first entry's folder; each was scanned"))
        }
        if archive.entries.contains(where: { $0.name.lowercased().hasSuffix("constants.pkl") }) && archive.entries.contains(where: { $0.name.lowercased().contains("/code/") }) {
            add(ScanFinding(kind: .unreadable, severity: .suspicious, location: location, offset: 0,
                            message: "a TorchScript archive (constants.pkl and code/): torch.load hands it to torch.jit.load, which runs its code; the code is not scanned"))
        }
        for entry in archive.entries where entry.uncompressedSize > 0 {
            let name = join(location, entry.name)
            do {
                let head = try archive.prefix(of: entry, count: 8)
                let lowered = entry.name.lowercased()
                let named = [".pkl", ".pickle", ".pck", ".npy"].contains { lowered.hasSuffix($0) }
                let recognised = head.starts(with: Self.zipMagic) || head.starts(with: Self.npyMagic)
                    || scanner.decompressors.contains { head.starts(with: $0.magic) } || EmbeddedPickles.mayBePickle(head[...], textOnly: false)
                guard named || recognised || EmbeddedPickles.startsAPickle(entry: entry, in: archive) else { continue }
                let room = scanner.limits.maxExpandedBytes - expandedBytes
                let contents = try archive.contents(of: entry, maxCount: max(room, 0))
                if entry.compressionMethod != 0 { expandedBytes += contents.count }
                let inPlace = entry.compressionMethod == 0 ? fileBase.map { $0 + entry.dataRange.lowerBound } : nil
                scanInput(contents[...], file: nil, location: name, depth: depth + 1, fileBase: inPlace)
            } catch {
                add(ScanFinding(kind: .unreadable, severity: .error, location: name, offset: 0,
                                message: "could not read the entry: \(error); the other entries were scanned"))
            }
        }
    }

    private func join(_ location: String, _ part: String) -> String { location.isEmpty ? part : location + " > " + part }
}

/// How a value's bytes, or a zip entry, are told to be worth parsing as a pickle.
enum EmbeddedPickles {
    /// PROTO 0 to 5 first, or (protocols 0 and 1, which have no PROTO) an opcode first and STOP last.
    static func mayBePickle(_ bytes: ArraySlice<UInt8>, textOnly: Bool) -> Bool {
        guard let first = bytes.first, let last = bytes.last, bytes.count >= 2 else { return false }
        if !textOnly && first == 0x80 && bytes[bytes.startIndex + 1] <= 5 { return true }
        return last == 0x2E && Opcode(rawValue: first) != nil
    }

    /// A small entry that begins with a whole pickle (a protocol 0 or 1 pickle has no PROTO to know it
    /// by), whatever follows it: a loader reads the first pickle and stops.
    static func startsAPickle(entry: ZipArchive.Entry, in archive: ZipArchive) -> Bool {
        guard entry.uncompressedSize >= 2, entry.uncompressedSize <= 1 << 24,
              let head = try? archive.prefix(of: entry, count: 1), let first = head.first, Opcode(rawValue: first) != nil,
              let contents = try? archive.contents(of: entry, maxCount: 1 << 24) else {
            return false
        }
        return PickleParser.trace(firstPickleIn: contents[...], options: PickleScanner.parseOptions(for: contents.count)).isComplete
    }
}

/// The regular files of a tar archive (ustar), as `tarfile` lists them: name, and where the data lies.
enum TarMembers {
    static func isTar(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.count >= 512 && bytes[bytes.startIndex + 257 ..< bytes.startIndex + 262].elementsEqual("ustar".utf8)
    }

    static func regularFiles(_ bytes: ArraySlice<UInt8>) -> [(name: String, range: Range<Int>)] {
        var members: [(name: String, range: Range<Int>)] = []
        var header = bytes.startIndex
        while header + 512 <= bytes.endIndex {
            let block = bytes[header ..< header + 512]
            if block.allSatisfy({ $0 == 0 }) { break }
            let name = String(decoding: block.prefix(100).prefix { $0 != 0 }, as: UTF8.self)
            let sizeField = block.dropFirst(124).prefix(12).filter { (0x30 ... 0x37).contains($0) }
            guard let size = Int(String(decoding: sizeField, as: UTF8.self), radix: 8), size >= 0,
                  size <= bytes.endIndex - header - 512 else { break }
            let type = block[block.startIndex + 156]
            if type == 0x30 || type == 0 { members.append((name, header + 512 ..< header + 512 + size)) }
            header += 512 + (size + 511) / 512 * 512
        }
        return members
    }
}
