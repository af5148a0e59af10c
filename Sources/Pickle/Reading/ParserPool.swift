import Synchronization

/// Parsers kept between one-shot decodes (``Unpickler/loads(_:options:hooks:buffers:)``), so decoding a small
/// pickle does not pay for creating and freeing a parser: its stack, memo and arenas are already there.
///
/// Only a parser that finished its one pickle cleanly in per-pickle memo mode, with buffers of a modest size,
/// goes back (``PickleParser/isReusable``); it is then reset to the state of a new one. A few are kept, for
/// callers on several threads; the lock is held only to take one out or put one back. Each parser lives in a
/// box, so taking and keeping one moves a reference, not the parser's few dozen fields. A kept parser holds
/// at most a few hundred KiB (``PickleParser/isReusable`` bounds its buffers), so the pool's memory is bounded.
enum ParserPool {
    /// A parser and the array it delivers its graph into, both reused.
    final class Entry: @unchecked Sendable {
        var parser: PickleParser
        var output: [PickleGraph] = []

        init(_ parser: PickleParser) { self.parser = parser }
    }

    private static let entries = Mutex<[Entry]>([])
    private static let capacity = 4

    /// A parser in the state `PickleParser(options:hooks:buffers:)` creates, reused when one is kept.
    static func take(options: UnpicklerOptions, hooks: UnpicklerHooks, buffers: [OutOfBandBuffer]?) -> Entry {
        if options.memoMode == .perPickle, let entry = entries.withLock({ $0.popLast() }) {
            entry.parser.reuse(options: options, hooks: hooks, buffers: buffers)
            return entry
        }
        return Entry(PickleParser(options: options, hooks: hooks, buffers: buffers))
    }

    /// Keeps `entry` for a later ``take(options:hooks:buffers:)`` if its parser is reusable and there is room.
    /// The caller no longer uses it.
    static func give(_ entry: Entry) {
        guard isReusable(&entry.parser) else { return }
        while !entry.output.isEmpty { entry.output.removeLast() }  // one graph (cheaper than removeAll)
        entries.withLock { pool in
            if pool.count < capacity { pool.append(entry) }
        }
    }

    /// ``PickleParser/isReusable``, read in place (reading it from the entry's property would copy the
    /// parser, retaining each of its buffers).
    private static func isReusable(_ parser: inout PickleParser) -> Bool { parser.isReusable }
}
