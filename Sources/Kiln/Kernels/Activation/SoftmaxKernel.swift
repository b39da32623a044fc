#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Softmax (or log-softmax) along one axis of a float32 tensor viewed as `[outer, axis, inner]`.
///
/// Numerically stable: the maximum along the axis is subtracted before `expf`, so inputs of any
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
    if inner == 1 {
        ExecutionContext(threads: threads).parallelFor(outer) { start, end in
            for o in start..<end {
                softmaxRow_f32(x + o &* axis, y + o &* axis, axis, log: log)
            }
        }
        return
    }
    // Split over outer slices when there are enough of them, else over inner columns.
    if outer >= threads {
        ExecutionContext(threads: threads).parallelFor(outer) { start, end in
            for o in start..<end {
                softmaxColumns_f32(x + o &* axis &* inner, y + o &* axis &* inner, axis: axis, inner: inner,
                                   columns: 0..<inner, log: log)
            }
        }
    } else {
        ExecutionContext(threads: threads).parallelFor(inner) { start, end in
            for o in 0..<outer {
                softmaxColumns_f32(x + o &* axis &* inner, y + o &* axis &* inner, axis: axis, inner: inner,
                                   columns: start..<end, log: log)
            }
        }
    }
}

/// One contiguous row of `n ≥ 1` elements.
@inline(__always)
private func softmaxRow_f32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, log: Bool) {
    var m = x[0]
    for i in 1..<n where x[i] > m || x[i].isNaN { m = x[i] }
    var sum: Float = 0
    if log {
        for i in 0..<n { sum += expf(x[i] - m) }
        let ls = logf(sum)
        for i in 0..<n { y[i] = (x[i] - m) - ls }
    } else {
        for i in 0..<n {
            let e = expf(x[i] - m)
            y[i] = e
            sum += e
        }
        for i in 0..<n { y[i] = y[i] / sum }
    }
}

/// Columns `columns` of one `[axis, inner]` slice (stride `inner` along the axis).
private func softmaxColumns_f32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, axis: Int, inner: Int,
                                columns: Range<Int>, log: Bool) {
    let w = columns.count
    guard w > 0 else { return }
    let j0 = columns.lowerBound
    let maxv = UnsafeMutablePointer<Float>.allocate(capacity: w)
    let sum = UnsafeMutablePointer<Float>.allocate(capacity: w)
    defer { maxv.deallocate(); sum.deallocate() }
    for j in 0..<w { maxv[j] = x[j0 &+ j]; sum[j] = 0 }
    for k in 1..<max(axis, 1) {
        let row = x + (k &* inner &+ j0)
        for j in 0..<w where row[j] > maxv[j] || row[j].isNaN { maxv[j] = row[j] }
    }
    for k in 0..<axis {
        let row = x + (k &* inner &+ j0)
        let out = y + (k &* inner &+ j0)
        for j in 0..<w {
            let e = expf(row[j] - maxv[j])
            if !log { out[j] = e }
            sum[j] += e
        }
    }
    if log {
        for j in 0..<w { sum[j] = logf(sum[j]) }
    }
    for k in 0..<axis {
        let row = x + (k &* inner &+ j0)
        let out = y + (k &* inner &+ j0)
        if log {
            for j in 0..<w { out[j] = (row[j] - maxv[j]) - sum[j] }
        } else {
            for j in 0..<w { out[j] = out[j] / sum[j] }
        }
    }
}
