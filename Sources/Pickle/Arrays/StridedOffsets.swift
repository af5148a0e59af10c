/// The element offsets of a strided array in C (row-major) order: `start + Σ index[axis] × strides[axis]`
/// for every index, the last axis varying fastest.
struct StridedOffsets: Sequence, IteratorProtocol {
    private let shape: [Int]
    private let strides: [Int]
    private var index: [Int]
    private var offset: Int
    private var remaining: Int

    /// - Parameters:
    ///   - shape: the dimensions (their product, the number of offsets, must not overflow).
    ///   - strides: the step along each dimension, in elements.
    ///   - start: the first element's offset.
    init(shape: [Int], strides: [Int], start: Int = 0) {
        precondition(shape.count == strides.count, "a stride per dimension")
        self.shape = shape
        self.strides = strides
        index = [Int](repeating: 0, count: shape.count)
        offset = start
        remaining = shape.reduce(1, *)
    }

    mutating func next() -> Int? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        let current = offset
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            offset += strides[axis]
            if index[axis] < shape[axis] { break }
            offset -= index[axis] * strides[axis]
            index[axis] = 0
            axis -= 1
        }
        return current
    }
}
