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
        subcommands: [Show.self]
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
