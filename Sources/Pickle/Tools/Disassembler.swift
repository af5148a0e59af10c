// A port of the behaviour of CPython 3.11's `pickletools.dis`: the same text, line for line, and the same
// errors (raised after the same partial output) for malformed pickles.

/// An error `pickletools.dis` would raise, with its exact message.
public struct DisassemblyError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The stream offset of the opcode being disassembled when the error arose (for
    /// `pickle exhausted before seeing STOP`, the end of the input).
    public let offset: Int
    /// The text of the exception CPython raises (a `ValueError`, or one of its subclasses such as
    /// `UnicodeDecodeError`), e.g. `memo key 3 has never been stored into`.
    public let message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "at offset \(offset): \(message)" }
}

/// Disassembles pickles the way `python3 -m pickletools` prints them.
///
/// The output is the text CPython 3.11's `pickletools.dis(f, indentlevel=, annotate=)` prints for a file object `f`
/// positioned at the start of the pickle: one line per opcode with its stream offset, the opcode byte, the
/// indentation of the open MARKs, the name, the argument's `repr`, `(MARK at N)` / `(as N)`, the optional
/// annotation, and a last line `highest protocol among opcodes = N`.
///
/// Like pickletools, the disassembler emulates the unpickler's stack with type markers and its memo, and stops
/// with the same `ValueError` text for malformed streams, after emitting what pickletools prints before raising
/// (usually the offending line). It never traps and never recurses; declared lengths larger than the input are
/// reported, not allocated.
public struct Disassembler: Sendable {
    /// Blanks added per open MARK (pickletools' `indentlevel`).
    public var indentLevel: Int
    /// Annotation column hint (pickletools' `annotate`); 0 for no annotations.
    public var annotate: Int
    /// Session mode: keep the memo from one ``disassemble(_:from:)`` call to the next, like passing the same
    /// `memo=` dict to consecutive `pickletools.dis` calls. Use it for streams written by one `Pickler` across
    /// several `dump` calls, whose later pickles refer to memo entries of earlier ones. Off by default: each pickle
    /// starts with an empty memo.
    public var carriesMemoAcrossPickles: Bool = false
    /// Not a pickletools feature: when set, disassembly stops with an error once the text exceeds this many UTF-8
    /// bytes. pickletools' output can be quadratic in the input (each open MARK indents every later line), so a
    /// 100 kB stream of MARKs prints about 20 GB; callers that print untrusted input may want a bound. `nil`
    /// (the default) means no limit.
    public var maxOutputLength: Int?
    /// When set, text is handed to it in pieces of about 64 KiB as it is produced, and only the rest comes back
    /// from ``disassemble(_:from:)``: the memory a long disassembly holds stays small.
    public var textSink: (@Sendable (String) -> Void)?

    /// The emulated memo: canonical decimal key -> the type marker stored.
    private var memo: [String: StackKind] = [:]

    /// A pickle's emulation between ``disassembleAvailable(_:from:streamOffset:inputIsComplete:)`` calls, while
    /// its bytes are still arriving.
    private struct PickleProgress: Sendable {
        var stack: [StackKind] = []
        /// Stream offsets of the open MARKs.
        var markstack: [Int] = []
        var maxproto = -1
        var annocol: Int
        /// Text bytes already returned or handed to ``textSink`` (for ``maxOutputLength``).
        var emitted = 0
    }
    private var unfinished: PickleProgress?

    public init(indentLevel: Int = 4, annotate: Int = 0) {
        self.indentLevel = indentLevel
        self.annotate = annotate
    }

    /// Empties the memo carried in session mode.
    public mutating func resetMemo() {
        memo.removeAll()
    }

    /// Disassembles ONE pickle starting at `start` in `bytes`.
    ///
    /// Offsets printed are absolute stream offsets. The memo starts empty unless ``carriesMemoAcrossPickles`` is set,
    /// in which case it carries on from the previous call (pickletools' `dis(memo=)`).
    /// - Returns: The text (every line, ending with `highest protocol among opcodes = N\n` on success), the offset
    ///   just after STOP (after the last byte read when there is an error), and the error, if any. On error the
    ///   text is exactly what pickletools printed before raising.
    ///
    /// Any pickle left unfinished by ``disassembleAvailable(_:from:streamOffset:inputIsComplete:)`` is dropped.
    public mutating func disassemble(
        _ bytes: UnsafeRawBufferPointer, from start: Int
    ) -> (text: String, end: Int, error: DisassemblyError?) {
        unfinished = nil
        let step = disassembleAvailable(bytes, from: start, streamOffset: 0, inputIsComplete: true)
        return (step.text, step.end, step.error)
    }

    /// What a pickle whose bytes are still arriving needs before disassembly can go on.
    public enum MoreInput: Sendable, Equatable {
        /// The input up to this stream offset (an opcode's declared length).
        case through(offset: Int)
        /// A newline (an opcode's text argument).
        case newline
        /// Any byte (the next opcode).
        case anyByte
    }

    /// The outcome of one ``disassembleAvailable(_:from:streamOffset:inputIsComplete:)`` call.
    public struct Step: Sendable {
        /// The lines of the opcodes disassembled in this call (not those given to ``textSink``), ending with
        /// `highest protocol among opcodes = N` once the pickle's STOP is reached.
        public var text: String
        /// The index in the buffer of the first byte not yet disassembled: after STOP, after the bytes read
        /// when there is an error, else the start of the opcode that is not complete yet.
        public var end: Int
        /// The pickle's STOP was reached (the pickle is done, `error` may still be a stack left non-empty).
        public var finished: Bool
        /// The error pickletools would raise, if any.
        public var error: DisassemblyError?
        /// Set when the pickle is not finished and had no error: what to wait for before calling again.
        public var needs: MoreInput?
    }

    /// Disassembles as much of ONE pickle as `bytes` holds, for input that arrives in pieces: the opcode that
    /// is not complete yet is not printed, and the emulated stack and marks wait for the next call, which must
    /// pass the same bytes from `end` on (more may follow them). Joined up, the text of the calls is what
    /// ``disassemble(_:from:)`` prints for the whole pickle.
    ///
    /// - Parameters:
    ///   - bytes: the pickle's bytes that have arrived.
    ///   - start: where in `bytes` to go on (the last call's `end`, 0 at first).
    ///   - streamOffset: the stream offset of `bytes[0]`, for the offsets printed.
    ///   - inputIsComplete: no byte follows `bytes`: a pickle cut short is the error pickletools reports.
    public mutating func disassembleAvailable(
        _ bytes: UnsafeRawBufferPointer, from start: Int, streamOffset: Int = 0, inputIsComplete: Bool
    ) -> Step {
        guard start >= 0 && start <= bytes.count else {
            return Step(text: "", end: start, finished: true, error: DisassemblyError(
                offset: streamOffset + start, message: "start offset \(start) is outside the input (0...\(bytes.count))"))
        }
        if unfinished == nil && !carriesMemoAcrossPickles { memo.removeAll() }
        var progress = unfinished ?? PickleProgress(annocol: annotate)
        unfinished = nil
        var out = ""
        let indentChunk = String(repeating: " ", count: max(0, indentLevel))
        var cursor = Cursor(base: bytes, pos: start)

        func failure(_ offset: Int, _ message: String) -> Step {
            Step(text: out, end: cursor.pos, finished: false, error: DisassemblyError(offset: streamOffset + offset, message: message))
        }
        /// Keeps the pickle's state for the next call when the input ran out before the opcode at `pos` was
        /// complete and more may come.
        func waitForMore(at pos: Int, _ needs: MoreInput) -> Step? {
            guard !inputIsComplete else { return nil }
            progress.emitted += out.utf8.count
            unfinished = progress
            return Step(text: out, end: pos, finished: false, error: nil, needs: needs)
        }

        while true {
            if let textSink, out.utf8.count >= 1 << 16 {
                progress.emitted += out.utf8.count
                textSink(out)
                out = ""
            }
            if let limit = maxOutputLength, progress.emitted + out.utf8.count > limit {
                return failure(cursor.pos, "disassembly exceeds the output limit of \(limit) bytes")
            }
            let pos = cursor.pos
            guard pos < bytes.count else {
                return waitForMore(at: pos, .anyByte) ?? failure(pos, "pickle exhausted before seeing STOP")
            }
            let code = bytes[pos]
            cursor.pos += 1
            guard let info = Self.infoByCode[Int(code)] else {
                return failure(pos, "at position \(streamOffset + pos), opcode \(PythonRepr.bytes(CollectionOfOne(code))) unknown")
            }
            let arg: Argument?
            cursor.shortfall = nil
            do {
                arg = try Self.readArgument(info.arg, &cursor)
            } catch {
                if let shortfall = cursor.shortfall {
                    let (through, overflow) = streamOffset.addingReportingOverflow(shortfall)
                    if let step = waitForMore(at: pos, shortfall == .max ? .newline : .through(offset: overflow ? .max : through)) {
                        return step
                    }
                }
                return failure(pos, error.message)
            }

            // print("%5d:" % pos, end=' ')
            Self.appendPadded(String(streamOffset + pos), width: 5, to: &out)
            out += ": "

            var line = Self.codeColumn[Int(code)]
            line += " "
            for _ in 0 ..< progress.markstack.count { line += indentChunk }
            line += info.name

            progress.maxproto = max(progress.maxproto, info.proto)
            var after = info.after
            var numtopop = info.before.count

            // Whether a MARK is popped.
            var markmsg: String?
            var errormsg: String?
            if info.consumesMark || (code == Self.popCode && progress.stack.last == .mark) {
                if let markpos = progress.markstack.popLast() {
                    markmsg = "(MARK at \(markpos))"
                    // Pop everything at and after the topmost markobject (an IndexError when there is none).
                    while true {
                        guard let top = progress.stack.popLast() else {
                            return failure(pos, "list index out of range")
                        }
                        if top == .mark { break }
                    }
                    numtopop = info.before.firstIndex(of: .mark) ?? 0
                } else {
                    errormsg = "no MARK exists on stack"
                    markmsg = errormsg
                }
            }

            // Memo usage.
            switch info.memoRole {
            case .store:
                let key: String
                let argText: String
                if code == Self.memoizeCode {
                    key = String(memo.count)
                    markmsg = "(as \(memo.count))"
                    argText = "None"
                } else {
                    key = arg?.memoKey ?? ""
                    argText = arg.map { Self.shortRepr($0) } ?? "None"
                }
                if memo[key] != nil {
                    errormsg = "memo key \(argText) already defined"
                } else if let top = progress.stack.last {
                    if top == .mark {
                        errormsg = "can't store markobject in the memo"
                    } else {
                        memo[key] = top
                    }
                } else {
                    errormsg = "stack is empty -- can't store into memo"
                }
            case .fetch:
                if let stored = memo[arg?.memoKey ?? ""] {
                    after = [stored]
                } else {
                    errormsg = "memo key \(arg.map { Self.shortRepr($0) } ?? "None") has never been stored into"
                }
            case .none:
                break
            }

            if arg != nil || markmsg != nil {
                Self.appendSpaces(10 - info.name.utf8.count, to: &line)
                if let arg {
                    switch Self.repr(arg, in: bytes) {
                    case .success(let text):
                        line += " "
                        line += text
                    case .failure(let message):
                        return failure(pos, message.message)
                    }
                }
                if let markmsg {
                    line += " "
                    line += markmsg
                }
            }
            if annotate != 0 {
                let length = line.unicodeScalars.count
                Self.appendSpaces(progress.annocol - length, to: &line)
                progress.annocol = max(length, progress.annocol)
                if progress.annocol > 50 { progress.annocol = annotate }
                line += " "
                line += info.doc
            }
            out += line
            out += "\n"

            if let errormsg {
                return failure(pos, errormsg)
            }

            // Stack effects.
            if progress.stack.count < numtopop {
                return failure(pos, "tries to pop \(numtopop) items from stack with only \(progress.stack.count) items")
            }
            progress.stack.removeLast(numtopop)
            if info.pushesMark { progress.markstack.append(streamOffset + pos) }
            progress.stack.append(contentsOf: after)

            if code == Self.stopCode { break }
        }

        out += "highest protocol among opcodes = \(progress.maxproto)\n"
        if !progress.stack.isEmpty {
            var list = "["
            for (i, kind) in progress.stack.enumerated() {
                if i > 0 { list += ", " }
                list += kind.name
            }
            list += "]"
            let error = DisassemblyError(offset: streamOffset + cursor.pos - 1, message: "stack not empty after STOP: \(list)")
            return Step(text: out, end: cursor.pos, finished: true, error: error)
        }
        return Step(text: out, end: cursor.pos, finished: true, error: nil)
    }

    /// Disassembles every pickle in `bytes`, one after another: the output of consecutive `pickletools.dis` calls
    /// on a file object, concatenated. Stops at the end of the input or at the first error.
    ///
    /// Each pickle starts with an empty memo unless `carriesMemoAcrossPickles` is set (see
    /// ``carriesMemoAcrossPickles``). Empty input gives empty text and no error.
    public static func disassembleAll(
        _ bytes: [UInt8], indentLevel: Int = 4, annotate: Int = 0, carriesMemoAcrossPickles: Bool = false
    ) -> (text: String, error: DisassemblyError?) {
        var disassembler = Disassembler(indentLevel: indentLevel, annotate: annotate)
        disassembler.carriesMemoAcrossPickles = carriesMemoAcrossPickles
        return bytes.withUnsafeBytes { buffer in
            var text = ""
            var offset = 0
            while offset < buffer.count {
                let result = disassembler.disassemble(buffer, from: offset)
                text += result.text
                if let error = result.error { return (text, error) }
                offset = result.end
            }
            return (text, nil)
        }
    }
}

// MARK: - Opcode table

extension Disassembler {
    /// The type markers pickletools pushes on its emulated stack (`StackObject`s); `name` is their `repr`.
    enum StackKind: UInt8, Sendable {
        case int, intOrBool, bool, float, bytesOrStr, bytes, bytearray, buffer, str, noneObject, tuple, list, dict
        case set, frozenset, any, mark, stackslice

        var name: String {
            switch self {
            case .int: return "int"
            case .intOrBool: return "int_or_bool"
            case .bool: return "bool"
            case .float: return "float"
            case .bytesOrStr: return "bytes_or_str"
            case .bytes: return "bytes"
            case .bytearray: return "bytearray"
            case .buffer: return "buffer"
            case .str: return "str"
            case .noneObject: return "None"
            case .tuple: return "tuple"
            case .list: return "list"
            case .dict: return "dict"
            case .set: return "set"
            case .frozenset: return "frozenset"
            case .any: return "any"
            case .mark: return "mark"
            case .stackslice: return "stackslice"
            }
        }
    }

    /// pickletools' argument descriptors (named after their `ArgumentDescriptor.name`).
    enum ArgKind: Sendable {
        case noArgument
        case uint1, uint2, int4, uint4, uint8
        case stringnl, stringnlNoescape, stringnlNoescapePair
        case string1, string4, bytes1, bytes4, bytes8, bytearray8
        case unicodestringnl, unicodestring1, unicodestring4, unicodestring8
        case decimalnlShort, decimalnlLong, floatnl, float8, long1, long4
    }

    enum MemoRole: Sendable { case none, store, fetch }

    struct Info: Sendable {
        let code: UInt8
        let name: String
        let arg: ArgKind
        let proto: Int
        let before: [StackKind]
        let after: [StackKind]
        /// The first line of the opcode's doc, used by `annotate`.
        let doc: String
        let consumesMark: Bool
        let pushesMark: Bool
        let memoRole: MemoRole

        init(_ code: UInt8, _ name: String, _ arg: ArgKind, _ proto: Int, _ before: [StackKind],
             _ after: [StackKind], _ doc: String) {
            self.code = code
            self.name = name
            self.arg = arg
            self.proto = proto
            self.before = before
            self.after = after
            self.doc = doc
            consumesMark = before.contains(.mark)
            pushesMark = after.contains(.mark)
            switch name {
            case "PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE": memoRole = .store
            case "GET", "BINGET", "LONG_BINGET": memoRole = .fetch
            default: memoRole = .none
            }
        }
    }

    static let popCode: UInt8 = 0x30
    static let memoizeCode: UInt8 = 0x94
    static let stopCode: UInt8 = 0x2E

    /// `pickletools.opcodes`: code, name, argument, proto, stack_before, stack_after, first line of doc.
    ///
    /// Generated with CPython 3.11 by:
    /// ```python
    /// import pickletools
    /// def camel(s):
    ///     p = s.split('_')
    ///     return p[0] + ''.join(x.capitalize() for x in p[1:])
    /// kinds = {'int': 'int', 'int_or_bool': 'intOrBool', 'bool': 'bool', 'float': 'float',
    ///          'bytes_or_str': 'bytesOrStr', 'bytes': 'bytes', 'bytearray': 'bytearray', 'buffer': 'buffer',
    ///          'str': 'str', 'None': 'noneObject', 'tuple': 'tuple', 'list': 'list', 'dict': 'dict', 'set': 'set',
    ///          'frozenset': 'frozenset', 'any': 'any', 'mark': 'mark', 'stackslice': 'stackslice'}
    /// for op in pickletools.opcodes:
    ///     arg = camel(op.arg.name) if op.arg else 'noArgument'
    ///     b = ', '.join('.' + kinds[repr(x)] for x in op.stack_before)
    ///     a = ', '.join('.' + kinds[repr(x)] for x in op.stack_after)
    ///     doc = op.doc.split('\n', 1)[0].replace('\\', '\\\\').replace('"', '\\"')
    ///     print('        Info(0x%02X, "%s", .%s, %d, [%s], [%s], "%s"),' % (
    ///         ord(op.code), op.name, arg, op.proto, b, a, doc))
    /// ```
    static let opcodeTable: [Info] = [
        Info(0x49, "INT", .decimalnlShort, 0, [], [.intOrBool], "Push an integer or bool."),
        Info(0x4A, "BININT", .int4, 1, [], [.int], "Push a four-byte signed integer."),
        Info(0x4B, "BININT1", .uint1, 1, [], [.int], "Push a one-byte unsigned integer."),
        Info(0x4D, "BININT2", .uint2, 1, [], [.int], "Push a two-byte unsigned integer."),
        Info(0x4C, "LONG", .decimalnlLong, 0, [], [.int], "Push a long integer."),
        Info(0x8A, "LONG1", .long1, 2, [], [.int], "Long integer using one-byte length."),
        Info(0x8B, "LONG4", .long4, 2, [], [.int], "Long integer using found-byte length."),
        Info(0x53, "STRING", .stringnl, 0, [], [.bytesOrStr], "Push a Python string object."),
        Info(0x54, "BINSTRING", .string4, 1, [], [.bytesOrStr], "Push a Python string object."),
        Info(0x55, "SHORT_BINSTRING", .string1, 1, [], [.bytesOrStr], "Push a Python string object."),
        Info(0x42, "BINBYTES", .bytes4, 3, [], [.bytes], "Push a Python bytes object."),
        Info(0x43, "SHORT_BINBYTES", .bytes1, 3, [], [.bytes], "Push a Python bytes object."),
        Info(0x8E, "BINBYTES8", .bytes8, 4, [], [.bytes], "Push a Python bytes object."),
        Info(0x96, "BYTEARRAY8", .bytearray8, 5, [], [.bytearray], "Push a Python bytearray object."),
        Info(0x97, "NEXT_BUFFER", .noArgument, 5, [], [.buffer], "Push an out-of-band buffer object."),
        Info(0x98, "READONLY_BUFFER", .noArgument, 5, [.buffer], [.buffer], "Make an out-of-band buffer object read-only."),
        Info(0x4E, "NONE", .noArgument, 0, [], [.noneObject], "Push None on the stack."),
        Info(0x88, "NEWTRUE", .noArgument, 2, [], [.bool], "Push True onto the stack."),
        Info(0x89, "NEWFALSE", .noArgument, 2, [], [.bool], "Push False onto the stack."),
        Info(0x56, "UNICODE", .unicodestringnl, 0, [], [.str], "Push a Python Unicode string object."),
        Info(0x8C, "SHORT_BINUNICODE", .unicodestring1, 4, [], [.str], "Push a Python Unicode string object."),
        Info(0x58, "BINUNICODE", .unicodestring4, 1, [], [.str], "Push a Python Unicode string object."),
        Info(0x8D, "BINUNICODE8", .unicodestring8, 4, [], [.str], "Push a Python Unicode string object."),
        Info(0x46, "FLOAT", .floatnl, 0, [], [.float], "Newline-terminated decimal float literal."),
        Info(0x47, "BINFLOAT", .float8, 1, [], [.float], "Float stored in binary form, with 8 bytes of data."),
        Info(0x5D, "EMPTY_LIST", .noArgument, 1, [], [.list], "Push an empty list."),
        Info(0x61, "APPEND", .noArgument, 0, [.list, .any], [.list], "Append an object to a list."),
        Info(0x65, "APPENDS", .noArgument, 1, [.list, .mark, .stackslice], [.list], "Extend a list by a slice of stack objects."),
        Info(0x6C, "LIST", .noArgument, 0, [.mark, .stackslice], [.list], "Build a list out of the topmost stack slice, after markobject."),
        Info(0x29, "EMPTY_TUPLE", .noArgument, 1, [], [.tuple], "Push an empty tuple."),
        Info(0x74, "TUPLE", .noArgument, 0, [.mark, .stackslice], [.tuple], "Build a tuple out of the topmost stack slice, after markobject."),
        Info(0x85, "TUPLE1", .noArgument, 2, [.any], [.tuple], "Build a one-tuple out of the topmost item on the stack."),
        Info(0x86, "TUPLE2", .noArgument, 2, [.any, .any], [.tuple], "Build a two-tuple out of the top two items on the stack."),
        Info(0x87, "TUPLE3", .noArgument, 2, [.any, .any, .any], [.tuple], "Build a three-tuple out of the top three items on the stack."),
        Info(0x7D, "EMPTY_DICT", .noArgument, 1, [], [.dict], "Push an empty dict."),
        Info(0x64, "DICT", .noArgument, 0, [.mark, .stackslice], [.dict], "Build a dict out of the topmost stack slice, after markobject."),
        Info(0x73, "SETITEM", .noArgument, 0, [.dict, .any, .any], [.dict], "Add a key+value pair to an existing dict."),
        Info(0x75, "SETITEMS", .noArgument, 1, [.dict, .mark, .stackslice], [.dict], "Add an arbitrary number of key+value pairs to an existing dict."),
        Info(0x8F, "EMPTY_SET", .noArgument, 4, [], [.set], "Push an empty set."),
        Info(0x90, "ADDITEMS", .noArgument, 4, [.set, .mark, .stackslice], [.set], "Add an arbitrary number of items to an existing set."),
        Info(0x91, "FROZENSET", .noArgument, 4, [.mark, .stackslice], [.frozenset], "Build a frozenset out of the topmost slice, after markobject."),
        Info(0x30, "POP", .noArgument, 0, [.any], [], "Discard the top stack item, shrinking the stack by one item."),
        Info(0x32, "DUP", .noArgument, 0, [.any], [.any, .any], "Push the top stack item onto the stack again, duplicating it."),
        Info(0x28, "MARK", .noArgument, 0, [], [.mark], "Push markobject onto the stack."),
        Info(0x31, "POP_MARK", .noArgument, 1, [.mark, .stackslice], [], "Pop all the stack objects at and above the topmost markobject."),
        Info(0x67, "GET", .decimalnlShort, 0, [], [.any], "Read an object from the memo and push it on the stack."),
        Info(0x68, "BINGET", .uint1, 1, [], [.any], "Read an object from the memo and push it on the stack."),
        Info(0x6A, "LONG_BINGET", .uint4, 1, [], [.any], "Read an object from the memo and push it on the stack."),
        Info(0x70, "PUT", .decimalnlShort, 0, [], [], "Store the stack top into the memo.  The stack is not popped."),
        Info(0x71, "BINPUT", .uint1, 1, [], [], "Store the stack top into the memo.  The stack is not popped."),
        Info(0x72, "LONG_BINPUT", .uint4, 1, [], [], "Store the stack top into the memo.  The stack is not popped."),
        Info(0x94, "MEMOIZE", .noArgument, 4, [.any], [.any], "Store the stack top into the memo.  The stack is not popped."),
        Info(0x82, "EXT1", .uint1, 2, [], [.any], "Extension code."),
        Info(0x83, "EXT2", .uint2, 2, [], [.any], "Extension code."),
        Info(0x84, "EXT4", .int4, 2, [], [.any], "Extension code."),
        Info(0x63, "GLOBAL", .stringnlNoescapePair, 0, [], [.any], "Push a global object (module.attr) on the stack."),
        Info(0x93, "STACK_GLOBAL", .noArgument, 4, [.str, .str], [.any], "Push a global object (module.attr) on the stack."),
        Info(0x52, "REDUCE", .noArgument, 0, [.any, .any], [.any], "Push an object built from a callable and an argument tuple."),
        Info(0x62, "BUILD", .noArgument, 0, [.any, .any], [.any], "Finish building an object, via __setstate__ or dict update."),
        Info(0x69, "INST", .stringnlNoescapePair, 0, [.mark, .stackslice], [.any], "Build a class instance."),
        Info(0x6F, "OBJ", .noArgument, 1, [.mark, .any, .stackslice], [.any], "Build a class instance."),
        Info(0x81, "NEWOBJ", .noArgument, 2, [.any, .any], [.any], "Build an object instance."),
        Info(0x92, "NEWOBJ_EX", .noArgument, 4, [.any, .any, .any], [.any], "Build an object instance."),
        Info(0x80, "PROTO", .uint1, 2, [], [], "Protocol version indicator."),
        Info(0x2E, "STOP", .noArgument, 0, [.any], [], "Stop the unpickling machine."),
        Info(0x95, "FRAME", .uint8, 4, [], [], "Indicate the beginning of a new frame."),
        Info(0x50, "PERSID", .stringnlNoescape, 0, [], [.any], "Push an object identified by a persistent ID."),
        Info(0x51, "BINPERSID", .noArgument, 1, [.any], [.any], "Push an object identified by a persistent ID."),
    ]

    /// ``opcodeTable`` indexed by opcode byte; `nil` for the 188 bytes that are not opcodes.
    static let infoByCode: [Info?] = {
        var table = [Info?](repeating: nil, count: 256)
        for info in opcodeTable { table[Int(info.code)] = info }
        return table
    }()

    /// `"%-4s" % repr(opcode.code)[1:-1]` for every byte: `(`, `]`, `\x80`, ...
    static let codeColumn: [String] = (0 ..< 256).map { byte in
        let quoted = Array(PythonRepr.string(codePoints: CollectionOfOne(UInt32(byte))).unicodeScalars)
        var column = String(String.UnicodeScalarView(quoted.dropFirst().dropLast()))
        appendSpaces(4 - column.unicodeScalars.count, to: &column)
        return column
    }
}

// MARK: - Reading arguments

extension Disassembler {
    /// A `ValueError` (or subclass) message, thrown by the argument readers.
    struct Failure: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// A decoded opcode argument.
    struct Argument {
        enum Value {
            /// The argument's `repr`, ready to print.
            case text(String)
            /// A LONG1/LONG4 payload (two's-complement little-endian bytes at this range of the input), whose
            /// `repr` can fail when it has more than 4300 decimal digits.
            case long(Range<Int>)
        }

        let value: Value
        /// For integer arguments, the key the value has in a Python dict (`True` is 1, `False` is 0).
        let memoKey: String?

        static func text(_ repr: String) -> Argument { Argument(value: .text(repr), memoKey: nil) }
        static func integer(_ decimal: String) -> Argument { Argument(value: .text(decimal), memoKey: decimal) }
    }

    /// A read position in the input, with the semantics of `io.BytesIO.read` and `readline`.
    struct Cursor {
        let base: UnsafeRawBufferPointer
        var pos: Int

        /// Set when a read ran past the end of the input: the index the input must reach for it to succeed,
        /// or `Int.max` when a newline was missing.
        var shortfall: Int?

        var remaining: Int { base.count - pos }

        /// `f.read(n)`: up to `n` bytes (fewer at the end of the input).
        mutating func read(_ n: UInt64) -> UnsafeRawBufferPointer {
            let k = n > UInt64(remaining) ? remaining : Int(n)
            if k < n { shortfall = n > UInt64(Int.max - 1 - pos) ? Int.max - 1 : pos + Int(n) }
            defer { pos += k }
            return UnsafeRawBufferPointer(rebasing: base[pos ..< pos + k])
        }

        /// `f.readline()` without its newline, or `nil` (after consuming the rest) when no newline is left.
        mutating func readLine() -> UnsafeRawBufferPointer? {
            var i = pos
            let n = base.count
            while i < n && base[i] != 0x0A { i += 1 }
            if i == n {
                pos = n
                shortfall = .max
                return nil
            }
            defer { pos = i + 1 }
            return UnsafeRawBufferPointer(rebasing: base[pos ..< i])
        }

        /// A little-endian unsigned integer of `size` bytes.
        mutating func readUnsigned(_ size: Int, _ what: String) throws(Failure) -> UInt64 {
            let data = read(UInt64(size))
            guard data.count == size else { throw Failure("not enough data in stream to read \(what)") }
            var value: UInt64 = 0
            for i in stride(from: size - 1, through: 0, by: -1) {
                value = value << 8 | UInt64(data[i])
            }
            return value
        }

        mutating func readInt4() throws(Failure) -> Int32 {
            Int32(truncatingIfNeeded: try readUnsigned(4, "int4"))
        }

        mutating func readLine(_ what: String) throws(Failure) -> UnsafeRawBufferPointer {
            guard let line = readLine() else { throw Failure("no newline found when trying to read \(what)") }
            return line
        }

        /// Reads the `n` bytes of a counted argument, or fails with pickletools' "expected N bytes" message.
        mutating func readCounted(_ n: UInt64, _ what: String) throws(Failure) -> UnsafeRawBufferPointer {
            let data = read(n)
            guard UInt64(data.count) == n else {
                throw Failure("expected \(n) bytes in a \(what), but only \(data.count) remain")
            }
            return data
        }
    }

    /// The reader of `kind` (pickletools' `read_*` functions), decoding the argument at the cursor.
    static func readArgument(_ kind: ArgKind, _ c: inout Cursor) throws(Failure) -> Argument? {
        switch kind {
        case .noArgument:
            return nil
        case .uint1:
            return .integer(String(try c.readUnsigned(1, "uint1")))
        case .uint2:
            return .integer(String(try c.readUnsigned(2, "uint2")))
        case .int4:
            return .integer(String(try c.readInt4()))
        case .uint4:
            return .integer(String(try c.readUnsigned(4, "uint4")))
        case .uint8:
            return .integer(String(try c.readUnsigned(8, "uint8")))
        case .float8:
            let data = c.read(8)
            guard data.count == 8 else { throw Failure("not enough data in stream to read float8") }
            var bits: UInt64 = 0
            for byte in data { bits = bits << 8 | UInt64(byte) }
            return .text(PythonRepr.float(Double(bitPattern: bits)))
        case .long1:
            let n = try c.readUnsigned(1, "uint1")
            let start = c.pos
            let data = c.read(n)
            guard UInt64(data.count) == n else { throw Failure("not enough data in stream to read long1") }
            return Argument(value: .long(start ..< start + data.count), memoKey: nil)
        case .long4:
            let n = try c.readInt4()
            if n < 0 { throw Failure("long4 byte count < 0: \(n)") }
            let start = c.pos
            let data = c.read(UInt64(n))
            guard data.count == Int(n) else { throw Failure("not enough data in stream to read long4") }
            return Argument(value: .long(start ..< start + data.count), memoKey: nil)
        case .string1:
            let data = try c.readCounted(try c.readUnsigned(1, "uint1"), "string1")
            return .text(PythonRepr.string(codePoints: data.lazy.map { UInt32($0) }))
        case .string4:
            let n = try c.readInt4()
            if n < 0 { throw Failure("string4 byte count < 0: \(n)") }
            let data = try c.readCounted(UInt64(n), "string4")
            return .text(PythonRepr.string(codePoints: data.lazy.map { UInt32($0) }))
        case .bytes1:
            return .text(PythonRepr.bytes(try c.readCounted(try c.readUnsigned(1, "uint1"), "bytes1")))
        case .bytes4:
            return .text(PythonRepr.bytes(try c.readCounted(try c.readUnsigned(4, "uint4"), "bytes4")))
        case .bytes8:
            let n = try c.readUnsigned(8, "uint8")
            if n > UInt64(Int64.max) { throw Failure("bytes8 byte count > sys.maxsize: \(n)") }
            return .text(PythonRepr.bytes(try c.readCounted(n, "bytes8")))
        case .bytearray8:
            let n = try c.readUnsigned(8, "uint8")
            if n > UInt64(Int64.max) { throw Failure("bytearray8 byte count > sys.maxsize: \(n)") }
            return .text(PythonRepr.bytearray(try c.readCounted(n, "bytearray8")))
        case .unicodestring1:
            let data = try c.readCounted(try c.readUnsigned(1, "uint1"), "unicodestring1")
            return .text(PythonRepr.string(codePoints: try decodeUTF8(data)))
        case .unicodestring4:
            let data = try c.readCounted(try c.readUnsigned(4, "uint4"), "unicodestring4")
            return .text(PythonRepr.string(codePoints: try decodeUTF8(data)))
        case .unicodestring8:
            let n = try c.readUnsigned(8, "uint8")
            if n > UInt64(Int64.max) { throw Failure("unicodestring8 byte count > sys.maxsize: \(n)") }
            let data = try c.readCounted(n, "unicodestring8")
            return .text(PythonRepr.string(codePoints: try decodeUTF8(data)))
        case .unicodestringnl:
            let line = try c.readLine("unicodestringnl")
            return .text(PythonRepr.string(codePoints: try decodeRawUnicodeEscape(line)))
        case .stringnl:
            var data = try c.readLine("stringnl")
            // Strip the quotes: the line must start and end with the same quote (one quote alone counts as both).
            let first = data.first
            if first == 0x22 || first == 0x27 {
                let quote = first!
                guard data.last == quote else {
                    throw Failure("strinq quote \(PythonRepr.bytes(CollectionOfOne(quote))) not found at both ends of "
                        + PythonRepr.bytes(data))
                }
                data = data.count >= 2 ? UnsafeRawBufferPointer(rebasing: data[1 ..< data.count - 1])
                                       : UnsafeRawBufferPointer(rebasing: data[0 ..< 0])
            } else {
                throw Failure("no string quotes around \(PythonRepr.bytes(data))")
            }
            return .text(PythonRepr.string(codePoints: try escapeDecodeASCII(data)))
        case .stringnlNoescape:
            let line = try c.readLine("stringnl")
            return .text(PythonRepr.string(codePoints: try escapeDecodeASCII(line)))
        case .stringnlNoescapePair:
            var text = try escapeDecodeASCII(try c.readLine("stringnl"))
            let second = try escapeDecodeASCII(try c.readLine("stringnl"))
            text.append(0x20)
            text.append(contentsOf: second)
            return .text(PythonRepr.string(codePoints: text))
        case .decimalnlShort:
            let line = try c.readLine("stringnl")
            if line.count == 2 && line[0] == 0x30 && (line[1] == 0x30 || line[1] == 0x31) {
                // pickletools' hack: `00` and `01` are False and True.
                let isTrue = line[1] == 0x31
                return Argument(value: .text(isTrue ? "True" : "False"), memoKey: isTrue ? "1" : "0")
            }
            return .integer(try pythonInt(line))
        case .decimalnlLong:
            var line = try c.readLine("stringnl")
            if line.last == 0x4C {  // a trailing L is dropped
                line = UnsafeRawBufferPointer(rebasing: line[0 ..< line.count - 1])
            }
            return .integer(try pythonInt(line))
        case .floatnl:
            return .text(PythonRepr.float(try pythonFloat(try c.readLine("stringnl"))))
        }
    }

    /// The `repr` of a decoded argument; fails like CPython's `repr(int)` beyond 4300 digits.
    static func repr(_ arg: Argument, in bytes: UnsafeRawBufferPointer) -> Result<String, Failure> {
        switch arg.value {
        case .text(let text):
            return .success(text)
        case .long(let range):
            return longRepr(UnsafeRawBufferPointer(rebasing: bytes[range]))
        }
    }

    /// The `repr` of an integer argument inside a memo error message.
    static func shortRepr(_ arg: Argument) -> String {
        if case .text(let text) = arg.value { return text }
        return "None"
    }

    /// `repr(decode_long(payload))`, or CPython's error for more than 4300 decimal digits.
    static func longRepr(_ payload: UnsafeRawBufferPointer) -> Result<String, Failure> {
        guard let last = payload.last else { return .success("0") }
        // Leave out redundant sign-extension bytes (keeping one), so that a long run of them costs nothing.
        let sign: UInt8 = last & 0x80 != 0 ? 0xFF : 0x00
        var significant = payload.count
        while significant > 1 && payload[significant - 1] == sign { significant -= 1 }
        let tooLong = Failure(
            "Exceeds the limit (\(BigIntText.maxStringDigits) digits) for integer string conversion; "
                + "use sys.set_int_max_str_digits() to increase the limit")
        // 1800 significant bytes hold at least 2^14391, which has more than 4300 digits.
        if significant > 1800 { return .failure(tooLong) }
        let kept = min(payload.count, significant + 1)
        let text = BigIntText.decimalString(twosComplementLE: UnsafeRawBufferPointer(rebasing: payload[0 ..< kept]))
        let digits = text.utf8.count - (text.utf8.first == 0x2D ? 1 : 0)
        if digits > BigIntText.maxStringDigits { return .failure(tooLong) }
        return .success(text)
    }
}

// MARK: - Python's conversions, with their error messages

extension Disassembler {
    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }

    @inline(__always)
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// The value of an ASCII hex digit.
    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30 ... 0x39: return c - 0x30
        case 0x41 ... 0x46: return c - 0x41 + 10
        case 0x61 ... 0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// Two lowercase hex digits.
    static func hex2(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        var s = String.UnicodeScalarView()
        s.append(digits[Int(byte >> 4)])
        s.append(digits[Int(byte & 0xF)])
        return String(s)
    }

    /// `codecs.escape_decode(data)[0].decode("ascii")` as code points.
    static func escapeDecodeASCII(_ data: UnsafeRawBufferPointer) throws(Failure) -> [UInt32] {
        switch PythonText.escapeDecode(data) {
        case .failure(let error):
            throw Failure(error.message)
        case .success(let bytes):
            if let i = bytes.firstIndex(where: { $0 >= 0x80 }) {
                throw Failure("'ascii' codec can't decode byte 0x\(hex2(bytes[i])) in position \(i): "
                    + "ordinal not in range(128)")
            }
            return bytes.map { UInt32($0) }
        }
    }

    /// `int(s)` for a bytes object `s` in CPython 3.11: the decimal text of the value, or its `ValueError`.
    ///
    /// Surrounding ASCII whitespace, one sign, and single `_` between digits are allowed; more than 4300 digits is
    /// an error (checked on the leading run of digits, before the rest of the text is validated, as CPython does).
    static func pythonInt(_ s: UnsafeRawBufferPointer) throws(Failure) -> String {
        let n = s.count
        // CPython's parser reads a C string: it sees the text up to the first NUL, and the caller then rejects
        // the literal if that was not the whole text.
        let m = s.firstIndex(of: 0) ?? n
        var i = 0
        while i < m && isSpace(s[i]) { i += 1 }
        if i < m && (s[i] == 0x2B || s[i] == 0x2D) { i += 1 }
        var valid = i < m && s[i] != 0x5F
        if valid {
            var digits = 0
            var previous: UInt8 = 0
            while i < m && (isDigit(s[i]) || s[i] == 0x5F) {
                if s[i] == 0x5F {
                    if previous == 0x5F { valid = false; break }
                } else {
                    digits += 1
                }
                previous = s[i]
                i += 1
            }
            if valid && previous == 0x5F { valid = false }
            if valid {
                if digits > BigIntText.maxStringDigits {
                    throw Failure("Exceeds the limit (\(BigIntText.maxStringDigits) digits) for integer string "
                        + "conversion: value has \(digits) digits; use sys.set_int_max_str_digits() to increase the limit")
                }
                while i < m && isSpace(s[i]) { i += 1 }
                valid = digits > 0 && i == m && m == n
            }
        }
        if valid, let value = BigIntText.parseInteger(s, base0: false) {
            return BigIntText.decimalString(twosComplementLE: value)
        }
        // "invalid literal for int() with base 10: %.200R" % s[:200]
        let shown = PythonRepr.bytes(UnsafeRawBufferPointer(rebasing: s[0 ..< min(n, 200)]))
        let truncated = String(String.UnicodeScalarView(shown.unicodeScalars.prefix(200)))
        throw Failure("invalid literal for int() with base 10: \(truncated)")
    }

    /// `float(s)` for a bytes object `s` in CPython 3.11, or its `ValueError`.
    ///
    /// Single `_` between digits, surrounding ASCII whitespace, an optional sign, then `inf`, `infinity` or `nan` in
    /// any case, or decimal digits with an optional point and exponent. Out-of-range values become infinities or
    /// zero.
    static func pythonFloat(_ s: UnsafeRawBufferPointer) throws(Failure) -> Double {
        let failure = Failure("could not convert string to float: \(PythonRepr.bytes(s))")
        var text = Array(s)
        if text.contains(0x5F) {
            var cleaned: [UInt8] = []
            cleaned.reserveCapacity(text.count)
            var previous: UInt8 = 0
            for c in text {
                if c == 0x5F {
                    guard isDigit(previous) else { throw failure }
                } else {
                    if previous == 0x5F && !isDigit(c) { throw failure }
                    cleaned.append(c)
                }
                previous = c
            }
            if previous == 0x5F { throw failure }
            text = cleaned
        }
        var lo = 0
        var hi = text.count
        while lo < hi && isSpace(text[lo]) { lo += 1 }
        while hi > lo && isSpace(text[hi - 1]) { hi -= 1 }
        var i = lo
        var negative = false
        if i < hi && (text[i] == 0x2B || text[i] == 0x2D) {
            negative = text[i] == 0x2D
            i += 1
        }
        // inf, infinity and nan in any ASCII case.
        let word = text[i ..< hi].map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        if word.elementsEqual("inf".utf8) || word.elementsEqual("infinity".utf8) {
            return negative ? -.infinity : .infinity
        }
        if word.elementsEqual("nan".utf8) { return .nan }
        var mantissaDigits = 0
        while i < hi && isDigit(text[i]) { i += 1; mantissaDigits += 1 }
        if i < hi && text[i] == 0x2E {
            i += 1
            while i < hi && isDigit(text[i]) { i += 1; mantissaDigits += 1 }
        }
        guard mantissaDigits > 0 else { throw failure }
        if i < hi && (text[i] == 0x65 || text[i] == 0x45) {
            i += 1
            if i < hi && (text[i] == 0x2B || text[i] == 0x2D) { i += 1 }
            var exponentDigits = 0
            while i < hi && isDigit(text[i]) { i += 1; exponentDigits += 1 }
            guard exponentDigits > 0 else { throw failure }
        }
        guard i == hi, let value = Double(String(decoding: text[lo ..< hi], as: UTF8.self)) else { throw failure }
        return value
    }

    /// `str(data, 'utf-8', 'surrogatepass')`, or the `UnicodeDecodeError` text CPython gives.
    static func decodeUTF8(_ data: UnsafeRawBufferPointer) throws(Failure) -> [UInt32] {
        if let decoded = PythonText.decodeUTF8SurrogatePass(data) { return decoded }
        throw Failure(utf8ErrorMessage(data))
    }

    /// The message of the `UnicodeDecodeError` CPython 3.11 raises for `data.decode('utf-8', 'surrogatepass')`:
    /// the first error its decoder reports that the surrogatepass handler does not turn into a surrogate.
    static func utf8ErrorMessage(_ b: UnsafeRawBufferPointer) -> String {
        let n = b.count
        @inline(__always) func isContinuation(_ c: UInt8) -> Bool { c & 0xC0 == 0x80 }
        var i = 0
        while i < n {
            let b0 = b[i]
            if b0 < 0x80 { i += 1; continue }
            // (reason, end of the bad range) for an error at i, or the sequence length when valid.
            var error: (String, Int)?
            var length = 0
            let invalidStart = ("invalid start byte", i + 1)
            let unexpectedEnd = ("unexpected end of data", n)
            let invalidContinuation1 = ("invalid continuation byte", i + 1)
            let invalidContinuation2 = ("invalid continuation byte", i + 2)
            let invalidContinuation3 = ("invalid continuation byte", i + 3)
            switch b0 {
            case 0x80 ..< 0xC2, 0xF5 ... 0xFF:
                error = invalidStart
            case 0xC2 ..< 0xE0:
                if n - i < 2 {
                    error = unexpectedEnd
                } else if !isContinuation(b[i + 1]) {
                    error = invalidContinuation1
                } else {
                    length = 2
                }
            case 0xE0 ..< 0xF0:
                if n - i < 3 {
                    if n - i < 2 {
                        error = unexpectedEnd
                    } else {
                        let c1 = b[i + 1]
                        let bad = !isContinuation(c1) || (c1 < 0xA0 ? b0 == 0xE0 : b0 == 0xED)
                        error = bad ? invalidContinuation1 : unexpectedEnd
                    }
                } else {
                    let c1 = b[i + 1]
                    if !isContinuation(c1) || (b0 == 0xE0 && c1 < 0xA0) || (b0 == 0xED && c1 >= 0xA0) {
                        error = invalidContinuation1
                    } else if !isContinuation(b[i + 2]) {
                        error = invalidContinuation2
                    } else {
                        length = 3
                    }
                }
            default:  // 0xF0 ..< 0xF5
                let c1ok = { (c1: UInt8) in isContinuation(c1) && !(c1 < 0x90 ? b0 == 0xF0 : b0 == 0xF4) }
                if n - i < 4 {
                    if n - i < 2 {
                        error = unexpectedEnd
                    } else if !c1ok(b[i + 1]) {
                        error = invalidContinuation1
                    } else if n - i == 2 {
                        error = unexpectedEnd
                    } else if !isContinuation(b[i + 2]) {
                        error = invalidContinuation2
                    } else {
                        error = unexpectedEnd
                    }
                } else if !c1ok(b[i + 1]) {
                    error = invalidContinuation1
                } else if !isContinuation(b[i + 2]) {
                    error = invalidContinuation2
                } else if !isContinuation(b[i + 3]) {
                    error = invalidContinuation3
                } else {
                    length = 4
                }
            }
            guard let (reason, end) = error else {
                i += length
                continue
            }
            // The surrogatepass handler: an encoded surrogate (three bytes) is decoded and skipped.
            if n - i >= 3 && b0 & 0xF0 == 0xE0 && isContinuation(b[i + 1]) && isContinuation(b[i + 2]) {
                let cp = (UInt32(b0 & 0x0F) << 12) | (UInt32(b[i + 1] & 0x3F) << 6) | UInt32(b[i + 2] & 0x3F)
                if cp >= 0xD800 && cp <= 0xDFFF {
                    i += 3
                    continue
                }
            }
            return decodeErrorMessage("utf-8", b, start: i, end: end, reason: reason)
        }
        // Not reached when PythonText rejected the data; kept as a safe fallback.
        return "'utf-8' codec can't decode bytes: invalid data"
    }

    /// `str(data, 'raw-unicode-escape')`, or the `UnicodeDecodeError` text CPython gives.
    static func decodeRawUnicodeEscape(_ data: UnsafeRawBufferPointer) throws(Failure) -> [UInt32] {
        if let decoded = PythonText.decodeRawUnicodeEscape(data) { return decoded }
        let n = data.count
        var i = 0
        while i < n {
            let c = data[i]
            i += 1
            if c != 0x5C || i >= n { continue }
            let start = i - 1
            let e = data[i]
            i += 1
            var count: Int
            var reason: String
            if e == 0x75 {
                count = 4
                reason = "truncated \\uXXXX escape"
            } else if e == 0x55 {
                count = 8
                reason = "truncated \\UXXXXXXXX escape"
            } else {
                continue
            }
            var value: UInt32 = 0
            var complete = true
            while count > 0 {
                guard i < n, let digit = hexValue(data[i]) else {
                    complete = false
                    break
                }
                value = value << 4 | UInt32(digit)
                i += 1
                count -= 1
            }
            if complete && value <= 0x10FFFF { continue }
            if complete { reason = "\\Uxxxxxxxx out of range" }
            throw Failure(decodeErrorMessage("rawunicodeescape", data, start: start, end: i, reason: reason))
        }
        throw Failure("'rawunicodeescape' codec can't decode bytes: invalid data")
    }

    /// `str(UnicodeDecodeError)`: one byte is shown by value, longer ranges by position.
    static func decodeErrorMessage(
        _ encoding: String, _ data: UnsafeRawBufferPointer, start: Int, end: Int, reason: String
    ) -> String {
        if end - start == 1 && start < data.count {
            return "'\(encoding)' codec can't decode byte 0x\(hex2(data[start])) in position \(start): \(reason)"
        }
        return "'\(encoding)' codec can't decode bytes in position \(start)-\(end - 1): \(reason)"
    }

    // MARK: - Text helpers

    static func appendSpaces(_ count: Int, to s: inout String) {
        if count > 0 { s += String(repeating: " ", count: count) }
    }

    /// `"%*s" % (width, text)`: right-aligned in `width` columns.
    static func appendPadded(_ text: String, width: Int, to s: inout String) {
        appendSpaces(width - text.utf8.count, to: &s)
        s += text
    }
}
