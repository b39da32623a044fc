#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Mean and `1 / sqrt(variance + epsilon)` (population variance) of `count ≥ 1` floats.
///
/// The sums run over values shifted by the first element (exact for nearby values, so 8-lane float
/// block sums stay accurate even when the mean is large next to the spread) and are accumulated in
/// `Double`. The mean is returned as a float `mean` plus the float `correction` it was rounded by,
/// so that `(x - mean) - correction` is the centred value to nearly double accuracy. That matters
/// when the variance is small: `1 / std` multiplies any error in the mean (up to
/// `1 / sqrt(epsilon)` ≈ 316 with the default epsilon).
@inline(__always)
func meanAndInverseStd_f32(_ x: UnsafePointer<Float>, count: Int, epsilon: Float)
    -> (mean: Float, correction: Float, invStd: Float) {
    let pivot = x[0]
    let vp = SIMD8<Float>(repeating: pivot)
    var total = 0.0
    var i = 0
    while i &+ 8 <= count {
        total += Double((UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - vp).sum())
        i &+= 8
    }
    while i < count { total += Double(x[i] - pivot); i &+= 1 }
    let meanD = Double(pivot) + total / Double(count)
    let mean = Float(meanD)
    let correction = Float(meanD - Double(mean))
    let vm = SIMD8<Float>(repeating: mean), vc = SIMD8<Float>(repeating: correction)
    var sq = 0.0
    i = 0
    while i &+ 8 <= count {
        let d = (UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - vm) - vc
        sq += Double((d * d).sum())
        i &+= 8
    }
    while i < count { let d = (x[i] - mean) - correction; sq += Double(d * d); i &+= 1 }
    let variance = sq / Double(count)
    return (mean, correction, Float(1 / (variance + Double(epsilon)).squareRoot()))
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
    ExecutionContext(threads: threads).parallelFor(planes, with: (x, y, channels, size, a, b)) { raw, p0, p1 in
        let (x, y, channels, size, a, b) =
            raw.load(as: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int, UnsafePointer<Float>, UnsafePointer<Float>).self)
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
    typealias Args = (x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, cols: Int, epsilon: Float,
                      scale: UnsafePointer<Float>, bias: UnsafePointer<Float>?)
    let args: Args = (x, y, cols, epsilon, scale, bias)
    ExecutionContext(threads: threads).parallelFor(rows, with: args) { raw, r0, r1 in
        let (x, y, cols, epsilon, scale, bias) = raw.load(as: Args.self)
        for r in r0..<r1 {
            let src = x + r &* cols, dst = y + r &* cols
            let (mean, corr, inv) = meanAndInverseStd_f32(src, count: cols, epsilon: epsilon)
            let vm = SIMD8<Float>(repeating: mean), vc = SIMD8<Float>(repeating: corr), vi = SIMD8<Float>(repeating: inv)
            var j = 0
            while j &+ 8 <= cols {
                let v = UnsafeRawPointer(src + j).loadUnaligned(as: SIMD8<Float>.self)
                var o = ((v - vm) - vc) * vi * UnsafeRawPointer(scale + j).loadUnaligned(as: SIMD8<Float>.self)
                if let bias { o += UnsafeRawPointer(bias + j).loadUnaligned(as: SIMD8<Float>.self) }
                UnsafeMutableRawPointer(dst + j).storeBytes(of: o, as: SIMD8<Float>.self)
                j &+= 8
            }
            while j < cols {
                var o = ((src[j] - mean) - corr) * inv * scale[j]
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
    typealias Args = (x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, channels: Int, size: Int, epsilon: Float,
                      scale: UnsafePointer<Float>, bias: UnsafePointer<Float>)
    let args: Args = (x, y, channels, size, epsilon, scale, bias)
    ExecutionContext(threads: threads).parallelFor(planes, with: args) { raw, p0, p1 in
        let (x, y, channels, size, epsilon, scale, bias) = raw.load(as: Args.self)
        for p in p0..<p1 {
            let c = p % channels
            let src = x + p &* size
            let (mean, corr, inv) = meanAndInverseStd_f32(src, count: size, epsilon: epsilon)
            // Centre first (not x·a + b): with a large mean, x·a and b would cancel.
            let dst = y + p &* size
            let a = inv * scale[c], b = bias[c]
            let vm = SIMD8<Float>(repeating: mean), vc = SIMD8<Float>(repeating: corr)
            let va = SIMD8<Float>(repeating: a), vb = SIMD8<Float>(repeating: b)
            var i = 0
            while i &+ 8 <= size {
                let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(dst + i).storeBytes(of: ((v - vm) - vc) * va + vb, as: SIMD8<Float>.self)
                i &+= 8
            }
            while i < size { dst[i] = ((src[i] - mean) - corr) * a + b; i &+= 1 }
        }
    }
}

/// Local response normalization of `[N, C, spatial]` across channels (ONNX `LRN`): for each
/// `(n, c)` plane, the squares of the planes `c − ⌊(size − 1) / 2⌋ ... c + ⌈(size − 1) / 2⌉` are
/// summed (those that exist), and `y = x / (bias + alpha / size · sum)^beta`.
///
/// The window is summed afresh for every plane rather than kept as a running sum: a running sum
/// subtracts the plane that leaves, and with squares of very different magnitudes that leaves
/// rounding residue in the planes after it. `size` is 3 to 5 in the models that use LRN.
func lrnAcrossChannels_f32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int,
                           spatial: Int, size: Int, alpha: Float, beta: Float, bias: Float, context: ExecutionContext) {
    let before = (size - 1) / 2, after = size - 1 - before
    let planes = batch &* channels
    let scale = alpha / Float(size)
    let threads = planes &* spatial &* size >= 1 << 15 ? context.threads : 1
    ExecutionContext(threads: threads).parallelFor(planes) { p0, p1 in
        var sum = [Float](repeating: 0, count: spatial)
        for p in p0..<p1 {
            let n = p / channels, c = p % channels
            let lo = max(0, c - before), hi = min(channels - 1, c + after)
            sum.withUnsafeMutableBufferPointer { s in
                for i in 0..<spatial { s[i] = 0 }
                for k in lo...hi {
                    let src = x + (n &* channels &+ k) &* spatial
                    for i in 0..<spatial { s[i] += src[i] * src[i] }
                }
                let src = x + p &* spatial, dst = y + p &* spatial
                for i in 0..<spatial { dst[i] = src[i] / powf(bias + scale * s[i], beta) }
            }
        }
    }
}
