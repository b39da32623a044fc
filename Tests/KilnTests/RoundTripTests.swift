import Foundation
import XCTest
import Kiln
import KilnTestSupport

/// The export → load → run round trip: `Fixtures/models/roundtrip.sh` (run by `make test`) exports
/// every committed `Fixtures/models/onnx/<net>.onnx` with the `kiln-export` CLI into
/// `Fixtures/models/generated/<net>.kiln`; this test loads each one, runs its self-test (ONNX
/// Runtime's outputs on seeded input, stored by the exporter), and runs the same input through the
/// committed `Fixtures/models/<net>.kiln` (exported from PyTorch by gen_models.py) to check that both
/// routes give the reference outputs.
///
/// `Fixtures/models/generated/` is not committed, so on a fresh clone a plain `swift test` skips this
/// test, naming the command that makes the artifacts. `make test` makes them and sets
/// `KILN_REQUIRE_ROUNDTRIP=1`, under which a missing directory fails instead.
final class RoundTripTests: XCTestCase {
    static let models = fixturesDirectory.appendingPathComponent("models")
    static let generated = models.appendingPathComponent("generated")
    static let hint = "run `make test` (or `Fixtures/models/roundtrip.sh`) to export Fixtures/models/onnx/*.onnx into Fixtures/models/generated/"
    static let required = ProcessInfo.processInfo.environment["KILN_REQUIRE_ROUNDTRIP"].map { !$0.isEmpty && $0 != "0" } ?? false

    func testGeneratedArtifactsPassTheirSelfTests() throws {
        let onnxFiles = try FileManager.default.contentsOfDirectory(at: Self.models.appendingPathComponent("onnx"), includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "onnx" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        XCTAssertGreaterThanOrEqual(onnxFiles.count, 2, "Fixtures/models/onnx holds too few ONNX files")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: Self.generated.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            if Self.required { return XCTFail("Fixtures/models/generated/ is missing: \(Self.hint)") }
            throw XCTSkip("Fixtures/models/generated/ is missing (it is made by the Python round trip): \(Self.hint)")
        }
        for onnx in onnxFiles {
            let stem = onnx.deletingPathExtension().lastPathComponent
            let url = Self.generated.appendingPathComponent("\(stem).kiln")
            guard FileManager.default.fileExists(atPath: url.path) else {
                XCTFail("Fixtures/models/generated/\(stem).kiln is missing: \(Self.hint)")
                continue
            }
            let model = try Model(contentsOf: url, options: .init(threads: 2, verifyDataHash: true))
            let spec = try XCTUnwrap(model.artifact.selfTest, "\(stem): exported without a self-test")
            XCTAssertEqual(spec.reference, "onnxruntime", "\(stem): the CLI's reference is ONNX Runtime")
            let report = try model.verify()
            XCTAssertTrue(report.passed, "\(stem) (ONNX → kiln-export → Kiln):\n\(report)")

            // The same input through the artifact exported from PyTorch must give ONNX Runtime's outputs.
            let committed = try Model(contentsOf: Self.models.appendingPathComponent("\(stem).kiln"), options: .init(threads: 2))
            var feeds: [String: Tensor] = [:]
            for (input, tensor) in spec.inputs { feeds[input] = model.artifact.tensors[tensor] }
            let got = try committed.predict(feeds)
            for (output, tensor) in spec.outputs {
                let expected = try XCTUnwrap(model.artifact.tensors[tensor]).converted(to: .float32)
                let actual = try XCTUnwrap(got[output], "\(stem): the committed artifact has no output '\(output)'")
                let r = compare(actual, expected, Tolerance(abs: spec.abs, rel: spec.rel))
                XCTAssertTrue(r.passed, "\(stem) \(output): committed (PyTorch-exported) artifact vs ONNX Runtime: \(r.message)")
            }
        }
    }
}
