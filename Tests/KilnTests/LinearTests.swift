import XCTest
import KilnTestSupport
@testable import Kiln

private func randomTensor(_ shape: [Int], _ rng: inout SeededGenerator) throws -> Tensor {
    let n = shape.reduce(1, *)
    return try Tensor(shape: shape, scalars: (0..<n).map { _ in Float.random(in: -1...1, using: &rng) })
}

private func runOp(_ op: String, _ attrs: [String: AttributeValue], _ inputs: [Tensor?], threads: Int = 1) throws -> Tensor {
    let o = try OpRegistry.standard.make(op, attributes: Attributes(op: op, node: "test", attrs))
    return try o.run(inputs, context: ExecutionContext(threads: threads, node: "test"))[0]
}

private func runOp(_ op: String, _ inputs: [Tensor?], threads: Int = 1) throws -> Tensor {
    try runOp(op, [:], inputs, threads: threads)
}

/// Gemm and MatMul against PyTorch / ONNX Runtime (`Fixtures/kernels/gen_linear.py`) and against
/// naive references on random problems.
final class LinearTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("linear")
    }

    /// Random shapes covering 1-D promotion, batch broadcasting in either operand, unit batch dims
    /// and the single-GEMM fold (B without batch dims), sizes around the SIMD/BLAS tiles.
    func testMatMulRandomBroadcastingAgainstReference() throws {
        var rng = SeededGenerator(seed: 101)
        let sizes = [1, 2, 3, 7, 8, 9, 13]
        for trial in 0..<150 {
            let m = sizes.randomElement(using: &rng)!, k = sizes.randomElement(using: &rng)!, n = sizes.randomElement(using: &rng)!
            let batchRank = Int.random(in: 0...3, using: &rng)
            let full = (0..<batchRank).map { _ in [1, 2, 3].randomElement(using: &rng)! }
            // Each operand keeps a suffix of the batch dims, with some set to 1 to broadcast.
            func operandBatch() -> [Int] {
                let keep = Int.random(in: 0...batchRank, using: &rng)
                return full.suffix(keep).map { Bool.random(using: &rng) ? $0 : 1 }
            }
            var aShape = operandBatch() + [m, k]
            var bShape = operandBatch() + [k, n]
            if trial % 10 == 3 { aShape = [k] }
            if trial % 10 == 7 { bShape = [k] }
            let a = try randomTensor(aShape, &rng), b = try randomTensor(bShape, &rng)
            let expected = try referenceMatMul(a, b)
            let actual = try runOp("MatMul", [a, b])
            assertClose(actual, expected, .gemm, "MatMul \(aShape) @ \(bShape)")
        }
    }

    func testGemmRandomAgainstReference() throws {
        var rng = SeededGenerator(seed: 202)
        let sizes = [1, 2, 5, 8, 9, 17]
        for _ in 0..<120 {
            let m = sizes.randomElement(using: &rng)!, k = sizes.randomElement(using: &rng)!, n = sizes.randomElement(using: &rng)!
            let ta = Bool.random(using: &rng), tb = Bool.random(using: &rng)
            let alpha = [1, 0.5, -2].randomElement(using: &rng)! as Float
            let beta = [1, 0, 3].randomElement(using: &rng)! as Float
            let cShapes: [[Int]?] = [nil, [], [1], [n], [1, n], [m, 1], [m, n], [1, 1]]
            let cShape = cShapes.randomElement(using: &rng)!
            let a = try randomTensor(ta ? [k, m] : [m, k], &rng)
            let b = try randomTensor(tb ? [n, k] : [k, n], &rng)
            let c = try cShape.map { try randomTensor($0, &rng) }
            let attrs: [String: AttributeValue] = ["transA": .int(ta ? 1 : 0), "transB": .int(tb ? 1 : 0),
                                                   "alpha": .float(alpha), "beta": .float(beta)]
            let expected = try referenceGemm(a, b, beta == 0 ? nil : c, alpha: alpha, beta: beta, transA: ta, transB: tb)
            let actual = try runOp("Gemm", attrs, c == nil ? [a, b] : [a, b, c])
            assertClose(actual, expected, .gemm, "Gemm m\(m) k\(k) n\(n) tA\(ta) tB\(tb) C\(String(describing: cShape))")
        }
    }

    /// The fused-activation hook an optimizer uses: Relu and Clip after the bias.
    func testGemmFusedActivation() throws {
        var rng = SeededGenerator(seed: 303)
        let a = try randomTensor([5, 9], &rng), b = try randomTensor([9, 11], &rng), c = try randomTensor([11], &rng)
        let plain = try referenceGemm(a, b, c, alpha: 1, beta: 1, transA: false, transB: false).scalars(as: Float.self)
        let attrs = Attributes(op: "Gemm", node: "fused")
        for (activation, f) in [(FusedActivation.relu, { (v: Float) in max(v, 0) }),
                                (FusedActivation.clip(min: -0.5, max: 0.25), { (v: Float) in min(max(v, -0.5), 0.25) })] {
            let op = try Gemm(attributes: attrs, activation: activation)
            let y = try op.run([a, b, c], context: ExecutionContext(threads: 2, node: "fused"))[0]
            let expected = try Tensor(shape: [5, 11], scalars: plain.map(f))
            assertClose(y, expected, .gemm, "fused \(activation)")
        }
        // Plain Gemm is unchanged by the hook's default.
        let y = try Gemm(attributes: attrs).run([a, b, c], context: ExecutionContext())[0]
        assertClose(y, try Tensor(shape: [5, 11], scalars: plain), .gemm, "no activation")
        assertKilnError("clip min > max") { try Gemm(attributes: attrs, activation: .clip(min: 1, max: 0)) }
    }

    /// A 3-D activation times a 2-D weight takes the folded single-GEMM path; a batched B the loop.
    /// Both must agree with the reference at every batch (a wrong batch offset shows up here).
    func testMatMulFoldAndLoopPathsAgree() throws {
        var rng = SeededGenerator(seed: 404)
        let a = try randomTensor([4, 3, 7, 5], &rng), w = try randomTensor([5, 6], &rng)
        let folded = try runOp("MatMul", [a, w])
        assertClose(folded, try referenceMatMul(a, w), .gemm, "folded")
        let wb = try w.reshaped([1, 1, 5, 6])
        let unitBatch = try runOp("MatMul", [a, wb])
        assertClose(unitBatch, folded, .gemm, "unit-batch B")
        let looped = try runOp("MatMul", [try a.reshaped([1, 12, 7, 5]), try randomTensor([4, 12, 5, 6], &rng)])
        XCTAssertEqual(looped.shape, [4, 12, 7, 6])
    }

    /// 0-d cases the fixtures cannot hold (kilnfix stores 0-d arrays as [1]): a vector·vector
    /// product is a scalar, and a scalar C broadcasts to every element.
    func testScalarShapes() throws {
        let a = try Tensor(shape: [3], scalars: [1, 2, 3] as [Float]), b = try Tensor(shape: [3], scalars: [4, 5, 6] as [Float])
        let dot = try runOp("MatMul", [a, b])
        XCTAssertEqual(dot.shape, [])
        XCTAssertEqual(try dot.scalars(as: Float.self), [32])
        let m = try Tensor(shape: [1, 3], scalars: [1, 2, 3] as [Float]), w = try Tensor(shape: [3, 2], scalars: [1, 0, 0, 1, 1, 1] as [Float])
        let y = try runOp("Gemm", ["beta": .float(2)], [m, w, Tensor(scalar: Float(0.5))])
        XCTAssertEqual(y.shape, [1, 2])
        XCTAssertEqual(try y.scalars(as: Float.self), [5, 6])
    }

    func testInvalidArguments() throws {
        var rng = SeededGenerator(seed: 505)
        let a34 = try randomTensor([3, 4], &rng), b45 = try randomTensor([4, 5], &rng), b55 = try randomTensor([5, 5], &rng)
        // MatMul
        assertKilnError("inner dims") { try runOp("MatMul", [a34, b55]) }
        assertKilnError("batch conflict") { try runOp("MatMul", [try randomTensor([2, 3, 4], &rng), try randomTensor([3, 4, 5], &rng)]) }
        assertKilnError("1-D inner dims") { try runOp("MatMul", [try randomTensor([3], &rng), b45]) }
        assertKilnError("scalar operand") { try runOp("MatMul", [Tensor(scalar: Float(1)), b45]) }
        assertKilnError("wrong dtype") { try runOp("MatMul", [try Tensor(shape: [3, 4], scalars: [Int64](repeating: 1, count: 12)), b45]) }
        assertKilnError("missing B") { try runOp("MatMul", [a34, nil]) }
        assertKilnError("unknown attribute") { try runOp("MatMul", ["transA": .int(1)], [a34, b45]) }
        // Gemm
        assertKilnError("Gemm inner dims") { try runOp("Gemm", [a34, b55]) }
        assertKilnError("Gemm inner dims transposed") { try runOp("Gemm", ["transA": .int(1)], [a34, b45]) }
        assertKilnError("Gemm rank-3 A") { try runOp("Gemm", [try randomTensor([1, 3, 4], &rng), b45]) }
        assertKilnError("Gemm 1-D B") { try runOp("Gemm", [a34, try randomTensor([4], &rng)]) }
        assertKilnError("Gemm C [4] for N=5") { try runOp("Gemm", [a34, b45, try randomTensor([4], &rng)]) }
        assertKilnError("Gemm C [2, 5] for M=3") { try runOp("Gemm", [a34, b45, try randomTensor([2, 5], &rng)]) }
        assertKilnError("Gemm C rank 3") { try runOp("Gemm", [a34, b45, try randomTensor([1, 3, 5], &rng)]) }
        assertKilnError("Gemm C wrong dtype") { try runOp("Gemm", [a34, b45, try Tensor(shape: [5], scalars: [Int64](repeating: 0, count: 5))]) }
        assertKilnError("Gemm transA 2") { try runOp("Gemm", ["transA": .int(2)], [a34, b45]) }
        assertKilnError("Gemm unknown attribute") { try runOp("Gemm", ["broadcast": .int(1)], [a34, b45]) }
        assertKilnError("Gemm alpha as string") { try runOp("Gemm", ["alpha": .string("x")], [a34, b45]) }
        assertKilnError("Gemm missing A") { try runOp("Gemm", [nil, b45]) }
    }
}
