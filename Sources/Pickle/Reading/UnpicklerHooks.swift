/// Caller-installed hooks: the safe counterparts of CPython's `Unpickler.find_class` and `persistent_load`.
///
/// Nothing in a stream is ever imported or executed. Without hooks, globals and persistent ids become inert
/// nodes that remember what the stream said. A hook can reject input (by throwing) or substitute a value.
public struct UnpicklerHooks: Sendable {
    /// Called for every GLOBAL, STACK_GLOBAL, INST and registered EXT name, after fix_imports mapping.
    /// Return `nil` to keep the inert global, a value to use instead, or throw to reject the stream
    /// (the error becomes ``PickleError/Code/rejected`` with the offset of the opcode).
    public var findClass: (@Sendable (GlobalName) throws -> PickleValue?)?

    /// Called for every PERSID and BINPERSID with the persistent id. Return `nil` to keep an inert
    /// persistent-id node (which re-pickles as the same id), a value to use instead, or throw to reject.
    public var persistentLoad: (@Sendable (PickleValue) throws -> PickleValue?)?

    /// No hooks: every global and persistent id stays inert.
    public init(findClass: (@Sendable (GlobalName) throws -> PickleValue?)? = nil,
                persistentLoad: (@Sendable (PickleValue) throws -> PickleValue?)? = nil) {
        self.findClass = findClass
        self.persistentLoad = persistentLoad
    }
}
