// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swift-pickle",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Pickle", targets: ["Pickle"]),
        .executable(name: "pickletool", targets: ["pickletool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "Pickle"),
        .executableTarget(
            name: "pickletool",
            dependencies: [
                "Pickle",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "PickleTests",
            dependencies: ["Pickle"],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
