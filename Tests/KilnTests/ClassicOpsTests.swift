import XCTest
@testable import Kiln
import KilnTestSupport

/// LRN, Dropout with its mask, DepthToSpace and SpaceToDepth against ONNX Runtime / PyTorch
/// (`Fixtures/kernels/gen_classic.py`), in a whole model, and on invalid arguments.
final class ClassicOpsTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("classic")
    }

    /// A graph that reads Dropout's mask: the optimizer must keep the node (it only removes a
    /// Dropout whose mask is unnamed) and the mask must be all true, as a graph output and as an
    /// input to another op.
    func testDropoutMaskInAModel() throws {
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(3)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("N"), .fixed(3)]),
                     ValueInfo(name: "mask", dtype: .bool, shape: [.symbol("N"), .fixed(3)])]
        w.nodes = [
            NodeDef(name: "drop", op: "Dropout", inputs: ["x"], outputs: ["d", "mask"], attributes: Attributes(op: "Dropout", node: "drop")),
            NodeDef(name: "cast", op: "Cast", inputs: ["mask"], outputs: ["m"], attributes: Attributes(op: "Cast", node: "cast", ["to": .int(1)])),
            NodeDef(name: "mul", op: "Mul", inputs: ["d", "m"], outputs: ["y"], attributes: Attributes(op: "Mul", node: "mul")),
        ]
        let model = try Model(artifact: try Artifact(bytes: try w.encode()), options: .init(threads: 1))
        let x = try Tensor(shape: [2, 3], scalars: [Float(-1), 2, -3, 4, 5, -6])
        let out = try model.predict(["x": x])
        XCTAssertEqual(out["y"], x)
        XCTAssertEqual(try out["mask"]?.scalars(as: Bool.self), [Bool](repeating: true, count: 6))
    }

    /// DepthToSpace and SpaceToDepth undo each other (DCR), on a shape big enough for the
    /// parallel strided copy.
    func testSpaceToDepthInvertsDepthToSpace() throws {
        let n = 2 * 12 * 30 * 18
        let x = try Tensor(shape: [2, 12, 30, 18], scalars: (0..<n).map { Float($0) })
        for b in [2, 3] {
            let s = try runNode("SpaceToDepth", ["blocksize": .int(b)], [x], threads: 2)[0]
            XCTAssertEqual(s.shape, [2, 12 * b * b, 30 / b, 18 / b])
            let back = try runNode("DepthToSpace", ["blocksize": .int(b), "mode": .string("DCR")], [s], threads: 2)[0]
            XCTAssertEqual(back, x, "blocksize \(b)")
        }
    }

    func testInvalidArguments() {
        let x = try! Tensor(zeros: [1, 8, 4, 6])
        assertKilnError("LRN without size") { try runNode("LRN", [:], [x]) }
        assertKilnError("LRN size 0") { try runNode("LRN", ["size": .int(0)], [x]) }
        assertKilnError("LRN rank 2") { try runNode("LRN", ["size": .int(3)], [try Tensor(zeros: [2, 3])]) }
        assertKilnError("LRN int64") { try runNode("LRN", ["size": .int(3)], [try Tensor(zeros: [1, 2, 3], dtype: .int64)]) }
        assertKilnError("LRN unknown attribute") { try runNode("LRN", ["size": .int(3), "axis": .int(1)], [x]) }
        assertKilnError("DepthToSpace C not divisible") { try runNode("DepthToSpace", ["blocksize": .int(3)], [x]) }
        assertKilnError("DepthToSpace rank 3") { try runNode("DepthToSpace", ["blocksize": .int(2)], [try Tensor(zeros: [8, 4, 6])]) }
        assertKilnError("DepthToSpace bad mode") { try runNode("DepthToSpace", ["blocksize": .int(2), "mode": .string("RCD")], [x]) }
        assertKilnError("DepthToSpace without blocksize") { try runNode("DepthToSpace", [:], [x]) }
        assertKilnError("SpaceToDepth H not divisible") { try runNode("SpaceToDepth", ["blocksize": .int(4)], [x]) }
        assertKilnError("SpaceToDepth blocksize 0") { try runNode("SpaceToDepth", ["blocksize": .int(0)], [x]) }
    }
}
