import ArgumentParser
import Foundation
import Pickle
import PickleZstd

/// `pickletool scan FILE...`: a static safety scan of pickles, checkpoints and archives, without running
/// anything.
struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan pickles for what loading them would import and call, without running anything: every global with how it is used, every call with its arguments and byte offset, and what scanners and loaders disagree on.",
        discussion: """
        Inputs: pickle files (one or many pickles), PyTorch checkpoints and other zip archives (every entry that is a pickle, whatever its name), .npy and .npz files (object arrays), zstd-compressed files, and pickles held as bytes inside pickles.

        Each file gets a verdict under the policy: safe (everything allowed, nothing odd), suspicious (something the policy does not allow, or out of the ordinary), dangerous (a known dangerous callable, a call of a call's result, a global patched in place), or error (the scan could not finish: never safe).

        Exit status: 1 when a file is dangerous; otherwise 2 when a file could not be scanned to its end; otherwise 1 when a file is suspicious; 0 when every file is safe. Bad usage exits with 64.
        """)

    @Option(help: "The built-in allow-list: data (no globals), stdlib (Python's value types), numpy (arrays, with stdlib) or torch (what torch.load(weights_only=True) accepts).")
    var profile: String = "stdlib"

    @Option(help: "A JSON policy file that extends a profile (\"extends\") or replaces it; see the README.")
    var policy: String?

    @Flag(help: "Print JSON: {\"verdict\", \"files\": [{\"path\", \"sha256\", \"verdict\", \"findings\", \"globals\", ...}]}.")
    var json = false

    @Flag(help: "Print a SARIF 2.1.0 log (for code scanning in CI), with byte offsets and file hashes.")
    var sarif = false

    @Flag(name: .shortAndLong, help: "Also list every global each file references, allowed or not.")
    var verbose = false

    @Argument(help: "The files to scan.") var files: [String]

    func validate() throws {
        guard !(json && sarif) else { throw ValidationError("--json and --sarif cannot be used together") }
        guard ScanPolicy.builtIn[profile] != nil else {
            throw ValidationError("unknown profile '\(profile)': data, stdlib, numpy or torch")
        }
    }

    func run() throws {
        var scanPolicy = ScanPolicy.builtIn[profile]!
        if let policy {
            do {
                scanPolicy = try ScanPolicy(json: try [UInt8](Data(contentsOf: URL(fileURLWithPath: policy))))
            } catch {
                throw ValidationError("cannot read the policy file \(policy): \(error)")
            }
        }
        let scanner = PickleScanner(policy: scanPolicy, decompressors: [.zstd])
        var results: [(path: String, report: ScanReport, sha256: String)] = []
        for path in files {
            let report = scanner.scanFile(atPath: path)
            results.append((path, report, json || sarif ? Self.sha256(ofFileAt: path) : ""))
        }
        let out = OutputFile(fd: 1)
        if json {
            out.write(try Self.json(results))
        } else if sarif {
            out.write(try Self.sarif(results))
        } else {
            for (path, report, _) in results { out.write(Self.text(path: path, report, verbose: verbose)) }
        }
        out.flush()
        try out.stopIfTheReaderHasGone()
        let verdicts = results.map(\.report.verdict)
        if verdicts.contains(.dangerous) { throw ExitCode(1) }
        if verdicts.contains(.error) { throw ExitCode(2) }
        if verdicts.contains(.suspicious) { throw ExitCode(1) }
    }

    // MARK: - Text

    static func text(path: String, _ report: ScanReport, verbose: Bool) -> String {
        var lines = ["\(path): \(report.verdict.rawValue) (policy \(report.policy), \(report.container), \(report.pickleCount) pickle\(report.pickleCount == 1 ? "" : "s"), \(report.byteCount) bytes)"]
        for finding in report.findings {
            let place = (finding.location.isEmpty ? "" : finding.location + " ") + "@\(finding.offset)"
            lines.append("  \(finding.severity == .safe ? "note" : finding.severity.rawValue): \(place): \(finding.message)")
            if let call = finding.call { lines.append("      \(call)") }
        }
        if verbose {
            for global in report.globals {
                let place = (global.location.isEmpty ? "" : global.location + " ") + "@\(global.offset)"
                lines.append("  global \(global.name) (\(global.uses.map(\.rawValue).joined(separator: ", ")); \(global.isAllowed ? "allowed" : "not allowed")) at \(place)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - JSON

    private struct JSONFile: Encodable {
        let path: String
        let sha256: String
        let verdict: ScanVerdict
        let policy: String
        let container: String
        let bytes: Int
        let pickles: Int
        let findings: [ScanFinding]
        let globals: [ScannedGlobal]
    }

    private struct JSONLog: Encodable {
        let verdict: ScanVerdict
        let files: [JSONFile]
    }

    static func json(_ results: [(path: String, report: ScanReport, sha256: String)]) throws -> String {
        let files = results.map { path, report, sha256 in
            JSONFile(path: path, sha256: sha256, verdict: report.verdict, policy: report.policy, container: report.container,
                     bytes: report.byteCount, pickles: report.pickleCount, findings: report.findings, globals: report.globals)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let log = JSONLog(verdict: results.map(\.report.verdict).max() ?? .safe, files: files)
        return String(decoding: try encoder.encode(log), as: UTF8.self) + "\n"
    }

    // MARK: - SARIF

    static func sarif(_ results: [(path: String, report: ScanReport, sha256: String)]) throws -> String {
        let kinds = Array(Set(results.flatMap { $0.report.findings.map(\.kind) })).sorted { $0.rawValue < $1.rawValue }
        var artifacts: [[String: Any]] = []
        var sarifResults: [[String: Any]] = []
        for (index, (path, report, sha256)) in results.enumerated() {
            artifacts.append(["location": ["uri": path], "length": report.byteCount, "hashes": ["sha-256": sha256]])
            for finding in report.findings {
                var physical: [String: Any] = ["artifactLocation": ["uri": path, "index": index]]
                if let fileOffset = finding.fileOffset { physical["region"] = ["byteOffset": fileOffset, "byteLength": 1] }
                var location: [String: Any] = ["physicalLocation": physical]
                if !finding.location.isEmpty {
                    location["logicalLocations"] = [["fullyQualifiedName": "\(finding.location)@\(finding.offset)", "kind": "module"]]
                }
                var properties: [String: Any] = ["severity": finding.severity.rawValue, "streamOffset": finding.offset, "verdict": report.verdict.rawValue]
                if let global = finding.global { properties["global"] = global }
                if let call = finding.call { properties["call"] = call }
                sarifResults.append([
                    "ruleId": finding.kind.rawValue,
                    "level": level(finding.severity),
                    "message": ["text": finding.message],
                    "locations": [location],
                    "properties": properties,
                ])
            }
        }
        let log: [String: Any] = [
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [[
                "tool": ["driver": [
                    "name": "pickletool scan",
                    "informationUri": "https://github.com/swift-pickle/swift-pickle",
                    "rules": kinds.map { ["id": $0.rawValue, "shortDescription": ["text": ruleDescription($0)]] },
                ]],
                "artifacts": artifacts,
                "results": sarifResults,
            ]],
        ]
        let data = try JSONSerialization.data(withJSONObject: log, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private static func level(_ severity: ScanVerdict) -> String {
        switch severity {
        case .dangerous, .error: return "error"
        case .suspicious: return "warning"
        case .safe: return "note"
        }
    }

    private static func ruleDescription(_ kind: ScanFinding.Kind) -> String {
        switch kind {
        case .global: return "A global the policy does not allow is referenced (loading imports its module)."
        case .call: return "A global the policy does not allow is called."
        case .indirectCall: return "The result of a call is called in turn."
        case .build: return "State is applied to an object of a class the policy does not allow."
        case .mutation: return "A global is changed in place."
        case .argumentConstraint: return "An allowed call's arguments break the policy."
        case .persistentID: return "A persistent id the policy does not accept."
        case .extensionCode: return "A copyreg extension code."
        case .unusedCall: return "A call whose result is discarded."
        case .protoInsidePickle: return "A PROTO opcode inside a pickle."
        case .frameBelowProtocol4: return "A FRAME opcode below protocol 4."
        case .memoIndexRedefined: return "A memo index stored twice."
        case .severalPickles: return "Several pickles in one input."
        case .trailingBytes: return "Bytes after the last pickle that are not a pickle."
        case .expansion: return "Shared references that expand to far more values than the pickle holds."
        case .nestedPickle: return "A pickle held inside a value."
        case .unreadable: return "Input that could not be read to its end."
        case .budget: return "A limit of the scan was reached."
        }
    }

    /// The file's SHA-256, or an empty string when it cannot be read.
    static func sha256(ofFileAt path: String) -> String {
        guard let file = try? MappedFile(path: path) else { return "" }
        return file[0 ..< file.count].withUnsafeBytes { SHA256.hex($0) }
    }
}
