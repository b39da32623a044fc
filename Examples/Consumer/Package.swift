// swift-tools-version: 6.0
// A minimal package that uses Kiln as a dependency, the way an application would.
//
// By default it depends on the Kiln checkout two folders up (`.package(path:)`). With
// KILN_PACKAGE_URL set (as `verify.sh` does), it depends on a *versioned* Kiln,
// `.package(url:from: "0.1.0")` — the form SwiftPM refuses when a library target uses unsafeFlags.
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
        .executableTarget(name: "Consumer", dependencies: [.product(name: "Kiln", package: "Kiln")]),
    ]
)
