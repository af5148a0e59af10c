import Foundation
import XCTest

/// Random object graphs built by hypothesis in CPython (sharing, cycles, instances, every scalar kind),
/// pickled by CPython at protocols 0 to 5, converted by `pickletool convert` at a random protocol, reloaded by
/// CPython and compared: see `Tests/Differential/differential.py`. The number of examples is bounded so the
/// run stays within seconds; `DIFFERENTIAL_EXAMPLES` raises it for a longer search.
final class DifferentialTests: XCTestCase {
    func testCPythonGraphsSurvivePickletoolConversionAtEveryProtocol() throws {
        let tool = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pickletool")
        let script = TestPaths.repoRoot.appendingPathComponent("Tests/Differential/differential.py")
        let examples = ProcessInfo.processInfo.environment["DIFFERENTIAL_EXAMPLES"] ?? "300"
        let (status, out, err) = try Python.run([script.path, "--pickletool", tool.path, "--examples", examples])
        XCTAssertEqual(status, 0, "differential test failed:\n\(out.suffix(4000))\n\(err.suffix(6000))")
        XCTAssertTrue(out.contains("conversions checked against CPython"), out)
        print(out.trimmingCharacters(in: .newlines))
    }
}
