#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPickleSystem
import Synchronization

/// Memory for flat buffers of a MiB or more (a large graph's arenas): mapped from the kernel, grown by
/// remapping, and kept for reuse when freed (Linux; elsewhere such buffers stay on the C heap).
///
/// Through `malloc`, a pickle fed in chunks (which reserves its arenas for several times the input seen so
/// far: 56 MiB at 4 MiB into a 4.3 MiB pickle of 100k dicts) left that much free at the top of glibc's heap
/// when its graph was freed, and glibc gave it back to the kernel: every decode faulted its arenas in again,
/// page by page, and arenas that grew inside the heap were copied. Here an arena grows by `mremap` (its
/// pages move, nothing is copied), and the blocks of a freed graph are kept, up to ``keptByteLimit`` bytes
/// and ``keptCountLimit`` blocks, for the next large graph, whose arenas then reuse pages already mapped:
/// a third of the page faults, and a chunked decode nearly as fast as a whole one. The price is memory kept
/// after a large graph is freed.
///
/// Kept blocks are not handed back with `MADV_FREE`: marking them per decode costs more than the faults it
/// would save.
///
/// New mappings ask for transparent huge pages (`MADV_HUGEPAGE`, where THP is `always` or `madvise`): each
/// aligned 2 MiB of a block then takes one fault instead of 512, and the advice stays with the mapping when
/// it is remapped. It matters for graphs larger than the kept blocks (1M dicts: ~200 MB of arenas). The
/// price is memory: a huge page is backed whole once any byte of it is written, so an arena reserved ahead of
/// its input holds up to 2 MiB more. The advice is not repeated after each remap: that costs a system call
/// per growth.
enum LargeBlocks {
    /// A mapped block: its start and its size in bytes (whole pages).
    struct Block: @unchecked Sendable {  // the memory is owned by whoever holds the block
        var start: UnsafeMutableRawPointer
        var byteCount: Int
    }

    /// Buffers of at least this many bytes are mapped (Linux).
    #if os(Linux)
    static let threshold = 1 << 20
    #else
    static let threshold = Int.max
    #endif

    /// The most bytes of freed blocks kept for reuse, and the most blocks.
    static let keptByteLimit = 128 << 20
    static let keptCountLimit = 8

    private static let kept = Mutex<[Block]>([])

    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    private static func pageRounded(_ byteCount: Int) -> Int {
        (byteCount + pageSize - 1) & ~(pageSize - 1)
    }

    #if os(Linux)
    /// A block of at least `byteCount` bytes: the smallest kept block that is large enough, else the largest
    /// kept block enlarged, else a new mapping.
    static func allocate(atLeast byteCount: Int) -> Block {
        let reused = kept.withLock { blocks -> Block? in
            guard !blocks.isEmpty else { return nil }
            var best: Int? = nil
            for (k, block) in blocks.enumerated() where block.byteCount >= byteCount {
                if best == nil || block.byteCount < blocks[best!].byteCount { best = k }
            }
            if let best { return blocks.remove(at: best) }
            let largest = blocks.indices.max { blocks[$0].byteCount < blocks[$1].byteCount }!
            return blocks.remove(at: largest)
        }
        if let reused { return resize(reused, toAtLeast: byteCount) }
        let size = pageRounded(byteCount)
        let start = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let start, start != MAP_FAILED else { fatalError("LargeBlocks: cannot map \(size) bytes") }
        adviseHugePages(start, size)
        return Block(start: start, byteCount: size)
    }

    /// `block` with room for at least `byteCount` bytes and its contents kept: the same block if it is
    /// large enough, else remapped (its pages move, nothing is copied).
    static func resize(_ block: Block, toAtLeast byteCount: Int) -> Block {
        guard byteCount > block.byteCount else { return block }
        let size = pageRounded(byteCount)
        guard let moved = cpickle_remap(block.start, block.byteCount, size) else {
            fatalError("LargeBlocks: cannot remap \(block.byteCount) to \(size) bytes")
        }
        return Block(start: moved, byteCount: size)
    }

    /// Asks for transparent huge pages for a new mapping (see ``LargeBlocks``).
    private static func adviseHugePages(_ start: UnsafeMutableRawPointer, _ size: Int) {
        if LargeReservation.hugePagesOnRequest { _ = madvise(start, size, MADV_HUGEPAGE) }
    }

    /// Keeps `block` for reuse if the limits allow, else unmaps it. Its owner no longer uses it.
    static func release(_ block: Block) {
        let keep = kept.withLock { blocks -> Bool in
            let keptBytes = blocks.reduce(0) { $0 + $1.byteCount }
            guard blocks.count < keptCountLimit && keptBytes + block.byteCount <= keptByteLimit else { return false }
            blocks.append(block)
            return true
        }
        if !keep { munmap(block.start, block.byteCount) }
    }
    #endif

    /// The blocks kept for reuse and their bytes (for tests).
    static var keptBlocks: (count: Int, byteCount: Int) {
        kept.withLock { blocks in (blocks.count, blocks.reduce(0) { $0 + $1.byteCount }) }
    }

    #if os(Linux)
    /// Unmaps every kept block (for tests).
    static func releaseKept() {
        let blocks = kept.withLock { blocks in
            defer { blocks.removeAll() }
            return blocks
        }
        for block in blocks { munmap(block.start, block.byteCount) }
    }
    #endif
}
