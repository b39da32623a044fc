import KilnKernels

/// ONNX `Conv`, float32 NCHW, 1-D (`[N, C, W]`) and 2-D (`[N, C, H, W]`).
///
/// Inputs: `X`, `W` (`[M, C/group, kH, kW]`, or `[M, C/group, kW]` for 1-D), optional `B` (`[M]`).
/// Attributes: `kernel_shape`, `strides`, `pads` (asymmetric allowed), `dilations`, `group`,
/// `auto_pad`. A 1-D convolution runs as a 2-D one with `H == 1`.
///
/// Algorithms (see ``ConvAlgorithm``): depthwise (`C/group == 1`, any channel multiplier) runs a
/// direct SIMD kernel; 1×1 / stride 1 / no padding is one GEMM per (batch, group) on the input;
/// everything else is im2col + GEMM with one scratch buffer per call. A fused activation (set by an
/// optimizer pass through ``fused(with:)``) is applied after the bias in the same pass.
struct Conv: FusableOperator, PreparableOperator {
    static let opType = "Conv"

    /// Window attributes, validated (positive strides and dilations, non-negative pads).
    let window: SpatialAttributes
    /// Number of groups (≥ 1).
    let group: Int
    /// Applied after the bias; `.none` for the ONNX op.
    private(set) var activation: FusedActivation = .none
    /// Whether the plan keeps the input channel-blocked (`BlockedLayout.swift`); only for a
    /// convolution ``blockedKind(weight:bias:inputs:lanes:)`` accepts, which its prepared form handles.
    var blockedInput = false
    /// Whether the plan keeps the output channel-blocked.
    var blockedOutput = false

    /// The convolutions that read and write the channel-blocked layout.
    enum BlockedKind {
        /// 2-D 1×1, stride 1, unpadded, ungrouped.
        case pointwise
        /// 2-D depthwise, one output per input channel (the channel-blocked depthwise kernel).
        case depthwise
        /// 2-D ungrouped with at most ``Conv/directTapLimit`` taps (`C·kH·kW`: a stem on the
        /// image's channels): a direct kernel that writes the blocked layout from a plain input.
        case direct

        /// Whether the kind reads a blocked input (the direct kernel reads the plain image).
        var readsBlocked: Bool { self != .direct }
    }

    /// Most taps (`C·kH·kW`) for the direct blocked kernel.
    static let directTapLimit = 64

    /// Which blocked kind this convolution is when it will be prepared (constant `W`, constant or
    /// no bias) for a variant of `lanes` lanes: `nil` when it is neither, or its output channels
    /// are not a multiple of `lanes`. Decided before preparing, so that the prepared form packs
    /// only the weights its layout needs.
    func blockedKind(weight w: Tensor?, bias: Tensor?, hasBias: Bool, lanes: Int) -> BlockedKind? {
        guard PlannedConv.blockedLayoutEnabled, let w, w.dtype == .float32, w.shape.count == 4, !hasBias || bias != nil else { return nil }
        let m = w.shape[0], cg = w.shape[1]
        guard m > 0, cg > 0, m % lanes == 0, w.shape.allSatisfy({ $0 > 0 }) else { return nil }
        if let b = bias, b.dtype != .float32 || b.shape != [m] { return nil }
        if cg == 1 && m == group && PlannedConv.depthwiseBlockedEnabled { return .depthwise }
        let unit = (window.strides ?? [1, 1]).allSatisfy { $0 == 1 } && (window.pads ?? []).allSatisfy { $0 == 0 }
        if group == 1 && w.shape[2] == 1 && w.shape[3] == 1 && unit { return .pointwise }
        if group == 1 && cg &* w.shape[2] &* w.shape[3] <= Self.directTapLimit { return .direct }
        return nil
    }

    init(attributes a: Attributes) throws {
        try a.rejectUnknown(["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"])
        window = try SpatialAttributes(a)
        group = try a.int("group", default: 1)
        guard group >= 1 else { throw a.error("group \(group) must be at least 1") }
        if let k = window.kernelShape, k.count != 1 && k.count != 2 {
            throw a.error("kernel_shape \(k) must have 1 or 2 values (1-D or 2-D convolution)")
        }
    }

    /// The planned form (``PlannedConv``) when `W` and `B` (if present) are constants.
    func prepared(inputs: [String], constants: [Tensor?], kernels: KernelTable, node: String) throws -> (any Operator)? {
        guard constants.count > 1, let w = constants[1] else { return nil }
        let hasBias = inputs.count > 2 && !inputs[2].isEmpty
        if hasBias && constants[2] == nil { return nil } // a bias computed at run time: keep the portable form
        return try PlannedConv(self, weight: w, bias: hasBias ? constants[2] : nil, kernels: kernels, node: node)
    }

    /// The same convolution followed by `activation` (for an activation-fusion pass).
    func fused(with activation: FusedActivation) -> any Operator {
        var c = self
        c.activation = activation
        return c
    }

    /// Validates the shapes of `X`, `W` and `B` against the attributes and computes the geometry.
    /// - Returns: The geometry and the output shape (`[N, M, outW]` or `[N, M, outH, outW]`).
    /// - Throws: ``KilnError`` naming the op, node and shapes on any mismatch.
    func geometry(input x: [Int], weight w: [Int], bias b: [Int]?, node: String?) throws -> (Conv2DGeometry, [Int]) {
        func fail(_ r: String) -> KilnError { .invalidArgument(op: Self.opType, node: node, reason: r) }
        if x.count == 5 {
            throw KilnError.unsupportedOp(name: Self.opType, node: node, reason: "3-D convolution (input \(x)) is not supported")
        }
        guard x.count == 3 || x.count == 4 else {
            throw fail("input X must be [N, C, W] or [N, C, H, W], got \(x)")
        }
        guard w.count == x.count else {
            throw fail("weight W \(w) must have rank \(x.count) like the input X \(x)")
        }
        let channels = x[1], outChannels = w[0]
        guard channels % group == 0 else { throw fail("group \(group) does not divide the input channels \(channels) of X \(x)") }
        guard outChannels % group == 0 else { throw fail("group \(group) does not divide the output channels \(outChannels) of W \(w)") }
        guard w[1] == channels / group else {
            var expected = w
            expected[1] = channels / group
            throw KilnError.shapeMismatch(op: Self.opType, node: node, tensor: "W (input channels per group of X \(x), group \(group))",
                                          expected: expected, got: w)
        }
        if let b, b != [outChannels] {
            throw KilnError.shapeMismatch(op: Self.opType, node: node, tensor: "B", expected: [outChannels], got: b)
        }
        let axes = try window.resolve(spatial: Array(x[2...]), kernel: Array(w[2...]), op: Self.opType, node: node)
        let g = Conv2DGeometry(batch: x[0], inChannels: channels, outChannels: outChannels, group: group, axes: axes)
        return (g, [x[0], outChannels] + axes.map(\.output))
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        if blockedInput || blockedOutput {
            throw failure("a channel-blocked layout needs the prepared convolution (constant weights)", context: context)
        }
        let (x, w, b) = try convInputs(inputs, maxInputs: 4, context: context)
        if let residual = inputs.count > 3 ? inputs[3] : nil {
            // A fused residual Add (Optimizer.fuseResidualAdd): the activation comes after it.
            var plain = self
            plain.activation = .none
            let y = try plain.run([x, w, b], context: context)[0]
            return [try addResidual(y, residual, context: context)]
        }
        let (g, outShape) = try geometry(input: x.shape, weight: w.shape, bias: b?.shape, node: context.node)
        var y = try context.allocate(outShape, dtype: .float32)
        if y.count == 0 { return [y] }
        var scratch: Tensor? = nil
        switch g.algorithm {
        case .im2colGEMM:
            try Sgemm.checkDimensions(g.outChannelsPerGroup, g.outPlane, g.gemmK, op: Self.opType, node: context.node)
            scratch = try context.allocate([g.gemmK, g.outPlane], dtype: .float32)
        case .pointwiseGEMM:
            try Sgemm.checkDimensions(g.outChannelsPerGroup, g.outPlane, g.gemmK, op: Self.opType, node: context.node)
        case .depthwise:
            break
        }
        let yp = y.mutablePointer(Float.self)
        let sp = scratch?.mutablePointer(Float.self)
        conv2d_f32_nchw(g, input: x.pointer(Float.self), weight: w.pointer(Float.self), bias: b?.pointer(Float.self),
                        output: yp, scratch: sp, activation: activation, context: context)
        withExtendedLifetime((x, w, b, scratch)) {}
        return [y]
    }

    /// `activation(y + residual)` with ONNX `Add` broadcasting, for a Conv whose residual could not
    /// be added in the kernel's epilogue.
    /// - Throws: ``KilnError`` when the shapes do not broadcast or `residual` is not float32.
    func addResidual(_ y: Tensor, _ residual: Tensor, context: ExecutionContext) throws -> Tensor {
        try require(residual, .float32, "residual", context: context)
        var sum = try broadcastArithmetic(.add, y, residual, names: ("Conv output", "residual"), op: Self.opType, context: context)
        if activation != .none && sum.count > 0 {
            conv_epilogue_f32(sum.mutablePointer(Float.self), channels: 1, plane: sum.count, bias: nil, biasOffset: 0,
                              activation: activation, context: context)
        }
        return sum
    }
}
