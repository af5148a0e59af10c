/// Globals known to run code, reach the system or unpickle more: used to grade a global that the policy
/// does not allow (dangerous rather than suspicious), never to decide that anything is safe.
///
/// A name matches when it, or any attribute path inside it, names one: `posixpath.os.system` (an
/// attribute path STACK_GLOBAL resolves at protocol 4) matches through `os`, and `random._os.system`
/// through the private alias of `os`.
enum DangerousGlobals {
    /// Modules every attribute of which is dangerous.
    static let modules: Set<String> = [
        "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "_posixsubprocess", "sys", "importlib", "pkgutil", "runpy",
        "pty", "socket", "_socket", "socketserver", "ssl", "shutil", "pickle", "_pickle", "cPickle", "pickletools", "dill", "cloudpickle",
        "marshal", "ctypes", "_ctypes", "webbrowser", "code", "codeop", "commands", "popen2", "multiprocessing",
        "asyncio", "signal", "_signal", "pdb", "bdb", "timeit", "trace", "cProfile", "profile", "pydoc", "imp", "_imp",
        "zipimport", "ensurepip", "venv", "distutils", "setuptools", "pip", "urllib", "urllib2", "http", "httplib",
        "ftplib", "smtplib", "telnetlib", "xmlrpc", "requests", "threading", "_thread", "thread", "gc", "inspect",
        "tempfile", "glob", "fileinput", "mmap", "resource", "sqlite3", "shelve", "dbm",
        "joblib", "antigravity", "this", "idlelib", "turtle", "tkinter", "platform", "uuid._popen", "sysconfig",
    ]

    /// Single dangerous callables, `module.name`.
    static let names: Set<String> = [
        "builtins.eval", "builtins.exec", "builtins.execfile", "builtins.compile", "builtins.open", "builtins.input",
        "builtins.__import__", "builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.globals",
        "builtins.locals", "builtins.vars", "builtins.breakpoint", "builtins.help", "builtins.exit", "builtins.quit",
        "builtins.type", "builtins.__builtins__",
        "io.open", "io.FileIO", "io.open_code", "_io.open", "_io.FileIO", "codecs.open",
        "operator.attrgetter", "operator.methodcaller", "operator.itemgetter", "_operator.attrgetter",
        "_operator.methodcaller", "_operator.itemgetter", "functools.partial", "functools.reduce",
        "functools.partialmethod", "_functools.partial", "_functools.reduce",
        "types.FunctionType", "types.CodeType", "types.LambdaType", "types.MethodType", "types.ModuleType",
        "copyreg._reconstructor_unsafe", "numpy.load", "numpy.lib.npyio.load", "numpy.testing._private.utils.runstring",
        "numpy.f2py.compile", "torch.load", "torch.serialization.load", "torch.hub.load", "torch.jit.load",
        "torch._C._jit_pass_onnx", "torch.hub._load_local", "pandas.read_pickle", "pandas.io.pickle.read_pickle",
        "yaml.load", "yaml.unsafe_load", "jinja2.Template",
    ]

    /// The most components an entry of ``modules`` or ``names`` has.
    private static let longestEntry = (modules.union(names)).map { $0.split(separator: ".").count }.max() ?? 1

    /// The dangerous entry `dotted` (`module.qualname`, any depth) matches, if any: the full name, a module
    /// among its components, or a name at any attribute path inside it.
    static func match(_ dotted: String) -> String? {
        // Every entry has at most `longestEntry` components, so longer windows cannot match: linear in the
        // name's length, however many dots a hostile name has.
        let parts = dotted.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for start in parts.indices {
            // A module reached through another's private alias (`random._os`) is still that module.
            let module = start > 0 ? String(parts[start].drop { $0 == "_" }) : parts[start]
            if modules.contains(module) { return module + ".*" }
            guard start + 1 < parts.count else { break }
            for end in start + 1 ..< min(parts.count, start + longestEntry) {
                let candidate = parts[start ... end].joined(separator: ".")
                if names.contains(candidate) { return candidate }
                if modules.contains(candidate) { return candidate + ".*" }
            }
        }
        let fixed = parts.first == "__builtin__" ? (["builtins"] + parts.dropFirst()).joined(separator: ".") : dotted
        return fixed == dotted ? nil : match(fixed)
    }
}
