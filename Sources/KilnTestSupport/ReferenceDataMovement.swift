import Kiln

/// Naive data-movement references: plain loops over multi-indices, written for clarity, used as
/// oracles for the strided-copy kernels on random problems. Float32 only (integer tensors of
/// small values are checked by converting them to float32).

/// Row-major multi-index → flat offset.
func referenceFlatOffset(_ index: [Int], _ shape: [Int]) -> Int {
    var off = 0
    for (i, d) in zip(index, shape) { off = off * d + i }
    return off
}

/// `y[i_0, …] = x[i_{inverse}]` with output axis `k` being input axis `perm[k]`.
/// - Throws: When `x` is not float32.
public func referenceTranspose(_ x: Tensor, perm: [Int]) throws -> Tensor {
    let v = try x.scalars(as: Float.self)
    let outShape = perm.map { x.shape[$0] }
    var out = [Float](repeating: 0, count: v.count)
    for o in 0..<out.count {
        let oi = unflatten(o, outShape)
        var ii = [Int](repeating: 0, count: x.rank)
        for k in 0..<perm.count { ii[perm[k]] = oi[k] }
        out[o] = v[referenceFlatOffset(ii, x.shape)]
    }
    return try Tensor(shape: outShape, scalars: out)
}

/// ONNX Slice on already-normalized axes, computed by enumerating the selected indices of each
/// axis with a `while` loop over the clamped bounds (the definition, not the arithmetic).
/// - Parameters: one `start`, `end`, `step` per entry of `axes` (axes in `0..<rank`, distinct).
/// - Throws: When `x` is not float32.
public func referenceSlice(_ x: Tensor, starts: [Int], ends: [Int], axes: [Int], steps: [Int]) throws -> Tensor {
    let v = try x.scalars(as: Float.self)
    var picks: [[Int]] = x.shape.map { Array(0..<$0) }
    for k in 0..<axes.count {
        let dim = x.shape[axes[k]], step = steps[k]
        var s = starts[k] < 0 ? starts[k] + dim : starts[k]
        var e = ends[k] < 0 ? ends[k] + dim : ends[k]
        var list: [Int] = []
        if step > 0 {
            s = min(max(s, 0), dim); e = min(max(e, 0), dim)
            var i = s
            while i < e { list.append(i); i += step }
        } else {
            s = min(max(s, 0), dim - 1); e = min(max(e, -1), dim - 1)
            var i = s
            while i > e { list.append(i); i += step }
        }
        picks[axes[k]] = list
    }
    let outShape = picks.map(\.count)
    let n = outShape.reduce(1, *)
    var out = [Float](repeating: 0, count: n)
    for o in 0..<n {
        let oi = unflatten(o, outShape)
        let ii = (0..<x.rank).map { picks[$0][oi[$0]] }
        out[o] = v[referenceFlatOffset(ii, x.shape)]
    }
    return try Tensor(shape: outShape, scalars: out)
}
