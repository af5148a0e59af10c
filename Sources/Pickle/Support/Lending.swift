/// Lending: a value a pooled worker (a one-shot parser or pickler) uses for one call, stored without the
/// retains a copy takes.
///
/// `Unpickler.loads` and `Pickler.dumps` borrow their arguments for the whole call, and their pooled worker is
/// done with them before the call returns; copying an argument into the worker and clearing it afterwards
/// retains and releases every reference it holds, tens of instructions of a call that takes ~1,500. Lent
/// instead, the worker holds a bitwise copy that owns nothing, and forgets it (overwrites it without
/// releasing) before the call returns, on every path, before anything could release it. Anything that
/// copies the lent value while it is lent takes a retain of its own as usual.

/// Stores a bitwise copy of `value` in `field`, which holds nothing that needs releasing (it is forgotten,
/// not destroyed). The caller keeps `value` alive until ``forgetLent(_:leaving:)``.
@inline(__always)
func lend<T>(_ value: T, to field: inout T) {
    withUnsafeMutableBytes(of: &field) { destination in
        withUnsafeBytes(of: value) { destination.copyMemory(from: $0) }
    }
}

/// Overwrites a lent value with `replacement` without releasing it (its lender owns what it refers to).
@inline(__always)
func forgetLent<T>(_ field: inout T, leaving replacement: T) {
    withUnsafeMutablePointer(to: &field) { _ = UnsafeMutableRawPointer($0).initializeMemory(as: T.self, to: replacement) }
}
