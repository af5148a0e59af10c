// swift-tools-version:6.1
import PackageDescription

// A light benchmark package: one executable that times swift-pickle on files made by `compare.py`.
// Build it on its own scratch path so it never collides with the main package's `.build`:
//   swift build -c release --package-path Benchmarks --scratch-path .build-bench
// PickleZstd links the system's libzstd: `apt-get install libzstd-dev` first where it is missing.
let package = Package(
    name: "swift-pickle-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "swift-pickle", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "PickleCompare",
            dependencies: [
                .product(name: "Pickle", package: "swift-pickle"),
                .product(name: "PickleZstd", package: "swift-pickle"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
