import Kiln

/// Naive normalization of `groups` contiguous groups of `size` elements of `x` in `Double`:
/// `y = (x - mean) / sqrt(var + epsilon) · scale(g, j) + bias(g, j)`, with the population variance.
/// - Parameters:
///   - x: The input, read as `[groups, size]`.
///   - scale: Scale for element `j` of group `g`.
///   - bias: Bias for element `j` of group `g`.
/// - Returns: A tensor shaped like `x`.
/// - Throws: ``KilnError`` when `x` is not float32.
public func referenceNormalize(_ x: Tensor, groups: Int, size: Int, epsilon: Float,
                               scale: (Int, Int) -> Float, bias: (Int, Int) -> Float) throws -> Tensor {
    let xv = try x.scalars(as: Float.self)
    var out = [Float](repeating: 0, count: xv.count)
    for g in 0..<groups {
        var mean = 0.0
        for j in 0..<size { mean += Double(xv[g * size + j]) }
        mean /= Double(size)
        var v = 0.0
        for j in 0..<size { let d = Double(xv[g * size + j]) - mean; v += d * d }
        v /= Double(size)
        let inv = 1 / (v + Double(epsilon)).squareRoot()
        for j in 0..<size {
            out[g * size + j] = Float((Double(xv[g * size + j]) - mean) * inv * Double(scale(g, j)) + Double(bias(g, j)))
        }
    }
    return try Tensor(shape: x.shape, scalars: out)
}

/// Naive inference batch normalization of `[N, C, ...]` in `Double`.
/// - Throws: ``KilnError`` when a tensor is not float32.
public func referenceBatchNorm(_ x: Tensor, scale: [Float], bias: [Float], mean: [Float], variance: [Float],
                               epsilon: Float) throws -> Tensor {
    let xv = try x.scalars(as: Float.self)
    let c = x.shape[1]
    let size = x.shape.dropFirst(2).reduce(1, *)
    var out = [Float](repeating: 0, count: xv.count)
    for i in 0..<xv.count {
        let ch = (i / size) % c
        let n = (Double(xv[i]) - Double(mean[ch])) / (Double(variance[ch]) + Double(epsilon)).squareRoot()
        out[i] = Float(n * Double(scale[ch]) + Double(bias[ch]))
    }
    return try Tensor(shape: x.shape, scalars: out)
}
