/// The one recognition that `show` and `description` use: a node that is exactly a standard library value
/// prints as CPython's `repr` of it, in pieces (text, and values of the graph that the caller prints in
/// place, so containers nest, share and recurse as every other value does).
enum StdlibRepr {
    /// The repr of `ref` if it is a recognised standard library value; nil leaves it to the inert printing.
    static func pieces(_ t: GraphTables, _ ref: PickleRef) -> [ReprPiece]? {
        guard let node = t.node(ref, .object) else { return nil }
        let record = t.objects[node.a]
        let callable: PickleRef
        switch record.constructor {
        case .reduce(let c, _), .newObject(let c, _), .instance(let c): callable = c
        default: return nil
        }
        if let name = t.globalName(callable) {
            switch name.module {
            case "datetime", "decimal", "uuid", "fractions", "builtins", "pathlib", "ipaddress":
                return scalar(t, ref, name).map { [.text($0)] }
            case "collections":
                return PythonCollectionsRepr.pieces(t, ref, name)
            default:
                return nil
            }
        }
        // zoneinfo.ZoneInfo._unpickle(key, from_cache): the callable is itself a REDUCE.
        return PythonZoneInfo.recognize(t, ref).map { [.text($0.pythonRepr)] }
    }

    private static func scalar(_ t: GraphTables, _ ref: PickleRef, _ name: GlobalName) -> String? {
        switch (name.module, name.name) {
        case ("datetime", "datetime"): return PythonDateTime.recognize(t, ref)?.pythonRepr
        case ("datetime", "date"): return PythonDate.recognize(t, ref)?.pythonRepr
        case ("datetime", "time"): return PythonTime.recognize(t, ref)?.pythonRepr
        case ("datetime", "timedelta"): return PythonTimeDelta.recognize(t, ref)?.pythonRepr
        case ("datetime", "timezone"): return PythonTimeZone.recognize(t, ref)?.pythonRepr
        case ("decimal", "Decimal"): return PythonDecimal.recognize(t, ref)?.pythonRepr
        case ("uuid", "UUID"): return PythonUUID.recognize(t, ref)?.pythonRepr
        case ("fractions", "Fraction"): return PythonFraction.recognize(t, ref)?.pythonRepr
        case ("builtins", "complex"): return PythonComplex.recognize(t, ref)?.pythonRepr
        case ("pathlib", _): return PythonPath.recognize(t, ref)?.pythonRepr
        case ("ipaddress", "IPv4Address"): return PythonIPv4Address.recognize(t, ref)?.pythonRepr
        case ("ipaddress", "IPv6Address"): return PythonIPv6Address.recognize(t, ref)?.pythonRepr
        case ("ipaddress", "IPv4Network"): return PythonIPv4Network.recognize(t, ref)?.pythonRepr
        case ("ipaddress", "IPv6Network"): return PythonIPv6Network.recognize(t, ref)?.pythonRepr
        case ("ipaddress", "IPv4Interface"): return PythonIPv4Interface.recognize(t, ref)?.pythonRepr
        case ("ipaddress", "IPv6Interface"): return PythonIPv6Interface.recognize(t, ref)?.pythonRepr
        default: return nil
        }
    }

    /// What CPython prints for `ref` reached again inside its own repr (`...` unless the type prints its
    /// items through a list or dict repr, which print `[...]` and `{...}`); nil for the inert default.
    static func recursionMarker(_ t: GraphTables, _ ref: PickleRef) -> String? {
        guard let name = t.stdlibCall(ref)?.name, name.module == "collections" else { return nil }
        return PythonCollectionsRepr.recursionMarker(t, ref, name)
    }
}
