/// ONNX `ConvTranspose`, float32 NCHW, 1-D (`[N, C, W]`) and 2-D (`[N, C, H, W]`).
///
/// Inputs: `X`, `W` (`[C, M/group, kH, kW]`, or `[C, M/group, kW]` for 1-D), optional `B` (`[M]`).
/// Attributes: `kernel_shape`, `strides`, `pads`, `dilations`, `group`, `auto_pad`,
/// `output_padding`, `output_shape`.
///
/// Output size per axis: `stride·(in−1) + output_padding + (k−1)·dilation + 1 − padBegin − padEnd`.
/// With `output_shape` (or `auto_pad` SAME_*, which asks for `in·stride`) the pads are derived from
/// the total padding `natural − requested` as the ONNX spec says (SAME_UPPER puts the odd unit at
/// the end, otherwise at the beginning). As in ONNX Runtime, a negative total (an output larger
/// than the unpadded result, by less than the stride) adds bias-only positions at the end, and
/// SAME_* with a negative total keeps the unpadded size.
///
/// Computed as one GEMM `Wᵀ·X` per (batch, group) into a column buffer, then col2im accumulation
/// (a 1×1, stride-1, unpadded transposed convolution accumulates the GEMM straight into the output).
struct ConvTranspose: Operator {
    static let opType = "ConvTranspose"

    let window: SpatialAttributes
    let group: Int
    /// Per spatial axis, or `nil` for zeros.
    let outputPadding: [Int]?
    /// Requested spatial output size, or `nil`.
    let outputShape: [Int]?

    init(attributes a: Attributes) throws {
        try a.rejectUnknown(["auto_pad", "dilations", "group", "kernel_shape", "output_padding", "output_shape", "pads", "strides"])
        window = try SpatialAttributes(a)
        group = try a.int("group", default: 1)
        guard group >= 1 else { throw a.error("group \(group) must be at least 1") }
        outputPadding = try a.ints("output_padding")
        outputShape = try a.ints("output_shape")
        if let p = outputPadding, p.contains(where: { $0 < 0 }) { throw a.error("output_padding \(p) must be non-negative") }
        if let s = outputShape, s.contains(where: { $0 < 1 }) { throw a.error("output_shape \(s) must be positive") }
        if let k = window.kernelShape, k.count != 1 && k.count != 2 {
            throw a.error("kernel_shape \(k) must have 1 or 2 values (1-D or 2-D transposed convolution)")
        }
    }

    /// Validates the shapes and computes the geometry and the output shape.
    /// - Throws: ``KilnError`` naming the op, node and shapes on any mismatch.
    func geometry(input x: [Int], weight w: [Int], bias b: [Int]?, node: String?) throws -> (ConvTranspose2DGeometry, [Int]) {
        func fail(_ r: String) -> KilnError { .invalidArgument(op: Self.opType, node: node, reason: r) }
        if x.count == 5 {
            throw KilnError.unsupportedOp(name: Self.opType, node: node, reason: "3-D transposed convolution (input \(x)) is not supported")
        }
        guard x.count == 3 || x.count == 4 else { throw fail("input X must be [N, C, W] or [N, C, H, W], got \(x)") }
        guard w.count == x.count else { throw fail("weight W \(w) must have rank \(x.count) like the input X \(x)") }
        let channels = x[1]
        guard channels % group == 0 else { throw fail("group \(group) does not divide the input channels \(channels) of X \(x)") }
        guard w[0] == channels else {
            var expected = w
            expected[0] = channels
            throw KilnError.shapeMismatch(op: Self.opType, node: node, tensor: "W (input channels of X \(x))", expected: expected, got: w)
        }
        let (outChannels, overflow) = w[1].multipliedReportingOverflow(by: group)
        guard !overflow else { throw fail("output channels \(w[1]) × group \(group) overflow") }
        if let b, b != [outChannels] {
            throw KilnError.shapeMismatch(op: Self.opType, node: node, tensor: "B", expected: [outChannels], got: b)
        }
        let n = x.count - 2
        let spatial = Array(x[2...]), kernel = Array(w[2...])
        if let k = window.kernelShape, k != kernel { throw fail("kernel_shape \(k) does not match the weight's spatial shape \(kernel)") }
        let strides = window.strides ?? [Int](repeating: 1, count: n)
        let dilations = window.dilations ?? [Int](repeating: 1, count: n)
        let pads = window.pads ?? [Int](repeating: 0, count: 2 * n)
        let outPad = outputPadding ?? [Int](repeating: 0, count: n)
        guard strides.count == n else { throw fail("strides \(strides) must have \(n) values") }
        guard dilations.count == n else { throw fail("dilations \(dilations) must have \(n) values") }
        guard pads.count == 2 * n else { throw fail("pads \(pads) must have \(2 * n) values") }
        guard outPad.count == n else { throw fail("output_padding \(outPad) must have \(n) values") }
        var requested = outputShape
        if let s = requested, s.count == n + 2 { requested = Array(s[2...]) }  // full [N, M, ...] form
        if let s = requested, s.count != n { throw fail("output_shape \(s) must have \(n) values") }

        var outSizes = [Int](), padBegins = [Int]()
        for i in 0..<n {
            let (k, s, d, op) = (kernel[i], strides[i], dilations[i], outPad[i])
            guard k >= 1 else { throw fail("kernel size \(k) on spatial axis \(i) must be positive") }
            guard k <= 1 << 20, s <= 1 << 20, d <= 1 << 20, op <= 1 << 20, pads[i] <= 1 << 20, pads[i + n] <= 1 << 20,
                  spatial[i] <= 1 << 40 else {
                throw fail("window attributes on spatial axis \(i) are too large")
            }
            guard op < max(s, d) else {
                throw fail("output_padding \(op) on spatial axis \(i) must be less than max(stride \(s), dilation \(d))")
            }
            guard spatial[i] >= 1 else { throw fail("input size \(spatial[i]) on spatial axis \(i) must be positive") }
            let natural = s * (spatial[i] - 1) + op + (k - 1) * d + 1
            var target: Int? = requested?[i]
            if target == nil && (window.autoPad == .sameUpper || window.autoPad == .sameLower) {
                target = min(spatial[i] * s, natural)  // ONNX Runtime keeps the natural size when it is smaller
            }
            if let out = target {
                let total = natural - out
                guard total > -s else {
                    throw fail("output_shape \(out) on spatial axis \(i) exceeds the largest size \(natural + s - 1) reachable from input \(spatial[i])")
                }
                let begin = total <= 0 ? 0 : (window.autoPad == .sameUpper ? total / 2 : total - total / 2)
                outSizes.append(out)
                padBegins.append(begin)
            } else if window.autoPad == .valid {
                outSizes.append(natural)
                padBegins.append(0)
            } else {
                let out = natural - pads[i] - pads[i + n]
                guard out >= 1 else {
                    throw fail("output size \(out) on spatial axis \(i) is empty (pads \(pads) remove the whole result of size \(natural))")
                }
                outSizes.append(out)
                padBegins.append(pads[i])
            }
        }
        let h = n == 2 ? 0 : -1  // index of the H axis, -1 for 1-D
        let g = ConvTranspose2DGeometry(
            batch: x[0], inChannels: channels,
            inHeight: h >= 0 ? spatial[0] : 1, inWidth: spatial[n - 1],
            outChannels: outChannels,
            outHeight: h >= 0 ? outSizes[0] : 1, outWidth: outSizes[n - 1],
            group: group,
            kernelH: h >= 0 ? kernel[0] : 1, kernelW: kernel[n - 1],
            strideH: h >= 0 ? strides[0] : 1, strideW: strides[n - 1],
            dilationH: h >= 0 ? dilations[0] : 1, dilationW: dilations[n - 1],
            padTop: h >= 0 ? padBegins[0] : 0, padLeft: padBegins[n - 1])
        return (g, [x[0], outChannels] + outSizes)
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let (x, w, b) = try convInputs(inputs, context: context)
        let (g, outShape) = try geometry(input: x.shape, weight: w.shape, bias: b?.shape, node: context.node)
        var y = try context.allocate(outShape, dtype: .float32)
        if y.count == 0 { return [y] }
        try Sgemm.checkDimensions(g.columnRows, g.inPlane, g.inChannelsPerGroup, g.outPlane, op: Self.opType, node: context.node)
        var scratch: Tensor? = nil
        if g.scratchCount > 0 {
            scratch = try context.allocate([g.columnRows, g.inPlane], dtype: .float32)
        }
        let yp = y.mutablePointer(Float.self)
        let sp = scratch?.mutablePointer(Float.self)
        convTranspose2d_f32_nchw_col2im(g, input: x.pointer(Float.self), weight: w.pointer(Float.self),
                                        bias: b?.pointer(Float.self), output: yp, scratch: sp, context: context)
        withExtendedLifetime((x, w, b, scratch)) {}
        return [y]
    }
}
