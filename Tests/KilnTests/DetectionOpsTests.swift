import XCTest
@testable import Kiln
import KilnTestSupport

/// TopK, NonMaxSuppression and ScatterND against ONNX Runtime / PyTorch / NumPy
/// (`Fixtures/kernels/gen_detection.py`; tolerance `exact`, `elementwise` for float ScatterND
/// reductions), and on invalid arguments.
final class DetectionOpsTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("detection")
    }

    func testTopKNaNIsLargest() throws {
        let x = try Tensor(shape: [4], scalars: [Float(1), .nan, 3, -2])
        let top = try runNode("TopK", [:], [x, i64([2])])
        XCTAssertEqual(try top[1].scalars(as: Int64.self), [1, 2])
        let bottom = try runNode("TopK", ["largest": .int(0)], [x, i64([4])])
        XCTAssertEqual(try bottom[1].scalars(as: Int64.self), [3, 0, 2, 1])
    }

    func testInvalidArguments() {
        let x = try! Tensor(zeros: [2, 5])
        assertKilnError("TopK k too large") { try runNode("TopK", [:], [x, i64([6])]) }
        assertKilnError("TopK k negative") { try runNode("TopK", [:], [x, i64([-1])]) }
        assertKilnError("TopK without k") { try runNode("TopK", [:], [x]) }
        assertKilnError("TopK k twice") { try runNode("TopK", ["k": .int(1)], [x, i64([1])]) }
        assertKilnError("TopK K of two values") { try runNode("TopK", [:], [x, i64([1, 2])]) }
        assertKilnError("TopK axis") { try runNode("TopK", ["axis": .int(2)], [x, i64([1])]) }
        assertKilnError("TopK largest 2") { try runNode("TopK", ["largest": .int(2)], [x, i64([1])]) }
        assertKilnError("TopK bool") { try runNode("TopK", [:], [try Tensor(zeros: [3], dtype: .bool), i64([1])]) }
        assertKilnError("TopK scalar") { try runNode("TopK", [:], [try Tensor(zeros: []), i64([0])]) }

        let boxes = try! Tensor(zeros: [1, 3, 4]), scores = try! Tensor(zeros: [1, 2, 3])
        assertKilnError("NMS boxes [1, 3, 5]") { try runNode("NonMaxSuppression", [:], [try Tensor(zeros: [1, 3, 5]), scores]) }
        assertKilnError("NMS scores box count") { try runNode("NonMaxSuppression", [:], [boxes, try Tensor(zeros: [1, 2, 4])]) }
        assertKilnError("NMS iou 1.5") {
            try runNode("NonMaxSuppression", [:], [boxes, scores, i64([3]), try Tensor(shape: [1], scalars: [Float(1.5)])])
        }
        assertKilnError("NMS max boxes float") { try runNode("NonMaxSuppression", [:], [boxes, scores, try Tensor(zeros: [1])]) }
        assertKilnError("NMS max boxes not scalar") { try runNode("NonMaxSuppression", [:], [boxes, scores, i64([3, 3])]) }
        assertKilnError("NMS iou NaN") {
            try runNode("NonMaxSuppression", [:], [boxes, scores, i64([3]), try Tensor(shape: [1], scalars: [Float.nan])])
        }
        let huge = try! runNode("NonMaxSuppression", [:], [boxes, scores, i64([Int(Int64.max)])])[0]
        XCTAssertEqual(huge.shape, [6, 3], "max_output_boxes_per_class = Int64.max keeps every box (all scores 0, no overlap: zero-area boxes)")
        assertKilnError("NMS center_point_box 2") { try runNode("NonMaxSuppression", ["center_point_box": .int(2)], [boxes, scores]) }

        let data = try! Tensor(zeros: [4, 3])
        assertKilnError("ScatterND index out of range") { try runNode("ScatterND", [:], [data, try Tensor(shape: [1, 1], scalars: [Int64(4)]), try Tensor(zeros: [1, 3])]) }
        assertKilnError("ScatterND updates shape") { try runNode("ScatterND", [:], [data, try Tensor(shape: [1, 1], scalars: [Int64(1)]), try Tensor(zeros: [1, 4])]) }
        assertKilnError("ScatterND q > rank") { try runNode("ScatterND", [:], [data, try Tensor(zeros: [1, 3], dtype: .int64), try Tensor(zeros: [1])]) }
        assertKilnError("ScatterND int32 indices") { try runNode("ScatterND", [:], [data, try Tensor(zeros: [1, 1], dtype: .int32), try Tensor(zeros: [1, 3])]) }
        assertKilnError("ScatterND updates dtype") { try runNode("ScatterND", [:], [data, try Tensor(zeros: [1, 1], dtype: .int64), try Tensor(zeros: [1, 3], dtype: .int64)]) }
        assertKilnError("ScatterND reduction") { try runNode("ScatterND", ["reduction": .string("mean")], [data, try Tensor(zeros: [1, 1], dtype: .int64), try Tensor(zeros: [1, 3])]) }
        assertKilnError("ScatterND bool add") {
            try runNode("ScatterND", ["reduction": .string("add")], [try Tensor(zeros: [2], dtype: .bool), try Tensor(zeros: [1, 1], dtype: .int64), try Tensor(zeros: [1], dtype: .bool)])
        }
    }
}
