#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

// The one place that calls iconv. Invariants:
// - an `iconv_t` is used by one thread at a time: it is either in a pool's `kept` list (guarded by the
//   pool's mutex) or lent to exactly one `withDescriptor` call, never both;
// - a descriptor is reset to its initial shift state before every use, so no state leaks between strings
//   (stateful codecs such as ISO-2022-JP keep state within one string only);
// - `convert` never writes past the scratch buffer it passes to iconv and reads only the input it is given.

/// A pool of iconv descriptors converting one codec to UTF-8, shared by every parser: concurrent decoders
/// each take their own descriptor, and a few are kept for reuse.
final class IconvPool: Sendable {
    /// The glibc converter name (`SHIFT_JIS`, `UTF-16LE`, ...).
    let converter: String
    /// Whether CPython decodes every ASCII byte to itself in this codec: then ASCII bytes glibc decodes to
    /// something else are put back (glibc's SHIFT_JIS reads 0x5C as a yen sign and 0x7E as an overline).
    let asciiCompatible: Bool
    private let state = Mutex(State())

    private struct State {
        var kept: [Descriptor] = []
        /// What glibc makes of each ASCII byte it does not decode to itself, found with the first
        /// descriptor opened (nil until then).
        var fixups: [Fixup]?
    }

    /// An ASCII byte and the UTF-8 glibc decodes it to instead of itself.
    struct Fixup: Sendable {
        let byte: UInt8
        let glibc: [UInt8]
    }
    /// Descriptors kept for reuse; more concurrent decoders open and close their own.
    private static let maxKept = 4

    /// An open descriptor; only the pool and the call it is lent to touch it.
    struct Descriptor: @unchecked Sendable {
        let cd: iconv_t
    }

    /// Where a conversion stopped.
    enum Stop {
        /// All of the input was converted.
        case done
        /// An invalid sequence starts at this index of the input (iconv's `EILSEQ`).
        case invalid(Int)
        /// The input ends inside a sequence that starts at this index (`EINVAL`).
        case incomplete(Int)
    }

    init(converter: String, asciiCompatible: Bool = false) {
        self.converter = converter
        self.asciiCompatible = asciiCompatible
    }

    deinit {
        state.withLock { state in
            for d in state.kept { _ = iconv_close(d.cd) }
            state.kept.removeAll()
        }
    }

    private static func isFailure(_ cd: iconv_t?) -> Bool {
        guard let cd else { return true }
        return Int(bitPattern: cd) == -1
    }

    /// Whether the system's iconv has this converter (opens a descriptor and keeps it).
    var isAvailable: Bool {
        (try? withDescriptor { _, _ in true }) != nil
    }

    /// Runs `body` with a descriptor reset to its initial state and the ASCII fixups, and keeps the
    /// descriptor for reuse.
    /// - Returns: `nil` when the converter cannot be opened.
    func withDescriptor<R>(_ body: (Descriptor, [Fixup]) throws(CodecFailure) -> R) throws(CodecFailure) -> R? {
        var (descriptor, fixups) = state.withLock { ($0.kept.popLast(), $0.fixups) }
        if descriptor == nil {
            let cd = iconv_open("UTF-8", converter)
            if IconvPool.isFailure(cd) { return nil }
            descriptor = Descriptor(cd: cd!)
        }
        let d = descriptor!
        if fixups == nil {
            let found = asciiCompatible ? IconvPool.findFixups(d) : []
            fixups = found
            state.withLock { $0.fixups = found }
        }
        _ = iconv(d.cd, nil, nil, nil, nil)
        defer {
            let closeIt = state.withLock { state -> Bool in
                guard state.kept.count < IconvPool.maxKept else { return true }
                state.kept.append(d)
                return false
            }
            if closeIt { _ = iconv_close(d.cd) }
        }
        return try body(d, fixups!)
    }

    private static func findFixups(_ d: Descriptor) -> [Fixup] {
        var found: [Fixup] = []
        for b in UInt8(0) ..< 0x80 {
            _ = iconv(d.cd, nil, nil, nil, nil)
            var out: [UInt8] = []
            let stop = [b].withUnsafeBytes { convert(d, $0, from: 0, into: &out) }
            if case .done = stop, out != [b], !out.isEmpty { found.append(Fixup(byte: b, glibc: out)) }
        }
        return found
    }

    /// Replaces every occurrence of a fixup's UTF-8 in `out` by its ASCII byte. UTF-8 is self-synchronizing,
    /// so a match is always that whole character.
    static func apply(_ fixups: [Fixup], to out: inout [UInt8]) {
        var result: [UInt8] = []
        result.reserveCapacity(out.count)
        var k = 0
        next: while k < out.count {
            if out[k] >= 0x80 {
                for f in fixups where k + f.glibc.count <= out.count && out[k ..< k + f.glibc.count].elementsEqual(f.glibc) {
                    result.append(f.byte)
                    k += f.glibc.count
                    continue next
                }
            }
            result.append(out[k])
            k += 1
        }
        out = result
    }

    /// Converts `input[from...]` with `d`, appending UTF-8 to `out`, until the end of the input or the first
    /// sequence it cannot convert. The descriptor keeps its shift state across calls.
    static func convert(_ d: Descriptor, _ input: UnsafeRawBufferPointer, from: Int, into out: inout [UInt8]) -> Stop {
        guard from < input.count, let base = input.baseAddress else { return .done }
        var inPointer = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: CChar.self) + from)
        var inLeft = input.count - from
        let scratchSize = 4096
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: scratchSize) { scratch -> Stop in
            while true {
                var outPointer: UnsafeMutablePointer<CChar>? = scratch.baseAddress
                var outLeft = scratchSize
                var inOptional: UnsafeMutablePointer<CChar>? = inPointer
                let result = iconv(d.cd, &inOptional, &inLeft, &outPointer, &outLeft)
                let error = result == -1 ? errno : 0
                inPointer = inOptional!
                let written = scratchSize - outLeft
                if written > 0 {
                    UnsafeRawBufferPointer(start: scratch.baseAddress, count: written).withMemoryRebound(to: UInt8.self) {
                        out.append(contentsOf: $0)
                    }
                }
                let position = input.count - inLeft
                if result != -1 {
                    if inLeft == 0 { return .done }
                    // Never loop without progress, whatever a converter reports.
                    if written == 0 { return .invalid(position) }
                    continue
                }
                switch error {
                case E2BIG where written > 0: continue
                case EINVAL: return .incomplete(position)
                default: return .invalid(position)
                }
            }
        }
    }
}
