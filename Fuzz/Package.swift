// swift-tools-version: 6.2
// Kiln's libFuzzer targets (docs/reliability.md). A package of its own, so a consumer of Kiln never
// builds them and the instrumented build lives in Fuzz/.build, apart from the normal one.
//
//   make fuzz FUZZ_SECONDS=60        build with -sanitize=fuzzer,address and run every target
//
// Each target is an executable with a `@_cdecl("LLVMFuzzerTestOneInput")` entry and a `@main` that
// hands it to libFuzzer's driver (`LLVMFuzzerRunDriver`), so they link only when built with
// `-sanitize=fuzzer`.
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which is whatever the clone was called.
let kiln = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

func fuzzTarget(_ name: String, _ products: [String]) -> Target {
    .executableTarget(name: name,
                      dependencies: ["FuzzSupport"] + products.map { .product(name: $0, package: kiln) },
                      path: "Sources/\(name)",
                      swiftSettings: [.unsafeFlags(["-parse-as-library"])])
}

let package = Package(
    name: "KilnFuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "CFuzzerDriver", path: "Sources/CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver", .product(name: "Kiln", package: kiln),
                                                   .product(name: "KilnImage", package: kiln)],
                path: "Sources/FuzzSupport"),
        fuzzTarget("fuzz-artifact", ["Kiln"]),
        fuzzTarget("fuzz-npy", ["Kiln"]),
        fuzzTarget("fuzz-image", ["Kiln", "KilnImage"]),
        fuzzTarget("fuzz-preprocessing", ["Kiln", "KilnImage"]),
        fuzzTarget("fuzz-infer-request", ["Kiln", "KilnServer"]),
    ]
)
