import Synchronization

/// Parsers kept between one-shot decodes (``Unpickler/loads(_:options:hooks:buffers:)``), so decoding a small
/// pickle does not pay for creating and freeing a parser: its stack, memo and arenas are already there.
///
/// Only a parser that finished its one pickle cleanly in per-pickle memo mode, with buffers of a modest size,
/// goes back (``PickleParser/isReusable``); it is then reset to the state of a new one. A few are kept, for
/// callers on several threads, each in a slot that is taken and filled by one atomic exchange (no lock). A
/// kept parser lives in memory of its own, reached through a pointer: the decode works on it in place, with
/// none of the run-time exclusivity checks that a class's stored property would cost on every access. A kept
/// parser holds at most a few hundred KiB (``PickleParser/isReusable`` bounds its buffers), so the pool's
/// memory is bounded.
enum ParserPool {
    /// A parser and the array it delivers its graph into, both reused.
    struct Entry {
        var parser: PickleParser
        var output: [PickleGraph] = []
    }

    typealias EntryPointer = UnsafeMutablePointer<Entry>

    /// `nonisolated(unsafe)` because a pointer is not `Sendable`: the slots are the synchronization (an entry
    /// is published with release ordering and taken with acquire), and a taken entry has one user.
    nonisolated(unsafe) private static let slots: InlineArray<4, Atomic<EntryPointer?>> = InlineArray { _ in Atomic(nil) }

    /// A parser in the state `PickleParser(options:hooks:buffers:)` creates, reused when one is kept. Give it
    /// back with ``give(_:)`` (which frees it if it is not kept).
    static func take(options: UnpicklerOptions, hooks: UnpicklerHooks, buffers: [OutOfBandBuffer]?) -> EntryPointer {
        if options.memoMode == .perPickle {
            for i in slots.indices {
                if let entry = slots[i].exchange(nil, ordering: .acquiring) {
                    entry.pointee.parser.reuse(options: options, hooks: hooks, buffers: buffers)
                    return entry
                }
            }
        }
        let entry = EntryPointer.allocate(capacity: 1)
        entry.initialize(to: Entry(parser: PickleParser(options: options, hooks: hooks, buffers: buffers)))
        return entry
    }

    /// Keeps `entry` for a later ``take(options:hooks:buffers:)`` if its parser is reusable and a slot is
    /// free; frees it otherwise. The caller no longer uses it.
    static func give(_ entry: EntryPointer) {
        if isReusable(&entry.pointee.parser) {
            while !entry.pointee.output.isEmpty { entry.pointee.output.removeLast() }  // one graph (cheaper than removeAll)
            for i in slots.indices {
                if slots[i].compareExchange(expected: nil, desired: entry, ordering: .releasing).exchanged { return }
            }
        }
        entry.deinitialize(count: 1)
        entry.deallocate()
    }

    /// ``PickleParser/isReusable``, read in place (reading it through `pointee` copies the parser, retaining
    /// each of its buffers).
    private static func isReusable(_ parser: inout PickleParser) -> Bool { parser.isReusable }
}
