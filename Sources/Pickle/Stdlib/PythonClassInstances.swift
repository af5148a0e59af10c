// Instances of user classes that CPython pickles as a class called with positional arguments: namedtuples and
// enum members. The pickle holds the class's name and the arguments only, so the field names of a namedtuple
// and the member name of an enum are not in it; the repr of such a node stays the inert form
// (`__main__.Point.__new__(__main__.Point, 1, 2)`, `__main__.Color(1)`), which is what the stream says.

/// An instance made by calling a class's `__new__` with positional arguments: how CPython pickles a
/// `collections.namedtuple` (or `typing.NamedTuple`) instance.
///
/// Recognised structurally: `cls.__new__(cls, *fields)` (NEWOBJ) at protocol 2 and above, and
/// `copyreg._reconstructor(cls, builtins.tuple, fields)` at protocols 0 and 1, with nothing done to the object
/// afterwards. Any class pickled that way matches: whether it is a namedtuple, and what its fields are called,
/// only the class's definition knows.
public struct PythonNamedTuple<Element> {
    /// The class.
    public var cls: GlobalName
    /// The fields, in order.
    public var fields: [Element]

    /// An instance of `cls` with `fields`.
    /// - Parameters:
    ///   - cls: the class's global name.
    ///   - fields: the positional field values.
    public init(cls: GlobalName, fields: [Element]) {
        self.cls = cls
        self.fields = fields
    }

    /// The same instance with every field transformed.
    /// - Parameter transform: applied to each field.
    public func map<T>(_ transform: (Element) throws -> T) rethrows -> PythonNamedTuple<T> {
        PythonNamedTuple<T>(cls: cls, fields: try fields.map(transform))
    }
}

/// A member of an `enum.Enum` class: how CPython pickles one, `cls(value)` (REDUCE with one argument).
///
/// Recognised structurally: any REDUCE of a global with exactly one argument and nothing done afterwards
/// matches (`decimal.Decimal('1')` does too; try the specific types first). The member's name is not in the
/// pickle.
public struct PythonEnumMember<Element> {
    /// The enum class.
    public var cls: GlobalName
    /// The member's value.
    public var value: Element

    /// The member of `cls` with `value`.
    /// - Parameters:
    ///   - cls: the enum class's global name.
    ///   - value: the member's value.
    public init(cls: GlobalName, value: Element) {
        self.cls = cls
        self.value = value
    }

    /// The same member with its value transformed.
    /// - Parameter transform: applied to the value.
    public func map<T>(_ transform: (Element) throws -> T) rethrows -> PythonEnumMember<T> {
        PythonEnumMember<T>(cls: cls, value: try transform(value))
    }
}

extension PythonNamedTuple: Sendable where Element: Sendable {}
extension PythonEnumMember: Sendable where Element: Sendable {}

extension PythonNamedTuple where Element == PickleNode {
    /// Recognises `cls.__new__(cls, *fields)` and `copyreg._reconstructor(cls, tuple, fields)`.
    public init?(_ node: PickleNode) {
        let t = node.t
        guard let call = t.stdlibCall(node.ref), call.operations.isEmpty else { return nil }
        if call.form == .newObject {
            self.init(cls: call.name, fields: call.args.map { node.node($0) })
            return
        }
        guard call.form == .reduce, call.name == GlobalName("copyreg", "_reconstructor"), call.args.count == 3,
              let cls = t.globalName(call.args[0]), t.globalName(call.args[1]) == GlobalName("builtins", "tuple"),
              let fields = t.tupleItems(call.args[2]) else { return nil }
        self.init(cls: cls, fields: fields.map { node.node($0) })
    }
}

extension PythonEnumMember where Element == PickleNode {
    /// Recognises `cls(value)`.
    public init?(_ node: PickleNode) {
        guard let call = node.t.stdlibCall(node.ref), call.form == .reduce, call.args.count == 1, call.operations.isEmpty
        else { return nil }
        self.init(cls: call.name, value: node.node(call.args[0]))
    }
}

extension PythonNamedTuple: PickleStdlibValue where Element == PickleValue {
    /// Recognises the instance and converts its fields to value trees (nil for a cycle).
    public init?(_ node: PickleNode) {
        guard let nodes = PythonNamedTuple<PickleNode>(node), let values = try? nodes.map({ try $0.value() }) else { return nil }
        self = values
    }

    /// `cls.__new__(cls, *fields)` (NEWOBJ), as CPython writes it at protocol 2 and above.
    public var pickleValue: PickleValue { .object(.init(.newObject(cls: .global(cls), args: fields))) }

    /// The inert form, `module.Class.__new__(module.Class, 1, 2)`: CPython's repr needs the field names.
    public var pythonRepr: String { pickleGraph().root.description }
}

extension PythonEnumMember: PickleStdlibValue where Element == PickleValue {
    /// Recognises the member and converts its value to a value tree (nil for a cycle).
    public init?(_ node: PickleNode) {
        guard let nodes = PythonEnumMember<PickleNode>(node), let values = try? nodes.map({ try $0.value() }) else { return nil }
        self = values
    }

    /// `cls(value)` (REDUCE), as CPython writes it.
    public var pickleValue: PickleValue { .object(.init(.reduce(callable: .global(cls), args: [value]))) }

    /// The inert form, `module.Color(1)`: CPython's repr, `<Color.RED: 1>`, needs the member's name.
    public var pythonRepr: String { pickleGraph().root.description }
}
