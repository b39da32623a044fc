import XCTest
@testable import Kiln
import KilnTestSupport

/// A small deterministic generator (SeededGenerator) for the random-problem tests.
private extension SeededGenerator {
    /// Uniform in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    mutating func pick<T>(_ values: [T]) -> T { values[int(0...(values.count - 1))] }
    /// Uniform in [-scale, scale).
    mutating func float(_ scale: Float = 1) -> Float {
        (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        let n = shape.reduce(1, *)
        return try! Tensor(shape: shape, scalars: (0..<n).map { _ in float(scale) })
    }
}

private func attrs(_ op: String, _ values: [String: AttributeValue]) -> Attributes {
    Attributes(op: op, node: "test", values)
}

private func runOp(_ op: String, _ values: [String: AttributeValue], _ inputs: [Tensor?], threads: Int = 1) throws -> Tensor {
    let o = try OpRegistry.standard.make(op, attributes: attrs(op, values))
    return try o.run(inputs, context: ExecutionContext(threads: threads, node: "test"))[0]
}

/// Conv and ConvTranspose: fixtures from PyTorch / ONNX Runtime (`Fixtures/kernels/gen_conv.py`),
/// random problems against the naive reference in `KilnTestSupport/ReferenceConv.swift`, fused
/// activations, and invalid arguments.
final class ConvTests: XCTestCase {
    func testFixtures() {
        runFixtureFamily("conv")
    }

    // MARK: Random problems

    /// One random Conv problem: the kind picks which kernel path it exercises.
    private struct ConvProblem: CustomStringConvertible {
        var n = 1, c = 1, h = 1, w = 1, m = 1, group = 1, kh = 1, kw = 1
        var strides = [1, 1], dilations = [1, 1], pads = [0, 0, 0, 0]
        var bias = true, oneD = false
        var description: String {
            "N\(n) C\(c) \(oneD ? "" : "H\(h) ")W\(w) M\(m) g\(group) k\(kh)x\(kw) s\(strides) d\(dilations) p\(pads) bias \(bias)"
        }
    }

    private func randomConvProblem(_ r: inout SeededGenerator, index: Int) -> ConvProblem {
        var p = ConvProblem()
        let tails = [1, 7, 8, 9, 17]
        p.n = r.int(1...2)
        switch index % 5 {
        case 0:  // depthwise
            p.c = r.pick(tails); p.group = p.c; p.m = p.c
        case 1:  // depthwise with channel multiplier
            p.c = r.pick([1, 3, 7, 9]); p.group = p.c; p.m = p.c * r.int(2...3)
        case 2:  // grouped
            p.group = r.int(2...4); p.c = p.group * r.pick([1, 2, 3, 5]); p.m = p.group * r.pick([1, 2, 3])
        case 3:  // 1×1 (pointwise when stride 1 and unpadded)
            p.c = r.pick(tails); p.m = r.pick(tails)
        default:  // general
            p.c = r.pick(tails); p.m = r.pick(tails)
        }
        p.oneD = index % 7 == 6
        let pointwise = index % 5 == 3
        p.kh = p.oneD || pointwise ? 1 : r.int(1...5)
        p.kw = pointwise ? 1 : r.int(1...5)
        p.strides = [p.oneD ? 1 : r.int(1...3), r.int(1...3)]
        if pointwise && index % 10 == 3 { p.strides = [1, 1] }
        p.dilations = [p.oneD ? 1 : r.int(1...2), r.int(1...2)]
        if r.int(0...2) == 0 { p.dilations = [1, 1] }
        if index % 10 == 0 && !p.oneD {
            // The register-blocked depthwise 3×3 path (dilation 1, horizontal stride 1 or 2).
            p.kh = 3; p.kw = 3; p.dilations = [1, 1]; p.strides = [r.int(1...2), index / 10 % 2 + 1]
        }
        if pointwise && index % 10 == 3 {
            p.pads = [0, 0, 0, 0]
        } else {
            p.pads = [p.oneD ? 0 : r.int(0...3), r.int(0...3), p.oneD ? 0 : r.int(0...3), r.int(0...3)]
        }
        // Sizes: 1, primes and widths around the 8-lane SIMD block; never smaller than the window.
        let extentH = (p.kh - 1) * p.dilations[0] + 1, extentW = (p.kw - 1) * p.dilations[1] + 1
        p.h = p.oneD ? 1 : max(r.pick([1, 2, 5, 7, 8, 9, 13]), extentH - p.pads[0] - p.pads[2])
        p.w = max(r.pick([1, 3, 8, 9, 16, 17, 23, 31]), extentW - p.pads[1] - p.pads[3])
        if index % 10 == 0 { p.w = r.pick([9, 16, 17, 23, 31, 40]) }  // wide enough for the SIMD interior
        p.bias = r.int(0...3) != 0
        return p
    }

    func testRandomConvMatchesReference() throws {
        var r = SeededGenerator(seed: 20_240_601)
        var paths: [ConvAlgorithm: Int] = [:]
        for i in 0..<110 {
            let p = randomConvProblem(&r, index: i)
            let x4 = r.tensor([p.n, p.c, p.h, p.w])
            let w4 = r.tensor([p.m, p.c / p.group, p.kh, p.kw], scale: 0.5)
            let b = p.bias ? r.tensor([p.m]) : nil
            let expected = try referenceConv2D(input: x4, weight: w4, bias: b, strides: p.strides, pads: p.pads,
                                               dilations: p.dilations, group: p.group)
            var values: [String: AttributeValue] = ["group": .int(p.group)]
            var x = x4, w = w4
            if p.oneD {
                x = try x4.reshaped([p.n, p.c, p.w]); w = try w4.reshaped([p.m, p.c / p.group, p.kw])
                values["strides"] = .ints([p.strides[1]]); values["dilations"] = .ints([p.dilations[1]])
                values["pads"] = .ints([p.pads[1], p.pads[3]])
            } else {
                values["strides"] = .ints(p.strides); values["dilations"] = .ints(p.dilations); values["pads"] = .ints(p.pads)
            }
            let conv = try Conv(attributes: attrs("Conv", values))
            let (g, _) = try conv.geometry(input: x.shape, weight: w.shape, bias: b?.shape, node: nil)
            paths[g.algorithm, default: 0] += 1
            for threads in [1, 2] {
                let y = try conv.run([x, w, b], context: ExecutionContext(threads: threads))[0]
                assertClose(try y.reshaped(expected.shape), expected, .gemm, "case \(i) [\(p)] threads \(threads)")
            }
        }
        // Every kernel path must actually have been exercised.
        XCTAssertGreaterThan(paths[.depthwise] ?? 0, 20)
        XCTAssertGreaterThan(paths[.pointwiseGEMM] ?? 0, 5)
        XCTAssertGreaterThan(paths[.im2colGEMM] ?? 0, 40)
    }

    func testRandomConvTransposeMatchesReference() throws {
        var r = SeededGenerator(seed: 77)
        let tails = [1, 7, 8, 9, 17]
        for i in 0..<70 {
            let group = i % 4 == 0 ? r.int(2...4) : 1
            let c = group * (group > 1 ? r.pick([1, 2, 3]) : r.pick(tails))
            let mg = group > 1 ? r.pick([1, 2, 3]) : r.pick(tails)
            let oneD = i % 6 == 5
            let pointwise = i % 9 == 4
            let kh = oneD || pointwise ? 1 : r.int(1...4), kw = pointwise ? 1 : r.int(1...4)
            let strides = pointwise ? [1, 1] : [oneD ? 1 : r.int(1...3), r.int(1...3)]
            let dilations = pointwise || r.int(0...2) != 0 ? [1, 1] : [oneD ? 1 : 2, 2]
            let outPad = [strides[0] > 1 ? r.int(0...(strides[0] - 1)) : 0, strides[1] > 1 ? r.int(0...(strides[1] - 1)) : 0]
            let h = oneD ? 1 : r.pick([1, 2, 5, 7]), w = r.pick([1, 3, 8, 9, 11])
            let natural = [strides[0] * (h - 1) + outPad[0] + (kh - 1) * dilations[0] + 1,
                           strides[1] * (w - 1) + outPad[1] + (kw - 1) * dilations[1] + 1]
            var pads = [0, 0, 0, 0]
            if !pointwise {
                // Keep at least one output position per axis.
                pads[0] = oneD ? 0 : r.int(0...min(2, (natural[0] - 1) / 2)); pads[2] = oneD ? 0 : r.int(0...min(2, (natural[0] - 1) / 2))
                pads[1] = r.int(0...min(2, (natural[1] - 1) / 2)); pads[3] = r.int(0...min(2, (natural[1] - 1) / 2))
            }
            let n = r.int(1...2)
            let x4 = r.tensor([n, c, h, w]), w4 = r.tensor([c, mg, kh, kw], scale: 0.5)
            let b = r.int(0...2) != 0 ? r.tensor([mg * group]) : nil
            let expected = try referenceConvTranspose2D(input: x4, weight: w4, bias: b, strides: strides, pads: pads,
                                                        dilations: dilations, outputPadding: outPad, group: group)
            var values: [String: AttributeValue] = ["group": .int(group)]
            var x = x4, wt = w4
            if oneD {
                x = try x4.reshaped([n, c, w]); wt = try w4.reshaped([c, mg, kw])
                values["strides"] = .ints([strides[1]]); values["dilations"] = .ints([dilations[1]])
                values["pads"] = .ints([pads[1], pads[3]]); values["output_padding"] = .ints([outPad[1]])
            } else {
                values["strides"] = .ints(strides); values["dilations"] = .ints(dilations)
                values["pads"] = .ints(pads); values["output_padding"] = .ints(outPad)
            }
            let desc = "case \(i): N\(n) C\(c) H\(h) W\(w) M\(mg * group) g\(group) k\(kh)x\(kw) s\(strides) d\(dilations) p\(pads) op\(outPad)"
            for threads in [1, 2] {
                let y = try runOp("ConvTranspose", values, [x, wt, b], threads: threads)
                assertClose(try y.reshaped(expected.shape), expected, .gemm, "\(desc) threads \(threads)")
            }
        }
    }

    // MARK: Fused activation

    /// `Conv` with a fused ReLU / Clip must equal `Conv` then the activation, bit for bit (the
    /// activation runs on the same biased values), on every kernel path.
    func testFusedActivationMatchesSeparateOps() throws {
        var r = SeededGenerator(seed: 5)
        let cases: [(x: [Int], w: [Int], attrs: [String: AttributeValue], path: ConvAlgorithm)] = [
            ([1, 9, 6, 11], [7, 9, 1, 1], [:], .pointwiseGEMM),
            ([2, 5, 9, 10], [6, 5, 3, 3], ["pads": .ints([1, 1, 1, 1])], .im2colGEMM),
            ([1, 8, 10, 21], [8, 1, 3, 3], ["pads": .ints([1, 1, 1, 1]), "group": .int(8)], .depthwise),
            ([1, 6, 12, 41], [6, 1, 3, 3], ["pads": .ints([1, 1, 1, 1]), "strides": .ints([2, 2]), "group": .int(6)], .depthwise),
            ([1, 4, 9, 19], [8, 1, 5, 5], ["pads": .ints([2, 2, 2, 2]), "group": .int(4)], .depthwise),
            ([1, 3, 17], [4, 3, 3], ["pads": .ints([1, 1])], .im2colGEMM),
        ]
        let relu = try OpRegistry.standard.make("Relu", attributes: attrs("Relu", [:]))
        for (i, c) in cases.enumerated() {
            let x = r.tensor(c.x, scale: 4), w = r.tensor(c.w), b = r.tensor([c.w[0]])
            let conv = try Conv(attributes: attrs("Conv", c.attrs))
            XCTAssertEqual(try conv.geometry(input: c.x, weight: c.w, bias: [c.w[0]], node: nil).0.algorithm, c.path, "case \(i)")
            let plain = try conv.run([x, w, b], context: ExecutionContext())[0]
            XCTAssertTrue(try plain.scalars(as: Float.self).contains { $0 < 0 }, "case \(i) must have negative outputs")
            let reluExpected = try relu.run([plain], context: ExecutionContext())[0]
            for threads in [1, 2] {
                let fusedRelu = try conv.fused(with: .relu).run([x, w, b], context: ExecutionContext(threads: threads))[0]
                assertClose(fusedRelu, reluExpected, .exact, "relu case \(i) threads \(threads)")
                let fusedClip = try conv.fused(with: .clip(min: -1, max: 2)).run([x, w, b], context: ExecutionContext(threads: threads))[0]
                let clipExpected = try Tensor(shape: plain.shape, scalars: try plain.scalars(as: Float.self).map { min(max($0, -1), 2) })
                assertClose(fusedClip, clipExpected, .exact, "clip case \(i) threads \(threads)")
            }
        }
    }

    // MARK: Edges

    func testEmptyBatchGivesEmptyOutput() throws {
        let y = try runOp("Conv", ["pads": .ints([1, 1, 1, 1])], [try Tensor(zeros: [0, 3, 5, 5]), try Tensor(zeros: [4, 3, 3, 3])])
        XCTAssertEqual(y.shape, [0, 4, 5, 5])
        let t = try runOp("ConvTranspose", ["strides": .ints([2, 2])], [try Tensor(zeros: [0, 3, 5, 5]), try Tensor(zeros: [3, 4, 3, 3])])
        XCTAssertEqual(t.shape, [0, 4, 11, 11])
    }

    /// Zero input channels: the reduction is empty, so every output is its channel's bias.
    func testZeroInputChannelsGiveBias() throws {
        let b = try Tensor(shape: [2], scalars: [Float(1.5), -2])
        let y = try runOp("Conv", ["pads": .ints([1, 1, 1, 1])], [try Tensor(zeros: [1, 0, 4, 4]), try Tensor(zeros: [2, 0, 3, 3]), b])
        XCTAssertEqual(y.shape, [1, 2, 4, 4])
        XCTAssertEqual(try y.scalars(as: Float.self), [Float](repeating: 1.5, count: 16) + [Float](repeating: -2, count: 16))
        let t = try runOp("ConvTranspose", [:], [try Tensor(zeros: [1, 0, 2, 2]), try Tensor(zeros: [0, 2, 2, 2]), b])
        XCTAssertEqual(t.shape, [1, 2, 3, 3])
        XCTAssertEqual(try t.scalars(as: Float.self), [Float](repeating: 1.5, count: 9) + [Float](repeating: -2, count: 9))
    }

    /// Depthwise 3×3 stride 2 where the 16-wide loads would run one element past the last input
    /// row: the register-blocked loop must stop early and the scalar interior finish the row.
    func testDepthwiseStride2LastRowEdge() throws {
        var r = SeededGenerator(seed: 11)
        for width in 16...27 {
            let x = r.tensor([1, 2, 3, width]), w = r.tensor([2, 1, 3, 3])
            let y = try runOp("Conv", ["strides": .ints([2, 2]), "group": .int(2)], [x, w])
            let e = try referenceConv2D(input: x, weight: w, bias: nil, strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], group: 2)
            assertClose(y, e, .gemm, "width \(width)")
        }
    }

    /// ConvTranspose with `output_shape` one larger than the unpadded result (ONNX Runtime: the
    /// extra row/column holds only the bias), and the full `[N, M, H, W]` form of `output_shape`.
    func testConvTransposeOutputShapeBeyondNatural() throws {
        var r = SeededGenerator(seed: 3)
        let x = r.tensor([1, 2, 3, 3]), w = r.tensor([2, 1, 3, 3]), b = try Tensor(shape: [1], scalars: [Float(0.5)])
        let y = try runOp("ConvTranspose", ["strides": .ints([2, 2]), "output_shape": .ints([1, 1, 8, 8])], [x, w, b])
        let e = try referenceConvTranspose2D(input: x, weight: w, bias: b, strides: [2, 2], pads: [0, 0, 0, 0],
                                             dilations: [1, 1], outputPadding: [1, 1], group: 1)
        assertClose(y, e, .gemm)
        let last = try y.scalars(as: Float.self)[63]
        XCTAssertEqual(last, 0.5)
    }

    // MARK: Invalid arguments

    private func assertThrowsKiln(_ op: String, _ values: [String: AttributeValue], _ inputs: [Tensor?], _ message: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try runOp(op, values, inputs), message, file: file, line: line) { error in
            XCTAssertTrue(error is KilnError, "\(message): \(error)", file: file, line: line)
            if let e = error as? KilnError {
                XCTAssertTrue(e.description.contains(op), "\(message): error does not name the op: \(e)", file: file, line: line)
            }
        }
    }

    func testInvalidConvArguments() throws {
        let x = try Tensor(zeros: [1, 4, 6, 6])
        let w = try Tensor(zeros: [8, 4, 3, 3])
        assertThrowsKiln("Conv", [:], [x, try Tensor(zeros: [8, 3, 3, 3])], "weight channels != C/group")
        assertThrowsKiln("Conv", ["group": .int(2)], [x, w], "weight channels != C/group with groups")
        assertThrowsKiln("Conv", ["group": .int(3)], [x, try Tensor(zeros: [6, 1, 3, 3])], "group does not divide C")
        assertThrowsKiln("Conv", ["group": .int(4)], [x, try Tensor(zeros: [6, 1, 3, 3])], "group does not divide M")
        assertThrowsKiln("Conv", [:], [x, w, try Tensor(zeros: [7])], "bias length != M")
        assertThrowsKiln("Conv", [:], [x, w, try Tensor(zeros: [1, 8])], "bias rank 2")
        assertThrowsKiln("Conv", [:], [x, try Tensor(zeros: [8, 4, 3])], "rank-3 weight with 4-D input")
        assertThrowsKiln("Conv", [:], [try Tensor(zeros: [4, 6, 6]), w], "rank-3 input with 4-D weight")
        assertThrowsKiln("Conv", [:], [try Tensor(zeros: [1, 4, 2, 6]), w], "kernel larger than input")
        assertThrowsKiln("Conv", ["pads": .ints([0, 0, 1, 0])], [try Tensor(zeros: [1, 4, 1, 6]), w], "kernel larger than padded input")
        assertThrowsKiln("Conv", ["pads": .ints([1, -1, 1, 1])], [x, w], "negative pads")
        assertThrowsKiln("Conv", ["strides": .ints([0, 1])], [x, w], "zero stride")
        assertThrowsKiln("Conv", ["dilations": .ints([1, 0])], [x, w], "zero dilation")
        assertThrowsKiln("Conv", ["group": .int(0)], [x, w], "zero group")
        assertThrowsKiln("Conv", ["kernel_shape": .ints([3, 2])], [x, w], "kernel_shape != weight")
        assertThrowsKiln("Conv", ["strides": .ints([1, 1, 1])], [x, w], "strides of the wrong length")
        assertThrowsKiln("Conv", ["pads": .ints([1, 1])], [x, w], "pads of the wrong length")
        assertThrowsKiln("Conv", ["auto_pad": .string("SAME")], [x, w], "unknown auto_pad")
        assertThrowsKiln("Conv", ["foo": .int(1)], [x, w], "unknown attribute")
        assertThrowsKiln("Conv", [:], [try Tensor(zeros: [1, 4, 6, 6], dtype: .float16), w], "f16 input")
        assertThrowsKiln("Conv", [:], [x, try Tensor(zeros: [8, 4, 3, 3], dtype: .int64)], "int64 weight")
        assertThrowsKiln("Conv", [:], [x, w, try Tensor(zeros: [8], dtype: .int32)], "int32 bias")
        assertThrowsKiln("Conv", [:], [x], "missing weight")
        assertThrowsKiln("Conv", [:], [x, w, nil, x], "too many inputs")
        assertThrowsKiln("Conv", [:], [try Tensor(zeros: [1, 4, 2, 2, 2]), try Tensor(zeros: [1, 4, 1, 1, 1])], "3-D conv")
        assertThrowsKiln("Conv", [:], [try Tensor(zeros: [4, 6]), try Tensor(zeros: [4, 6])], "rank-2 input")
        // Errors must name the node too.
        XCTAssertThrowsError(try runOp("Conv", [:], [x, try Tensor(zeros: [8, 3, 3, 3])])) { error in
            XCTAssertTrue("\(error)".contains("test"), "error does not name the node: \(error)")
        }
    }

    func testInvalidConvTransposeArguments() throws {
        let x = try Tensor(zeros: [1, 4, 5, 5])
        let w = try Tensor(zeros: [4, 2, 3, 3])
        assertThrowsKiln("ConvTranspose", [:], [x, try Tensor(zeros: [3, 2, 3, 3])], "weight channels != C")
        assertThrowsKiln("ConvTranspose", ["group": .int(3)], [x, w], "group does not divide C")
        assertThrowsKiln("ConvTranspose", [:], [x, w, try Tensor(zeros: [4])], "bias length != M")
        assertThrowsKiln("ConvTranspose", ["group": .int(2)], [x, w, try Tensor(zeros: [2])], "bias length != M·group")
        assertThrowsKiln("ConvTranspose", [:], [x, try Tensor(zeros: [4, 2, 3])], "rank-3 weight with 4-D input")
        assertThrowsKiln("ConvTranspose", ["pads": .ints([-1, 0, 0, 0])], [x, w], "negative pads")
        assertThrowsKiln("ConvTranspose", ["pads": .ints([4, 0, 4, 0])], [x, w], "pads remove the whole output")
        assertThrowsKiln("ConvTranspose", ["strides": .ints([0, 0])], [x, w], "zero stride")
        assertThrowsKiln("ConvTranspose", ["strides": .ints([2, 2]), "output_padding": .ints([2, 0])], [x, w], "output_padding >= stride")
        assertThrowsKiln("ConvTranspose", ["output_padding": .ints([-1, 0])], [x, w], "negative output_padding")
        assertThrowsKiln("ConvTranspose", ["strides": .ints([2, 2]), "output_shape": .ints([13, 13])], [x, w], "output_shape too large")
        assertThrowsKiln("ConvTranspose", ["output_shape": .ints([7, 7, 7])], [x, w], "output_shape of the wrong length")
        assertThrowsKiln("ConvTranspose", ["kernel_shape": .ints([2, 2])], [x, w], "kernel_shape != weight")
        assertThrowsKiln("ConvTranspose", ["bar": .int(1)], [x, w], "unknown attribute")
        assertThrowsKiln("ConvTranspose", [:], [try Tensor(zeros: [1, 4, 5, 5], dtype: .int64), w], "int64 input")
        assertThrowsKiln("ConvTranspose", [:], [x, try Tensor(zeros: [4, 2, 3, 3], dtype: .float16)], "f16 weight")
        assertThrowsKiln("ConvTranspose", [:], [try Tensor(zeros: [1, 4, 0, 5]), w], "empty spatial input")
    }
}
