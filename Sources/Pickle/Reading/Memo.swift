/// The unpickler's memo: index -> object, with CPython's entry counting for MEMOIZE.
///
/// Dense indices (the normal case: 0, 1, 2, ...) live in an array; far-apart indices (hostile PUTs of
/// 4,000,000,000) go to a dictionary, so no index can force a large allocation. In session mode each entry
/// also remembers which pickle stored it, so an entry from an earlier pickle can be copied into the current
/// graph when it is used.
struct Memo: Sendable {
    static let hole = PickleRef(raw: UInt64.max)
    /// How far past the end of the dense array a PUT may land and still extend it.
    static let maxDenseGap = 4096

    private var dense = FlatBuffer<PickleRef>(capacity: 0)
    private var denseGenerations = FlatBuffer<UInt32>(capacity: 0)
    private var sparse: [Int: (PickleRef, UInt32)] = [:]
    /// Number of entries (CPython's `len(memo)`), the index MEMOIZE stores at.
    private(set) var count = 0
    let tracksGenerations: Bool

    init(tracksGenerations: Bool) { self.tracksGenerations = tracksGenerations }

    /// Slots the dense array holds, holes included (what the memo's memory is proportional to).
    var denseSlotCount: Int { dense.count }
    /// Slots the dense array has room for.
    var denseCapacity: Int { max(dense.capacity, denseGenerations.capacity) }

    /// Forgets every entry, keeping the storage for the next pickle.
    mutating func removeAll() {
        dense.removeAll()
        denseGenerations.removeAll()
        if !sparse.isEmpty { sparse = [:] }
        count = 0
    }

    /// See ``FlatBuffer/makeUnique()``: called by the parser when it is entered.
    mutating func makeUnique() {
        dense.makeUnique()
        denseGenerations.makeUnique()
    }

    @inline(__always)
    mutating func put(_ index: Int, _ ref: PickleRef, generation: UInt32) {
        if index == dense.count && sparse.isEmpty {
            // The usual case (MEMOIZE, or PUT of the next index): append.
            dense.append(ref)
            if tracksGenerations { denseGenerations.append(generation) }
            count += 1
        } else {
            putElsewhere(index, ref, generation: generation)
        }
    }

    /// ``put(_:_:generation:)`` other than at the end of the dense array.
    @inline(never)
    private mutating func putElsewhere(_ index: Int, _ ref: PickleRef, generation: UInt32) {
        if index < dense.count {
            if dense[index] == Memo.hole { count += 1 }
            dense[index] = ref
            if tracksGenerations { denseGenerations[index] = generation }
        } else if index <= dense.count + Memo.maxDenseGap && index <= 2 * count + Memo.maxDenseGap && sparse.isEmpty {
            // Holes never outnumber entries by more than the gap: PUTs that each skip 4096 indexes cannot
            // grow the array 4096 slots per five input bytes.
            if index > dense.count {
                dense.append(Memo.hole, repeatCount: index - dense.count)
                if tracksGenerations {
                    denseGenerations.append(0, repeatCount: index - denseGenerations.count)
                }
            }
            dense.append(ref)
            if tracksGenerations { denseGenerations.append(generation) }
            count += 1
        } else if sparse.updateValue((ref, generation), forKey: index) == nil {
            count += 1
        }
    }

    @inline(__always)
    func get(_ index: Int) -> (ref: PickleRef, generation: UInt32)? {
        if index >= 0 && index < dense.count {
            let ref = dense[index]
            if ref == Memo.hole { return nil }
            return (ref, tracksGenerations ? denseGenerations[index] : 0)
        }
        if let entry = sparse[index] { return entry }
        return nil
    }
}
