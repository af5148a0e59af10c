// swift-tools-version:6.1
import PackageDescription

// Benchmarks of swift-pickle, on their own scratch path so they never collide with the main package's `.build`:
//   PickleCompare, the executable `compare.py` times side by side with CPython:
//     swift build -c release --package-path Benchmarks --scratch-path .build-bench --product PickleCompare
//   CodableCompare, PickleDecoder against JSONDecoder, timed by `codable_compare.py` beside CPython:
//     swift build -c release --package-path Benchmarks --scratch-path .build-bench --product CodableCompare
//   ScanCompare, PickleScanner in process, timed by `scan_compare.py` beside picklescan and fickling:
//     swift build -c release --package-path Benchmarks --scratch-path .build-bench --product ScanCompare
//   NIOCompare, messages per second received by PickleNIO, StreamingUnpickler and MultiprocessingConnection,
//   timed by `nio_compare.py` beside CPython's multiprocessing.connection:
//     swift build -c release --package-path Benchmarks --scratch-path .build-bench --product NIOCompare
//   PickleBenchmarks, ordo-one/benchmark (time and malloc counts) on the datasets of `datasets.py`:
//     swift package --package-path Benchmarks --scratch-path .build-bench benchmark
// PickleZstd links the system's libzstd: `apt-get install libzstd-dev` first where it is missing.
let package = Package(
    name: "swift-pickle-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "swift-pickle", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        // The MallocInterposer trait counts mallocs without jemalloc (resolution fails here without it).
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "PickleCompare",
            dependencies: [
                .product(name: "Pickle", package: "swift-pickle"),
                .product(name: "PickleZstd", package: "swift-pickle"),
            ]
        ),
        .executableTarget(
            name: "ScanCompare",
            dependencies: [
                .product(name: "Pickle", package: "swift-pickle"),
                .product(name: "PickleZstd", package: "swift-pickle"),
            ]
        ),
        .executableTarget(
            name: "NIOCompare",
            dependencies: [
                .product(name: "Pickle", package: "swift-pickle"),
                .product(name: "PickleNIO", package: "swift-pickle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "CodableCompare",
            dependencies: [.product(name: "Pickle", package: "swift-pickle")]
        ),
        .executableTarget(
            name: "PickleBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Pickle", package: "swift-pickle"),
                .product(name: "PickleZstd", package: "swift-pickle"),
            ],
            path: "Benchmarks/PickleBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
