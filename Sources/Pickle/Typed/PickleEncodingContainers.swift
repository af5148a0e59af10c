/// A dict being written: keys and values alternating in its pending container.
struct PickleKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: PickleValueWriter
    let storage: PendingContainer
    let path: CodingPath

    var codingPath: [any CodingKey] { path.keys }

    private func append(_ key: Key, _ value: PickleRef) {
        storage.items.append(.value(writer.key(key, at: path)))
        storage.items.append(.value(value))
    }

    mutating func encodeNil(forKey key: Key) throws { append(key, .none) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { append(key, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { append(key, writer.string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { append(key, writer.graph.builder.float(value)) }
    mutating func encode(_ value: Float, forKey key: Key) throws { append(key, writer.graph.builder.float(Double(value))) }
    mutating func encode(_ value: Int, forKey key: Key) throws { append(key, writer.int(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { append(key, writer.int(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { append(key, writer.int(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { append(key, writer.int(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { append(key, writer.int(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { append(key, writer.int(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { append(key, writer.int(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { append(key, writer.int(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { append(key, writer.int(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { append(key, writer.int(value)) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        append(key, try writer.box(value, at: path.appending(key)))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = PendingContainer(.dict, path.appending(key))
        storage.items.append(.value(writer.key(key, at: path)))
        storage.items.append(.container(nested))
        return KeyedEncodingContainer(PickleKeyedEncodingContainer<NestedKey>(writer: writer, storage: nested, path: nested.path))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = PendingContainer(.list, path.appending(key))
        storage.items.append(.value(writer.key(key, at: path)))
        storage.items.append(.container(nested))
        return PickleUnkeyedEncodingContainer(writer: writer, storage: nested, path: nested.path)
    }

    mutating func superEncoder() -> any Encoder { superEncoder(at: AnyKey(stringValue: "super")) }

    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(at: key) }

    private func superEncoder(at key: some CodingKey) -> any Encoder {
        let sub = writer.subWriter(at: path.appending(key))
        storage.items.append(.value(writer.key(key, at: path)))
        storage.items.append(.writer(sub))
        return sub
    }
}

/// A list (or tuple, or set) being written.
struct PickleUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let writer: PickleValueWriter
    let storage: PendingContainer
    let path: CodingPath

    var codingPath: [any CodingKey] { path.keys }
    var count: Int { storage.items.count }

    private func append(_ value: PickleRef) { storage.items.append(.value(value)) }

    mutating func encodeNil() throws { append(.none) }
    mutating func encode(_ value: Bool) throws { append(.bool(value)) }
    mutating func encode(_ value: String) throws { append(writer.string(value)) }
    mutating func encode(_ value: Double) throws { append(writer.graph.builder.float(value)) }
    mutating func encode(_ value: Float) throws { append(writer.graph.builder.float(Double(value))) }
    mutating func encode(_ value: Int) throws { append(writer.int(value)) }
    mutating func encode(_ value: Int8) throws { append(writer.int(value)) }
    mutating func encode(_ value: Int16) throws { append(writer.int(value)) }
    mutating func encode(_ value: Int32) throws { append(writer.int(value)) }
    mutating func encode(_ value: Int64) throws { append(writer.int(value)) }
    mutating func encode(_ value: UInt) throws { append(writer.int(value)) }
    mutating func encode(_ value: UInt8) throws { append(writer.int(value)) }
    mutating func encode(_ value: UInt16) throws { append(writer.int(value)) }
    mutating func encode(_ value: UInt32) throws { append(writer.int(value)) }
    mutating func encode(_ value: UInt64) throws { append(writer.int(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        append(try writer.box(value, at: path.appending(index: storage.items.count)))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = PendingContainer(.dict, path.appending(index: storage.items.count))
        storage.items.append(.container(nested))
        return KeyedEncodingContainer(PickleKeyedEncodingContainer<NestedKey>(writer: writer, storage: nested, path: nested.path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = PendingContainer(.list, path.appending(index: storage.items.count))
        storage.items.append(.container(nested))
        return PickleUnkeyedEncodingContainer(writer: writer, storage: nested, path: nested.path)
    }

    mutating func superEncoder() -> any Encoder {
        let sub = writer.subWriter(at: path.appending(index: storage.items.count))
        storage.items.append(.writer(sub))
        return sub
    }
}

/// One value being written.
struct PickleSingleValueEncodingContainer: SingleValueEncodingContainer {
    let writer: PickleValueWriter
    let path: CodingPath

    var codingPath: [any CodingKey] { path.keys }

    private func store(_ value: PickleRef) { writer.stored = .value(value) }

    mutating func encodeNil() throws { store(.none) }
    mutating func encode(_ value: Bool) throws { store(.bool(value)) }
    mutating func encode(_ value: String) throws { store(writer.string(value)) }
    mutating func encode(_ value: Double) throws { store(writer.graph.builder.float(value)) }
    mutating func encode(_ value: Float) throws { store(writer.graph.builder.float(Double(value))) }
    mutating func encode(_ value: Int) throws { store(writer.int(value)) }
    mutating func encode(_ value: Int8) throws { store(writer.int(value)) }
    mutating func encode(_ value: Int16) throws { store(writer.int(value)) }
    mutating func encode(_ value: Int32) throws { store(writer.int(value)) }
    mutating func encode(_ value: Int64) throws { store(writer.int(value)) }
    mutating func encode(_ value: UInt) throws { store(writer.int(value)) }
    mutating func encode(_ value: UInt8) throws { store(writer.int(value)) }
    mutating func encode(_ value: UInt16) throws { store(writer.int(value)) }
    mutating func encode(_ value: UInt32) throws { store(writer.int(value)) }
    mutating func encode(_ value: UInt64) throws { store(writer.int(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws { store(try writer.box(value, at: path)) }
}
