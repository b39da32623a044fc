import XCTest
import Kiln
import KilnTestSupport

private func randomTensor(_ shape: [Int], _ rng: inout SeededGenerator) -> Tensor {
    let n = shape.reduce(1, *)
    // Distinct values so a misplaced element cannot go unnoticed.
    return try! Tensor(shape: shape, scalars: (0..<n).map { Float($0) + Float.random(in: 0..<0.5, using: &rng) })
}



/// Data movement against PyTorch / ONNX Runtime (`Fixtures/kernels/gen_datamovement.py`), random
/// problems against the naive references, and invalid arguments.
final class DataMovementTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("datamovement")
    }

    // MARK: Random problems

    /// Transpose over random ranks (1–5), sizes (1, primes, 8) and permutations against the naive
    /// index-mapping reference; includes shapes big enough for the parallel and blocked paths.
    func testTransposeRandomMatchesNaive() throws {
        var rng = SeededGenerator(seed: 11)
        let sizes = [1, 2, 3, 5, 7, 8, 9, 13]
        for trial in 0..<300 {
            let rank = Int.random(in: 1...5, using: &rng)
            var shape = (0..<rank).map { _ in sizes.randomElement(using: &rng)! }
            if trial % 25 == 0 {
                // Big enough for the parallel and multi-block paths.
                shape = Array([Int.random(in: 60...90, using: &rng), Int.random(in: 60...90, using: &rng), 3, 7, 2].prefix(rank))
            }
            let perm = Array(0..<rank).shuffled(using: &rng)
            let x = randomTensor(shape, &rng)
            let expected = try referenceTranspose(x, perm: perm)
            for threads in [1, 2] {
                let y = try runNode("Transpose", ["perm": .ints(perm)], [x], threads: threads)[0]
                assertClose(y, expected, .exact, "shape \(shape) perm \(perm) threads \(threads)")
            }
        }
    }

    /// NCHW→NHWC and back on a realistic activation size (parallel blocked path), both ways.
    func testTransposeNCHWRoundTripLarge() throws {
        var rng = SeededGenerator(seed: 3)
        let x = randomTensor([2, 24, 33, 31], &rng)
        let nhwc = try runNode("Transpose", ["perm": .ints([0, 2, 3, 1])], [x], threads: 2)[0]
        assertClose(nhwc, try referenceTranspose(x, perm: [0, 2, 3, 1]), .exact)
        let back = try runNode("Transpose", ["perm": .ints([0, 3, 1, 2])], [nhwc], threads: 2)[0]
        assertClose(back, x, .exact)
    }

    /// Every dtype moves bit-exactly (element sizes 1, 2, 4, 8).
    func testTransposeAllDTypes() throws {
        var rng = SeededGenerator(seed: 5)
        let x = try randomTensor([3, 5, 4], &rng).converted(to: .int64)
        let expected = try referenceTranspose(x.converted(to: .float32), perm: [2, 0, 1])
        for dtype in DType.allCases {
            let xd = try dtype == .bool ? x.converted(to: .bool) : x.converted(to: dtype)
            let y = try runNode("Transpose", ["perm": .ints([2, 0, 1])], [xd])[0]
            XCTAssertEqual(y.dtype, dtype)
            let e = try dtype == .bool ? expected.converted(to: .bool) : expected.converted(to: dtype)
            XCTAssertEqual(y, e, "dtype \(dtype)")
        }
    }

    /// Slice over random starts/ends/steps (negative, huge, beyond the dimension) and axes against
    /// the enumerating reference.
    func testSliceRandomMatchesNaive() throws {
        var rng = SeededGenerator(seed: 17)
        let extremes = [Int(Int64.max), Int(Int64.min), 1000, -1000]
        for _ in 0..<400 {
            let rank = Int.random(in: 1...4, using: &rng)
            let shape = (0..<rank).map { _ in Int.random(in: 0...7, using: &rng) }
            let x = randomTensor(shape, &rng)
            let axes = Array(Array(0..<rank).shuffled(using: &rng).prefix(Int.random(in: 1...rank, using: &rng)))
            func bound() -> Int {
                Int.random(in: 0..<6, using: &rng) == 0 ? extremes.randomElement(using: &rng)! : Int.random(in: -9...9, using: &rng)
            }
            let starts = axes.map { _ in bound() }, ends = axes.map { _ in bound() }
            let steps = axes.map { _ in [-4, -3, -2, -1, 1, 2, 3, 5].randomElement(using: &rng)! }
            // Negative axes half of the time.
            let axesGiven = axes.map { a in Bool.random(using: &rng) ? a - rank : a }
            let expected = try referenceSlice(x, starts: starts, ends: ends, axes: axes, steps: steps)
            let y = try runNode("Slice", [:], [x, i64(starts), i64(ends), i64(axesGiven), i64(steps)], threads: 2)[0]
            assertClose(y, expected, .exact, "shape \(shape) starts \(starts) ends \(ends) axes \(axesGiven) steps \(steps)")
        }
    }

    // MARK: Behaviour not covered by fixtures

    /// Concat large enough to run in parallel (above 256 KiB), 1 and 2 threads: along the channels
    /// of a batch of 2 (three inputs) and along the height; equal, element for element, to the
    /// naive index arithmetic (`.exact`).
    func testConcatParallelMatchesNaive() throws {
        var rng = SeededGenerator(seed: 23)
        for (shapes, axis) in [([[2, 3, 37, 129], [2, 5, 37, 129], [2, 1, 37, 129]], 1), ([[2, 3, 40, 700], [2, 3, 25, 700]], 2)] {
            let xs = shapes.map { randomTensor($0, &rng) }
            var outShape = shapes[0]
            outShape[axis] = shapes.map { $0[axis] }.reduce(0, +)
            let values = try xs.map { try $0.scalars(as: Float.self) }
            let outer = outShape[..<axis].reduce(1, *), inner = outShape[(axis + 1)...].reduce(1, *)
            var expected: [Float] = []
            for o in 0..<outer {
                for (x, v) in zip(shapes, values) {
                    let block = x[axis] * inner
                    expected += v[(o * block)..<((o + 1) * block)]
                }
            }
            for threads in [1, 2] {
                let y = try runNode("Concat", ["axis": .int(axis)], xs, threads: threads)[0]
                XCTAssertEqual(y.shape, outShape)
                XCTAssertEqual(try y.scalars(as: Float.self), expected, "axis \(axis), \(threads) threads")
            }
        }
    }

    func testReshapeIsZeroCopyAndKeepsDType() throws {
        let x = try Tensor(shape: [2, 3], scalars: (0..<6).map { Int64($0) })
        let y = try runNode("Reshape", [:], [x, i64([3, -1])])[0]
        XCTAssertEqual(y.shape, [3, 2])
        XCTAssertEqual(try y.scalars(as: Int64.self), [0, 1, 2, 3, 4, 5])
    }

    func testConstantOfShapeValueAttribute() throws {
        let y = try runNode("ConstantOfShape", ["value": .tensor(try Tensor(shape: [1], scalars: [Int64(-7)]))], [i64([2, 0 + 2])])[0]
        XCTAssertEqual(y.dtype, .int64)
        XCTAssertEqual(try y.scalars(as: Int64.self), [-7, -7, -7, -7])
        let s = try runNode("ConstantOfShape", ["value": .tensor(Tensor(scalar: UInt8(3)))], [try Tensor(shape: [0], scalars: [Int64]())])[0]
        XCTAssertEqual(s.shape, [])
        XCTAssertEqual(try s.scalars(as: UInt8.self), [3])
    }

    /// The loader convention: an opset < 18 Split without `split` gets `num_outputs` = its output count.
    func testSplitLoaderConventionEvenSplit() throws {
        let x = try Tensor(shape: [6], scalars: (0..<6).map { Float($0) })
        let ys = try runNode("Split", ["num_outputs": .int(3)], [x])
        XCTAssertEqual(ys.count, 3)
        XCTAssertEqual(try ys[2].scalars(as: Float.self), [4, 5])
        assertKilnError("Split without split or num_outputs") { try runNode("Split", [:], [x]) }
    }

    func testRangeInt32AndShapeOneScalars() throws {
        let y = try runNode("Range", [:], [try Tensor(shape: [1], scalars: [Int32(2)]), Tensor(scalar: Int32(9)), Tensor(scalar: Int32(3))])[0]
        XCTAssertEqual(try y.scalars(as: Int32.self), [2, 5, 8])
    }

    func testGatherIndexOutOfRangeIsAnErrorBothSides() {
        let x = try! Tensor(shape: [3, 2], scalars: [Float](repeating: 1, count: 6))
        for bad in [3, -4, Int(Int64.max), Int(Int64.min)] {
            assertKilnError("Gather index \(bad)") { try runNode("Gather", ["axis": .int(0)], [x, i64([0, bad])]) }
        }
    }

    // MARK: Invalid arguments

    func testInvalidArguments() throws {
        let x = try Tensor(shape: [2, 3, 4], scalars: (0..<24).map { Float($0) })
        let y = try Tensor(shape: [2, 5], scalars: [Float](repeating: 0, count: 10))

        assertKilnError("Reshape count mismatch") { try runNode("Reshape", [:], [x, i64([5, 5])]) }
        assertKilnError("Reshape two -1") { try runNode("Reshape", [:], [x, i64([-1, -1])]) }
        assertKilnError("Reshape -2") { try runNode("Reshape", [:], [x, i64([-2, 12])]) }
        assertKilnError("Reshape 0 beyond rank") { try runNode("Reshape", [:], [x, i64([2, 3, 4, 0])]) }
        assertKilnError("Reshape allowzero with -1") { try runNode("Reshape", ["allowzero": .int(1)], [x, i64([0, -1])]) }
        if case .unsupportedDType? = assertKilnError("Reshape float shape", { try runNode("Reshape", [:], [x, Tensor(scalar: Float(24))]) }) {} else {
            XCTFail("Reshape with a float shape must report the dtype")
        }
        assertKilnError("Reshape int32 shape") { try runNode("Reshape", [:], [x, try Tensor(shape: [1], scalars: [Int32(24)])]) }

        assertKilnError("Transpose repeated axis") { try runNode("Transpose", ["perm": .ints([0, 0, 1])], [x]) }
        assertKilnError("Transpose wrong length") { try runNode("Transpose", ["perm": .ints([1, 0])], [x]) }
        assertKilnError("Transpose out of range") { try runNode("Transpose", ["perm": .ints([0, 1, 3])], [x]) }

        let rankErr = assertKilnError("Concat rank mismatch") { try runNode("Concat", ["axis": .int(0)], [x, x, y]) }
        XCTAssertTrue("\(rankErr.map { "\($0)" } ?? "")".contains("inputs[2]"), "error must name the input: \(String(describing: rankErr))")
        let z = try Tensor(shape: [2, 4, 4], scalars: [Float](repeating: 0, count: 32))
        let shapeErr = assertKilnError("Concat shape mismatch") { try runNode("Concat", ["axis": .int(2)], [x, z]) }
        XCTAssertTrue("\(shapeErr.map { "\($0)" } ?? "")".contains("inputs[1]"), "error must name the input: \(String(describing: shapeErr))")
        assertKilnError("Concat dtype mismatch") { try runNode("Concat", ["axis": .int(0)], [x, x.converted(to: .int64)]) }
        assertKilnError("Concat axis out of range") { try runNode("Concat", ["axis": .int(3)], [x]) }
        assertKilnError("Concat missing axis") { try runNode("Concat", [:], [x]) }

        assertKilnError("Gather out of range") { try runNode("Gather", ["axis": .int(1)], [x, i64([3])]) }
        assertKilnError("Gather float indices") { try runNode("Gather", [:], [x, Tensor(scalar: Float(0))]) }

        assertKilnError("Slice step 0") { try runNode("Slice", [:], [x, i64([0]), i64([2]), i64([0]), i64([0])]) }
        assertKilnError("Slice length mismatch") { try runNode("Slice", [:], [x, i64([0, 0]), i64([2])]) }
        assertKilnError("Slice repeated axis") { try runNode("Slice", [:], [x, i64([0, 0]), i64([1, 1]), i64([1, -2])]) }
        assertKilnError("Slice float starts") { try runNode("Slice", [:], [x, Tensor(scalar: Float(0)), i64([1])]) }

        assertKilnError("Split sizes not summing") { try runNode("Split", ["axis": .int(2)], [x, i64([1, 2])]) }
        assertKilnError("Split negative size") { try runNode("Split", ["axis": .int(2)], [x, i64([5, -1])]) }
        assertKilnError("Split num_outputs too many") { try runNode("Split", ["axis": .int(1), "num_outputs": .int(4)], [try Tensor(zeros: [1, 5])]) }
        assertKilnError("Split num_outputs 0") { try runNode("Split", ["num_outputs": .int(0)], [x]) }

        assertKilnError("Expand incompatible") { try runNode("Expand", [:], [x, i64([5, 4])]) }
        assertKilnError("Expand negative") { try runNode("Expand", [:], [x, i64([-1, 4])]) }
        assertKilnError("Tile wrong length") { try runNode("Tile", [:], [x, i64([2, 2])]) }

        assertKilnError("Pad negative beyond dim") { try runNode("Pad", [:], [x, i64([0, 0, -3, 0, 0, 0, -2, 0])]) }
        assertKilnError("Pad wrong pads length") { try runNode("Pad", [:], [x, i64([1, 1, 1, 1])]) }
        assertKilnError("Pad reflect pad == dim") { try runNode("Pad", ["mode": .string("reflect")], [x, i64([0, 0, 4, 0, 0, 0])]) }
        assertKilnError("Pad edge on empty") { try runNode("Pad", ["mode": .string("edge")], [try Tensor(zeros: [0]), i64([1, 1])]) }
        assertKilnError("Pad unknown mode") { try runNode("Pad", ["mode": .string("symmetric")], [x, i64([0, 0, 0, 0, 0, 0])]) }
        assertKilnError("Pad constant dtype") { try runNode("Pad", [:], [x, i64([0, 0, 0, 0, 0, 0]), Tensor(scalar: Int64(1))]) }
        assertKilnError("Pad int32 pads") { try runNode("Pad", [:], [x, try Tensor(shape: [6], scalars: [Int32](repeating: 0, count: 6))]) }

        assertKilnError("Squeeze non-1 axis") { try runNode("Squeeze", [:], [x, i64([1])]) }
        assertKilnError("Squeeze axes twice") { try runNode("Squeeze", ["axes": .ints([0])], [x, i64([0])]) }
        assertKilnError("Unsqueeze missing axes") { try runNode("Unsqueeze", [:], [x]) }
        assertKilnError("Unsqueeze repeated") { try runNode("Unsqueeze", [:], [x, i64([1, 1])]) }
        assertKilnError("Flatten axis") { try runNode("Flatten", ["axis": .int(4)], [x]) }
        assertKilnError("Range delta 0") { try runNode("Range", [:], [Tensor(scalar: Float(0)), Tensor(scalar: Float(1)), Tensor(scalar: Float(0))]) }
        assertKilnError("Range mixed dtypes") { try runNode("Range", [:], [Tensor(scalar: Float(0)), Tensor(scalar: Int64(1)), Tensor(scalar: Float(1))]) }
        assertKilnError("ConstantOfShape negative") { try runNode("ConstantOfShape", [:], [i64([2, -1])]) }

        // Resize.
        let img = try Tensor(zeros: [1, 1, 4, 4])
        let scales = try Tensor(shape: [4], scalars: [Float(1), 1, 2, 2])
        assertKilnError("Resize scales and sizes") { try runNode("Resize", [:], [img, nil, scales, i64([1, 1, 8, 8])]) }
        assertKilnError("Resize neither") { try runNode("Resize", [:], [img, nil, nil, nil]) }
        assertKilnError("Resize scales length") { try runNode("Resize", [:], [img, nil, try Tensor(shape: [2], scalars: [Float(2), 2])]) }
        assertKilnError("Resize zero scale") { try runNode("Resize", [:], [img, nil, try Tensor(shape: [4], scalars: [Float(1), 1, 0, 2])]) }
        assertKilnError("Resize int input") { try runNode("Resize", [:], [img.converted(to: .int64), nil, scales]) }
        assertKilnError("Resize float sizes") { try runNode("Resize", [:], [img, nil, nil, scales]) }
        assertKilnError("Resize antialias 2") { try runNode("Resize", ["antialias": .int(2), "mode": .string("linear")], [img, nil, scales]) }
        if case .unsupportedOp? = assertKilnError("Resize antialias with tf_crop_and_resize", {
            try runNode("Resize", ["antialias": .int(1), "mode": .string("linear"),
                                   "coordinate_transformation_mode": .string("tf_crop_and_resize")], [img, nil, scales])
        }) {} else { XCTFail("antialias=1 with tf_crop_and_resize must be unsupportedOp") }
        if case .unsupportedOp? = assertKilnError("Resize keep_aspect_ratio_policy", {
            try runNode("Resize", ["keep_aspect_ratio_policy": .string("not_larger")], [img, nil, nil, i64([1, 1, 8, 8])])
        }) {} else { XCTFail("keep_aspect_ratio_policy must be unsupportedOp") }
        assertKilnError("Resize bad mode") { try runNode("Resize", ["mode": .string("area")], [img, nil, scales]) }
        assertKilnError("Upsample scale < 1") { try runNode("Upsample", ["scales": .floats([1, 1, 0.5, 1])], [img]) }

        // Unknown attributes, one per op.
        for (op, inputs) in [("Reshape", [x, i64([24])]), ("Transpose", [x]), ("Concat", [x]), ("Slice", [x, i64([0]), i64([1])]),
                             ("Gather", [x, i64([0])]), ("Pad", [x, i64([0, 0, 0, 0, 0, 0])]), ("Expand", [x, i64([1])]),
                             ("Tile", [x, i64([1, 1, 1])]), ("Shape", [x]), ("Squeeze", [x]), ("Flatten", [x]),
                             ("Resize", [img, nil, scales]), ("Split", [x, i64([1, 1])])] as [(String, [Tensor?])] {
            var attrs: [String: AttributeValue] = ["bogus": .int(1)]
            if op == "Concat" { attrs["axis"] = .int(0) }
            if case .unsupportedOp? = assertKilnError("\(op) unknown attribute", { try runNode(op, attrs, inputs) }) {} else {
                XCTFail("\(op): an unknown attribute must be unsupportedOp")
            }
        }
    }
}
