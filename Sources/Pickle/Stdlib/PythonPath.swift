/// Python's `pathlib` paths: `PurePosixPath`, `PosixPath`, `PureWindowsPath` and `WindowsPath`.
///
/// CPython 3.11 pickles a path as `pathlib.<Class>(*parts)` (REDUCE with the path's parts: the anchor first if
/// there is one, then each name). Recognised when the parts are the ones CPython itself would keep for that
/// path: a POSIX anchor `/` or `//`; a Windows anchor `C:`, `C:\`, `\` or `\\server\share\`; names that are
/// not empty, not `.`, and hold no separator (nor, on Windows, a `:`). Other parts, which CPython would join
/// and normalize into a different path, leave the node unrecognised.
public struct PythonPath: PickleStdlibValue, Hashable {
    /// The path class.
    public enum Flavour: String, Hashable, Sendable, CaseIterable {
        /// `pathlib.PurePosixPath`.
        case purePosix = "PurePosixPath"
        /// `pathlib.PosixPath` (only POSIX systems' Python can load it).
        case posix = "PosixPath"
        /// `pathlib.PureWindowsPath`.
        case pureWindows = "PureWindowsPath"
        /// `pathlib.WindowsPath` (only Windows' Python can load it).
        case windows = "WindowsPath"

        /// Whether paths of this class use Windows syntax.
        public var isWindows: Bool { self == .pureWindows || self == .windows }
    }

    /// The class.
    public let flavour: Flavour
    /// The parts, as Python's `parts` attribute: the anchor (if any) then the names.
    public let parts: [String]

    /// A path of `parts`; nil unless they are parts Python keeps as they are (see the type's description).
    /// - Parameters:
    ///   - flavour: the class.
    ///   - parts: the anchor, if any, then the names.
    public init?(_ flavour: Flavour, parts: [String]) {
        for (i, part) in parts.enumerated() where !(i == 0 && Self.isAnchor(part, flavour)) {
            guard Self.isName(part, flavour) else { return nil }
        }
        self.flavour = flavour
        self.parts = parts
    }

    /// A POSIX path parsed from its text as Python does (`a//b/./c` is `a/b/c`; `//` keeps its two slashes).
    /// - Parameters:
    ///   - text: the path.
    ///   - flavour: `.purePosix` or `.posix`.
    public init?(posix text: String, _ flavour: Flavour = .purePosix) {
        guard !flavour.isWindows else { return nil }
        var parts: [String] = []
        let leading = text.prefix { $0 == "/" }.count
        if leading > 0 { parts.append(leading == 2 ? "//" : "/") }
        parts += text.split(separator: "/").map(String.init).filter { $0 != "." }
        self.init(flavour, parts: parts)
    }

    private static func isName(_ part: String, _ flavour: Flavour) -> Bool {
        guard !part.isEmpty, part != "." else { return false }
        return flavour.isWindows ? !part.contains(where: { $0 == "\\" || $0 == "/" || $0 == ":" }) : !part.contains("/")
    }

    private static func isAnchor(_ part: String, _ flavour: Flavour) -> Bool {
        guard flavour.isWindows else { return part == "/" || part == "//" }
        if part == "\\" { return true }
        let chars = Array(part)
        if chars.count >= 2, chars[0].isASCII, chars[0].isLetter, chars[1] == ":" {
            return chars.count == 2 || (chars.count == 3 && chars[2] == "\\")
        }
        // \\server\share\
        guard part.hasPrefix("\\\\"), part.hasSuffix("\\") else { return false }
        let names = part.dropFirst(2).dropLast().split(separator: "\\", omittingEmptySubsequences: false)
        return names.count == 2 && names.allSatisfy { !$0.isEmpty && !$0.contains("/") && !$0.contains(":") && $0 != "?" && $0 != "." }
    }

    /// The path as Python's `str()` prints it (`.` for the empty path).
    public var string: String {
        guard let first = parts.first else { return "." }
        let separator = flavour.isWindows ? "\\" : "/"
        if Self.isAnchor(first, flavour) { return first + parts.dropFirst().joined(separator: separator) }
        return parts.joined(separator: separator)
    }

    /// The path with forward slashes (`as_posix()`).
    public var posixString: String { flavour.isWindows ? string.replacingBackslashes() : string }

    // MARK: - Pickle

    /// Recognises `pathlib.<Class>(*parts)` with canonical parts.
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> PythonPath? {
        guard let call = t.stdlibCall(ref), call.name.module == "pathlib", let flavour = Flavour(rawValue: call.name.name),
              let args = t.reduceArgs(ref, call.name) else { return nil }
        var parts: [String] = []
        for arg in args {
            guard let part = t.stringValue(arg) else { return nil }
            parts.append(part)
        }
        return PythonPath(flavour, parts: parts)
    }

    /// `pathlib.<Class>(*parts)`.
    public var pickleValue: PickleValue { .call("pathlib", flavour.rawValue, parts.map { .string($0) }) }

    /// `PosixPath('/tmp/x')`, `PureWindowsPath('c:/a/b')` (`as_posix()`, as CPython prints it).
    public var pythonRepr: String { "\(flavour.rawValue)(\(StdlibText.quoted(posixString)))" }
}

private extension String {
    func replacingBackslashes() -> String { String(map { $0 == "\\" ? "/" : $0 }) }
}
