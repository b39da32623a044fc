/// Writes `beta · C` broadcast to `[m, n]` into `y` (row stride `n`), where `C` has shape
/// `[cRows, cCols]` with `cRows ∈ {1, m}` and `cCols ∈ {1, n}` (unidirectional broadcasting, already
/// validated by the caller).
func gemmBroadcastBias_f32(_ c: UnsafePointer<Float>, cRows: Int, cCols: Int, beta: Float,
                           _ y: UnsafeMutablePointer<Float>, m: Int, n: Int) {
    for i in 0..<m {
        let src = c + (cRows == 1 ? 0 : i &* cCols)
        let dst = y + i &* n
        if cCols == 1 {
            let v = beta * src[0]
            dst.update(repeating: v, count: n)
        } else if beta == 1 {
            dst.update(from: src, count: n)
        } else {
            var j = 0
            let b = SIMD8<Float>(repeating: beta)
            while j &+ 8 <= n {
                let v = UnsafeRawPointer(src + j).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(dst + j).storeBytes(of: v * b, as: SIMD8<Float>.self)
                j &+= 8
            }
            while j < n {
                dst[j] = beta * src[j]
                j &+= 1
            }
        }
    }
}

/// Applies `activation` in place over `count` floats, 8 lanes at a time.
func gemmApplyActivation_f32(_ y: UnsafeMutablePointer<Float>, count: Int, _ activation: FusedActivation) {
    let lo: Float, hi: Float
    switch activation {
    case .none: return
    case .relu: lo = 0; hi = .infinity
    case let .clip(min, max): lo = min; hi = max
    case .hardSwish, .silu, .sigmoid:
        // Never fused into a Gemm (Optimizer.fuseActivation); kept exact if it ever is.
        for i in 0..<count { y[i] = applyActivation(y[i], activation) }
        return
    }
    let vlo = SIMD8<Float>(repeating: lo), vhi = SIMD8<Float>(repeating: hi)
    var i = 0
    while i &+ 8 <= count {
        var v = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
        v = v.replacing(with: vlo, where: v .< vlo)
        v = v.replacing(with: vhi, where: v .> vhi)
        UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: SIMD8<Float>.self)
        i &+= 8
    }
    while i < count {
        var v = y[i]
        if v < lo { v = lo }
        if v > hi { v = hi }
        y[i] = v
        i &+= 1
    }
}
