import Kiln

/// Naive NumPy-semantics matrix product (1-D promotion, batch broadcasting), accumulating in
/// `Double`. The obviously-correct oracle for `MatMul`'s batching and folding paths.
/// - Parameters:
///   - a: `[..., M, K]` or `[K]`, float32.
///   - b: `[..., K, N]` or `[K]`, float32.
/// - Returns: The product, with the promoted dimensions removed.
/// - Throws: ``KilnError`` when the shapes do not fit.
public func referenceMatMul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    let av = try a.scalars(as: Float.self), bv = try b.scalars(as: Float.self)
    let aShape = a.rank == 1 ? [1, a.shape[0]] : a.shape
    let bShape = b.rank == 1 ? [b.shape[0], 1] : b.shape
    let m = aShape[aShape.count - 2], k = aShape[aShape.count - 1]
    let n = bShape[bShape.count - 1]
    guard bShape[bShape.count - 2] == k else {
        throw KilnError.shapeMismatch(op: "referenceMatMul", node: nil, tensor: "K", expected: [k], got: [bShape[bShape.count - 2]])
    }
    let aBatch = Array(aShape.dropLast(2)), bBatch = Array(bShape.dropLast(2))
    let batch = try Shape.broadcast(aBatch, bBatch, op: "referenceMatMul")
    let r = batch.count
    let aPad = [Int](repeating: 1, count: r - aBatch.count) + aBatch
    let bPad = [Int](repeating: 1, count: r - bBatch.count) + bBatch
    let count = batch.reduce(1, *)
    var out = [Float](repeating: 0, count: count * m * n)
    for bi in 0..<count {
        // Decompose the output batch index and map it into A's and B's batch indices.
        var rem = bi
        var coords = [Int](repeating: 0, count: r)
        for d in stride(from: r - 1, through: 0, by: -1) { coords[d] = rem % batch[d]; rem /= batch[d] }
        var ai = 0, bj = 0
        for d in 0..<r {
            ai = ai * aPad[d] + (aPad[d] == 1 ? 0 : coords[d])
            bj = bj * bPad[d] + (bPad[d] == 1 ? 0 : coords[d])
        }
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(av[ai * m * k + i * k + p]) * Double(bv[bj * k * n + p * n + j]) }
                out[bi * m * n + i * n + j] = Float(s)
            }
        }
    }
    var shape = batch
    if a.rank > 1 { shape.append(m) }
    if b.rank > 1 { shape.append(n) }
    return try Tensor(shape: shape, scalars: out)
}

/// Naive ONNX `Gemm`: `alpha · op(A) · op(B) + beta · C` with `C` broadcast to `[M, N]` the NumPy
/// way, accumulating in `Double`.
/// - Throws: ``KilnError`` when the shapes do not fit.
public func referenceGemm(_ a: Tensor, _ b: Tensor, _ c: Tensor?, alpha: Float, beta: Float,
                          transA: Bool, transB: Bool) throws -> Tensor {
    let av = try a.scalars(as: Float.self), bv = try b.scalars(as: Float.self)
    let m = transA ? a.shape[1] : a.shape[0], k = transA ? a.shape[0] : a.shape[1]
    let n = transB ? b.shape[0] : b.shape[1]
    var out = [Float](repeating: 0, count: m * n)
    let cv = try c?.scalars(as: Float.self)
    let cShape = c.map { [Int](repeating: 1, count: 2 - $0.rank) + $0.shape } ?? [1, 1]
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let x = transA ? av[p * m + i] : av[i * k + p]
                let y = transB ? bv[j * k + p] : bv[p * n + j]
                s += Double(x) * Double(y)
            }
            var v = Double(alpha) * s
            if let cv {
                let ci = (cShape[0] == 1 ? 0 : i) * cShape[1] + (cShape[1] == 1 ? 0 : j)
                v += Double(beta) * Double(cv[ci])
            }
            out[i * n + j] = Float(v)
        }
    }
    return try Tensor(shape: [m, n], scalars: out)
}
