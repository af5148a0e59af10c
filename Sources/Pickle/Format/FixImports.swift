// Python 2 ↔ Python 3 module and name mapping that pickle applies at protocols 0-2 (`fix_imports=True`).

/// The `fix_imports` name mapping of CPython 3.11's pickle module (`_compat_pickle`).
///
/// The unpickler maps Python 2 names to Python 3 ones when the stream's protocol is below 3; the pickler maps
/// Python 3 names to Python 2 ones when writing protocol 0, 1 or 2.
enum FixImports {
    /// A `(module, name)` pair used as a key and value of the name tables.
    struct Pair: Hashable, Sendable {
        /// The module, e.g. `__builtin__`.
        let module: String
        /// The name inside the module, e.g. `unicode`.
        let name: String

        /// Makes a pair.
        init(_ module: String, _ name: String) {
            self.module = module
            self.name = name
        }
    }

    /// The unpickler's mapping (`find_class` with protocol < 3 and `fix_imports`): `NAME_MAPPING` on the pair
    /// first, otherwise `IMPORT_MAPPING` on the module alone; names without an entry are returned unchanged.
    static func toPython3(module: String, name: String) -> (module: String, name: String) {
        if let mapped = nameMapping[Pair(module, name)] {
            return (mapped.module, mapped.name)
        }
        if let mappedModule = importMapping[module] {
            return (mappedModule, name)
        }
        return (module, name)
    }

    /// The pickler's mapping (`save_global` with protocol < 3 and `fix_imports`): `REVERSE_NAME_MAPPING` on the
    /// pair first, otherwise `REVERSE_IMPORT_MAPPING` on the module alone; names without an entry are returned
    /// unchanged.
    static func toPython2(module: String, name: String) -> (module: String, name: String) {
        if let mapped = reverseNameMapping[Pair(module, name)] {
            return (mapped.module, mapped.name)
        }
        if let mappedModule = reverseImportMapping[module] {
            return (mappedModule, name)
        }
        return (module, name)
    }

    // MARK: - Tables
    //
    // Generated from /work/shared/reference/compat_pickle.json (CPython 3.11's _compat_pickle; the JSON keys of
    // the name tables are "module.name", split at the last dot) by this script, whose output replaces
    // everything from here to the closing brace of the enum:
    //
    //     import json
    //     d = json.load(open('compat_pickle.json'))
    //     def pair(key):
    //         module, _, name = key.rpartition('.')
    //         return 'Pair("%s", "%s")' % (module, name)
    //     for table, var in (('NAME_MAPPING', 'nameMapping'), ('REVERSE_NAME_MAPPING', 'reverseNameMapping')):
    //         print('    /// `_compat_pickle.%s` (%d entries).' % (table, len(d[table])))
    //         print('    static let %s: [Pair: Pair] = [' % var)
    //         for k, v in d[table].items():
    //             print('        %s: %s,' % (pair(k), pair(v)))
    //         print('    ]\n')
    //     for table, var in (('IMPORT_MAPPING', 'importMapping'), ('REVERSE_IMPORT_MAPPING', 'reverseImportMapping')):
    //         print('    /// `_compat_pickle.%s` (%d entries).' % (table, len(d[table])))
    //         print('    static let %s: [String: String] = [' % var)
    //         for k, v in d[table].items():
    //             print('        "%s": "%s",' % (k, v))
    //         print('    ]\n')

    /// `_compat_pickle.NAME_MAPPING` (88 entries).
    static let nameMapping: [Pair: Pair] = [
        Pair("UserDict", "IterableUserDict"): Pair("collections", "UserDict"),
        Pair("UserDict", "UserDict"): Pair("collections", "UserDict"),
        Pair("UserList", "UserList"): Pair("collections", "UserList"),
        Pair("UserString", "UserString"): Pair("collections", "UserString"),
        Pair("__builtin__", "basestring"): Pair("builtins", "str"),
        Pair("__builtin__", "intern"): Pair("sys", "intern"),
        Pair("__builtin__", "long"): Pair("builtins", "int"),
        Pair("__builtin__", "reduce"): Pair("functools", "reduce"),
        Pair("__builtin__", "unichr"): Pair("builtins", "chr"),
        Pair("__builtin__", "unicode"): Pair("builtins", "str"),
        Pair("__builtin__", "xrange"): Pair("builtins", "range"),
        Pair("_multiprocessing", "Connection"): Pair("multiprocessing.connection", "Connection"),
        Pair("_socket", "fromfd"): Pair("socket", "fromfd"),
        Pair("exceptions", "ArithmeticError"): Pair("builtins", "ArithmeticError"),
        Pair("exceptions", "AssertionError"): Pair("builtins", "AssertionError"),
        Pair("exceptions", "AttributeError"): Pair("builtins", "AttributeError"),
        Pair("exceptions", "BaseException"): Pair("builtins", "BaseException"),
        Pair("exceptions", "BufferError"): Pair("builtins", "BufferError"),
        Pair("exceptions", "BytesWarning"): Pair("builtins", "BytesWarning"),
        Pair("exceptions", "DeprecationWarning"): Pair("builtins", "DeprecationWarning"),
        Pair("exceptions", "EOFError"): Pair("builtins", "EOFError"),
        Pair("exceptions", "EnvironmentError"): Pair("builtins", "EnvironmentError"),
        Pair("exceptions", "Exception"): Pair("builtins", "Exception"),
        Pair("exceptions", "FloatingPointError"): Pair("builtins", "FloatingPointError"),
        Pair("exceptions", "FutureWarning"): Pair("builtins", "FutureWarning"),
        Pair("exceptions", "GeneratorExit"): Pair("builtins", "GeneratorExit"),
        Pair("exceptions", "IOError"): Pair("builtins", "IOError"),
        Pair("exceptions", "ImportError"): Pair("builtins", "ImportError"),
        Pair("exceptions", "ImportWarning"): Pair("builtins", "ImportWarning"),
        Pair("exceptions", "IndentationError"): Pair("builtins", "IndentationError"),
        Pair("exceptions", "IndexError"): Pair("builtins", "IndexError"),
        Pair("exceptions", "KeyError"): Pair("builtins", "KeyError"),
        Pair("exceptions", "KeyboardInterrupt"): Pair("builtins", "KeyboardInterrupt"),
        Pair("exceptions", "LookupError"): Pair("builtins", "LookupError"),
        Pair("exceptions", "MemoryError"): Pair("builtins", "MemoryError"),
        Pair("exceptions", "NameError"): Pair("builtins", "NameError"),
        Pair("exceptions", "NotImplementedError"): Pair("builtins", "NotImplementedError"),
        Pair("exceptions", "OSError"): Pair("builtins", "OSError"),
        Pair("exceptions", "OverflowError"): Pair("builtins", "OverflowError"),
        Pair("exceptions", "PendingDeprecationWarning"): Pair("builtins", "PendingDeprecationWarning"),
        Pair("exceptions", "ReferenceError"): Pair("builtins", "ReferenceError"),
        Pair("exceptions", "RuntimeError"): Pair("builtins", "RuntimeError"),
        Pair("exceptions", "RuntimeWarning"): Pair("builtins", "RuntimeWarning"),
        Pair("exceptions", "StandardError"): Pair("builtins", "Exception"),
        Pair("exceptions", "StopIteration"): Pair("builtins", "StopIteration"),
        Pair("exceptions", "SyntaxError"): Pair("builtins", "SyntaxError"),
        Pair("exceptions", "SyntaxWarning"): Pair("builtins", "SyntaxWarning"),
        Pair("exceptions", "SystemError"): Pair("builtins", "SystemError"),
        Pair("exceptions", "SystemExit"): Pair("builtins", "SystemExit"),
        Pair("exceptions", "TabError"): Pair("builtins", "TabError"),
        Pair("exceptions", "TypeError"): Pair("builtins", "TypeError"),
        Pair("exceptions", "UnboundLocalError"): Pair("builtins", "UnboundLocalError"),
        Pair("exceptions", "UnicodeDecodeError"): Pair("builtins", "UnicodeDecodeError"),
        Pair("exceptions", "UnicodeEncodeError"): Pair("builtins", "UnicodeEncodeError"),
        Pair("exceptions", "UnicodeError"): Pair("builtins", "UnicodeError"),
        Pair("exceptions", "UnicodeTranslateError"): Pair("builtins", "UnicodeTranslateError"),
        Pair("exceptions", "UnicodeWarning"): Pair("builtins", "UnicodeWarning"),
        Pair("exceptions", "UserWarning"): Pair("builtins", "UserWarning"),
        Pair("exceptions", "ValueError"): Pair("builtins", "ValueError"),
        Pair("exceptions", "Warning"): Pair("builtins", "Warning"),
        Pair("exceptions", "ZeroDivisionError"): Pair("builtins", "ZeroDivisionError"),
        Pair("itertools", "ifilter"): Pair("builtins", "filter"),
        Pair("itertools", "ifilterfalse"): Pair("itertools", "filterfalse"),
        Pair("itertools", "imap"): Pair("builtins", "map"),
        Pair("itertools", "izip"): Pair("builtins", "zip"),
        Pair("itertools", "izip_longest"): Pair("itertools", "zip_longest"),
        Pair("multiprocessing", "AuthenticationError"): Pair("multiprocessing.context", "AuthenticationError"),
        Pair("multiprocessing", "BufferTooShort"): Pair("multiprocessing.context", "BufferTooShort"),
        Pair("multiprocessing", "ProcessError"): Pair("multiprocessing.context", "ProcessError"),
        Pair("multiprocessing", "TimeoutError"): Pair("multiprocessing.context", "TimeoutError"),
        Pair("multiprocessing.forking", "Popen"): Pair("multiprocessing.popen_fork", "Popen"),
        Pair("multiprocessing.process", "Process"): Pair("multiprocessing.context", "Process"),
        Pair("socket", "_socketobject"): Pair("socket", "SocketType"),
        Pair("urllib", "ContentTooShortError"): Pair("urllib.error", "ContentTooShortError"),
        Pair("urllib", "getproxies"): Pair("urllib.request", "getproxies"),
        Pair("urllib", "pathname2url"): Pair("urllib.request", "pathname2url"),
        Pair("urllib", "quote"): Pair("urllib.parse", "quote"),
        Pair("urllib", "quote_plus"): Pair("urllib.parse", "quote_plus"),
        Pair("urllib", "unquote"): Pair("urllib.parse", "unquote"),
        Pair("urllib", "unquote_plus"): Pair("urllib.parse", "unquote_plus"),
        Pair("urllib", "url2pathname"): Pair("urllib.request", "url2pathname"),
        Pair("urllib", "urlcleanup"): Pair("urllib.request", "urlcleanup"),
        Pair("urllib", "urlencode"): Pair("urllib.parse", "urlencode"),
        Pair("urllib", "urlopen"): Pair("urllib.request", "urlopen"),
        Pair("urllib", "urlretrieve"): Pair("urllib.request", "urlretrieve"),
        Pair("urllib2", "HTTPError"): Pair("urllib.error", "HTTPError"),
        Pair("urllib2", "URLError"): Pair("urllib.error", "URLError"),
        Pair("whichdb", "whichdb"): Pair("dbm", "whichdb"),
    ]

    /// `_compat_pickle.REVERSE_NAME_MAPPING` (112 entries).
    static let reverseNameMapping: [Pair: Pair] = [
        Pair("_functools", "reduce"): Pair("__builtin__", "reduce"),
        Pair("_socket", "socket"): Pair("socket", "_socketobject"),
        Pair("builtins", "ArithmeticError"): Pair("exceptions", "ArithmeticError"),
        Pair("builtins", "AssertionError"): Pair("exceptions", "AssertionError"),
        Pair("builtins", "AttributeError"): Pair("exceptions", "AttributeError"),
        Pair("builtins", "BaseException"): Pair("exceptions", "BaseException"),
        Pair("builtins", "BrokenPipeError"): Pair("exceptions", "OSError"),
        Pair("builtins", "BufferError"): Pair("exceptions", "BufferError"),
        Pair("builtins", "BytesWarning"): Pair("exceptions", "BytesWarning"),
        Pair("builtins", "ChildProcessError"): Pair("exceptions", "OSError"),
        Pair("builtins", "ConnectionAbortedError"): Pair("exceptions", "OSError"),
        Pair("builtins", "ConnectionError"): Pair("exceptions", "OSError"),
        Pair("builtins", "ConnectionRefusedError"): Pair("exceptions", "OSError"),
        Pair("builtins", "ConnectionResetError"): Pair("exceptions", "OSError"),
        Pair("builtins", "DeprecationWarning"): Pair("exceptions", "DeprecationWarning"),
        Pair("builtins", "EOFError"): Pair("exceptions", "EOFError"),
        Pair("builtins", "EnvironmentError"): Pair("exceptions", "EnvironmentError"),
        Pair("builtins", "Exception"): Pair("exceptions", "Exception"),
        Pair("builtins", "FileExistsError"): Pair("exceptions", "OSError"),
        Pair("builtins", "FileNotFoundError"): Pair("exceptions", "OSError"),
        Pair("builtins", "FloatingPointError"): Pair("exceptions", "FloatingPointError"),
        Pair("builtins", "FutureWarning"): Pair("exceptions", "FutureWarning"),
        Pair("builtins", "GeneratorExit"): Pair("exceptions", "GeneratorExit"),
        Pair("builtins", "IOError"): Pair("exceptions", "IOError"),
        Pair("builtins", "ImportError"): Pair("exceptions", "ImportError"),
        Pair("builtins", "ImportWarning"): Pair("exceptions", "ImportWarning"),
        Pair("builtins", "IndentationError"): Pair("exceptions", "IndentationError"),
        Pair("builtins", "IndexError"): Pair("exceptions", "IndexError"),
        Pair("builtins", "InterruptedError"): Pair("exceptions", "OSError"),
        Pair("builtins", "IsADirectoryError"): Pair("exceptions", "OSError"),
        Pair("builtins", "KeyError"): Pair("exceptions", "KeyError"),
        Pair("builtins", "KeyboardInterrupt"): Pair("exceptions", "KeyboardInterrupt"),
        Pair("builtins", "LookupError"): Pair("exceptions", "LookupError"),
        Pair("builtins", "MemoryError"): Pair("exceptions", "MemoryError"),
        Pair("builtins", "ModuleNotFoundError"): Pair("exceptions", "ImportError"),
        Pair("builtins", "NameError"): Pair("exceptions", "NameError"),
        Pair("builtins", "NotADirectoryError"): Pair("exceptions", "OSError"),
        Pair("builtins", "NotImplementedError"): Pair("exceptions", "NotImplementedError"),
        Pair("builtins", "OSError"): Pair("exceptions", "OSError"),
        Pair("builtins", "OverflowError"): Pair("exceptions", "OverflowError"),
        Pair("builtins", "PendingDeprecationWarning"): Pair("exceptions", "PendingDeprecationWarning"),
        Pair("builtins", "PermissionError"): Pair("exceptions", "OSError"),
        Pair("builtins", "ProcessLookupError"): Pair("exceptions", "OSError"),
        Pair("builtins", "ReferenceError"): Pair("exceptions", "ReferenceError"),
        Pair("builtins", "RuntimeError"): Pair("exceptions", "RuntimeError"),
        Pair("builtins", "RuntimeWarning"): Pair("exceptions", "RuntimeWarning"),
        Pair("builtins", "StopIteration"): Pair("exceptions", "StopIteration"),
        Pair("builtins", "SyntaxError"): Pair("exceptions", "SyntaxError"),
        Pair("builtins", "SyntaxWarning"): Pair("exceptions", "SyntaxWarning"),
        Pair("builtins", "SystemError"): Pair("exceptions", "SystemError"),
        Pair("builtins", "SystemExit"): Pair("exceptions", "SystemExit"),
        Pair("builtins", "TabError"): Pair("exceptions", "TabError"),
        Pair("builtins", "TimeoutError"): Pair("exceptions", "OSError"),
        Pair("builtins", "TypeError"): Pair("exceptions", "TypeError"),
        Pair("builtins", "UnboundLocalError"): Pair("exceptions", "UnboundLocalError"),
        Pair("builtins", "UnicodeDecodeError"): Pair("exceptions", "UnicodeDecodeError"),
        Pair("builtins", "UnicodeEncodeError"): Pair("exceptions", "UnicodeEncodeError"),
        Pair("builtins", "UnicodeError"): Pair("exceptions", "UnicodeError"),
        Pair("builtins", "UnicodeTranslateError"): Pair("exceptions", "UnicodeTranslateError"),
        Pair("builtins", "UnicodeWarning"): Pair("exceptions", "UnicodeWarning"),
        Pair("builtins", "UserWarning"): Pair("exceptions", "UserWarning"),
        Pair("builtins", "ValueError"): Pair("exceptions", "ValueError"),
        Pair("builtins", "Warning"): Pair("exceptions", "Warning"),
        Pair("builtins", "ZeroDivisionError"): Pair("exceptions", "ZeroDivisionError"),
        Pair("builtins", "chr"): Pair("__builtin__", "unichr"),
        Pair("builtins", "filter"): Pair("itertools", "ifilter"),
        Pair("builtins", "int"): Pair("__builtin__", "long"),
        Pair("builtins", "map"): Pair("itertools", "imap"),
        Pair("builtins", "range"): Pair("__builtin__", "xrange"),
        Pair("builtins", "str"): Pair("__builtin__", "unicode"),
        Pair("builtins", "zip"): Pair("itertools", "izip"),
        Pair("collections", "UserDict"): Pair("UserDict", "IterableUserDict"),
        Pair("collections", "UserList"): Pair("UserList", "UserList"),
        Pair("collections", "UserString"): Pair("UserString", "UserString"),
        Pair("dbm", "whichdb"): Pair("whichdb", "whichdb"),
        Pair("functools", "reduce"): Pair("__builtin__", "reduce"),
        Pair("http.server", "CGIHTTPRequestHandler"): Pair("CGIHTTPServer", "CGIHTTPRequestHandler"),
        Pair("http.server", "SimpleHTTPRequestHandler"): Pair("SimpleHTTPServer", "SimpleHTTPRequestHandler"),
        Pair("itertools", "filterfalse"): Pair("itertools", "ifilterfalse"),
        Pair("itertools", "zip_longest"): Pair("itertools", "izip_longest"),
        Pair("multiprocessing.connection", "Connection"): Pair("_multiprocessing", "Connection"),
        Pair("multiprocessing.context", "AuthenticationError"): Pair("multiprocessing", "AuthenticationError"),
        Pair("multiprocessing.context", "BufferTooShort"): Pair("multiprocessing", "BufferTooShort"),
        Pair("multiprocessing.context", "Process"): Pair("multiprocessing.process", "Process"),
        Pair("multiprocessing.context", "ProcessError"): Pair("multiprocessing", "ProcessError"),
        Pair("multiprocessing.context", "TimeoutError"): Pair("multiprocessing", "TimeoutError"),
        Pair("multiprocessing.popen_fork", "Popen"): Pair("multiprocessing.forking", "Popen"),
        Pair("socket", "fromfd"): Pair("_socket", "fromfd"),
        Pair("sys", "intern"): Pair("__builtin__", "intern"),
        Pair("tkinter.filedialog", "FileDialog"): Pair("FileDialog", "FileDialog"),
        Pair("tkinter.filedialog", "LoadFileDialog"): Pair("FileDialog", "LoadFileDialog"),
        Pair("tkinter.filedialog", "SaveFileDialog"): Pair("FileDialog", "SaveFileDialog"),
        Pair("tkinter.simpledialog", "SimpleDialog"): Pair("SimpleDialog", "SimpleDialog"),
        Pair("urllib.error", "ContentTooShortError"): Pair("urllib", "ContentTooShortError"),
        Pair("urllib.error", "HTTPError"): Pair("urllib2", "HTTPError"),
        Pair("urllib.error", "URLError"): Pair("urllib2", "URLError"),
        Pair("urllib.parse", "quote"): Pair("urllib", "quote"),
        Pair("urllib.parse", "quote_plus"): Pair("urllib", "quote_plus"),
        Pair("urllib.parse", "unquote"): Pair("urllib", "unquote"),
        Pair("urllib.parse", "unquote_plus"): Pair("urllib", "unquote_plus"),
        Pair("urllib.parse", "urlencode"): Pair("urllib", "urlencode"),
        Pair("urllib.request", "getproxies"): Pair("urllib", "getproxies"),
        Pair("urllib.request", "pathname2url"): Pair("urllib", "pathname2url"),
        Pair("urllib.request", "url2pathname"): Pair("urllib", "url2pathname"),
        Pair("urllib.request", "urlcleanup"): Pair("urllib", "urlcleanup"),
        Pair("urllib.request", "urlopen"): Pair("urllib", "urlopen"),
        Pair("urllib.request", "urlretrieve"): Pair("urllib", "urlretrieve"),
        Pair("xmlrpc.server", "DocCGIXMLRPCRequestHandler"): Pair("DocXMLRPCServer", "DocCGIXMLRPCRequestHandler"),
        Pair("xmlrpc.server", "DocXMLRPCRequestHandler"): Pair("DocXMLRPCServer", "DocXMLRPCRequestHandler"),
        Pair("xmlrpc.server", "DocXMLRPCServer"): Pair("DocXMLRPCServer", "DocXMLRPCServer"),
        Pair("xmlrpc.server", "ServerHTMLDoc"): Pair("DocXMLRPCServer", "ServerHTMLDoc"),
        Pair("xmlrpc.server", "XMLRPCDocGenerator"): Pair("DocXMLRPCServer", "XMLRPCDocGenerator"),
    ]

    /// `_compat_pickle.IMPORT_MAPPING` (55 entries).
    static let importMapping: [String: String] = [
        "BaseHTTPServer": "http.server",
        "CGIHTTPServer": "http.server",
        "ConfigParser": "configparser",
        "Cookie": "http.cookies",
        "Dialog": "tkinter.dialog",
        "DocXMLRPCServer": "xmlrpc.server",
        "FileDialog": "tkinter.filedialog",
        "HTMLParser": "html.parser",
        "Queue": "queue",
        "ScrolledText": "tkinter.scrolledtext",
        "SimpleDialog": "tkinter.simpledialog",
        "SimpleHTTPServer": "http.server",
        "SimpleXMLRPCServer": "xmlrpc.server",
        "SocketServer": "socketserver",
        "StringIO": "io",
        "Tix": "tkinter.tix",
        "Tkconstants": "tkinter.constants",
        "Tkdnd": "tkinter.dnd",
        "Tkinter": "tkinter",
        "UserDict": "collections",
        "UserList": "collections",
        "UserString": "collections",
        "__builtin__": "builtins",
        "_abcoll": "collections.abc",
        "_elementtree": "xml.etree.ElementTree",
        "_winreg": "winreg",
        "anydbm": "dbm",
        "cPickle": "pickle",
        "cStringIO": "io",
        "commands": "subprocess",
        "cookielib": "http.cookiejar",
        "copy_reg": "copyreg",
        "dbhash": "dbm.bsd",
        "dbm": "dbm.ndbm",
        "dumbdbm": "dbm.dumb",
        "dummy_thread": "_dummy_thread",
        "gdbm": "dbm.gnu",
        "htmlentitydefs": "html.entities",
        "httplib": "http.client",
        "markupbase": "_markupbase",
        "repr": "reprlib",
        "robotparser": "urllib.robotparser",
        "test.test_support": "test.support",
        "thread": "_thread",
        "tkColorChooser": "tkinter.colorchooser",
        "tkCommonDialog": "tkinter.commondialog",
        "tkFileDialog": "tkinter.filedialog",
        "tkFont": "tkinter.font",
        "tkMessageBox": "tkinter.messagebox",
        "tkSimpleDialog": "tkinter.simpledialog",
        "ttk": "tkinter.ttk",
        "urllib2": "urllib.request",
        "urlparse": "urllib.parse",
        "whichdb": "dbm",
        "xmlrpclib": "xmlrpc.client",
    ]

    /// `_compat_pickle.REVERSE_IMPORT_MAPPING` (47 entries).
    static let reverseImportMapping: [String: String] = [
        "_bz2": "bz2",
        "_dbm": "dbm",
        "_dummy_thread": "dummy_thread",
        "_functools": "functools",
        "_gdbm": "gdbm",
        "_markupbase": "markupbase",
        "_pickle": "pickle",
        "_thread": "thread",
        "builtins": "__builtin__",
        "collections.abc": "_abcoll",
        "configparser": "ConfigParser",
        "copyreg": "copy_reg",
        "dbm": "anydbm",
        "dbm.bsd": "dbhash",
        "dbm.dumb": "dumbdbm",
        "dbm.gnu": "gdbm",
        "dbm.ndbm": "dbm",
        "html.entities": "htmlentitydefs",
        "html.parser": "HTMLParser",
        "http.client": "httplib",
        "http.cookiejar": "cookielib",
        "http.cookies": "Cookie",
        "http.server": "BaseHTTPServer",
        "queue": "Queue",
        "reprlib": "repr",
        "socketserver": "SocketServer",
        "subprocess": "commands",
        "test.support": "test.test_support",
        "tkinter": "Tkinter",
        "tkinter.colorchooser": "tkColorChooser",
        "tkinter.commondialog": "tkCommonDialog",
        "tkinter.constants": "Tkconstants",
        "tkinter.dialog": "Dialog",
        "tkinter.dnd": "Tkdnd",
        "tkinter.filedialog": "tkFileDialog",
        "tkinter.font": "tkFont",
        "tkinter.messagebox": "tkMessageBox",
        "tkinter.scrolledtext": "ScrolledText",
        "tkinter.simpledialog": "tkSimpleDialog",
        "tkinter.tix": "Tix",
        "tkinter.ttk": "ttk",
        "urllib.parse": "urlparse",
        "urllib.request": "urllib2",
        "urllib.robotparser": "robotparser",
        "winreg": "_winreg",
        "xmlrpc.client": "xmlrpclib",
        "xmlrpc.server": "SimpleXMLRPCServer",
    ]
}
