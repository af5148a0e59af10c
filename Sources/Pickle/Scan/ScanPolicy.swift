#if canImport(FoundationEssentials)
import FoundationEssentials
#elseif canImport(Foundation)
import Foundation
#endif

/// Which globals a pickle may use under ``PickleScanner``: an allow-list, with constraints on the arguments
/// of the calls where they matter. A global the policy does not allow is a finding whatever it is; the
/// built-in list of dangerous callables only grades such findings (suspicious or dangerous).
///
/// Built-in profiles: ``data`` (plain values only), ``stdlib`` (Python's value types as CPython pickles
/// them), ``numpy`` (arrays, dtypes and scalars, with ``stdlib``) and ``torch`` (what PyTorch's
/// `weights_only` unpickler accepts). A policy file extends or replaces one (``init(json:)``).
public struct ScanPolicy: Sendable, Equatable {
    /// What an argument of an allowed call must be.
    public enum ArgumentConstraint: String, Sendable, Hashable, Codable {
        /// A persistent id (a checkpoint's storage), never a value built in the pickle.
        case persistentID = "persistent-id"
        /// The result of a call the policy allows (a rebuilt tensor for a parameter).
        case allowedCall = "allowed-call"
        /// A global the policy allows (the function `_rebuild_from_type_v2` applies).
        case allowedGlobal = "allowed-global"
        /// Plain data: no global, call or persistent id anywhere inside.
        case plainData = "data"
    }

    /// How persistent ids are judged.
    public enum PersistentIDs: String, Sendable, Hashable, Codable {
        /// Every persistent id is a finding: what it loads is the loader's `persistent_load`.
        case refused = "refuse"
        /// `('storage', storage_type, key, location, numel)`, as `torch.save` writes, with an allowed
        /// storage type, a str key and location and an int size.
        case torchStorage = "torch-storage"
        /// Any persistent id.
        case any
    }

    /// The policy's name, shown in reports.
    public var name: String
    /// Allowed globals (`module.name`, or `module.*` for every name of a module) and the constraints on the
    /// positional arguments of their calls, by position.
    public var allowed: [String: [Int: ArgumentConstraint]]
    /// How persistent ids are judged.
    public var persistentIDs: PersistentIDs

    /// A policy allowing `globals` (names or `module.*` patterns) without argument constraints.
    public init(name: String, allowing globals: [String] = [], persistentIDs: PersistentIDs = .refused) {
        self.name = name
        self.allowed = Dictionary(globals.map { ($0, [:]) }, uniquingKeysWith: { a, _ in a })
        self.persistentIDs = persistentIDs
    }

    /// The constraints of `name`'s calls if the policy allows it, nil if it does not.
    public func constraints(for name: GlobalName) -> [Int: ArgumentConstraint]? {
        if let exact = allowed["\(name.module).\(name.name)"] { return exact }
        return allowed["\(name.module).*"]
    }

    /// Whether the policy allows `name`.
    public func allows(_ name: GlobalName) -> Bool { constraints(for: name) != nil }

    // MARK: - Built-in profiles

    /// Plain data: no globals, except the builtins that protocols 0 to 3 use to write sets, frozensets,
    /// bytes and bytearrays (the parser turns those calls into the values themselves).
    public static let data = ScanPolicy(name: "data", allowing: plainDataReconstructors)

    /// Python's standard-library value types as CPython pickles them: dates and times, decimals, fractions,
    /// UUIDs, the collections, complex numbers, paths, IP addresses, arrays, ranges and slices.
    public static let stdlib = ScanPolicy(name: "stdlib", allowing: plainDataReconstructors + stdlibValueTypes)

    /// numpy arrays, dtypes and scalars (numpy 1 and 2) and joblib's array wrapper, with ``stdlib``.
    public static let numpy = ScanPolicy(name: "numpy", allowing: plainDataReconstructors + stdlibValueTypes + numpyTypes)

    /// What PyTorch's `weights_only` unpickler accepts: the tensor rebuild functions (a tensor only over a
    /// storage from a persistent id), parameters over rebuilt tensors, storage types, dtypes, layouts,
    /// memory formats and quantization schemes, `torch.Size`, `torch.device`, `OrderedDict` and `Counter`.
    public static let torch: ScanPolicy = {
        var policy = ScanPolicy(name: "torch", allowing: torchTypes, persistentIDs: .torchStorage)
        for name in ["torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
                     "torch._utils._rebuild_qtensor"] {
            policy.allowed[name] = [0: .persistentID]
        }
        for name in ["torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state"] {
            policy.allowed[name] = [0: .allowedCall]
        }
        policy.allowed["torch._tensor._rebuild_from_type_v2"] = [0: .allowedGlobal]
        return policy
    }()

    /// The built-in profiles by name.
    public static let builtIn: [String: ScanPolicy] = ["data": data, "stdlib": stdlib, "numpy": numpy, "torch": torch]

    private static let plainDataReconstructors = [
        "builtins.set", "builtins.frozenset", "builtins.bytearray", "builtins.bytes", "_codecs.encode",
    ]

    private static let stdlibValueTypes = [
        "builtins.complex", "builtins.slice", "builtins.range", "builtins.object", "builtins.list", "builtins.dict",
        "builtins.tuple", "builtins.str", "builtins.int", "builtins.float", "builtins.bool", "builtins.Ellipsis",
        "builtins.NotImplemented",
        "copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__",
        "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta", "datetime.timezone",
        "zoneinfo.ZoneInfo._unpickle", "decimal.Decimal", "fractions.Fraction", "uuid.UUID", "uuid.SafeUUID",
        "collections.OrderedDict", "collections.deque", "collections.Counter", "collections.defaultdict",
        "collections.ChainMap", "types.SimpleNamespace", "time.struct_time", "array.array",
        "array._array_reconstructor", "ipaddress.IPv4Address", "ipaddress.IPv6Address", "ipaddress.IPv4Network",
        "ipaddress.IPv6Network", "ipaddress.IPv4Interface", "ipaddress.IPv6Interface", "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.Path",
    ]

    private static let numpyTypes: [String] = ["numpy.dtype", "numpy.ndarray", "numpy.matrix", "numpy.ma.core._mareconstruct",
                                               "numpy.ma.core.MaskedArray", "joblib.numpy_pickle.NumpyArrayWrapper"]
        + ["numpy.core", "numpy._core"].flatMap { package in
            ["\(package).multiarray._reconstruct", "\(package).multiarray.scalar", "\(package).numeric._frombuffer",
             "\(package).records.recarray", "\(package).records.record"]
        }

    private static let torchTypes: [String] = [
        "collections.OrderedDict", "collections.Counter", "builtins.set", "builtins.frozenset", "builtins.bytearray",
        "builtins.complex", "_codecs.encode",
        "torch.nn.parameter.Parameter", "torch.serialization._get_layout", "torch.Size", "torch.Tensor", "torch.device",
        "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_nested_tensor",
        "torch._utils._rebuild_wrapper_subclass", "torch._utils._rebuild_device_tensor_from_numpy",
        "torch.UntypedStorage", "torch.storage.UntypedStorage", "torch.storage.TypedStorage",
    ] + ["Float", "Double", "Half", "BFloat16", "Char", "Byte", "Short", "Int", "Long", "Bool", "ComplexFloat",
         "ComplexDouble", "QUInt8", "QInt8", "QInt32", "QUInt4x2", "QUInt2x4", "Float8_e4m3fn", "Float8_e5m2"].map { "torch.\($0)Storage" }
      + ["float32", "float", "float64", "double", "float16", "half", "bfloat16", "complex32", "complex64", "complex128", "cfloat",
         "cdouble", "uint8", "int8", "int16", "short", "int32", "int", "int64", "long", "bool", "quint8", "qint8", "qint32",
         "quint4x2", "quint2x4", "float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64"].map { "torch.\($0)" }
      + ["strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc", "_mkldnn", "contiguous_format",
         "preserve_format", "channels_last", "channels_last_3d", "per_tensor_affine", "per_channel_affine",
         "per_tensor_symmetric", "per_channel_symmetric", "per_channel_affine_float_qparams"].map { "torch.\($0)" }

    // MARK: - Policy files

    /// The JSON form of a policy file.
    private struct File: Decodable {
        /// A built-in profile to extend; absent or null to start from nothing.
        var extends: String?
        var name: String?
        /// Globals allowed: names or `module.*` patterns, or objects with argument constraints.
        var allow: [Entry]?
        /// Globals removed from the base profile.
        var remove: [String]?
        var persistentIDs: PersistentIDs?

        enum CodingKeys: String, CodingKey { case extends, name, allow, remove, persistentIDs = "persistent_ids" }

        enum Entry: Decodable {
            case name(String)
            case constrained(global: String, arguments: [String: ArgumentConstraint])

            private enum Keys: String, CodingKey { case global, arguments }

            init(from decoder: any Decoder) throws {
                if let text = try? decoder.singleValueContainer().decode(String.self) {
                    self = .name(text)
                    return
                }
                let object = try decoder.container(keyedBy: Keys.self)
                self = .constrained(global: try object.decode(String.self, forKey: .global),
                                    arguments: try object.decodeIfPresent([String: ArgumentConstraint].self, forKey: .arguments) ?? [:])
            }
        }
    }

    /// A policy read from a JSON policy file:
    ///
    /// ```json
    /// {"extends": "numpy", "name": "my-service",
    ///  "allow": ["mypackage.Point", "mypackage.units.*",
    ///            {"global": "mypackage.load_tensor", "arguments": {"0": "persistent-id"}}],
    ///  "remove": ["builtins.range"], "persistent_ids": "refuse"}
    /// ```
    ///
    /// `extends` names a built-in profile (`data`, `stdlib`, `numpy`, `torch`) whose allow-list the file
    /// extends; without it the file replaces them. Constraints are `persistent-id`, `allowed-call`,
    /// `allowed-global` and `data`; `persistent_ids` is `refuse`, `torch-storage` or `any`.
    /// - Throws: ``ScanPolicyError`` naming what is wrong.
    public init(json: some Collection<UInt8>) throws {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(json))
        } catch {
            throw ScanPolicyError(message: "not a policy file: \(error)")
        }
        if let base = file.extends {
            guard let profile = Self.builtIn[base] else {
                throw ScanPolicyError(message: "unknown profile '\(base)' to extend (data, stdlib, numpy or torch)")
            }
            self = profile
        } else {
            self = ScanPolicy(name: "custom")
        }
        name = file.name ?? (file.extends.map { "\($0)+custom" } ?? "custom")
        for entry in file.allow ?? [] {
            switch entry {
            case .name(let global):
                try Self.checkPattern(global)
                if allowed[global] == nil { allowed[global] = [:] }
            case .constrained(let global, let arguments):
                try Self.checkPattern(global)
                var constraints: [Int: ArgumentConstraint] = [:]
                for (position, constraint) in arguments {
                    guard let index = Int(position), index >= 0 else {
                        throw ScanPolicyError(message: "argument position '\(position)' of \(global) is not an integer of at least 0")
                    }
                    constraints[index] = constraint
                }
                allowed[global] = constraints
            }
        }
        for global in file.remove ?? [] { allowed[global] = nil }
        if let persistentIDs = file.persistentIDs { self.persistentIDs = persistentIDs }
    }

    private static func checkPattern(_ global: String) throws {
        let parts = global.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty }), !parts.dropLast().contains("*") else {
            throw ScanPolicyError(message: "'\(global)' is not a global name (module.name) or a module pattern (module.*)")
        }
    }
}

/// A policy file that cannot be read.
public struct ScanPolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    public var description: String { message }
}
