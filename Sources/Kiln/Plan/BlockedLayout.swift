import KilnKernels

// Kiln's channel-blocked activation layout (`NCHWc`): a float32 `[N, C, H, W]` value, `C` a multiple
// of the kernel variant's lanes `L`, stored as `[N][C / L][H·W][L]`. It has the logical shape and the
// element count of the plain value; only the order differs. ``ExecutionPlan`` decides which values
// are blocked (between 1×1 and depthwise convolutions, into global pools and squeeze-and-excitation
// scales) and gives the ops that read or write them their blocked forms: ``PlannedConv`` (with
// ``Conv/blockedInput`` and ``Conv/blockedOutput``), ``BlockedGlobalPool`` and ``BlockedBinary``. A value
// with one pixel per plane (`H·W == 1`) is stored the same way in both layouts.

/// Conversions between the plain and the channel-blocked layout (used where a blocked value meets
/// an operand shape the blocked kernels do not cover).
enum BlockedLayout {
    /// Whether `t`, flagged blocked by the plan, is stored differently from plain (more than one pixel).
    static func differsFromPlain(_ t: Tensor, flagged: Bool) -> Bool {
        flagged && t.rank == 4 && t.shape[2] &* t.shape[3] > 1
    }

    /// The plain copy of blocked `x` (`[N, C, H, W]`, `C` a multiple of `lanes`), from the arena.
    /// - Throws: ``KilnError`` when `x` cannot be blocked or the allocation fails.
    static func toPlain(_ x: Tensor, lanes: Int, op: String, context: ExecutionContext) throws -> Tensor {
        try convert(x, lanes: lanes, toBlocked: false, op: op, context: context)
    }

    /// The blocked copy of plain `x` (`[N, C, H, W]`, `C` a multiple of `lanes`), from the arena.
    /// - Throws: ``KilnError`` when `x` cannot be blocked or the allocation fails.
    static func toBlocked(_ x: Tensor, lanes: Int, op: String, context: ExecutionContext) throws -> Tensor {
        try convert(x, lanes: lanes, toBlocked: true, op: op, context: context)
    }

    private static func convert(_ x: Tensor, lanes: Int, toBlocked: Bool, op: String, context: ExecutionContext) throws -> Tensor {
        guard x.dtype == .float32, x.rank == 4, x.shape[1] % lanes == 0 else {
            throw KilnError.invalidArgument(op: op, node: context.node,
                                            reason: "value \(x.dtype)\(x.shape) cannot be channel-blocked by \(lanes) lanes")
        }
        var y = try context.allocate(x.shape, dtype: .float32)
        let n = x.shape[0], c = x.shape[1], plane = x.shape[2] &* x.shape[3]
        let src = x.pointer(Float.self), dst = y.mutablePointer(Float.self)
        for i in 0..<n {
            for b in 0..<(c / lanes) {
                let blocked = (i &* c &+ b &* lanes) &* plane // the block's first float, in both layouts
                for p in 0..<plane {
                    for l in 0..<lanes {
                        let q = blocked &+ p &* lanes &+ l, r = blocked &+ l &* plane &+ p
                        if toBlocked { dst[q] = src[r] } else { dst[r] = src[q] }
                    }
                }
            }
        }
        withExtendedLifetime(x) {}
        return y
    }
}

/// `GlobalAveragePool` / `GlobalMaxPool` reading a channel-blocked input; the output
/// (`[N, C, 1, 1]`) is plain.
struct BlockedGlobalPool: SingleOutputOperator {
    static let opType = "GlobalPool"
    /// The portable op, for an input stored as plain.
    let base: any SingleOutputOperator
    let isMax: Bool
    let kernels: KernelTable

    init(attributes: Attributes) throws {
        throw KilnError.invalidArgument(op: Self.opType, node: nil, reason: "BlockedGlobalPool is made by the planner, not decoded")
    }

    init(base: any SingleOutputOperator, isMax: Bool, kernels: KernelTable) {
        self.base = base
        self.isMax = isMax
        self.kernels = kernels
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        guard inputs.count == 1, let x = inputs[0], BlockedLayout.differsFromPlain(x, flagged: true), x.dtype == .float32 else {
            return try base.output(inputs, context: context)
        }
        let lanes = kernels.lanes
        let n = x.shape[0], c = x.shape[1], plane = x.shape[2] &* x.shape[3]
        guard c % lanes == 0 else {
            throw KilnError.invalidArgument(op: base.opType, node: context.node, reason: "channel-blocked input \(x.shape) has channels not a multiple of \(lanes)")
        }
        let shape = context.memoized(x.shape) { [n, c, 1, 1] }
        var y = try context.allocate(shape, dtype: .float32)
        let blocks = n &* (c / lanes)
        let threads = blocks &* plane &* lanes >= 1 << 16 ? context.threads : 1
        typealias Args = (kernels: KernelTable, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, plane: Int, isMax: Bool)
        let args: Args = (kernels, x.pointer(Float.self), y.mutablePointer(Float.self), plane, isMax)
        // The images' blocks are consecutive in both the input and the output: one range of blocks.
        ExecutionContext(threads: threads, pool: context.pool).parallelFor(blocks, with: args) { raw, b0, b1 in
            let a = raw.load(as: Args.self)
            a.kernels.globalPoolBlocked(a.x, a.plane, b0..<b1, a.isMax, a.y)
        }
        withExtendedLifetime(x) {}
        return y
    }
}

/// `Add`, `Sub`, `Mul` or `Div` with a channel-blocked operand. The common case — a blocked
/// `[N, C, H, W]` and one value per channel (`[N or 1, C, 1, 1]`, a squeeze-and-excitation scale) —
/// runs lane by lane on the blocked data; two blocked operands of one shape, or a scalar, run the
/// portable op on the storage as is (element `i` of both is the same logical element). Any other
/// operand shape converts to plain, runs the portable op and converts the result back.
struct BlockedBinary: SingleOutputOperator {
    static let opType = "BinaryArithmetic"
    /// The portable op.
    let base: any SingleOutputOperator
    let kind: ArithmeticKind
    /// Which inputs the plan keeps blocked, and the output.
    let inputBlocked: (Bool, Bool)
    let outputBlocked: Bool
    let kernels: KernelTable

    init(attributes: Attributes) throws {
        throw KilnError.invalidArgument(op: Self.opType, node: nil, reason: "BlockedBinary is made by the planner, not decoded")
    }

    init(base: any SingleOutputOperator, kind: ArithmeticKind, inputBlocked: (Bool, Bool), outputBlocked: Bool, kernels: KernelTable) {
        self.base = base
        self.kind = kind
        self.inputBlocked = inputBlocked
        self.outputBlocked = outputBlocked
        self.kernels = kernels
    }

    func output(_ inputs: [Tensor?], context: ExecutionContext) throws -> Tensor {
        guard inputs.count == 2, let a = inputs[0], let b = inputs[1], a.dtype == .float32, b.dtype == .float32 else {
            return try base.output(inputs, context: context)
        }
        let fa = BlockedLayout.differsFromPlain(a, flagged: inputBlocked.0)
        let fb = BlockedLayout.differsFromPlain(b, flagged: inputBlocked.1)
        if !fa && !fb {
            // Both stored as plain (one-pixel planes, or the plan's blocked operand is one pixel
            // here): the result too, converted when the plan wants it blocked and it is not one pixel.
            let r = try base.output(inputs, context: context)
            return outputBlocked && BlockedLayout.differsFromPlain(r, flagged: true)
                ? try BlockedLayout.toBlocked(r, lanes: kernels.lanes, op: base.opType, context: context) : r
        }
        if outputBlocked {
            if fa && fb && a.shape == b.shape { return try base.output(inputs, context: context) }
            if fa != fb {
                let (x, v) = fa ? (a, b) : (b, a)
                if v.count == 1 && v.rank <= 4 { return try base.output(inputs, context: context) }
                if let y = try channelOp(x, v, xIsLeft: fa, context: context) { return y }
            }
        }
        let lanes = kernels.lanes
        let pa = fa ? try BlockedLayout.toPlain(a, lanes: lanes, op: base.opType, context: context) : a
        let pb = fb ? try BlockedLayout.toPlain(b, lanes: lanes, op: base.opType, context: context) : b
        let r = try base.output([pa, pb], context: context)
        if outputBlocked && BlockedLayout.differsFromPlain(r, flagged: true) {
            return try BlockedLayout.toBlocked(r, lanes: lanes, op: base.opType, context: context)
        }
        return r
    }

    /// `x ⊕ v` (or `v ⊕ x`) for blocked `x` and one value per channel, or `nil` when `v` is not that.
    private func channelOp(_ x: Tensor, _ v: Tensor, xIsLeft: Bool, context: ExecutionContext) throws -> Tensor? {
        let lanes = kernels.lanes
        let n = x.shape[0], c = x.shape[1], plane = x.shape[2] &* x.shape[3]
        guard v.rank <= 4, c % lanes == 0 else { return nil }
        // `v`'s shape right-aligned to rank 4 (no array: this runs on every inference).
        let pad = 4 &- v.rank
        @inline(__always) func dim(_ i: Int) -> Int { i < pad ? 1 : v.shape[i &- pad] }
        let vn = dim(0)
        guard dim(1) == c, dim(2) == 1, dim(3) == 1, vn == 1 || vn == n else { return nil }
        let op: ChannelOp
        switch kind {
        case .add: op = .add
        case .mul: op = .mul
        case .sub: op = xIsLeft ? .sub : .reversedSub
        case .div: op = xIsLeft ? .div : .reversedDiv
        case .max, .min: return nil
        }
        var y = try context.allocate(x.shape, dtype: .float32)
        let blocksPerImage = c / lanes
        let threads = n &* c &* plane >= 1 << 16 ? context.threads : 1
        typealias Args = (kernels: KernelTable, x: UnsafePointer<Float>, v: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                          plane: Int, perImage: Int, vStride: Int, op: ChannelOp)
        let args: Args = (kernels, x.pointer(Float.self), v.pointer(Float.self), y.mutablePointer(Float.self), plane,
                          blocksPerImage, vn == 1 ? 0 : c, op)
        ExecutionContext(threads: threads, pool: context.pool).parallelFor(n &* blocksPerImage, with: args) { raw, u0, u1 in
            let a = raw.load(as: Args.self)
            var u = u0
            while u < u1 {
                // Within one image: its values, and its blocks `b0 ..< b1`.
                let i = u / a.perImage, b0 = u &- i &* a.perImage, b1 = min(a.perImage, b0 &+ (u1 &- u))
                let offset = i &* a.perImage &* a.plane &* a.kernels.lanes
                a.kernels.channelOp(a.x + offset, a.v + i &* a.vStride, a.plane, b0..<b1, a.op, a.y + offset)
                u &+= b1 &- b0
            }
        }
        withExtendedLifetime((x, v)) {}
        return y
    }
}

// Static shapes: the portable ops' (a blocked value has its logical shape), so that the load-time
// shape inference covers a blocked plan without a second probe.
extension BlockedGlobalPool: GlobalPoolShape {}
extension BlockedBinary: BroadcastsInputs {}
