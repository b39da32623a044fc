import Kiln

/// Naive 1-D / 2-D max or average pool of `[N, C, (H,) W]`, one window at a time, with explicit
/// `pads` (`[begins..., ends...]`). Output sizes use floor, or with `ceilMode` ceil minus a last
/// window that would start in the end padding (PyTorch's rule). The average divisor counts taps
/// inside the input, or with `countIncludePad` inside the padded input; a window with no tap
/// inside the input gives `-Float.greatestFiniteMagnitude` (max) or 0 (average), as ONNX Runtime.
/// - Returns: `[N, C, (outH,) outW]`.
/// - Throws: ``KilnError`` for a bad rank or an empty output.
public func referencePool(_ x: Tensor, kernel: [Int], strides: [Int], pads: [Int], dilations: [Int],
                          ceilMode: Bool, isMax: Bool, countIncludePad: Bool) throws -> Tensor {
    let sr = kernel.count
    guard x.rank == sr + 2, sr == 1 || sr == 2 else {
        throw KilnError.invalidArgument(op: "referencePool", node: nil, reason: "rank \(x.rank) for kernel \(kernel)")
    }
    let xv = try x.scalars(as: Float.self)
    // Treat 1-D as H = 1.
    func axis(_ v: [Int], _ i: Int, _ one: Int) -> Int { sr == 2 ? v[i] : (i == 0 ? one : v[0]) }
    let inH = sr == 2 ? x.shape[2] : 1, inW = x.shape[x.rank - 1]
    let kH = axis(kernel, 0, 1), kW = axis(kernel, 1, 1)
    let sH = axis(strides, 0, 1), sW = axis(strides, 1, 1)
    let dH = axis(dilations, 0, 1), dW = axis(dilations, 1, 1)
    let pT = sr == 2 ? pads[0] : 0, pL = sr == 2 ? pads[1] : pads[0]
    let pB = sr == 2 ? pads[2] : 0, pR = sr == 2 ? pads[3] : pads[1]
    func outSize(_ input: Int, _ k: Int, _ s: Int, _ d: Int, _ pb: Int, _ pe: Int) -> Int {
        let span = input + pb + pe - ((k - 1) * d + 1)
        if span < 0 { return 0 }
        if !ceilMode { return span / s + 1 }
        var o = (span + s - 1) / s + 1
        if (o - 1) * s >= input + pb { o -= 1 }
        return o
    }
    let oH = outSize(inH, kH, sH, dH, pT, pB), oW = outSize(inW, kW, sW, dW, pL, pR)
    guard oH > 0, oW > 0 else { throw KilnError.invalidArgument(op: "referencePool", node: nil, reason: "empty output") }
    let planes = x.shape[0] * x.shape[1]
    var out = [Float](repeating: 0, count: planes * oH * oW)
    for p in 0..<planes {
        for oh in 0..<oH {
            for ow in 0..<oW {
                var m = -Float.greatestFiniteMagnitude
                var s = 0.0
                var n = 0
                for kh in 0..<kH {
                    for kw in 0..<kW {
                        let ih = oh * sH - pT + kh * dH, iw = ow * sW - pL + kw * dW
                        let inside = ih >= 0 && ih < inH && iw >= 0 && iw < inW
                        let inPadded = ih >= -pT && ih < inH + pB && iw >= -pL && iw < inW + pR
                        if inside {
                            let v = xv[(p * inH + ih) * inW + iw]
                            m = max(m, v)
                            s += Double(v)
                        }
                        if countIncludePad ? inPadded : inside { n += 1 }
                    }
                }
                out[(p * oH + oh) * oW + ow] = isMax ? m : Float(s / Double(max(n, 1)))
            }
        }
    }
    let shape = sr == 2 ? [x.shape[0], x.shape[1], oH, oW] : [x.shape[0], x.shape[1], oW]
    return try Tensor(shape: shape, scalars: out)
}
