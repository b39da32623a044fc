import Foundation
import XCTest
import Kiln
import KilnTestSupport

/// A model with symbolic batch, height and width (`Fixtures/models/dynamic/gen_dynamic_hw.py`):
/// two branches concatenated after a stride-2 conv and an upsample, then a 3×3 AveragePool. At
/// height = width = 1 neither branch lines up nor the pool fits, so the loader must probe shapes
/// with the self-test input the exporter chose (1×3×24×32 here, from the model's `imgsz`), not
/// with 1 for every symbol; and the model must then run at other sizes.
final class DynamicShapeTests: XCTestCase {
    static let directory = fixturesDirectory.appendingPathComponent("models/dynamic")

    func load(memoryPlanning: Bool = true, threads: Int = 2) throws -> Model {
        try Model(contentsOf: Self.directory.appendingPathComponent("dynamic_hw.kiln"),
                  options: .init(threads: threads, memoryPlanning: memoryPlanning))
    }

    func testLoadsWithSymbolicHeightAndWidthAndPassesItsSelfTest() throws {
        let model = try load()
        XCTAssertEqual(model.inputs.first?.shape, [.symbol("batch"), .fixed(3), .symbol("height"), .symbol("width")])
        let spec = try XCTUnwrap(model.artifact.selfTest)
        XCTAssertEqual(model.artifact.tensors[spec.inputs["images"] ?? ""]?.shape, [1, 3, 24, 32])
        let report = try model.verify()
        XCTAssertTrue(report.passed, "\(report)")
    }

    /// Other sizes than the self-test's, one after the other on one model (the memory plan is
    /// recorded on the first run), against ONNX Runtime.
    func testRunsAtOtherSizes() throws {
        let x = try NPY.read(contentsOf: Self.directory.appendingPathComponent("dynamic_hw.x_40x56.npy"))
        let expected = try NPY.read(contentsOf: Self.directory.appendingPathComponent("dynamic_hw.logits_40x56.npy"))
        for planning in [true, false] {
            let model = try load(memoryPlanning: planning)
            let spec = try XCTUnwrap(model.artifact.selfTest)
            let small = try XCTUnwrap(model.artifact.tensors[spec.inputs["images"] ?? ""])
            for feed in [x, small, x] {
                let y = try XCTUnwrap(model.predict(["images": feed])["logits"])
                XCTAssertEqual(y.shape, [feed.shape[0], 8])
                if feed.shape == x.shape { assertClose(y, expected, Tolerance(abs: 1e-4, rel: 1e-4), "memoryPlanning \(planning)") }
            }
        }
    }

    /// A size the graph does not support (odd: the upsampled branch comes back one row taller) is
    /// an error naming the op and node, not a crash.
    func testUnsupportedSizeNamesTheOp() throws {
        let model = try load()
        let odd = try Tensor(zeros: [1, 3, 25, 33])
        assertKilnError("odd height and width", { try model.predict(["images": odd]) }) { error in
            "\(error)".contains("Concat") && "\(error)".contains("cat")
        }
        let tiny = try Tensor(zeros: [1, 3, 2, 2])
        assertKilnError("smaller than the pool", { try model.predict(["images": tiny]) }) { error in
            "\(error)".contains("AveragePool")
        }
    }
}
