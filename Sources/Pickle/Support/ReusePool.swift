import Synchronization

/// A few values kept between calls for reuse (the one-shot decoders' parsers, the one-shot encoders' work
/// lists), so a small call does not pay for allocating and freeing them.
///
/// Each value lives in memory of its own, reached through a pointer: the caller works on it in place, with
/// none of the run-time exclusivity checks that a class's stored property would cost on every access. The
/// pool is four slots, each taken and filled by one atomic exchange (no lock): enough for callers on several
/// threads, and a bound on the memory kept.
final class ReusePool<Value>: @unchecked Sendable {  // the slots are the synchronization (see `take`)
    typealias Pointer = UnsafeMutablePointer<Value>

    private let slots: InlineArray<4, Atomic<Pointer?>> = InlineArray { _ in Atomic(nil) }

    init() {}

    /// A kept value (published with release ordering by ``give(_:keep:)``, taken with acquire: a taken value
    /// has one user), or `nil` when none is kept.
    func take() -> Pointer? {
        for i in slots.indices {
            if let value = slots[i].exchange(nil, ordering: .acquiring) { return value }
        }
        return nil
    }

    /// A kept value, or a new one made by `make`.
    func take(orMake make: () -> Value) -> Pointer {
        take() ?? ReusePool.make(make())
    }

    /// `value` in memory of its own, to be handed to ``give(_:keep:)`` when done.
    static func make(_ value: consuming Value) -> Pointer {
        let pointer = Pointer.allocate(capacity: 1)
        pointer.initialize(to: value)
        return pointer
    }

    /// Keeps `value` for a later ``take()`` if `keep` and a slot is free; frees it otherwise. The caller no
    /// longer uses it.
    func give(_ value: Pointer, keep: Bool = true) {
        if keep {
            for i in slots.indices {
                if slots[i].compareExchange(expected: nil, desired: value, ordering: .releasing).exchanged { return }
            }
        }
        value.deinitialize(count: 1)
        value.deallocate()
    }
}
