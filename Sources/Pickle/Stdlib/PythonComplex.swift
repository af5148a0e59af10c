/// Python's `complex`: two `Double`s, bit-exact.
///
/// CPython (3 and 2) pickles it as `builtins.complex(real, imag)` (REDUCE with two floats; Python 2 and
/// protocols 0 to 2 name it `__builtin__.complex`). Only two floats are recognised.
public struct PythonComplex: PickleStdlibValue, Hashable {
    /// The real part.
    public let real: Double
    /// The imaginary part.
    public let imag: Double

    /// A complex number.
    /// - Parameters:
    ///   - real: the real part.
    ///   - imag: the imaginary part.
    public init(real: Double, imag: Double) {
        self.real = real
        self.imag = imag
    }

    // MARK: - Pickle

    /// Recognises `builtins.complex(real, imag)` of two floats.
    public init?(_ node: PickleNode) {
        guard let value = Self.recognize(node.t, node.ref) else { return nil }
        self = value
    }

    static func recognize(_ t: GraphTables, _ ref: PickleRef) -> PythonComplex? {
        guard let args = t.reduceArgs(ref, GlobalName("builtins", "complex")), args.count == 2,
              let re = t.floatValue(args[0]), let im = t.floatValue(args[1]) else { return nil }
        return PythonComplex(real: re, imag: im)
    }

    /// `builtins.complex(real, imag)`.
    public var pickleValue: PickleValue { .call("builtins", "complex", [.float(real), .float(imag)]) }

    /// `(1+2j)`, `2j`, `(-0-0j)`, `(nan+infj)`: as CPython's `complex.__repr__` (each part the shortest
    /// repr, without a `.0`; the real part left out when it is +0.0).
    public var pythonRepr: String {
        func part(_ d: Double) -> String {
            let text = PythonRepr.float(d)
            return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
        }
        if real == 0 && real.sign == .plus { return part(imag) + "j" }
        var im = part(imag)
        if !im.hasPrefix("-") { im = "+" + im }
        return "(\(part(real))\(im)j)"
    }
}
