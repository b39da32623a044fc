import XCTest
@testable import Kiln
import KilnTestSupport

/// LSTM, GRU and RNN against ONNX Runtime / PyTorch (`Fixtures/kernels/gen_recurrent.py`,
/// tolerance `transcendental`, `gemm` for the 64-unit case), and on invalid arguments.
final class RecurrentTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("recurrent")
    }

    /// A sequence of length 1 and an empty batch: shapes only, no trap.
    func testEdgeShapes() throws {
        let w = try Tensor(zeros: [1, 12, 2]), r = try Tensor(zeros: [1, 12, 3])
        let one = try runNode("LSTM", ["hidden_size": .int(3)], [try Tensor(zeros: [1, 2, 2]), w, r])
        XCTAssertEqual(one.map(\.shape), [[1, 1, 2, 3], [1, 2, 3], [1, 2, 3]])
        let empty = try runNode("LSTM", [:], [try Tensor(zeros: [4, 0, 2]), w, r])
        XCTAssertEqual(empty.map(\.shape), [[4, 1, 0, 3], [1, 0, 3], [1, 0, 3]])
        let noSteps = try runNode("GRU", [:], [try Tensor(zeros: [0, 2, 2]), try Tensor(zeros: [1, 9, 2]), try Tensor(zeros: [1, 9, 3])])
        XCTAssertEqual(noSteps.map(\.shape), [[0, 1, 2, 3], [1, 2, 3]])
        XCTAssertEqual(try noSteps[1].scalars(as: Float.self), [Float](repeating: 0, count: 6))
    }

    /// `kiln inspect` and the profiler count a recurrent layer's products: per (step, sequence),
    /// `W` times the input and `R` times the state, for every direction.
    func testMultiplyAccumulates() {
        XCTAssertEqual(Model.macs("LSTM", inputs: [[5, 2, 4], [2, 12, 4], [2, 12, 3]], outputs: [[5, 2, 2, 3]]), 10 * (96 + 72))
        XCTAssertEqual(Model.macs("GRU", inputs: [[2, 7, 3], [1, 6, 3], [1, 6, 2]], outputs: [[2, 7, 1, 2]]), 14 * (18 + 12))
        XCTAssertEqual(Model.macs("RNN", inputs: [[4, 1, 0], [1, 5, 0], [1, 5, 5]], outputs: [[4, 1, 1, 5]]), 4 * 25)
    }

    func testInvalidArguments() {
        let x = try! Tensor(zeros: [5, 2, 4])
        let w = try! Tensor(zeros: [1, 12, 4]), r = try! Tensor(zeros: [1, 12, 3])
        assertKilnError("bad direction") { try runNode("LSTM", ["direction": .string("sideways")], [x, w, r]) }
        assertKilnError("hidden_size disagrees with R") { try runNode("LSTM", ["hidden_size": .int(4)], [x, w, r]) }
        assertKilnError("hidden_size 0") { try runNode("LSTM", ["hidden_size": .int(0)], [x, w, r]) }
        assertKilnError("layout 2") { try runNode("LSTM", ["layout": .int(2)], [x, w, r]) }
        assertKilnError("clip 0") { try runNode("LSTM", ["clip": .float(0)], [x, w, r]) }
        assertKilnError("input_forget 2") { try runNode("LSTM", ["input_forget": .int(2)], [x, w, r]) }
        assertKilnError("unknown attribute") { try runNode("LSTM", ["axis": .int(1)], [x, w, r]) }
        assertKilnError("unknown activation", {
            try runNode("LSTM", ["activations": .strings(["Sigmoid", "Gelu", "Tanh"])], [x, w, r])
        }, check: { if case .unsupportedOp = $0 { return true } else { return false } })
        assertKilnError("two activations for an LSTM") { try runNode("LSTM", ["activations": .strings(["Sigmoid", "Tanh"])], [x, w, r]) }
        assertKilnError("bidirectional with one direction of weights") { try runNode("LSTM", ["direction": .string("bidirectional")], [x, w, r]) }
        assertKilnError("W of a GRU's gate count") { try runNode("LSTM", [:], [x, try Tensor(zeros: [1, 9, 4]), r]) }
        assertKilnError("X rank 2") { try runNode("LSTM", [:], [try Tensor(zeros: [5, 4]), w, r]) }
        assertKilnError("X int64") { try runNode("LSTM", [:], [try Tensor(zeros: [5, 2, 4], dtype: .int64), w, r]) }
        assertKilnError("X feature size") { try runNode("LSTM", [:], [try Tensor(zeros: [5, 2, 3]), w, r]) }
        assertKilnError("B shape") { try runNode("LSTM", [:], [x, w, r, try Tensor(zeros: [1, 12])]) }
        assertKilnError("sequence_lens too long") {
            try runNode("LSTM", [:], [x, w, r, nil, try Tensor(shape: [2], scalars: [Int32(6), 1])])
        }
        assertKilnError("sequence_lens 0") {
            try runNode("LSTM", [:], [x, w, r, nil, try Tensor(shape: [2], scalars: [Int32(0), 1])])
        }
        assertKilnError("sequence_lens float") { try runNode("LSTM", [:], [x, w, r, nil, try Tensor(zeros: [2])]) }
        assertKilnError("initial_h shape") { try runNode("LSTM", [:], [x, w, r, nil, nil, try Tensor(zeros: [1, 3, 3])]) }
        assertKilnError("initial_c shape") { try runNode("LSTM", [:], [x, w, r, nil, nil, nil, try Tensor(zeros: [2, 2, 3])]) }
        assertKilnError("P shape") { try runNode("LSTM", [:], [x, w, r, nil, nil, nil, nil, try Tensor(zeros: [1, 12])]) }
        assertKilnError("too many inputs") { try runNode("GRU", [:], [x, w, r, nil, nil, nil, nil]) }
        assertKilnError("two inputs") { try runNode("RNN", [:], [x, w]) }
        assertKilnError("GRU linear_before_reset 2") { try runNode("GRU", ["linear_before_reset": .int(2)], [x, w, r]) }
        assertKilnError("RNN input_forget") { try runNode("RNN", ["input_forget": .int(1)], [x, w, r]) }
    }
}
