/// A type that ``PickleEncoder`` writes as a Python `tuple`: its `encode(to:)` uses an unkeyed container,
/// and the items become the tuple's.
///
/// ```swift
/// struct Point: Codable, PickleTupleRepresentable {
///     var x: Int, y: Int
///     func encode(to encoder: any Encoder) throws {
///         var items = encoder.unkeyedContainer()
///         try items.encode(x)
///         try items.encode(y)
///     }
///     // init(from:) reads an unkeyed container the same way.
/// }
/// // pickle.loads(try PickleEncoder().encode(Point(x: 1, y: 2))) == (1, 2)
/// ```
public protocol PickleTupleRepresentable: Encodable {}

/// An array that ``PickleEncoder`` writes as a Python `tuple`; it decodes from any sequence (a tuple, list,
/// set or frozenset).
public struct PickleTuple<Element>: PickleTupleRepresentable, RandomAccessCollection, MutableCollection, ExpressibleByArrayLiteral
where Element: Codable {
    /// The items.
    public var elements: [Element]

    /// A tuple of `elements`.
    public init(_ elements: [Element]) { self.elements = elements }

    public init(arrayLiteral elements: Element...) { self.elements = elements }

    public var startIndex: Int { elements.startIndex }
    public var endIndex: Int { elements.endIndex }
    public subscript(position: Int) -> Element {
        get { elements[position] }
        set { elements[position] = newValue }
    }

    /// The items, from any unkeyed container.
    public init(from decoder: any Decoder) throws { elements = try [Element](from: decoder) }

    /// The items, into an unkeyed container (a tuple with ``PickleEncoder``).
    public func encode(to encoder: any Encoder) throws { try elements.encode(to: encoder) }
}

extension PickleTuple: Decodable {}
extension PickleTuple: Equatable where Element: Equatable {}
extension PickleTuple: Hashable where Element: Hashable {}
extension PickleTuple: Sendable where Element: Sendable {}
