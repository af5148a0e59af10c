/// The global or persistent id that ``UnpicklerHooks/rejecting(outside:)`` refused.
public struct ScanPolicyViolation: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was refused, and why.
    public let message: String
    public var description: String { message }
}

extension UnpicklerHooks {
    /// Hooks that stop a stream at the first global `policy` does not allow, or the first persistent id it
    /// does not accept, as the opcode arrives: a server reading pickles from a socket rejects a message
    /// before the rest of it is read. The error is ``PickleError/Code/rejected`` with the opcode's offset.
    ///
    /// What the hooks cannot see (argument constraints, calls of call results, discarded calls) the scan
    /// of the finished graph adds: ``PickleScanner/findings(in:)``.
    public static func rejecting(outside policy: ScanPolicy) -> UnpicklerHooks {
        UnpicklerHooks(
            findClass: { name in
                guard policy.allows(name) else {
                    throw ScanPolicyViolation(message: "\(name) is not allowed by the policy '\(policy.name)'")
                }
                return nil
            },
            persistentLoad: { id in
                switch policy.persistentIDs {
                case .any: return nil
                case .refused: throw ScanPolicyViolation(message: "the policy '\(policy.name)' accepts no persistent id")
                case .torchStorage:
                    guard case .tuple(let items) = id, items.count == 5, case .string("storage") = items[0],
                          case .global(let storageType) = items[1], policy.allows(storageType),
                          case .string = items[2], case .string = items[3], case .int = items[4] else {
                        throw ScanPolicyViolation(message: "persistent id \(id) is not a torch storage the policy '\(policy.name)' allows")
                    }
                    return nil
                }
            })
    }
}

extension PickleScanner {
    /// The findings of one decoded graph under the scanner's policy (a message a ``StreamingUnpickler``
    /// delivered): globals, calls, data flow and discarded calls, without byte offsets (0), which only a
    /// scan of the bytes knows.
    public func findings(in graph: PickleGraph) -> [ScanFinding] {
        let trace = PickleTrace(graph: graph, isComplete: true, stack: [], nodeOffsets: [], events: [], end: 0, error: nil)
        return GraphScan(trace: trace, policy: policy, location: "", base: 0).findings
    }

    /// The verdict of one decoded graph: the worst of ``findings(in:)``.
    public func verdict(of graph: PickleGraph) -> ScanVerdict {
        findings(in: graph).map(\.severity).max() ?? .safe
    }
}
