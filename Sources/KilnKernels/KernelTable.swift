/// An instruction-set variant of Kiln's kernels.
public enum KernelISA: String, Sendable, CaseIterable, Comparable {
    /// SSE2 (any x86-64), 4-lane vectors, no FMA.
    case baseline
    /// AVX2 + FMA (Haswell, Zen and later), 8-lane vectors.
    case avx2
    /// AVX-512 F/BW/DQ/VL (Skylake-SP, Ice Lake, Sapphire/Emerald Rapids, Zen 4 and later), 16-lane vectors.
    case avx512

    private var rank: Int {
        switch self {
        case .baseline: return 0
        case .avx2: return 1
        case .avx512: return 2
        }
    }

    /// Orders variants by capability.
    public static func < (l: KernelISA, r: KernelISA) -> Bool { l.rank < r.rank }
}

/// The kernels of one ISA variant, as function values built in that variant's module (compiled with
/// its `-target-cpu`). Obtain one from `Kiln`'s dispatch, which checks CPUID first: calling an
/// AVX-512 table's functions on a CPU without AVX-512 traps.
public struct KernelTable: Sendable {
    /// The variant.
    public let isa: KernelISA
    /// Float lanes of the variant's vectors; GEMM micro-panels of B are `2 · lanes` wide.
    public let lanes: Int
    /// ``gemm_f32(_:mPanels:columns:workspace:vector:)``.
    public let gemm: @Sendable (GemmProblem, Range<Int>, Range<Int>, UnsafeMutablePointer<Float>) -> Void
    /// ``gemm_packB_f32(_:ldb:k:n:nr:into:)`` with this variant's panel width: `(b, ldb, k, n, dst)`.
    public let packB: @Sendable (UnsafePointer<Float>, Int, Int, Int, UnsafeMutablePointer<Float>) -> Void
    /// ``depthwise_f32(_:x:w:bias:y:epilogue:scratch:vector:)``.
    public let depthwise: @Sendable (ConvWindow, UnsafePointer<Float>, UnsafePointer<Float>, Float,
                                     UnsafeMutablePointer<Float>, Epilogue, UnsafeMutablePointer<Float>) -> Void
    /// ``depthwise_blocked_f32(_:x:inPlaneStride:channels:filters:y:outPlaneStride:rows:epilogue:scratch:layout:vector:)``:
    /// `(window, x, inPlaneStride, channels, filters, y, outPlaneStride, rows, epilogue, scratch, layout)`.
    public let depthwiseBlocked: @Sendable (ConvWindow, UnsafePointer<Float>, Int, Int, UnsafePointer<Float>,
                                            UnsafeMutablePointer<Float>, Int, Range<Int>, Epilogue, UnsafeMutablePointer<Float>, DepthwiseLayout) -> Void
    /// ``pointwise_blocked_f32(_:blocked:plane:k:w:m:panels:pixels:y:outBlocked:epilogue:vector:)``:
    /// `(x, blocked, plane, k, w, m, panels, pixels, y, outBlocked, epilogue)`.
    public let pointwiseBlocked: @Sendable (UnsafePointer<Float>, Bool, Int, Int, UnsafePointer<Float>, Int, Range<Int>, Range<Int>,
                                            UnsafeMutablePointer<Float>, Bool, Epilogue) -> Void
    /// ``conv_directBlocked_f32(_:_:channels:taps:w:m:panels:rows:y:epilogue:vector:)``:
    /// `(x, window, channels, taps, w, m, panels, rows, y, epilogue)`.
    public let directBlocked: @Sendable (UnsafePointer<Float>, ConvWindow, Int, UnsafePointer<Int>, UnsafePointer<Float>, Int,
                                         Range<Int>, Range<Int>, UnsafeMutablePointer<Float>, Epilogue) -> Void
    /// ``pool_globalBlocked_f32(_:plane:blocks:isMax:y:vector:)``: `(x, plane, blocks, isMax, y)`.
    public let globalPoolBlocked: @Sendable (UnsafePointer<Float>, Int, Range<Int>, Bool, UnsafeMutablePointer<Float>) -> Void
    /// ``blocked_channelOp_f32(_:values:plane:blocks:op:y:vector:)``: `(x, values, plane, blocks, op, y)`.
    public let channelOp: @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int, Range<Int>, ChannelOp,
                                     UnsafeMutablePointer<Float>) -> Void
    /// A linear layer's matrix–vector product over outputs `range`: `(x, k, w, ldw, wRowsAreOutputs,
    /// range, y, epilogue)` runs ``gemv_rows_f32(_:k:w:ldw:rows:y:epilogue:vector:)`` when
    /// `wRowsAreOutputs` (`w` is `[N × K]`), else ``gemv_columns_f32(_:k:w:ldw:columns:y:epilogue:vector:)``.
    public let gemv: @Sendable (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, Bool, Range<Int>,
                                UnsafeMutablePointer<Float>, Epilogue) -> Void
    /// ``winograd43_input_f32(_:_:t0:count:c:channels:xiStride:dst:scratch:vector:)``:
    /// `(x, geometry, t0, count, c, channels, xiStride, dst, scratch)`.
    public let winogradInput: @Sendable (UnsafePointer<Float>, WinogradGeometry, Int, Int, Int, Int, Int,
                                         UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    /// ``winograd43_output_f32(_:_:t0:count:xiStride:bias:residual:activation:y:scratch:vector:)``:
    /// `(m, geometry, t0, count, xiStride, bias, residual, epilogue, y, scratch)`.
    public let winogradOutput: @Sendable (UnsafePointer<Float>, WinogradGeometry, Int, Int, Int, Float, UnsafePointer<Float>?,
                                          Epilogue, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void

    /// ``conv_im2colSmall_f32(_:_:channels:padded:into:vector:)``: `(x, window, channels, padded, dst)`.
    public let im2colSmall: @Sendable (UnsafePointer<Float>, ConvWindow, Int, UnsafeMutablePointer<Float>,
                                       UnsafeMutablePointer<Float>) -> Void

    /// ``pool_maxPlane_f32(_:_:y:rowBuffer:vector:)``: `(x, window, y, rowBuffer)`.
    public let maxPoolPlane: @Sendable (UnsafePointer<Float>, ConvWindow, UnsafeMutablePointer<Float>,
                                        UnsafeMutablePointer<Float>) -> Void

    /// ``pool_globalPlanes_f32(_:size:planes:isMax:y:vector:)``: `(x, size, planes, isMax, y)`.
    public let globalPool: @Sendable (UnsafePointer<Float>, Int, Range<Int>, Bool, UnsafeMutablePointer<Float>) -> Void

    /// Whether costly activations run through another variant's wider pass (``Epilogue/widePass``).
    public let hasWidePass: Bool

    /// Width of a B micro-panel.
    public var nr: Int { 2 &* lanes }

    /// A table (for the variant modules).
    public init(isa: KernelISA, lanes: Int,
                gemm: @escaping @Sendable (GemmProblem, Range<Int>, Range<Int>, UnsafeMutablePointer<Float>) -> Void,
                packB: @escaping @Sendable (UnsafePointer<Float>, Int, Int, Int, UnsafeMutablePointer<Float>) -> Void,
                depthwise: @escaping @Sendable (ConvWindow, UnsafePointer<Float>, UnsafePointer<Float>, Float,
                                                UnsafeMutablePointer<Float>, Epilogue, UnsafeMutablePointer<Float>) -> Void,
                depthwiseBlocked: @escaping @Sendable (ConvWindow, UnsafePointer<Float>, Int, Int, UnsafePointer<Float>,
                                                       UnsafeMutablePointer<Float>, Int, Range<Int>, Epilogue, UnsafeMutablePointer<Float>, DepthwiseLayout) -> Void,
                pointwiseBlocked: @escaping @Sendable (UnsafePointer<Float>, Bool, Int, Int, UnsafePointer<Float>, Int, Range<Int>,
                                                       Range<Int>, UnsafeMutablePointer<Float>, Bool, Epilogue) -> Void,
                directBlocked: @escaping @Sendable (UnsafePointer<Float>, ConvWindow, Int, UnsafePointer<Int>, UnsafePointer<Float>, Int,
                                                    Range<Int>, Range<Int>, UnsafeMutablePointer<Float>, Epilogue) -> Void,
                globalPoolBlocked: @escaping @Sendable (UnsafePointer<Float>, Int, Range<Int>, Bool, UnsafeMutablePointer<Float>) -> Void,
                channelOp: @escaping @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int, Range<Int>, ChannelOp,
                                                UnsafeMutablePointer<Float>) -> Void,
                gemv: @escaping @Sendable (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, Bool, Range<Int>,
                                           UnsafeMutablePointer<Float>, Epilogue) -> Void,
                winogradInput: @escaping @Sendable (UnsafePointer<Float>, WinogradGeometry, Int, Int, Int, Int, Int,
                                                    UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                winogradOutput: @escaping @Sendable (UnsafePointer<Float>, WinogradGeometry, Int, Int, Int, Float, UnsafePointer<Float>?,
                                                     Epilogue, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                im2colSmall: @escaping @Sendable (UnsafePointer<Float>, ConvWindow, Int, UnsafeMutablePointer<Float>,
                                                  UnsafeMutablePointer<Float>) -> Void,
                maxPoolPlane: @escaping @Sendable (UnsafePointer<Float>, ConvWindow, UnsafeMutablePointer<Float>,
                                                   UnsafeMutablePointer<Float>) -> Void,
                globalPool: @escaping @Sendable (UnsafePointer<Float>, Int, Range<Int>, Bool, UnsafeMutablePointer<Float>) -> Void,
                hasWidePass: Bool = false) {
        self.isa = isa
        self.lanes = lanes
        self.gemm = gemm
        self.packB = packB
        self.depthwise = depthwise
        self.depthwiseBlocked = depthwiseBlocked
        self.pointwiseBlocked = pointwiseBlocked
        self.globalPoolBlocked = globalPoolBlocked
        self.directBlocked = directBlocked
        self.channelOp = channelOp
        self.gemv = gemv
        self.winogradInput = winogradInput
        self.winogradOutput = winogradOutput
        self.im2colSmall = im2colSmall
        self.maxPoolPlane = maxPoolPlane
        self.globalPool = globalPool
        self.hasWidePass = hasWidePass
    }
}

/// The table of kernel bodies instantiated with `V`. Emitted into the calling module, so the
/// closures are compiled with that module's CPU target: each variant module calls this once.
/// - Parameter widePass: Another variant's pass for costly activations, set on every epilogue of
///   the GEMM and blocked depthwise kernels (``Epilogue/widePass``); `nil` for the table's own.
@_alwaysEmitIntoClient
public func makeKernelTable<V: KernelVector>(isa: KernelISA, vector: V.Type, widePass: ActivationPass? = nil) -> KernelTable {
    KernelTable(
        isa: isa, lanes: V.lanes,
        gemm: { p, m, n, ws in
            var p = p
            if widePass != nil { p.epilogue.widePass = widePass }
            gemm_f32(p, mPanels: m, columns: n, workspace: ws, vector: V.self)
        },
        packB: { b, ldb, k, n, dst in gemm_packB_f32(b, ldb: ldb, k: k, n: n, nr: 2 &* V.lanes, into: dst) },
        depthwise: { g, x, w, bias, y, e, ws in depthwise_f32(g, x: x, w: w, bias: bias, y: y, epilogue: e, scratch: ws, vector: V.self) },
        depthwiseBlocked: { g, x, inStride, channels, filters, y, outStride, rows, e, ws, layout in
            var e = e
            if widePass != nil { e.widePass = widePass }
            depthwise_blocked_f32(g, x: x, inPlaneStride: inStride, channels: channels, filters: filters, y: y,
                                  outPlaneStride: outStride, rows: rows, epilogue: e, scratch: ws, layout: layout, vector: V.self)
        },
        pointwiseBlocked: { x, blocked, plane, k, w, m, panels, pixels, y, outBlocked, e in
            var e = e
            if widePass != nil { e.widePass = widePass }
            pointwise_blocked_f32(x, blocked: blocked, plane: plane, k: k, w: w, m: m, panels: panels, pixels: pixels,
                                  y: y, outBlocked: outBlocked, epilogue: e, vector: V.self)
        },
        directBlocked: { x, window, channels, taps, w, m, panels, rows, y, e in
            var e = e
            if widePass != nil { e.widePass = widePass }
            conv_directBlocked_f32(x, window, channels: channels, taps: taps, w: w, m: m, panels: panels, rows: rows, y: y,
                                   epilogue: e, vector: V.self)
        },
        globalPoolBlocked: { x, plane, blocks, isMax, y in
            pool_globalBlocked_f32(x, plane: plane, blocks: blocks, isMax: isMax, y: y, vector: V.self)
        },
        channelOp: { x, v, plane, blocks, op, y in
            blocked_channelOp_f32(x, values: v, plane: plane, blocks: blocks, op: op, y: y, vector: V.self)
        },
        gemv: { x, k, w, ldw, rowsAreOutputs, range, y, e in
            if rowsAreOutputs {
                gemv_rows_f32(x, k: k, w: w, ldw: ldw, rows: range, y: y, epilogue: e, vector: V.self)
            } else {
                gemv_columns_f32(x, k: k, w: w, ldw: ldw, columns: range, y: y, epilogue: e, vector: V.self)
            }
        },
        winogradInput: { x, g, t0, count, c, channels, xiStride, dst, scratch in
            winograd43_input_f32(x, g, t0: t0, count: count, c: c, channels: channels, xiStride: xiStride,
                                 dst: dst, scratch: scratch, vector: V.self)
        },
        winogradOutput: { m, g, t0, count, xiStride, bias, residual, e, y, scratch in
            winograd43_output_f32(m, g, t0: t0, count: count, xiStride: xiStride, bias: bias, residual: residual,
                                  activation: e, y: y, scratch: scratch, vector: V.self)
        },
        im2colSmall: { x, w, channels, padded, dst in
            conv_im2colSmall_f32(x, w, channels: channels, padded: padded, into: dst, vector: V.self)
        },
        maxPoolPlane: { x, w, y, tmp in pool_maxPlane_f32(x, w, y: y, rowBuffer: tmp, vector: V.self) },
        globalPool: { x, size, planes, isMax, y in pool_globalPlanes_f32(x, size: size, planes: planes, isMax: isMax, y: y, vector: V.self) },
        hasWidePass: widePass != nil)
}
