#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable array of plain values for the decoder's hot loop and for a graph's tables (the parser's
/// stack and memo, a graph's nodes, payload heap and item arenas).
///
/// `Array.append` calls out of line (a uniqueness check, then a capacity check) on every push; here an append
/// is a compare, a store and an increment. The price is that copy-on-write is not checked on every write:
/// the owner calls ``makeUnique()`` when it is entered from outside and is about to write
/// (``PickleParser/feed(_:into:)`` before it runs opcodes; the graph builder before it changes a list or
/// dict that lives in its own buffer), which is enough because nothing can copy the owner while it runs. A
/// copied owner (the parser is a public struct) therefore still behaves as a value. Growing always checks:
/// storage another buffer still uses is never grown in place, so no buffer's memory moves under a copy. A
/// finished graph's buffers are never written again, so any number of readers may share them.
///
/// A buffer may also be a region of memory something else keeps alive (``init(borrowing:count:)``): a small
/// finished graph keeps its nodes, payload bytes and items in one allocation, which its tables hold once
/// (``GraphTables/arena``) instead of each region retaining it.
struct FlatBuffer<Element: BitwiseCopyable>: RandomAccessCollection, MutableCollection {
    /// The storage the buffer owns; nil for a borrowed region.
    private var storage: FlatStorage?
    private var base: UnsafeMutablePointer<Element>
    /// The number of elements the buffer can hold before it grows.
    private(set) var capacity: Int
    /// The number of elements.
    private(set) var count = 0

    init(capacity: Int = 16) {
        let owned = capacity <= 0 ? FlatStorage.empty
            : FlatStorage.make(byteCount: FlatBuffer.byteCount(capacity), growable: true)
        storage = owned
        self.capacity = Swift.max(capacity, 0)
        base = owned.start.assumingMemoryBound(to: Element.self)
    }

    /// A buffer of the given elements (sized to fit them).
    init(_ elements: some Collection<Element>) {
        self.init(capacity: elements.count)
        append(contentsOf: elements)
    }

    /// A full region of `count` elements at `start`, in memory that the caller keeps alive for as long as
    /// this buffer (and every copy of it) is used. The buffer moves to storage of its own if it is ever
    /// grown or made unique.
    init(borrowing start: UnsafeMutableRawPointer, count: Int) {
        storage = nil
        base = start.assumingMemoryBound(to: Element.self)
        capacity = count
        self.count = count
    }

    /// The storage the elements live in (what keeps them alive), or nil for a borrowed region; and where
    /// they start.
    var storageOwner: FlatStorage? { storage }
    var baseAddress: UnsafeMutablePointer<Element> { base }

    /// The bytes `count` elements take.
    static func byteCount(_ count: Int) -> Int {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
        guard !overflow else { fatalError("FlatBuffer: cannot allocate \(count) elements") }
        return bytes
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

    /// Appends `element` into room the caller has made (``growForAppend()``): for an owner that decides how
    /// the buffer grows, so an append checks the capacity once.
    @inline(__always)
    mutating func appendWithinCapacity(_ element: Element) {
        assert(count < capacity, "FlatBuffer.appendWithinCapacity without room")
        base[count] = element
        count += 1
    }

    /// Grows the buffer as an append at full capacity does.
    mutating func growForAppend() { grow(toAtLeast: count + 1) }

    /// Appends `element` `repeatCount` times.
    mutating func append(_ element: Element, repeatCount: Int) {
        if count + repeatCount > capacity { grow(toAtLeast: count + repeatCount) }
        (base + count).initialize(repeating: element, count: repeatCount)
        count += repeatCount
    }

    /// Lets `body` write up to `maxCount` elements' bytes at the end and appends the bytes it wrote.
    /// - Returns: what `body` returns, the number of elements written (at most `maxCount`).
    @inline(__always)
    mutating func appendInPlace(upTo maxCount: Int, _ body: (UnsafeMutableRawPointer) -> Int) -> Int {
        if count + maxCount > capacity { grow(toAtLeast: count + maxCount) }
        let n = body(UnsafeMutableRawPointer(base + count))
        precondition(n >= 0 && n <= maxCount, "FlatBuffer.appendInPlace wrote past its room")
        count += n
        return n
    }

    /// Appends `n` elements left as they are in memory, to be written in place before they are read (room
    /// for a header filled in later).
    @inline(__always)
    mutating func appendUninitialized(_ n: Int) {
        if count + n > capacity { grow(toAtLeast: count + n) }
        count += n
    }

    /// Appends the elements of a buffer in one copy.
    @inline(__always)
    mutating func append(contentsOf elements: UnsafeBufferPointer<Element>) {
        let n = elements.count
        if n == 0 { return }
        if count + n > capacity { grow(toAtLeast: count + n) }
        (base + count).initialize(from: elements.baseAddress!, count: n)
        count += n
    }

    /// Appends any collection's elements (in one copy when they are contiguous).
    mutating func append(contentsOf elements: some Collection<Element>) {
        if let done: Void = elements.withContiguousStorageIfAvailable({ append(contentsOf: $0) }) { return done }
        let n = elements.count
        if count + n > capacity { grow(toAtLeast: count + n) }
        for element in elements {
            base[count] = element
            count += 1
        }
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

    /// The elements' memory, for writing in place (the caller has made the buffer unique).
    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: count * MemoryLayout<Element>.stride))
    }

    func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R? {
        try withUnsafeBufferPointer(body)
    }

    /// Empties the buffer, keeping its storage.
    mutating func removeAll() { count = 0 }

    /// The elements from `start` to the end, valid until the buffer is next changed.
    @inline(__always)
    func suffix(from start: Int) -> UnsafeBufferPointer<Element> {
        precondition(start >= 0 && start <= count, "FlatBuffer suffix out of range")
        return UnsafeBufferPointer(start: base + start, count: count - start)
    }

    /// The elements in `range`, valid while this buffer's storage lives and is not changed (a finished
    /// graph's tables: for as long as the graph).
    @inline(__always)
    func unsafeElements(_ range: Range<Int>) -> UnsafeBufferPointer<Element> {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "FlatBuffer range out of bounds")
        return UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// Copies the elements to `destination` (which has room for them) and returns the bytes written.
    func copyBytes(to destination: UnsafeMutableRawPointer) -> Int {
        let bytes = count &* MemoryLayout<Element>.stride  // elements in memory: cannot overflow
        if bytes > 0 { destination.copyMemory(from: base, byteCount: bytes) }
        return bytes
    }

    @inline(never)
    private mutating func grow(toAtLeast needed: Int) {
        resize(to: Swift.max(needed, capacity * 2, 16))
    }

    /// Grows the storage in place when this buffer owns it alone (and it may grow), else moves to storage of
    /// its own.
    private mutating func resize(to newCapacity: Int) {
        if storage?.isGrowable == true && isKnownUniquelyReferenced(&storage) {
            let used = count * MemoryLayout<Element>.stride
            base = storage.unsafelyUnwrapped.grow(toByteCount: FlatBuffer.byteCount(newCapacity), keeping: used)
                .assumingMemoryBound(to: Element.self)
            capacity = newCapacity
        } else {
            reallocate(capacity: newCapacity)
        }
    }

    private mutating func reallocate(capacity newCapacity: Int) {
        let fresh = FlatStorage.make(byteCount: FlatBuffer.byteCount(Swift.max(newCapacity, 1)), growable: true)
        let freshBase = fresh.start.assumingMemoryBound(to: Element.self)
        freshBase.initialize(from: base, count: count)
        storage = fresh
        base = freshBase
        capacity = Swift.max(newCapacity, 1)
    }
}

extension FlatBuffer: @unchecked Sendable where Element: Sendable {}

/// The header of a ``FlatStorage``.
struct FlatStorageHeader {
    /// The block the elements live in once they outgrew the object's tail (or were too large for it): on the
    /// C heap, or for ``LargeBlocks/threshold`` bytes or more a mapped block.
    var external: UnsafeMutableRawPointer?
    /// The size of `external` when it is a mapped block (``LargeBlocks``); 0 for a C-heap block.
    var mappedByteCount = 0
    /// Whether the one buffer that owns this storage may grow it in place: false for storage that several
    /// buffers share as regions (a finished graph's tables) and for the shared empty storage.
    var growable: Bool
}

/// The memory of flat buffers: one allocation for small ones (the elements live in the object's tail), a
/// C-heap block for larger ones and for those that grew (growing by `realloc`), and from a MiB a mapped
/// block (``LargeBlocks``: grown by remapping its pages, kept for reuse when freed).
final class FlatStorage: ManagedBuffer<FlatStorageHeader, UInt64> {
    /// Larger capacities go to the C heap at once: a buffer that grows then leaves no large tail unused.
    static let tailByteLimit = 4096

    /// Storage with no room, shared by every empty buffer (growing it always allocates anew).
    nonisolated(unsafe) static let empty = FlatStorage.make(byteCount: 0, growable: false)

    /// Storage for `byteCount` bytes, 8-byte aligned.
    static func make(byteCount: Int, growable: Bool) -> FlatStorage {
        let inTail = byteCount <= tailByteLimit
        let words = inTail ? (byteCount + 7) / 8 : 0
        let object = create(minimumCapacity: words) { _ in FlatStorageHeader(external: nil, growable: growable) }
        let storage = unsafeDowncast(object, to: FlatStorage.self)
        if !inTail { storage.attachBlock(byteCount: byteCount, keeping: nil, used: 0) }
        return storage
    }

    /// The header, through a pointer: the class property would be checked for exclusive access at run time.
    private var headerPointer: UnsafeMutablePointer<FlatStorageHeader> { withUnsafeMutablePointerToHeader { $0 } }

    /// Where the elements start.
    var start: UnsafeMutableRawPointer {
        if let external = headerPointer.pointee.external { return external }
        return withUnsafeMutablePointerToElements { UnsafeMutableRawPointer($0) }
    }

    var isGrowable: Bool { headerPointer.pointee.growable }

    /// Makes room for `byteCount` bytes, keeping the first `used` bytes, and returns the new start.
    func grow(toByteCount byteCount: Int, keeping used: Int) -> UnsafeMutableRawPointer {
        let header = headerPointer
        #if os(Linux)
        if let mapped = mappedBlock {
            let block = LargeBlocks.resize(mapped, toAtLeast: byteCount)
            header.pointee.external = block.start
            header.pointee.mappedByteCount = block.byteCount
            return block.start
        }
        #endif
        if let external = header.pointee.external, byteCount < LargeBlocks.threshold {
            let moved = FlatStorage.reallocate(external, byteCount)
            header.pointee.external = moved
            return moved
        }
        attachBlock(byteCount: byteCount, keeping: used > 0 ? start : nil, used: used)
        return header.pointee.external.unsafelyUnwrapped
    }

    /// Gives the storage a new external block of `byteCount` bytes with the first `used` bytes of `old`
    /// copied in, and frees the C-heap block it had, if any (not the tail).
    private func attachBlock(byteCount: Int, keeping old: UnsafeMutableRawPointer?, used: Int) {
        let header = headerPointer
        let previous = header.pointee.external
        #if os(Linux)
        if byteCount >= LargeBlocks.threshold {
            let block = LargeBlocks.allocate(atLeast: byteCount)
            if let old, used > 0 { block.start.copyMemory(from: old, byteCount: used) }
            header.pointee.external = block.start
            header.pointee.mappedByteCount = block.byteCount
            free(previous)
            return
        }
        #endif
        assert(previous == nil, "a C-heap block grows by realloc")
        let fresh = FlatStorage.reallocate(nil, byteCount)
        if let old, used > 0 { fresh.copyMemory(from: old, byteCount: used) }
        header.pointee.external = fresh
    }

    private static func reallocate(_ old: UnsafeMutableRawPointer?, _ byteCount: Int) -> UnsafeMutableRawPointer {
        guard let block = realloc(old, Swift.max(byteCount, 1)) else {
            fatalError("FlatBuffer: cannot allocate \(byteCount) bytes")
        }
        return block
    }

    /// The mapped block the elements live in, if they live in one.
    private var mappedBlock: LargeBlocks.Block? {
        let header = headerPointer.pointee
        guard let external = header.external, header.mappedByteCount > 0 else { return nil }
        return LargeBlocks.Block(start: external, byteCount: header.mappedByteCount)
    }

    deinit {
        #if os(Linux)
        if let mapped = mappedBlock {
            LargeBlocks.release(mapped)
            return
        }
        #endif
        free(headerPointer.pointee.external)
    }
}

extension FlatBuffer where Element == UInt8 {
    /// Appends raw bytes in one copy.
    @inline(__always)
    mutating func append(contentsOf bytes: UnsafeRawBufferPointer) {
        append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
    }

    /// Appends `bytes` if every one is ASCII, checking them as they are copied (short strings: a loop costs
    /// less than a call to `memcpy`); otherwise appends nothing.
    /// - Returns: whether the bytes were ASCII (and appended).
    @inline(__always)
    mutating func appendIfASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let n = bytes.count
        if count + n > capacity { grow(toAtLeast: count + n) }
        let target = base + count
        var high: UInt8 = 0
        if n <= 16 {
            for k in 0 ..< n {
                let byte = bytes[k]
                high |= byte
                target[k] = byte
            }
        } else {
            if n > 0 { UnsafeMutableRawPointer(target).copyMemory(from: bytes.baseAddress!, byteCount: n) }
            if !UTF8Scan.isASCII(bytes) { high = 0x80 }
        }
        guard high < 0x80 else { return false }
        count += n
        return true
    }
}
