import ArgumentParser
import Pickle
import PickleZstd

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct PickleTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pickletool",
        abstract: "Inspect, check and convert streams of Python pickles. Every command reads a file, or standard input for `-` or no argument, as it arrives.",
        discussion: "Inputs may be zstd-compressed: readers recognise zstd frames by their magic number and decompress on the fly.",
        subcommands: [Show.self, Dis.self, Convert.self, Verify.self, Tensors.self, SafetensorsCommand.self, Scan.self, MultiprocessingListen.self, MultiprocessingSend.self, LogServer.self, Compress.self, Decompress.self]
    )

    /// Runs the command with `SIGPIPE` ignored, so that a closed standard output is an `EPIPE` from the
    /// write (decided once, by the sinks) and the command ends quietly with status 0, as when a reader such
    /// as `head` has read all it wants.
    static func main() async {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch is ReaderHasGone {
            Self.exit()
        } catch {
            Self.exit(withError: error)
        }
    }
}

/// Options shared by the commands that decode pickles.
struct DecodeOptions: ParsableArguments {
    @Option(help: "How Python 2 byte strings are decoded: any codec name or alias CPython accepts (ascii, latin1, utf8, cp1251, koi8_r, shift_jis, euc_jp, gbk, big5, utf_16, ...), or bytes to keep them as bytes.")
    var encoding: String = "ascii"

    @Option(help: "Undecodable bytes: strict, replace, ignore, surrogateescape, backslashreplace or surrogatepass.")
    var errors: String = "strict"

    @Flag(help: "Do not map Python 2 module names to Python 3 ones.")
    var noFixImports = false

    @Flag(help: "Keep one memo for the whole stream (pickles written by one Pickler across dump calls).")
    var session = false

    func unpicklerOptions() throws -> UnpicklerOptions {
        var options = UnpicklerOptions()
        let encoding: StringEncoding, errors: DecodingErrorPolicy
        do {
            encoding = try StringEncoding(pythonName: self.encoding)
            errors = try DecodingErrorPolicy(pythonName: self.errors)
        } catch let error as PickleError {
            throw ValidationError(error.message)
        }
        options.encoding = encoding
        options.errors = errors
        options.fixImports = !noFixImports
        options.memoMode = session ? .session : .perPickle
        return options
    }
}

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print each pickle's object on one line, in Python's repr syntax, as soon as it is complete.")

    @OptionGroup var decode: DecodeOptions
    @Argument(help: "The input file; `-` or nothing for standard input.") var input: String?

    func run() async throws {
        let options = try decode.unpicklerOptions()
        let fd = try ToolIO.open(input)
        defer { if fd != 0 { close(fd) } }
        var objects = ToolIO.objects(fd, options: options)
        var out = ToolOutput(fileDescriptor: 1)
        do {
            while let graph = try await objects.next(beforeWaiting: { try out.flush() }) {
                graph.root.appendDescription(to: &out.bytes)
                out.bytes.append(0x0A)
                try out.flushIfFull()
            }
        } catch {
            // Every object completed before the error is printed before it.
            try out.flush()
            throw error
        }
        try out.flush()
    }
}

struct Dis: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Disassemble every pickle in the stream, in the format of `python3 -m pickletools`.")

    @Option(name: .shortAndLong, help: "Blanks of indentation per open MARK.") var indentlevel = 4
    @Option(name: .shortAndLong, help: "Annotate each line with a short opcode description, aligned at this column (0: off).")
    var annotate = 0
    @Flag(help: "Carry the memo from one pickle to the next (a stream written by one Pickler).") var session = false
    @Argument(help: "The input file; `-` or nothing for standard input.") var input: String?

    /// Disassembles each pickle as its bytes arrive: the lines of its complete opcodes are written before
    /// the input is waited for, so a pipe's pickles show as they come.
    func run() async throws {
        var disassembler = Disassembler(indentLevel: indentlevel, annotate: annotate)
        disassembler.carriesMemoAcrossPickles = session
        disassembler.maxOutputLength = 1 << 30
        let out = OutputFile(fd: 1)
        disassembler.textSink = { out.write($0) }
        let fd = try ToolIO.open(input)
        defer { if fd != 0 { close(fd) } }
        var chunks = ToolIO.chunks(fd).makeAsyncIterator()
        var pending: [UInt8] = []   // bytes from stream offset `pendingOffset` on
        var pendingOffset = 0
        var start = 0               // index in `pending` of the next opcode
        var inputEnded = false
        var needs: Disassembler.MoreInput?  // set while a pickle is unfinished
        while true {
            // Everything the bytes so far allow; at the end of the input, an unfinished pickle's error.
            while start < pending.count || (inputEnded && needs != nil) {
                let step = pending.withUnsafeBytes {
                    disassembler.disassembleAvailable($0, from: start, streamOffset: pendingOffset, inputIsComplete: inputEnded)
                }
                out.write(step.text)
                try out.stopIfTheReaderHasGone()
                if let error = step.error {
                    out.flush()
                    throw ToolFailure("offset \(error.offset): \(error.message)")
                }
                start = step.end
                needs = step.needs
                if needs != nil { break }
            }
            if inputEnded { out.flush(); return }
            // Drop what is disassembled once it is most of the buffer (amortised: each byte moves once or so).
            if start > pending.count / 2 {
                pending.removeFirst(start)
                pendingOffset += start
                start = 0
            }
            // Read until the opcode waited for can be complete.
            while true {
                guard let chunk = try await chunks.next(beforeWaiting: { out.flush(); try out.stopIfTheReaderHasGone() }) else {
                    inputEnded = true
                    break
                }
                pending.append(contentsOf: chunk)
                switch needs ?? .anyByte {
                case .anyByte: break
                case .through(let offset): if pendingOffset + pending.count < offset { continue }
                case .newline: if !chunk.contains(0x0A) { continue }
                }
                break
            }
        }
    }
}

struct Convert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-pickle every pickle of the stream to standard output at another protocol, losslessly.",
        discussion: "One output pickle per input pickle. Persistent ids and unknown objects pass through unchanged.")

    @Option(help: "The output protocol, 0 to 5.") var `protocol` = 5
    @Flag(help: "Compress the output into zstd frames.") var zstd = false
    @Option(help: "The zstd level with --zstd (1 to 19).") var level: Int32 = 3
    @OptionGroup var decode: DecodeOptions
    @Argument(help: "The input file; `-` or nothing for standard input.") var input: String?

    func validate() throws {
        guard (0 ... PicklerOptions.highestProtocol).contains(`protocol`) else {
            throw ValidationError("--protocol must be between 0 and \(PicklerOptions.highestProtocol)")
        }
    }

    func run() async throws {
        let options = try decode.unpicklerOptions()
        let pickler = PicklerOptions(protocolVersion: `protocol`)
        let records: StreamingPickler<FileDescriptorSink>.RecordMode = decode.session ? .sharedMemo : .independent
        let fd = try ToolIO.open(input)
        defer { if fd != 0 { close(fd) } }
        let output = FileDescriptorSink(fileDescriptor: 1)
        do {
            if zstd {
                // A frame ends at every flush (before waiting for input, and at the end): a reader of the pipe
                // can decompress everything flushed so far; a fast input still makes large frames.
                let sink = try ZstdCompressingSink(output, options: ZstdWriteOptions(level: level))
                var writer = try StreamingPickler(sink: sink, options: pickler, records: records == .sharedMemo ? .sharedMemo : .independent)
                try await convert(fd, options, &writer)
                try sink.finish()
            } else {
                var writer = try StreamingPickler(sink: output, options: pickler, records: records)
                try await convert(fd, options, &writer)
            }
        } catch where output.readerHasGone {
            throw ReaderHasGone()
        }
    }

    /// Re-pickles every object of the input; the pickler hands its sink whole frames (about 64 KiB) as they
    /// fill, and everything when the input is about to be waited for, before an error is reported, and at
    /// the end.
    private func convert<Sink: PickleSink>(_ fd: Int32, _ options: UnpicklerOptions,
                                           _ writer: inout StreamingPickler<Sink>) async throws {
        var objects = ToolIO.objects(fd, options: options)
        do {
            while let graph = try await objects.next(beforeWaiting: { try writer.flush() }) {
                try writer.dump(graph)
            }
        } catch {
            // Every pickle completed before the error is still written.
            try? writer.flush()
            throw error
        }
        try writer.flush()
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the whole stream and say how many complete pickles it holds and, if damaged, where and why it stops.",
        discussion: "Exit status 0 only for an intact stream: every byte belongs to a complete pickle.")

    @OptionGroup var decode: DecodeOptions
    @Argument(help: "The input file; `-` or nothing for standard input.") var input: String?

    func run() async throws {
        let options = try decode.unpicklerOptions()
        let fd = try ToolIO.open(input)
        defer { if fd != 0 { close(fd) } }
        let out = OutputFile(fd: 1)
        var iterator = StreamingUnpickler(ToolIO.chunks(fd), options: options).makeAsyncIterator()
        var count = 0
        do {
            while let _ = try await iterator.next() {
                count += 1
            }
            out.write("intact: \(count) pickle\(count == 1 ? "" : "s"), \(iterator.offset) bytes\n")
            out.flush()
        } catch let error as PickleError {
            out.write("damaged: \(count) complete pickle\(count == 1 ? "" : "s") before the damage; \(error)\n")
            out.flush()
            throw ExitCode(1)
        }
    }
}

struct Compress: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress the input (any bytes) into standard zstd frames on standard output, as `zstd -c`.")

    @Option(help: "The zstd level (1 to 19).") var level: Int32 = 3
    @Flag(help: "Leave out the frame checksums.") var noChecksum = false
    @Argument(help: "The input file; `-` or nothing for standard input.") var input: String?

    func run() async throws {
        let fd = try ToolIO.open(input)
        defer { if fd != 0 { close(fd) } }
        var options = ZstdWriteOptions(level: level)
        options.checksum = !noChecksum
        let sink = try ZstdCompressingSink(FileDescriptorSink(fileDescriptor: 1), options: options)
        for try await chunk in FileDescriptorByteStream(fileDescriptor: fd) { try sink.write(chunk[...]) }
        try sink.finish()
    }
}

struct Decompress: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decompress a zstd stream (concatenated and skippable frames included) to standard output, as `zstd -dc`.")

    @Argument(help: "The input file; `-` or nothing for standard input.") var input: String?

    func run() async throws {
        let fd = try ToolIO.open(input)
        defer { if fd != 0 { close(fd) } }
        let out = FileDescriptorSink(fileDescriptor: 1)
        let chunks = ZstdDecompressingChunks(FileDescriptorByteStream(fileDescriptor: fd), passesPlainInputThrough: false)
        for try await piece in chunks { try out.write(piece) }
    }
}
