/// A reference to one value inside a ``PickleGraph``.
///
/// Small values are stored inline (None, booleans, integers that fit in 61 bits); every other value is the
/// index of a node in the graph's arena. Two references to the same node are the same Python object: that is
/// how sharing and cycles are represented without reference counting.
public struct PickleRef: Hashable, Sendable, BitwiseCopyable {
    let raw: UInt64

    init(raw: UInt64) { self.raw = raw }

    // Tag layout (low 3 bits): 0 node index, 1 inline integer, 2 constant (None/False/True).
    static let tagBits: UInt64 = 3
    static let tagMask: UInt64 = 0b111
    static let nodeTag: UInt64 = 0
    static let intTag: UInt64 = 1
    static let constantTag: UInt64 = 2

    /// Python's `None`.
    public static let none = PickleRef(raw: 0 << 3 | constantTag)
    /// Python's `False`.
    public static let `false` = PickleRef(raw: 1 << 3 | constantTag)
    /// Python's `True`.
    public static let `true` = PickleRef(raw: 2 << 3 | constantTag)

    /// The smallest and largest integers stored inline.
    static let inlineIntRange: ClosedRange<Int64> = (-(1 << 60))...((1 << 60) - 1)

    static func bool(_ value: Bool) -> PickleRef { value ? .true : .false }

    static func inlineInt(_ value: Int64) -> PickleRef {
        PickleRef(raw: UInt64(bitPattern: value << 3) | intTag)
    }

    static func node(_ index: Int) -> PickleRef {
        PickleRef(raw: UInt64(index) << 3 | nodeTag)
    }

    var tag: UInt64 { raw & PickleRef.tagMask }
    var isNode: Bool { tag == PickleRef.nodeTag }
    var nodeIndex: Int { Int(truncatingIfNeeded: raw >> 3) }
    var isInlineInt: Bool { tag == PickleRef.intTag }
    var inlineIntValue: Int64 { Int64(bitPattern: raw) >> 3 }
}
