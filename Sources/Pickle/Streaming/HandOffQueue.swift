/// Items produced in batches (the objects one chunk completes, the pieces one compressed chunk inflates to)
/// and handed out one at a time, in order, keeping the storage for the next batch.
package struct HandOffQueue<Element> {
    /// The batch; append to it only when the queue is empty.
    package var items: [Element] = []
    private var nextIndex = 0

    package init() {}

    /// The next item, or `nil` when every item has been handed out.
    package mutating func popFirst() -> Element? {
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
