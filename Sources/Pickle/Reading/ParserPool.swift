/// Parsers kept between one-shot decodes (``Unpickler/loads(_:options:hooks:buffers:)``), so decoding a small
/// pickle does not pay for creating and freeing a parser: its stack, memo and arenas are already there.
///
/// Only a parser that finished its one pickle cleanly in per-pickle memo mode, with buffers of a modest size,
/// goes back (``PickleParser/isReusable``); it is then reset to the state of a new one. A kept parser holds at
/// most a few hundred KiB (``PickleParser/isReusable`` bounds its buffers), and a ``ReusePool`` keeps at most
/// four, so the pool's memory is bounded.
///
/// Parsers of calls with the default options and no hooks (``Unpickler/loads(_:buffers:)``) are kept apart
/// from the others: they are reused without comparing options, and a call with other options does not take
/// one and change them. So at most eight are kept in all.
enum ParserPool {
    /// A parser and the output array its opcode loop is handed (left empty: a one-shot decode returns its
    /// graph directly), both reused.
    struct Entry {
        var parser: PickleParser
        var output: [PickleGraph] = []
    }

    typealias EntryPointer = UnsafeMutablePointer<Entry>

    /// Parsers of calls that passed options and hooks (which may be the defaults).
    private static let pool = ReusePool<Entry>()
    /// Parsers with the default options and no hooks.
    private static let defaultsPool = ReusePool<Entry>()

    /// A parser in the state `PickleParser(options:hooks:)` creates, reused when one is kept, holding `buffers`
    /// for the call (``PickleParser/lendBuffers(_:)``) until the caller gives it back with ``give(_:)``, which
    /// lets them go (and frees the parser if it is not kept).
    static func take(options: UnpicklerOptions, hooks: UnpicklerHooks, buffers: [OutOfBandBuffer]?) -> EntryPointer {
        let entry: EntryPointer
        if options.memoMode == .perPickle, let kept = pool.take() {
            entry = kept
            entry.pointee.parser.reuse(options: options, hooks: hooks)
        } else {
            entry = ReusePool.make(Entry(parser: PickleParser(options: options, hooks: hooks)))
        }
        entry.pointee.parser.lendBuffers(buffers)
        return entry
    }

    /// ``take(options:hooks:buffers:)`` with the default options and no hooks; give it back with
    /// ``giveWithDefaults(_:)``.
    static func takeWithDefaults(buffers: [OutOfBandBuffer]?) -> EntryPointer {
        let entry: EntryPointer
        if let kept = defaultsPool.take() {
            entry = kept
            entry.pointee.parser.reuseKeepingOptions()
        } else {
            entry = ReusePool.make(Entry(parser: PickleParser()))
        }
        entry.pointee.parser.lendBuffers(buffers)
        return entry
    }

    /// Keeps `entry` for a later ``take(options:hooks:buffers:)`` if its parser is reusable and a slot is
    /// free; frees it otherwise (after taking back the lent buffers). The caller no longer uses it.
    static func give(_ entry: EntryPointer) {
        pool.give(entry, keep: prepareToKeep(entry))
    }

    /// ``give(_:)`` for an entry from ``takeWithDefaults(buffers:)``.
    static func giveWithDefaults(_ entry: EntryPointer) {
        defaultsPool.give(entry, keep: prepareToKeep(entry))
    }

    /// Takes back the lent buffers and, when the parser is reusable, drops what else the caller handed in.
    /// - Returns: whether the entry may be kept.
    private static func prepareToKeep(_ entry: EntryPointer) -> Bool {
        entry.pointee.parser.returnLentBuffers()
        let keep = isReusable(&entry.pointee.parser)
        if keep {
            // A one-shot decode returns its graph and never appends it: a pooled parser keeps no caller's graph.
            assert(entry.pointee.output.isEmpty, "a one-shot decode left a graph in its output")
            entry.pointee.parser.releaseCallerValues()
        }
        return keep
    }

    /// ``PickleParser/isReusable``, read in place (reading it through `pointee` copies the parser, retaining
    /// each of its buffers).
    private static func isReusable(_ parser: inout PickleParser) -> Bool { parser.isReusable }
}
