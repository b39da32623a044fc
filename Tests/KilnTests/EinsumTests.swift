import XCTest
@testable import Kiln
import KilnTestSupport

/// Einsum against ONNX Runtime / torch.einsum (`Fixtures/kernels/gen_einsum.py`, tolerance
/// `gemm`), and on equations Kiln refuses.
final class EinsumTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("einsum")
    }

    func testInvalidEquations() {
        let a = try! Tensor(zeros: [2, 3]), b = try! Tensor(zeros: [3, 4])
        func isUnsupported(_ e: KilnError) -> Bool { if case .unsupportedOp = e { return true } else { return false } }
        assertKilnError("two ellipses") { try runNode("Einsum", ["equation": .string("...i...->i")], [a]) }
        assertKilnError("single dot") { try runNode("Einsum", ["equation": .string("i.j->ij")], [a]) }
        assertKilnError("ellipsis dims that do not broadcast") {
            try runNode("Einsum", ["equation": .string("...ij,...jk->...ik")], [try Tensor(zeros: [2, 2, 3]), try Tensor(zeros: [3, 3, 4])])
        }
        assertKilnError("ellipsis operand of too low a rank") { try runNode("Einsum", ["equation": .string("...ijk->k")], [a]) }
        assertKilnError("diagonal", { try runNode("Einsum", ["equation": .string("ii->i")], [try Tensor(zeros: [3, 3])]) }, check: isUnsupported)
        assertKilnError("three operands", { try runNode("Einsum", ["equation": .string("ij,jk,kl->il")], [a, b, b]) }, check: isUnsupported)
        assertKilnError("missing equation") { try runNode("Einsum", [:], [a, b]) }
        assertKilnError("output letter not in inputs") { try runNode("Einsum", ["equation": .string("ij,jk->iz")], [a, b]) }
        assertKilnError("repeated output letter") { try runNode("Einsum", ["equation": .string("ij,jk->ii")], [a, b]) }
        assertKilnError("two arrows") { try runNode("Einsum", ["equation": .string("ij->j->i")], [a]) }
        assertKilnError("digits") { try runNode("Einsum", ["equation": .string("i1,1k->ik")], [a, b]) }
        assertKilnError("sizes disagree") { try runNode("Einsum", ["equation": .string("ij,jk->ik")], [a, try Tensor(zeros: [4, 4])]) }
        assertKilnError("rank disagrees") { try runNode("Einsum", ["equation": .string("ij,jk->ik")], [a, try Tensor(zeros: [3])]) }
        assertKilnError("input count") { try runNode("Einsum", ["equation": .string("ij,jk->ik")], [a]) }
        assertKilnError("int64") { try runNode("Einsum", ["equation": .string("ij->ji")], [try Tensor(zeros: [2, 3], dtype: .int64)]) }
    }

    func testEmptyContraction() throws {
        let y = try runNode("Einsum", ["equation": .string("ij,jk->ik")], [try Tensor(zeros: [2, 0]), try Tensor(zeros: [0, 3])])[0]
        XCTAssertEqual(y.shape, [2, 3])
        XCTAssertEqual(try y.scalars(as: Float.self), [Float](repeating: 0, count: 6))
    }
}

/// GridSample against ONNX Runtime / `F.grid_sample` (`Fixtures/kernels/gen_sampling.py`,
/// tolerance `elementwise`), and on invalid arguments.
final class GridSampleTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("sampling")
    }

    /// Non-finite and huge grid positions read zeros (or the border), never trap.
    func testNonFiniteGrid() throws {
        let x = try Tensor(shape: [1, 1, 2, 2], scalars: [Float(1), 2, 3, 4])
        let grid = try Tensor(shape: [1, 1, 3, 2], scalars: [Float.nan, 0, Float.infinity, 0, 1e30, -1e30])
        for padding in ["zeros", "border", "reflection"] {
            for mode in ["bilinear", "nearest", "bicubic"] {
                let y = try runNode("GridSample", ["padding_mode": .string(padding), "mode": .string(mode)], [x, grid])[0]
                XCTAssertEqual(y.shape, [1, 1, 1, 3])
            }
        }
        let zeros = try runNode("GridSample", [:], [x, grid])[0]
        XCTAssertEqual(try zeros.scalars(as: Float.self), [0, 0, 0])
    }

    func testInvalidArguments() {
        let x = try! Tensor(zeros: [1, 2, 4, 4]), grid = try! Tensor(zeros: [1, 3, 3, 2])
        assertKilnError("bad mode") { try runNode("GridSample", ["mode": .string("area")], [x, grid]) }
        assertKilnError("bad padding") { try runNode("GridSample", ["padding_mode": .string("wrap")], [x, grid]) }
        assertKilnError("align_corners 2") { try runNode("GridSample", ["align_corners": .int(2)], [x, grid]) }
        assertKilnError("5-D X") { try runNode("GridSample", [:], [try Tensor(zeros: [1, 1, 2, 2, 2]), grid]) }
        assertKilnError("grid batch") { try runNode("GridSample", [:], [x, try Tensor(zeros: [2, 3, 3, 2])]) }
        assertKilnError("grid last dim") { try runNode("GridSample", [:], [x, try Tensor(zeros: [1, 3, 3, 3])]) }
        assertKilnError("empty X") { try runNode("GridSample", [:], [try Tensor(zeros: [1, 2, 0, 4]), grid]) }
        assertKilnError("int64 grid") { try runNode("GridSample", [:], [x, try Tensor(zeros: [1, 3, 3, 2], dtype: .int64)]) }
    }
}
