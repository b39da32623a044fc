// swift-tools-version: 6.0
// A minimal package that uses Kiln as a dependency, the way an application would.
//
// By default it depends on the Kiln checkout two folders up (`.package(path:)`). With
// KILN_PACKAGE_URL set (as `verify.sh` does), it depends on a *versioned* Kiln,
// `.package(url:from: "0.1.0")` — the form SwiftPM refuses when a library target uses unsafeFlags.
//
// The `Kiln` library brings portable kernels only; it sets no compiler flags. For the AVX2 and
// AVX-512 kernels, the application builds Kiln's kernel bodies in two modules of its own, each with
// its CPU target (the flags are this package's choice, not the library's), and hands them to
// `KernelDispatch.install` at start-up. Kiln calls each only after CPUID says the CPU runs it.
import Foundation
import PackageDescription

let kiln: Package.Dependency
if let url = ProcessInfo.processInfo.environment["KILN_PACKAGE_URL"] {
    kiln = .package(url: url, from: "0.1.0")
} else {
    kiln = .package(name: "Kiln", path: "../..")
}

let package = Package(
    name: "Consumer",
    dependencies: [kiln],
    targets: [
        .target(name: "ConsumerKernelsAVX2", dependencies: [.product(name: "Kiln", package: "Kiln")],
                swiftSettings: [.unsafeFlags(["-target-cpu", "haswell"])]),
        .target(name: "ConsumerKernelsAVX512", dependencies: [.product(name: "Kiln", package: "Kiln")],
                swiftSettings: [.unsafeFlags(["-target-cpu", "skylake-avx512"])]),
        .executableTarget(name: "Consumer", dependencies: [
            .product(name: "Kiln", package: "Kiln"), "ConsumerKernelsAVX2", "ConsumerKernelsAVX512",
        ]),
    ]
)
