import Foundation
import XCTest
@testable import Kiln
import KilnTestSupport

final class TensorTests: XCTestCase {
    func testCreationAndValidation() throws {
        let z = try Tensor(zeros: [2, 3])
        XCTAssertEqual(z.shape, [2, 3])
        XCTAssertEqual(z.count, 6)
        XCTAssertEqual(try z.scalars(as: Float.self), [Float](repeating: 0, count: 6))
        XCTAssertEqual(Tensor(scalar: Int64(5)).shape, [])
        XCTAssertThrowsError(try Tensor(shape: [2, 2], scalars: [Float(1)]))
        XCTAssertThrowsError(try Tensor(zeros: [-1, 3]))
        XCTAssertThrowsError(try Tensor(zeros: [1 << 40, 1 << 40])) { error in
            guard case KilnError.allocationTooLarge = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try Tensor(zeros: [1 << 20, 1 << 20])) // 4 TiB: over the limit, no attempt
        XCTAssertThrowsError(try z.scalars(as: Int64.self)) // dtype mismatch is an error, not a reinterpretation
        XCTAssertEqual(try Tensor(zeros: [0, 5]).count, 0)
    }

    func testStorageIsAlignedTo64Bytes() throws {
        for n in [1, 3, 17, 1000] {
            let t = try Tensor(zeros: [n])
            XCTAssertEqual(Int(bitPattern: t.rawPointer) % 64, 0)
        }
    }

    func testCopyOnWrite() throws {
        let a = try Tensor(shape: [3], scalars: [Float(1), 2, 3])
        var b = a
        try b.withUnsafeMutableBufferPointer(as: Float.self) { $0[0] = 42 }
        XCTAssertEqual(try a.scalars(as: Float.self), [1, 2, 3])
        XCTAssertEqual(try b.scalars(as: Float.self), [42, 2, 3])
        let r = try a.reshaped([1, 3])
        XCTAssertEqual(r.rawPointer, a.rawPointer, "reshape must not copy")
        XCTAssertThrowsError(try a.reshaped([2, 2]))
    }

    func testBorrowedMemoryIsReadOnlyAndZeroCopy() throws {
        final class Owner { let buffer: UnsafeMutablePointer<Float>
            init() { buffer = .allocate(capacity: 4); buffer.initialize(from: [1, 2, 3, 4], count: 4) }
            deinit { buffer.deallocate() }
        }
        let owner = Owner()
        var t = try Tensor(borrowing: owner.buffer, byteCount: 16, dtype: .float32, shape: [2, 2], owner: owner)
        XCTAssertTrue(t.isBorrowed)
        XCTAssertEqual(t.rawPointer, UnsafeRawPointer(owner.buffer))
        try t.withUnsafeMutableBufferPointer(as: Float.self) { $0[0] = -1 }
        XCTAssertEqual(owner.buffer[0], 1, "writing a borrowed tensor must copy, never write the owner's memory")
        XCTAssertFalse(t.isBorrowed)
        XCTAssertThrowsError(try Tensor(borrowing: owner.buffer, byteCount: 8, dtype: .float32, shape: [2, 2], owner: owner))
    }

    func testConversions() throws {
        let f = try Tensor(shape: [6], scalars: [Float(1.5), -2.7, 65504, 1e-8, .nan, 300])
        let h = try f.converted(to: .float16)
        XCTAssertEqual(try h.scalars(as: Float16.self).prefix(3), [1.5, -2.6992188, 65504])
        XCTAssertEqual(try f.converted(to: .int64).scalars(as: Int64.self), [1, -2, 65504, 0, 0, 300])
        XCTAssertEqual(try f.converted(to: .uint8).scalars(as: UInt8.self), [1, 0, 255, 0, 0, 255])
        XCTAssertEqual(try f.converted(to: .bool).scalars(as: Bool.self), [true, true, true, true, true, true])
        let big = try Tensor(shape: [2], scalars: [Int64.max, Int64.min])
        XCTAssertEqual(try big.converted(to: .int64), big)
        XCTAssertEqual(try big.converted(to: .int32).scalars(as: Int32.self), [-1, 0]) // wraps like a C cast
    }

    func testShapeHelpers() throws {
        XCTAssertEqual(Shape.strides([2, 3, 4]), [12, 4, 1])
        XCTAssertEqual(try Shape.broadcast([2, 1, 4], [3, 1], op: "Add"), [2, 3, 4])
        XCTAssertThrowsError(try Shape.broadcast([2, 3], [4, 3], op: "Add")) { error in
            guard case KilnError.shapeMismatch(let op, _, _, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(op, "Add")
        }
        XCTAssertEqual(try Shape.normalizeAxis(-1, rank: 4, op: "Softmax"), 3)
        XCTAssertThrowsError(try Shape.normalizeAxis(4, rank: 4, op: "Softmax"))
        XCTAssertThrowsError(try Shape.normalizeAxis(0, rank: 0, op: "Softmax"))
    }

    func testErrorDescriptionsNameOpAndNode() {
        let e = KilnError.shapeMismatch(op: "Conv", node: "/layer1/conv", tensor: "W", expected: [64, 3, 7, 7], got: [64, 4, 7, 7])
        XCTAssertEqual(e.description, "Conv (node '/layer1/conv'): shape mismatch for W: expected [64, 3, 7, 7], got [64, 4, 7, 7]")
    }
}
