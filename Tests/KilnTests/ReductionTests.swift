import XCTest
import Kiln
import KilnTestSupport



/// Reductions against PyTorch / ONNX Runtime (`Fixtures/kernels/gen_reduction.py`), random problems
/// against the Double-accumulating reference, and invalid arguments.
final class ReductionTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("reduction")
    }

    /// Every Reduce* op over random ranks (0–4), sizes (1, 7, 8, 9, primes, a few long rows),
    /// axis subsets (contiguous, leading, trailing, scattered, negative, empty) and keepdims,
    /// single- and multi-threaded. Tolerance `reduction`: the kernel sums in float32 with 8-lane
    /// partial sums, the reference in Double.
    func testReduceRandomMatchesNaive() throws {
        var rng = SeededGenerator(seed: 23)
        let sizes = [1, 2, 3, 7, 8, 9, 13, 17]
        for trial in 0..<250 {
            let rank = Int.random(in: 0...4, using: &rng)
            var shape = (0..<rank).map { _ in sizes.randomElement(using: &rng)! }
            if trial % 20 == 0 && rank > 0 { shape[rank - 1] = Int.random(in: 100...300, using: &rng) }
            let kind = ReferenceReduction.allCases[trial % ReferenceReduction.allCases.count]
            let n = shape.reduce(1, *)
            // Keep products and logs well-conditioned: prod near 1, log of positive sums.
            let values: [Float] = (0..<n).map { _ in
                switch kind {
                case .prod: return Float.random(in: 0.8...1.25, using: &rng)
                case .logSum: return Float.random(in: 0.1...2, using: &rng)
                default: return Float.random(in: -2...2, using: &rng)
                }
            }
            let x = try Tensor(shape: shape, scalars: values)
            let axes = Array(0..<rank).filter { _ in Bool.random(using: &rng) }
            let keep = Bool.random(using: &rng)
            let given = axes.map { a in Bool.random(using: &rng) ? a - rank : a }
            let expected = try referenceReduce(x, kind, axes: axes, keepDims: keep)
            for threads in [1, 2] {
                // Alternate between the attribute and the input form of axes.
                let useInput = trial % 2 == 0
                var attrs: [String: AttributeValue] = ["keepdims": .int(keep ? 1 : 0)]
                var inputs: [Tensor?] = [x]
                if useInput { inputs.append(i64(given)) } else if !given.isEmpty { attrs["axes"] = .ints(given) }
                let y = try runNode(kind.opType, attrs, inputs, threads: threads)[0]
                assertClose(y, expected, .reduction, "\(kind.opType) shape \(shape) axes \(given) keepdims \(keep) threads \(threads)")
            }
        }
    }

    /// Global average pooling shape (N, C, H, W) → mean over H, W, big enough to run threaded.
    func testSpatialMeanLarge() throws {
        var rng = SeededGenerator(seed: 2)
        let shape = [2, 32, 23, 29]
        let x = try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &rng) })
        let y = try runNode("ReduceMean", ["axes": .ints([2, 3])], [x], threads: 2)[0]
        assertClose(y, try referenceReduce(x, .mean, axes: [2, 3], keepDims: true), .reduction)
    }

    func testMaxPropagatesNaN() throws {
        let x = try Tensor(shape: [2, 9], scalars: [1, 2, .nan, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, .nan] as [Float])
        let y = try runNode("ReduceMax", ["axes": .ints([1]), "keepdims": .int(0)], [x])[0]
        XCTAssertTrue(try y.scalars(as: Float.self).allSatisfy { $0.isNaN })
    }

    func testArgMaxWidensSmallIntegers() throws {
        let x = try Tensor(shape: [2, 3], scalars: [UInt8(1), 9, 9, 200, 3, 200])
        let y = try runNode("ArgMax", ["axis": .int(1), "keepdims": .int(0)], [x])[0]
        XCTAssertEqual(try y.scalars(as: Int64.self), [1, 0])
        let last = try runNode("ArgMax", ["axis": .int(1), "keepdims": .int(0), "select_last_index": .int(1)], [x])[0]
        XCTAssertEqual(try last.scalars(as: Int64.self), [2, 2])
    }

    func testInvalidArguments() throws {
        let x = try Tensor(shape: [2, 3, 4], scalars: (0..<24).map { Float($0) })
        assertKilnError("axis out of range") { try runNode("ReduceMean", ["axes": .ints([3])], [x]) }
        assertKilnError("negative axis out of range") { try runNode("ReduceSum", [:], [x, i64([-4])]) }
        assertKilnError("repeated axis") { try runNode("ReduceMax", ["axes": .ints([1, -2])], [x]) }
        assertKilnError("axes attribute and input") { try runNode("ReduceSum", ["axes": .ints([1])], [x, i64([1])]) }
        assertKilnError("float axes") { try runNode("ReduceSum", [:], [x, Tensor(scalar: Float(1))]) }
        if case .unsupportedDType? = assertKilnError("int64 ReduceMean", { try runNode("ReduceMean", [:], [x.converted(to: .int64)]) }) {} else {
            XCTFail("ReduceMean on int64 must be unsupportedDType")
        }
        assertKilnError("uint8 ReduceSum") { try runNode("ReduceSum", [:], [x.converted(to: .uint8)]) }
        assertKilnError("missing input") { try runNode("ReduceSum", [:], []) }
        assertKilnError("ArgMax axis out of range") { try runNode("ArgMax", ["axis": .int(3)], [x]) }
        assertKilnError("ArgMax empty axis") { try runNode("ArgMax", ["axis": .int(0)], [try Tensor(zeros: [0, 3])]) }
        assertKilnError("ArgMax bool") { try runNode("ArgMax", [:], [x.converted(to: .bool)]) }
        for op in ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                   "ReduceSumSquare", "ReduceLogSum", "ArgMax", "ArgMin"] {
            if case .unsupportedOp? = assertKilnError("\(op) unknown attribute", { try runNode(op, ["keep_dims": .int(1)], [x]) }) {} else {
                XCTFail("\(op): an unknown attribute must be unsupportedOp")
            }
        }
    }
}
