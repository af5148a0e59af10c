extension Array where Element == UInt8 {
    /// The chunk itself, or, when it fills less than half its capacity, a copy of exactly its size: a payload
    /// slice the graph keeps of a chunk then never pins a large, mostly empty buffer.
    package func compactedIfMostlyEmpty() -> [UInt8] {
        guard count * 2 < capacity else { return self }
        return [UInt8](unsafeUninitializedCapacity: count) { copy, initialized in
            initialized = withUnsafeBufferPointer { copy.initialize(fromContentsOf: $0) }
        }
    }
}
