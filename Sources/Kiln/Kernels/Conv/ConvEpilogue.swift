/// Applies `activation` to one SIMD vector (NaN passes through, as in ONNX Relu/Clip).
@inline(__always)
func applyActivation(_ v: SIMD8<Float>, _ activation: FusedActivation) -> SIMD8<Float> {
    switch activation {
    case .none:
        return v
    case .relu:
        let zero = SIMD8<Float>(repeating: 0)
        return v.replacing(with: zero, where: v .< zero)
    case let .clip(lo, hi):
        let l = SIMD8<Float>(repeating: lo), h = SIMD8<Float>(repeating: hi)
        let a = v.replacing(with: l, where: v .< l)
        return a.replacing(with: h, where: a .> h)
    case .hardSwish:
        return HardSwishF32().apply(v)
    case .silu:
        return v * sigmoid8_f32(v)
    case .sigmoid:
        return sigmoid8_f32(v)
    }
}

/// Applies `activation` to one scalar (NaN passes through).
@inline(__always)
func applyActivation(_ v: Float, _ activation: FusedActivation) -> Float {
    switch activation {
    case .none:
        return v
    case .relu:
        return v < 0 ? 0 : v
    case let .clip(lo, hi):
        let a = v < lo ? lo : v
        return a > hi ? hi : a
    case .hardSwish:
        return HardSwishF32().apply(v)
    case .silu:
        return v * sigmoidScalar(v)
    case .sigmoid:
        return sigmoidScalar(v)
    }
}

/// `y[i] = activation(y[i] + bias)` over `count` floats of one output channel, in place.
@inline(__always)
func conv_biasActivation_f32(_ y: UnsafeMutablePointer<Float>, count: Int, bias: Float, activation: FusedActivation) {
    var i = 0
    let b = SIMD8<Float>(repeating: bias)
    while i &+ 8 <= count {
        let p = UnsafeMutableRawPointer(y + i)
        let v = p.loadUnaligned(as: SIMD8<Float>.self) + b
        p.storeBytes(of: applyActivation(v, activation), as: SIMD8<Float>.self)
        i &+= 8
    }
    while i < count {
        y[i] = applyActivation(y[i] + bias, activation)
        i &+= 1
    }
}

/// The bias-and-activation pass after a GEMM: channels `0..<channels` of `output` (planes of
/// `plane` floats), channel `c` getting `bias[biasOffset + c]`. Skipped when there is nothing to do.
/// Runs in parallel over channels (never call it while a GEMM runs).
func conv_epilogue_f32(_ output: UnsafeMutablePointer<Float>, channels: Int, plane: Int,
                       bias: UnsafePointer<Float>?, biasOffset: Int, activation: FusedActivation,
                       context: ExecutionContext) {
    if bias == nil && activation == .none { return }
    let work = channels &* plane
    let threads = work >= 1 << 15 ? context.threads : 1
    let args = (output, plane, bias, biasOffset, activation)
    ExecutionContext(threads: threads).parallelFor(channels, with: args) { raw, start, end in
        let (output, plane, bias, biasOffset, activation) =
            raw.load(as: (UnsafeMutablePointer<Float>, Int, UnsafePointer<Float>?, Int, FusedActivation).self)
        for c in start..<end {
            let b = bias.map { $0[biasOffset &+ c] } ?? 0
            conv_biasActivation_f32(output + c &* plane, count: plane, bias: b, activation: activation)
        }
    }
}
