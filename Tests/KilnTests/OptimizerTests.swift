import Foundation
import XCTest
@testable import Kiln
import KilnTestSupport

/// Each optimizer pass must rewrite what it claims and keep the outputs: the optimized model is
/// compared with the unoptimized one, whose kernels are checked against PyTorch/ORT elsewhere.
final class OptimizerTests: XCTestCase {
    var rng = SeededGenerator(seed: 2024)

    func random(_ shape: [Int], _ range: ClosedRange<Float> = -1...1) throws -> Tensor {
        try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Float.random(in: range, using: &rng) })
    }

    func node(_ name: String, _ op: String, _ ins: [String], _ outs: [String], _ attrs: [String: AttributeValue] = [:]) -> NodeDef {
        NodeDef(name: name, op: op, inputs: ins, outputs: outs, attributes: Attributes(op: op, node: name, attrs))
    }

    /// Builds a model, checks optimized == unoptimized within `tolerance`, returns the optimized plan's op counts.
    func check(_ w: ArtifactWriter, input: Tensor, tolerance: Tolerance = .gemm, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Int] {
        let artifact = try Artifact(bytes: w.encode())
        let optimized = try Model(artifact: artifact, options: .init(threads: 2))
        let plain = try Model(artifact: artifact, options: .init(threads: 2, optimize: false))
        let name = w.inputs[0].name
        for (k, v) in try plain.predict([name: input]) {
            let r = compare(try optimized.predict([name: input])[k]!, v, tolerance)
            XCTAssertTrue(r.passed, "output \(k): \(r.message)", file: file, line: line)
        }
        return optimized.plan.opCounts
    }

    func convBNReluWriter(clip: Bool) throws -> ArtifactWriter {
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(3), .fixed(9), .fixed(9)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("N"), .fixed(4), .fixed(9), .fixed(9)])]
        w.tensors = [("w", try random([4, 3, 3, 3])), ("b", try random([4])),
                     ("scale", try random([4], 0.5...1.5)), ("beta", try random([4])),
                     ("mean", try random([4], -0.3...0.3)), ("var", try random([4], 0.2...2)),
                     ("lo", Tensor(scalar: Float(0))), ("hi", Tensor(scalar: Float(0.5)))]
        w.nodes = [
            node("conv", "Conv", ["x", "w", "b"], ["c"], ["pads": .ints([1, 1, 1, 1])]),
            node("bn", "BatchNormalization", ["c", "scale", "beta", "mean", "var"], ["n"], ["epsilon": .float(1e-3)]),
            clip ? node("act", "Clip", ["n", "lo", "hi"], ["y"]) : node("act", "Relu", ["n"], ["y"]),
        ]
        return w
    }

    func testBatchNormFoldsIntoConvAndActivationFuses() throws {
        for clip in [false, true] {
            let counts = try check(try convBNReluWriter(clip: clip), input: try random([2, 3, 9, 9]))
            XCTAssertEqual(counts, ["Conv": 1], "clip=\(clip): BN folded and activation fused, got \(counts)")
        }
    }

    func testNoFusionWhenTheIntermediateHasAnotherReader() throws {
        var w = try convBNReluWriter(clip: false)
        // The Conv output is also a graph output: neither BN folding nor fusion may touch it.
        w.outputs.append(ValueInfo(name: "c", dtype: .float32, shape: [.symbol("N"), .fixed(4), .fixed(9), .fixed(9)]))
        let counts = try check(w, input: try random([1, 3, 9, 9]))
        XCTAssertEqual(counts["BatchNormalization"], 1)
        XCTAssertEqual(counts["Relu"], 1)
    }

    func testZeroPadFoldsIntoConvPadding() throws {
        // TensorFlow-style asymmetric SAME padding: Pad(0,0,0,0 | 0,0,1,1) then a stride-2 Conv.
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(3), .fixed(8), .fixed(8)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("N"), .fixed(4), .fixed(4), .fixed(4)])]
        w.tensors = [("w", try random([4, 3, 3, 3])), ("pads", try Tensor(shape: [8], scalars: [Int64(0), 0, 0, 0, 0, 0, 1, 1])),
                     ("zero", Tensor(scalar: Float(0)))]
        w.nodes = [node("pad", "Pad", ["x", "pads", "zero"], ["p"]),
                   node("conv", "Conv", ["p", "w"], ["y"], ["strides": .ints([2, 2]), "pads": .ints([0, 0, 0, 0])])]
        XCTAssertEqual(try check(w, input: try random([2, 3, 8, 8])), ["Conv": 1])
        // A non-zero fill value must stay a Pad.
        w.tensors[2] = ("zero", Tensor(scalar: Float(0.5)))
        XCTAssertEqual(try check(w, input: try random([1, 3, 8, 8]))["Pad"], 1)
    }

    func testSiLUBecomesSwish() throws {
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(17)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("N"), .fixed(17)])]
        w.nodes = [node("sig", "Sigmoid", ["x"], ["s"]), node("mul", "Mul", ["s", "x"], ["y"])]
        let counts = try check(w, input: try random([3, 17], -6...6), tolerance: .transcendental)
        XCTAssertEqual(counts, ["Swish": 1])
    }

    /// ResNet's block tail `Relu(Add(Conv(x), x))` becomes one Conv (residual and ReLU in its
    /// epilogue); so does MobileNetV2's `Add(Conv(x), x)` without activation.
    func testResidualAddAndActivationFuseIntoConv() throws {
        for relu in [true, false] {
            var w = ArtifactWriter()
            w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(5), .fixed(7), .fixed(9)])]
            w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("N"), .fixed(5), .fixed(7), .fixed(9)])]
            w.tensors = [("w", try random([5, 5, 3, 3])), ("b", try random([5]))]
            w.nodes = [node("conv", "Conv", ["x", "w", "b"], ["c"], ["pads": .ints([1, 1, 1, 1])]),
                       node("add", "Add", ["c", "x"], [relu ? "s" : "y"])]
            if relu { w.nodes.append(node("relu", "Relu", ["s"], ["y"])) }
            let counts = try check(w, input: try random([2, 5, 7, 9]))
            XCTAssertEqual(counts, ["Conv": 1], "relu \(relu)")
        }
    }

    /// A transformer's linear layer, `Add(MatMul(x, W), b)`, becomes one MatMul with the bias in its
    /// epilogue, for both orders of the Add's inputs and bias shapes `[N]` / `[1, 1, N]`, at row
    /// counts on both sides of the matrix–vector threshold (8 and 12 rows).
    func testMatMulBiasFuses() throws {
        for (biasShape, biasFirst) in [([5], false), ([1, 1, 5], true)] {
            for batch in [2, 3] {
                var w = ArtifactWriter()
                w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(4), .fixed(6)])]
                w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("N"), .fixed(4), .fixed(5)])]
                w.tensors = [("w", try random([6, 5])), ("b", try random(biasShape))]
                w.nodes = [node("mm", "MatMul", ["x", "w"], ["m"]),
                           node("add", "Add", biasFirst ? ["b", "m"] : ["m", "b"], ["y"])]
                let counts = try check(w, input: try random([batch, 4, 6]))
                XCTAssertEqual(counts, ["MatMul": 1], "bias \(biasShape) batch \(batch)")
            }
        }
        // A bias that does not have N values stays a separate Add.
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.fixed(4), .fixed(6)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.fixed(4), .fixed(5)])]
        w.tensors = [("w", try random([6, 5])), ("b", try random([4, 1]))]
        w.nodes = [node("mm", "MatMul", ["x", "w"], ["m"]), node("add", "Add", ["m", "b"], ["y"])]
        XCTAssertEqual(try check(w, input: try random([4, 6])), ["MatMul": 1, "Add": 1])
    }

    /// A residual that only broadcasts to the Conv's output is still folded, and added with
    /// broadcasting: the result is unchanged.
    func testBroadcastResidualKeepsTheResult() throws {
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(3), .fixed(6), .fixed(6)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("N"), .fixed(4), .fixed(6), .fixed(6)])]
        w.tensors = [("w", try random([4, 3, 1, 1])), ("r", try random([1, 4, 1, 1]))]
        w.nodes = [node("conv", "Conv", ["x", "w"], ["c"]), node("add", "Add", ["r", "c"], ["s"]), node("relu", "Relu", ["s"], ["y"])]
        let counts = try check(w, input: try random([2, 3, 6, 6]))
        XCTAssertEqual(counts, ["Conv": 1])
    }

    /// EfficientNet's `Conv → Sigmoid/Mul` (SiLU), MobileNetV3's `Conv → HardSwish` and a bare
    /// `Conv → Sigmoid` fuse into the Conv's epilogue.
    func testSiLUHardSwishAndSigmoidFuseIntoConv() throws {
        for kind in ["silu", "HardSwish", "Sigmoid"] {
            var w = ArtifactWriter()
            w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(3), .fixed(8), .fixed(8)])]
            w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("N"), .fixed(6), .fixed(8), .fixed(8)])]
            w.tensors = [("w", try random([6, 3, 3, 3])), ("b", try random([6]))]
            w.nodes = [node("conv", "Conv", ["x", "w", "b"], ["c"], ["pads": .ints([1, 1, 1, 1])])]
            if kind == "silu" {
                w.nodes += [node("sig", "Sigmoid", ["c"], ["s"]), node("mul", "Mul", ["c", "s"], ["y"])]
            } else {
                w.nodes.append(node("act", kind, ["c"], ["y"]))
            }
            let counts = try check(w, input: try random([2, 3, 8, 8], -4...4), tolerance: .transcendental)
            XCTAssertEqual(counts, ["Conv": 1], kind)
        }
    }

    func testIdentityDropoutAndConstantSubgraphsDisappear() throws {
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.fixed(2), .fixed(6)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.fixed(2), .fixed(6)])]
        w.tensors = [("a", try random([2, 3])), ("shape", try Tensor(shape: [2], scalars: [Int64(1), 6])), ("unused", try random([5]))]
        w.nodes = [
            node("id", "Identity", ["x"], ["x1"]),
            node("drop", "Dropout", ["x1"], ["x2"]),
            // Constant subgraph: Reshape(Neg(a)) → folded at load.
            node("neg", "Neg", ["a"], ["na"]),
            node("reshape", "Reshape", ["na", "shape"], ["c"]),
            node("add", "Add", ["x2", "c"], ["y"]),
            node("dead", "Exp", ["x"], ["never_read"]),
        ]
        let counts = try check(w, input: try random([2, 6]), tolerance: .exact)
        XCTAssertEqual(counts, ["Add": 1])
    }

    func testLegacySoftmaxIsRewrittenToFlattenedForm() throws {
        // Opset 11 Softmax(axis=1) on [2, 3, 4] normalizes over 12 values per row, not 3.
        var w = ArtifactWriter()
        w.opset = 11
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.fixed(2), .fixed(3), .fixed(4)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.fixed(2), .fixed(3), .fixed(4)])]
        w.nodes = [node("sm", "Softmax", ["x"], ["y"], ["axis": .int(1)])]
        let x = try random([2, 3, 4], -3...3)
        let m = try Model(artifact: try Artifact(bytes: w.encode()))
        let y = try m.predict(["x": x])["y"]!.scalars(as: Float.self)
        let xs = try x.scalars(as: Float.self)
        for row in 0..<2 {
            let slice = xs[(row * 12)..<(row * 12 + 12)]
            let mx = slice.max()!
            let denom = slice.reduce(Float(0)) { $0 + exp($1 - mx) }
            for (i, v) in slice.enumerated() {
                XCTAssertEqual(y[row * 12 + i], exp(v - mx) / denom, accuracy: 1e-6)
            }
        }
    }
}

/// Shape inference by probing (Plan/ShapeInference.swift).
final class ShapeInferenceTests: XCTestCase {
    func testShapesCarryTheBatchSymbol() throws {
        let url = fixturesDirectory.appendingPathComponent("models/tiny_resnet.kiln")
        let m = try Model(contentsOf: url, options: .init(threads: 1))
        let shapes = try XCTUnwrap(m.valueShapes)
        let out = m.outputs[0]
        XCTAssertEqual(shapes[out.name], out.shape, "inferred output shape equals the declared one")
        // Every node output has a shape; conv feature maps are [N, C, H, W] with fixed C, H, W.
        for n in m.plannedNodes {
            for o in n.outputs where !o.isEmpty {
                let s = try XCTUnwrap(shapes[o], "\(n.name) output \(o)")
                XCTAssertFalse(s.contains(.symbol("?")), "\(n.name): \(s)")
                if n.op == "Conv" {
                    XCTAssertEqual(s.first, .symbol("N"), "\(n.name): \(s)")
                    XCTAssertEqual(s.count, 4)
                }
            }
        }
    }

    func testShapeOfAFlattenedBatchIsAMultipleOfN() throws {
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(3), .fixed(5)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("?"), .fixed(5)])]
        w.tensors = [("shape", try Tensor(shape: [2], scalars: [Int64(-1), 5]))]
        w.nodes = [NodeDef(name: "r", op: "Reshape", inputs: ["x", "shape"], outputs: ["y"], attributes: Attributes(op: "Reshape", node: "r"))]
        let m = try Model(artifact: try Artifact(bytes: w.encode()))
        XCTAssertEqual(m.valueShapes?["y"], [.symbol("3·N"), .fixed(5)])
    }

    func testAGraphThatCannotRunFailsAtLoadWithItsSelfTest() throws {
        // Reshape to a size the self-test input cannot have: with shape inference the load fails,
        // naming the node; without it, only predict would.
        var w = try ArtifactSamples.writer()
        w.tensors.append(("bad", try Tensor(shape: [1], scalars: [Int64(7)])))
        w.nodes = [NodeDef(name: "reshape", op: "Reshape", inputs: ["x", "bad"], outputs: ["y"], attributes: Attributes(op: "Reshape", node: "reshape"))]
        let artifact = try Artifact(bytes: w.encode())
        XCTAssertThrowsError(try Model(artifact: artifact)) { error in
            XCTAssertTrue("\(error)".contains("reshape"), "\(error)")
        }
        XCTAssertNoThrow(try Model(artifact: artifact, options: .init(inferShapes: false)))
    }
}
