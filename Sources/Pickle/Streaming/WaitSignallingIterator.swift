/// An async iterator that can tell its caller, before it waits, that the next element is not there yet.
///
/// A consumer that buffers what it produces (a tool printing one line per object) uses this to flush
/// exactly when it would otherwise sit on output while waiting for input: a reader on the other end then
/// sees each result as soon as it is complete, and a fast stream still goes out in large blocks.
///
/// ``FileDescriptorByteStream``'s iterator conforms, and so do the stages built on it (``StreamingUnpickler``,
/// the zstd decompressing stage) when their upstream iterator does.
public protocol WaitSignallingIterator: AsyncIteratorProtocol {
    /// The next element, `nil` at the end.
    /// - Parameter beforeWaiting: runs (at most once) when the element is not already available, before the
    ///   iterator waits for it; an error it throws is thrown by this call.
    /// - Throws: what `next()` throws, and what `beforeWaiting` throws.
    mutating func next(beforeWaiting: () throws -> Void) async throws -> Element?
}
