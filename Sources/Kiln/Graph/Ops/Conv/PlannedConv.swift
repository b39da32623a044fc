import KilnKernels

/// The prepared form of ``Conv``, made once when the plan is built from a Conv whose weights (and
/// bias) are constants: weights packed for Kiln's GEMM micro-kernel (or kept as filters for the
/// depthwise kernel), the ISA variant chosen, the epilogue (bias, residual, activation) decided.
/// An inference does no weight work: it validates the input, takes the output from the arena and
/// runs the kernels.
///
/// Algorithms:
/// - depthwise (one input channel per group): `depthwise_f32` per output plane, in parallel over planes;
/// - everything else: per (image, group) one GEMM `Y[M/g × outH·outW] = W[M/g × C/g·kH·kW] · col(X)`
///   with A = the packed weights and B packed per block straight from the input (1×1 stride-1
///   convolutions read it as a matrix; others through the implicit im2col), the epilogue applied
///   while the tile is in registers.
struct PlannedConv: Operator {
    static let opType = "Conv"

    /// The portable op (attributes, fused activation); its `geometry` validates every call.
    let conv: Conv
    /// The kernels of the chosen ISA variant.
    let kernels: KernelTable
    /// `W`'s shape as stored.
    let weightShape: [Int]
    /// Depthwise: `W` as is (`[M, 1, kH, kW]`); otherwise per group the packed A (`gemmPackedACount`).
    let weights: Tensor
    /// Floats of packed weights per group (GEMM path).
    let packedPerGroup: Int
    /// The constant bias, or `nil`.
    let bias: Tensor?
    /// Whether the weights are filters for the depthwise kernel.
    let isDepthwise: Bool

    init(attributes: Attributes) throws {
        throw KilnError.invalidArgument(op: Self.opType, node: nil, reason: "PlannedConv is made by the planner, not decoded")
    }

    /// Prepares `conv` for constant weights `w` and bias `b`.
    /// - Throws: ``KilnError`` when the weight or bias is malformed (wrong rank, dtype, or size).
    init(_ conv: Conv, weight w: Tensor, bias b: Tensor?, kernels: KernelTable, node: String?) throws {
        guard w.dtype == .float32, w.shape.count == 4 || w.shape.count == 3, w.shape.allSatisfy({ $0 >= 0 }) else {
            throw KilnError.invalidArgument(op: Self.opType, node: node, reason: "weight W must be float32 [M, C/group, kH, kW], got \(w.dtype)\(w.shape)")
        }
        if let b, b.dtype != .float32 || b.shape != [w.shape[0]] {
            throw KilnError.shapeMismatch(op: Self.opType, node: node, tensor: "B", expected: [w.shape[0]], got: b.shape)
        }
        self.conv = conv
        self.kernels = kernels
        weightShape = w.shape
        bias = b
        let m = w.shape[0], cg = w.shape[1]
        let area = w.shape[2...].reduce(1, *)
        isDepthwise = cg == 1 && m % conv.group == 0 && m >= conv.group
        guard m % conv.group == 0 else {
            throw KilnError.invalidArgument(op: Self.opType, node: node, reason: "group \(conv.group) does not divide the output channels \(m) of W \(w.shape)")
        }
        if isDepthwise {
            weights = w
            packedPerGroup = 0
        } else {
            let mg = m / conv.group, k = cg &* area
            packedPerGroup = gemmPackedACount(m: mg, k: k)
            var packed = try Tensor(uninitialized: [max(1, packedPerGroup &* conv.group)], dtype: .float32)
            let dst = packed.mutablePointer(Float.self)
            let src = w.pointer(Float.self)
            for grp in 0..<conv.group {
                gemm_packA_f32(src + grp &* mg &* k, lda: max(k, 1), m: mg, k: k, into: dst + grp &* packedPerGroup)
            }
            weights = packed
        }
    }

    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try input(inputs, 0, "X", context: context)
        try require(x, .float32, "X", context: context)
        let (g, outShape) = try conv.geometry(input: x.shape, weight: weightShape, bias: bias?.shape, node: context.node)
        var residual = inputs.count > 3 ? inputs[3] : nil
        if let r = residual, r.dtype != .float32 || r.shape != outShape {
            residual = nil // not the output's shape: added with broadcasting afterwards
        }
        var y = try context.allocate(outShape, dtype: .float32)
        if y.count > 0 {
            var epilogue = Epilogue(residual: residual.map { $0.pointer(Float.self) }, residualStride: g.outPlane)
            // A broadcast residual is added afterwards, and the activation after it.
            let deferred = residual == nil && inputs.count > 3 && inputs[3] != nil
            (deferred ? FusedActivation.none : conv.activation).configure(&epilogue)
            let yp = y.mutablePointer(Float.self)
            if isDepthwise {
                runDepthwise(g, x: x.pointer(Float.self), y: yp, epilogue: epilogue, context: context)
            } else {
                runGemm(g, x: x.pointer(Float.self), y: yp, epilogue: epilogue, context: context)
            }
        }
        withExtendedLifetime((x, residual)) {}
        if let r = inputs.count > 3 ? inputs[3] : nil, residual == nil {
            return [try conv.addResidual(y, r, context: context)]
        }
        return [y]
    }

    private func runDepthwise(_ g: Conv2DGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                              epilogue: Epilogue, context: ExecutionContext) {
        let planes = g.batch &* g.outChannels
        let multiplier = g.outChannelsPerGroup
        let plane = ConvWindow(inH: g.inHeight, inW: g.inWidth, outH: g.outHeight, outW: g.outWidth,
                                   kH: g.kernelH, kW: g.kernelW, sH: g.strideH, sW: g.strideW,
                                   dH: g.dilationH, dW: g.dilationW, padT: g.padTop, padL: g.padLeft)
        let w = weights.pointer(Float.self), b = bias?.pointer(Float.self)
        let area = g.kernelArea
        let threads = planes &* g.outPlane &* area >= 1 << 15 ? context.threads : 1
        let depthwise = kernels.depthwise
        let scratchCount = plane.scratchCount(lanes: kernels.lanes)
        ExecutionContext(threads: threads).parallelFor(planes) { start, end in
            let scratch = ThreadWorkspace.floats(scratchCount)
            for p in start..<end {
                let n = p / g.outChannels, m = p &- n &* g.outChannels
                var e = epilogue
                if e.residual != nil { e.activation = .none } // applied after the residual below
                e.residual = nil
                depthwise(plane, x + (n &* g.inChannels &+ m / multiplier) &* g.inPlane, w + m &* area,
                          b?[m] ?? 0, y + p &* g.outPlane, e, scratch)
            }
        }
        // A residual on a depthwise conv (rare): added after the planes, before nothing else.
        if let r = epilogue.residual {
            addResidualInPlace(y, r, count: planes &* g.outPlane, epilogue: epilogue, context: context)
        }
    }

    /// `y = act(y + r)` for a depthwise conv with a fused residual: the planes were written without
    /// activation (see `run`), so apply it here.
    private func addResidualInPlace(_ y: UnsafeMutablePointer<Float>, _ r: UnsafePointer<Float>, count: Int,
                                    epilogue: Epilogue, context: ExecutionContext) {
        ExecutionContext(threads: count >= 1 << 15 ? context.threads : 1).parallelFor(count) { s, e in
            for i in s..<e { y[i] = epilogue.activate(y[i] + r[i]) }
        }
    }

    private func runGemm(_ g: Conv2DGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                         epilogue: Epilogue, context: ExecutionContext) {
        let cg = g.inChannelsPerGroup, mg = g.outChannelsPerGroup, hw = g.outPlane
        let window = ConvWindow(inH: g.inHeight, inW: g.inWidth, outH: g.outHeight, outW: g.outWidth,
                                kH: g.kernelH, kW: g.kernelW, sH: g.strideH, sW: g.strideW,
                                dH: g.dilationH, dW: g.dilationW, padT: g.padTop, padL: g.padLeft)
        let pointwise = g.isPointwise
        let packed = weights.pointer(Float.self), b = bias?.pointer(Float.self)
        for n in 0..<g.batch {
            for grp in 0..<g.group {
                let xg = x + (n &* g.inChannels &+ grp &* cg) &* g.inPlane
                let offset = (n &* g.outChannels &+ grp &* mg) &* hw
                var e = epilogue
                e.bias = b.map { $0 + grp &* mg }
                e.residual = epilogue.residual.map { $0 + offset }
                let problem = GemmProblem(m: mg, n: hw, k: g.gemmK, a: .packed(packed + grp &* packedPerGroup),
                                          b: pointwise ? .matrix(xg, ldb: hw) : .im2col(xg, window),
                                          c: y + offset, ldc: hw, epilogue: e)
                KilnGemm.run(problem, kernels: kernels, context: context)
            }
        }
    }
}
