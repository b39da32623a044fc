import XCTest
import KilnTestSupport
@testable import Kiln

private func randomTensor(_ shape: [Int], _ rng: inout SeededGenerator, offset: Float = 0) throws -> Tensor {
    let n = shape.reduce(1, *)
    return try Tensor(shape: shape, scalars: (0..<n).map { _ in Float.random(in: -1...1, using: &rng) + offset })
}

private func runOp(_ op: String, _ attrs: [String: AttributeValue], _ inputs: [Tensor?], threads: Int = 1) throws -> Tensor {
    let o = try OpRegistry.standard.make(op, attributes: Attributes(op: op, node: "test", attrs))
    return try o.run(inputs, context: ExecutionContext(threads: threads, node: "test"))[0]
}

/// BatchNormalization, LayerNormalization and InstanceNormalization against PyTorch / ONNX Runtime
/// (`Fixtures/kernels/gen_normalization.py`) and against naive `Double` references.
final class NormalizationTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("normalization")
    }

    func testLayerNormRandomAgainstReference() throws {
        var rng = SeededGenerator(seed: 31)
        for trial in 0..<80 {
            let rank = Int.random(in: 1...4, using: &rng)
            let shape = (0..<rank).map { _ in [1, 2, 3, 7, 8, 9, 17].randomElement(using: &rng)! }
            let axis = Int.random(in: -rank..<rank, using: &rng)
            let ax = axis < 0 ? axis + rank : axis
            let norm = Array(shape[ax...])
            let cols = norm.reduce(1, *), rows = shape[..<ax].reduce(1, *)
            let x = try randomTensor(shape, &rng, offset: trial % 4 == 0 ? 50 : 0)
            let scale = try randomTensor(norm, &rng), bias = try randomTensor(norm, &rng)
            let sv = try scale.scalars(as: Float.self), bv = try bias.scalars(as: Float.self)
            let withBias = trial % 3 != 0
            let expected = try referenceNormalize(x, groups: rows, size: cols, epsilon: 1e-5,
                                                  scale: { sv[$1] }, bias: { withBias ? bv[$1] : 0 })
            let y = try runOp("LayerNormalization", ["axis": .int(axis)], withBias ? [x, scale, bias] : [x, scale], threads: 2)
            assertClose(y, expected, .reduction, "LayerNorm \(shape) axis \(axis)")
        }
    }

    /// Regression (found by testLayerNormRandomAgainstReference, [17, 9] with offset 50): float
    /// block sums of values near 50 put ~1e-5 of error into the mean, which 1/std amplifies. The
    /// kernel now sums values shifted by the row's first element, in Double, and keeps the mean's
    /// rounding error as a correction.
    func testLayerNormLargeMeanSmallSpreadRegression() throws {
        var rng = SeededGenerator(seed: 34)
        for (offset, spread) in [(50, 1), (1000, 0.01), (-300, 0.05)] as [(Float, Float)] {
            let n = 17 * 9
            let x = try Tensor(shape: [17, 9], scalars: (0..<n).map { _ in offset + spread * Float.random(in: -1...1, using: &rng) })
            let scale = try randomTensor([9], &rng), bias = try randomTensor([9], &rng)
            let sv = try scale.scalars(as: Float.self), bv = try bias.scalars(as: Float.self)
            let expected = try referenceNormalize(x, groups: 17, size: 9, epsilon: 1e-5, scale: { sv[$1] }, bias: { bv[$1] })
            assertClose(try runOp("LayerNormalization", [:], [x, scale, bias]), expected, .reduction, "LayerNorm offset \(offset)")
            let xi = try x.reshaped([1, 17, 9])
            let ones = try Tensor(shape: [17], scalars: [Float](repeating: 1, count: 17))
            let zeros = try Tensor(shape: [17], scalars: [Float](repeating: 0, count: 17))
            let expectedIN = try referenceNormalize(x, groups: 17, size: 9, epsilon: 1e-5, scale: { _, _ in 1 }, bias: { _, _ in 0 })
            assertClose(try runOp("InstanceNormalization", [:], [xi, ones, zeros]), try expectedIN.reshaped([1, 17, 9]), .reduction,
                        "InstanceNorm offset \(offset)")
        }
    }

    func testInstanceAndBatchNormRandomAgainstReference() throws {
        var rng = SeededGenerator(seed: 32)
        for _ in 0..<60 {
            let n = Int.random(in: 1...3, using: &rng), c = [1, 2, 5].randomElement(using: &rng)!
            let spatial = (0..<Int.random(in: 1...3, using: &rng)).map { _ in [1, 2, 7, 8, 9, 13].randomElement(using: &rng)! }
            let shape = [n, c] + spatial
            let size = spatial.reduce(1, *)
            let x = try randomTensor(shape, &rng)
            let scale = try randomTensor([c], &rng), bias = try randomTensor([c], &rng), mean = try randomTensor([c], &rng)
            let variance = try randomTensor([c], &rng, offset: 1.5)
            let sv = try scale.scalars(as: Float.self), bv = try bias.scalars(as: Float.self)
            if size > 1 {
                let expected = try referenceNormalize(x, groups: n * c, size: size, epsilon: 1e-3,
                                                      scale: { g, _ in sv[g % c] }, bias: { g, _ in bv[g % c] })
                let y = try runOp("InstanceNormalization", ["epsilon": .float(1e-3)], [x, scale, bias], threads: 2)
                assertClose(y, expected, .reduction, "InstanceNorm \(shape)")
            }
            let expected = try referenceBatchNorm(x, scale: sv, bias: bv, mean: try mean.scalars(as: Float.self),
                                                  variance: try variance.scalars(as: Float.self), epsilon: 1e-5)
            let y = try runOp("BatchNormalization", [:], [x, scale, bias, mean, variance], threads: 2)
            assertClose(y, expected, .reduction, "BatchNorm \(shape)")
        }
    }

    func testInvalidArguments() throws {
        var rng = SeededGenerator(seed: 33)
        let x = try randomTensor([2, 3, 4, 5], &rng)
        let c3 = try randomTensor([3], &rng), c4 = try randomTensor([4], &rng)
        let i64 = try Tensor(shape: [3], scalars: [Int64](repeating: 1, count: 3))
        // BatchNormalization
        assertKilnError("BN param length != C") { try runOp("BatchNormalization", [:], [x, c3, c4, c3, c3]) }
        assertKilnError("BN param rank 2") { try runOp("BatchNormalization", [:], [x, c3, c3, try c3.reshaped([1, 3]), c3]) }
        assertKilnError("BN missing var") { try runOp("BatchNormalization", [:], [x, c3, c3, c3]) }
        assertKilnError("BN rank 1") { try runOp("BatchNormalization", [:], [c3, c3, c3, c3, c3]) }
        assertKilnError("BN wrong dtype") { try runOp("BatchNormalization", [:], [x, c3, c3, c3, i64]) }
        assertKilnError("BN training_mode") { try runOp("BatchNormalization", ["training_mode": .int(1)], [x, c3, c3, c3, c3]) }
        assertKilnError("BN unknown attribute") { try runOp("BatchNormalization", ["spatial": .int(1)], [x, c3, c3, c3, c3]) }
        assertKilnError("BN negative epsilon") { try runOp("BatchNormalization", ["epsilon": .float(-1)], [x, c3, c3, c3, c3]) }
        // LayerNormalization
        let s5 = try randomTensor([5], &rng)
        assertKilnError("LN axis out of range") { try runOp("LayerNormalization", ["axis": .int(4)], [x, s5]) }
        assertKilnError("LN axis too negative") { try runOp("LayerNormalization", ["axis": .int(-5)], [x, s5]) }
        assertKilnError("LN scale shape") { try runOp("LayerNormalization", [:], [x, c4]) }
        assertKilnError("LN scale for wrong axis") { try runOp("LayerNormalization", ["axis": .int(-2)], [x, c3]) }
        assertKilnError("LN scale rank too high") { try runOp("LayerNormalization", [:], [x, try randomTensor([2, 1, 5], &rng)]) }
        assertKilnError("LN bias shape") { try runOp("LayerNormalization", [:], [x, s5, c3]) }
        assertKilnError("LN scalar X") { try runOp("LayerNormalization", [:], [Tensor(scalar: Float(1)), Tensor(scalar: Float(1))]) }
        assertKilnError("LN wrong dtype") { try runOp("LayerNormalization", [:], [x, try Tensor(shape: [5], scalars: [Int64](repeating: 1, count: 5))]) }
        assertKilnError("LN stash_type 0") { try runOp("LayerNormalization", ["stash_type": .int(0)], [x, s5]) }
        assertKilnError("LN unknown attribute") { try runOp("LayerNormalization", ["axes": .ints([1])], [x, s5]) }
        assertKilnError("LN missing scale") { try runOp("LayerNormalization", [:], [x, nil]) }
        // InstanceNormalization
        assertKilnError("IN scale length != C") { try runOp("InstanceNormalization", [:], [x, c4, c3]) }
        assertKilnError("IN bias length != C") { try runOp("InstanceNormalization", [:], [x, c3, c4]) }
        assertKilnError("IN rank 2") { try runOp("InstanceNormalization", [:], [try randomTensor([2, 3], &rng), c3, c3]) }
        assertKilnError("IN wrong dtype") { try runOp("InstanceNormalization", [:], [x, i64, c3]) }
        assertKilnError("IN unknown attribute") { try runOp("InstanceNormalization", ["momentum": .float(0.9)], [x, c3, c3]) }
        assertKilnError("IN missing B") { try runOp("InstanceNormalization", [:], [x, c3]) }
    }
}
