import Kiln

/// Naive direct 2-D convolution (ONNX `Conv` semantics), the oracle for the optimized kernels:
/// plain loops over every output element and kernel tap, accumulated in `Double`.
/// - Parameters:
///   - input: `[N, C, H, W]` float32.
///   - weight: `[M, C/group, kH, kW]` float32.
///   - bias: `[M]` or `nil`.
///   - strides: `[sH, sW]`.
///   - pads: `[top, left, bottom, right]` (ONNX order).
///   - dilations: `[dH, dW]`.
///   - group: Number of groups.
/// - Returns: `[N, M, outH, outW]`.
/// - Throws: ``KilnError`` when the tensors are not float32 or the output would be empty.
public func referenceConv2D(input: Tensor, weight: Tensor, bias: Tensor?, strides: [Int], pads: [Int],
                            dilations: [Int], group: Int) throws -> Tensor {
    let x = try input.scalars(as: Float.self), w = try weight.scalars(as: Float.self)
    let b = try bias?.scalars(as: Float.self)
    let (n, c, h, wd) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    let (m, cg, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    let mg = m / group
    let oh = (h + pads[0] + pads[2] - ((kh - 1) * dilations[0] + 1)) / strides[0] + 1
    let ow = (wd + pads[1] + pads[3] - ((kw - 1) * dilations[1] + 1)) / strides[1] + 1
    guard oh >= 1, ow >= 1 else {
        throw KilnError.invalidArgument(op: "referenceConv2D", node: nil, reason: "empty output")
    }
    var y = [Float](repeating: 0, count: n * m * oh * ow)
    for ni in 0..<n {
        for mi in 0..<m {
            let g = mi / mg
            for yi in 0..<oh {
                for xi in 0..<ow {
                    var acc = Double(b?[mi] ?? 0)
                    for ci in 0..<cg {
                        let channel = g * cg + ci
                        for ki in 0..<kh {
                            let iy = yi * strides[0] - pads[0] + ki * dilations[0]
                            if iy < 0 || iy >= h { continue }
                            for kj in 0..<kw {
                                let ix = xi * strides[1] - pads[1] + kj * dilations[1]
                                if ix < 0 || ix >= wd { continue }
                                let xv = x[((ni * c + channel) * h + iy) * wd + ix]
                                let wv = w[((mi * cg + ci) * kh + ki) * kw + kj]
                                acc += Double(xv) * Double(wv)
                            }
                        }
                    }
                    y[((ni * m + mi) * oh + yi) * ow + xi] = Float(acc)
                }
            }
        }
    }
    return try Tensor(shape: [n, m, oh, ow], scalars: y)
}

/// Naive direct 2-D transposed convolution (ONNX `ConvTranspose` semantics with explicit pads):
/// every input element scatters `x · w` to `o = i·stride + k·dilation − padBegin`, accumulated in
/// `Double`.
/// - Parameters:
///   - input: `[N, C, H, W]` float32.
///   - weight: `[C, M/group, kH, kW]` float32.
///   - bias: `[M]` or `nil`.
///   - strides: `[sH, sW]`.
///   - pads: `[top, left, bottom, right]`.
///   - dilations: `[dH, dW]`.
///   - outputPadding: `[opH, opW]`, extra positions at the end.
///   - group: Number of groups.
/// - Returns: `[N, M, outH, outW]` with `out = s·(in−1) + op + (k−1)·d + 1 − padBegin − padEnd`.
/// - Throws: ``KilnError`` when the tensors are not float32 or the output would be empty.
public func referenceConvTranspose2D(input: Tensor, weight: Tensor, bias: Tensor?, strides: [Int], pads: [Int],
                                     dilations: [Int], outputPadding: [Int], group: Int) throws -> Tensor {
    let x = try input.scalars(as: Float.self), w = try weight.scalars(as: Float.self)
    let b = try bias?.scalars(as: Float.self)
    let (n, c, h, wd) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    let (mg, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3])
    let m = mg * group, cg = c / group
    let oh = strides[0] * (h - 1) + outputPadding[0] + (kh - 1) * dilations[0] + 1 - pads[0] - pads[2]
    let ow = strides[1] * (wd - 1) + outputPadding[1] + (kw - 1) * dilations[1] + 1 - pads[1] - pads[3]
    guard oh >= 1, ow >= 1 else {
        throw KilnError.invalidArgument(op: "referenceConvTranspose2D", node: nil, reason: "empty output")
    }
    var acc = [Double](repeating: 0, count: n * m * oh * ow)
    for ni in 0..<n {
        for ci in 0..<c {
            let g = ci / cg
            for iy in 0..<h {
                for ix in 0..<wd {
                    let xv = Double(x[((ni * c + ci) * h + iy) * wd + ix])
                    for mo in 0..<mg {
                        let mi = g * mg + mo
                        for ki in 0..<kh {
                            let oy = iy * strides[0] + ki * dilations[0] - pads[0]
                            if oy < 0 || oy >= oh { continue }
                            for kj in 0..<kw {
                                let ox = ix * strides[1] + kj * dilations[1] - pads[1]
                                if ox < 0 || ox >= ow { continue }
                                acc[((ni * m + mi) * oh + oy) * ow + ox] += xv * Double(w[((ci * mg + mo) * kh + ki) * kw + kj])
                            }
                        }
                    }
                }
            }
        }
    }
    var y = [Float](repeating: 0, count: acc.count)
    for i in 0..<acc.count {
        let mi = (i / (oh * ow)) % m
        y[i] = Float(acc[i] + Double(b?[mi] ?? 0))
    }
    return try Tensor(shape: [n, m, oh, ow], scalars: y)
}
