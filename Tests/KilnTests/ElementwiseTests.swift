import XCTest
import Kiln
import KilnTestSupport
@testable import Kiln

/// Runs `op` from the standard registry.
private func evalOp(_ op: String, _ inputs: [Tensor?], _ attrs: [String: AttributeValue] = [:], threads: Int = 1) throws -> [Tensor] {
    try OpRegistry.standard.make(op, attributes: Attributes(op: op, node: "test", attrs))
        .run(inputs, context: ExecutionContext(threads: threads, node: "test"))
}

private func randomFloats(_ shape: [Int], _ rng: inout SeededGenerator) throws -> Tensor {
    let n = shape.reduce(1, *)
    return try Tensor(shape: shape, scalars: (0..<n).map { _ in Float.random(in: -4...4, using: &rng) })
}

private func randomInts(_ shape: [Int], _ rng: inout SeededGenerator) throws -> Tensor {
    let n = shape.reduce(1, *)
    return try Tensor(shape: shape, scalars: (0..<n).map { _ in Int64.random(in: -50...50, using: &rng) })
}

private func randomBools(_ shape: [Int], _ rng: inout SeededGenerator) throws -> Tensor {
    let n = shape.reduce(1, *)
    return try Tensor(shape: shape, scalars: (0..<n).map { _ in Bool.random(using: &rng) })
}

/// Elementwise ops against PyTorch / ONNX Runtime (`Fixtures/kernels/gen_elementwise.py`), the
/// broadcasting engine against a naive index-by-index reference, and invalid arguments.
final class ElementwiseTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("elementwise")
    }

    // MARK: Broadcasting engine

    /// A shape whose right-aligned suffix matches `out`, with some dimensions replaced by 1.
    private func derivedShape(_ out: [Int], _ rng: inout SeededGenerator) -> [Int] {
        let r = Int.random(in: 0...out.count, using: &rng)
        return out.suffix(r).map { Int.random(in: 0..<3, using: &rng) == 0 ? 1 : $0 }
    }

    /// Add, Sub, Mul (int64), Less and Where over many seeded random shape pairs (ranks 0-5,
    /// dims 1...5 with random 1s) against `referenceBroadcastMap`/`referenceWhere`. Float add/sub
    /// are correctly rounded in both, so the comparison is exact.
    func testBroadcastRandomProblems() throws {
        var rng = SeededGenerator(seed: 0xB0AD)
        for trial in 0..<400 {
            let outRank = Int.random(in: 0...5, using: &rng)
            let out = (0..<outRank).map { _ in Int.random(in: 1...5, using: &rng) }
            let sa = derivedShape(out, &rng), sb = derivedShape(out, &rng), sc = derivedShape(out, &rng)
            let threads = trial % 3 + 1
            let what = "trial \(trial): \(sa) ⊕ \(sb) (\(sc))"
            let a = try randomFloats(sa, &rng), b = try randomFloats(sb, &rng)
            assertClose(try evalOp("Add", [a, b], threads: threads)[0],
                        try referenceBroadcastMap([a, b], Float.self) { $0[0] + $0[1] }, .exact, "Add \(what)")
            assertClose(try evalOp("Sub", [b, a], threads: threads)[0],
                        try referenceBroadcastMap([b, a], Float.self) { $0[0] - $0[1] }, .exact, "Sub \(what)")
            assertClose(try evalOp("Less", [a, b], threads: threads)[0],
                        try referenceBroadcastMap([a, b], Float.self) { $0[0] < $0[1] }, .exact, "Less \(what)")
            let ia = try randomInts(sa, &rng), ib = try randomInts(sb, &rng)
            assertClose(try evalOp("Mul", [ia, ib], threads: threads)[0],
                        try referenceBroadcastMap([ia, ib], Int64.self) { $0[0] &* $0[1] }, .exact, "Mul i64 \(what)")
            let c = try randomBools(sc, &rng)
            assertClose(try evalOp("Where", [c, a, b], threads: threads)[0],
                        try referenceWhere(c, a, b, Float.self), .exact, "Where \(what)")
        }
    }

    /// The engine itself: over random shape triples and random cuts of the output into chunks
    /// (as parallel splits make them, starting mid-row), every output element must read exactly
    /// the input elements the naive index rule names.
    func testBroadcastPlanSegmentsMatchIndexRule() throws {
        var rng = SeededGenerator(seed: 0x5E6)
        for trial in 0..<300 {
            let outRank = Int.random(in: 0...5, using: &rng)
            let out = (0..<outRank).map { _ in Int.random(in: 1...5, using: &rng) }
            let shapes = (0..<3).map { _ in derivedShape(out, &rng) }
            let plan = try BroadcastPlan(shapes, op: "Where", node: nil)
            let expectedShape = try XCTUnwrap(referenceBroadcastShape(shapes))
            XCTAssertEqual(plan.outputShape, expectedShape)
            let n = plan.outputCount
            var cuts = [0, n]
            for _ in 0..<Int.random(in: 0...3, using: &rng) { cuts.append(Int.random(in: 0...n, using: &rng)) }
            cuts.sort()
            var seen = [[Int]](repeating: [], count: n)
            for k in 0..<(cuts.count - 1) {
                plan.forEachSegment(cuts[k], cuts[k + 1]) { o, i0, i1, i2, count in
                    for j in 0..<count {
                        seen[o + j] = [i0 + j * plan.rowStride(0), i1 + j * plan.rowStride(1), i2 + j * plan.rowStride(2)]
                    }
                }
            }
            for flat in 0..<n {
                let index = unflatten(flat, expectedShape)
                let expected = shapes.map { referenceBroadcastSource(index, inputShape: $0) }
                if seen[flat] != expected {
                    XCTFail("trial \(trial) \(shapes) cuts \(cuts): output \(index) read \(seen[flat]), expected \(expected)")
                    break
                }
            }
        }
    }

    /// Outputs above the parallel threshold (2¹⁶ elements), split into 2 and 3 chunks that cut
    /// rows in the middle, for the broadcast forms with dedicated row paths.
    func testBroadcastLargeParallel() throws {
        var rng = SeededGenerator(seed: 7)
        let pairs: [([Int], [Int])] = [
            ([2, 3, 109, 101], [3, 1, 1]),      // per-channel: rows of H·W with a broadcast operand
            ([2, 3, 109, 101], [2, 3, 109, 101]), // same shape: one long contiguous row
            ([66_001], []),                      // tensor ⊕ scalar
            ([], [66_001]),                      // scalar ⊕ tensor
            ([300, 1], [1, 257]),                // outer product: short rows, both strides vary
            ([1, 1, 257, 300], [257, 1]),
        ]
        for (sa, sb) in pairs {
            let a = try randomFloats(sa, &rng), b = try randomFloats(sb, &rng)
            let product = try referenceBroadcastMap([a, b], Float.self) { $0[0] * $0[1] }
            let maximum = try referenceBroadcastMap([b, a], Float.self) { Swift.max($0[0], $0[1]) }
            for threads in [1, 2, 3] {
                assertClose(try evalOp("Mul", [a, b], threads: threads)[0], product, .exact, "Mul \(sa) \(sb) threads \(threads)")
                assertClose(try evalOp("Max", [b, a], threads: threads)[0], maximum, .exact, "Max \(sb) \(sa) threads \(threads)")
            }
        }
        let c = try randomBools([257, 1], &rng), x = try randomFloats([1, 300], &rng), y = try randomFloats([], &rng)
        let selected = try referenceWhere(c, x, y, Float.self)
        for threads in [1, 2, 3] {
            assertClose(try evalOp("Where", [c, x, y], threads: threads)[0], selected, .exact, "Where large threads \(threads)")
        }
    }

    /// The plan reduces the forms models use to few long rows with 0/1 row strides.
    func testBroadcastPlanCollapsesDimensions() throws {
        let same = try BroadcastPlan([[2, 3, 4, 5], [2, 3, 4, 5]], op: "Add", node: nil)
        XCTAssertEqual(same.dims, [120])
        XCTAssertEqual([same.rowStride(0), same.rowStride(1)], [1, 1])
        let scalar = try BroadcastPlan([[2, 3, 4, 5], []], op: "Add", node: nil)
        XCTAssertEqual(scalar.dims, [120])
        XCTAssertEqual([scalar.rowStride(0), scalar.rowStride(1)], [1, 0])
        for channel in [[3, 1, 1], [1, 3, 1, 1]] {
            let plan = try BroadcastPlan([[2, 3, 4, 5], channel], op: "Add", node: nil)
            XCTAssertEqual(plan.dims, [2, 3, 20], "\(channel)")
            XCTAssertEqual(plan.strides[1], [0, 1, 0], "\(channel)")
        }
        let ones = try BroadcastPlan([[1, 1], [1]], op: "Add", node: nil)
        XCTAssertEqual(ones.outputShape, [1, 1])
        XCTAssertEqual(ones.dims, [1])
        let empty = try BroadcastPlan([[0, 3], [1, 3]], op: "Add", node: nil)
        XCTAssertEqual(empty.outputShape, [0, 3])
        XCTAssertEqual(empty.outputCount, 0)
        let uni = try BroadcastPlan(unidirectional: [3, 1, 1], to: [2, 3, 4, 5], inputName: "slope", op: "PRelu", node: nil)
        XCTAssertEqual(uni.outputShape, [2, 3, 4, 5])
    }

    // MARK: Integer edges

    /// Integer arithmetic wraps instead of trapping, and `min / -1` does not trap.
    func testIntegerOverflowWraps() throws {
        let big = try Tensor(shape: [3], scalars: [Int64.max, Int64.min, Int64.min])
        let sum = try evalOp("Add", [big, try Tensor(shape: [3], scalars: [Int64(1), -1, 0])])[0]
        XCTAssertEqual(try sum.scalars(as: Int64.self), [Int64.min, Int64.max, Int64.min])
        let quotient = try evalOp("Div", [big, Tensor(scalar: Int64(-1))])[0]
        XCTAssertEqual(try quotient.scalars(as: Int64.self), [-Int64.max, Int64.min, Int64.min])
        let abs = try evalOp("Abs", [big])[0]
        XCTAssertEqual(try abs.scalars(as: Int64.self), [Int64.max, Int64.min, Int64.min])
        let neg32 = try evalOp("Neg", [try Tensor(shape: [2], scalars: [Int32.min, 5])])[0]
        XCTAssertEqual(try neg32.scalars(as: Int32.self), [Int32.min, -5])
    }

    /// An empty output with a zero divisor is not a division by zero (no element divides).
    func testIntegerDivisionEmptyOutputDoesNotThrow() throws {
        let a = try Tensor(zeros: [0, 3], dtype: .int64)
        let b = try Tensor(zeros: [1, 3], dtype: .int64)
        XCTAssertEqual(try evalOp("Div", [a, b])[0].shape, [0, 3])
    }

    // MARK: Invalid arguments

    func testBroadcastConflictNamesBothShapes() throws {
        let a = try Tensor(zeros: [2, 3]), b = try Tensor(zeros: [4, 3])
        assertKilnError("Add [2,3]+[4,3]", { _ = try evalOp("Add", [a, b]) }) { e in
            guard case .shapeMismatch(op: "Add", node: "test", _, _, _) = e else { return false }
            return e.description.contains("[2, 3]") && e.description.contains("[4, 3]")
        }
        assertKilnError("Where 3-way conflict", {
            _ = try evalOp("Where", [try Tensor(zeros: [2], dtype: .bool), try Tensor(zeros: [3]), try Tensor(zeros: [1])])
        }) { if case .shapeMismatch = $0 { return true } else { return false } }
        assertKilnError("Max variadic conflict", {
            _ = try evalOp("Max", [try Tensor(zeros: [2]), try Tensor(zeros: [1]), try Tensor(zeros: [3])])
        }) { if case .shapeMismatch = $0 { return true } else { return false } }
        assertKilnError("empty vs 2", { _ = try evalOp("Mul", [try Tensor(zeros: [0]), try Tensor(zeros: [2])]) })
    }

    func testWhereRequiresBoolCondition() throws {
        assertKilnError("Where float condition", {
            _ = try evalOp("Where", [try Tensor(zeros: [2]), try Tensor(zeros: [2]), try Tensor(zeros: [2])])
        }) { if case .unsupportedDType(op: "Where", _, tensor: "condition", dtype: .float32) = $0 { return true } else { return false } }
        assertKilnError("Where mixed X/Y dtypes", {
            _ = try evalOp("Where", [try Tensor(zeros: [2], dtype: .bool), try Tensor(zeros: [2]), try Tensor(zeros: [2], dtype: .int64)])
        })
    }

    func testMixedDTypesThrow() throws {
        let f = try Tensor(zeros: [2]), i = try Tensor(zeros: [2], dtype: .int64)
        for op in ["Add", "Sub", "Mul", "Div", "Max", "Min", "Equal", "Less", "Greater"] {
            assertKilnError("\(op) f32+i64", { _ = try evalOp(op, [f, i]) }) { e in
                e.description.contains(op) && e.description.contains("i64")
            }
        }
        assertKilnError("Pow int base", { _ = try evalOp("Pow", [i, f]) })
        assertKilnError("Add bool", { _ = try evalOp("Add", [try Tensor(zeros: [2], dtype: .bool), try Tensor(zeros: [2], dtype: .bool)]) })
        assertKilnError("Sum int64", { _ = try evalOp("Sum", [i, i]) })
        assertKilnError("Mean int64", { _ = try evalOp("Mean", [i]) })
        assertKilnError("Sqrt int64", { _ = try evalOp("Sqrt", [i]) })
        assertKilnError("Not float", { _ = try evalOp("Not", [f]) })
        assertKilnError("And float", { _ = try evalOp("And", [f, f]) })
        assertKilnError("Less bool", { _ = try evalOp("Less", [try Tensor(zeros: [2], dtype: .bool), try Tensor(zeros: [2], dtype: .bool)]) })
    }

    func testIntegerDivisionByZeroThrows() throws {
        let a = try Tensor(shape: [3], scalars: [Int64(4), 5, 6])
        assertKilnError("Div i64 by [1,0,2]", { _ = try evalOp("Div", [a, try Tensor(shape: [3], scalars: [Int64(1), 0, 2])]) }) {
            $0.description.contains("division by zero")
        }
        assertKilnError("Div i64 by scalar 0", { _ = try evalOp("Div", [a, Tensor(scalar: Int64(0))]) })
        assertKilnError("Div i32 by 0", {
            _ = try evalOp("Div", [try Tensor(shape: [1], scalars: [Int32(1)]), try Tensor(shape: [1], scalars: [Int32(0)])])
        })
    }

    func testCastTargets() throws {
        assertKilnError("Cast to double (11)", { _ = try evalOp("Cast", [try Tensor(zeros: [2])], ["to": .int(11)]) }) {
            if case .unsupportedOp(name: "Cast", _, _) = $0 { return true } else { return false }
        }
        assertKilnError("Cast to string (8)", { _ = try evalOp("Cast", [try Tensor(zeros: [2])], ["to": .int(8)]) })
        assertKilnError("Cast without to", { _ = try evalOp("Cast", [try Tensor(zeros: [2])]) })
        assertKilnError("Cast to as string", { _ = try evalOp("Cast", [try Tensor(zeros: [2])], ["to": .string("float")]) })
    }

    func testUnknownAttributesAndInputCounts() throws {
        let x = try Tensor(zeros: [2])
        for op in ["Add", "Mul", "Sqrt", "Equal", "Where", "Max", "Not"] {
            assertKilnError("\(op) with axis", { _ = try OpRegistry.standard.make(op, attributes: Attributes(op: op, ["axis": .int(1)])) }) {
                if case .unsupportedOp = $0 { return $0.description.contains("axis") } else { return false }
            }
        }
        assertKilnError("Add with 1 input", { _ = try evalOp("Add", [x]) })
        assertKilnError("Add with 3 inputs", { _ = try evalOp("Add", [x, x, x]) })
        assertKilnError("Add with missing B", { _ = try evalOp("Add", [x, nil]) })
        assertKilnError("Sqrt with 2 inputs", { _ = try evalOp("Sqrt", [x, x]) })
        assertKilnError("Max with no inputs", { _ = try evalOp("Max", []) })
        assertKilnError("Where with 2 inputs", { _ = try evalOp("Where", [x, x]) })
    }
}
