/// Reduction kernels over the `[A, R, B]` view: reduce the middle axis `R` of a row-major tensor,
/// producing `[A, B]`. Any reduction over a set of axes is a sequence of such passes (one per
/// group of adjacent reduced axes, innermost first): reducing trailing axes (spatial means) is
/// `B = 1` with contiguous SIMD rows, reducing leading axes is `A = 1` with SIMD accumulation of
/// whole rows.

/// What one pass does to each element before combining (`sumSquare`, `sumAbs`) and how it combines.
enum ReduceKernelKind: Sendable {
    case sum, sumSquare, sumAbs, max, min, prod

    /// The kind that combines partial results of this kind in later passes.
    var combiner: ReduceKernelKind {
        switch self {
        case .sum, .sumSquare, .sumAbs: return .sum
        case .max: return .max
        case .min: return .min
        case .prod: return .prod
        }
    }

    /// The result over an empty set.
    var identityF32: Float {
        switch self {
        case .sum, .sumSquare, .sumAbs: return 0
        case .max: return -.infinity
        case .min: return .infinity
        case .prod: return 1
        }
    }

    /// The result over an empty set, int64.
    var identityI64: Int64 {
        switch self {
        case .sum, .sumSquare, .sumAbs: return 0
        case .max: return .min
        case .min: return .max
        case .prod: return 1
        }
    }
}

@inline(__always)
private func mapElement(_ v: SIMD8<Float>, _ kind: ReduceKernelKind) -> SIMD8<Float> {
    switch kind {
    case .sumSquare: return v * v
    case .sumAbs: return v.replacing(with: -v, where: v .< 0)
    default: return v
    }
}

@inline(__always)
private func mapElement(_ v: Float, _ kind: ReduceKernelKind) -> Float {
    switch kind {
    case .sumSquare: return v * v
    case .sumAbs: return Swift.abs(v)
    default: return v
    }
}

@inline(__always)
private func combine(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ kind: ReduceKernelKind) -> SIMD8<Float> {
    switch kind {
    case .sum, .sumSquare, .sumAbs: return a + b
    // NaN propagates (as in PyTorch and ONNX Runtime): `b` wins when it is NaN or beyond `a`,
    // and a NaN `a` is never replaced.
    case .max: return a.replacing(with: b, where: (b .> a) .| (b .!= b))
    case .min: return a.replacing(with: b, where: (b .< a) .| (b .!= b))
    case .prod: return a * b
    }
}

@inline(__always)
private func combine(_ a: Float, _ b: Float, _ kind: ReduceKernelKind) -> Float {
    switch kind {
    case .sum, .sumSquare, .sumAbs: return a + b
    case .max: return b > a || b != b ? b : a
    case .min: return b < a || b != b ? b : a
    case .prod: return a * b
    }
}

/// `dst[a, b] = ⊕_r f(src[a, r, b])` for float32, `R ≥ 1`.
func reduce_f32_ARB(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, A: Int, R: Int, B: Int,
                    kind: ReduceKernelKind, context: ExecutionContext) {
    let threads = A &* R &* B >= 1 << 16 ? context.threads : 1
    let runner = ExecutionContext(threads: threads)
    // What the chunks read: src, dst, R, B, kind, and the chunks per row of B (below).
    typealias Args = (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int, ReduceKernelKind, Int)
    if B == 1 {
        runner.parallelFor(A, with: (src, dst, R, B, kind, 1) as Args) { raw, start, end in
            let (src, dst, R, _, kind, _) = raw.load(as: Args.self)
            for a in start..<end { dst[a] = reduceRow_f32(src + a &* R, R, kind) }
        }
        return
    }
    // Split B across threads when A alone cannot keep them busy.
    let bChunks = A >= threads ? 1 : max(1, min(threads, B / 64))
    runner.parallelFor(A &* bChunks, with: (src, dst, R, B, kind, bChunks) as Args) { raw, start, end in
        let (src, dst, R, B, kind, bChunks) = raw.load(as: Args.self)
        for item in start..<end {
            let a = item / bChunks, c = item % bChunks
            let b0 = B &* c / bChunks, b1 = B &* (c &+ 1) / bChunks
            reduceRows_f32(src + (a &* R &* B &+ b0), dst + (a &* B &+ b0), R, B, b1 &- b0, kind)
        }
    }
}

/// `⊕_r f(s[r])` over a contiguous row, 8 lanes at a time with one accumulator per lane.
@inline(__always)
private func reduceRow_f32(_ s: UnsafePointer<Float>, _ n: Int, _ kind: ReduceKernelKind) -> Float {
    var i = 0
    var result: Float
    if n >= 8 {
        var acc = mapElement(UnsafeRawPointer(s).loadUnaligned(as: SIMD8<Float>.self), kind)
        i = 8
        while i &+ 8 <= n {
            acc = combine(acc, mapElement(UnsafeRawPointer(s + i).loadUnaligned(as: SIMD8<Float>.self), kind), kind)
            i &+= 8
        }
        result = acc[0]
        for l in 1..<8 { result = combine(result, acc[l], kind) }
    } else {
        result = mapElement(s[0], kind)
        i = 1
    }
    while i < n {
        result = combine(result, mapElement(s[i], kind), kind)
        i &+= 1
    }
    return result
}

/// `d[b] = ⊕_r f(s[r·stride + b])` for `b < width`, accumulating whole rows.
@inline(__always)
private func reduceRows_f32(_ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ R: Int, _ stride: Int,
                            _ width: Int, _ kind: ReduceKernelKind) {
    var b = 0
    while b &+ 8 <= width {
        var acc = mapElement(UnsafeRawPointer(s + b).loadUnaligned(as: SIMD8<Float>.self), kind)
        var r = 1
        while r < R {
            acc = combine(acc, mapElement(UnsafeRawPointer(s + (r &* stride &+ b)).loadUnaligned(as: SIMD8<Float>.self), kind), kind)
            r &+= 1
        }
        UnsafeMutableRawPointer(d + b).storeBytes(of: acc, as: SIMD8<Float>.self)
        b &+= 8
    }
    while b < width {
        var acc = mapElement(s[b], kind)
        var r = 1
        while r < R { acc = combine(acc, mapElement(s[r &* stride &+ b], kind), kind); r &+= 1 }
        d[b] = acc
        b &+= 1
    }
}

/// `dst[a, b] = ⊕_r src[a, r, b]` for int64 (`sum`, `max`, `min`, `prod`; wrapping arithmetic as
/// in ONNX Runtime), `R ≥ 1`.
func reduce_i64_ARB(_ src: UnsafePointer<Int64>, _ dst: UnsafeMutablePointer<Int64>, A: Int, R: Int, B: Int,
                    kind: ReduceKernelKind, context: ExecutionContext) {
    let threads = A &* R &* B >= 1 << 16 ? context.threads : 1
    @inline(__always) func op(_ x: Int64, _ y: Int64) -> Int64 {
        switch kind {
        case .sum, .sumSquare, .sumAbs: return x &+ y
        case .max: return Swift.max(x, y)
        case .min: return Swift.min(x, y)
        case .prod: return x &* y
        }
    }
    ExecutionContext(threads: threads).parallelFor(A) { start, end in
        for a in start..<end {
            let s = src + a &* R &* B, d = dst + a &* B
            d.update(from: s, count: B)
            var r = 1
            while r < R {
                let row = s + r &* B
                var b = 0
                while b < B { d[b] = op(d[b], row[b]); b &+= 1 }
                r &+= 1
            }
        }
    }
}

/// ArgMax/ArgMin over the middle axis of `[A, R, B]`: the index of the first (or, with
/// `selectLast`, the last) extreme element. NaN counts as the extreme, as in PyTorch. Called only
/// with `Float` and `Int64`, so the optimizer specializes it (no generic dispatch in the loop).
func argExtreme_ARB<T: Comparable>(_ src: UnsafePointer<T>, _ dst: UnsafeMutablePointer<Int64>, A: Int, R: Int, B: Int,
                                   max: Bool, selectLast: Bool, context: ExecutionContext) {
    let threads = A &* R &* B >= 1 << 16 ? context.threads : 1
    ExecutionContext(threads: threads).parallelFor(A) { start, end in
        var best = [T](repeating: src[0], count: B)
        for a in start..<end {
            let s = src + a &* R &* B, d = dst + a &* B
            for b in 0..<B { best[b] = s[b]; d[b] = 0 }
            var r = 1
            while r < R {
                let row = s + r &* B
                var b = 0
                while b < B {
                    let v = row[b], c = best[b]
                    // `v != v` is NaN; once the best is NaN only a later NaN (selectLast) replaces it.
                    let better: Bool
                    if c != c { better = selectLast && v != v }
                    else if v != v { better = true }
                    else if max { better = selectLast ? v >= c : v > c }
                    else { better = selectLast ? v <= c : v < c }
                    if better { best[b] = v; d[b] = Int64(r) }
                    b &+= 1
                }
                r &+= 1
            }
        }
    }
}
