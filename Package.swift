// swift-tools-version: 6.0
// Kiln: a pure-Swift tensor runtime for CPU inference.
//
// No target of a library product may use unsafe compiler flags: SwiftPM refuses such a product when it is
// consumed as a versioned dependency. Tuned builds pass CPU flags on the command line instead
// (see docs/benchmarks.md).
import PackageDescription

let package = Package(
    name: "Kiln",
    products: [
        .library(name: "Kiln", targets: ["Kiln"]),
        // Image decoding and torchvision-exact preprocessing; a separate product so users who
        // already have pixels need not link libjpeg/libpng.
        .library(name: "KilnImage", targets: ["KilnImage"]),
        .executable(name: "kiln", targets: ["KilnCLI"]),
        .executable(name: "kiln-bench", targets: ["KilnBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // OpenBLAS's CBLAS interface (Debian/Ubuntu: libopenblas-dev). Only Kernels/ imports it.
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "Kiln",
            dependencies: ["CBLAS"],
            path: "Sources/Kiln"
        ),
        // libjpeg-turbo and libpng behind a C shim that turns their longjmp errors into status
        // codes (Debian/Ubuntu: libjpeg62-turbo-dev, libpng-dev).
        .target(
            name: "CKilnImage",
            path: "Sources/CKilnImage",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]
        ),
        .target(
            name: "KilnImage",
            dependencies: ["Kiln", "CKilnImage"],
            path: "Sources/KilnImage"
        ),
        // The `kiln` command: inspect, run, verify.
        .executableTarget(
            name: "KilnCLI",
            dependencies: ["Kiln", "KilnImage", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/KilnCLI"
        ),
        // Latency and throughput of a model (Benchmarks/README.md, docs/benchmarks.md).
        .executableTarget(
            name: "KilnBench",
            dependencies: ["Kiln", "CBLAS", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/KilnBench"
        ),
        // Naive reference kernels, tolerances and the fixture reader shared by tests and benchmarks.
        .target(
            name: "KilnTestSupport",
            dependencies: ["Kiln"],
            path: "Sources/KilnTestSupport"
        ),
        .testTarget(
            name: "KilnTests",
            dependencies: ["Kiln", "KilnTestSupport", "KilnCLI"],
            path: "Tests/KilnTests",
            resources: []
        ),
        .testTarget(
            name: "KilnImageTests",
            dependencies: ["KilnImage", "Kiln"],
            path: "Tests/KilnImageTests"
        ),
    ]
)
