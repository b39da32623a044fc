import XCTest
import Kiln
import KilnTestSupport
@testable import Kiln

/// Runs `op` from the standard registry.
private func evalOp(_ op: String, _ inputs: [Tensor?], _ attrs: [String: AttributeValue] = [:], threads: Int = 1) throws -> [Tensor] {
    try OpRegistry.standard.make(op, attributes: Attributes(op: op, node: "test", attrs))
        .run(inputs, context: ExecutionContext(threads: threads, node: "test"))
}

private func randomFloats(_ shape: [Int], _ rng: inout SeededGenerator, scale: Float = 5) throws -> Tensor {
    let n = shape.reduce(1, *)
    return try Tensor(shape: shape, scalars: (0..<n).map { _ in Float.random(in: -scale...scale, using: &rng) })
}

/// Activations against PyTorch (`Fixtures/kernels/gen_activation.py`), the SIMD/threaded kernels
/// against a `Double` reference, and invalid arguments.
final class ActivationTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("activation")
    }

    /// Every pointwise activation over sizes 1...33 (SIMD body and every tail length) and one size
    /// above the parallel thresholds (split into 2 and 3 chunks that cut SIMD blocks), against
    /// `referenceActivation` evaluated in `Double`.
    func testPointwiseKernelsMatchReference() throws {
        let cases: [(String, [String: AttributeValue], [String: Double], Tolerance)] = [
            ("Relu", [:], [:], .exact),
            ("LeakyRelu", ["alpha": .float(0.2)], ["alpha": Double(Float(0.2))], .elementwise),
            ("HardSigmoid", [:], ["alpha": Double(Float(0.2)), "beta": 0.5], .elementwise),
            ("HardSwish", [:], [:], .elementwise),
            ("Sigmoid", [:], [:], .transcendental),
            ("Swish", ["alpha": .float(1.5)], ["alpha": 1.5], .transcendental),
            ("Tanh", [:], [:], .transcendental),
            ("Erf", [:], [:], .transcendental),
            ("Gelu", [:], [:], .transcendental),
            ("Gelu", ["approximate": .string("tanh")], ["approximate": 1], .transcendental),
            ("Elu", ["alpha": .float(0.5)], ["alpha": 0.5], .transcendental),
            ("Selu", [:], ["alpha": Double(Float(1.67326319217681884765625)), "gamma": Double(Float(1.05070102214813232421875))], .transcendental),
            ("Softplus", [:], [:], .transcendental),
            ("Mish", [:], [:], .transcendental),
        ]
        var rng = SeededGenerator(seed: 11)
        let sizes = Array(1...33) + [(1 << 16) + 13]
        for (op, attrs, refAttrs, tol) in cases {
            for n in sizes {
                let x = try randomFloats([n], &rng, scale: 8)
                let expected = try Tensor(shape: [n], scalars: try x.scalars(as: Float.self).map {
                    Float(referenceActivation(op, Double($0), refAttrs)!)
                })
                for threads in n > 33 ? [2, 3] : [1] {
                    assertClose(try evalOp(op, [x], attrs, threads: threads)[0], expected, tol, "\(op) \(attrs) n=\(n) threads \(threads)")
                }
            }
        }
        // Clip's bounds come from inputs.
        for n in sizes {
            let x = try randomFloats([n], &rng, scale: 8)
            let expected = try Tensor(shape: [n], scalars: try x.scalars(as: Float.self).map { Swift.min(Swift.max($0, -1), 6) })
            assertClose(try evalOp("Clip", [x, Tensor(scalar: Float(-1)), Tensor(scalar: Float(6))], threads: 2)[0], expected, .exact, "Clip n=\(n)")
        }
    }

    /// The vector `exp8_f32` is within 2 ulp of `e^x` (computed in `Double`) over its whole fast
    /// range and agrees with libm `expf` outside it (overflow, underflow to subnormals, ±inf, NaN),
    /// also when fast and slow lanes share a vector.
    func testVectorExpAccuracy() {
        var worst: Double = 0
        var worstX: Float = 0
        let count = 200_000
        var lanes = SIMD8<Float>()
        for i in 0..<count {
            let x = -87.5 + 176.0 * Float(i) / Float(count)
            lanes[i % 8] = x
            guard i % 8 == 7 else { continue }
            let y = exp8_f32(lanes)
            for k in 0..<8 {
                let exact = Foundation.exp(Double(lanes[k]))
                let ulp = Double(Float(exact).ulp)
                let err = Swift.abs(Double(y[k]) - exact) / ulp
                if err > worst { worst = err; worstX = lanes[k] }
            }
        }
        XCTAssertLessThanOrEqual(worst, 2, "worst error \(worst) ulp at x = \(worstX)")
        let specials: [Float] = [-.infinity, -104, -88, 88.5, 88.8, .infinity, .nan, 0]
        let y = exp8_f32(SIMD8(specials))
        for k in 0..<8 {
            let expected = expf(specials[k])
            XCTAssertTrue(y[k] == expected || (y[k].isNaN && expected.isNaN), "exp(\(specials[k])) = \(y[k]), libm \(expected)")
        }
        XCTAssertEqual(exp8_f32(SIMD8<Float>(repeating: 0)), SIMD8<Float>(repeating: 1))
    }

    /// Softmax and LogSoftmax on random shapes (ranks 1-4, every axis, values up to ±80) and on
    /// large inputs that take each parallel path (rows; outer slices; inner columns when outer = 1).
    func testSoftmaxMatchesReference() throws {
        var rng = SeededGenerator(seed: 12)
        var problems: [([Int], Int, [Int])] = []
        for _ in 0..<60 {
            let rank = Int.random(in: 1...4, using: &rng)
            let shape = (0..<rank).map { _ in Int.random(in: 1...7, using: &rng) }
            problems.append((shape, Int.random(in: -rank..<rank, using: &rng), [1, 2]))
        }
        problems += [([3, 6000], -1, [2, 3]), ([4, 50, 100], 1, [2, 3]), ([1, 300, 70], 1, [2, 3]), ([300, 70], 0, [2])]
        for (shape, axis, threadCounts) in problems {
            let x = try randomFloats(shape, &rng, scale: 80)
            let a = axis < 0 ? axis + shape.count : axis
            for (op, log) in [("Softmax", false), ("LogSoftmax", true)] {
                let expected = try referenceSoftmax(x, axis: a, log: log)
                for threads in threadCounts {
                    assertClose(try evalOp(op, [x], ["axis": .int(axis)], threads: threads)[0], expected, .transcendental,
                                "\(op) \(shape) axis \(axis) threads \(threads)")
                }
            }
        }
    }

    /// Clip with bounds as attributes (opset 6) and as inputs (opset ≥ 11) agree; min > max gives max.
    func testClipBoundsFromAttributesAndInputs() throws {
        let x = try Tensor(shape: [5], scalars: [Float(-3), -0.5, 0.5, 3, 9])
        let fromInputs = try evalOp("Clip", [x, Tensor(scalar: Float(0)), Tensor(scalar: Float(6))])[0]
        let fromAttrs = try evalOp("Clip", [x], ["min": .float(0), "max": .float(6)])[0]
        XCTAssertEqual(try fromInputs.scalars(as: Float.self), [0, 0, 0.5, 3, 6])
        XCTAssertEqual(fromInputs, fromAttrs)
        let inverted = try evalOp("Clip", [x, Tensor(scalar: Float(2)), Tensor(scalar: Float(1))])[0]
        XCTAssertEqual(try inverted.scalars(as: Float.self), [1, 1, 1, 1, 1])
        let nan = try evalOp("Clip", [try Tensor(shape: [1], scalars: [Float.nan]), Tensor(scalar: Float(0))])[0]
        XCTAssertTrue(try nan.scalars(as: Float.self)[0].isNaN)
        // A bound given as a one-element [1] tensor is accepted like a scalar.
        let oneElement = try evalOp("Clip", [x, try Tensor(shape: [1], scalars: [Float(0)])])[0]
        XCTAssertEqual(try oneElement.scalars(as: Float.self), [0, 0, 0.5, 3, 9])
    }

    /// Identity and inference Dropout return the input for any dtype.
    func testIdentityAndDropoutPassThrough() throws {
        let x = try Tensor(shape: [3], scalars: [Int64(1), -2, 3])
        XCTAssertEqual(try evalOp("Identity", [x])[0], x)
        XCTAssertEqual(try evalOp("Dropout", [x])[0], x)
        XCTAssertEqual(try evalOp("Dropout", [x, Tensor(scalar: Float(0.5)), Tensor(scalar: false)])[0], x)
    }

    // MARK: Invalid arguments

    func testSoftmaxAxisOutOfRange() throws {
        let x = try Tensor(zeros: [2, 3, 4])
        for axis in [3, -4, 100] {
            for op in ["Softmax", "LogSoftmax"] {
                assertKilnError("\(op) axis \(axis)", { _ = try evalOp(op, [x], ["axis": .int(axis)]) }) {
                    if case .invalidArgument(op: op, node: "test", _) = $0 { return $0.description.contains("axis") } else { return false }
                }
            }
        }
        assertKilnError("Softmax of a scalar", { _ = try evalOp("Softmax", [Tensor(scalar: Float(1))]) })
    }

    func testWrongDTypesThrow() throws {
        let i = try Tensor(zeros: [4], dtype: .int64)
        for op in ["Relu", "LeakyRelu", "Sigmoid", "HardSwish", "Tanh", "Gelu", "Softmax", "Clip", "Mish"] {
            assertKilnError("\(op) int64", { _ = try evalOp(op, [i]) }) {
                if case .unsupportedDType(op: op, _, _, dtype: .int64) = $0 { return true } else { return false }
            }
        }
        let x = try Tensor(zeros: [4])
        assertKilnError("PRelu int slope", { _ = try evalOp("PRelu", [x, try Tensor(zeros: [1], dtype: .int64)]) })
        assertKilnError("Clip int64 min", { _ = try evalOp("Clip", [x, Tensor(scalar: Int64(0))]) })
        assertKilnError("Dropout float training_mode", { _ = try evalOp("Dropout", [x, nil, Tensor(scalar: Float(1))]) })
    }

    func testPReluSlopeMustBroadcastToX() throws {
        let x = try Tensor(zeros: [2, 3, 4, 5])
        // [C] aligns with the last dimension (5), so a 3-channel slope does not fit.
        assertKilnError("PRelu slope [3]", { _ = try evalOp("PRelu", [x, try Tensor(zeros: [3])]) }) {
            if case .shapeMismatch = $0 { return $0.description.contains("[3]") && $0.description.contains("[2, 3, 4, 5]") } else { return false }
        }
        // Unidirectional: the slope may not grow the output.
        assertKilnError("PRelu slope larger than X", { _ = try evalOp("PRelu", [try Tensor(zeros: [3, 1]), try Tensor(zeros: [2, 3, 4])]) })
    }

    func testClipBoundErrors() throws {
        let x = try Tensor(zeros: [4])
        assertKilnError("Clip min of 2 elements", { _ = try evalOp("Clip", [x, try Tensor(zeros: [2])]) }) {
            if case .shapeMismatch = $0 { return true } else { return false }
        }
        assertKilnError("Clip min as input and attribute", { _ = try evalOp("Clip", [x, Tensor(scalar: Float(0))], ["min": .float(0)]) })
        assertKilnError("Clip with 4 inputs", { _ = try evalOp("Clip", [x, nil, nil, x]) })
        assertKilnError("Clip min attribute as string", { _ = try evalOp("Clip", [x], ["min": .string("0")]) })
    }

    func testAttributeErrors() throws {
        let x = try Tensor(zeros: [4])
        assertKilnError("Gelu approximate 'fast'", { _ = try evalOp("Gelu", [x], ["approximate": .string("fast")]) })
        assertKilnError("Dropout training_mode true", { _ = try evalOp("Dropout", [x, nil, Tensor(scalar: true)]) }) {
            if case .unsupportedOp = $0 { return true } else { return false }
        }
        assertKilnError("Dropout ratio 1", { _ = try evalOp("Dropout", [x], ["ratio": .float(1)]) })
        for (op, attr) in [("Relu", "alpha"), ("LeakyRelu", "beta"), ("Sigmoid", "alpha"), ("Softmax", "keepdims"), ("Elu", "gamma"),
                           ("Selu", "beta"), ("HardSigmoid", "gamma"), ("Clip", "axis"), ("Identity", "x"), ("PRelu", "alpha")] {
            assertKilnError("\(op) with \(attr)", { _ = try OpRegistry.standard.make(op, attributes: Attributes(op: op, [attr: .float(1)])) }) {
                if case .unsupportedOp = $0 { return $0.description.contains(attr) } else { return false }
            }
        }
        assertKilnError("LeakyRelu alpha as string", { _ = try evalOp("LeakyRelu", [x], ["alpha": .string("a")]) })
        assertKilnError("Relu with 2 inputs", { _ = try evalOp("Sigmoid", [x, x]) })
        assertKilnError("Relu with no inputs", { _ = try evalOp("Relu", []) })
    }
}
