// The standard library value types as fields of Codable types: decoded by PickleDecoder from the value
// CPython pickled, and encoded by PickleEncoder as CPython pickles it.

extension PickleStdlibValue where Self: Decodable {
    /// Recognises the value being decoded, with ``PickleDecoder``.
    /// - Throws: `DecodingError.typeMismatch` when the value is not this one as CPython pickles it, or from
    ///   any decoder but ``PickleDecoder``'s.
    public init(from decoder: any Decoder) throws {
        guard let reader = decoder as? PickleValueReader else {
            throw DecodingError.typeMismatch(Self.self, .init(codingPath: decoder.codingPath, debugDescription: "\(Self.self) is decoded only by PickleDecoder"))
        }
        guard let value = Self(PickleNode(graph: reader.graph, ref: reader.ref)) else {
            throw reader.mismatch(Self.self, reader.ref, reader.path)
        }
        self = value
    }
}

extension PickleStdlibValue where Self: Encodable {
    /// Writes the value as CPython pickles it, with ``PickleEncoder``.
    /// - Throws: `EncodingError.invalidValue` from any encoder but ``PickleEncoder``'s.
    public func encode(to encoder: any Encoder) throws {
        guard let writer = encoder as? PickleValueWriter else {
            throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath, debugDescription: "\(Self.self) is encoded only by PickleEncoder"))
        }
        writer.stored = .value(writer.insert(pickleValue))
    }
}

extension PythonDateTime: Codable {}
extension PythonDate: Codable {}
extension PythonTime: Codable {}
extension PythonTimeDelta: Codable {}
extension PythonTimeZone: Codable {}
extension PythonZoneInfo: Codable {}
extension PythonTZInfo: Codable {}
extension PythonDecimal: Codable {}
extension PythonUUID: Codable {}
extension PythonFraction: Codable {}
extension PythonComplex: Codable {}
extension PythonPath: Codable {}
extension PythonIPv4Address: Codable {}
extension PythonIPv6Address: Codable {}
extension PythonIPNetwork: Codable {}
extension PythonIPInterface: Codable {}
