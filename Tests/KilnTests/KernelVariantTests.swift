import Foundation
import XCTest
@testable import Kiln
import KilnKernels
import KilnTestSupport

/// Every kernel table to test, with a label: each variant this CPU runs, the 16-lane (AVX-512)
/// bodies compiled for AVX2 where the CPU lacks AVX-512, and the process default when it is AVX2
/// with the AVX-512 SiLU/sigmoid pass (Zen 4).
func kernelTablesUnderTest() -> [(String, KernelTable)] {
    var r: [(String, KernelTable)] = KernelDispatch.supported.map { ($0.rawValue, KernelDispatch.table($0)) }
    if !KernelDispatch.supported.contains(.avx512), let wide = KernelDispatch.avx2Wide16 { r.append(("avx2-16-lane", wide)) }
    if KernelDispatch.table().hasWidePass { r.append(("avx2+avx512-pass", KernelDispatch.table())) }
    return r
}

/// Kiln's own kernels (`KilnKernels`) on every ISA variant this CPU can run — plus the 16-lane
/// (AVX-512) bodies compiled for AVX2, so the AVX-512 arithmetic is checked on CPUs without it, and
/// the default AVX2 table with the AVX-512 activation pass where that is the default (Zen 4) —
/// against the naive references of `KilnTestSupport`, on random problems that sweep tile edges.
final class KernelVariantTests: XCTestCase {
    private var tables: [(String, KernelTable)] { kernelTablesUnderTest() }

    func testDispatchChoosesASupportedVariant() {
        XCTAssertTrue(KernelDispatch.supported.contains(KernelDispatch.defaultISA))
        XCTAssertEqual(KernelDispatch.table(.baseline).isa, .baseline)
        // Asking for more than the CPU has falls back to the best supported variant.
        XCTAssertTrue(KernelDispatch.supported.contains(KernelDispatch.table(.avx512).isa))
        XCTAssertFalse(KernelDispatch.cpuName.isEmpty)
    }

    /// `kilnExpNegated`, the `e^−x` behind the SiLU and sigmoid epilogues, in both of its forms
    /// (fused multiply-adds as in the AVX2 and AVX-512 variants, separate ones as in the baseline),
    /// against float64 `exp` over the whole clamped range, 8 lanes at a time. Tolerances (relative):
    /// fused 2e-7 for `|x| ≤ 16` and 4.5e-7 elsewhere (1.8e-7 and 3.9e-7 measured when written: one
    /// `ln2` constant, a degree-5 polynomial); separate 2e-7 everywhere (1.6e-7 measured: exact
    /// reduction, degree 6). Outside the clamp the vector form stays finite and positive.
    func testExpNegatedAccuracy() {
        for fused in [false, true] {
            var worst = 0.0, worstAt: Float = 0, worstNear = 0.0
            var x: Float = -88.37626266
            while x <= 87.33654475 {
                var v = SIMD8<Float>()
                for l in 0..<8 { v[l] = min(x + Float(l) * 0.0007, 87.33654475) }
                let e = kilnExpNegated(v, SIMD8<Int32>.self, fused: fused)
                for l in 0..<8 {
                    let ref = Foundation.exp(-Double(v[l]))
                    let err = abs(Double(e[l]) - ref) / ref
                    if err > worst { worst = err; worstAt = v[l] }
                    if abs(v[l]) <= 16 { worstNear = max(worstNear, err) }
                }
                x += 0.0131
            }
            XCTAssertLessThan(worst, fused ? 4.5e-7 : 2e-7, "fused \(fused): worst relative error \(worst) at x = \(worstAt)")
            XCTAssertLessThan(worstNear, 2e-7, "fused \(fused): worst relative error for |x| ≤ 16")
        }
        // Through the vector type: its clamp keeps the result normal and finite.
        for x: Float in [-1000, -88.5, 87.5, 1000, .infinity, -.infinity] {
            let e = Vec8(broadcast: x).expNegated().v[0]
            XCTAssertTrue(e.isFinite && e > 0, "e^-(\(x)) = \(e)")
        }
        XCTAssertTrue(Vec8(broadcast: .nan).expNegated().v[0].isNaN)
    }

    // MARK: GEMM

    /// `C = act(A·B + bias + residual)` for packed and row-major A, row-major and packed B, sizes
    /// around the MR × NR tile (last row panels of 1–6 rows: the 4-row and the full micro-kernel)
    /// and the KC chunk. Tolerance `.gemm` (1e-5 abs + rel) against a
    /// double-precision reference.
    func testGemmMatchesReference() throws {
        var r = SeededGenerator(seed: 91)
        for (label, t) in tables {
            for i in 0..<60 {
                let m = r.pick([1, 3, 5, 6, 7, 10, 13, 16, 64, 130]), n = r.pick([1, 15, t.lanes, t.nr, t.nr + 1, t.nr + t.lanes, 33, 300]), k = r.pick([0, 1, 7, 256, 257, 600])
                let a = r.floats(m * k), b = r.floats(k * n), bias = r.floats(max(m, n)), res = r.floats(m * n)
                let useBias = i % 3 != 0, perColumn = i % 4 == 1, useResidual = i % 5 == 2
                let activation: Epilogue.Activation = [.none, .relu, .clip, .hardSwish, .silu, .sigmoid][i % 6]
                var expected = [Float](repeating: 0, count: m * n)
                for row in 0..<m {
                    for col in 0..<n {
                        var s = 0.0
                        for kk in 0..<k { s += Double(a[row * k + kk]) * Double(b[kk * n + col]) }
                        var y = Float(s)
                        if useBias { y += perColumn ? bias[col] : bias[row] }
                        if useResidual { y += res[row * n + col] }
                        expected[row * n + col] = Epilogue(activation: activation, lo: -0.5, hi: 0.7).activate(y, Vec4.self)
                    }
                }
                let packedA = UnsafeMutablePointer<Float>.allocate(capacity: max(1, gemmPackedACount(m: m, k: k)))
                let packedB = UnsafeMutablePointer<Float>.allocate(capacity: max(1, gemmPackedBCount(k: k, n: n, nr: t.nr)))
                defer { packedA.deallocate(); packedB.deallocate() }
                var c = [Float](repeating: .nan, count: m * n)
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        bias.withUnsafeBufferPointer { biasp in
                            res.withUnsafeBufferPointer { rp in
                                gemm_packA_f32(ap.baseAddress!, lda: max(k, 1), m: m, k: k, into: packedA)
                                t.packB(bp.baseAddress!, n, k, n, packedB)
                                c.withUnsafeMutableBufferPointer { cp in
                                    let e = Epilogue(bias: useBias ? biasp.baseAddress : nil, residual: useResidual ? rp.baseAddress : nil,
                                                     residualStride: n, activation: activation, lo: -0.5, hi: 0.7)
                                    let aSource: GemmASource = i % 2 == 0 ? .packed(packedA) : .matrix(ap.baseAddress!, lda: max(k, 1))
                                    let bSource: GemmBSource = i % 3 == 1 ? .packed(packedB) : .matrix(bp.baseAddress!, ldb: n)
                                    let p = GemmProblem(m: m, n: n, k: k, a: aSource, b: bSource, c: cp.baseAddress!, ldc: n,
                                                        epilogue: e, biasPerColumn: perColumn)
                                    KilnGemm.run(p, kernels: t, context: ExecutionContext(threads: 1 + i % 2))
                                }
                            }
                        }
                    }
                }
                assertClose(try Tensor(shape: [m, n], scalars: c), try Tensor(shape: [m, n], scalars: expected), .gemm,
                            "\(label) case \(i): m \(m) n \(n) k \(k) bias \(useBias) perColumn \(perColumn) residual \(useResidual) \(activation)")
            }
        }
    }

    // MARK: Linear layers

    /// ``PlannedGemm`` (the matrix–vector path at small batch, Kiln's GEMM on packed panels above it) equals a
    /// double-precision `act(A·op(W) + beta·C)` for both weight layouts, bias shapes of one row,
    /// sizes around the vector widths, on every variant, at 1 and 2 threads. Tolerance `.gemm`.
    func testPlannedGemmMatchesReference() throws {
        var r = SeededGenerator(seed: 5150)
        var gemvCases = 0
        for i in 0..<48 {
            let m = r.pick([1, 1, 2, 5, 8, 9, 40]), k = r.pick([1, 7, 16, 33, 300]), n = r.pick([1, 3, 8, 31, 32, 33, 100])
            let transB = i % 2 == 0
            let a = r.tensor([m, k]), w = r.tensor(transB ? [n, k] : [k, n], scale: 0.5)
            let biasShape: [Int]? = [nil, [n], [1, n], [1], []][i % 5]
            let c = biasShape.map { r.tensor($0) }
            let beta: Float = i % 3 == 0 ? 0.5 : 1
            let activation: FusedActivation = [.none, .relu, .clip(min: -0.3, max: 0.8)][i % 3]
            let av = try a.scalars(as: Float.self), wv = try w.scalars(as: Float.self)
            let cv = try c?.scalars(as: Float.self)
            var expected = [Float](repeating: 0, count: m * n)
            for row in 0..<m {
                for col in 0..<n {
                    var s = 0.0
                    for kk in 0..<k { s += Double(av[row * k + kk]) * Double(transB ? wv[col * k + kk] : wv[kk * n + col]) }
                    if let cv { s += Double(beta) * Double(cv.count == 1 ? cv[0] : cv[col]) }
                    expected[row * n + col] = applyActivation(Float(s), activation)
                }
            }
            let attrs = Attributes(op: "Gemm", node: "test", ["transB": .int(transB ? 1 : 0), "beta": .float(beta)])
            let gemm = try Gemm(attributes: attrs, activation: activation)
            for (label, t) in tables {
                let constants: [Tensor?] = [nil, w, c]
                let names = c == nil ? ["A", "W"] : ["A", "W", "C"]
                let planned = try XCTUnwrap(try gemm.prepared(inputs: names, constants: Array(constants.prefix(names.count)),
                                                              kernels: t, node: "test"))
                if m <= PlannedGemm.gemvRows { gemvCases += 1 }
                for threads in [1, 2] {
                    let inputs: [Tensor?] = c == nil ? [a, w] : [a, w, c]
                    let y = try planned.run(inputs, context: ExecutionContext(threads: threads))[0]
                    assertClose(y, try Tensor(shape: [m, n], scalars: expected), .gemm,
                                "\(label) case \(i): m \(m) k \(k) n \(n) transB \(transB) C \(biasShape ?? []) beta \(beta) \(activation) threads \(threads)")
                }
            }
        }
        XCTAssertGreaterThan(gemvCases, 30)
        // A bias with M rows is not a constant of the layer: the portable form stays.
        let gemm = try Gemm(attributes: Attributes(op: "Gemm", node: "test", [:]))
        XCTAssertNil(try gemm.prepared(inputs: ["A", "W", "C"], constants: [nil, r.tensor([4, 3]), r.tensor([2, 3])],
                                       kernels: KernelDispatch.table(), node: "test"))
        // A wrong inner dimension is a typed error naming the op.
        let planned = try XCTUnwrap(try gemm.prepared(inputs: ["A", "W"], constants: [nil, r.tensor([4, 3])],
                                                      kernels: KernelDispatch.table(), node: "fc"))
        XCTAssertThrowsError(try planned.run([r.tensor([1, 5]), nil], context: ExecutionContext())) { error in
            XCTAssertTrue("\(error)".contains("Gemm"), "\(error)")
        }
    }

    /// ``PlannedMatMul`` (B packed at load; matrix–vector products at ≤ 8 rows, Kiln's GEMM above)
    /// equals the portable `MatMul` for A of rank 1 to 4, row counts around the threshold, N around
    /// the panel width, K = 0, on every variant, at 1 and 2 threads. Tolerance `.gemm`.
    func testPlannedMatMulMatchesPortable() throws {
        var r = SeededGenerator(seed: 777)
        let shapes: [[Int]] = [[7], [1, 7], [8, 33], [9, 33], [2, 3, 300], [2, 2, 5, 64], [1, 197, 48], [4, 0]]
        for (i, aShape) in shapes.enumerated() {
            let k = aShape.last!
            for n in [1, 15, 16, 17, 70] {
                let a = r.tensor(aShape), b = r.tensor([k, n], scale: 0.5)
                let expected = try MatMul(attributes: Attributes(op: "MatMul", node: "mm")).run([a, b], context: ExecutionContext())[0]
                for (label, t) in tables {
                    let planned = try XCTUnwrap(try MatMul(attributes: Attributes(op: "MatMul", node: "mm"))
                        .prepared(inputs: ["A", "B"], constants: [nil, b], kernels: t, node: "mm"))
                    for threads in [1, 2] {
                        let y = try planned.run([a, b], context: ExecutionContext(threads: threads))[0]
                        XCTAssertEqual(y.shape, expected.shape)
                        assertClose(y, expected, .gemm, "\(label) case \(i): A \(aShape) N \(n) threads \(threads)")
                    }
                }
            }
        }
        // A wrong inner dimension names the op.
        let planned = try XCTUnwrap(try MatMul(attributes: Attributes(op: "MatMul", node: "mm"))
            .prepared(inputs: ["A", "B"], constants: [nil, r.tensor([4, 3])], kernels: KernelDispatch.table(), node: "mm"))
        XCTAssertThrowsError(try planned.run([r.tensor([2, 5]), nil], context: ExecutionContext())) { error in
            XCTAssertTrue("\(error)".contains("MatMul"), "\(error)")
        }
    }

    // MARK: Prepared forms against the PyTorch / ONNX Runtime fixtures

    /// Every `Conv`, `Gemm` and `MatMul` fixture (`Fixtures/kernels/gen_conv.py`, `gen_linear.py`:
    /// references from PyTorch or ONNX Runtime) run through the op's prepared form — weights and
    /// bias taken as constants, as the planner does — on every variant, at 1 and 2 threads: the
    /// packed GEMM, depthwise, Winograd, matrix–vector and packed-MatMul paths. Tolerance: the
    /// fixture's own (`gemm`), or `.winograd` where the prepared Conv ran Winograd.
    func testPreparedOpsMatchFixtureReferences() throws {
        var prepared = 0, winograd = 0
        for family in ["conv", "linear"] {
            for c in try loadFixtures(family: family) where ["Conv", "Gemm", "MatMul"].contains(c.op) {
                let names = c.inputs.indices.map { c.inputs[$0] == nil ? "" : "in\($0)" }
                let constants: [Tensor?] = c.inputs.indices.map { $0 == 0 ? nil : c.inputs[$0] }
                for (label, t) in tables {
                    let portable = try OpRegistry.standard.make(c.op, attributes: c.attributes)
                    guard let preparable = portable as? any PreparableOperator,
                          let op = try preparable.prepared(inputs: names, constants: constants, kernels: t, node: c.name) else { continue }
                    prepared += 1
                    for threads in [1, 2] {
                        let y = try op.run(c.inputs, context: ExecutionContext(threads: threads, node: c.name))[0]
                        let usedWinograd = (op as? PlannedConv)?.winogradWeights?.isPrepared == true
                        if usedWinograd && threads == 1 && label == tables[0].0 { winograd += 1 }
                        assertClose(y, c.outputs[0], usedWinograd ? .winograd : c.tolerance,
                                    "\(family)/\(c.name) prepared on \(label), threads \(threads)")
                    }
                }
            }
        }
        XCTAssertGreaterThan(prepared, 100)
        XCTAssertEqual(winograd, 3, "the three winograd_* conv fixtures run Winograd")
    }

    // MARK: Planned convolution

    /// ``PlannedConv`` (packed weights, implicit im2col, depthwise kernel, fused epilogue) equals
    /// the naive reference convolution on random problems, on every variant, at 1 and 2 threads,
    /// with a fused activation (SiLU and sigmoid among them) and with a fused residual. Tolerance `.gemm`.
    func testPlannedConvMatchesReference() throws {
        var r = SeededGenerator(seed: 4242)
        var depthwise = 0, gemm = 0
        for i in 0..<90 {
            let kind = i % 3 // 0 depthwise, 1 general, 2 pointwise
            let group: Int, c: Int, m: Int
            switch kind {
            case 0: c = r.pick([1, 3, 8, 17]); group = c; m = c * r.pick([1, 1, 2])
            case 1 where i % 9 == 1: group = 2; c = 2 * r.pick([1, 3]); m = 2 * r.pick([1, 5])
            default: group = 1; c = r.pick([1, 3, 16, 17]); m = r.pick([1, 6, 7, 19])
            }
            let kh = kind == 2 ? 1 : r.pick([1, 3, 3, 5, 7]), kw = kind == 2 ? 1 : r.pick([1, 3, 3, 5])
            let strides = kind == 2 ? [1, 1] : [r.pick([1, 1, 2, 3]), r.pick([1, 1, 2, 3])]
            let dilations = i % 7 == 3 ? [2, 2] : [1, 1]
            let pads = kind == 2 ? [0, 0, 0, 0] : [r.int(0...2), r.int(0...2), r.int(0...2), r.int(0...2)]
            let n = r.pick([1, 1, 2])
            let h = max(r.pick([1, 4, 7, 9, 14, 23]), (kh - 1) * dilations[0] + 1)
            let w = max(r.pick([1, 5, 7, 8, 16, 17, 31, 40]), (kw - 1) * dilations[1] + 1)
            let x = r.tensor([n, c, h, w]), wt = r.tensor([m, c / group, kh, kw], scale: 0.5)
            let bias = i % 4 == 0 ? nil : r.tensor([m])
            let values: [String: AttributeValue] = ["group": .int(group), "strides": .ints(strides), "pads": .ints(pads),
                                                    "dilations": .ints(dilations)]
            let plain = try referenceConv2D(input: x, weight: wt, bias: bias, strides: strides, pads: pads,
                                            dilations: dilations, group: group)
            let residual = r.tensor(plain.shape)
            let activation: FusedActivation = [.none, .relu, .clip(min: -0.3, max: 0.8), .silu, .sigmoid][i % 5]
            let withResidual = i % 2 == 1
            var expectedValues = try plain.scalars(as: Float.self)
            let rv = try residual.scalars(as: Float.self)
            for q in expectedValues.indices {
                let v = expectedValues[q] + (withResidual ? rv[q] : 0)
                expectedValues[q] = applyActivation(v, activation)
            }
            let expected = try Tensor(shape: plain.shape, scalars: expectedValues)
            let conv = try Conv(attributes: Attributes(op: "Conv", node: "test", values)).fused(with: activation) as! Conv
            for (label, t) in tables {
                let planned = try PlannedConv(conv, weight: wt, bias: bias, kernels: t, node: "test")
                if planned.isDepthwise { depthwise += 1 } else { gemm += 1 }
                for threads in [1, 2] {
                    let inputs: [Tensor?] = withResidual ? [x, wt, bias, residual] : [x, wt, bias]
                    let y = try planned.run(inputs, context: ExecutionContext(threads: threads))[0]
                    assertClose(y, expected, planned.winogradWeights == nil ? .gemm : .winograd,
                                "\(label) case \(i): N\(n) C\(c) H\(h) W\(w) M\(m) g\(group) k\(kh)x\(kw) s\(strides) d\(dilations) p\(pads) residual \(withResidual) \(activation) threads \(threads)")
                }
            }
        }
        XCTAssertGreaterThan(depthwise, 20)
        XCTAssertGreaterThan(gemm, 40)
    }

    /// Convolutions over maps at least two micro-panels wide, where the implicit-im2col packer copies
    /// whole panels whose windows are inside the image (strides 1 and 2, dilation, the stems'
    /// shapes), copies a whole panel that touches a border or crosses the end of an output row run
    /// by run with zeros, and leaves a last partial panel to the general packer: equal to the naive
    /// convolution on every variant, 1 and 2 threads. Tolerance `.gemm`.
    func testIm2colInteriorPanelsMatchReference() throws {
        var r = SeededGenerator(seed: 1729)
        let cases: [(c: Int, h: Int, w: Int, k: Int, stride: Int, pad: Int, dilation: Int, m: Int)] = [
            (3, 19, 140, 7, 2, 3, 1, 16), (3, 12, 140, 3, 2, 1, 1, 7), (5, 9, 80, 5, 1, 2, 1, 13), (2, 12, 90, 5, 1, 0, 2, 6), (4, 6, 140, 1, 2, 0, 1, 9),
            // Rows of whole panels only (112 = 7 · 16): each row's first and last panel touch a border.
            (3, 9, 224, 3, 2, 1, 1, 16), (3, 8, 128, 3, 1, 1, 2, 5),
            // Panels across the end of an output row: SqueezeNet's unpadded 111-wide stem, and a
            // padded stride-1 map of 100 columns.
            (3, 9, 224, 3, 2, 0, 1, 8), (3, 7, 100, 3, 1, 1, 1, 6),
        ]
        for (i, t) in cases.enumerated() {
            let x = r.tensor([1, t.c, t.h, t.w]), wt = r.tensor([t.m, t.c, t.k, t.k], scale: 0.5), bias = r.tensor([t.m])
            let strides = [t.stride, t.stride], pads = [t.pad, t.pad, t.pad, t.pad], dilations = [t.dilation, t.dilation]
            let expected = try referenceConv2D(input: x, weight: wt, bias: bias, strides: strides, pads: pads,
                                               dilations: dilations, group: 1)
            let values: [String: AttributeValue] = ["strides": .ints(strides), "pads": .ints(pads), "dilations": .ints(dilations)]
            let conv = try Conv(attributes: Attributes(op: "Conv", node: "stem", values))
            for (label, table) in tables {
                XCTAssertGreaterThanOrEqual(expected.shape[3], 2 * table.nr, "\(label) case \(i): interior panels exist")
                let planned = try PlannedConv(conv, weight: wt, bias: bias, kernels: table, node: "stem")
                for threads in [1, 2] {
                    let y = try planned.run([x, wt, bias], context: ExecutionContext(threads: threads))[0]
                    assertClose(y, expected, planned.winogradWeights == nil ? .gemm : .winograd, "\(label) case \(i) \(t) threads \(threads)")
                }
            }
        }
    }

    /// A 1×1 convolution of a one-pixel map (a squeeze-and-excitation block's) runs the
    /// matrix–vector path over the stored weights and equals the naive convolution: channel counts
    /// around the 32-output blocks and the vector widths, batch 1 to 3, bias or none, fused
    /// activations, every variant, 1 and 2 threads. With a fused residual it takes the GEMM path.
    /// Tolerance `.gemm`.
    func testPointwiseConvOfOnePixelMatchesReference() throws {
        var r = SeededGenerator(seed: 5150)
        for i in 0..<24 {
            let c = r.pick([1, 7, 16, 17, 240, 960]), m = r.pick([1, 8, 31, 33, 64, 240]), n = r.pick([1, 1, 3])
            let x = r.tensor([n, c, 1, 1]), wt = r.tensor([m, c, 1, 1], scale: 0.5)
            let bias = i % 4 == 0 ? nil : r.tensor([m])
            let activation: FusedActivation = [.none, .relu, .clip(min: -0.3, max: 0.8)][i % 3]
            let withResidual = i % 6 == 5
            let plain = try referenceConv2D(input: x, weight: wt, bias: bias, strides: [1, 1], pads: [0, 0, 0, 0],
                                            dilations: [1, 1], group: 1)
            let residual = r.tensor(plain.shape)
            let rv = try residual.scalars(as: Float.self)
            let expected = try Tensor(shape: plain.shape, scalars: try plain.scalars(as: Float.self).enumerated().map {
                applyActivation($0.element + (withResidual ? rv[$0.offset] : 0), activation)
            })
            let conv = try Conv(attributes: Attributes(op: "Conv", node: "test", [:])).fused(with: activation) as! Conv
            for (label, t) in tables {
                let planned = try PlannedConv(conv, weight: wt, bias: bias, kernels: t, node: "test")
                if c > 1 { XCTAssertNotNil(planned.gemvWeight) } // one input channel is the depthwise path
                for threads in [1, 2] {
                    let inputs: [Tensor?] = withResidual ? [x, wt, bias, residual] : [x, wt, bias]
                    let y = try planned.run(inputs, context: ExecutionContext(threads: threads))[0]
                    assertClose(y, expected, .gemm, "\(label) case \(i): N\(n) C\(c) M\(m) residual \(withResidual) \(activation) threads \(threads)")
                }
            }
        }
    }

    /// `pool_globalPlanes_f32` of every variant: max exactly, mean within 1e-6 relative of a float64
    /// sum (its four-vector order only rounds differently), for plane sizes around the vector and
    /// four-vector widths (1, 7, 49 of a 7×7 map, 63, 64, 65, 196, 3,136) and a plane subrange.
    func testGlobalPoolPlanesMatchReference() {
        var r = SeededGenerator(seed: 6021)
        for size in [1, 7, 49, 63, 64, 65, 196, 3136] {
            let planes = 5
            let x = (0..<(planes * size)).map { _ in Float.random(in: -3...3, using: &r) }
            for (label, t) in tables {
                for isMax in [false, true] {
                    var y = [Float](repeating: .nan, count: planes)
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in t.globalPool(xp.baseAddress!, size, 1..<planes, isMax, yp.baseAddress!) }
                    }
                    XCTAssertTrue(y[0].isNaN, "\(label) size \(size): plane 0 is outside the range")
                    for p in 1..<planes {
                        let plane = x[(p * size)..<((p + 1) * size)]
                        if isMax {
                            XCTAssertEqual(y[p], plane.max()!, "\(label) max size \(size) plane \(p)")
                        } else {
                            let mean = plane.reduce(0.0) { $0 + Double($1) } / Double(size)
                            XCTAssertEqual(Double(y[p]), mean, accuracy: 1e-6 * max(1, abs(mean)), "\(label) mean size \(size) plane \(p)")
                        }
                    }
                }
            }
        }
    }

    /// `pool_maxPlane_f32` of every variant equals the naive `referencePool`: kernels 1–3, strides
    /// 1–3 (the vector paths are strides 1 and 2), dilation, pads, widths around the vector widths,
    /// and windows entirely in the padding (`-greatestFiniteMagnitude`). Exact: a maximum rounds nothing.
    func testMaxPoolPlaneMatchesReference() throws {
        var r = SeededGenerator(seed: 2718)
        for i in 0..<40 {
            let h = r.pick([1, 2, 7, 13, 28]), w = r.pick([1, 7, 8, 9, 17, 33, 111])
            let k = [r.pick([1, 2, 3]), r.pick([1, 2, 3])], s = [r.pick([1, 2, 2, 3]), r.pick([1, 2, 2, 3])]
            let d = i % 5 == 4 ? [2, 2] : [1, 1]
            let pads = [r.int(0...k[0] - 1), r.int(0...k[1] - 1), r.int(0...k[0] - 1), r.int(0...k[1] - 1)]
            guard h + pads[0] + pads[2] >= (k[0] - 1) * d[0] + 1, w + pads[1] + pads[3] >= (k[1] - 1) * d[1] + 1 else { continue }
            let x = r.tensor([1, 1, h, w])
            let expected = try referencePool(x, kernel: k, strides: s, pads: pads, dilations: d, ceilMode: false,
                                             isMax: true, countIncludePad: false)
            let outH = expected.shape[2], outW = expected.shape[3]
            let window = ConvWindow(inH: h, inW: w, outH: outH, outW: outW, kH: k[0], kW: k[1], sH: s[0], sW: s[1],
                                    dH: d[0], dW: d[1], padT: pads[0], padL: pads[1])
            let xv = try x.scalars(as: Float.self)
            for (label, t) in tables {
                var y = [Float](repeating: .nan, count: outH * outW)
                var buffer = [Float](repeating: .nan, count: poolRowBufferCount(inW: w, lanes: t.lanes))
                xv.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        buffer.withUnsafeMutableBufferPointer { bp in
                            t.maxPoolPlane(xp.baseAddress!, window, yp.baseAddress!, bp.baseAddress!)
                        }
                    }
                }
                XCTAssertEqual(y, try expected.scalars(as: Float.self), "\(label) case \(i): \(h)x\(w) k\(k) s\(s) d\(d) p\(pads)")
            }
        }
    }

    /// The Winograd F(4,3) path of ``PlannedConv`` (3×3, stride 1) against a float64 direct
    /// convolution: pads 0–2 and asymmetric, sizes that leave partial edge tiles, whose tiles are
    /// split by blocks over the threads, or whose output channels are, 1 to 64 channels, bias, fused residual and activation,
    /// batch 2, every variant, 1 and 2 threads. Tolerance
    /// `.winograd`; the largest error relative to the output's scale is printed (docs/ops.md).
    func testWinogradConvMatchesFloat64Reference() throws {
        var r = SeededGenerator(seed: 6061)
        var worst: Float = 0
        for i in 0..<28 {
            var c = r.pick([1, 3, 16, 64]), m = r.pick([1, 7, 16, 33])
            // 45×61 maps have enough tiles for the block-parallel split at 2 threads (≥ 4 micro-panels).
            var h = r.pick([5, 14, 17, 28, 45]), w = r.pick([6, 14, 19, 30, 61])
            if i >= 24 {
                // Few tiles and at least twice as many outputs as inputs: at 2 threads each thread
                // takes a share of the output channels (`runWinograd`).
                (c, m, h, w) = [(3, 33, 14, 19), (16, 33, 17, 14), (16, 64, 9, 21), (7, 40, 13, 13)][i - 24]
            }
            let pads = i % 4 == 0 ? [0, 0, 0, 0] : i % 4 == 1 ? [1, 1, 1, 1] : [r.int(0...2), r.int(0...2), r.int(0...2), r.int(0...2)]
            let n = i % 6 == 5 ? 2 : 1
            let x = r.tensor([n, c, h, w]), wt = r.tensor([m, c, 3, 3], scale: 0.5), bias = r.tensor([m])
            let activation: FusedActivation = [.none, .relu, .clip(min: -0.3, max: 0.8)][i % 3]
            let withResidual = i % 2 == 1
            let xv = try x.scalars(as: Float.self), wv = try wt.scalars(as: Float.self), bv = try bias.scalars(as: Float.self)
            let outH = h + pads[0] + pads[2] - 2, outW = w + pads[1] + pads[3] - 2
            let residual = r.tensor([n, m, outH, outW])
            let rv = try residual.scalars(as: Float.self)
            var expected = [Float](repeating: 0, count: n * m * outH * outW)
            for b in 0..<n {
                for o in 0..<m {
                    for oy in 0..<outH {
                        for ox in 0..<outW {
                            var s = Double(bv[o])
                            for ci in 0..<c {
                                for ky in 0..<3 {
                                    let iy = oy + ky - pads[0]
                                    if iy < 0 || iy >= h { continue }
                                    for kx in 0..<3 {
                                        let ix = ox + kx - pads[1]
                                        if ix < 0 || ix >= w { continue }
                                        s += Double(xv[((b * c + ci) * h + iy) * w + ix]) * Double(wv[((o * c + ci) * 3 + ky) * 3 + kx])
                                    }
                                }
                            }
                            let q = ((b * m + o) * outH + oy) * outW + ox
                            expected[q] = applyActivation(Float(s) + (withResidual ? rv[q] : 0), activation)
                        }
                    }
                }
            }
            let expectedTensor = try Tensor(shape: [n, m, outH, outW], scalars: expected)
            let scale = max(expected.map { Swift.abs($0) }.max() ?? 1, 1e-3)
            let values: [String: AttributeValue] = ["pads": .ints(pads)]
            let conv = try Conv(attributes: Attributes(op: "Conv", node: "test", values)).fused(with: activation) as! Conv
            for (label, t) in tables {
                let planned = try PlannedConv(conv, weight: wt, bias: bias, kernels: t, node: "test")
                if c > 1 { XCTAssertNotNil(planned.winogradWeights) } // one input channel: the depthwise kernel
                for threads in [1, 2] {
                    let inputs: [Tensor?] = withResidual ? [x, wt, bias, residual] : [x, wt, bias]
                    let y = try planned.run(inputs, context: ExecutionContext(threads: threads))[0]
                    let yv = try y.scalars(as: Float.self)
                    for q in yv.indices { worst = max(worst, Swift.abs(yv[q] - expected[q]) / scale) }
                    assertClose(y, expectedTensor, .winograd,
                                "\(label) case \(i): N\(n) C\(c) H\(h) W\(w) M\(m) p\(pads) residual \(withResidual) \(activation) threads \(threads)")
                }
                // The transformed filters exist only once a map large enough for Winograd ran.
                let tiles = ((outH + 3) / 4) * ((outW + 3) / 4)
                if c > 1 { XCTAssertEqual(planned.winogradWeights?.isPrepared, tiles >= PlannedConv.winogradMinimumTiles) }
            }
        }
        print("Winograd F(4,3): largest error relative to the output scale \(worst)")
    }

    /// The 3×3 depthwise kernel (weights in registers, one instantiation per horizontal stride) on
    /// every stride pair, odd and even sizes, channel multipliers 1 and 2, with bias and ReLU6.
    /// Tolerance `.gemm` against the naive reference.
    func testDepthwise3x3MatchesReference() throws {
        var r = SeededGenerator(seed: 33)
        for (sh, sw) in [(1, 1), (2, 2), (1, 2), (2, 1)] {
            for (h, w, multiplier) in [(7, 9, 1), (14, 13, 2), (5, 33, 1)] {
                let c = 3, m = c * multiplier
                let x = r.tensor([1, c, h, w]), wt = r.tensor([m, 1, 3, 3]), bias = r.tensor([m])
                let strides = [sh, sw], pads = [1, 1, 1, 1]
                let plain = try referenceConv2D(input: x, weight: wt, bias: bias, strides: strides, pads: pads,
                                                dilations: [1, 1], group: c)
                let expected = try Tensor(shape: plain.shape, scalars: try plain.scalars(as: Float.self).map { min(max($0, 0), 6) })
                let values: [String: AttributeValue] = ["group": .int(c), "strides": .ints(strides), "pads": .ints(pads)]
                let conv = try Conv(attributes: Attributes(op: "Conv", node: "dw", values)).fused(with: .clip(min: 0, max: 6)) as! Conv
                for (label, t) in tables {
                    let planned = try PlannedConv(conv, weight: wt, bias: bias, kernels: t, node: "dw")
                    XCTAssertTrue(planned.isDepthwise)
                    let y = try planned.run([x, wt, bias], context: ExecutionContext(threads: 2))[0]
                    assertClose(y, expected, .gemm, "\(label) stride \(strides) \(h)x\(w) multiplier \(multiplier)")
                }
            }
        }
    }

    /// The channel-blocked depthwise kernel on maps large enough to be cut into several bands of
    /// output rows (band edges, input rows shared by two bands), channel counts that leave a
    /// partial last block, 3×3 and dilated 5×5 windows, strides 1 and 2, asymmetric pads, batch 2,
    /// a fused residual and activation; every variant, 1 and 2 threads. Tolerance `.gemm` against
    /// the naive reference.
    func testBlockedDepthwiseBandsMatchReference() throws {
        var r = SeededGenerator(seed: 515)
        let cases: [(n: Int, c: Int, h: Int, w: Int, k: Int, stride: Int, dilation: Int, pads: [Int])] = [
            (1, 10, 70, 90, 3, 1, 1, [1, 1, 1, 1]),
            (2, 21, 64, 57, 3, 2, 1, [0, 1, 1, 0]),
            (1, 16, 41, 66, 5, 1, 2, [4, 3, 2, 4]),
            (1, 7, 33, 120, 3, 2, 1, [1, 1, 1, 1]),
            // Narrow 5×5 maps (eight pixels at a time across row ends, then four, then single).
            (1, 19, 14, 13, 5, 1, 1, [2, 2, 2, 2]),
            (2, 9, 15, 11, 5, 2, 1, [2, 1, 2, 2]),
            // 5×5 on rows of at least 8 outputs (the row kernel, eight pixels then single ones), strides 1 and 2.
            (1, 12, 20, 37, 5, 2, 1, [2, 2, 2, 2]),
            (1, 21, 9, 23, 5, 1, 1, [2, 2, 2, 2]),
        ]
        for (i, t) in cases.enumerated() {
            let x = r.tensor([t.n, t.c, t.h, t.w]), wt = r.tensor([t.c, 1, t.k, t.k], scale: 0.5), bias = r.tensor([t.c])
            let strides = [t.stride, t.stride], dilations = [t.dilation, t.dilation]
            let plain = try referenceConv2D(input: x, weight: wt, bias: bias, strides: strides, pads: t.pads,
                                            dilations: dilations, group: t.c)
            let residual = r.tensor(plain.shape)
            let activation: FusedActivation = [.relu, .clip(min: -0.3, max: 0.8), .silu][i % 3]
            let withResidual = i % 2 == 1
            let pv = try plain.scalars(as: Float.self), rv = try residual.scalars(as: Float.self)
            let expected = try Tensor(shape: plain.shape, scalars: pv.indices.map {
                applyActivation(pv[$0] + (withResidual ? rv[$0] : 0), activation)
            })
            let values: [String: AttributeValue] = ["group": .int(t.c), "strides": .ints(strides), "pads": .ints(t.pads),
                                                    "dilations": .ints(dilations)]
            let conv = try Conv(attributes: Attributes(op: "Conv", node: "dw", values)).fused(with: activation) as! Conv
            for (label, table) in tables {
                let planned = try PlannedConv(conv, weight: wt, bias: bias, kernels: table, node: "dw")
                XCTAssertNotNil(planned.blockedFilters, "\(label) case \(i): one output per input channel")
                let outH = plain.shape[2], outW = plain.shape[3]
                let window = ConvWindow(inH: t.h, inW: t.w, outH: outH, outW: outW, kH: t.k, kW: t.k, sH: t.stride, sW: t.stride,
                                        dH: t.dilation, dW: t.dilation, padT: t.pads[0], padL: t.pads[1])
                if t.h >= 32 { XCTAssertLessThan(window.blockedBandRows(lanes: table.lanes), outH, "\(label) case \(i): several bands") }
                for threads in [1, 2] {
                    let inputs: [Tensor?] = withResidual ? [x, wt, bias, residual] : [x, wt, bias]
                    let y = try planned.run(inputs, context: ExecutionContext(threads: threads))[0]
                    assertClose(y, expected, .gemm, "\(label) case \(i) \(t) threads \(threads)")
                }
            }
        }
    }

    /// A residual whose shape differs from the output (a broadcast `Add`) is added after the
    /// convolution with broadcasting, and the activation still comes last.
    func testBroadcastResidualFallsBackExactly() throws {
        var r = SeededGenerator(seed: 8)
        let x = r.tensor([1, 4, 6, 6]), wt = r.tensor([5, 4, 3, 3]), b = r.tensor([5]), res = r.tensor([1, 5, 1, 1])
        let values: [String: AttributeValue] = ["pads": .ints([1, 1, 1, 1])]
        let conv = try Conv(attributes: Attributes(op: "Conv", node: "test", values)).fused(with: .relu) as! Conv
        let plain = try referenceConv2D(input: x, weight: wt, bias: b, strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1)
        let sum = try broadcastArithmetic(.add, plain, res, op: "Add", context: ExecutionContext())
        let expected = try Tensor(shape: sum.shape, scalars: try sum.scalars(as: Float.self).map { max($0, 0) })
        let planned = try PlannedConv(conv, weight: wt, bias: b, kernels: KernelDispatch.table(), node: "test")
        assertClose(try planned.run([x, wt, b, res], context: ExecutionContext())[0], expected, .gemm)
        assertClose(try conv.run([x, wt, b, res], context: ExecutionContext())[0], expected, .gemm)
    }
}

private extension SeededGenerator {
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    mutating func pick<T>(_ values: [T]) -> T { values[int(0...(values.count - 1))] }
    mutating func float(_ scale: Float = 1) -> Float { (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * scale }
    mutating func floats(_ n: Int) -> [Float] { (0..<n).map { _ in float() } }
    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        try! Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in float(scale) })
    }
}
