/// Parsers kept between one-shot decodes (``Unpickler/loads(_:options:hooks:buffers:)``), so decoding a small
/// pickle does not pay for creating and freeing a parser: its stack, memo and arenas are already there.
///
/// Only a parser that finished its one pickle cleanly in per-pickle memo mode, with buffers of a modest size,
/// goes back (``PickleParser/isReusable``); it is then reset to the state of a new one. A kept parser holds at
/// most a few hundred KiB (``PickleParser/isReusable`` bounds its buffers), and a ``ReusePool`` keeps at most
/// four, so the pool's memory is bounded.
enum ParserPool {
    /// A parser and the output array its opcode loop is handed (left empty: a one-shot decode returns its
    /// graph directly), both reused.
    struct Entry {
        var parser: PickleParser
        var output: [PickleGraph] = []
    }

    typealias EntryPointer = UnsafeMutablePointer<Entry>

    private static let pool = ReusePool<Entry>()

    /// A parser in the state `PickleParser(options:hooks:buffers:)` creates, reused when one is kept. Give it
    /// back with ``give(_:)`` (which frees it if it is not kept).
    static func take(options: UnpicklerOptions, hooks: UnpicklerHooks, buffers: [OutOfBandBuffer]?) -> EntryPointer {
        if options.memoMode == .perPickle, let entry = pool.take() {
            entry.pointee.parser.reuse(options: options, hooks: hooks, buffers: buffers)
            return entry
        }
        return ReusePool.make(Entry(parser: PickleParser(options: options, hooks: hooks, buffers: buffers)))
    }

    /// Keeps `entry` for a later ``take(options:hooks:buffers:)`` if its parser is reusable and a slot is
    /// free; frees it otherwise. The caller no longer uses it.
    static func give(_ entry: EntryPointer) {
        let keep = isReusable(&entry.pointee.parser)
        if keep {
            // A one-shot decode returns its graph and never appends it: a pooled parser keeps no caller's graph.
            assert(entry.pointee.output.isEmpty, "a one-shot decode left a graph in its output")
            entry.pointee.parser.releaseCallerValues()
        }
        pool.give(entry, keep: keep)
    }

    /// ``PickleParser/isReusable``, read in place (reading it through `pointee` copies the parser, retaining
    /// each of its buffers).
    private static func isReusable(_ parser: inout PickleParser) -> Bool { parser.isReusable }
}
