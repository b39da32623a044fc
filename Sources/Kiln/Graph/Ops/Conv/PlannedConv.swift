import Foundation
import Synchronization
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
struct PlannedConv: SingleOutputOperator {
    static let opType = "Conv"

    /// The portable op (attributes, fused activation); its `geometry` validates every call.
    let conv: Conv
    /// The kernels of the chosen ISA variant.
    let kernels: KernelTable
    /// `W`'s shape as stored.
    let weightShape: [Int]
    /// Depthwise: `W` as is (`[M, 1, kH, kW]`); otherwise per group the packed A (`gemmPackedACount`).
    var weights: Tensor { packedA?.packed ?? storedWeight }
    /// `W` as stored (a view of the artifact).
    private let storedWeight: Tensor
    /// The GEMM path's packed A (`nil` for a depthwise convolution): packed when the plan is built,
    /// or — for a convolution with Winograd filters, which uses it only on maps too small for
    /// Winograd — on the first inference that needs it.
    let packedA: PackedConvWeights?
    /// Floats of packed weights per group (GEMM path).
    let packedPerGroup: Int
    /// The constant bias, or `nil`.
    let bias: Tensor?
    /// Whether the weights are filters for the depthwise kernel.
    let isDepthwise: Bool
    /// For a depthwise convolution with one output per input channel: filters and bias interleaved
    /// in blocks of `kernels.lanes` channels for the channel-blocked kernel
    /// (``depthwise_blockFilters_f32(_:bias:channels:area:lanes:into:)``), else `nil`.
    let blockedFilters: Tensor?
    /// For a 3×3, stride-1, undilated, ungrouped convolution: the Winograd F(4,3) filters
    /// `U = G·g·Gᵀ`, as 36 packed A matrices of `[M × C]` (``winogradPackedPerXi`` floats each),
    /// made on the first inference whose output has enough tiles — at load, by the shape probe,
    /// for the self-test's size — so layers whose maps are too small for Winograd (ResNet's 7×7
    /// stage) never hold the 4× larger transformed filters.
    let winogradWeights: WinogradFilters?
    /// Floats of one packed `U_ξ`.
    let winogradPackedPerXi: Int
    /// For an ungrouped 1×1 convolution: `W` as stored (`[M, C]` rows; a view of the artifact, no
    /// copy), for the matrix–vector path when the output plane is one pixel (squeeze-and-excitation
    /// blocks after a global pool), where the GEMM would fill one column of every micro-tile.
    let gemvWeight: Tensor?
    /// The blocked kind (``Conv/blockedKind(weight:bias:hasBias:lanes:)``), or `nil`.
    let blockedKind: Conv.BlockedKind?
    /// Whether the input is channel-blocked (the plan's choice, from ``Conv/blockedInput``).
    var inputBlocked: Bool { conv.blockedInput }
    /// Whether the output is channel-blocked.
    var outputBlocked: Bool { conv.blockedOutput }
    /// A 1×1 convolution with a blocked input or output: its weights as
    /// ``pointwise_packWeights_f32(_:m:k:lanes:into:)`` panels (instead of the GEMM's packed A).
    let pointwiseWeights: Tensor?
    /// Whether the plan may keep activations channel-blocked between convolutions;
    /// `KILN_LAYOUT=plain` keeps every tensor NCHW (to compare).
    static let blockedLayoutEnabled = ProcessInfo.processInfo.environment["KILN_LAYOUT"] != "plain"
    /// Largest scratch, in floats, for a materialized column matrix (maps narrower than a micro-panel).
    static let smallIm2colLimit = 1 << 21
    /// Multiply-adds per image below which the matrix–vector path runs on one thread.
    static let gemvParallelThreshold = 1 << 16

    /// Whether Winograd is used where it applies; `KILN_WINOGRAD=0` turns it off (to compare).
    static let winogradEnabled = ProcessInfo.processInfo.environment["KILN_WINOGRAD"] != "0"
    /// Whether a Winograd layer with too few tiles for whole blocks per thread splits its output
    /// channels over the threads (see `runWinograd`); `KILN_WINOGRAD_SPLIT=phases` splits each
    /// phase instead (to compare).
    static let winogradSplitsOutputChannels = ProcessInfo.processInfo.environment["KILN_WINOGRAD_SPLIT"] != "phases"
    /// Whether depthwise convolutions run the channel-blocked kernel where it applies;
    /// `KILN_DEPTHWISE=planes` keeps the per-plane kernel (to compare).
    static let depthwiseBlockedEnabled = ProcessInfo.processInfo.environment["KILN_DEPTHWISE"] != "planes"
    /// Whether a depthwise convolution with a channel-blocked input reads it in place
    /// (`DepthwiseLayout.readInPlace`) instead of copying bands into a zero-bordered scratch: from
    /// 14 output columns at stride 2 (only the first row and column are border), from 56 at stride 1
    /// (MobileNetV2 on the Zen 4, one thread: 112→56 stride 2 0.22 → 0.12 ms, 56×56 0.15 → 0.14;
    /// but 14×14 0.044 → 0.062 and 28×28 0.054 → 0.060, where a quarter of the pixels are border
    /// pixels computed tap by tap). `KILN_DW_IN_PLACE_WIDTH` sets one width for both (to compare; a
    /// huge value turns it off).
    static func depthwiseReadsInPlace(outWidth: Int, strideW: Int) -> Bool {
        if let w = depthwiseInPlaceWidthOverride { return outWidth >= w }
        return outWidth >= (strideW >= 2 ? 14 : 56)
    }
    private static let depthwiseInPlaceWidthOverride = ProcessInfo.processInfo.environment["KILN_DW_IN_PLACE_WIDTH"].flatMap { Int($0) }
    /// Tiles below which the direct GEMM runs instead of Winograd (too few columns to fill the
    /// micro-kernel: a 7×7 output is 4 tiles).
    static let winogradMinimumTiles = 16

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
        let window = conv.window
        let isWinograd = Self.winogradEnabled && !isDepthwise && conv.group == 1 && w.shape.count == 4
            && w.shape[2] == 3 && w.shape[3] == 3
            && (window.strides ?? [1, 1]).allSatisfy { $0 == 1 } && (window.dilations ?? [1, 1]).allSatisfy { $0 == 1 }
        if isWinograd {
            winogradPackedPerXi = gemmPackedACount(m: m, k: cg)
            winogradWeights = WinogradFilters(weight: w)
        } else {
            winogradPackedPerXi = 0
            winogradWeights = nil
        }
        if isDepthwise && m == conv.group && Self.depthwiseBlockedEnabled {
            let lanes = kernels.lanes, blocks = (m &+ lanes &- 1) / lanes
            var filters = try PreparedWeightMemory.floats(blocks &* (area &+ 1) &* lanes)
            depthwise_blockFilters_f32(w.pointer(Float.self), bias: b?.pointer(Float.self), channels: m, area: area,
                                       lanes: lanes, into: filters.mutablePointer(Float.self))
            blockedFilters = filters
        } else {
            blockedFilters = nil
        }
        gemvWeight = conv.group == 1 && !isDepthwise && area == 1 ? w : nil
        storedWeight = w
        blockedKind = conv.blockedKind(weight: w, bias: b, hasBias: b != nil, lanes: kernels.lanes)
        if (conv.blockedInput || conv.blockedOutput) && blockedKind == nil {
            throw KilnError.invalidArgument(op: Self.opType, node: node, reason: "the plan chose a channel-blocked layout for a convolution without a blocked kernel (W \(w.shape))")
        }
        if (blockedKind == .pointwise && (conv.blockedInput || conv.blockedOutput)) || (blockedKind == .direct && conv.blockedOutput) {
            let k = cg &* area
            var packed = try PreparedWeightMemory.floats(pointwisePackedCount(m: m, k: k, lanes: kernels.lanes))
            pointwise_packWeights_f32(w.pointer(Float.self), m: m, k: k, lanes: kernels.lanes, into: packed.mutablePointer(Float.self))
            pointwiseWeights = packed
            packedA = nil
            packedPerGroup = 0
        } else if isDepthwise {
            pointwiseWeights = nil
            packedA = nil
            packedPerGroup = 0
        } else {
            pointwiseWeights = nil
            let packed = try PackedConvWeights(weight: w, groups: conv.group, eager: !isWinograd)
            packedA = packed
            packedPerGroup = packed.perGroup
        }
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        if inputBlocked || outputBlocked { return try blockedOutput(inputs, context: context) }
        let x = try input(inputs, 0, "X", context: context)
        try require(x, .float32, "X", context: context)
        // Kept from the last inference with this input shape (the weight and bias shapes are fixed).
        let (g, outShape) = try context.memoized(x.shape) {
            try conv.geometry(input: x.shape, weight: weightShape, bias: bias?.shape, node: context.node)
        }
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
            if let filters = blockedFilters {
                runDepthwiseBlocked(g, filters: filters.pointer(Float.self), x: x.pointer(Float.self), y: yp,
                                    epilogue: epilogue, context: context)
                withExtendedLifetime(filters) {}
            } else if isDepthwise {
                runDepthwise(g, x: x.pointer(Float.self), y: yp, epilogue: epilogue, context: context)
            } else if let filters = winogradWeights,
                      ((g.outHeight &+ 3) / 4) &* ((g.outWidth &+ 3) / 4) >= Self.winogradMinimumTiles {
                let u = try filters.prepared(packedPerXi: winogradPackedPerXi)
                runWinograd(g, u: u.pointer(Float.self), x: x.pointer(Float.self), y: yp, epilogue: epilogue, context: context)
                withExtendedLifetime(u) {}
            } else if let w = gemvWeight, g.outPlane == 1, g.isPointwise, g.batch <= PlannedGemm.gemvRows, epilogue.residual == nil {
                runGemv(g, w: w.pointer(Float.self), x: x.pointer(Float.self), y: yp, epilogue: epilogue, context: context)
                withExtendedLifetime(w) {}
            } else {
                runGemm(g, x: x.pointer(Float.self), y: yp, epilogue: epilogue, context: context)
            }
        }
        withExtendedLifetime((x, residual)) {}
        if let r = inputs.count > 3 ? inputs[3] : nil, residual == nil {
            return try conv.addResidual(y, r, context: context)
        }
        return y
    }

    /// `output` for a convolution whose input or output the plan keeps channel-blocked
    /// (``Conv/blockedInput``, ``Conv/blockedOutput``). A blocked tensor has the logical shape `[N, C, H, W]` and
    /// the same element count (`C` is a multiple of the lanes).
    private func blockedOutput(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        let x = try input(inputs, 0, "X", context: context)
        try require(x, .float32, "X", context: context)
        // Kept from the last inference with this input shape, with the direct kernel's tap offsets.
        let (g, outShape, taps) = try context.memoized(x.shape) { () -> (Conv2DGeometry, [Int], [Int]) in
            let (g, shape) = try conv.geometry(input: x.shape, weight: weightShape, bias: bias?.shape, node: context.node)
            var taps: [Int] = []
            if blockedKind == .direct {
                for c in 0..<g.inChannels {
                    for i in 0..<g.kernelH {
                        for j in 0..<g.kernelW { taps.append(c &* g.inPlane &+ i &* g.dilationH &* g.inWidth &+ j &* g.dilationW) }
                    }
                }
            }
            return (g, shape, taps)
        }
        let residual = inputs.count > 3 ? inputs[3] : nil
        if let r = residual, r.dtype != .float32 || r.shape != outShape {
            throw KilnError.shapeMismatch(op: Self.opType, node: context.node, tensor: "residual (fused Add)",
                                          expected: outShape, got: r.shape)
        }
        var y = try context.allocate(outShape, dtype: .float32)
        guard y.count > 0 else { return y }
        var epilogue = Epilogue(residual: residual.map { $0.pointer(Float.self) }, residualStride: g.outPlane)
        conv.activation.configure(&epilogue)
        let yp = y.mutablePointer(Float.self)
        if let filters = blockedFilters {
            runDepthwiseBlocked(g, filters: filters.pointer(Float.self), x: x.pointer(Float.self), y: yp, epilogue: epilogue,
                                layout: DepthwiseLayout(inputBlocked: inputBlocked, outputBlocked: outputBlocked,
                                                        readInPlace: Self.depthwiseReadsInPlace(outWidth: g.outWidth, strideW: g.strideW)),
                                context: context)
            withExtendedLifetime(filters) {}
        } else if let w = pointwiseWeights, blockedKind == .direct, !inputBlocked, residual == nil {
            epilogue.bias = bias?.pointer(Float.self)
            runDirectBlocked(g, taps: taps, w: w.pointer(Float.self), x: x.pointer(Float.self), y: yp, epilogue: epilogue, context: context)
            withExtendedLifetime((w, bias)) {}
        } else if let w = pointwiseWeights, g.isPointwise {
            epilogue.bias = bias?.pointer(Float.self)
            runPointwiseBlocked(g, w: w.pointer(Float.self), x: x.pointer(Float.self), y: yp, epilogue: epilogue, context: context)
            withExtendedLifetime((w, bias)) {}
        } else {
            throw KilnError.invalidArgument(op: Self.opType, node: context.node,
                                            reason: "no channel-blocked kernel for this convolution (geometry \(g))")
        }
        withExtendedLifetime((x, residual)) {}
        return y
    }

    /// A direct convolution (a stem) into the blocked layout: work units of (image, channel panel,
    /// band of output rows). `taps`: the input offset of each of the `C·kH·kW` taps.
    private func runDirectBlocked(_ g: Conv2DGeometry, taps: [Int], w: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                  y: UnsafeMutablePointer<Float>, epilogue: Epilogue, context: ExecutionContext) {
        let lanes = kernels.lanes, m = g.outChannels
        let window = ConvWindow(inH: g.inHeight, inW: g.inWidth, outH: g.outHeight, outW: g.outWidth,
                                kH: g.kernelH, kW: g.kernelW, sH: g.strideH, sW: g.strideW,
                                dH: g.dilationH, dW: g.dilationW, padT: g.padTop, padL: g.padLeft)
        let panels = (m &+ 2 &* lanes &- 1) / (2 &* lanes)
        let threads = g.batch &* m &* g.outPlane &* taps.count >= 1 << 16 ? context.threads : 1
        let bands = threads > 1 ? min(g.outHeight, 4 &* threads) : 1
        struct Args {
            var kernels: KernelTable, e: Epilogue, window: ConvWindow, x: UnsafePointer<Float>, w: UnsafePointer<Float>
            var y: UnsafeMutablePointer<Float>, taps: UnsafePointer<Int>, channels: Int, m: Int, panels: Int, bands: Int
            var inImage: Int, outImage: Int
        }
        taps.withUnsafeBufferPointer { t in
            let args = Args(kernels: kernels, e: epilogue, window: window, x: x, w: w, y: y, taps: t.baseAddress!, channels: g.inChannels,
                            m: m, panels: panels, bands: bands, inImage: g.inChannels &* g.inPlane, outImage: m &* g.outPlane)
            ExecutionContext(threads: threads, pool: context.pool).parallelFor(g.batch &* panels &* bands, with: args) { raw, u0, u1 in
                let a = raw.load(as: Args.self)
                for u in u0..<u1 {
                    let band = u % a.bands, rest = u / a.bands
                    let panel = rest % a.panels, n = rest / a.panels
                    let r0 = band &* a.window.outH / a.bands, r1 = (band &+ 1) &* a.window.outH / a.bands
                    a.kernels.directBlocked(a.x + n &* a.inImage, a.window, a.channels, a.taps, a.w, a.m, panel..<(panel &+ 1),
                                            r0..<r1, a.y + n &* a.outImage, a.e)
                }
            }
        }
    }

    /// A 1×1 convolution into the blocked layout: work units of (image, pixel range, panel range).
    private func runPointwiseBlocked(_ g: Conv2DGeometry, w: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                     y: UnsafeMutablePointer<Float>, epilogue: Epilogue, context: ExecutionContext) {
        let lanes = kernels.lanes, m = g.outChannels, k = g.inChannels, plane = g.outPlane
        let panels = (m &+ 2 &* lanes &- 1) / (2 &* lanes)
        let threads = g.batch &* m &* k &* plane >= 1 << 16 ? context.threads : 1
        // About four units per thread. A map whose input fits in L2 (the 7×7 and 14×14 stages,
        // where the weights are the larger operand) is split by output-channel panels only, so each
        // panel's weights stream once; a larger map by pixel ranges of whole 6-pixel tiles.
        let tiles = (plane &+ 5) / 6
        let byPanels = k &* plane <= 65_536
        let pixelParts = threads == 1 || byPanels ? 1 : max(1, min(tiles, 4 &* threads))
        let panelParts = threads == 1 ? 1 : byPanels ? min(panels, 4 &* threads) : 1
        struct Args {
            var kernels: KernelTable, e: Epilogue, x: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
            var blocked: Bool, outBlocked: Bool, m: Int, k: Int, plane: Int, panels: Int, tiles: Int, pixelParts: Int, panelParts: Int
        }
        let args = Args(kernels: kernels, e: epilogue, x: x, w: w, y: y, blocked: inputBlocked, outBlocked: outputBlocked, m: m, k: k, plane: plane,
                        panels: panels, tiles: tiles, pixelParts: pixelParts, panelParts: panelParts)
        ExecutionContext(threads: threads, pool: context.pool).parallelFor(g.batch &* pixelParts &* panelParts, with: args) { raw, u0, u1 in
            let a = raw.load(as: Args.self)
            for u in u0..<u1 {
                let part = u % a.panelParts, rest = u / a.panelParts
                let pix = rest % a.pixelParts, n = rest / a.pixelParts
                let t0 = pix &* a.tiles / a.pixelParts, t1 = (pix &+ 1) &* a.tiles / a.pixelParts
                let j0 = part &* a.panels / a.panelParts, j1 = (part &+ 1) &* a.panels / a.panelParts
                var e = a.e
                e.residual = a.e.residual.map { $0 + n &* a.m &* a.plane }
                a.kernels.pointwiseBlocked(a.x + n &* a.k &* a.plane, a.blocked, a.plane, a.k, a.w, a.m, j0..<j1,
                                           (t0 &* 6)..<min(a.plane, t1 &* 6), a.y + n &* a.m &* a.plane, a.outBlocked, e)
            }
        }
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
        struct Args {
            var g: Conv2DGeometry, plane: ConvWindow, kernels: KernelTable, epilogue: Epilogue
            var x: UnsafePointer<Float>, w: UnsafePointer<Float>, b: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>
            var multiplier: Int, area: Int, scratchCount: Int
        }
        let args = Args(g: g, plane: plane, kernels: kernels, epilogue: epilogue, x: x, w: w, b: b, y: y,
                        multiplier: multiplier, area: area, scratchCount: plane.scratchCount(lanes: kernels.lanes))
        ExecutionContext(threads: threads).parallelFor(planes, with: args) { raw, start, end in
            let a = raw.load(as: Args.self), g = a.g
            let scratch = ThreadWorkspace.floats(a.scratchCount)
            var e = a.epilogue
            if e.residual != nil { e.activation = .none } // applied after the residual below
            e.residual = nil
            for p in start..<end {
                let n = p / g.outChannels, m = p &- n &* g.outChannels
                a.kernels.depthwise(a.plane, a.x + (n &* g.inChannels &+ m / a.multiplier) &* g.inPlane, a.w + m &* a.area,
                                    a.b?[m] ?? 0, a.y + p &* g.outPlane, e, scratch)
            }
        }
        // A residual on a depthwise conv (rare): added after the planes, before nothing else.
        if let r = epilogue.residual {
            addResidualInPlace(y, r, count: planes &* g.outPlane, epilogue: epilogue, context: context)
        }
    }

    /// The channel-blocked depthwise path: work units of (image, block of `lanes` channels, band of
    /// output rows), in parallel over the pool.
    private func runDepthwiseBlocked(_ g: Conv2DGeometry, filters: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                     y: UnsafeMutablePointer<Float>, epilogue: Epilogue, layout: DepthwiseLayout = DepthwiseLayout(),
                                     context: ExecutionContext) {
        let lanes = kernels.lanes
        let window = ConvWindow(inH: g.inHeight, inW: g.inWidth, outH: g.outHeight, outW: g.outWidth,
                                kH: g.kernelH, kW: g.kernelW, sH: g.strideH, sW: g.strideW,
                                dH: g.dilationH, dW: g.dilationW, padT: g.padTop, padL: g.padLeft)
        let blocks = (g.outChannels &+ lanes &- 1) / lanes
        let bandRows = window.blockedBandRows(lanes: lanes)
        let bands = (g.outHeight &+ bandRows &- 1) / bandRows
        let units = g.batch &* blocks &* bands
        let area = g.kernelArea
        let blockFloats = (area &+ 1) &* lanes
        let threads = g.batch &* g.outChannels &* g.outPlane &* area >= 1 << 15 ? context.threads : 1
        let scratchCount = window.blockedScratchCount(lanes: lanes)
        // Bias comes with the filters; a fused residual is added afterwards, and the activation after it.
        var e = epilogue
        e.bias = nil
        e.residual = nil
        if epilogue.residual != nil { e.activation = .none }
        struct Args {
            var g: Conv2DGeometry, window: ConvWindow, kernels: KernelTable, e: Epilogue
            var x: UnsafePointer<Float>, filters: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
            var blocks: Int, bands: Int, bandRows: Int, blockFloats: Int, scratchCount: Int, layout: DepthwiseLayout
        }
        let args = Args(g: g, window: window, kernels: kernels, e: e, x: x, filters: filters, y: y, blocks: blocks,
                        bands: bands, bandRows: bandRows, blockFloats: blockFloats, scratchCount: scratchCount, layout: layout)
        ExecutionContext(threads: threads, pool: context.pool).parallelFor(units, with: args) { raw, start, end in
            let a = raw.load(as: Args.self), g = a.g, lanes = a.kernels.lanes
            let scratch = ThreadWorkspace.floats(a.scratchCount)
            for u in start..<end {
                let band = u % a.bands, rest = u / a.bands
                let b = rest % a.blocks, n = rest / a.blocks
                let c0 = b &* lanes
                let r0 = band &* a.bandRows
                a.kernels.depthwiseBlocked(a.window, a.x + (n &* g.inChannels &+ c0) &* g.inPlane, g.inPlane,
                                           min(lanes, g.outChannels &- c0), a.filters + b &* a.blockFloats,
                                           a.y + (n &* g.outChannels &+ c0) &* g.outPlane, g.outPlane,
                                           r0..<min(g.outHeight, r0 &+ a.bandRows), a.e, scratch, a.layout)
            }
        }
        if let r = epilogue.residual {
            addResidualInPlace(y, r, count: g.batch &* g.outChannels &* g.outPlane, epilogue: epilogue, context: context)
        }
    }

    /// `y = act(y + r)` for a depthwise conv with a fused residual: the planes were written without
    /// activation (see `run`), so apply it here.
    private func addResidualInPlace(_ y: UnsafeMutablePointer<Float>, _ r: UnsafePointer<Float>, count: Int,
                                    epilogue: Epilogue, context: ExecutionContext) {
        ExecutionContext(threads: count >= 1 << 15 ? context.threads : 1)
            .parallelFor(count, with: (y, r, epilogue)) { raw, s, e in
                let (y, r, epilogue) = raw.load(as: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Epilogue).self)
                for i in s..<e { y[i] = epilogue.activate(y[i] + r[i], Vec4.self) }
            }
    }

    /// A 1×1 convolution of a one-pixel map: per image `y = act(W·x + b)`, streaming `W` once in
    /// its stored layout, outputs split over the threads in blocks of 32 (whole vectors).
    private func runGemv(_ g: Conv2DGeometry, w: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         y: UnsafeMutablePointer<Float>, epilogue: Epilogue, context: ExecutionContext) {
        let m = g.outChannels, k = g.inChannels
        var e = epilogue
        e.bias = bias?.pointer(Float.self)
        let threads = m &* k >= Self.gemvParallelThreshold ? context.threads : 1
        PlannedGemm.gemvBlocks(GemvRows(kernels: kernels, x: x, k: k, w: w, ldw: k, wRowsAreOutputs: true,
                                        outputs: m, rows: g.batch, y: y, epilogue: e),
                               context: ExecutionContext(threads: threads, pool: context.pool))
        withExtendedLifetime(bias) {}
    }

    private func runGemm(_ g: Conv2DGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                         epilogue: Epilogue, context: ExecutionContext) {
        let cg = g.inChannelsPerGroup, mg = g.outChannelsPerGroup, hw = g.outPlane
        let window = ConvWindow(inH: g.inHeight, inW: g.inWidth, outH: g.outHeight, outW: g.outWidth,
                                kH: g.kernelH, kW: g.kernelW, sH: g.strideH, sW: g.strideW,
                                dH: g.dilationH, dW: g.dilationW, padT: g.padTop, padL: g.padLeft)
        let pointwise = g.isPointwise
        let packed = weights.pointer(Float.self), b = bias?.pointer(Float.self)
        // Maps narrower than a micro-panel: the column matrix materialized (see `conv_im2colSmall_f32`).
        let scratchCount = window.im2colSmallScratchCount(channels: cg, lanes: kernels.lanes)
        let small = !pointwise && g.outWidth < kernels.nr && scratchCount <= Self.smallIm2colLimit
        let paddedCount = cg &* window.im2colPaddedHeight &* window.im2colPaddedWidth &+ 2 &* kernels.lanes
        for n in 0..<g.batch {
            for grp in 0..<g.group {
                let xg = x + (n &* g.inChannels &+ grp &* cg) &* g.inPlane
                let offset = (n &* g.outChannels &+ grp &* mg) &* hw
                var e = epilogue
                e.bias = b.map { $0 + grp &* mg }
                e.residual = epilogue.residual.map { $0 + offset }
                let source: GemmBSource
                if small {
                    let scratch = ThreadWorkspace.tile(scratchCount)
                    kernels.im2colSmall(xg, window, cg, scratch, scratch + paddedCount)
                    source = .matrix(scratch + paddedCount, ldb: hw)
                } else {
                    source = pointwise ? .matrix(xg, ldb: hw) : .im2col(xg, window)
                }
                let problem = GemmProblem(m: mg, n: hw, k: g.gemmK, a: .packed(packed + grp &* packedPerGroup),
                                          b: source, c: y + offset, ldc: hw, epilogue: e)
                KilnGemm.run(problem, kernels: kernels, context: context)
            }
        }
    }

    // MARK: Winograd F(4,3)

    /// `G·(a, b, c)ᵀ` for F(4,3)'s `G` = [[1/4, 0, 0], [−1/6, −1/6, −1/6], [−1/6, 1/6, −1/6],
    /// [1/24, 1/12, 1/6], [1/24, −1/12, 1/6], [0, 0, 1]], factored: 10 operations instead of 18
    /// multiply-adds. Two filters at once (one per lane), each lane computed exactly as a scalar
    /// would be.
    @inline(__always)
    fileprivate static func winogradG(_ a: SIMD2<Double>, _ b: SIMD2<Double>, _ c: SIMD2<Double>)
        -> (SIMD2<Double>, SIMD2<Double>, SIMD2<Double>, SIMD2<Double>, SIMD2<Double>, SIMD2<Double>) {
        let s = a + c, u = a * (1.0 / 24) + c * (1.0 / 6), v = b * (1.0 / 12)
        return (a * 0.25, (s + b) * (-1.0 / 6), (s - b) * (-1.0 / 6), u + v, u - v, c)
    }

    /// `U = G·g·Gᵀ` for every (output, input) channel pair of `w` (`[M, C, 3, 3]`), computed in
    /// double precision and written straight into the packed A operands of the 36 GEMMs (one per
    /// position ξ, `gemm_packA_f32`'s layout): no intermediate `[36 × M × C]` copy, which cost more
    /// in page faults and a second pass than the arithmetic.
    ///
    /// The loops run in the order of the packed layout — row panel, input channel, pair of lanes —
    /// so each of the 36 outputs is written front to back, two floats per store; two output
    /// channels are transformed at once in `SIMD2<Double>` (the same arithmetic per lane, so the
    /// same bits as one at a time); and the row panels are split over the pool of the inference that
    /// asks for the filters (the load-time probe; `ThreadPool.current`), one thread without one.
    fileprivate static func winogradFilters(_ w: Tensor, packedPerXi: Int) throws -> Tensor {
        let m = w.shape[0], c = w.shape[1]
        let panels = (m &+ gemmMR &- 1) / gemmMR
        let mPad = panels &* gemmMR
        var packed = try PreparedWeightMemory.floats(max(1, 36 &* packedPerXi))
        let dst = packed.mutablePointer(Float.self)
        let src = w.pointer(Float.self)
        let pool = ThreadPool.current
        // Every float of `packed` is written below: rows past M in the last panel as zeros.
        ExecutionContext(threads: m &* c >= 1 << 14 ? pool?.threads ?? 1 : 1, pool: pool).parallelFor(panels) { p0, p1 in
            for panel in p0..<p1 {
                var k0 = 0
                while k0 < c {
                    let kc = min(gemmKC, c &- k0)
                    // Chunk k0, panel `panel`: row i − k0 of MR lanes (output channels), per ξ.
                    var out = dst + (k0 &* mPad &+ panel &* gemmMR &* kc)
                    for i in k0..<(k0 &+ kc) {
                        // Lanes in pairs (MR is even): rows past M read as zero filters and are
                        // then stored as zeros.
                        for lane in stride(from: 0, to: gemmMR, by: 2) {
                            let o = panel &* gemmMR &+ lane
                            let first = o < m, second = o &+ 1 < m
                            let f0 = src + (min(o, m &- 1) &* c &+ i) &* 9, f1 = src + (min(o &+ 1, m &- 1) &* c &+ i) &* 9
                            @inline(__always) func tap(_ t: Int) -> SIMD2<Double> {
                                SIMD2(first ? Double(f0[t]) : 0, second ? Double(f1[t]) : 0)
                            }
                            // t = G·f (6×3, by columns), then each row of t times Gᵀ gives a row of U (6×6).
                            let c0 = winogradG(tap(0), tap(3), tap(6))
                            let c1 = winogradG(tap(1), tap(4), tap(7))
                            let c2 = winogradG(tap(2), tap(5), tap(8))
                            // Two adjacent floats of the packed layout: 8-byte aligned (all offsets are even).
                            let q = UnsafeMutableRawPointer(out + lane)
                            let stride = packedPerXi &* MemoryLayout<Float>.size
                            @inline(__always) func row(_ r: Int, _ t0: SIMD2<Double>, _ t1: SIMD2<Double>, _ t2: SIMD2<Double>) {
                                let x = winogradG(t0, t1, t2)
                                let qr = q + r &* 6 &* stride
                                qr.storeBytes(of: SIMD2<Float>(x.0), as: SIMD2<Float>.self)
                                (qr + stride).storeBytes(of: SIMD2<Float>(x.1), as: SIMD2<Float>.self)
                                (qr + 2 &* stride).storeBytes(of: SIMD2<Float>(x.2), as: SIMD2<Float>.self)
                                (qr + 3 &* stride).storeBytes(of: SIMD2<Float>(x.3), as: SIMD2<Float>.self)
                                (qr + 4 &* stride).storeBytes(of: SIMD2<Float>(x.4), as: SIMD2<Float>.self)
                                (qr + 5 &* stride).storeBytes(of: SIMD2<Float>(x.5), as: SIMD2<Float>.self)
                            }
                            row(0, c0.0, c1.0, c2.0); row(1, c0.1, c1.1, c2.1); row(2, c0.2, c1.2, c2.2)
                            row(3, c0.3, c1.3, c2.3); row(4, c0.4, c1.4, c2.4); row(5, c0.5, c1.5, c2.5)
                            if !second {
                                // Rows past M: +0 (a zero filter's transform has −0 in places).
                                let z = out + lane
                                for xi in 0..<36 {
                                    if !first { z[xi &* packedPerXi] = 0 }
                                    z[xi &* packedPerXi &+ 1] = 0
                                }
                            }
                        }
                        out += gemmMR
                    }
                    k0 &+= kc
                }
            }
        }
        return packed
    }

    /// The Winograd path, per image: the input transform of every channel into the packed B of 36
    /// GEMMs, the GEMMs against the prepared filters, and the output transform with the epilogue.
    /// The tiles are processed in blocks so the transformed data of a block stays in the caches.
    /// Blocks run in parallel when there are enough of them (each thread all three phases of its
    /// blocks), otherwise each phase of a block runs in parallel (over channels, positions ξ,
    /// output channels).
    private func runWinograd(_ g: Conv2DGeometry, u: UnsafePointer<Float>, x: UnsafePointer<Float>,
                             y: UnsafeMutablePointer<Float>, epilogue: Epilogue, context: ExecutionContext) {
        let c = g.inChannels, m = g.outChannels
        let wg = WinogradGeometry(inH: g.inHeight, inW: g.inWidth, padT: g.padTop, padL: g.padLeft,
                                  outH: g.outHeight, outW: g.outWidth)
        let nr = kernels.nr
        let tiles = wg.tiles
        // Tiles per block: the transformed input and the GEMM outputs of a block, 36·(C + M)·block
        // floats, within about 1 MiB; at least one micro-panel, a multiple of it.
        let budget = (1 << 18) / (36 &* (c &+ m))
        var block = min((tiles &+ nr &- 1) / nr &* nr, max(nr, budget / nr &* nr))
        let threads = context.threads
        // With several threads and tiles for at least two micro-panels per thread, each thread takes
        // whole blocks (transform, 36 GEMMs, inverse transform in its own buffers): one parallel
        // loop per convolution instead of three per block, and the blocks are claimed dynamically.
        // Otherwise (few tiles: the 14×14 stages) every block's three phases are split instead.
        // Blocks are made small enough for about four per thread (whole micro-panels), so that the
        // last, partial block does not leave a thread idle for a block's time.
        let byBlocks = threads > 1 && tiles >= 2 &* threads &* nr
        if byBlocks { block = min(block, max(nr, tiles / (4 &* threads) / nr &* nr)) }
        let vFloats = 36 &* c &* block, mFloats = 36 &* m &* block
        let panels = (m &+ gemmMR &- 1) / gemmMR
        var phases = WinogradPhases(g: g, wg: wg, kernels: kernels, epilogue: epilogue, u: u, x: x, y: y,
                                    bias: bias?.pointer(Float.self), panels: panels, packedPerXi: winogradPackedPerXi)
        let blocksPerImage = (tiles &+ block &- 1) / block
        if byBlocks {
            phases.tilesPerBlock = block
            phases.blocksPerImage = blocksPerImage
            phases.vFloats = vFloats
            phases.mFloats = mFloats
            ExecutionContext(threads: threads, pool: context.pool).parallelFor(g.batch &* blocksPerImage, with: phases) { raw, u0, u1 in
                let phases = raw.load(as: WinogradPhases.self)
                let buffer = ThreadWorkspace.floats(phases.vFloats &+ phases.mFloats)
                let serial = ExecutionContext(threads: 1)
                for unit in u0..<u1 {
                    let n = unit / phases.blocksPerImage, t0 = (unit &- n &* phases.blocksPerImage) &* phases.tilesPerBlock
                    phases.runBlock(n, t0, min(phases.tilesPerBlock, phases.wg.tiles &- t0), buffer, buffer + phases.vFloats, serial)
                }
            }
            return
        }
        if threads > 1 && panels >= 2 &* threads && 2 &* c <= m && Self.winogradSplitsOutputChannels {
            // Few tiles (27×27 and smaller maps), several threads, and at least twice as many
            // outputs as inputs (SqueezeNet's expand layers): each thread takes a share of the
            // output channels and runs every block's three phases on its own — the whole input
            // transform (duplicated, small next to the GEMMs), the 36 GEMMs of its row panels, the
            // output transform of its channels — in its own buffers. Splitting each phase over all
            // threads passes each block's transformed input and GEMM outputs between the cores
            // twice, which on a 2-vCPU Zen 4 VM left those layers barely faster at 2 threads than
            // at 1 (SqueezeNet 1.1 at 2 threads: 7.39 → 6.85 ms). With as many inputs as outputs
            // (ResNet's 28×28 and 14×14 layers) the duplicated transform cost what it saved.
            phases.tilesPerBlock = block
            phases.vFloats = vFloats
            phases.mFloats = mFloats
            phases.shares = threads
            ExecutionContext(threads: threads, pool: context.pool).parallelFor(threads, with: phases) { raw, s0, s1 in
                let phases = raw.load(as: WinogradPhases.self)
                let buffer = ThreadWorkspace.floats(phases.vFloats &+ phases.mFloats)
                let shares = phases.shares
                for share in s0..<s1 {
                    let p0 = phases.panels &* share / shares, p1 = phases.panels &* (share &+ 1) / shares
                    for n in 0..<phases.g.batch {
                        var t0 = 0
                        while t0 < phases.wg.tiles {
                            let count = min(phases.tilesPerBlock, phases.wg.tiles &- t0)
                            phases.runBlock(n, t0, count, buffer, buffer + phases.vFloats, panels: p0..<p1)
                            t0 &+= count
                        }
                    }
                }
            }
            return
        }
        let buffer = ThreadWorkspace.floats(vFloats &+ mFloats)
        let parallel = ExecutionContext(threads: threads, pool: context.pool)
        for n in 0..<g.batch {
            var t0 = 0
            while t0 < tiles {
                let count = min(block, tiles &- t0)
                phases.runBlock(n, t0, count, buffer, buffer + vFloats, parallel)
                t0 &+= count
            }
        }
    }
}

/// The packed A operands (one per group) of a ``PlannedConv`` on the GEMM path.
///
/// The memory is allocated when the plan is built; it is filled then, or — `eager: false`, for a
/// convolution that also has Winograd filters and takes the direct path only on maps with fewer
/// than ``PlannedConv/winogradMinimumTiles`` tiles — on first use: ResNet-18 at 224 × 224 never
/// needs it for 9 of its 12 Winograd layers, and did 20 % of its weight packing for nothing. Lazy
/// filling is thread-safe like ``WinogradFilters``: one caller packs under a lock, later ones read
/// without it. Unfilled, the allocation is address space only (no page has been touched).
final class PackedConvWeights: @unchecked Sendable {
    /// The stored weight `[M, C/group, kH, kW]` (a constant of the artifact: no copy).
    let weight: Tensor
    /// Floats of packed A per group.
    let perGroup: Int
    private let groups: Int
    /// The packed operands; written once, through `destination`, before `ready` is set.
    private let storage: Tensor
    private let destination: UnsafeMutablePointer<Float>
    private let lock = NSLock()
    /// Set (releasing) after `storage` is filled: later readers take no lock.
    private let ready = Atomic<Bool>(false)

    /// Allocates the packed operands of `weight` and, when `eager`, fills them.
    /// - Throws: ``KilnError/outOfMemory(what:byteCount:)`` when the allocation is refused.
    init(weight: Tensor, groups: Int, eager: Bool) throws {
        self.weight = weight
        self.groups = groups
        let m = weight.shape[0] / groups, k = weight.shape[1...].reduce(1, *)
        perGroup = gemmPackedACount(m: m, k: k)
        // Lazily filled operands take their own allocation: untouched, it costs no memory.
        let count = max(1, perGroup &* groups)
        var storage = eager ? try PreparedWeightMemory.floats(count) : try Tensor(uninitialized: [count], dtype: .float32)
        destination = storage.mutablePointer(Float.self)
        self.storage = storage
        if eager {
            fill()
            ready.store(true, ordering: .releasing)
        }
    }

    /// The packed operands, packed on the first call when they were not at init.
    var packed: Tensor {
        if !ready.load(ordering: .acquiring) {
            lock.lock()
            if !ready.load(ordering: .acquiring) {
                fill()
                ready.store(true, ordering: .releasing)
            }
            lock.unlock()
        }
        return storage
    }

    /// Whether the operands have been packed (tests).
    var isPacked: Bool { ready.load(ordering: .acquiring) }

    private func fill() {
        let m = weight.shape[0] / groups, k = weight.shape[1...].reduce(1, *)
        let src = weight.pointer(Float.self)
        for grp in 0..<groups {
            gemm_packA_f32(src + grp &* m &* k, lda: max(k, 1), m: m, k: k, into: destination + grp &* perGroup)
        }
    }
}

/// The Winograd filters of one ``PlannedConv``, transformed once, on first use (thread-safe: many
/// inferences may reach a layer at the same time; one builds, the others wait and share; once
/// built, reading them takes no lock).
final class WinogradFilters: @unchecked Sendable {
    /// The stored weight `[M, C, 3, 3]` (a constant of the artifact: no copy).
    let weight: Tensor
    private let lock = NSLock()
    /// Written once, under `lock`, before `ready` is set; read without the lock after `ready`.
    private var filters: Tensor?
    /// Set (releasing) after `filters` is written: later inferences take no lock.
    private let ready = Atomic<Bool>(false)

    init(weight: Tensor) {
        self.weight = weight
    }

    /// The packed `U`, built on the first call.
    func prepared(packedPerXi: Int) throws -> Tensor {
        if ready.load(ordering: .acquiring), let filters { return filters }
        lock.lock()
        defer { lock.unlock() }
        if let filters { return filters }
        let made = try PlannedConv.winogradFilters(weight, packedPerXi: packedPerXi)
        filters = made
        ready.store(true, ordering: .releasing)
        return made
    }

    /// Whether the filters have been made.
    var isPrepared: Bool { ready.load(ordering: .acquiring) }
}

/// What the Winograd path's parallel loops read (`PlannedConv.runWinograd`): the convolution, and
/// for a block's three phases the block itself. A plain struct passed by pointer, so the loops
/// allocate nothing (see ``ExecutionContext/parallelFor(_:with:_:)``).
private struct WinogradPhases {
    var g: Conv2DGeometry
    var wg: WinogradGeometry
    var kernels: KernelTable
    var epilogue: Epilogue
    /// The transformed filters, the input, the output and the bias.
    var u: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?
    var panels: Int, packedPerXi: Int
    /// Blocks as the units of one loop (set when each thread takes whole blocks).
    var tilesPerBlock = 0, blocksPerImage = 0, vFloats = 0, mFloats = 0
    /// Shares of the output channels (set when each thread takes a share of them).
    var shares = 1
    /// The block the phases work on: image `n`, tiles `t0 ..< t0 + count` (`padded` rounded up to
    /// whole micro-panels), and its transformed input and GEMM outputs.
    var n = 0, t0 = 0, count = 0, padded = 0
    var vBuf: UnsafeMutablePointer<Float>?, mBuf: UnsafeMutablePointer<Float>?

    /// These phases bound to tiles `t0 ..< t0 + count` of image `n` and the given buffers.
    private func bound(_ n: Int, _ t0: Int, _ count: Int, _ vBuf: UnsafeMutablePointer<Float>,
                       _ mBuf: UnsafeMutablePointer<Float>) -> WinogradPhases {
        var block = self
        block.n = n
        block.t0 = t0
        block.count = count
        block.padded = (count &+ kernels.nr &- 1) / kernels.nr &* kernels.nr
        block.vBuf = vBuf
        block.mBuf = mBuf
        return block
    }

    /// Tiles `t0 ..< t0 + count` of image `n`, with the phases split over `parallel`.
    func runBlock(_ n: Int, _ t0: Int, _ count: Int, _ vBuf: UnsafeMutablePointer<Float>,
                  _ mBuf: UnsafeMutablePointer<Float>, _ parallel: ExecutionContext) {
        let block = bound(n, t0, count, vBuf, mBuf)
        parallel.parallelFor(g.inChannels, with: block) { raw, c0, c1 in raw.load(as: WinogradPhases.self).input(c0, c1) }
        parallel.parallelFor(36, with: block) { raw, x0, x1 in raw.load(as: WinogradPhases.self).gemms(x0, x1) }
        parallel.parallelFor(g.outChannels, with: block) { raw, m0, m1 in raw.load(as: WinogradPhases.self).output(m0, m1) }
    }

    /// Tiles `t0 ..< t0 + count` of image `n` on this thread, for the output channels of row panels
    /// `panels` only: the whole input transform, the GEMMs of those panels, their output transform.
    func runBlock(_ n: Int, _ t0: Int, _ count: Int, _ vBuf: UnsafeMutablePointer<Float>,
                  _ mBuf: UnsafeMutablePointer<Float>, panels: Range<Int>) {
        let block = bound(n, t0, count, vBuf, mBuf)
        block.input(0, g.inChannels)
        block.gemms(0, 36, panels: panels)
        block.output(panels.lowerBound &* gemmMR, min(g.outChannels, panels.upperBound &* gemmMR))
    }

    /// The input transform of channels `c0 ..< c1` into the packed B operands.
    func input(_ c0: Int, _ c1: Int) {
        let c = g.inChannels
        let xn = x + n &* c &* g.inPlane
        let scratch = ThreadWorkspace.tile(40 &* kernels.lanes)
        for ci in c0..<c1 {
            kernels.winogradInput(xn + ci &* g.inPlane, wg, t0, padded, ci, c, c &* padded, vBuf!, scratch)
        }
    }

    /// The GEMMs of positions `x0 ..< x1`, for row panels `panels` (all by default).
    func gemms(_ x0: Int, _ x1: Int, panels rows: Range<Int>? = nil) {
        let rows = rows ?? 0..<panels
        let c = g.inChannels, m = g.outChannels
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { ws in
            for xi in x0..<x1 {
                let p = GemmProblem(m: m, n: count, k: c, a: .packed(u + xi &* packedPerXi),
                                    b: .packed(vBuf! + xi &* c &* padded), c: mBuf! + xi &* m &* padded, ldc: padded)
                kernels.gemm(p, rows, 0..<count, ws.baseAddress!)
            }
        }
    }

    /// The output transform, with the epilogue, of output channels `m0 ..< m1`.
    func output(_ m0: Int, _ m1: Int) {
        let m = g.outChannels
        let yn = y + n &* m &* g.outPlane
        let rn = epilogue.residual.map { $0 + n &* m &* g.outPlane }
        let scratch = ThreadWorkspace.tile(40 &* kernels.lanes)
        for mi in m0..<m1 {
            kernels.winogradOutput(mBuf! + mi &* padded, wg, t0, count, m &* padded, bias?[mi] ?? 0,
                                   rn.map { $0 + mi &* g.outPlane }, epilogue, yn + mi &* g.outPlane, scratch)
        }
    }
}
