import Foundation
import XCTest
@testable import Kiln
import KilnTestSupport

/// Static shape inference (`Plan/Shapes/`): every shape here is compared with exact equality
/// (`[Int]` / `[Dim]` `==`); shapes have no tolerance.
final class StaticShapeTests: XCTestCase {
    // MARK: - Whole models: static shapes equal probed shapes

    /// Every model fixture, the dynamic-size one included.
    static func modelURLs() throws -> [URL] {
        try ModelFixtureTests.fixtureURLs() + [fixturesDirectory.appendingPathComponent("models/dynamic/dynamic_hw.kiln")]
    }

    /// Fixtures that use an op with a data-dependent shape (NonMaxSuppression): they keep the
    /// doubled-batch probe.
    /// `ops_shape` takes a `Range` whose bounds come from a `ReduceMin` of the input data.
    static let probedFixtures: Set<String> = ["ops_detection.kiln", "ops_shape.kiln"]

    /// The op types whose nodes static inference may not do in a fixture, because their shape
    /// depends on data: NonMaxSuppression's kept boxes, `Range` on bounds computed from the input.
    static let allowedUnknownOps: Set<String> = ["NonMaxSuppression", "Range"]

    /// Every slot's concrete shape from running `model`'s plan on its self-test input.
    func probedShapes(_ model: Model) throws -> (inputs: [[Int]], shapes: [Int: [Int]]) {
        let plan = model.plan
        let spec = try XCTUnwrap(model.artifact.selfTest)
        let inputs = try plan.inputs.map { input -> Tensor in
            let t = try XCTUnwrap(spec.inputs[input.info.name].flatMap { model.artifact.tensors[$0] })
            return t.dtype == .float16 ? try t.converted(to: .float32) : t
        }
        var shapes: [Int: [Int]] = [:]
        for (slot, t) in plan.constants { shapes[slot] = t.shape }
        for (i, input) in plan.inputs.enumerated() { shapes[input.slot] = inputs[i].shape }
        _ = try Executor(plan: plan, pool: nil, memory: nil).run(inputs) { step, outs in
            for (k, slot) in plan.steps[step].outputs.enumerated() where slot >= 0 && k < outs.count { shapes[slot] = outs[k].shape }
        }
        return (inputs.map(\.shape), shapes)
    }

    /// Every node of every fixture, including the fixtures that fall back to probing: static
    /// inference, with the observed shapes substituted only at nodes it cannot do (whose op types
    /// must be in ``allowedUnknownOps``), gives every value the shape the run gave it. Exact equality.
    func testEveryShapeFunctionOnEveryFixtureMatchesTheRun() throws {
        var substitutedTypes = Set<String>()
        for url in try Self.modelURLs() {
            for optimize in [true, false] {
                let what = "\(url.lastPathComponent) optimize=\(optimize)"
                let model = try Model(contentsOf: url, options: .init(threads: 1, optimize: optimize, inferShapes: false))
                let (inputShapes, probed) = try probedShapes(model)
                let (inferred, substituted) = try StaticShapeInference.shapes(plan: model.plan, inputShapes: inputShapes, substitutes: probed)
                XCTAssertEqual(ShapeInference.mismatches(plan: model.plan, static: inferred, probed: probed), [], what)
                for f in substituted {
                    substitutedTypes.insert(f.opType)
                    XCTAssertTrue(Self.allowedUnknownOps.contains(f.opType), "\(what): \(f)")
                }
            }
        }
        // The fallback is exercised, by the ops expected (a fixture losing them would go unnoticed).
        XCTAssertEqual(substitutedTypes, Self.allowedUnknownOps)
    }

    /// For every fixture, optimized or not: the shapes with static inference (checked by one probe)
    /// equal the shapes from probing alone (forced with `staticShapes = false`), value by value,
    /// symbols included; no static shape disagrees with the probe; and exactly the fixtures in
    /// ``probedFixtures`` fall back to probing. Exact equality (`[Dim]`).
    func testStaticShapesEqualProbedShapesOnEveryFixture() throws {
        let urls = try Self.modelURLs()
        XCTAssertGreaterThanOrEqual(urls.count, 10)
        for url in urls {
            let name = url.lastPathComponent
            for optimize in [true, false] {
                let what = "\(name) optimize=\(optimize)"
                var probing = Model.Options(threads: 1, optimize: optimize)
                probing.staticShapes = false
                let probed = try Model(contentsOf: url, options: probing)
                let checked = try Model(contentsOf: url, options: .init(threads: 1, optimize: optimize))
                let report = try XCTUnwrap(checked.shapeReport, what)
                XCTAssertEqual(report.mismatches, [], "\(what): static shapes disagree with the probe")
                let shapes = try XCTUnwrap(checked.valueShapes, what)
                XCTAssertEqual(shapes, probed.valueShapes, "\(what): static and probed shapes differ")
                XCTAssertEqual(probed.shapeReport?.source, .probed, what)
                if Self.probedFixtures.contains(name) {
                    XCTAssertEqual(report.source, .probed, "\(what): expected to fall back to probing")
                    XCTAssertNotNil(report.staticFailure, what)
                } else {
                    XCTAssertEqual(report.source, .staticChecked, "\(what): \(report.staticFailure ?? "")")
                }
            }
        }
    }

    /// A CNN loads with one probe run (the self-test, as the end-to-end check) instead of two, and
    /// still gets `N`-symbolic shapes; forcing probing takes two runs. Exact counts.
    func testCNNLoadsWithExactlyOneProbeRun() throws {
        for file in ["tiny_resnet.kiln", "efficientnet_lite0.kiln", "tiny_vit.kiln"] {
            let url = fixturesDirectory.appendingPathComponent("models/\(file)")
            let model = try Model(contentsOf: url, options: .init(threads: 1))
            let report = try XCTUnwrap(model.shapeReport)
            XCTAssertEqual(report.source, .staticChecked, "\(file): \(report.staticFailure ?? "")")
            XCTAssertEqual(report.probeRuns, 1, file)
            XCTAssertEqual(model.valueShapes?[model.outputs[0].name]?.first, .symbol("N"), file)
            var probing = Model.Options(threads: 1)
            probing.staticShapes = false
            XCTAssertEqual(try Model(contentsOf: url, options: probing).shapeReport?.probeRuns, 2, file)
        }
    }

    /// `Shape → Gather → Unsqueeze → Concat → Reshape` on a symbolic batch: the target is computed
    /// by running the tiny nodes, so static inference covers it and finds `3·N`. Exact equality.
    func testComputedReshapeTargetIsPropagated() throws {
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(3), .fixed(5)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("?"), .fixed(5)])]
        w.tensors = [("zero", try Tensor(shape: [], scalars: [Int64(0)])),
                     ("three", try Tensor(shape: [1], scalars: [Int64(3)])),
                     ("five", try Tensor(shape: [1], scalars: [Int64(5)]))]
        func node(_ name: String, _ op: String, _ inputs: [String], _ attrs: [String: AttributeValue] = [:]) -> NodeDef {
            NodeDef(name: name, op: op, inputs: inputs, outputs: [name], attributes: Attributes(op: op, node: name, attrs))
        }
        w.nodes = [node("s", "Shape", ["x"]),
                   node("n", "Gather", ["s", "zero"], ["axis": .int(0)]),
                   node("n1", "Unsqueeze", ["n"], ["axes": .ints([0])]),
                   node("rows", "Mul", ["n1", "three"]),
                   node("target", "Concat", ["rows", "five"], ["axis": .int(0)]),
                   NodeDef(name: "y", op: "Reshape", inputs: ["x", "target"], outputs: ["y"], attributes: Attributes(op: "Reshape", node: "y"))]
        let m = try Model(artifact: try Artifact(bytes: w.encode()), options: .init(threads: 1, optimize: false))
        XCTAssertEqual(m.shapeReport?.source, .staticChecked, m.shapeReport?.staticFailure ?? "")
        XCTAssertEqual(m.shapeReport?.probeRuns, 1)
        XCTAssertEqual(m.valueShapes?["y"], [.symbol("3·N"), .fixed(5)])
        XCTAssertEqual(m.valueShapes?["target"], [.fixed(2)])
    }

    // MARK: - Shape functions of single ops, against running the op

    /// The output shapes of `op` for `inputs`, from its static shape function. Inputs in `known`
    /// have their value passed; the others only their shape.
    func staticShapes(_ op: String, _ attrs: [String: AttributeValue], _ inputs: [Tensor?],
                      known: Set<Int> = [], outputs: Int = 1) throws -> [[Int]]? {
        let o = try OpRegistry.standard.make(op, attributes: Attributes(op: op, node: "test", attrs))
        let f = try XCTUnwrap(o as? any ShapeInferable, "\(op) has no shape function")
        let facts = ShapeFacts(items: inputs.enumerated().map { i, t in
            t.map { ShapeFact(shape: $0.shape, value: known.contains(i) ? $0 : nil) }
        })
        return try f.outputShapes(facts, outputCount: outputs)
    }

    /// Asserts that the static shapes equal `expected` exactly, and equal the shapes of running the op.
    func check(_ op: String, _ attrs: [String: AttributeValue], _ inputs: [Tensor?], known: Set<Int> = [],
               outputs: Int = 1, expected: [[Int]], file: StaticString = #filePath, line: UInt = #line) throws {
        let inferred = try staticShapes(op, attrs, inputs, known: known, outputs: outputs)
        XCTAssertEqual(inferred, expected, "\(op) \(attrs): static", file: file, line: line)
        let ran = try runNode(op, attrs, inputs).map(\.shape)
        XCTAssertEqual(ran, expected, "\(op) \(attrs): run", file: file, line: line)
    }

    /// ``staticShapes(_:_:_:known:outputs:)`` without attributes.
    func staticShapes(_ op: String, _ inputs: [Tensor?], known: Set<Int> = [], outputs: Int = 1) throws -> [[Int]]? {
        try staticShapes(op, [:], inputs, known: known, outputs: outputs)
    }

    /// ``check(_:_:_:known:outputs:expected:file:line:)`` without attributes.
    func check(_ op: String, _ inputs: [Tensor?], known: Set<Int> = [], outputs: Int = 1, expected: [[Int]],
               file: StaticString = #filePath, line: UInt = #line) throws {
        try check(op, [:], inputs, known: known, outputs: outputs, expected: expected, file: file, line: line)
    }

    func zeros(_ shape: [Int]) -> Tensor { try! Tensor(zeros: shape) }

    /// Reshape: `0` copies, `-1` infers, `allowzero`; an unknown target gives `nil`. Exact equality.
    func testReshapeWithZeroAndMinusOne() throws {
        let x = zeros([2, 3, 4])
        try check("Reshape", [x, i64([0, -1])], known: [1], expected: [[2, 12]])
        try check("Reshape", [x, i64([-1, 0, 2])], known: [1], expected: [[4, 3, 2]])
        try check("Reshape", [x, i64([0, 0, -1])], known: [1], expected: [[2, 3, 4]])
        // allowzero: 0 is a real zero-size dim.
        try check("Reshape", ["allowzero": .int(1)], [zeros([0, 3]), i64([3, 0])], known: [1], expected: [[3, 0]])
        // An unknown target gives up rather than guessing.
        XCTAssertNil(try staticShapes("Reshape", [x, i64([0, -1])]))
        XCTAssertThrowsError(try staticShapes("Reshape", [x, i64([5, -1])], known: [1]))
    }

    /// Slice: negative and clamped bounds, negative steps, the opset-1 attribute form, step 0. Exact equality.
    func testSliceWithNegativeClampedBoundsAndSteps() throws {
        let x = zeros([10, 20])
        let big = Int(Int64.max)
        try check("Slice", [x, i64([-3]), i64([big]), i64([1])], known: [1, 2, 3], expected: [[10, 3]])
        try check("Slice", [x, i64([-1, 2]), i64([-100, 17]), i64([0, 1]), i64([-2, 5])], known: [1, 2, 3, 4],
                  expected: [[5, 3]])
        try check("Slice", [x, i64([100]), i64([200]), i64([0])], known: [1, 2, 3], expected: [[0, 20]])
        try check("Slice", ["starts": .ints([1]), "ends": .ints([-1])], [x], expected: [[8, 20]])
        XCTAssertThrowsError(try staticShapes("Slice", [x, i64([0]), i64([5]), i64([0]), i64([0])], known: [1, 2, 3, 4]))
        XCTAssertNil(try staticShapes("Slice", [x, i64([0]), i64([5]), i64([0])], known: [1, 2]))
    }

    /// Multidirectional broadcasting of two and three inputs, and a pair that does not broadcast. Exact equality.
    func testBroadcasting() throws {
        try check("Add", [zeros([3, 1, 5]), zeros([4, 1])], expected: [[3, 4, 5]])
        try check("Mul", [zeros([2, 3]), zeros([])], expected: [[2, 3]])
        let cond = try Tensor(shape: [1, 4], scalars: [Bool](repeating: true, count: 4))
        try check("Where", [cond, zeros([3, 1]), zeros([1])], expected: [[3, 4]])
        try check("Sum", [zeros([5]), zeros([2, 1]), zeros([1, 1, 5])], expected: [[1, 2, 5]])
        XCTAssertThrowsError(try staticShapes("Add", [zeros([3]), zeros([4])]))
    }

    /// Conv and pools: `auto_pad` SAME_UPPER, asymmetric pads, dilations, groups, 1-D, `ceil_mode`. Exact equality.
    func testConvAndPoolWindows() throws {
        let x = zeros([1, 2, 7, 7]), w = zeros([4, 2, 3, 3])
        try check("Conv", ["auto_pad": .string("SAME_UPPER"), "strides": .ints([2, 2])], [x, w], expected: [[1, 4, 4, 4]])
        try check("Conv", ["pads": .ints([1, 0, 2, 1]), "dilations": .ints([2, 1])], [x, w], expected: [[1, 4, 6, 6]])
        try check("Conv", ["group": .int(2)], [x, zeros([4, 1, 3, 3])], expected: [[1, 4, 5, 5]])
        try check("Conv", ["kernel_shape": .ints([3])], [zeros([2, 2, 9]), zeros([4, 2, 3])], expected: [[2, 4, 7]])
        let p = zeros([1, 2, 8, 8])
        try check("MaxPool", ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2])], [p], expected: [[1, 2, 3, 3]])
        try check("MaxPool", ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "ceil_mode": .int(1)], [p], expected: [[1, 2, 4, 4]])
        try check("AveragePool", ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "auto_pad": .string("SAME_UPPER")], [p],
                  expected: [[1, 2, 4, 4]])
        try check("GlobalAveragePool", [p], expected: [[1, 2, 1, 1]])
    }

    /// The planned Conv (packed weights) with a residual fused as input 3, same-shape and broadcast.
    /// Exact equality.
    func testPlannedConvWithResidual() throws {
        let conv = try Conv(attributes: Attributes(op: "Conv", node: "c", ["pads": .ints([1, 1, 1, 1])]))
        let w = zeros([4, 2, 3, 3])
        let planned = try XCTUnwrap(try conv.prepared(inputs: ["x", "w"], constants: [nil, w], kernels: KernelDispatch.table(), node: "c"))
        let f = try XCTUnwrap(planned as? any ShapeInferable)
        let x = ShapeFact(shape: [2, 2, 5, 5], value: nil)
        XCTAssertEqual(try f.outputShapes(ShapeFacts(items: [x]), outputCount: 1), [[2, 4, 5, 5]])
        let same = ShapeFact(shape: [2, 4, 5, 5], value: nil), column = ShapeFact(shape: [4, 1, 1], value: nil)
        XCTAssertEqual(try f.outputShapes(ShapeFacts(items: [x, nil, nil, same]), outputCount: 1), [[2, 4, 5, 5]])
        XCTAssertEqual(try f.outputShapes(ShapeFacts(items: [x, nil, nil, column]), outputCount: 1), [[2, 4, 5, 5]])
        let ran = try planned.run([zeros([2, 2, 5, 5]), nil, nil, zeros([4, 1, 1])], context: ExecutionContext(threads: 1))
        XCTAssertEqual(ran.map(\.shape), [[2, 4, 5, 5]])
    }

    /// Resize by scales (floor), by sizes, with `axes`, in the opset-10 form; Upsample. Exact equality.
    func testResizeWithScalesOrSizes() throws {
        let x = zeros([1, 3, 5, 7])
        let empty = zeros([0])
        let scales = try Tensor(shape: [4], scalars: [Float(1), 1, 2, 1.5])
        try check("Resize", [x, empty, scales], known: [1, 2], expected: [[1, 3, 10, 10]])
        try check("Resize", [x, empty, empty, i64([1, 3, 9, 4])], known: [1, 2, 3], expected: [[1, 3, 9, 4]])
        try check("Resize", ["axes": .ints([2, 3])], [x, nil, nil, i64([2, 3])], known: [3], expected: [[1, 3, 2, 3]])
        // Opset 10: scales are input 1.
        try check("Resize", [x, scales], known: [1], expected: [[1, 3, 10, 10]])
        XCTAssertNil(try staticShapes("Resize", [x, empty, scales], known: [1]))
        let up = try Tensor(shape: [4], scalars: [Float(1), 1, 2, 2])
        try check("Upsample", [x, up], known: [1], expected: [[1, 3, 10, 14]])
    }

    /// Concat on a negative axis with an empty piece; Split by `num_outputs` (last piece smaller), by input, by attribute. Exact equality.
    func testConcatAndSplit() throws {
        try check("Concat", ["axis": .int(-1)], [zeros([2, 3]), zeros([2, 1]), zeros([2, 0])], expected: [[2, 4]])
        XCTAssertThrowsError(try staticShapes("Concat", ["axis": .int(1)], [zeros([2, 3]), zeros([3, 1])]))
        let x = zeros([7, 2])
        try check("Split", ["axis": .int(0), "num_outputs": .int(3)], [x], outputs: 3, expected: [[3, 2], [3, 2], [1, 2]])
        try check("Split", ["axis": .int(0)], [x, i64([2, 5])], known: [1], outputs: 2, expected: [[2, 2], [5, 2]])
        try check("Split", ["axis": .int(-1), "split": .ints([1, 1])], [x], outputs: 2, expected: [[7, 1], [7, 1]])
        XCTAssertNil(try staticShapes("Split", ["axis": .int(0)], [x, i64([2, 5])]))
    }

    /// Squeeze/Unsqueeze with axes as attribute (opset 11) and as input (opset 13), and Squeeze without axes. Exact equality.
    func testSqueezeAndUnsqueezeByOpsetForm() throws {
        let x = zeros([1, 3, 1, 2])
        try check("Squeeze", ["axes": .ints([0, -2])], [x], expected: [[3, 2]])    // opset 11: attribute
        try check("Squeeze", [x, i64([2])], known: [1], expected: [[1, 3, 2]])      // opset 13: input
        try check("Squeeze", [x], expected: [[3, 2]])                               // every 1
        XCTAssertThrowsError(try staticShapes("Squeeze", ["axes": .ints([1])], [x]))
        try check("Unsqueeze", ["axes": .ints([0, -1])], [zeros([3, 2])], expected: [[1, 3, 2, 1]])
        try check("Unsqueeze", [zeros([3, 2]), i64([1])], known: [1], expected: [[3, 1, 2]])
        XCTAssertNil(try staticShapes("Unsqueeze", [zeros([3, 2]), i64([1])]))
    }

    /// Ops whose shape needs an input value (TopK, Expand, Tile, ConstantOfShape, Pad, Range), and reductions. Exact equality.
    func testValueDependentOps() throws {
        let x = zeros([2, 5])
        try check("TopK", ["axis": .int(1)], [x, i64([3])], known: [1], outputs: 2, expected: [[2, 3], [2, 3]])
        XCTAssertNil(try staticShapes("TopK", ["axis": .int(1)], [x, i64([3])], outputs: 2))
        try check("Expand", [zeros([3, 1]), i64([2, 1, 4])], known: [1], expected: [[2, 3, 4]])
        try check("Tile", [x, i64([2, 3])], known: [1], expected: [[4, 15]])
        try check("ConstantOfShape", [i64([2, 0, 3])], known: [0], expected: [[2, 0, 3]])
        try check("Pad", [x, i64([0, 1, 1, -2])], known: [1], expected: [[3, 4]])
        let (s, l, d) = (try Tensor(shape: [], scalars: [Int64(1)]), try Tensor(shape: [], scalars: [Int64(10)]),
                         try Tensor(shape: [], scalars: [Int64(4)]))
        try check("Range", [s, l, d], known: [0, 1, 2], expected: [[3]])
        try check("Gather", ["axis": .int(1)], [zeros([2, 5, 3]), i64([0, 4])], expected: [[2, 2, 3]])
        try check("ReduceMean", ["axes": .ints([-1]), "keepdims": .int(0)], [zeros([2, 5, 3])], expected: [[2, 5]])
        try check("ReduceSum", [zeros([2, 5, 3]), i64([1])], known: [1], expected: [[2, 1, 3]])
        try check("ArgMax", ["axis": .int(1), "keepdims": .int(0)], [zeros([2, 5, 3])], expected: [[2, 3]])
        try check("Shape", ["start": .int(-2)], [zeros([2, 5, 3])], expected: [[2]])
    }

    /// Y and the states of RNN/GRU/LSTM, sequence-first and batch-first (`layout`), one or two
    /// directions. Exact equality.
    func testRecurrentLayouts() throws {
        let (seq, batch, input, hidden) = (3, 2, 4, 5)
        for (op, gates, outputs) in [("RNN", 1, 2), ("GRU", 3, 2), ("LSTM", 4, 3)] {
            for (direction, d) in [("forward", 1), ("bidirectional", 2)] {
                let w = zeros([d, gates * hidden, input]), r = zeros([d, gates * hidden, hidden])
                let y = [seq, d, batch, hidden], state = [d, batch, hidden]
                try check(op, ["direction": .string(direction), "hidden_size": .int(hidden)], [zeros([seq, batch, input]), w, r],
                          outputs: outputs, expected: [y] + Array(repeating: state, count: outputs - 1))
                let yFirst = [batch, seq, d, hidden], stateFirst = [batch, d, hidden]
                try check(op, ["direction": .string(direction), "layout": .int(1)], [zeros([batch, seq, input]), w, r],
                          outputs: outputs, expected: [yFirst] + Array(repeating: stateFirst, count: outputs - 1))
            }
        }
    }

    /// Einsum: explicit and implicit outputs, one and two operands, ellipsis dims that broadcast.
    /// Exact equality.
    func testEinsum() throws {
        func einsum(_ equation: String, _ shapes: [[Int]], _ expected: [Int], line: UInt = #line) throws {
            try check("Einsum", ["equation": .string(equation)], shapes.map { zeros($0) }, expected: [expected], line: line)
        }
        try einsum("ij,jk->ik", [[2, 3], [3, 4]], [2, 4])
        try einsum("ij->ji", [[2, 3]], [3, 2])
        try einsum("ij->", [[2, 3]], [])
        try einsum("ij,jk", [[2, 3], [3, 4]], [2, 4])                       // implicit: letters used once
        try einsum("kj,ji", [[4, 3], [3, 2]], [2, 4])                       // implicit output is sorted: i, k
        try einsum("bhid,bhjd->bhij", [[2, 3, 4, 5], [2, 3, 6, 5]], [2, 3, 4, 6])
        try einsum("...ij,...jk->...ik", [[2, 1, 3, 4], [5, 4, 6]], [2, 5, 3, 6])
        try einsum("...ij,jk", [[1, 3, 4], [4, 2]], [1, 3, 2])              // implicit with ellipsis
        try einsum("i,j->ij", [[3], [4]], [3, 4])
        XCTAssertThrowsError(try staticShapes("Einsum", ["equation": .string("ij,jk->ik")], [zeros([2, 3]), zeros([4, 4])]))
    }
}
