import CZstd
import Pickle

/// The text of a zstd error code.
func zstdErrorText(_ code: Int) -> String {
    String(cString: ZSTD_getErrorName(code))
}

/// A compression context, freed with its owner.
final class CompressionContext {
    let pointer: OpaquePointer

    init(_ options: ZstdWriteOptions) throws {
        guard let context = ZSTD_createCCtx() else {
            throw PickleError(.compressionFailed, offset: 0, "cannot create a zstd compression context")
        }
        pointer = context
        try check(ZSTD_CCtx_setParameter(pointer, ZSTD_c_compressionLevel, options.level), "level \(options.level)")
        try check(ZSTD_CCtx_setParameter(pointer, ZSTD_c_checksumFlag, options.checksum ? 1 : 0), "checksum flag")
        // Threads are an optimisation: a libzstd without them refuses the parameter and compresses inline.
        _ = ZSTD_CCtx_setParameter(pointer, ZSTD_c_nbWorkers, options.workers)
    }

    deinit { ZSTD_freeCCtx(pointer) }

    private func check(_ result: Int, _ what: String) throws {
        if ZSTD_isError(result) != 0 {
            throw PickleError(.compressionFailed, offset: 0, "zstd rejected the \(what): \(zstdErrorText(result))")
        }
    }
}

/// A decompression context, freed with its owner.
final class DecompressionContext {
    let pointer: OpaquePointer

    init(_ options: ZstdReadOptions) throws {
        guard let context = ZSTD_createDCtx() else {
            throw PickleError(.decompressionFailed, offset: 0, "cannot create a zstd decompression context")
        }
        pointer = context
        let result = ZSTD_DCtx_setParameter(pointer, ZSTD_d_windowLogMax, options.maxWindowLog)
        if ZSTD_isError(result) != 0 {
            throw PickleError(.decompressionFailed, offset: 0, "zstd rejected windowLogMax \(options.maxWindowLog): \(zstdErrorText(result))")
        }
    }

    deinit { ZSTD_freeDCtx(pointer) }
}
