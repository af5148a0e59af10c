/// Options of the pickler: CPython's `Pickler` arguments.
public struct PicklerOptions: Sendable {
    /// The protocol, 0 to 5. Default 4, CPython 3.11's `DEFAULT_PROTOCOL`.
    public var protocolVersion: Int = 4
    /// Map Python 3 module and class names to Python 2 ones at protocols below 3.
    public var fixImports = true
    /// Decides, at protocol 5, whether each out-of-band buffer node goes out of band (return `false`, as
    /// CPython's `buffer_callback` returning a falsy value) or in band (return `true`). `nil` (no callback)
    /// writes every buffer in band, as CPython.
    public var bufferCallback: (@Sendable (OutOfBandBuffer) -> Bool)?
    /// CPython's `persistent_id`: return an id value for a node to write it as a persistent reference, or
    /// `nil` to pickle it normally.
    public var persistentID: (@Sendable (PickleNode) -> PickleValue?)?

    /// The default options.
    public init(protocolVersion: Int = 4) {
        self.protocolVersion = protocolVersion
    }

    /// The highest protocol this library writes.
    public static let highestProtocol = 5
    /// CPython 3.11's default protocol.
    public static let defaultProtocol = 4
}
