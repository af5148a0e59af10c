/// Python's `fractions.Fraction`, for numerators and denominators that fit in `Int`.
///
/// CPython 3 pickles it as `fractions.Fraction(numerator, denominator)` (REDUCE with two ints); Python 2 as
/// `fractions.Fraction('3/4')` (a str). Both are recognised and normalized as Python's constructor does (lowest
/// terms, the sign on the numerator). A fraction whose terms do not fit in 64 bits is not recognised.
public struct PythonFraction: PickleStdlibValue, Hashable {
    /// The numerator, carrying the sign.
    public let numerator: Int
    /// The denominator, positive.
    public let denominator: Int

    /// The fraction `numerator / denominator` in lowest terms; nil for a zero denominator or `Int.min` terms.
    /// - Parameters:
    ///   - numerator: any `Int` but `Int.min`.
    ///   - denominator: not zero, not `Int.min`.
    public init?(_ numerator: Int, _ denominator: Int = 1) {
        guard denominator != 0, numerator != .min, denominator != .min else { return nil }
        var a = abs(numerator), b = abs(denominator)
        while b != 0 { (a, b) = (b, a % b) }
        let g = max(a, 1), negative = (numerator < 0) != (denominator < 0)
        self.numerator = (negative ? -1 : 1) * abs(numerator) / g
        self.denominator = abs(denominator) / g
    }

    /// The value as a `Double` (rounded).
    public var doubleValue: Double { Double(numerator) / Double(denominator) }

    // MARK: - Pickle

    /// Recognises `fractions.Fraction(n, d)`, `fractions.Fraction(n)` and `fractions.Fraction('n/d')`.
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> PythonFraction? {
        guard let args = t.reduceArgs(ref, GlobalName("fractions", "Fraction")), (1 ... 2).contains(args.count) else { return nil }
        if args.count == 1, let text = t.stringValue(args[0]) {
            let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            func integer(_ s: Substring, signed: Bool) -> Int? {
                var body = s
                if signed, body.first == "-" || body.first == "+" { body = body.dropFirst() }
                guard !body.isEmpty, body.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
                return Int(s)
            }
            guard let n = integer(parts[0], signed: true) else { return nil }
            guard parts.count == 2 else { return PythonFraction(n) }
            return integer(parts[1], signed: false).flatMap { PythonFraction(n, $0) }
        }
        guard let n = t.intValue(args[0]) else { return nil }
        guard args.count == 2 else { return PythonFraction(n) }
        return t.intValue(args[1]).flatMap { PythonFraction(n, $0) }
    }

    /// `fractions.Fraction(numerator, denominator)`, as CPython 3 writes it.
    public var pickleValue: PickleValue { .call("fractions", "Fraction", [.int(numerator), .int(denominator)]) }

    /// `Fraction(3, 4)`.
    public var pythonRepr: String { "Fraction(\(numerator), \(denominator))" }
}
