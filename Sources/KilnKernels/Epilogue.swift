/// A pass of a costly activation (SiLU, sigmoid) over `count` floats in place, compiled for one ISA:
/// `(pointer, count, Epilogue.Activation.rawValue)`. See ``Epilogue/widePass``.
public typealias ActivationPass = @convention(c) (UnsafeMutablePointer<Float>, Int, Int32) -> Void

/// What a kernel applies to its output tile while it is still in registers, after the last
/// multiply-add: `y = act(acc + bias + residual)`.
///
/// A plain value of pointers and numbers so every ISA variant reads the same layout.
@frozen public struct Epilogue {
    /// The activation applied last.
    @frozen public enum Activation: Int32, Sendable {
        /// None.
        case none = 0
        /// `max(x, 0)` (NaN passes through).
        case relu = 1
        /// `min(max(x, lo), hi)` (ReLU6 is `clip(0, 6)`; NaN passes through).
        case clip = 2
        /// `x · min(max(x + 3, 0), 6) / 6`.
        case hardSwish = 3
        /// `x · σ(x)` (SiLU, Swish with α = 1).
        case silu = 4
        /// `σ(x) = 1 / (1 + e^−x)`.
        case sigmoid = 5
    }

    /// Bias, one value per output row (convolution: per output channel), or `nil`.
    public var bias: UnsafePointer<Float>?
    /// A tensor of the output's layout added before the activation (a fused residual `Add`), or `nil`.
    public var residual: UnsafePointer<Float>?
    /// Row stride of `residual` in floats.
    public var residualStride: Int
    /// The activation.
    public var activation: Activation
    /// Lower bound for `.clip`.
    public var lo: Float
    /// Upper bound for `.clip`.
    public var hi: Float
    /// When set, ``activateInPlace(_:count:vector:)`` hands its pass to this function instead: the
    /// AVX2 kernels on AMD Zen 4 run their SiLU and sigmoid passes with the AVX-512 variant's
    /// 16-lane body. Those passes are bound by the latency of each vector's `exp`-and-divide chain,
    /// not by arithmetic throughput, so 16 lanes per chain do more per cycle even where a 512-bit
    /// instruction executes as two 256-bit halves (32 × 112² SiLU pass: 2.1 → 1.7 ns per 8 floats),
    /// while the GEMM and depthwise bodies stay on AVX2, which wins there (``KernelDispatch``).
    public var widePass: ActivationPass?

    /// An epilogue.
    @_alwaysEmitIntoClient
    public init(bias: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil, residualStride: Int = 0,
                activation: Activation = .none, lo: Float = 0, hi: Float = 0) {
        self.bias = bias
        self.residual = residual
        self.residualStride = residualStride
        self.activation = activation
        self.lo = lo
        self.hi = hi
        self.widePass = nil
    }

    /// Whether the activation is costly enough (an `exp` and a division per vector: SiLU, sigmoid)
    /// that a kernel applies it in a separate pass over its finished tile rather than on the
    /// accumulators. Applied to twelve live accumulators at once, its constants and temporaries
    /// do not fit in the 16 AVX2 registers: the spills made a SiLU epilogue cost 2.7× ONNX Runtime's
    /// separate SiLU pass (EfficientNet-B0's 16→96 1×1 conv over 112×112: 0.9 ms of its 1.5 ms).
    @_alwaysEmitIntoClient
    public var hasCostlyActivation: Bool { activation == .silu || activation == .sigmoid }

    /// This epilogue without its activation (the first of the two passes above).
    @_alwaysEmitIntoClient
    public var withoutActivation: Epilogue {
        var e = self
        e.activation = .none
        return e
    }

    /// Applies the activation in place to `count` floats at `p` (whole vectors, then one lane at a
    /// time): the second pass for a costly activation, over data still in the caches.
    @_alwaysEmitIntoClient @inline(__always)
    public func activateInPlace<V: KernelVector>(_ p: UnsafeMutablePointer<Float>, count: Int, vector: V.Type) {
        if let widePass {
            widePass(p, count, activation.rawValue)
            return
        }
        let L = V.lanes
        var i = 0
        // One vector per iteration: the out-of-order core overlaps successive iterations' chains
        // by itself, and with four vectors written side by side (tried first) the constants no
        // longer fit in the registers and were reloaded on every use.
        @inline(__always) func each(_ f: (V) -> V) {
            while i &+ L <= count { f(V(load: p + i)).store(p + i); i &+= L }
        }
        switch activation {
        case .silu: each { $0 / (V(broadcast: 1) + $0.expNegated()) }
        case .sigmoid: each { V(broadcast: 1) / (V(broadcast: 1) + $0.expNegated()) }
        default: each { activate($0) }
        }
        while i < count { p[i] = activate(p[i], V.self); i &+= 1 }
    }

    /// Applies the activation to one vector.
    @_alwaysEmitIntoClient @inline(__always)
    public func activate<V: KernelVector>(_ x: V) -> V {
        switch activation {
        case .none: return x
        case .relu: return x.clampedBelow(V(broadcast: 0))
        case .clip: return x.clampedBelow(V(broadcast: lo)).clampedAbove(V(broadcast: hi))
        case .hardSwish:
            let t = (x + V(broadcast: 3)).clampedBelow(V(broadcast: 0)).clampedAbove(V(broadcast: 6))
            return x * t * V(broadcast: 1.0 / 6.0)
        case .silu: return x / (V(broadcast: 1) + x.expNegated())
        case .sigmoid: return V(broadcast: 1) / (V(broadcast: 1) + x.expNegated())
        }
    }

    /// Applies the activation to one scalar (the same arithmetic as the vector form).
    ///
    /// `V` is the calling kernel's vector type: it only names this function's specialization, so
    /// that each ISA module keeps its own copy (see ``ModuleVector``); the arithmetic is the
    /// 4-lane form's in every variant.
    @_alwaysEmitIntoClient @inline(__always)
    public func activate<V: KernelVector>(_ x: Float, _: V.Type) -> Float {
        switch activation {
        case .none: return x
        case .relu: return x < 0 ? 0 : x
        case .clip:
            let a = x < lo ? lo : x
            return a > hi ? hi : a
        case .hardSwish:
            var t = x + 3
            t = t < 0 ? 0 : t
            t = t > 6 ? 6 : t
            return x * t * (1.0 / 6.0)
        case .silu, .sigmoid:
            return activateCostly(x, V.self)
        }
    }

    /// SiLU or sigmoid of one scalar: the vector form on one lane, so that scalar edges and vector
    /// bodies agree. Out of line, so that ``activate(_:_:)`` stays small enough to be inlined into
    /// the scalar edge loops (ReLU there was a call per element: 2 % of ResNet-18).
    @_alwaysEmitIntoClient @inline(never)
    public func activateCostly<V: KernelVector>(_ x: Float, _: V.Type) -> Float {
        activate(ModuleVector<Vec4, V>(Vec4(broadcast: x))).base.v[0]
    }
}
