// swift-tools-version:6.1
// libFuzzer targets for swift-pickle. Build and run them with `Fuzz/run.sh SECONDS` (see Fuzz/README.md);
// they must be built from this package with `swift build --sanitize=fuzzer` (building them from the root
// package would break its other executables).
import PackageDescription

let package = Package(
    name: "swift-pickle-fuzz",
    dependencies: [
        .package(name: "swift-pickle", path: ".."),
    ],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "Pickle", package: "swift-pickle")]),
        .executableTarget(name: "FuzzUnpickle", dependencies: ["FuzzSupport", .product(name: "Pickle", package: "swift-pickle")]),
        .executableTarget(name: "FuzzChunked", dependencies: ["FuzzSupport", .product(name: "Pickle", package: "swift-pickle")]),
        .executableTarget(name: "FuzzRoundTrip", dependencies: ["FuzzSupport", .product(name: "Pickle", package: "swift-pickle")]),
        .executableTarget(name: "FuzzArchives", dependencies: [.product(name: "Pickle", package: "swift-pickle")]),
        .executableTarget(name: "FuzzScan", dependencies: [.product(name: "Pickle", package: "swift-pickle")]),
        .executableTarget(name: "FuzzZstd", dependencies: ["FuzzSupport", .product(name: "Pickle", package: "swift-pickle"),
                                                           .product(name: "PickleZstd", package: "swift-pickle")]),
    ],
    swiftLanguageModes: [.v6]
)
