import ArgumentParser
import Pickle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct PickleTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pickletool",
        abstract: "Inspect and convert streams of Python pickles. Every command reads a file, or standard input for `-` or no argument.",
        subcommands: [Show.self, Dis.self, Convert.self]
    )
}

/// Options shared by the commands that decode pickles.
struct DecodeOptions: ParsableArguments {
    @Option(help: "How Python 2 byte strings are decoded: ascii, latin1, utf8 or bytes.")
    var encoding: String = "ascii"

    @Option(help: "Undecodable bytes: strict, replace, ignore or surrogateescape.")
    var errors: String = "strict"

    @Flag(help: "Do not map Python 2 module names to Python 3 ones.")
    var noFixImports = false

    @Flag(help: "Keep one memo for the whole stream (pickles written by one Pickler across dump calls).")
    var session = false

    func unpicklerOptions() throws -> UnpicklerOptions {
        var options = UnpicklerOptions()
        guard let encoding = StringEncoding(pythonName: encoding) else {
            throw ValidationError("unknown encoding '\(encoding)': use ascii, latin1, utf8 or bytes")
        }
        guard let errors = DecodingErrorPolicy(rawValue: errors) else {
            throw ValidationError("unknown errors policy '\(errors)': use strict, replace, ignore or surrogateescape")
        }
        options.encoding = encoding
        options.errors = errors
        options.fixImports = !noFixImports
        options.memoMode = session ? .session : .perPickle
        return options
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print each pickle's object on one line, in Python's repr syntax, as soon as it is complete.")

    @OptionGroup var decode: DecodeOptions
    @Argument(help: "The input file; `-` or nothing for standard input.") var input: String?

    func run() throws {
        let options = try decode.unpicklerOptions()
        let out = OutputFile(fd: 1)
        try ToolIO.decodeStream(input, options: options) { graph in
            out.write(graph.root.description + "\n")
            out.flush()
        }
    }
}

struct Dis: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Disassemble every pickle in the stream, in the format of `python3 -m pickletools`.")

    @Option(name: .shortAndLong, help: "Blanks of indentation per open MARK.") var indentlevel = 4
    @Option(name: .shortAndLong, help: "Annotate each line with a short opcode description, aligned at this column (0: off).")
    var annotate = 0
    @Flag(help: "Carry the memo from one pickle to the next (a stream written by one Pickler).") var session = false
    @Argument(help: "The input file; `-` or nothing for standard input.") var input: String?

    func run() throws {
        let bytes = try ToolIO.readAll(input)
        var disassembler = Disassembler(indentLevel: indentlevel, annotate: annotate)
        disassembler.carriesMemoAcrossPickles = session
        disassembler.maxOutputLength = 1 << 30
        let out = OutputFile(fd: 1)
        var start = 0
        while start < bytes.count {
            let (text, end, error) = bytes.withUnsafeBytes { disassembler.disassemble($0, from: start) }
            out.write(text)
            if let error {
                out.flush()
                throw ToolFailure("offset \(error.offset): \(error.message)")
            }
            start = end
        }
        out.flush()
    }
}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-pickle every pickle of the stream to standard output at another protocol, losslessly.",
        discussion: "One output pickle per input pickle. Persistent ids and unknown objects pass through unchanged.")

    @Option(help: "The output protocol, 0 to 5.") var `protocol` = 5
    @OptionGroup var decode: DecodeOptions
    @Argument(help: "The input file; `-` or nothing for standard input.") var input: String?

    func validate() throws {
        guard (0 ... PicklerOptions.highestProtocol).contains(`protocol`) else {
            throw ValidationError("--protocol must be between 0 and \(PicklerOptions.highestProtocol)")
        }
    }

    func run() throws {
        let options = try decode.unpicklerOptions()
        var pickler = try Pickler(options: PicklerOptions(protocolVersion: `protocol`))
        let out = OutputFile(fd: 1)
        try ToolIO.decodeStream(input, options: options) { graph in
            if !decode.session { pickler.clearMemo() }
            try pickler.dump(graph)
            out.write(pickler.takeOutput())
            out.flush()
        }
    }
}
