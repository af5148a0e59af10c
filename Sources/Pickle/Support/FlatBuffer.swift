#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable array of plain values for the decoder's hot loop (the parser's stack and memo, the graph's
/// node arena).
///
/// `Array.append` calls out of line (a uniqueness check, then a capacity check) on every push; here an append
/// is a compare, a store and an increment. The price is that copy-on-write is not checked on every write:
/// the owner calls ``makeUnique()`` when it is entered from outside and is about to write
/// (``PickleParser/feed(_:into:)`` before it runs opcodes), which is enough because nothing can copy the
/// owner while it runs. A copied owner (the parser is a public struct) therefore still behaves as a value. A finished graph's buffers are
/// never written again, so any number of readers may share them.
struct FlatBuffer<Element: BitwiseCopyable>: RandomAccessCollection, MutableCollection {
    /// Owns the allocation (C heap, so a large arena grows by `realloc`, which moves pages instead of
    /// copying them and faulting in fresh ones); the buffer itself keeps the pointer, so hot paths never touch
    /// the object.
    private final class Storage {
        private(set) var base: UnsafeMutablePointer<Element>

        init(capacity: Int) { base = Storage.resized(nil, capacity) }

        /// Grows the allocation to `capacity` elements, keeping the contents.
        func grow(to capacity: Int) { base = Storage.resized(base, capacity) }

        private static func resized(_ old: UnsafeMutablePointer<Element>?, _ capacity: Int) -> UnsafeMutablePointer<Element> {
            let (bytes, overflow) = capacity.multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
            guard !overflow, let raw = realloc(old, bytes) else { fatalError("FlatBuffer: cannot allocate \(capacity) elements") }
            return raw.assumingMemoryBound(to: Element.self)
        }

        deinit { free(base) }
    }

    private var storage: Storage
    private var base: UnsafeMutablePointer<Element>
    private var capacity: Int
    /// The number of elements.
    private(set) var count = 0

    init(capacity: Int = 16) {
        self.capacity = Swift.max(capacity, 1)
        storage = Storage(capacity: self.capacity)
        base = storage.base
    }

    var startIndex: Int { 0 }
    var endIndex: Int { count }
    var isEmpty: Bool { count == 0 }

    subscript(position: Int) -> Element {
        @inline(__always) get {
            precondition(position >= 0 && position < count, "FlatBuffer index out of range")
            return base[position]
        }
        @inline(__always) set {
            precondition(position >= 0 && position < count, "FlatBuffer index out of range")
            base[position] = newValue
        }
    }

    /// Gives this value its own storage if it shares it with a copy. Call before writing after the owner may
    /// have been copied.
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { reallocate(capacity: capacity) }
    }

    @inline(__always)
    mutating func append(_ element: Element) {
        if count == capacity { grow(toAtLeast: count + 1) }
        base[count] = element
        count += 1
    }

    /// Appends `element` `repeatCount` times.
    mutating func append(_ element: Element, repeatCount: Int) {
        if count + repeatCount > capacity { grow(toAtLeast: count + repeatCount) }
        (base + count).initialize(repeating: element, count: repeatCount)
        count += repeatCount
    }

    @inline(__always) @discardableResult
    mutating func removeLast() -> Element {
        precondition(count > 0, "removeLast from an empty FlatBuffer")
        count -= 1
        return base[count]
    }

    @inline(__always)
    mutating func removeLast(_ k: Int) {
        precondition(k >= 0 && k <= count, "FlatBuffer.removeLast beyond its count")
        count -= k
    }

    /// Drops the elements from `start` to the end.
    @inline(__always)
    mutating func removeSuffix(from start: Int) {
        precondition(start >= 0 && start <= count, "FlatBuffer suffix out of range")
        count = start
    }

    /// Makes room for `minimumCapacity` elements in all.
    mutating func reserveCapacity(_ minimumCapacity: Int) {
        if minimumCapacity > capacity { resize(to: minimumCapacity) }
    }

    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// Empties the buffer, keeping its storage.
    mutating func removeAll() { count = 0 }

    /// The elements from `start` to the end, valid until the buffer is next changed.
    @inline(__always)
    func suffix(from start: Int) -> UnsafeBufferPointer<Element> {
        precondition(start >= 0 && start <= count, "FlatBuffer suffix out of range")
        return UnsafeBufferPointer(start: base + start, count: count - start)
    }

    @inline(never)
    private mutating func grow(toAtLeast needed: Int) {
        resize(to: Swift.max(needed, capacity * 2))
    }

    /// Grows the storage in place when this buffer owns it alone, else moves to storage of its own.
    private mutating func resize(to newCapacity: Int) {
        if isKnownUniquelyReferenced(&storage) {
            storage.grow(to: newCapacity)
            base = storage.base
            capacity = newCapacity
        } else {
            reallocate(capacity: newCapacity)
        }
    }

    private mutating func reallocate(capacity newCapacity: Int) {
        let fresh = Storage(capacity: newCapacity)
        fresh.base.initialize(from: base, count: count)
        storage = fresh
        base = fresh.base
        capacity = newCapacity
    }
}

extension FlatBuffer: @unchecked Sendable where Element: Sendable {}
