// swift-tools-version: 6.2
// Kiln: a pure-Swift tensor runtime for CPU inference.
//
// No target of a library product sets compiler flags. The one place with flags is the CPU-specific
// kernels of Kiln's own programs and tests (KilnNativeKernels): small modules built with
// `-target-cpu`, entered only after a CPUID check at run time (Sources/Kiln/Kernels/Dispatch.swift).
// An application that wants them builds the same modules itself (Examples/Consumer).
import PackageDescription

let package = Package(
    name: "Kiln",
    products: [
        // The runtime. Its targets set no compiler flags; CPU-specific kernels are the application's
        // (KernelDispatch.install). KilnKernels is listed so an application can instantiate them.
        .library(name: "Kiln", targets: ["Kiln", "KilnKernels"]),
        // Image decoding and torchvision-exact preprocessing; a separate product so users who
        // already have pixels need not link libjpeg/libpng.
        .library(name: "KilnImage", targets: ["KilnImage"]),
        .executable(name: "kiln", targets: ["KilnCLI"]),
        .executable(name: "kiln-bench", targets: ["KilnBench"]),
        // The HTTP inference service (Open Inference Protocol + /predictions) as a library, so a
        // Swift program can embed it, and as the `kiln-serve` command. Only these two depend on the
        // server stack; `Kiln` and `KilnImage` do not.
        .library(name: "KilnServer", targets: ["KilnServer"]),
        .executable(name: "kiln-serve", targets: ["KilnServe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // OpenBLAS's CBLAS interface (Debian/Ubuntu: libopenblas-dev). Only Kernels/ imports it.
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // OpenSSL's libcrypto for the data-section SHA-256 (hardware SHA; Debian/Ubuntu: libssl-dev).
        .systemLibrary(
            name: "CKilnCrypto",
            path: "Sources/CKilnCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // CPUID / XGETBV for the kernel dispatch.
        .target(name: "CKilnCPU", path: "Sources/CKilnCPU"),
        // Kernel bodies, generic over the vector type and emitted into each module that instantiates
        // them (never compiled on their own): one source for every ISA.
        .target(name: "KilnKernels", dependencies: ["CKilnSIMD"], path: "Sources/KilnKernels"),
        // Even/odd lane shuffles as Clang builtins (the kernels' stride-2 loads and transposes).
        .target(name: "CKilnSIMD", path: "Sources/CKilnSIMD"),
        // The library's own table: the bodies with 4-lane vectors, no CPU target, no flags.
        .target(name: "KilnKernelsPortable", dependencies: ["KilnKernels"], path: "Sources/KilnKernelsPortable"),
        .target(
            name: "Kiln",
            dependencies: ["CBLAS", "CKilnCPU", "CKilnCrypto", "CKilnSIMD", "KilnKernels", "KilnKernelsPortable"],
            path: "Sources/Kiln"
        ),
        // The CPU-specific variants of Kiln's own programs and tests. They are in no library product:
        // `-target-cpu` has no safe SwiftPM setting, and the CPU target is the application's choice,
        // not the library's. Each module is entered only after Kiln's CPUID check
        // (Sources/Kiln/Kernels/Dispatch.swift); `-O` also in debug builds, since the kernels are the
        // tests' hot loops. An application builds the same three modules in its own package
        // (Examples/Consumer) and hands them to `KernelDispatch.install`.
        .target(name: "KilnKernelsBaseline", dependencies: ["KilnKernels"], path: "Sources/KilnKernelsBaseline",
                swiftSettings: [.unsafeFlags(["-O"])]),
        .target(name: "KilnKernelsAVX2", dependencies: ["KilnKernels"], path: "Sources/KilnKernelsAVX2",
                swiftSettings: [.unsafeFlags(["-O", "-target-cpu", "haswell"])]),
        .target(name: "KilnKernelsAVX512", dependencies: ["KilnKernels"], path: "Sources/KilnKernelsAVX512",
                swiftSettings: [.unsafeFlags(["-O", "-target-cpu", "skylake-avx512"])]),
        // Linking this is enough: Kiln's dispatch finds its variants through a weak C symbol.
        .target(name: "KilnNativeKernels",
                dependencies: ["KilnKernels", "KilnKernelsBaseline", "KilnKernelsAVX2", "KilnKernelsAVX512"],
                path: "Sources/KilnNativeKernels"),
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
            dependencies: ["Kiln", "KilnImage", "KilnNativeKernels", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/KilnCLI"
        ),
        // Latency and throughput of a model (Benchmarks/README.md, docs/benchmarks.md).
        .executableTarget(
            name: "KilnBench",
            dependencies: ["Kiln", "KilnNativeKernels", "CBLAS", "CAllocCount", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/KilnBench"
        ),
        // The heap-allocation counter of kiln-bench and of KilnTests (interposes malloc in those
        // executables only, never in a library).
        .target(name: "CAllocCount", path: "Benchmarks/CAllocCount"),
        // Naive reference kernels, tolerances and the fixture reader shared by tests and benchmarks.
        .target(
            name: "KilnTestSupport",
            dependencies: ["Kiln"],
            path: "Sources/KilnTestSupport"
        ),
        .testTarget(
            name: "KilnTests",
            // CAllocCount: AllocationTests count the heap allocations of a warm inference.
            dependencies: ["Kiln", "KilnKernels", "KilnNativeKernels", "KilnTestSupport", "KilnCLI", "CAllocCount"],
            path: "Tests/KilnTests",
            resources: []
        ),
        .testTarget(
            name: "KilnImageTests",
            dependencies: ["KilnImage", "Kiln", "KilnNativeKernels"],
            path: "Tests/KilnImageTests"
        ),
        // The inference service: Hummingbird 2 routes, per-model bounded queues, a worker pool off
        // the event loops, Prometheus metrics, graceful drain (docs/deployment.md).
        .target(
            name: "KilnServer",
            dependencies: [
                "Kiln", "KilnImage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/KilnServer"
        ),
        // The `kiln-serve` command: flags, CPU-quota defaults, signals.
        .executableTarget(
            name: "KilnServe",
            dependencies: [
                "KilnServer", "KilnNativeKernels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/KilnServe"
        ),
        .testTarget(
            name: "KilnServerTests",
            dependencies: ["KilnServer", "Kiln", "KilnImage"],
            path: "Tests/KilnServerTests"
        ),
    ]
)
