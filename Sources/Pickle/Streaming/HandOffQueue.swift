/// Items produced in batches (the objects one chunk completes, the pieces one compressed chunk inflates to)
/// and handed out one at a time, in order, keeping the storage for the next batch.
///
/// Inlinable, as the iterators that use it: a consumer's `for try await` loop then runs without a call per item.
@usableFromInline
package struct HandOffQueue<Element> {
    /// The batch; append to it only when the queue is empty.
    @usableFromInline package var items: [Element] = []
    @usableFromInline var nextIndex = 0

    @inlinable package init() {}

    /// The next item, or `nil` when every item has been handed out.
    @inlinable package mutating func popFirst() -> Element? {
        guard nextIndex < items.count else { return nil }
        let item = items[nextIndex]
        nextIndex += 1
        if nextIndex == items.count {
            items.removeAll(keepingCapacity: true)
            nextIndex = 0
        }
        return item
    }
}
