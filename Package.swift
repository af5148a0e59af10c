// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swift-pickle",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Pickle", targets: ["Pickle"]),
        .library(name: "PickleZstd", targets: ["PickleZstd"]),
        // SwiftNIO codecs: the only product that depends on swift-nio, so users of Pickle alone never build it.
        .library(name: "PickleNIO", targets: ["PickleNIO"]),
        .executable(name: "pickletool", targets: ["pickletool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        // `swift package generate-documentation` (scripts/docs.sh) for the DocC catalogs.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // Linux's mremap, which Swift's Glibc module leaves out (large arenas grow by remapping: LargeBlocks).
        .target(name: "CPickleSystem"),
        .target(name: "Pickle", dependencies: ["CPickleSystem"]),
        // The system's libzstd, not a vendored copy: `apt-get install libzstd-dev` (scripts/test.sh does it).
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        .target(name: "PickleZstd", dependencies: ["Pickle", "CZstd"]),
        .target(name: "PickleNIO", dependencies: ["Pickle", .product(name: "NIOCore", package: "swift-nio")]),
        .executableTarget(
            name: "pickletool",
            dependencies: [
                "Pickle",
                "PickleZstd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "PickleTests",
            dependencies: ["Pickle", "PickleZstd"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "PickleNIOTests",
            dependencies: [
                "PickleNIO", "Pickle", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
