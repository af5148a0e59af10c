import Pickle
import PickleZstd

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `ScanCompare --profile P [--rounds N] FILE...`: PickleScanner in process, as scan_compare.py times
// picklescan and fickling in theirs. Each file is scanned N times (from its path: mapping included); prints
// one JSON object {"path": {"verdict": ..., "best_ns": ...}, ...}.

func fail(_ message: String) -> Never {
    let text = "ScanCompare: \(message)\nusage: ScanCompare --profile data|stdlib|numpy|torch [--rounds N] FILE...\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(64)
}

var arguments = CommandLine.arguments.dropFirst()
var profile: String?
var rounds = 5
var files: [String] = []
while let argument = arguments.popFirst() {
    switch argument {
    case "--profile": profile = arguments.popFirst()
    case "--rounds":
        guard let text = arguments.popFirst(), let value = Int(text), value >= 1 else { fail("--rounds needs a count of at least 1") }
        rounds = value
    default: files.append(argument)
    }
}
guard let profile, let policy = ScanPolicy.builtIn[profile] else { fail("--profile names a built-in profile") }
let scanner = PickleScanner(policy: policy, decompressors: [.zstd])

func now() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

var fields: [String] = []
for path in files {
    var best = UInt64.max
    var verdict = ScanVerdict.safe
    for _ in 0 ..< rounds {
        let start = now()
        verdict = scanner.scanFile(atPath: path).verdict
        best = min(best, now() - start)
    }
    fields.append("\(JSONText.quoted(path)): {\"verdict\": \"\(verdict.rawValue)\", \"best_ns\": \(best)}")
}
print("{" + fields.joined(separator: ", ") + "}")
