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

/// MaxPool, AveragePool and the global pools against PyTorch / ONNX Runtime
/// (`Fixtures/kernels/gen_pooling.py`) and against the naive `referencePool` on random problems.
final class PoolingTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("pooling")
    }

    /// Random windows over widths around the 8-lane interior loop (stride 1 and 2 take the SIMD
    /// column pass, other strides the scalar one), with padding, dilation and ceil_mode.
    func testPoolRandomAgainstReference() throws {
        var rng = SeededGenerator(seed: 7)
        for trial in 0..<300 {
            let oneD = trial % 5 == 4
            let sr = oneD ? 1 : 2
            var kernel: [Int] = [], strides: [Int] = [], dil: [Int] = [], spatial: [Int] = []
            var pb: [Int] = [], pe: [Int] = []
            for _ in 0..<sr {
                let k = Int.random(in: 1...4, using: &rng)
                let d = trial % 3 == 0 ? Int.random(in: 1...3, using: &rng) : 1
                kernel.append(k); dil.append(d)
                strides.append([1, 1, 2, 2, 3].randomElement(using: &rng)!)
                pb.append(Int.random(in: 0..<k, using: &rng)); pe.append(Int.random(in: 0..<k, using: &rng))
                let extent = (k - 1) * d + 1
                spatial.append(max(extent, [1, 2, 7, 8, 9, 13, 16, 17, 31].randomElement(using: &rng)!))
            }
            let ceil = Bool.random(using: &rng)
            let isMax = Bool.random(using: &rng)
            let cip = Bool.random(using: &rng)
            let x = try randomTensor([Int.random(in: 1...2, using: &rng), Int.random(in: 1...3, using: &rng)] + spatial, &rng)
            let expected = try referencePool(x, kernel: kernel, strides: strides, pads: pb + pe, dilations: dil,
                                             ceilMode: ceil, isMax: isMax, countIncludePad: cip)
            var attrs: [String: AttributeValue] = ["kernel_shape": .ints(kernel), "strides": .ints(strides),
                                                   "pads": .ints(pb + pe), "dilations": .ints(dil), "ceil_mode": .int(ceil ? 1 : 0)]
            if !isMax { attrs["count_include_pad"] = .int(cip ? 1 : 0) }
            let what = "\(isMax ? "Max" : "Average")Pool x\(x.shape) k\(kernel) s\(strides) pads\(pb + pe) d\(dil) ceil\(ceil) cip\(cip)"
            for threads in [1, 2] {
                let y = try runOp(isMax ? "MaxPool" : "AveragePool", attrs, [x], threads: threads)
                assertClose(y, expected, isMax ? .exact : .reduction, what)
            }
        }
    }

    /// The common CNN shapes (2×2 s2, 3×3 s2 p1) on large planes, so the interior SIMD loops run
    /// many blocks, and with two threads over the planes.
    func testCommonShapesOnLargePlanes() throws {
        var rng = SeededGenerator(seed: 8)
        let x = try randomTensor([2, 3, 33, 70], &rng)
        for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1)] {
            for isMax in [true, false] {
                let attrs: [String: AttributeValue] = ["kernel_shape": .ints([k, k]), "strides": .ints([s, s]), "pads": .ints([p, p, p, p])]
                let expected = try referencePool(x, kernel: [k, k], strides: [s, s], pads: [p, p, p, p], dilations: [1, 1],
                                                 ceilMode: false, isMax: isMax, countIncludePad: false)
                let y = try runOp(isMax ? "MaxPool" : "AveragePool", attrs, [x], threads: 2)
                assertClose(y, expected, isMax ? .exact : .reduction, "k\(k) s\(s) p\(p) max \(isMax)")
            }
        }
    }

    func testGlobalPoolsRandomAgainstReference() throws {
        var rng = SeededGenerator(seed: 9)
        for shape in [[1, 1, 1], [2, 3, 7], [1, 2, 8, 9], [3, 2, 1, 17], [1, 1, 2, 3, 5], [2, 70, 12, 12]] {
            let x = try randomTensor(shape, &rng)
            let v = try x.scalars(as: Float.self)
            let size = shape.dropFirst(2).reduce(1, *), planes = shape[0] * shape[1]
            let outShape = Array(shape.prefix(2)) + [Int](repeating: 1, count: shape.count - 2)
            let means = (0..<planes).map { p in Float(v[p * size..<(p + 1) * size].reduce(0.0) { $0 + Double($1) } / Double(size)) }
            let maxes = (0..<planes).map { p in v[p * size..<(p + 1) * size].max()! }
            assertClose(try runOp("GlobalAveragePool", [:], [x], threads: 2), try Tensor(shape: outShape, scalars: means), .reduction, "\(shape)")
            assertClose(try runOp("GlobalMaxPool", [:], [x], threads: 2), try Tensor(shape: outShape, scalars: maxes), .exact, "\(shape)")
        }
    }

    func testInvalidArguments() throws {
        var rng = SeededGenerator(seed: 10)
        let x = try randomTensor([1, 2, 5, 5], &rng)
        let k3: [String: AttributeValue] = ["kernel_shape": .ints([3, 3])]
        for op in ["MaxPool", "AveragePool"] {
            assertKilnError("\(op) kernel larger than padded input") { try runOp(op, ["kernel_shape": .ints([7, 2])], [x]) }
            assertKilnError("\(op) negative pads") { try runOp(op, ["kernel_shape": .ints([3, 3]), "pads": .ints([-1, 0, 0, 0])], [x]) }
            assertKilnError("\(op) pads >= kernel") { try runOp(op, ["kernel_shape": .ints([3, 3]), "pads": .ints([3, 0, 0, 0])], [x]) }
            assertKilnError("\(op) odd pads length") { try runOp(op, ["kernel_shape": .ints([3, 3]), "pads": .ints([1, 1, 1])], [x]) }
            assertKilnError("\(op) pads of wrong rank") { try runOp(op, ["kernel_shape": .ints([3, 3]), "pads": .ints([1, 1])], [x]) }
            assertKilnError("\(op) zero stride") { try runOp(op, ["kernel_shape": .ints([3, 3]), "strides": .ints([0, 1])], [x]) }
            assertKilnError("\(op) strides of wrong rank") { try runOp(op, ["kernel_shape": .ints([3, 3]), "strides": .ints([1, 1, 1])], [x]) }
            assertKilnError("\(op) missing kernel_shape") { try runOp(op, [:], [x]) }
            assertKilnError("\(op) 3-D kernel") { try runOp(op, ["kernel_shape": .ints([1, 1, 1])], [try randomTensor([1, 1, 2, 2, 2], &rng)]) }
            assertKilnError("\(op) rank mismatch") { try runOp(op, k3, [try randomTensor([2, 5, 5], &rng)]) }
            assertKilnError("\(op) wrong dtype") { try runOp(op, k3, [try Tensor(shape: [1, 1, 3, 3], scalars: [Int64](repeating: 0, count: 9))]) }
            assertKilnError("\(op) unknown attribute") { try runOp(op, ["kernel_shape": .ints([3, 3]), "p": .int(1)], [x]) }
            assertKilnError("\(op) bad auto_pad") { try runOp(op, ["kernel_shape": .ints([3, 3]), "auto_pad": .string("SAME")], [x]) }
            assertKilnError("\(op) missing input") { try runOp(op, k3, [nil]) }
        }
        assertKilnError("storage_order 1") { try runOp("MaxPool", ["kernel_shape": .ints([3, 3]), "storage_order": .int(1)], [x]) }
        assertKilnError("count_include_pad 2") { try runOp("AveragePool", ["kernel_shape": .ints([3, 3]), "count_include_pad": .int(2)], [x]) }
        assertKilnError("count_include_pad on MaxPool") { try runOp("MaxPool", ["kernel_shape": .ints([3, 3]), "count_include_pad": .int(1)], [x]) }
        for op in ["GlobalAveragePool", "GlobalMaxPool"] {
            assertKilnError("\(op) rank 2") { try runOp(op, [:], [try randomTensor([2, 3], &rng)]) }
            assertKilnError("\(op) empty spatial") { try runOp(op, [:], [try randomTensor([1, 2, 0, 3], &rng)]) }
            assertKilnError("\(op) wrong dtype") { try runOp(op, [:], [try Tensor(shape: [1, 1, 1], scalars: [Int64(1)])]) }
            assertKilnError("\(op) unknown attribute") { try runOp(op, ["axis": .int(1)], [x]) }
        }
    }
}
