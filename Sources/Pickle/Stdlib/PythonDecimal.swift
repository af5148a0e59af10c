#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

/// Python's `decimal.Decimal`: an exact decimal number, or an infinity, a quiet NaN or a signalling NaN
/// (with its diagnostic digits), each with a sign.
///
/// CPython (3 and 2) pickles it as `decimal.Decimal(str(value))` (REDUCE with one `str`). The text is parsed
/// with Python's syntax for the ASCII forms (`1.10`, `-0`, `1E+3`, `.5e-7`, `Infinity`, `-inf`, `NaN123`,
/// `sNaN`); text Python would also accept but that no Python writes (surrounding whitespace, underscores,
/// non-ASCII digits) is not recognised. ``text`` is the value as Python's `str()` prints it, so equal
/// decimals of equal exponent have equal text (`Decimal('1.10')` keeps its trailing zero).
public struct PythonDecimal: PickleStdlibValue, Hashable {
    /// What kind of value this is.
    public enum Kind: Hashable, Sendable {
        /// A finite number: ``PythonDecimal/coefficient`` × 10^``PythonDecimal/exponent``.
        case finite
        /// Infinity.
        case infinity
        /// A quiet NaN; ``PythonDecimal/coefficient`` is its diagnostic (empty for none).
        case nan
        /// A signalling NaN; ``PythonDecimal/coefficient`` is its diagnostic (empty for none).
        case signalingNaN
    }

    /// The kind.
    public let kind: Kind
    /// Whether the sign is negative (`-0`, `-Infinity` and `-NaN` included).
    public let isNegative: Bool
    /// The coefficient's decimal digits, without leading zeros (`"0"` for zero; the diagnostic of a NaN,
    /// empty when it has none).
    public let coefficient: String
    /// The exponent of a finite value (0 otherwise).
    public let exponent: Int

    /// The longest coefficient accepted from a pickle, and the largest exponent magnitude: far beyond any
    /// decimal context, small enough that the text stays cheap.
    static let maxDigits = 100_000
    static let maxExponent = 100_000_000_000_000_000

    /// Parses Python's decimal syntax (ASCII only); nil for anything else.
    /// - Parameter text: such as `"1.10"`, `"-1E+3"`, `"Infinity"`, `"NaN"`, `"sNaN12"`.
    public init?(_ text: String) {
        var bytes = Array(text.utf8)[...]
        var negative = false
        if let c = bytes.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
            negative = c == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        let lower = String(decoding: bytes, as: UTF8.self).lowercased()
        func digits(_ s: Substring) -> String? {
            guard s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), s.utf8.count <= Self.maxDigits else { return nil }
            let stripped = s.drop { $0 == "0" }
            return String(stripped)
        }
        if lower == "inf" || lower == "infinity" {
            self.init(kind: .infinity, isNegative: negative, coefficient: "", exponent: 0)
        } else if lower.hasPrefix("nan") || lower.hasPrefix("snan") {
            let signalling = lower.hasPrefix("s")
            guard let payload = digits(lower.dropFirst(signalling ? 4 : 3)) else { return nil }
            self.init(kind: signalling ? .signalingNaN : .nan, isNegative: negative, coefficient: payload, exponent: 0)
        } else {
            var mantissa = Substring(lower), exponentText: Substring = "0"
            if let e = lower.firstIndex(of: "e") {
                mantissa = lower[..<e]
                exponentText = lower[lower.index(after: e)...]
                var body = exponentText
                if body.first == "+" || body.first == "-" { body = body.dropFirst() }
                guard !body.isEmpty, body.utf8.count <= 18, body.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            }
            guard var exponent = Int(exponentText) else { return nil }
            let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let whole = parts[0], fraction = parts.count > 1 ? parts[1] : ""
            guard !(whole.isEmpty && fraction.isEmpty), let w = digits(whole), digits(fraction) != nil else { return nil }
            let (e, overflow) = exponent.subtractingReportingOverflow(fraction.count)
            guard !overflow, abs(e) <= Self.maxExponent else { return nil }
            exponent = e
            let all = String((w + fraction).drop { $0 == "0" })
            self.init(kind: .finite, isNegative: negative, coefficient: all.isEmpty ? "0" : all, exponent: exponent)
        }
    }

    private init(kind: Kind, isNegative: Bool, coefficient: String, exponent: Int) {
        self.kind = kind
        self.isNegative = isNegative
        self.coefficient = coefficient
        self.exponent = exponent
    }

    /// The value as Python's `str()` prints it (scientific notation as `Decimal.__str__` chooses it):
    /// `1.10`, `1E+3`, `-0`, `Infinity`, `NaN`, `sNaN12`.
    public var text: String {
        let sign = isNegative ? "-" : ""
        switch kind {
        case .infinity: return sign + "Infinity"
        case .nan: return sign + "NaN" + coefficient
        case .signalingNaN: return sign + "sNaN" + coefficient
        case .finite: break
        }
        let digits = coefficient
        let leftDigits = exponent + digits.count
        let dotPlace = exponent <= 0 && leftDigits > -6 ? leftDigits : 1
        var intPart: String, fracPart: String
        if dotPlace <= 0 {
            intPart = "0"
            fracPart = "." + String(repeating: "0", count: -dotPlace) + digits
        } else if dotPlace >= digits.count {
            intPart = digits + String(repeating: "0", count: dotPlace - digits.count)
            fracPart = ""
        } else {
            intPart = String(digits.prefix(dotPlace))
            fracPart = "." + digits.dropFirst(dotPlace)
        }
        let e = leftDigits - dotPlace
        return sign + intPart + fracPart + (e == 0 ? "" : "E" + (e > 0 ? "+" : "") + String(e))
    }

    /// The Foundation decimal of the same value, when it holds it exactly: a finite value of at most 38
    /// significant digits with an exponent Foundation can hold (after moving trailing zeros into it), or a quiet
    /// NaN without diagnostic. Nil for infinities, signalling NaNs, NaN diagnostics, `-0` (Foundation has no
    /// negative zero) and values it would round.
    public var foundationDecimal: Decimal? {
        switch kind {
        case .nan: return coefficient.isEmpty && !isNegative ? Decimal.nan : nil
        case .infinity, .signalingNaN: return nil
        case .finite: break
        }
        if coefficient == "0" { return isNegative ? nil : Decimal(0) }
        var digits = Substring(coefficient), e = exponent
        while digits.last == "0" && e < Int(Int8.min) { digits = digits.dropLast(); e += 1 }
        while digits.last == "0" && digits.count > 38 { digits = digits.dropLast(); e += 1 }
        while e > Int(Int8.max) && digits.count < 38 { digits += "0"; e -= 1 }
        guard digits.count <= 38, (Int(Int8.min) ... Int(Int8.max)).contains(e) else { return nil }
        var significand = Decimal(0)
        for d in digits.utf8 { significand = significand * 10 + Decimal(Int(d - 0x30)) }
        let value = Decimal(sign: isNegative ? .minus : .plus, exponent: e, significand: significand)
        // Checked: the value Foundation holds must read back as the same number.
        guard let back = PythonDecimal(value.description), back.isNumericallyEqual(to: self) else { return nil }
        return value
    }

    /// Whether two finite values are the same number (`Decimal('1.10') == Decimal('1.1')`).
    func isNumericallyEqual(to other: PythonDecimal) -> Bool {
        guard kind == .finite, other.kind == .finite else { return false }
        func normalized(_ d: PythonDecimal) -> (Bool, Substring, Int) {
            if d.coefficient == "0" { return (false, "0", 0) }
            var digits = Substring(d.coefficient), e = d.exponent
            while digits.last == "0" { digits = digits.dropLast(); e += 1 }
            return (d.isNegative, digits, e)
        }
        return normalized(self) == normalized(other)
    }

    /// The decimal of a Foundation decimal (NaN for its NaN).
    /// - Parameter value: the decimal.
    public init(_ value: Decimal) {
        self = value.isNaN ? PythonDecimal("NaN")! : PythonDecimal(value.description) ?? PythonDecimal("NaN")!
    }

    // MARK: - Pickle

    /// Recognises `decimal.Decimal(str)`.
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> PythonDecimal? {
        guard let args = t.reduceArgs(ref, GlobalName("decimal", "Decimal")), args.count == 1,
              let text = t.stringValue(args[0]) else { return nil }
        return PythonDecimal(text)
    }

    /// `decimal.Decimal(text)`.
    public var pickleValue: PickleValue { .call("decimal", "Decimal", [.string(text)]) }

    /// `Decimal('1.10')`.
    public var pythonRepr: String { "Decimal('\(text)')" }
}
