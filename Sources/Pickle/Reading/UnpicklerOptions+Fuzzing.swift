extension UnpicklerOptions {
    /// The options a fuzz input chooses by its first byte (the libFuzzer targets in Fuzz/ and the replay of
    /// their failures in the tests share this one mapping, so a failure found under some options is replayed
    /// under the same):
    ///
    /// - bits 0–1: the encoding of Python 2 strings (ascii, latin1, utf8, bytes);
    /// - bits 2–3: the errors policy (strict, replace, ignore, surrogateescape);
    /// - bit 4: session memo instead of per-pickle;
    /// - bit 5: tight limits (small payloads, integers, memo, stack, nesting and decoded size), so limit paths
    ///   are reached; otherwise the default limits;
    /// - bit 6: fix_imports off;
    /// - bit 7: a codec decoded through iconv instead, chosen by bits 0–1 (shift_jis, gb18030, utf_16,
    ///   iso2022_jp), and bits 2–3 choose among the other errors policies (ignore, surrogateescape,
    ///   backslashreplace, surrogatepass).
    ///
    /// Not part of the library's API: reached with `@_spi(Fuzzing) import Pickle`.
    @_spi(Fuzzing)
    public static func fuzzing(selector: UInt8) -> UnpicklerOptions {
        var options = UnpicklerOptions()
        let multibyte = selector & 0x80 != 0
        let choices = multibyte ? StringEncoding.fuzzingMultibyte : [.ascii, .latin1, .utf8, .bytes]
        options.encoding = choices[Int(selector & 3) % choices.count]
        options.errors = DecodingErrorPolicy.allCases[Int(selector >> 2 & 3) + (multibyte ? 2 : 0)]
        options.memoMode = selector & 0x10 != 0 ? .session : .perPickle
        if selector & 0x20 != 0 {
            options.limits.maxPayloadBytes = 1 << 12
            options.limits.maxIntegerBytes = 64
            options.limits.maxMemoEntries = 64
            options.limits.maxMemoIndex = 1 << 16
            options.limits.maxStackDepth = 256
            options.limits.maxNestingDepth = 16
            options.limits.maxDecodedBytes = 1 << 14
        }
        // Otherwise the defaults: no input may make them allocate past libFuzzer's malloc limit (a declared
        // length must never be reserved before its bytes arrive).
        options.fixImports = selector & 0x40 == 0
        return options
    }
}
