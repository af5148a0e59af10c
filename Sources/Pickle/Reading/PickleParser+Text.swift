/// The text arguments of protocol 0 opcodes and the Python 2 byte strings.
extension PickleParser {
    /// INT: C 3.11 semantics: `strtol(text, 0)`, falling back to `int(text, 0)`; a two-character 0 or 1 is a bool.
    mutating func parseIntLine(_ line: UnsafeRawBufferPointer, _ position: Int) throws -> PickleRef {
        guard !line.isEmpty else {
            throw PickleError(.truncated, offset: position, opcode: .int, "pickle data was truncated: INT has an empty argument")
        }
        if let (value, complete) = TextNumbers.strtolBase0(line), complete {
            if line.count == 2 && (value == 0 || value == 1) { return .bool(value == 1) }
            return builder.int(value)
        }
        return try bigIntFromText(line, .int, position)
    }

    /// LONG: `int(text, 0)` after removing one trailing `L`.
    mutating func parseLongLine(_ line: UnsafeRawBufferPointer, _ position: Int) throws -> PickleRef {
        guard !line.isEmpty else {
            throw PickleError(.truncated, offset: position, opcode: .long, "pickle data was truncated: LONG has an empty argument")
        }
        var text = line.firstIndex(of: 0).map { UnsafeRawBufferPointer(rebasing: line[0 ..< $0]) } ?? line
        if !text.isEmpty && text[text.count - 1] == 0x4C { text = UnsafeRawBufferPointer(rebasing: text[0 ..< text.count - 1]) }
        return try bigIntFromText(text, .long, position)
    }

    private mutating func bigIntFromText(_ line: UnsafeRawBufferPointer, _ op: Opcode, _ position: Int) throws -> PickleRef {
        // CPython parses a C string: text after an embedded NUL is ignored.
        let text = line.firstIndex(of: 0).map { UnsafeRawBufferPointer(rebasing: line[0 ..< $0]) } ?? line
        let digits = text.reduce(0) { $0 + ($1 >= 0x30 && $1 <= 0x39 ? 1 : 0) }
        if digits > options.limits.maxIntDigits {
            throw PickleError(.limitExceeded, offset: position, opcode: op, "exceeds the limit (\(options.limits.maxIntDigits) digits) for integer string conversion")
        }
        guard let bytes = BigIntText.parseInteger(text, base0: true) else {
            throw PickleError(.invalidArgument, offset: position, opcode: op, "invalid literal for int() with base 0: \(PythonRepr.bytes(text))")
        }
        return bytes.withUnsafeBytes { builder.int(twosComplementLE: $0) }
    }

    /// FLOAT: `repr(float)` text, parsed strictly as CPython's C unpickler does.
    func parseFloatLine(_ line: UnsafeRawBufferPointer, _ position: Int) throws -> Double {
        switch TextNumbers.parseFloat(line) {
        case .value(let d)?: return d
        case .overflow?:
            throw PickleError(.invalidArgument, offset: position, opcode: .float, "value too large to convert to float: \(PythonRepr.bytes(line))")
        case nil:
            throw PickleError(.invalidArgument, offset: position, opcode: .float, "could not convert string to float: \(PythonRepr.bytes(line))")
        }
    }

    /// STRING: a quoted Python 2 `repr`, escape-decoded, then decoded with the configured encoding.
    mutating func parseStringLine(_ line: UnsafeRawBufferPointer, _ op: Opcode, _ position: Int) throws -> PickleRef {
        guard line.count >= 2, line[0] == 0x22 || line[0] == 0x27, line[line.count - 1] == line[0] else {
            throw PickleError(.invalidArgument, offset: position, opcode: op, "the STRING opcode argument must be quoted")
        }
        let body = UnsafeRawBufferPointer(rebasing: line[1 ..< line.count - 1])
        switch PythonText.escapeDecode(body) {
        case .success(let bytes):
            let owned = bytes[...]
            return try bytes.withUnsafeBytes { try decodeByteString($0, owned, 0, op, position) }
        case .failure(let error):
            throw PickleError(.invalidArgument, offset: position, opcode: op, error.message)
        }
    }

    /// A Python 2 `str` (STRING, BINSTRING, SHORT_BINSTRING) decoded per `options.encoding`/`errors`.
    ///
    /// Bytes that decode to themselves (ASCII under an ASCII-compatible codec, valid UTF-8 under UTF-8) are
    /// kept as they are, shared with the input when long; anything else is decoded to new UTF-8.
    mutating func decodeByteString(_ bytes: UnsafeRawBufferPointer, _ owner: ArraySlice<UInt8>, _ start: Int,
                                   _ op: Opcode, _ position: Int) throws -> PickleRef {
        func share(_ kind: NodeKind) -> PickleRef {
            if bytes.count >= GraphTables.sliceThreshold {
                let base = owner.startIndex + start
                return builder.payload(kind, sharing: owner[base ..< base + bytes.count])
            }
            return builder.payload(kind, copying: bytes)
        }
        let encoding = options.encoding
        if encoding == .bytes { return share(.bytes) }
        let decoded: [UInt8]
        do throws(CodecFailure) {
            switch encoding {
            case .ascii:
                if UTF8Scan.isASCII(bytes) { return share(.string) }
                decoded = try TextDecoding.decodeASCII(bytes, options.errors)
            case .latin1:
                if UTF8Scan.isASCII(bytes) { return share(.string) }
                decoded = TextDecoding.decodeLatin1(bytes)
            case .utf8:
                if UTF8Scan.isValidStrict(bytes) { return share(.string) }
                decoded = try TextDecoding.decodeUTF8(bytes, from: 0, options.errors, "utf-8")
            default:
                let decoder = encoding.decoder!
                if decoder.decodesASCIIAsItself && UTF8Scan.isASCII(bytes) { return share(.string) }
                decoded = try decoder.decode(bytes, options.errors)
            }
        } catch {
            // A binary string's bytes lie in the stream as they are, so the bad byte's offset is known; a
            // STRING's are escape-decoded first, so only the position in the decoded bytes is.
            var where_ = ""
            if op != .string {
                let payloadOffset = position + (op == .shortBinString ? 2 : 5)
                where_ = " (the string's bytes start at stream offset \(payloadOffset); the bad byte is at \(payloadOffset + error.start))"
            }
            throw PickleError(.decodingFailed, offset: position, opcode: op, error.message + where_)
        }
        return builder.payload(.string, decoded)
    }
}
