#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Softmax (or log-softmax) along one axis of a float32 tensor viewed as `[outer, axis, inner]`.
///
/// Numerically stable: the maximum along the axis is subtracted before `exp8_f32`, so inputs of any
/// magnitude neither overflow nor underflow to an all-zero row. Softmax is `e / Σe`; log-softmax
/// is `(x - max) - log Σe`. With `inner > 1` the reduction runs across contiguous inner rows
/// (vector-friendly), keeping a running max and sum per inner position.
/// - Parameters:
///   - x: Input, `outer * axis * inner` elements.
///   - y: Output, same size.
///   - outer: Product of the dimensions before the axis.
///   - axis: Length of the axis (≥ 1).
///   - inner: Product of the dimensions after the axis.
///   - log: Whether to compute log-softmax.
///   - context: Thread budget.
func softmax_f32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, outer: Int, axis: Int, inner: Int,
                 log: Bool, context: ExecutionContext) {
    let total = outer &* axis &* inner
    guard total > 0 else { return }
    let threads = total >= 1 << 14 ? context.threads : 1
    // What every chunk reads: x, y, axis, inner, log.
    typealias Args = (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int, Bool)
    let args: Args = (x, y, axis, inner, log)
    if inner == 1 {
        ExecutionContext(threads: threads).parallelFor(outer, with: args) { raw, start, end in
            let (x, y, axis, _, log) = raw.load(as: Args.self)
            for o in start..<end {
                softmaxRow_f32(x + o &* axis, y + o &* axis, axis, log: log)
            }
        }
        return
    }
    // Split over outer slices when there are enough of them, else over inner columns.
    if outer >= threads {
        ExecutionContext(threads: threads).parallelFor(outer, with: args) { raw, start, end in
            let (x, y, axis, inner, log) = raw.load(as: Args.self)
            for o in start..<end {
                softmaxColumns_f32(x + o &* axis &* inner, y + o &* axis &* inner, axis: axis, inner: inner,
                                   columns: 0..<inner, log: log)
            }
        }
    } else {
        ExecutionContext(threads: threads).parallelFor(inner, with: (args, outer)) { raw, start, end in
            let ((x, y, axis, inner, log), outer) = raw.load(as: (Args, Int).self)
            for o in 0..<outer {
                softmaxColumns_f32(x + o &* axis &* inner, y + o &* axis &* inner, axis: axis, inner: inner,
                                   columns: start..<end, log: log)
            }
        }
    }
}

@inline(__always)
private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
private func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// One contiguous row of `n ≥ 1` elements. NaN propagates through the max (and so to the row).
@inline(__always)
private func softmaxRow_f32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, log: Bool) {
    var m = x[0]
    var i = 0
    if n >= 8 {
        var mv = load8(x)
        i = 8
        while i &+ 8 <= n {
            let v = load8(x + i)
            mv = mv.replacing(with: v, where: (v .> mv) .| (v .!= v))
            i &+= 8
        }
        m = mv[0]
        for k in 1..<8 where mv[k] > m || mv[k].isNaN { m = mv[k] }
    }
    while i < n {
        if x[i] > m || x[i].isNaN { m = x[i] }
        i &+= 1
    }
    // e = exp(x - m), stored (softmax) or only summed (log-softmax).
    let mv = SIMD8<Float>(repeating: m)
    var sv = SIMD8<Float>(repeating: 0)
    i = 0
    while i &+ 8 <= n {
        let e = exp8_f32(load8(x + i) - mv)
        if !log { store8(e, y + i) }
        sv += e
        i &+= 8
    }
    var sum = sv.sum()
    while i < n {
        let e = expf(x[i] - m)
        if !log { y[i] = e }
        sum += e
        i &+= 1
    }
    i = 0
    if log {
        // (x - m) - log Σ, in that order: x - m is exact for the terms near the max.
        let l = logf(sum)
        let ls = SIMD8<Float>(repeating: l)
        while i &+ 8 <= n { store8((load8(x + i) - mv) - ls, y + i); i &+= 8 }
        while i < n { y[i] = (x[i] - m) - l; i &+= 1 }
    } else {
        let s = SIMD8<Float>(repeating: sum)
        while i &+ 8 <= n { store8(load8(y + i) / s, y + i); i &+= 8 }
        while i < n { y[i] = y[i] / sum; i &+= 1 }
    }
}

/// Columns `columns` of one `[axis, inner]` slice (stride `inner` along the axis): a running
/// max and sum per column, 8 columns at a time.
private func softmaxColumns_f32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, axis: Int, inner: Int,
                                columns: Range<Int>, log: Bool) {
    let w = columns.count
    guard w > 0 else { return }
    let j0 = columns.lowerBound
    let maxv = UnsafeMutablePointer<Float>.allocate(capacity: w)
    let sum = UnsafeMutablePointer<Float>.allocate(capacity: w)
    defer { maxv.deallocate(); sum.deallocate() }
    let w8 = w & ~7
    for j in 0..<w { maxv[j] = x[j0 &+ j]; sum[j] = 0 }
    for k in 1..<max(axis, 1) {
        let row = x + (k &* inner &+ j0)
        var j = 0
        while j < w8 {
            let v = load8(row + j), mv = load8(maxv + j)
            store8(mv.replacing(with: v, where: (v .> mv) .| (v .!= v)), maxv + j)
            j &+= 8
        }
        while j < w { if row[j] > maxv[j] || row[j].isNaN { maxv[j] = row[j] }; j &+= 1 }
    }
    for k in 0..<axis {
        let row = x + (k &* inner &+ j0)
        let out = y + (k &* inner &+ j0)
        var j = 0
        while j < w8 {
            let e = exp8_f32(load8(row + j) - load8(maxv + j))
            if !log { store8(e, out + j) }
            store8(load8(sum + j) + e, sum + j)
            j &+= 8
        }
        while j < w {
            let e = expf(row[j] - maxv[j])
            if !log { out[j] = e }
            sum[j] += e
            j &+= 1
        }
    }
    if log {
        for j in 0..<w { sum[j] = logf(sum[j]) }
    }
    for k in 0..<axis {
        let row = x + (k &* inner &+ j0)
        let out = y + (k &* inner &+ j0)
        var j = 0
        if log {
            while j < w8 { store8((load8(row + j) - load8(maxv + j)) - load8(sum + j), out + j); j &+= 8 }
            while j < w { out[j] = (row[j] - maxv[j]) - sum[j]; j &+= 1 }
        } else {
            while j < w8 { store8(load8(out + j) / load8(sum + j), out + j); j &+= 8 }
            while j < w { out[j] = out[j] / sum[j]; j &+= 1 }
        }
    }
}
