/// Mean and `1 / sqrt(variance + epsilon)` (population variance) of `count ≥ 1` floats, two-pass
/// (the variance is summed over centred values, which stays accurate when the mean is large).
@inline(__always)
func meanAndInverseStd_f32(_ x: UnsafePointer<Float>, count: Int, epsilon: Float) -> (mean: Float, invStd: Float) {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i &+ 8 <= count {
        acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        i &+= 8
    }
    var s = acc.sum()
    while i < count { s += x[i]; i &+= 1 }
    let mean = s / Float(count)
    let vm = SIMD8<Float>(repeating: mean)
    var sq = SIMD8<Float>(repeating: 0)
    i = 0
    while i &+ 8 <= count {
        let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - vm
        sq += d * d
        i &+= 8
    }
    var v = sq.sum()
    while i < count { let d = x[i] - mean; v += d * d; i &+= 1 }
    let variance = v / Float(count)
    return (mean, 1 / (variance + epsilon).squareRoot())
}

/// `y = x · a + b` over `count` floats with scalar `a`, `b`.
@inline(__always)
func scaleShift_f32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, a: Float, b: Float) {
    let va = SIMD8<Float>(repeating: a), vb = SIMD8<Float>(repeating: b)
    var i = 0
    while i &+ 8 <= count {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(y + i).storeBytes(of: v * va + vb, as: SIMD8<Float>.self)
        i &+= 8
    }
    while i < count { y[i] = x[i] * a + b; i &+= 1 }
}

/// Inference batch normalization of `[N, C, size]`: `y = x · a[c] + b[c]`, where the caller folded
/// `a = scale / sqrt(var + eps)` and `b = B - mean · a`.
func batchNormInference_f32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int,
                            size: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, context: ExecutionContext) {
    let planes = batch &* channels
    let threads = planes &* size >= 1 << 16 ? context.threads : 1
    ExecutionContext(threads: threads).parallelFor(planes) { p0, p1 in
        for p in p0..<p1 {
            let c = p % channels
            scaleShift_f32(x + p &* size, y + p &* size, count: size, a: a[c], b: b[c])
        }
    }
}

/// Layer normalization of `rows` rows of `cols ≥ 1` floats: each row is normalized to zero mean and
/// unit variance, then `y = n · scale[j] + bias[j]` (`bias` may be `nil`).
func layerNorm_f32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, epsilon: Float,
                   scale: UnsafePointer<Float>, bias: UnsafePointer<Float>?, context: ExecutionContext) {
    let threads = rows &* cols >= 1 << 15 ? context.threads : 1
    ExecutionContext(threads: threads).parallelFor(rows) { r0, r1 in
        for r in r0..<r1 {
            let src = x + r &* cols, dst = y + r &* cols
            let (mean, inv) = meanAndInverseStd_f32(src, count: cols, epsilon: epsilon)
            let vm = SIMD8<Float>(repeating: mean), vi = SIMD8<Float>(repeating: inv)
            var j = 0
            while j &+ 8 <= cols {
                let v = UnsafeRawPointer(src + j).loadUnaligned(as: SIMD8<Float>.self)
                var o = (v - vm) * vi * UnsafeRawPointer(scale + j).loadUnaligned(as: SIMD8<Float>.self)
                if let bias { o += UnsafeRawPointer(bias + j).loadUnaligned(as: SIMD8<Float>.self) }
                UnsafeMutableRawPointer(dst + j).storeBytes(of: o, as: SIMD8<Float>.self)
                j &+= 8
            }
            while j < cols {
                var o = (src[j] - mean) * inv * scale[j]
                if let bias { o += bias[j] }
                dst[j] = o
                j &+= 1
            }
        }
    }
}

/// Instance normalization of `[N, C, size ≥ 1]`: each plane is normalized to zero mean and unit
/// variance, then `y = n · scale[c] + bias[c]`.
func instanceNorm_f32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int, size: Int,
                      epsilon: Float, scale: UnsafePointer<Float>, bias: UnsafePointer<Float>, context: ExecutionContext) {
    let planes = batch &* channels
    let threads = planes &* size >= 1 << 15 ? context.threads : 1
    ExecutionContext(threads: threads).parallelFor(planes) { p0, p1 in
        for p in p0..<p1 {
            let c = p % channels
            let src = x + p &* size
            let (mean, inv) = meanAndInverseStd_f32(src, count: size, epsilon: epsilon)
            let a = inv * scale[c]
            scaleShift_f32(src, y + p &* size, count: size, a: a, b: bias[c] - mean * a)
        }
    }
}
