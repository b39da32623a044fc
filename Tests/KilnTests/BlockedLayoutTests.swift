import Foundation
import XCTest
@testable import Kiln
import KilnKernels
import KilnTestSupport

/// Kiln's channel-blocked activation layout (`NCHWc`, `BlockedLayout.swift`): the 1×1 and depthwise
/// convolutions in each combination of input and output layouts, the blocked global pools and
/// arithmetic, on every kernel variant this CPU runs, against the naive references on the plain
/// layout; and the plan's layout assignment on a MobileNet-style graph against the same graph planned
/// with every value plain.
final class BlockedLayoutTests: XCTestCase {
    private var tables: [(String, KernelTable)] { kernelTablesUnderTest() }

    /// `t` (`[N, C, H, W]`) in the blocked layout, by the definition: element (n, c, p) at
    /// `((n·C/L + c/L)·HW + p)·L + c mod L`. Written independently of `BlockedLayout`.
    private func blocked(_ t: Tensor, lanes: Int) throws -> Tensor {
        let s = t.shape, v = try t.scalars(as: Float.self)
        let n = s[0], c = s[1], hw = s[2] * s[3]
        var out = [Float](repeating: .nan, count: v.count)
        for i in 0..<n { for ch in 0..<c { for p in 0..<hw {
            out[((i * (c / lanes) + ch / lanes) * hw + p) * lanes + ch % lanes] = v[(i * c + ch) * hw + p]
        } } }
        return try Tensor(shape: s, scalars: out)
    }

    /// The inverse of `blocked`.
    private func plain(_ t: Tensor, lanes: Int) throws -> Tensor {
        let s = t.shape, v = try t.scalars(as: Float.self)
        let n = s[0], c = s[1], hw = s[2] * s[3]
        var out = [Float](repeating: .nan, count: v.count)
        for i in 0..<n { for ch in 0..<c { for p in 0..<hw {
            out[(i * c + ch) * hw + p] = v[((i * (c / lanes) + ch / lanes) * hw + p) * lanes + ch % lanes]
        } } }
        return try Tensor(shape: s, scalars: out)
    }

    /// 1×1 convolutions writing the blocked layout from a plain or a blocked input (tile edges of
    /// 6, 4 and 1 pixels, one- and two-vector panels, bias, blocked residual, cheap and costly
    /// activations, batch 2), and depthwise convolutions in three layout combinations (a blocked
    /// input read in place on wide maps, copied on narrow ones): equal to the naive convolution on
    /// the plain layout, 1 and 2 threads. Tolerance `.gemm`.
    func testBlockedConvolutionsMatchReference() throws {
        var r = SeededGenerator(seed: 77)
        for (label, table) in tables {
            let L = table.lanes
            // (n, c, h, w, m): m a multiple of L; for a blocked input c is one too.
            let pointwise: [(n: Int, c: Int, h: Int, w: Int, m: Int)] = [
                (1, 5, 3, 5, L), (2, 2 * L, 7, 7, 3 * L), (1, L, 2, 5, 2 * L), (1, 3 * L, 14, 14, 2 * L), (1, 17, 1, 1, L), (1, 2 * L, 1, 9, 4 * L),
            ]
            for (i, t) in pointwise.enumerated() {
                for (inputBlocked, outputBlocked) in [(false, true), (true, true), (true, false)] where !inputBlocked || t.c % L == 0 {
                    let activation: FusedActivation = [.none, .relu, .clip(min: -0.3, max: 0.8), .silu, .hardSwish][(i + (inputBlocked ? 2 : 0) + (outputBlocked ? 0 : 1)) % 5]
                    try checkConv(label, table, n: t.n, c: t.c, h: t.h, w: t.w, m: t.m, k: 1, stride: 1, pad: 0, group: 1,
                                  activation: activation, residual: i % 2 == 0, input: inputBlocked, output: outputBlocked, rng: &r)
                }
            }
            // Stems: the direct kernel (plain input, blocked output), border pixels one by one.
            let stems: [(n: Int, c: Int, h: Int, w: Int, m: Int, k: Int, stride: Int, pad: Int)] = [
                (1, 3, 17, 23, 2 * L, 3, 2, 1), (2, 3, 12, 13, L, 3, 2, 0), (1, 2, 9, 15, 3 * L, 5, 1, 2), (1, 3, 4, 3, 2 * L, 3, 1, 1),
            ]
            for (i, t) in stems.enumerated() {
                let activation: FusedActivation = [.relu, .hardSwish, .silu, .none][i % 4]
                try checkConv(label, table, n: t.n, c: t.c, h: t.h, w: t.w, m: t.m, k: t.k, stride: t.stride, pad: t.pad, group: 1,
                              activation: activation, residual: false, input: false, output: true, rng: &r)
            }
            // A blocked input is read in place from 14 output columns at stride 2 and 56 at stride 1
            // (interior rows through the row kernels, border pixels tap by tap): 15, 16 (3×3 stride 2
            // on an odd width), 60, 57 (rows all border: 5×5 on 2 rows), 56 (5×5, batch 2); the
            // others copy into the scratch.
            let depthwise: [(n: Int, h: Int, w: Int, k: Int, stride: Int)] = [
                (1, 12, 17, 3, 1), (2, 9, 9, 3, 2), (1, 7, 7, 5, 1), (1, 14, 30, 5, 2), (1, 40, 37, 3, 1),
                (1, 15, 31, 3, 2), (1, 5, 60, 3, 1), (1, 2, 57, 5, 1), (2, 6, 56, 5, 1),
            ]
            for (i, t) in depthwise.enumerated() {
                for (input, output) in [(true, true), (true, false), (false, true)] {
                    let activation: FusedActivation = [.relu, .silu, .none][i % 3]
                    try checkConv(label, table, n: t.n, c: 2 * L, h: t.h, w: t.w, m: 2 * L, k: t.k, stride: t.stride, pad: t.k / 2,
                                  group: 2 * L, activation: activation, residual: t.stride == 1 && i % 2 == 0,
                                  input: input, output: output, rng: &r)
                }
            }
        }
    }

    private func checkConv(_ label: String, _ table: KernelTable, n: Int, c: Int, h: Int, w: Int, m: Int, k: Int, stride: Int, pad: Int,
                           group: Int, activation: FusedActivation, residual withResidual: Bool, input: Bool, output: Bool,
                           rng r: inout SeededGenerator) throws {
        let L = table.lanes
        let x = r.tensor([n, c, h, w]), wt = r.tensor([m, c / group, k, k], scale: 0.5), bias = r.tensor([m])
        let strides = [stride, stride], pads = [pad, pad, pad, pad]
        let reference = try referenceConv2D(input: x, weight: wt, bias: bias, strides: strides, pads: pads, dilations: [1, 1], group: group)
        let res = r.tensor(reference.shape)
        let rv = try res.scalars(as: Float.self), pv = try reference.scalars(as: Float.self)
        let expected = try Tensor(shape: reference.shape, scalars: pv.indices.map {
            applyActivation(pv[$0] + (withResidual ? rv[$0] : 0), activation)
        })
        let values: [String: AttributeValue] = ["group": .int(group), "strides": .ints(strides), "pads": .ints(pads)]
        var conv = try Conv(attributes: Attributes(op: "Conv", node: "c", values)).fused(with: activation) as! Conv
        let what = "\(label) N\(n) C\(c) \(h)×\(w) M\(m) k\(k) s\(stride) g\(group) \(activation) residual \(withResidual) in \(input ? "blocked" : "plain") out \(output ? "blocked" : "plain")"
        XCTAssertEqual(conv.blockedKind(weight: wt, bias: bias, hasBias: true, lanes: L), k == 1 ? .pointwise : group == 1 ? .direct : .depthwise, what)
        conv.blockedInput = input
        conv.blockedOutput = output
        let planned = try PlannedConv(conv, weight: wt, bias: bias, kernels: table, node: "c")
        let xin = input ? try blocked(x, lanes: L) : x
        let rin = output ? try blocked(res, lanes: L) : res
        for threads in [1, 2] {
            let inputs: [Tensor?] = withResidual ? [xin, wt, bias, rin] : [xin, wt, bias]
            var y = try planned.run(inputs, context: ExecutionContext(threads: threads))[0]
            if output { y = try plain(y, lanes: L) }
            assertClose(y, expected, .gemm, "\(what) threads \(threads)")
        }
    }

    /// Global average and max pools of a blocked input, and `Add`/`Sub`/`Mul`/`Div` of a blocked
    /// operand with a per-channel vector (either side, per image or shared), a scalar, a blocked
    /// operand of the same shape, and a shape the blocked kernels do not cover (converted): equal
    /// to the portable ops on the plain layout. Tolerance `.exact` (the same float operations, and
    /// the mean's sum in a different order: `.reduction` for the average pool).
    func testBlockedPoolsAndArithmeticMatchPlain() throws {
        var r = SeededGenerator(seed: 78)
        let context = ExecutionContext(threads: 2)
        for (label, table) in tables {
            let L = table.lanes
            let x = r.tensor([2, 3 * L, 5, 7]), xb = try blocked(x, lanes: L)
            for (isMax, base) in [(false, try GlobalAveragePool(attributes: Attributes(op: "GlobalAveragePool", node: "p", [:])) as any SingleOutputOperator),
                                  (true, try GlobalMaxPool(attributes: Attributes(op: "GlobalMaxPool", node: "p", [:])))] {
                let pool = BlockedGlobalPool(base: base, isMax: isMax, kernels: table)
                assertClose(try pool.output([xb], context: context), try base.output([x], context: context),
                            isMax ? .exact : .reduction, "\(label) pool max \(isMax)")
            }
            let ops: [(ArithmeticKind, any SingleOutputOperator)] = [
                (.add, try Add(attributes: Attributes(op: "Add", node: "a", [:]))), (.sub, try Sub(attributes: Attributes(op: "Sub", node: "a", [:]))),
                (.mul, try Mul(attributes: Attributes(op: "Mul", node: "a", [:]))), (.div, try Div(attributes: Attributes(op: "Div", node: "a", [:]))),
            ]
            let others: [(String, Tensor, Bool)] = [
                ("per-image channels", r.tensor([2, 3 * L, 1, 1]), false), ("shared channels", r.tensor([3 * L, 1, 1]), false),
                ("scalar", r.tensor([1]), false), ("same shape, blocked", r.tensor([2, 3 * L, 5, 7]), true),
                ("per-pixel (converted)", r.tensor([1, 1, 5, 7]), false),
            ]
            for (kind, base) in ops {
                for (name, v, vBlocked) in others {
                    let vin = vBlocked ? try blocked(v, lanes: L) : v
                    for xFirst in [true, false] {
                        let op = BlockedBinary(base: base, kind: kind, inputBlocked: xFirst ? (true, vBlocked) : (vBlocked, true),
                                               outputBlocked: true, kernels: table)
                        let y = try plain(try op.output(xFirst ? [xb, vin] : [vin, xb], context: context), lanes: L)
                        let expected = try base.output(xFirst ? [x, v] : [v, x], context: context)
                        assertClose(y, expected, .exact, "\(label) \(kind) \(name) blocked operand first \(xFirst)")
                    }
                }
                // The plan's blocked operand is one pixel per plane (stored as plain) and the other
                // a plain map: the result is still delivered blocked.
                let gate = r.tensor([2, 3 * L, 1, 1])
                let mixed = BlockedBinary(base: base, kind: kind, inputBlocked: (true, false), outputBlocked: true, kernels: table)
                assertClose(try plain(try mixed.output([gate, x], context: context), lanes: L), try base.output([gate, x], context: context),
                            .exact, "\(label) \(kind) one-pixel blocked operand")
                // A blocked operand into a plain output (a reader that does not take the layout).
                let v = r.tensor([1, 3 * L, 1, 1])
                let op = BlockedBinary(base: base, kind: kind, inputBlocked: (true, false), outputBlocked: false, kernels: table)
                assertClose(try op.output([xb, v], context: context), try base.output([x, v], context: context), .exact, "\(label) \(kind) plain output")
            }
        }
    }

    /// A MobileNetV3/EfficientNet-style graph — 1×1 stem, expand, depthwise, squeeze-and-excitation
    /// (global pool, two 1×1 convolutions, sigmoid, `Mul`), project with the residual `Add`, a last
    /// 1×1 convolution, global pool — planned with blocked layouts: the values between the
    /// convolutions are blocked (and the graph outputs are not), and every output equals the plan
    /// with all values plain, on every variant, 1 and 2 threads. Tolerance `.gemm`.
    func testPlanBlocksAMobileNetBlockAndMatchesPlain() throws {
        var g = SeededGenerator(seed: 79)
        let c = 32, e = 64, se = 16 // multiples of 16: blocked on the AVX-512 variant too
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(c), .fixed(9), .fixed(11)])]
        w.outputs = [ValueInfo(name: "pooled", dtype: .float32, shape: [.symbol("N"), .fixed(e), .fixed(1), .fixed(1)]),
                     ValueInfo(name: "head", dtype: .float32, shape: [.symbol("N"), .fixed(e), .fixed(9), .fixed(11)])]
        w.tensors = [("w0", g.tensor([c, c, 1, 1], scale: 0.3)), ("b0", g.tensor([c])),
                     ("w1", g.tensor([e, c, 1, 1], scale: 0.3)), ("b1", g.tensor([e])),
                     ("w2", g.tensor([e, 1, 3, 3], scale: 0.5)), ("b2", g.tensor([e])),
                     ("w3", g.tensor([se, e, 1, 1], scale: 0.3)), ("b3", g.tensor([se])),
                     ("w4", g.tensor([e, se, 1, 1], scale: 0.3)), ("b4", g.tensor([e])),
                     ("w5", g.tensor([c, e, 1, 1], scale: 0.3)), ("b5", g.tensor([c])),
                     ("w6", g.tensor([e, c, 1, 1], scale: 0.3)), ("b6", g.tensor([e]))]
        w.nodes = [
            node("stem", "Conv", ["x", "w0", "b0"], "s0"), node("stem_relu", "Relu", ["s0"], "s"),
            node("expand", "Conv", ["s", "w1", "b1"], "e0"), node("expand_act", "HardSwish", ["e0"], "e"),
            node("dw", "Conv", ["e", "w2", "b2"], "d0", ["group": .int(e), "pads": .ints([1, 1, 1, 1])]), node("dw_relu", "Relu", ["d0"], "d"),
            node("se_pool", "GlobalAveragePool", ["d"], "q"), node("se_reduce", "Conv", ["q", "w3", "b3"], "q1"),
            node("se_relu", "Relu", ["q1"], "q2"), node("se_expand", "Conv", ["q2", "w4", "b4"], "q3"),
            node("se_gate", "Sigmoid", ["q3"], "q4"), node("se_scale", "Mul", ["d", "q4"], "z"),
            node("project", "Conv", ["z", "w5", "b5"], "p"), node("residual", "Add", ["p", "s"], "t"),
            node("head", "Conv", ["t", "w6", "b6"], "head"), node("pool", "GlobalAveragePool", ["head"], "h1"),
            node("tail", "Conv", ["t", "w6", "b6"], "u"), node("tail_pool", "GlobalAveragePool", ["u"], "pooled"),
        ]
        let input = g.tensor([2, c, 9, 11])
        try forEachPlan(w) { model, reference, what in
            let isa = what
            let convs = model.plan.steps.compactMap { $0.op as? PlannedConv }
            let writes = convs.filter(\.outputBlocked).count, reads = convs.filter(\.inputBlocked).count
            // stem, expand, dw, project, tail write blocked (head is a graph output; the squeeze
            // convolutions' values are one pixel per plane, never blocked); expand, dw, project,
            // head and tail read it.
            XCTAssertGreaterThanOrEqual(writes, 5, "\(isa): \(model.plan.steps.map { "\($0.node) \(type(of: $0.op))" })")
            XCTAssertGreaterThanOrEqual(reads, 4, "\(isa)")
            XCTAssertTrue(model.plan.steps.contains { $0.op is BlockedBinary }, "\(isa): the SE scale reads the blocked map")
            XCTAssertTrue(model.plan.steps.contains { $0.op is BlockedGlobalPool }, "\(isa): the pools read the blocked map")
            let expected = try reference.predict(["x": input])
            let got = try model.predict(["x": input])
            for name in ["pooled", "head"] {
                assertClose(try XCTUnwrap(got[name]), try XCTUnwrap(expected[name]), .gemm, "\(isa) output \(name)")
            }
        }
    }
}

extension BlockedLayoutTests {
    /// A RegNetY-style block: the map the squeeze-and-excitation gate scales comes from a
    /// convolution without a blocked kernel (plain), the gate from a 1×1 convolution with a fused
    /// sigmoid (one pixel per plane), and the project convolution could read a blocked product.
    /// The one-pixel gate must not make the product "blocked" while it is stored plain: the outputs
    /// equal the all-plain plan on every variant. Tolerance `.gemm`.
    func testPlanWithAOnePixelGateMatchesPlain() throws {
        var g = SeededGenerator(seed: 80)
        let c = 32, se = 16
        var w = ArtifactWriter()
        w.inputs = [ValueInfo(name: "x", dtype: .float32, shape: [.symbol("N"), .fixed(c), .fixed(7), .fixed(9)])]
        w.outputs = [ValueInfo(name: "y", dtype: .float32, shape: [.symbol("N"), .fixed(c), .fixed(7), .fixed(9)])]
        w.tensors = [("wb", g.tensor([c, c, 3, 3], scale: 0.2)), ("bb", g.tensor([c])),
                     ("w1", g.tensor([se, c, 1, 1], scale: 0.3)), ("b1", g.tensor([se])),
                     ("w2", g.tensor([c, se, 1, 1], scale: 0.3)), ("b2", g.tensor([c])),
                     ("wc", g.tensor([c, c, 1, 1], scale: 0.3)), ("bc", g.tensor([c])),
                     ("wh", g.tensor([c, c, 1, 1], scale: 0.3)), ("bh", g.tensor([c]))]
        w.nodes = [
            node("b", "Conv", ["x", "wb", "bb"], "b0", ["pads": .ints([1, 1, 1, 1])]), node("b_relu", "Relu", ["b0"], "b"),
            node("pool", "GlobalAveragePool", ["b"], "q"), node("fc1", "Conv", ["q", "w1", "b1"], "q1"), node("fc1_relu", "Relu", ["q1"], "q2"),
            node("fc2", "Conv", ["q2", "w2", "b2"], "q3"), node("gate", "Sigmoid", ["q3"], "q4"), node("scale", "Mul", ["q4", "b"], "z"),
            node("c", "Conv", ["z", "wc", "bc"], "p"), node("residual", "Add", ["p", "x"], "t"), node("t_relu", "Relu", ["t"], "u"),
            node("head", "Conv", ["u", "wh", "bh"], "y"),
        ]
        try forEachPlan(w) { model, reference, what in
            let input = g.tensor([2, c, 7, 9])
            assertClose(try XCTUnwrap(model.predict(["x": input])["y"]), try XCTUnwrap(reference.predict(["x": input])["y"]), .gemm, what)
        }
    }

    /// `body(blocked, allPlain, label)` for the model `w` on every variant, 1 and 2 threads.
    func forEachPlan(_ w: ArtifactWriter, _ body: (Model, Model, String) throws -> Void) throws {
        let artifact = try Artifact(bytes: w.encode())
        for isa in KernelDispatch.supported {
            for threads in [1, 2] {
                var options = Model.Options(threads: threads, isa: isa)
                let model = try Model(artifact: artifact, options: options)
                options.blockedLayouts = false
                try body(model, try Model(artifact: artifact, options: options), "\(isa) threads \(threads)")
            }
        }
    }
}

/// A node with one output.
private func node(_ name: String, _ op: String, _ ins: [String], _ out: String, _ attrs: [String: AttributeValue] = [:]) -> NodeDef {
    NodeDef(name: name, op: op, inputs: ins, outputs: [out], attributes: Attributes(op: op, node: name, attrs))
}

private extension SeededGenerator {
    mutating func float(_ scale: Float = 1) -> Float { (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * scale }
    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        try! Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in float(scale) })
    }
}
